package loupe

import "time"

// CounterRow is one group (and, with an interval, one time bucket) of the
// exact pre-sampling counters.
type CounterRow struct {
	// Group holds the grouping values by dimension name
	// (e.g. "prompt.version_id").
	Group map[string]string `json:"group,omitempty"`
	// Bucket is the start of the time bucket; zero without an interval.
	Bucket           time.Time `json:"bucket,omitzero"`
	Requests         int64     `json:"requests"`
	Errors           int64     `json:"errors"`
	ErrorRate        float64   `json:"error_rate"`
	InputTokens      int64     `json:"input_tokens"`
	CacheReadTokens  int64     `json:"cache_read_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	ReasoningTokens  int64     `json:"reasoning_tokens"`
	CostUSD          float64   `json:"cost_usd"`
}

// Counters is the answer to a counters query: exact totals of every trace,
// kept or not, counted before sampling at minute resolution.
type Counters struct {
	By    []string     `json:"by,omitempty"`
	Rows  []CounterRow `json:"groups"`
	Notes []string     `json:"notes,omitempty"`
}
