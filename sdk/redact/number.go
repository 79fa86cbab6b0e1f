package redact

// Numbers: phone numbers, payment cards, SSNs and IPv4 addresses all start
// as a run of digit groups separated by single spaces, dashes or dots (plus
// '+' and parentheses for phones). numRun parses the run once; classify
// tries each rule on it, with precise validation.

const (
	maxGroups = 8
	maxDigits = 24 // longer digit groups are never PII here
)

type numRun struct {
	plus   bool            // starts with '+'
	ng     int             // number of groups
	glen   [maxGroups]int  // digits in each group
	gstart [maxGroups]int  // index of the group's first byte ('(' or digit)
	gdig   [maxGroups]int  // index of the group's first digit
	gend   [maxGroups]int  // index after the group (after ')' if any)
	paren  [maxGroups]bool // group written as "(digits)"
	sep    [maxGroups]byte // byte before group k: ' ', '-', '.', 0 (none, after ')')
	digits int             // total digits
	end    int             // index after the last group
	open   bool            // the run continues with a token byte (no right boundary)
	long   bool            // a group has more than maxDigits digits
}

// parse reads the run starting at i (a digit, '+' or '(').
func (nr *numRun) parse(s string, i int) {
	n := len(s)
	p := i
	if s[p] == '+' {
		nr.plus = true
		p++
	}
	nr.end = p
	var sep byte
	for nr.ng < maxGroups {
		gs := p
		par := false
		if p < n && s[p] == '(' {
			par = true
			p++
		}
		q := p
		for q < n && isDigit(s[q]) {
			q++
		}
		d := q - p
		if d == 0 || (par && (q >= n || s[q] != ')')) {
			break
		}
		if d > maxDigits {
			if nr.ng == 0 {
				nr.long = true
				nr.end = q
				return
			}
			// The run ends before this long number; a space keeps the
			// boundary ("+44 20 7946 0958 000000...").
			nr.open = s[gs-1] != ' '
			return
		}
		if par {
			q++
		}
		k := nr.ng
		nr.glen[k], nr.gstart[k], nr.gdig[k], nr.gend[k], nr.paren[k], nr.sep[k] = d, gs, p, q, par, sep
		nr.ng++
		nr.digits += d
		nr.end = q
		p = q
		if p >= n {
			break
		}
		c := s[p]
		switch {
		case (c == ' ' || c == '-' || c == '.') && p+1 < n && (isDigit(s[p+1]) || (c == ' ' && s[p+1] == '(')):
			sep = c
			p++
		case par && isDigit(c):
			sep = 0 // "(415)555-0132"
		default:
			nr.open = isWord(c)
			return
		}
	}
	// Out of groups: a run that goes on with '-' or '.' has no boundary
	// here; a space is a boundary, as it is between groups.
	if e := nr.end; e+1 < n && (s[e] == '-' || s[e] == '.') && isDigit(s[e+1]) {
		nr.open = true
	} else if e < n {
		nr.open = isWord(s[e])
	}
}

// boundedAt reports whether the run may end after group k-1 (k groups):
// either it is the whole run and nothing word-like follows, or the next
// group is separated by a space.
func (nr *numRun) boundedAt(k int) bool {
	if k == nr.ng {
		return !nr.open
	}
	return nr.sep[k] == ' '
}

// digit returns the j-th digit (0-based) of group g.
func (nr *numRun) digit(s string, g, j int) byte { return s[nr.gdig[g]+j] }

// classify returns the rule matching a prefix of the run starting at its
// first group, and where the match ends.
func (r *Redactor) classify(s string, nr *numRun) (rule, int, bool) {
	if nr.ng == 0 || nr.long {
		return 0, 0, false
	}
	if !nr.plus {
		if r.on[rSSN] {
			if end, ok := nr.ssn(s); ok {
				return rSSN, end, true
			}
		}
		if r.on[rIP] {
			if end, ok := nr.ipv4(s); ok {
				return rIP, end, true
			}
		}
		if r.on[rCard] {
			if end, ok := nr.card(s); ok {
				return rCard, end, true
			}
		}
	}
	if r.on[rPhone] {
		if end, ok := nr.phone(s); ok {
			return rPhone, end, true
		}
	}
	return 0, 0, false
}

