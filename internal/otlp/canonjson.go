package otlp

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rawText is text(v) for the value v that the raw JSON text raw parses to:
// strings as they are, scalars formatted, objects and arrays re-encoded
// as encoding/json.Marshal encodes the generic value (sorted keys, compact,
// HTML-escaped strings), without building it.
func (mp *msgParser) rawText(raw string) string {
	switch raw[0] {
	case '{', '[':
	default:
		v, _ := parseJSON(raw)
		return text(v)
	}
	q := jsonParser{s: raw}
	b, ok := appendCanonical(mp.buf[:0], &q, 0)
	mp.buf = b[:0]
	if !ok || q.i != len(raw) {
		// Repeated keys or non-finite numbers: let encoding/json decide.
		v, _ := parseJSON(raw)
		return text(v)
	}
	return string(b)
}

// member is one member of an object being re-encoded: its decoded key and
// raw value.
type member struct {
	key string
	val string
}

// appendCanonical appends the value at p.i (depth as in jsonParser.value)
// encoded as encoding/json.Marshal encodes its generic value. It returns
// false for input parseJSON rejects, for objects with repeated keys and for
// numbers that are not finite as float64 (Marshal fails on them).
func appendCanonical(dst []byte, p *jsonParser, depth int) ([]byte, bool) {
	if depth > maxJSONDepth {
		return dst, false
	}
	p.skip()
	if p.i >= len(p.s) {
		return dst, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		var buf [8]member
		ms := buf[:0]
		p.i++
		if p.closes('}') {
			return append(dst, '{', '}'), true
		}
		for {
			p.skip()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return dst, false
			}
			k, ok := p.strRaw()
			if !ok {
				return dst, false
			}
			if !p.colon() {
				return dst, false
			}
			p.skip()
			start := p.i
			if !p.skipValue(depth + 1) {
				return dst, false
			}
			ms = append(ms, member{key: k, val: p.s[start:p.i]})
			more, ok := p.sep('}')
			if !ok {
				return dst, false
			}
			if !more {
				break
			}
		}
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
		dst = append(dst, '{')
		for i, m := range ms {
			if i > 0 {
				if m.key == ms[i-1].key {
					return dst, false
				}
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, m.key)
			dst = append(dst, ':')
			// Re-parse the member's value with p itself (a parser per
			// member would escape to the heap through the recursion).
			s, i := p.s, p.i
			p.s, p.i = m.val, 0
			var ok bool
			dst, ok = appendCanonical(dst, p, depth+1)
			p.s, p.i = s, i
			if !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case c == '[':
		p.i++
		p.skip()
		dst = append(dst, '[')
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return append(dst, ']'), true
		}
		for n := 0; ; n++ {
			if n > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendCanonical(dst, p, depth+1); !ok {
				return dst, false
			}
			more, ok := p.sep(']')
			if !ok {
				return dst, false
			}
			if !more {
				return append(dst, ']'), true
			}
		}
	case c == '"':
		s, ok := p.strRaw()
		return appendJSONString(dst, s), ok
	case c == 't':
		return append(dst, "true"...), p.lit("true")
	case c == 'f':
		return append(dst, "false"...), p.lit("false")
	case c == 'n':
		return append(dst, "null"...), p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		lit, isFloat := p.numberLit()
		if lit == "" {
			return dst, false
		}
		if !isFloat {
			if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
				return strconv.AppendInt(dst, v, 10), true
			}
		}
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || math.IsInf(f, 0) {
			return dst, false
		}
		return appendJSONFloat(dst, f), true
	}
	return dst, false
}

// appendJSONFloat appends f as encoding/json encodes a float64 (ES6 number
// formatting).
func appendJSONFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json encodes a string with
// HTML escaping (its default): <, >, & and U+2028/U+2029 as \u escapes,
// invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
