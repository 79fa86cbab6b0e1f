package loupe

import "context"

// SpanEvent is an event that arrived apart from its span (an OTLP log record
// with a trace and span id) and is joined to it on read.
type SpanEvent struct {
	Project string
	TraceID TraceID
	SpanID  SpanID
	Event   Event
}

// Batch is one unit of durable writing: spans and separately-arrived events.
type Batch struct {
	Spans  []Span
	Events []SpanEvent
	// Decisions are tail-sampling verdicts to record with the spans, in the
	// same atomic write, so a sampler that restarts knows what it decided.
	Decisions []Decision
	// Counts are exact pre-sampling counter increments, stored in the same
	// atomic write as the spans and decisions.
	Counts []Count
}

// Len returns the number of spans and events in the batch.
func (b *Batch) Len() int { return len(b.Spans) + len(b.Events) }

// SpanWriter stores batches durably.
type SpanWriter interface {
	// Write stores every span and event of the batches. It returns nil only
	// once all of them are durable: they survive a kill -9 of the process
	// and a restart. On error nothing may be assumed stored; the caller may
	// retry or apply backpressure. Spans are immutable: writing the same
	// span twice stores it twice, so callers must not retry a successful
	// write. Write must not retain the batches after it returns.
	Write(ctx context.Context, batches []Batch) error
}

// TraceReader reads stored traces.
type TraceReader interface {
	// Trace returns every span of the trace in project, ordered by start
	// time then span id, with payloads and joined events. It returns an
	// error wrapping ErrNotFound when the trace has no span.
	Trace(ctx context.Context, project string, id TraceID) (*Trace, error)
}
