package sample

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/loupehq/loupe"
)

// encodeRecordJSON is the JSON encoder of the versions before the binary
// format (the former encodeRecord), kept to test that their logs still
// replay and to benchmark against. It encodes spans and events as JSON. Values typed any
// (attributes, event bodies) keep their Go type across the round trip: a
// float64 is written with a '.' or an exponent and NaN/±Inf as tagged
// strings, and decodeRecord turns numbers without either into int64.
func encodeRecordJSON(arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
	r := record{Arrived: arrived.UnixNano(), Spans: spans, Events: events}
	if needsFloatFix(spans, events) {
		r.Spans = make([]loupe.Span, len(spans))
		for i := range spans {
			r.Spans[i] = spans[i]
			r.Spans[i].Attributes = wrapMap(spans[i].Attributes)
			if p := spans[i].Payload; p != nil && len(p.Events) > 0 {
				cp := *p
				cp.Events = wrapEvents(p.Events)
				r.Spans[i].Payload = &cp
			}
		}
		r.Events = make([]loupe.SpanEvent, len(events))
		for i := range events {
			r.Events[i] = events[i]
			r.Events[i].Event.Attributes = wrapMap(events[i].Event.Attributes)
			r.Events[i].Event.Body = wrapAny(events[i].Event.Body)
		}
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("encode pending batch: %w", err)
	}
	return b, nil
}

// needsFloatFix reports whether any attribute or event value holds a float
// (the only type encoding/json does not round-trip through any).
func needsFloatFix(spans []loupe.Span, events []loupe.SpanEvent) bool {
	for i := range spans {
		if hasFloat(spans[i].Attributes) {
			return true
		}
		if p := spans[i].Payload; p != nil {
			for j := range p.Events {
				if hasFloat(p.Events[j].Attributes) || hasFloatAny(p.Events[j].Body) {
					return true
				}
			}
		}
	}
	for i := range events {
		if hasFloat(events[i].Event.Attributes) || hasFloatAny(events[i].Event.Body) {
			return true
		}
	}
	return false
}

func hasFloat(m map[string]any) bool {
	for _, v := range m {
		if hasFloatAny(v) {
			return true
		}
	}
	return false
}

func hasFloatAny(v any) bool {
	switch v := v.(type) {
	case float64:
		return true
	case map[string]any:
		return hasFloat(v)
	case []any:
		for _, e := range v {
			if hasFloatAny(e) {
				return true
			}
		}
	}
	return false
}

func wrapEvents(evs []loupe.Event) []loupe.Event {
	out := make([]loupe.Event, len(evs))
	for i := range evs {
		out[i] = evs[i]
		out[i].Attributes = wrapMap(evs[i].Attributes)
		out[i].Body = wrapAny(evs[i].Body)
	}
	return out
}

func wrapMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = wrapAny(v)
	}
	return out
}

func wrapAny(v any) any {
	switch v := v.(type) {
	case float64:
		return jsonFloat(v)
	case map[string]any:
		return wrapMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = wrapAny(e)
		}
		return out
	}
	return v
}

// jsonFloat marshals a float64 so that it reads back as one.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return json.Marshal(nanTag)
	case math.IsInf(v, 1):
		return json.Marshal(posInfTag)
	case math.IsInf(v, -1):
		return json.Marshal(negInfTag)
	}
	b := strconv.AppendFloat(nil, v, 'g', -1, 64)
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, nil
}
