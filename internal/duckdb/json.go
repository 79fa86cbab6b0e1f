package duckdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loupehq/loupe"
)

// The JSON columns (attributes, params, documents, payload and event
// bodies) are written by hand: the append path runs for every span at
// 100k spans/s, and encoding/json's reflection would dominate its cost.
//
// Values typed any (attributes, event bodies, message parts) keep their Go
// type across a round trip: a float64 is always written with a '.' or an
// exponent ("1.0", not "1"), and on read a number with neither becomes an
// int64, any other number a float64. NaN and ±Inf, which JSON cannot hold,
// are written as the strings "NaN", "+Inf" and "-Inf".

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most payload text needs no escape: skip it 8 bytes at a time.
		if i = skipPlain(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// skipPlain returns the index of the first byte of s at or after i that
// is not plain, or the index of the last fewer than 8 bytes if none is
// before them. A plain byte is ASCII that JSON takes as is: not a control
// byte (< 0x20), '"', '\\' or non-ASCII (>= 0x80). The loop reads 8 bytes
// at a time; in a word with no high bit set, each (y - ones*n) &^ y term
// has a byte's high bit set where that byte of y is below n, and also
// (through the borrow) maybe in bytes above one, but never below: so the
// lowest high bit marks the first byte that is not plain. The loop runs
// over every byte of payload text, in a function of its own that keeps it
// in registers.
func skipPlain(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		x := load8(s[i : i+8])
		q := x ^ ones*'"'
		bs := x ^ ones*'\\'
		if m := (x | (x-ones*0x20)&^x | (q-ones)&^q | (bs-ones)&^bs) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return i
}

// load8 returns the first 8 bytes of s as a little-endian word (one load).
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendFloat appends f so that it reads back as a float64 (see above).
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if !bytes.ContainsAny(b[n:], ".eE") {
		b = append(b, '.', '0')
	}
	return b
}

// appendAny appends an attribute-like value. Maps are written with sorted
// keys, so equal values encode to equal bytes (better compression, stable
// tests). Types outside the documented set fall back to encoding/json.
func appendAny(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case float64:
		return appendFloat(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendAny(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		return appendMap(b, v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return b, fmt.Errorf("encode %T: %w", v, err)
		}
		return append(b, raw...), nil
	}
}

// appendMap appends m as a JSON object with sorted keys.
func appendMap(b []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return appendMapKeys(b, m, keys)
}

// appendMapKeys appends the JSON object of m's entries under keys, in
// that order.
func appendMapKeys(b []byte, m map[string]any, keys []string) ([]byte, error) {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendAny(b, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// attr is one entry of an attribute map.
type attr struct {
	k string
	v any
}

// sortAttrs sorts kvs by key (keys are distinct, so the order is the one
// slices.Sort gives the keys). Spans have a handful of attributes, which
// an insertion sort with the comparison inlined orders fastest.
func sortAttrs(kvs []attr) {
	if len(kvs) > 12 {
		slices.SortFunc(kvs, func(a, b attr) int { return strings.Compare(a.k, b.k) })
		return
	}
	for i := 1; i < len(kvs); i++ {
		for j := i; j > 0 && kvs[j].k < kvs[j-1].k; j-- {
			kvs[j], kvs[j-1] = kvs[j-1], kvs[j]
		}
	}
}

// appendAttrs appends the JSON object of the entries of a followed by
// those of c, in that order (appendMapKeys for entries already taken out
// of their map).
func appendAttrs(b []byte, a, c []attr) ([]byte, error) {
	b = append(b, '{')
	comma := false
	for _, kvs := range [2][]attr{a, c} {
		for j := range kvs {
			if comma {
				b = append(b, ',')
			}
			comma = true
			b = appendString(b, kvs[j].k)
			b = append(b, ':')
			var err error
			if b, err = appendAny(b, kvs[j].v); err != nil {
				return b, err
			}
		}
	}
	return append(b, '}'), nil
}

// jsonWriter appends the fields of one JSON object, handling commas.
type jsonWriter struct {
	b     []byte
	comma bool
	// memo, when not nil, maps long strings already written to b to the
	// range of b that holds their JSON (b only grows): payload text
	// repeats within a request (a system prompt in every model call, the
	// retrieved context in the call after the retrieval), about half of
	// the standard workload's payload bytes, and a repeat is then a copy.
	memo map[string][2]int
}

// memoMinBytes is the shortest string that jsonWriter.memo holds.
const memoMinBytes = 64

// string appends v as a JSON string, through w.memo.
func (w *jsonWriter) string(v string) {
	if w.memo == nil || len(v) < memoMinBytes {
		w.b = appendString(w.b, v)
		return
	}
	if r, ok := w.memo[v]; ok {
		w.b = append(w.b, w.b[r[0]:r[1]]...)
		return
	}
	n := len(w.b)
	w.b = appendString(w.b, v)
	w.memo[v] = [2]int{n, len(w.b)}
}

func (w *jsonWriter) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...) // keys are constants that need no escaping
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) str(k, v string) {
	if v != "" {
		w.key(k)
		w.string(v)
	}
}

func (w *jsonWriter) int(k string, v int64) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendInt(w.b, v, 10)
	}
}

