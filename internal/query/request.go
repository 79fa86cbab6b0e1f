package query

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/loupehq/loupe"
)

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
	// A cursor is only valid with the Sort it was made with.
	Cursor string
	// Sort orders the traces; the zero value is newest first.
	Sort Sort
}

// Sort is the order of a trace list: a summary field (one of SortFields)
// and a direction. Ties are broken by start time, then trace id, in the
// same direction, so paging is stable.
type Sort struct {
	// Field is the JSON name of a TraceSummary field; "" means start_time.
	Field string
	// Asc is true for ascending order; the default is descending.
	Asc bool
}

// SortFields are the trace summary fields a list can be sorted by.
var SortFields = []string{"start_time", "name", "status", "duration_ms", "span_count",
	"total_tokens", "cost_usd", "prompt_version_id", "model"}

// ParseSort parses the API's sort parameter: a field of SortFields,
// prefixed with "-" for descending order ("-duration_ms"); "" is newest
// first. total_tokens is input_tokens plus output_tokens.
func ParseSort(s string) (Sort, error) {
	if s == "" {
		return Sort{}, nil
	}
	f, desc := strings.CutPrefix(s, "-")
	if !slices.Contains(SortFields, f) {
		return Sort{}, fmt.Errorf("%w: cannot sort by %q (want one of %s, with - for descending)", loupe.ErrInvalid, f, strings.Join(SortFields, ", "))
	}
	return Sort{Field: f, Asc: !desc}, nil
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
