package query

import "time"

// Limits applied to every request; larger values are clamped and the
// answer says so in its notes.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
	// MaxRange bounds a search's or statistics query's time range.
	MaxRange = 90 * 24 * time.Hour
	// MaxBuckets bounds the number of time buckets of a statistics query.
	MaxBuckets = 1000
	// MaxGroups bounds the number of groups of a statistics query.
	MaxGroups = 1000
)

// TraceSearch asks for one page of traces, newest first (by start time,
// then trace id), that match Filter within [From, To).
//
// Semantics: a trace matches when some span satisfies the span-level part of
// the filter (each and-group evaluated on one span) and the trace satisfies
// its trace.* conditions (evaluated over all its spans).
type TraceSearch struct {
	Project string
	Filter  Expr // nil matches everything
	From    time.Time
	To      time.Time
	Limit   int
	// Cursor is the opaque Next of the previous page, "" for the first.
	Cursor string
}

// StatsRequest asks for aggregates over the traces (or spans, with Level
// "span") that match Filter within [From, To), grouped by By and, with a
// non-zero Interval, bucketed in time.
type StatsRequest struct {
	Project  string
	Filter   Expr
	From     time.Time
	To       time.Time
	By       []Field
	Interval time.Duration
	// Level is "trace" (default) or "span".
	Level string
}