func (nr *numRun) anyParen(k int) bool {
	for g := range k {
		if nr.paren[g] {
			return true
		}
	}
	return false
}

// value returns group g as a number (groups here are at most 4 digits).
func (nr *numRun) value(s string, g int) int {
	v := 0
	for j := range nr.glen[g] {
		v = v*10 + int(nr.digit(s, g, j)-'0')
	}
	return v
}

// ssn matches 123-45-6789, excluding numbers the SSA never issues.
func (nr *numRun) ssn(s string) (int, bool) {
	if nr.ng < 3 || nr.glen[0] != 3 || nr.glen[1] != 2 || nr.glen[2] != 4 ||
		nr.sep[1] != '-' || nr.sep[2] != '-' || nr.anyParen(3) || !nr.boundedAt(3) {
		return 0, false
	}
	area := nr.value(s, 0)
	if area == 0 || area == 666 || area >= 900 || nr.value(s, 1) == 0 || nr.value(s, 2) == 0 {
		return 0, false
	}
	return nr.gend[2], true
}

// ipv4 matches a dotted quad of values up to 255.
func (nr *numRun) ipv4(s string) (int, bool) {
	if nr.ng < 4 || nr.anyParen(4) || !nr.boundedAt(4) {
		return 0, false
	}
	for g := range 4 {
		if g > 0 && nr.sep[g] != '.' {
			return 0, false
		}
		if nr.glen[g] > 3 || nr.value(s, g) > 255 {
			return 0, false
		}
	}
	return nr.gend[3], true
}

// card matches 13-19 digits, contiguous or in groups (4-4-4-4[-3],
// 4-6-5, 4-6-4) separated consistently by spaces or dashes, with a known
// issuer prefix and length and a valid Luhn check digit.
func (nr *numRun) card(s string) (int, bool) {
	for k := min(nr.ng, maxGroups); k >= 1; k-- {
		d := 0
		for g := range k {
			d += nr.glen[g]
		}
		if d < 13 {
			return 0, false
		}
		if d > 19 || !nr.boundedAt(k) || nr.anyParen(k) || !nr.cardGroups(k) {
			continue
		}
		var buf [19]byte
		b := buf[:0]
		for g := range k {
			b = append(b, s[nr.gdig[g]:nr.gdig[g]+nr.glen[g]]...)
		}
		if issuerOK(b) && luhn(b) {
			return nr.gend[k-1], true
		}
	}
	return 0, false
}

func (nr *numRun) cardGroups(k int) bool {
	if k == 1 {
		return true
	}
	sep := nr.sep[1]
	if sep != ' ' && sep != '-' {
		return false
	}
	for g := 2; g < k; g++ {
		if nr.sep[g] != sep {
			return false
		}
	}
	if k == 3 && nr.glen[0] == 4 && nr.glen[1] == 6 && (nr.glen[2] == 5 || nr.glen[2] == 4) {
		return true // Amex 4-6-5, Diners 4-6-4
	}
	if k < 3 {
		return false
	}
	for g := range k - 1 {
		if nr.glen[g] != 4 {
			return false
		}
	}
	return nr.glen[k-1] <= 4
}

// issuerOK checks the issuer identification number and length of card
// number d (13-19 digits).
func issuerOK(d []byte) bool {
	l := len(d)
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p4 := p2*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
		return l == 13 || l == 16 || l == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return l == 16
	case p2 == 34 || p2 == 37: // Amex
		return l == 15
	case p4 >= 3528 && p4 <= 3589: // JCB
		return l >= 16
	case p2 == 36 || p2 == 38 || p2 == 39 || (p4 >= 3000 && p4 <= 3059): // Diners
		return l >= 14
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499) || p2 == 62: // Discover, UnionPay
		return l >= 16
	}
	return false
}

