package loupe

import (
	"slices"
	"time"
)

// TraceStatus is the outcome of a whole trace.
type TraceStatus string

// Trace statuses (DESIGN.md §2).
const (
	// TraceOK: no span failed.
	TraceOK TraceStatus = "ok"
	// TraceDegraded: some span failed but the request completed (the root
	// did not fail), e.g. a tool error recovered by a second model call.
	TraceDegraded TraceStatus = "degraded"
	// TraceError: the root span failed.
	TraceError TraceStatus = "error"
)

// Trace is one request, job or agent run: its spans, ordered by start time
// then span id.
type Trace struct {
	Project string
	TraceID TraceID
	Spans   []Span
}

// Status derives the trace status from its spans: error when a root span
// failed (Span.Failed), degraded when any other span failed, ok otherwise. A trace whose
// root has not arrived is judged on the spans it has.
func (t *Trace) Status() TraceStatus {
	return StatusOf(t.Spans)
}

// StatusOf derives a trace status from its spans (see Trace.Status).
func StatusOf(spans []Span) TraceStatus {
	st := TraceOK
	for i := range spans {
		s := &spans[i]
		if s.IsRoot() && s.Failed() {
			return TraceError
		}
		if s.Failed() {
			st = TraceDegraded
		}
	}
	return st
}

// Root returns the trace's root span (the earliest parentless span), or nil.
func (t *Trace) Root() *Span {
	var root *Span
	for i := range t.Spans {
		s := &t.Spans[i]
		if s.IsRoot() && (root == nil || s.Start.Before(root.Start)) {
			root = s
		}
	}
	return root
}

// Bounds returns the earliest start and latest end of the trace's spans.
func (t *Trace) Bounds() (start, end time.Time) {
	for i := range t.Spans {
		s := &t.Spans[i]
		if start.IsZero() || s.Start.Before(start) {
			start = s.Start
		}
		if s.End.After(end) {
			end = s.End
		}
	}
	return start, end
}

// SortSpans orders spans by start time, then span id, in place.
func SortSpans(spans []Span) {
	slices.SortStableFunc(spans, func(a, b Span) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return slices.Compare(a.SpanID[:], b.SpanID[:])
	})
}
