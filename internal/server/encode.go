package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
)

// encode writes v as a JSON response with status. It marshals first, so a
// value that cannot be encoded becomes a clean 500 instead of half a body.
func encode(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	body, err := marshalJSON(v)
	if err != nil {
		writeError(w, log, formatAPI, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	w.Write(body)
}

// marshalJSON is json.Marshal that survives non-finite floats: attributes
// come from producers, and OTLP doubles may be NaN or ±Inf, which JSON
// cannot carry. On that (rare) failure the value is re-marshalled with such
// numbers written as the strings "NaN", "+Inf" and "-Inf".
func marshalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if _, ok := errors.AsType[*json.UnsupportedValueError](err); !ok {
		return b, err
	}
	return json.Marshal(finite(v))
}

// finite returns a copy of v with non-finite floats replaced: by strings in
// attribute values, by 0 or nil in typed numeric fields.
func finite(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nonFinite(v)
		}
		return v
	case float32:
		return finite(float64(v))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = finite(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = finite(e)
		}
		return out
	case traceJSON:
		spans := make([]spanJSON, len(v.Spans))
		for i, s := range v.Spans {
			spans[i] = finiteSpan(s)
		}
		v.Spans = spans
		return v
	}
	return v
}

func finiteSpan(s spanJSON) spanJSON {
	s.DurationMs = finiteNum(s.DurationMs)
	s.CostUSD = finiteNum(s.CostUSD)
	if s.Attributes != nil {
		s.Attributes = finite(s.Attributes).(map[string]any)
	}
	if s.Params != nil {
		p := *s.Params
		for _, f := range []**float64{&p.Temperature, &p.TopP, &p.TopK, &p.FrequencyPenalty, &p.PresencePenalty, &p.TimeoutMs} {
			if *f != nil && (math.IsNaN(**f) || math.IsInf(**f, 0)) {
				*f = nil
			}
		}
		s.Params = &p
	}
	if len(s.Documents) > 0 {
		docs := append(s.Documents[:0:0], s.Documents...)
		for i := range docs {
			if sc := docs[i].Score; sc != nil && (math.IsNaN(*sc) || math.IsInf(*sc, 0)) {
				docs[i].Score = nil
			}
		}
		s.Documents = docs
	}
	if s.Payload != nil && len(s.Payload.Events) > 0 {
		p := *s.Payload
		p.Events = append(p.Events[:0:0], p.Events...)
		for i := range p.Events {
			p.Events[i].Body = finite(p.Events[i].Body)
			if p.Events[i].Attributes != nil {
				p.Events[i].Attributes = finite(p.Events[i].Attributes).(map[string]any)
			}
		}
		s.Payload = &p
	}
	return s
}

// finiteNum replaces a non-finite number by 0 where the field must stay a number.
func finiteNum(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func nonFinite(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64) // "+Inf" or "-Inf"
}
