package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// decodeJSONRecord decodes a JSON record, the format of the versions
// before the binary one. Their encoder wrote a float64 held in an any with
// a '.' or an exponent and NaN/±Inf as tagged strings; numbers without
// either read back as int64.
func decodeJSONRecord(body []byte) (*record, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, err
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

// decodeJSONValue decodes the JSON of a value the binary format holds as
// tagJSON, as the JSON records read their values.
func decodeJSONValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return fixAny(v), nil
}

// Tagged strings for the floats JSON cannot hold.
const (
	nanTag    = "\x00NaN"
	posInfTag = "\x00+Inf"
	negInfTag = "\x00-Inf"
)

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
