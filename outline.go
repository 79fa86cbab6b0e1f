package loupe

import "time"

// SpanOutline is what a trace timeline draws of one span: its place in the
// tree, timing, outcome and a few key fields, without attributes or
// payload, so that a trace of 100,000 spans can be sent to a browser whole
// and each span's details fetched on demand.
type SpanOutline struct {
	SpanID       SpanID
	ParentSpanID SpanID
	Name         string
	Kind         Kind
	Start        time.Time
	End          time.Time
	Status       Status
	// ErrorType is as Span.ErrorType; with Status it tells Failed.
	ErrorType string
	// Model is the response model, else the request model; "" for none.
	Model    string
	ToolName string
	// Tokens is the span's total tokens (Usage.Total).
	Tokens  int64
	CostUSD float64
}

// Failed reports whether the span failed, as Span.Failed.
func (o *SpanOutline) Failed() bool { return o.Status == StatusError || o.ErrorType != "" }

// OutlineOf returns the outline of a span.
func OutlineOf(s *Span) SpanOutline {
	model := s.ResponseModel
	if model == "" {
		model = s.RequestModel
	}
	return SpanOutline{
		SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name, Kind: s.Kind,
		Start: s.Start, End: s.End, Status: s.Status, ErrorType: s.ErrorType,
		Model: model, ToolName: s.ToolName, Tokens: s.Usage.Total(), CostUSD: s.CostUSD,
	}
}