func (w *jsonWriter) floatPtr(k string, v *float64) {
	if v != nil {
		w.key(k)
		w.b = appendFloat(w.b, *v)
	}
}

func (w *jsonWriter) intPtr(k string, v *int64) {
	if v != nil {
		w.key(k)
		w.b = strconv.AppendInt(w.b, *v, 10)
	}
}

// appendParams appends p with the json names of loupe.Params.
func appendParams(b []byte, p *loupe.Params) []byte {
	w := jsonWriter{b: append(b, '{')}
	w.floatPtr("temperature", p.Temperature)
	w.floatPtr("top_p", p.TopP)
	w.floatPtr("top_k", p.TopK)
	w.intPtr("max_tokens", p.MaxTokens)
	w.intPtr("seed", p.Seed)
	w.floatPtr("frequency_penalty", p.FrequencyPenalty)
	w.floatPtr("presence_penalty", p.PresencePenalty)
	if p.Stream != nil {
		w.key("stream")
		w.b = strconv.AppendBool(w.b, *p.Stream)
	}
	if len(p.StopSequences) > 0 {
		w.key("stop_sequences")
		w.b = append(w.b, '[')
		for i, s := range p.StopSequences {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, s)
		}
		w.b = append(w.b, ']')
	}
	w.str("response_format", p.ResponseFormat)
	w.str("tool_choice", p.ToolChoice)
	w.floatPtr("timeout_ms", p.TimeoutMs)
	return append(w.b, '}')
}

// appendDocuments appends docs with the json names of loupe.Document.
func appendDocuments(b []byte, docs []loupe.Document) []byte {
	b = append(b, '[')
	for i := range docs {
		if i > 0 {
			b = append(b, ',')
		}
		d := &docs[i]
		w := jsonWriter{b: append(b, '{')}
		w.str("id", d.ID)
		w.floatPtr("score", d.Score)
		w.int("tokens", d.Tokens)
		b = append(w.b, '}')
	}
	return append(b, ']')
}

// appendEvent appends e with the json names of loupe.Event; the time is
// RFC 3339 with nanoseconds in UTC.
func appendEvent(b []byte, e *loupe.Event) ([]byte, error) {
	w := jsonWriter{b: append(b, '{')}
	w.key("time")
	w.b = append(w.b, '"')
	w.b = e.Time.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
	w.key("name")
	w.b = appendString(w.b, e.Name)
	var err error
	if e.Body != nil {
		w.key("body")
		if w.b, err = appendAny(w.b, e.Body); err != nil {
			return w.b, err
		}
	}
	if len(e.Attributes) > 0 {
		w.key("attributes")
		if w.b, err = appendMap(w.b, e.Attributes); err != nil {
			return w.b, err
		}
	}
	return append(w.b, '}'), nil
}

