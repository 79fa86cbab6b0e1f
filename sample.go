package loupe

import "time"

// SampleClass says what the tail sampler kept of a trace.
type SampleClass string

// Sample classes.
const (
	// SampleAll is the zero class: sampling was off and everything is kept.
	SampleAll SampleClass = ""
	// SampleFull keeps every span with its payload.
	SampleFull SampleClass = "full"
	// SampleMetadata keeps timings, tokens, cost, ids and status, but no
	// payloads.
	SampleMetadata SampleClass = "metadata"
	// SampleDropped keeps nothing but the decision and the counters.
	SampleDropped SampleClass = "dropped"
)

// Sample is the sampling verdict a stored span carries.
type Sample struct {
	Class SampleClass `json:"class,omitempty"`
	// Weight is how many traces of the same kind this kept trace stands for
	// (1/rate of the rule that kept it); 0 means 1.
	Weight float64 `json:"weight,omitempty"`
	// Rule names the policy rule that decided.
	Rule string `json:"rule,omitempty"`
}

// Decision is the tail sampler's verdict on one trace.
type Decision struct {
	Project string
	TraceID TraceID
	Sample  Sample
	// Decided is when the verdict was reached.
	Decided time.Time
}

// Count is an exact counter increment taken before sampling: one minute of
// one combination of dimensions.
type Count struct {
	Project string
	// Minute is the start of the minute (UTC) of the trace's start.
	Minute          time.Time
	PromptVersionID string
	Model           string
	Tenant          string
	Route           string
	Environment     string
	// Requests is the number of traces; Errors those whose status is not ok.
	Requests int64
	Errors   int64
	// Token buckets and cost summed over the traces' spans (exclusive
	// buckets, as in Usage).
	InputTokens      int64
	CacheReadTokens  int64
	CacheWriteTokens int64
	OutputTokens     int64
	ReasoningTokens  int64
	CostUSD          float64
}
