package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/loupehq/loupe"
)

// handleTrace serves GET /api/v1/traces/{id}: every span of one trace with
// the canonical fields of DESIGN.md §5.
func handleTrace(log *slog.Logger, reader loupe.TraceReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := apiTraceID(w, r, log, reader)
		if !ok {
			return
		}
		tr, err := reader.Trace(r.Context(), principalOf(r.Context()).Project, id)
		if errors.Is(err, loupe.ErrNotFound) {
			err = fmt.Errorf("trace %s %w", id, loupe.ErrNotFound)
		}
		if err != nil {
			writeError(w, log, formatAPI, err)
			return
		}
		t := newTraceJSON(tr)
		if !principalOf(r.Context()).CanReadPayloads() {
			// The reader already dropped them (guard.go); say so.
			for i := range t.Spans {
				t.Spans[i].Payload, t.Spans[i].PayloadHidden = nil, true
			}
		}
		encode(w, log, http.StatusOK, t)
	})
}

// traceJSON is the API form of a trace. Field names are a stable contract.
type traceJSON struct {
	TraceID    string            `json:"trace_id"`
	Project    string            `json:"project"`
	Status     loupe.TraceStatus `json:"status"`
	StartTime  time.Time         `json:"start_time"`
	DurationMs float64           `json:"duration_ms"`
	Spans      []spanJSON        `json:"spans"`
}

// spanJSON is the API form of a span: the canonical fields, always present
// ("" or 0 when unknown), then params, documents, attributes and payload,
// omitted when empty.
type spanJSON struct {
	SpanID           string       `json:"span_id"`
	ParentSpanID     string       `json:"parent_span_id"`
	Name             string       `json:"name"`
	Kind             loupe.Kind   `json:"kind"`
	StartTime        time.Time    `json:"start_time"`
	EndTime          time.Time    `json:"end_time"`
	DurationMs       float64      `json:"duration_ms"`
	Status           loupe.Status `json:"status"`
	StatusMessage    string       `json:"status_message"`
	ErrorType        string       `json:"error_type"`
	Service          string       `json:"service"`
	Environment      string       `json:"environment"`
	DeploymentID     string       `json:"deployment_id"`
	Tenant           string       `json:"tenant"`
	Route            string       `json:"route"`
	SessionID        string       `json:"session_id"`
	UserID           string       `json:"user_id"`
	PromptName       string       `json:"prompt_name"`
	PromptVersionID  string       `json:"prompt_version_id"`
	ReleaseLabel     string       `json:"release_label"`
	Provider         string       `json:"provider"`
	RequestModel     string       `json:"request_model"`
	ResponseModel    string       `json:"response_model"`
	InputTokens      int64        `json:"input_tokens"`
	CacheReadTokens  int64        `json:"cache_read_tokens"`
	CacheWriteTokens int64        `json:"cache_write_tokens"`
	OutputTokens     int64        `json:"output_tokens"`
	ReasoningTokens  int64        `json:"reasoning_tokens"`
	TotalTokens      int64        `json:"total_tokens"`
	CostUSD          float64      `json:"cost_usd"`
	CostSource       string       `json:"cost_source"`
	FinishReason     string       `json:"finish_reason"`
	ToolName         string       `json:"tool_name"`
	RetrievalIndex   string       `json:"retrieval_index"`
	RetrievalCount   int64        `json:"retrieval_count"`

	Params     *loupe.Params    `json:"params,omitempty"`
	Documents  []loupe.Document `json:"documents,omitempty"`
	Attributes map[string]any   `json:"attributes,omitempty"`
	Payload    *loupe.Payload   `json:"payload,omitempty"`
	// Sample is the tail sampler's verdict; omitted with sampling off.
	Sample loupe.Sample `json:"sample,omitzero"`
	// PayloadHidden is true when the caller may not read payloads (role
	// viewer): the span may have one, but it is not shown.
	PayloadHidden bool `json:"payload_hidden,omitempty"`
	// PayloadRemoved says why a stored payload is gone ("retention").
	PayloadRemoved string `json:"payload_removed,omitempty"`
}

func newTraceJSON(tr *loupe.Trace) traceJSON {
	start, end := tr.Bounds()
	t := traceJSON{
		TraceID:    tr.TraceID.String(),
		Project:    tr.Project,
		Status:     tr.Status(),
		StartTime:  start.UTC(),
		DurationMs: ms(end.Sub(start)),
		Spans:      make([]spanJSON, len(tr.Spans)),
	}
	for i := range tr.Spans {
		t.Spans[i] = newSpanJSON(&tr.Spans[i])
	}
	return t
}

func newSpanJSON(s *loupe.Span) spanJSON {
	j := spanJSON{
		SpanID:           s.SpanID.String(),
		ParentSpanID:     s.ParentSpanID.String(),
		Name:             s.Name,
		Kind:             s.Kind,
		StartTime:        s.Start.UTC(),
		EndTime:          s.End.UTC(),
		DurationMs:       ms(s.Duration()),
		Status:           s.Status,
		StatusMessage:    s.StatusMessage,
		ErrorType:        s.ErrorType,
		Service:          s.Service,
		Environment:      s.Environment,
		DeploymentID:     s.DeploymentID,
		Tenant:           s.Tenant,
		Route:            s.Route,
		SessionID:        s.SessionID,
		UserID:           s.UserID,
		PromptName:       s.PromptName,
		PromptVersionID:  s.PromptVersionID,
		ReleaseLabel:     s.ReleaseLabel,
		Provider:         s.Provider,
		RequestModel:     s.RequestModel,
		ResponseModel:    s.ResponseModel,
		InputTokens:      s.Usage.Input,
		CacheReadTokens:  s.Usage.CacheRead,
		CacheWriteTokens: s.Usage.CacheWrite,
		OutputTokens:     s.Usage.Output,
		ReasoningTokens:  s.Usage.Reasoning,
		TotalTokens:      s.Usage.Total(),
		CostUSD:          s.CostUSD,
		CostSource:       s.CostSource,
		FinishReason:     s.FinishReason,
		ToolName:         s.ToolName,
		RetrievalIndex:   s.RetrievalIndex,
		RetrievalCount:   s.RetrievalCount,
		Documents:        s.Documents,
		Attributes:       s.Attributes,
		PayloadRemoved:   s.PayloadRemoved,
	}
	if !s.Params.IsZero() {
		p := s.Params
		j.Params = &p
	}
	if !s.Payload.IsZero() {
		j.Payload = s.Payload
		if len(s.Payload.Events) > 0 {
			// Every time in the API is UTC.
			p := *s.Payload
			p.Events = slices.Clone(p.Events)
			for i := range p.Events {
				p.Events[i].Time = p.Events[i].Time.UTC()
			}
			j.Payload = &p
		}
	}
	j.Sample = s.Sample
	return j
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
