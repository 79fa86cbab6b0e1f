package loupe

import "time"

// TraceSummary is one trace in a list: its root's name and timing, derived
// status, and totals over all its spans (DESIGN.md §5 field names).
type TraceSummary struct {
	Project   string      `json:"-"`
	TraceID   TraceID     `json:"trace_id"`
	Name      string      `json:"name"`
	Start     time.Time   `json:"start_time"`
	Duration  float64     `json:"duration_ms"`
	Status    TraceStatus `json:"status"`
	SpanCount int64       `json:"span_count"`
	Service   string      `json:"service"`
	// Environment, Tenant, SessionID, PromptName, PromptVersionID and Model
	// are the first non-empty values among the trace's spans (root first).
	Environment     string  `json:"environment"`
	Tenant          string  `json:"tenant"`
	SessionID       string  `json:"session_id"`
	PromptName      string  `json:"prompt_name"`
	PromptVersionID string  `json:"prompt_version_id"`
	Model           string  `json:"model"`
	InputTokens     int64   `json:"input_tokens"`
	OutputTokens    int64   `json:"output_tokens"`
	CostUSD         float64 `json:"cost_usd"`
	ErrorCount      int64   `json:"error_count"`
}

// TracePage is one page of a trace list, newest first. Next is an opaque
// cursor for the following page, "" on the last page.
type TracePage struct {
	Traces []TraceSummary `json:"traces"`
	Next   string         `json:"next"`
	// Notes explains adjustments made to the request (clamped limit or
	// time range); empty when none.
	Notes []string `json:"notes,omitempty"`
}

// StatsRow is one group (and, with an interval, one time bucket) of a
// statistics query.
type StatsRow struct {
	// Group holds the grouping values by field name (e.g. "prompt.version_id").
	Group map[string]string `json:"group,omitempty"`
	// Bucket is the start of the time bucket; zero without an interval.
	Bucket       time.Time `json:"bucket,omitzero"`
	Count        int64     `json:"count"`
	Errors       int64     `json:"errors"`
	ErrorRate    float64   `json:"error_rate"`
	P50Ms        float64   `json:"p50_ms"`
	P95Ms        float64   `json:"p95_ms"`
	P99Ms        float64   `json:"p99_ms"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostUSD      float64   `json:"cost_usd"`
	// Estimated names the figures of the row that are estimates from
	// sampled traces (weighted by their sample weight) rather than exact;
	// empty when every figure is exact (sampling off, or exact counters).
	Estimated []string `json:"estimated,omitempty"`
	// ErrorBounds gives, for some estimated figures, the half-width of
	// their 95% confidence interval (Horvitz-Thompson variance).
	ErrorBounds map[string]float64 `json:"error_bounds,omitempty"`
}

// Stats is the answer to a statistics query.
type Stats struct {
	// Level is "trace" (each trace counted once, with its total latency,
	// tokens and cost) or "span" (each matching span counted).
	Level string     `json:"level"`
	By    []string   `json:"by,omitempty"`
	Rows  []StatsRow `json:"groups"`
	Notes []string   `json:"notes,omitempty"`
}
