package redact

import "strings"

// This file holds the single-pass scanner behind Text. The loop walks the
// text token by token (a token is a run of letters, digits, '_', '-' and
// '.'); most tokens cost one class-table lookup per byte and a switch on
// their first byte. Only candidates (an '@', a digit run, a known prefix, a
// key name followed by ':' or '=') are validated precisely, in detect.go.

// Byte classes of the scanner.
const (
	cOther  = iota // space, punctuation, non-ASCII: a token boundary
	cLower         // a-z
	cUpper         // A-Z
	cDigit         // 0-9
	cPunct         // '_', '-', '.': inside tokens
	cAt            // '@': email trigger
	cPlus          // '+': international phone trigger
	cParen         // '(': "(415) 555-0132"
	cEscape        // '\\': the escaped byte is skipped (JSON text)
)

// class is a constant table of byte classes.
var class = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	t['_'], t['-'], t['.'] = cPunct, cPunct, cPunct
	t['@'], t['+'], t['('], t['\\'] = cAt, cPlus, cParen, cEscape
	return t
}()

func isDigit(c byte) bool { return c-'0' < 10 }
func isAlnum(c byte) bool { k := class[c]; return k == cLower || k == cUpper || k == cDigit }

// isTok reports whether c continues a token.
func isTok(c byte) bool { k := class[c]; return k >= cLower && k <= cPunct }

// isWord reports whether c is a letter, digit or '_' (a match must not be
// followed or preceded by one).
func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// scanner is the output state of one Text call: the result is built lazily,
// only once something matched.
type scanner struct {
	s       string
	buf     strings.Builder // empty until the first replacement
	changed bool
	last    int // s[:last] is already in buf (or unchanged)
	c       *Counts
}

// replace replaces s[start:end] with mark and counts rule ru.
func (sc *scanner) replace(start, end int, ru rule, mark string) {
	if start < sc.last {
		start = sc.last
	}
	if !sc.changed {
		sc.changed = true
		sc.buf.Grow(len(sc.s) + 2*len(mark))
	}
	sc.buf.WriteString(sc.s[sc.last:start])
	sc.buf.WriteString(mark)
	sc.last = end
	sc.c.inc(ru)
}

// afterMatch reports whether i is the end of a replacement. The marker
// there ends in ']', a boundary, so i counts as a left boundary whatever the
// original text had: redacting the output again must see the same thing.
func (sc *scanner) afterMatch(i int) bool { return sc.changed && i == sc.last }

// leftBoundary reports whether a match may start at i.
func (sc *scanner) leftBoundary(i int) bool {
	return i == 0 || sc.afterMatch(i) || !isWord(sc.s[i-1])
}

func (sc *scanner) result() string {
	if !sc.changed {
		return sc.s
	}
	sc.buf.WriteString(sc.s[sc.last:])
	return sc.buf.String()
}

// scan runs the built-in rules over s.
func (r *Redactor) scan(s string, c *Counts) string {
	var sc scanner
	sc.s, sc.c = s, c
	n := len(s)
	i := 0
	for i < n {
		switch class[s[i]] {
		case cOther:
			i++
		case cPunct:
			if s[i] == '-' && r.on[rSecret] && strings.HasPrefix(s[i:], pemBegin) {
				if end, ok := matchPEM(s, i); ok {
					sc.replace(i, end, rSecret, r.marks[rSecret])
					i = end
					continue
				}
			}
			i++
		case cEscape:
			i += 2
		case cAt:
			if r.on[rEmail] {
				if start, end, ok := matchEmail(s, i, sc.last); ok {
					sc.replace(start, end, rEmail, r.marks[rEmail])
					i = end
					continue
				}
			}
			i++
		case cPlus, cParen:
			if i+1 < n && (isDigit(s[i+1]) || s[i+1] == '(') && sc.leftBoundary(i) {
				i = r.number(&sc, i)
				continue
			}
			i++
		case cDigit:
			if r.on[rIP] {
				if end, ok := matchIPv6(s, i, sc.afterMatch(i)); ok {
					sc.replace(i, end, rIP, r.marks[rIP])
					i = end
					continue
				}
			}
			i = r.number(&sc, i)
		default: // a letter starts a token
			i = r.word(&sc, i)
		}
	}
	return sc.result()
}

// word handles the token starting with a letter at i and returns where
// scanning resumes.
func (r *Redactor) word(sc *scanner, i int) int {
	s := sc.s
	if prefixStart[s[i]] {
		if ru, end, ok := r.matchPrefix(s, i); ok {
			sc.replace(i, end, ru, r.marks[ru])
			return end
		}
	}
	if r.on[rIBAN] && class[s[i]] == cUpper {
		if end, ok := matchIBAN(s, i); ok {
			sc.replace(i, end, rIBAN, r.marks[rIBAN])
			return end
		}
	}
	if r.on[rIP] && isHexDigit(s[i]) {
		if end, ok := matchIPv6(s, i, sc.afterMatch(i)); ok {
			sc.replace(i, end, rIP, r.marks[rIP])
			return end
		}
	}
	j := i + 1
	for j < len(s) && isTok(s[j]) {
		j++
	}
	if (s[i] == 'B' || s[i] == 'b') && r.on[rBearer] && j-i == 6 {
		if start, end, ok := matchBearer(s, i, j); ok {
			sc.replace(start, end, rBearer, r.marks[rBearer])
			return end
		}
	}
	if r.on[rSecret] && j < len(s) && maybeAssign(s, j) {
		if start, end, ok := r.matchAssigned(s, i, j); ok {
			sc.replace(start, end, rSecret, r.marks[rSecret])
			return end
		}
	}
	return j
}

// prefixStart marks the first bytes of provider keys and JWTs.
var prefixStart = func() (t [256]bool) {
	for _, c := range []byte("sprgxAhe") {
		t[c] = true
	}
	return t
}()

// maybeAssign is a cheap filter for matchAssigned: the byte after a key name
// is a quote, ':', '=', or a space before one of them.
func maybeAssign(s string, j int) bool {
	switch s[j] {
	case ':', '=', '"', '\'', '\\':
		return true
	case ' ':
		return j+1 < len(s) && (s[j+1] == ':' || s[j+1] == '=' || s[j+1] == ' ')
	}
	return false
}

// matchPrefix matches the provider key shapes and JWTs that start at i.
func (r *Redactor) matchPrefix(s string, i int) (rule, int, bool) {
	if r.on[rAPIKey] {
		if end, ok := matchAPIKey(s, i); ok {
			return rAPIKey, end, true
		}
	}
	if r.on[rJWT] && s[i] == 'e' {
		if end, ok := matchJWT(s, i); ok {
			return rJWT, end, true
		}
	}
	return 0, 0, false
}

// number handles the digit run starting at i (at a digit, '+' or '(') and
// returns where scanning resumes.
func (r *Redactor) number(sc *scanner, i int) int {
	s := sc.s
	var nr numRun
	nr.parse(s, i)
	if ru, end, ok := r.classify(s, &nr); ok {
		sc.replace(i, end, ru, r.marks[ru])
		return end
	}
	// No match. Space-separated groups may hide a number starting later
	// ("room 12 415-555-0132"): resume at the first such group. Otherwise skip
	// the rest of the token, so order ids, dates and hex ids are not
	// rescanned from the middle.
	for k := 1; k < nr.ng; k++ {
		if nr.sep[k] == ' ' {
			return nr.gstart[k]
		}
	}
	j := nr.end
	if j <= i {
		j = i + 1
	}
	for j < len(s) && isTok(s[j]) {
		j++
	}
	return j
}