func appendMessages(w *jsonWriter, k string, msgs []loupe.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i := range msgs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		m := &msgs[i]
		mw := jsonWriter{b: append(w.b, '{'), memo: w.memo}
		mw.key("role")
		mw.b = appendString(mw.b, m.Role)
		mw.str("content", m.Content)
		if len(m.Parts) > 0 {
			mw.key("parts")
			mw.b = append(mw.b, '[')
			for j, p := range m.Parts {
				if j > 0 {
					mw.b = append(mw.b, ',')
				}
				var err error
				if mw.b, err = appendMap(mw.b, p); err != nil {
					w.b = mw.b
					return err
				}
			}
			mw.b = append(mw.b, ']')
		}
		mw.str("name", m.Name)
		if len(m.ToolCalls) > 0 {
			mw.key("tool_calls")
			mw.b = append(mw.b, '[')
			for j := range m.ToolCalls {
				if j > 0 {
					mw.b = append(mw.b, ',')
				}
				tc := &m.ToolCalls[j]
				tw := jsonWriter{b: append(mw.b, '{'), memo: mw.memo}
				tw.str("id", tc.ID)
				tw.key("name")
				tw.b = appendString(tw.b, tc.Name)
				tw.str("arguments", tc.Arguments)
				mw.b = append(tw.b, '}')
			}
			mw.b = append(mw.b, ']')
		}
		mw.str("tool_call_id", m.ToolCallID)
		mw.str("finish_reason", m.FinishReason)
		w.b = append(mw.b, '}')
	}
	w.b = append(w.b, ']')
	return nil
}

// appendPayload appends p with the json names of loupe.Payload. memo,
// when not nil, is the jsonWriter.memo of b: it maps strings to ranges of
// b (see jsonWriter), and appendPayload adds the long strings it writes.
func appendPayload(b []byte, p *loupe.Payload, memo map[string][2]int) ([]byte, error) {
	w := jsonWriter{b: append(b, '{'), memo: memo}
	if err := appendMessages(&w, "input", p.Input); err != nil {
		return w.b, err
	}
	if err := appendMessages(&w, "output", p.Output); err != nil {
		return w.b, err
	}
	w.str("tool_arguments", p.ToolArguments)
	w.str("tool_result", p.ToolResult)
	w.str("query", p.Query)
	if len(p.Documents) > 0 {
		w.key("documents")
		w.b = append(w.b, '[')
		for i := range p.Documents {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			d := &p.Documents[i]
			dw := jsonWriter{b: append(w.b, '{'), memo: w.memo}
			dw.str("id", d.ID)
			dw.str("content", d.Content)
			dw.str("metadata", d.Metadata)
			w.b = append(dw.b, '}')
		}
		w.b = append(w.b, ']')
	}
	w.str("input_value", p.InputValue)
	w.str("output_value", p.OutputValue)
	if len(p.Events) > 0 {
		w.key("events")
		w.b = append(w.b, '[')
		for i := range p.Events {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			var err error
			if w.b, err = appendEvent(w.b, &p.Events[i]); err != nil {
				return w.b, err
			}
		}
		w.b = append(w.b, ']')
	}
	return append(w.b, '}'), nil
}

// decodeJSON decodes data into v, keeping numbers as json.Number so that
// fixNumbers can restore int64 and float64.
func decodeJSON(data string, v any) error {
	d := json.NewDecoder(strings.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// fixNumbers replaces every json.Number inside v with an int64 (no '.' and
// no exponent, and in range) or a float64, the inverse of appendAny.
func fixNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
		}
		f, _ := strconv.ParseFloat(s, 64) // a json.Number always parses
		return f
	case []any:
		for i := range v {
			v[i] = fixNumbers(v[i])
		}
	case map[string]any:
		fixMap(v)
	}
	return v
}

func fixMap(m map[string]any) {
	for k, e := range m {
		m[k] = fixNumbers(e)
	}
}

// decodeAttributes decodes an attributes column.
func decodeAttributes(data string) (map[string]any, error) {
	var m map[string]any
	if err := decodeJSON(data, &m); err != nil {
		return nil, err
	}
	fixMap(m)
	return m, nil
}

// decodeEvent decodes an event body written by appendEvent.
func decodeEvent(data string, e *loupe.Event) error {
	if err := decodeJSON(data, e); err != nil {
		return err
	}
	fixEvent(e)
	return nil
}

func fixEvent(e *loupe.Event) {
	e.Body = fixNumbers(e.Body)
	fixMap(e.Attributes)
}

// decodePayload decodes a payload written by appendPayload.
func decodePayload(data []byte) (*loupe.Payload, error) {
	p := new(loupe.Payload)
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(p); err != nil {
		return nil, err
	}
	for _, msgs := range [][]loupe.Message{p.Input, p.Output} {
		for i := range msgs {
			for _, part := range msgs[i].Parts {
				fixMap(part)
			}
		}
	}
	for i := range p.Events {
		fixEvent(&p.Events[i])
	}
	return p, nil
}
