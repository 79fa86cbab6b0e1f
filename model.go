package loupe

import "time"

// TraceModel returns the model a trace is summarized and counted by (the
// "model" of a trace summary and of the exact pre-sampling counters): the
// model of its earliest-starting llm span that names one, that span's
// response model, else its request model. Among llm spans starting at the
// same instant the lexically smallest model wins, so the result depends
// neither on the order of spans nor on how they were split across writes.
// It returns "" when no llm span names a model.
func TraceModel(spans []Span) string {
	var c ModelChoice
	for i := range spans {
		c.Offer(&spans[i])
	}
	return c.Model
}

// ModelChoice computes TraceModel one span at a time, for callers that see
// a trace's spans in parts (a store keeps one choice per write and merges
// them, in Go with Merge or in SQL as the smallest (Start, Model) pair
// among non-empty models). The zero value has seen no model.
type ModelChoice struct {
	// Model is the chosen model; "" while none.
	Model string
	// Start is the start of the span Model came from; zero while none.
	Start time.Time
}

// Offer considers span s.
func (c *ModelChoice) Offer(s *Span) {
	if s.Kind != KindLLM {
		return
	}
	m := s.ResponseModel
	if m == "" {
		m = s.RequestModel
	}
	c.Merge(ModelChoice{Model: m, Start: s.Start})
}

// Merge considers the choice o made over other spans of the same trace.
func (c *ModelChoice) Merge(o ModelChoice) {
	if o.Model == "" {
		return
	}
	if c.Model == "" || o.Start.Before(c.Start) || (o.Start.Equal(c.Start) && o.Model < c.Model) {
		*c = o
	}
}
