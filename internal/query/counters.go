package query

import "time"

// CountersRequest asks for the exact pre-sampling counters of Project in
// [From, To) (aligned to whole minutes), grouped by By (counter
// dimensions only, see CounterDimension) and, with a non-zero Interval (a
// whole number of minutes), bucketed in time.
type CountersRequest struct {
	Project  string
	By       []Field
	From     time.Time
	To       time.Time
	Interval time.Duration
}

// CounterDimension reports whether f is one of the dimensions exact
// counters are kept by: prompt.version_id, model, tenant, route and
// environment. Its Column is the counter column.
func CounterDimension(f Field) bool {
	if f.Scope != SpanScope {
		return false
	}
	switch f.Column {
	case "prompt_version_id", "model", "tenant", "route", "environment":
		return true
	}
	return false
}