// luhn reports whether the digits d have a valid Luhn check digit.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// phone matches international numbers (+ and 8-15 digits), North American
// numbers ((415) 555-0132, 415-555-0132, 1-415-555-0132) and national
// numbers with a trunk 0 and consistent separators (020 7946 0958).
func (nr *numRun) phone(s string) (int, bool) {
	if nr.plus {
		if nr.digit(s, 0, 0) == '0' {
			return 0, false
		}
		for k := nr.ng; k >= 1; k-- {
			d := 0
			for g := range k {
				d += nr.glen[g]
			}
			if d > 15 {
				continue
			}
			if d < 8 {
				return 0, false
			}
			if nr.boundedAt(k) {
				return nr.gend[k-1], true
			}
		}
		return 0, false
	}
	if end, ok := nr.nanp(s); ok {
		return end, true
	}
	return nr.national(s)
}

func (nr *numRun) nanp(s string) (int, bool) {
	o := 0
	if nr.ng >= 4 && nr.glen[0] == 1 && nr.digit(s, 0, 0) == '1' && !nr.paren[0] && nr.sep[1] != 0 {
		o = 1
	}
	if nr.ng-o < 3 || nr.glen[o] != 3 || nr.glen[o+1] != 3 || nr.glen[o+2] != 4 ||
		nr.paren[o+1] || nr.paren[o+2] || !nr.boundedAt(o+3) {
		return 0, false
	}
	if nr.digit(s, o, 0) < '2' || nr.digit(s, o+1, 0) < '2' {
		return 0, false // area codes and exchanges never start with 0 or 1
	}
	s1, s2 := nr.sep[o+1], nr.sep[o+2]
	if nr.paren[o] {
		if s1 != 0 && s1 != ' ' && s1 != '-' {
			return 0, false
		}
		if s2 != '-' && s2 != ' ' && s2 != '.' {
			return 0, false
		}
	} else if s1 != s2 || s1 == 0 {
		return 0, false
	}
	if o == 1 && nr.sep[1] != s1 && !nr.paren[o] {
		return 0, false
	}
	return nr.gend[o+2], true
}

func (nr *numRun) national(s string) (int, bool) {
	if nr.ng < 2 || nr.digit(s, 0, 0) != '0' || nr.glen[0] < 2 {
		return 0, false
	}
	if nr.digit(s, 0, 1) == '0' {
		return nr.intl00(s)
	}
	for k := nr.ng; k >= 2; k-- {
		d := 0
		short := false
		for g := range k {
			d += nr.glen[g]
			short = short || nr.glen[g] < 2
		}
		if d > 11 {
			continue
		}
		if d < 9 {
			return 0, false
		}
		if short || !nr.boundedAt(k) || nr.anyParenFrom(1, k) || !nr.sameSeps(k) {
			continue
		}
		return nr.gend[k-1], true
	}
	return 0, false
}

func (nr *numRun) anyParenFrom(from, k int) bool {
	for g := from; g < k; g++ {
		if nr.paren[g] {
			return true
		}
	}
	return false
}

// sameSeps reports whether groups 1..k-1 are separated by one kind of
// separator (after a "(020)" area group the first separator is free).
func (nr *numRun) sameSeps(k int) bool {
	from := 1
	if nr.paren[0] {
		from = 2
	}
	if from >= k {
		return true
	}
	sep := nr.sep[from]
	if sep != ' ' && sep != '-' && sep != '.' {
		return false
	}
	for g := from + 1; g < k; g++ {
		if nr.sep[g] != sep {
			return false
		}
	}
	return true
}

// intl00 matches international numbers written with the 00 prefix instead
// of '+' (0044 20 7946 0958): 8-15 digits after the prefix.
func (nr *numRun) intl00(s string) (int, bool) {
	if nr.glen[0] < 3 || nr.digit(s, 0, 2) == '0' || nr.paren[0] {
		return 0, false
	}
	for k := nr.ng; k >= 2; k-- {
		d := -2
		for g := range k {
			d += nr.glen[g]
		}
		if d > 15 {
			continue
		}
		if d < 8 {
			return 0, false
		}
		if nr.boundedAt(k) && !nr.anyParenFrom(1, k) {
			return nr.gend[k-1], true
		}
	}
	return 0, false
}
