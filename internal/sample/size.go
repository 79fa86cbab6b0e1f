package sample

import (
	"unsafe"

	"github.com/loupehq/loupe"
)

// The sampler bounds the memory of the spans it holds by an estimate of
// their retained size: the struct itself plus the bytes its strings, slices,
// maps and payload point to, with allowances for the runtime's size
// classes, map groups and slice growth. Calibrated against the live heap of
// the standard workload (bench/workload, normalized, ~70k spans pending):
// the estimate is within about 10% of runtime.MemStats.HeapAlloc growth.
// It is deterministic, so the bytes added for a span are exactly the bytes
// released for it.

// Approximate costs of the runtime structures behind the values, in bytes.
const (
	sizeMapHeader  = 96 // a map's header, directory and first table
	sizeMapEntry   = 56 // key and value headers plus control byte, at the average load of a growing table
	sizeBoxed      = 16 // an interface's boxed value (string header, int64, float64)
	sizePtrFloat   = 8  // a *float64 or *int64 parameter
	sizeSpan       = int64(unsafe.Sizeof(loupe.Span{}))
	sizeSpanEvent  = int64(unsafe.Sizeof(loupe.SpanEvent{}))
	sizePayload    = int64(unsafe.Sizeof(loupe.Payload{}))
	sizeMessage    = int64(unsafe.Sizeof(loupe.Message{}))
	sizeToolCall   = int64(unsafe.Sizeof(loupe.ToolCall{}))
	sizeDocument   = int64(unsafe.Sizeof(loupe.Document{}))
	sizeDocText    = int64(unsafe.Sizeof(loupe.DocumentText{}))
	sizeEvent      = int64(unsafe.Sizeof(loupe.Event{}))
	sizeStringHead = int64(unsafe.Sizeof(""))
	sizeAnyHead    = int64(unsafe.Sizeof(any(nil)))
)

// spanSize is the estimated retained size of sp in bytes.
func spanSize(sp *loupe.Span) int64 {
	return sizeSpan + sizeSpan/3 + slack(spanData(sp))
}

// slack adds the allocator's rounding up to size classes (at most 1/8 for
// all but the smallest objects) to n bytes of variable data.
func slack(n int64) int64 { return n + n/8 }

// spanData is the size of what sp points to. The Span struct itself is
// counted by spanSize, with a third more for the growth of the slices that
// hold pending spans.
func spanData(sp *loupe.Span) int64 {
	var n int64
	for _, s := range [...]string{sp.Project, sp.Name, string(sp.Kind), sp.OTelKind, sp.StatusMessage, sp.ErrorType,
		sp.Service, sp.Environment, sp.DeploymentID, sp.Tenant, sp.Route, sp.SessionID, sp.UserID,
		sp.PromptName, sp.PromptVersionID, sp.ReleaseLabel, sp.Provider, sp.RequestModel, sp.ResponseModel,
		sp.CostSource, sp.FinishReason, sp.ToolName, sp.RetrievalIndex, sp.PayloadRemoved,
		sp.Params.ResponseFormat, sp.Params.ToolChoice} {
		n += int64(len(s))
	}
	n += paramsSize(&sp.Params)
	n += int64(len(sp.Documents)) * sizeDocument
	for i := range sp.Documents {
		n += int64(len(sp.Documents[i].ID))
		if sp.Documents[i].Score != nil {
			n += sizePtrFloat
		}
	}
	n += mapSize(sp.Attributes)
	if p := sp.Payload; p != nil {
		n += payloadSize(p)
	}
	return n
}

func paramsSize(p *loupe.Params) int64 {
	var n int64
	for _, set := range [...]bool{p.Temperature != nil, p.TopP != nil, p.TopK != nil, p.MaxTokens != nil,
		p.Seed != nil, p.FrequencyPenalty != nil, p.PresencePenalty != nil, p.Stream != nil, p.TimeoutMs != nil} {
		if set {
			n += sizePtrFloat
		}
	}
	return n + stringsSize(p.StopSequences)
}

func payloadSize(p *loupe.Payload) int64 {
	n := sizePayload + messagesSize(p.Input) + messagesSize(p.Output)
	n += int64(len(p.ToolArguments) + len(p.ToolResult) + len(p.Query) + len(p.InputValue) + len(p.OutputValue))
	n += int64(len(p.Documents)) * sizeDocText
	for i := range p.Documents {
		d := &p.Documents[i]
		n += int64(len(d.ID) + len(d.Content) + len(d.Metadata))
	}
	for i := range p.Events {
		n += eventSize(&p.Events[i])
	}
	return n
}

func messagesSize(ms []loupe.Message) int64 {
	n := int64(len(ms)) * sizeMessage
	for i := range ms {
		m := &ms[i]
		n += int64(len(m.Role) + len(m.Content) + len(m.Name) + len(m.ToolCallID) + len(m.FinishReason))
		for _, part := range m.Parts {
			n += mapSize(part)
		}
		n += int64(len(m.ToolCalls)) * sizeToolCall
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			n += int64(len(tc.ID) + len(tc.Name) + len(tc.Arguments))
		}
	}
	return n
}

// eventSize is the size of ev's referenced data plus its own struct.
func eventSize(ev *loupe.Event) int64 {
	return sizeEvent + int64(len(ev.Name)) + anySize(ev.Body) + mapSize(ev.Attributes)
}

// spanEventSize is the estimated retained size of ev in bytes.
func spanEventSize(ev *loupe.SpanEvent) int64 {
	return sizeSpanEvent + sizeSpanEvent/3 + slack(int64(len(ev.Project))+eventSize(&ev.Event)-sizeEvent)
}

func mapSize(m map[string]any) int64 {
	if m == nil {
		return 0
	}
	n := int64(sizeMapHeader)
	for k, v := range m {
		n += sizeMapEntry + int64(len(k)) + anySize(v)
	}
	return n
}

func stringsSize(ss []string) int64 {
	n := int64(len(ss)) * sizeStringHead
	for _, s := range ss {
		n += int64(len(s))
	}
	return n
}

// anySize is the size of what an attribute value points to (its interface
// header is counted by its container).
func anySize(v any) int64 {
	switch v := v.(type) {
	case nil, bool:
		return 0
	case string:
		return sizeBoxed + int64(len(v))
	case []any:
		n := int64(len(v)) * sizeAnyHead
		for _, e := range v {
			n += anySize(e)
		}
		return n
	case map[string]any:
		return mapSize(v)
	case []map[string]any:
		var n int64
		for _, m := range v {
			n += sizeAnyHead + mapSize(m)
		}
		return n
	default: // int64, float64 and other scalars
		return sizeBoxed
	}
}

// batchSize returns the estimated size of each span and event of b, spans
// first, and their sum.
func batchSize(spans []loupe.Span, events []loupe.SpanEvent) (sizes []int64, total int64) {
	sizes = make([]int64, 0, len(spans)+len(events))
	for i := range spans {
		n := spanSize(&spans[i])
		sizes = append(sizes, n)
		total += n
	}
	for i := range events {
		n := spanEventSize(&events[i])
		sizes = append(sizes, n)
		total += n
	}
	return sizes, total
}
