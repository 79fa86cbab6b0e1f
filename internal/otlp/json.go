package otlp

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON decodes one JSON value into string, int64 (integer literals that
// fit), float64, bool, nil, []any or map[string]any. It is a small
// allocation-lean decoder for the message bodies SDKs embed in attribute
// strings: several times faster than encoding/json into an interface, which
// matters because every chat span carries a few KB of them.
func parseJSON(s string) (any, bool) {
	p := jsonParser{s: s}
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.skip()
	if p.i != len(p.s) {
		return nil, false
	}
	return v, true
}

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 200

type jsonParser struct {
	s string
	i int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *jsonParser) skip() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *jsonParser) value(depth int) (any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	p.skip()
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, false
}

func (p *jsonParser) lit(w string) bool {
	if len(p.s)-p.i >= len(w) && p.s[p.i:p.i+len(w)] == w {
		p.i += len(w)
		return true
	}
	return false
}

// closes skips spaces and reports whether the next byte is c (the end of
// an empty object or array), consuming it if so.
func (p *jsonParser) closes(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// colon consumes the ':' after an object key (after spaces).
func (p *jsonParser) colon() bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		return true
	}
	return false
}

// sep consumes what follows a member or element (after spaces): ',' when
// more follow (more), or close at the end; ok is false for anything else.
func (p *jsonParser) sep(close byte) (more, ok bool) {
	p.skip()
	if p.i >= len(p.s) {
		return false, false
	}
	switch p.s[p.i] {
	case ',':
		p.i++
		return true, true
	case close:
		p.i++
		return false, true
	}
	return false, false
}

func (p *jsonParser) object(depth int) (any, bool) {
	p.i++ // {
	m := make(map[string]any, 4)
	if p.closes('}') {
		return m, true
	}
	for {
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		k, ok := p.strRaw()
		if !ok {
			return nil, false
		}
		if !p.colon() {
			return nil, false
		}
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k] = v
		more, ok := p.sep('}')
		if !ok {
			return nil, false
		}
		if !more {
			return m, true
		}
	}
}

func (p *jsonParser) array(depth int) (any, bool) {
	p.i++ // [
	a := make([]any, 0, 4)
	if p.closes(']') {
		return a, true
	}
	for {
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		more, ok := p.sep(']')
		if !ok {
			return nil, false
		}
		if !more {
			return a, true
		}
	}
}

func (p *jsonParser) number() (any, bool) {
	lit, isFloat := p.numberLit()
	if lit == "" {
		return nil, false
	}
	return numberValue(lit, isFloat)
}

// numberLit scans a number literal; "" when invalid.
func (p *jsonParser) numberLit() (lit string, isFloat bool) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	intStart := p.i
	n := p.digits()
	if n == 0 || (n > 1 && p.s[intStart] == '0') {
		return "", false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		isFloat = true
		p.i++
		if p.digits() == 0 {
			return "", false
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		isFloat = true
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return "", false
		}
	}
	return p.s[start:p.i], isFloat
}

func (p *jsonParser) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// numberValue converts a valid number literal: int64 when it is an integer
// that fits, else float64 (saturating out of range).
func numberValue(lit string, isFloat bool) (any, bool) {
	if !isFloat {
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return v, true
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		// Out of range: JSON allows it, float64 saturates.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return nil, false
		}
	}
	return f, true
}

// str decodes a string starting at the opening quote.
func (p *jsonParser) str() (any, bool) {
	s, ok := p.strRaw()
	if !ok {
		return nil, false
	}
	return s, true
}

// strRaw decodes a string starting at the opening quote. Strings without
// escapes are substrings of the input (no copy).
func (p *jsonParser) strRaw() (string, bool) {
	p.i++ // "
	start := p.i
	p.i = plainRun(p.s, p.i)
	if p.i >= len(p.s) {
		return "", false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		v := p.s[start:p.i]
		p.i++
		return v, true
	case c == '\\':
		return p.slowStr(start)
	}
	return "", false // control character
}

// Bit masks of the 8-bytes-at-a-time scan (plainRun).
const (
	lsb8   = 0x0101010101010101
	msb8   = 0x8080808080808080
	quote8 = '"' * lsb8
	bslash = '\\' * lsb8
	space8 = 0x20 * lsb8
)

// plainRun returns the index of the first byte at or after i that ends a
// run of plain string bytes: a quote, a backslash or a control character;
// len(s) when there is none. It tests 8 bytes at a time.
func plainRun(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // one bounds check; the loads combine into one
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q := x ^ quote8
		b := x ^ bslash
		// A byte is flagged when it is zero after the xor (quote, backslash)
		// or below 0x20; bytes >= 0x80 are excluded by &^x.
		if ((q-lsb8)&^q|(b-lsb8)&^b|(x-space8)&^x)&msb8 != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// slowStr decodes a string with escapes; p.i is at the first backslash.
// Runs of plain bytes are copied at once.
func (p *jsonParser) slowStr(start int) (string, bool) {
	// The decoded string is no longer than the raw one: size it once.
	end := p.i
	for end < len(p.s) && p.s[end] != '"' {
		if p.s[end] == '\\' {
			end++
		}
		end++
		end = plainRun(p.s, end)
	}
	var b strings.Builder
	b.Grow(end - start)
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		run := p.i
		p.i = plainRun(p.s, p.i)
		b.WriteString(p.s[run:p.i])
		if p.i >= len(p.s) {
			break
		}
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return b.String(), true
		case c < 0x20:
			return "", false
		}
		p.i++ // backslash
		if p.i >= len(p.s) {
			return "", false
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if x, ok := p.hex4(); ok {
						r2 = x
					} else {
						return "", false
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						b.WriteRune(d)
						continue
					}
					p.i = save
				}
				b.WriteRune(utf8.RuneError)
				continue
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return "", false
}

// skipValue validates the value at p.i (after spaces) at depth, as value
// would parse it, without building it.
func (p *jsonParser) skipValue(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	p.skip()
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		if p.closes('}') {
			return true
		}
		for {
			p.skip()
			if p.i >= len(p.s) || p.s[p.i] != '"' || !p.skipStr() {
				return false
			}
			if !p.colon() {
				return false
			}
			if !p.skipValue(depth + 1) {
				return false
			}
			more, ok := p.sep('}')
			if !ok {
				return false
			}
			if !more {
				return true
			}
		}
	case c == '[':
		p.i++
		if p.closes(']') {
			return true
		}
		for {
			if !p.skipValue(depth + 1) {
				return false
			}
			more, ok := p.sep(']')
			if !ok {
				return false
			}
			if !more {
				return true
			}
		}
	case c == '"':
		return p.skipStr()
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		lit, _ := p.numberLit()
		return lit != ""
	}
	return false
}

// skipStr validates a string starting at the opening quote, as strRaw would
// decode it.
func (p *jsonParser) skipStr() bool {
	p.i++ // "
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			p.i++
			if p.i >= len(p.s) {
				return false
			}
			switch p.s[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				if _, ok := p.hex4(); !ok {
					return false
				}
			default:
				return false
			}
			continue
		}
		p.i++
	}
	return false
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.s)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
