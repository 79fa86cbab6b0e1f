package sample

import (
	"slices"
	"time"

	"github.com/loupehq/loupe"
)

// Summary is what a policy judges a trace by, and what its counters add.
type Summary struct {
	Project string
	TraceID loupe.TraceID
	// Failed is true when a span failed (loupe.Span.Failed: error status
	// or an error type, which covers tool errors and parser failures) or
	// an evaluation failed.
	Failed bool
	// Status is the trace status (loupe.StatusOf).
	Status loupe.TraceStatus
	// ReleaseLabels and PromptVersions are the distinct non-empty values
	// among the spans.
	ReleaseLabels  []string
	PromptVersions []string
	// Duration is the root span's, or the spans' extent without a root.
	Duration time.Duration
	// Start is the earliest span start.
	Start time.Time
	Usage loupe.Usage
	// CostUSD sums the spans' own costs.
	CostUSD float64
	// Dims are the counter dimensions: the first non-empty value among the
	// spans, the root's first; the model is loupe.TraceModel's, as in the
	// store's trace summaries.
	Dims Dims
	// Tenants, Routes and Models are every distinct value, for boosts.
	Tenants, Routes, Models []string
}

// Dims are the dimensions exact counters are kept by.
type Dims struct {
	PromptVersionID string `json:"prompt_version_id,omitempty"`
	// Model is loupe.TraceModel of the spans.
	Model       string `json:"model,omitempty"`
	Tenant      string `json:"tenant,omitempty"`
	Route       string `json:"route,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// summarize reads spans (one trace's, in any order).
func summarize(project string, id loupe.TraceID, spans []*loupe.Span) Summary {
	sum := Summary{Project: project, TraceID: id, Status: loupe.TraceOK}
	var root *loupe.Span
	var end time.Time
	var model loupe.ModelChoice
	for _, s := range spans {
		model.Offer(s)
		if s.IsRoot() && (root == nil || s.Start.Before(root.Start)) {
			root = s
		}
		if sum.Start.IsZero() || s.Start.Before(sum.Start) {
			sum.Start = s.Start
		}
		if s.End.After(end) {
			end = s.End
		}
		if s.Failed() || evalFailed(s) {
			sum.Failed = true
		}
		if s.Failed() {
			if s.IsRoot() {
				sum.Status = loupe.TraceError
			} else if sum.Status == loupe.TraceOK {
				sum.Status = loupe.TraceDegraded
			}
		}
		sum.ReleaseLabels = addDistinct(sum.ReleaseLabels, s.ReleaseLabel)
		sum.PromptVersions = addDistinct(sum.PromptVersions, s.PromptVersionID)
		sum.Tenants = addDistinct(sum.Tenants, s.Tenant)
		sum.Routes = addDistinct(sum.Routes, s.Route)
		sum.Models = addDistinct(sum.Models, s.RequestModel)
		sum.Models = addDistinct(sum.Models, s.ResponseModel)
		addUsage(&sum.Usage, s.Usage)
		sum.CostUSD += s.CostUSD
	}
	if root != nil {
		sum.Duration = root.Duration()
		sum.Dims = dimsOf(root)
	} else if !sum.Start.IsZero() {
		sum.Duration = end.Sub(sum.Start)
	}
	for _, s := range spans {
		d := dimsOf(s)
		fill(&sum.Dims.PromptVersionID, d.PromptVersionID)
		fill(&sum.Dims.Tenant, d.Tenant)
		fill(&sum.Dims.Route, d.Route)
		fill(&sum.Dims.Environment, d.Environment)
	}
	sum.Dims.Model = model.Model
	return sum
}

// dimsOf returns the dimensions of s but the model, which is the trace's.
func dimsOf(s *loupe.Span) Dims {
	return Dims{PromptVersionID: s.PromptVersionID, Tenant: s.Tenant, Route: s.Route, Environment: s.Environment}
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func addDistinct(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func addUsage(dst *loupe.Usage, u loupe.Usage) {
	dst.Input += u.Input
	dst.CacheRead += u.CacheRead
	dst.CacheWrite += u.CacheWrite
	dst.Output += u.Output
	dst.Reasoning += u.Reasoning
}

// evalFailed reports a failed evaluation recorded on the span: the loupe
// attribute loupe.eval.passed = false, or a GenAI evaluation result (as an
// attribute or a span event) labelled fail.
func evalFailed(s *loupe.Span) bool {
	if failedEval(s.Attributes) {
		return true
	}
	if s.Payload != nil {
		for i := range s.Payload.Events {
			if failedEval(s.Payload.Events[i].Attributes) {
				return true
			}
		}
	}
	return false
}

func failedEval(attrs map[string]any) bool {
	if len(attrs) == 0 {
		return false
	}
	if v, ok := attrs["loupe.eval.passed"].(bool); ok && !v {
		return true
	}
	switch attrs["gen_ai.evaluation.score.label"] {
	case "fail", "failed", "FAIL", "Fail", "false":
		return true
	}
	return false
}
