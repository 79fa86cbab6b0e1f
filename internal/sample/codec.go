package sample

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
)

// record is the body of one pending-log record: an acknowledged batch and
// when it arrived.
type record struct {
	// Arrived is the arrival time in Unix nanoseconds; the grace and
	// timeout clocks of a replayed trace run from it.
	Arrived int64             `json:"t"`
	Spans   []loupe.Span      `json:"s,omitempty"`
	Events  []loupe.SpanEvent `json:"e,omitempty"`
}

// encodeRecord encodes spans and events as JSON. Values typed any
// (attributes, event bodies) keep their Go type across the round trip: a
// float64 is written with a '.' or an exponent and NaN/±Inf as tagged
// strings, and decodeRecord turns numbers without either into int64.
func encodeRecord(arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
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

// decodeRecord is the inverse of encodeRecord.
func decodeRecord(body []byte) (*record, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode pending batch: %w", err)
	}
	for i := range r.Spans {
		fixMap(r.Spans[i].Attributes)
		if p := r.Spans[i].Payload; p != nil {
			for j := range p.Events {
				fixMap(p.Events[j].Attributes)
				p.Events[j].Body = fixAny(p.Events[j].Body)
			}
			for j := range p.Input {
				for _, part := range p.Input[j].Parts {
					fixMap(part)
				}
			}
			for j := range p.Output {
				for _, part := range p.Output[j].Parts {
					fixMap(part)
				}
			}
		}
	}
	for i := range r.Events {
		fixMap(r.Events[i].Event.Attributes)
		r.Events[i].Event.Body = fixAny(r.Events[i].Event.Body)
	}
	return &r, nil
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

// Tagged strings for the floats JSON cannot hold.
const (
	nanTag    = "\x00NaN"
	posInfTag = "\x00+Inf"
	negInfTag = "\x00-Inf"
)

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

func fixMap(m map[string]any) {
	for k, v := range m {
		m[k] = fixAny(v)
	}
}

func fixAny(v any) any {
	switch v := v.(type) {
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case string:
		switch v {
		case nanTag:
			return math.NaN()
		case posInfTag:
			return math.Inf(1)
		case negInfTag:
			return math.Inf(-1)
		}
	case map[string]any:
		fixMap(v)
	case []any:
		for i := range v {
			v[i] = fixAny(v[i])
		}
	}
	return v
}
