package redact

import (
	"math"
	"net/netip"
	"strings"
)

// Validators for the non-numeric rules. Each takes the text and a candidate
// position and reports the exact span to replace.

func isHexDigit(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }

// escaped reports whether s[i] is escaped by an odd run of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// matchEmail matches local@domain.tld around the '@' at at. The local part
// is searched backwards, never before lo (the end of the previous match).
func matchEmail(s string, at, lo int) (start, end int, ok bool) {
	p := at
	for p > lo && at-p < 64 && isEmailLocal(s[p-1]) {
		p--
	}
	if p < at && escaped(s, p) {
		p++ // "\njohn@..." in JSON text: the n belongs to the escape
	}
	for p < at && s[p] == '.' {
		p++
	}
	if p == at {
		return 0, 0, false
	}
	n := len(s)
	q := at + 1
	labels := 0
	tld := ""
	for {
		ls := q
		for q < n && q-ls < 63 && (isAlnum(s[q]) || s[q] == '-') {
			q++
		}
		if q == ls {
			return 0, 0, false
		}
		labels++
		tld = s[ls:q]
		if q+1 < n && s[q] == '.' && isAlnum(s[q+1]) {
			q++
			continue
		}
		break
	}
	if labels < 2 || len(tld) < 2 || (q < n && isWord(s[q])) {
		return 0, 0, false
	}
	for k := 0; k < len(tld); k++ {
		if class[tld[k]] != cLower && class[tld[k]] != cUpper {
			return 0, 0, false
		}
	}
	switch strings.ToLower(tld) {
	case "png", "jpg", "jpeg", "gif", "svg", "webp", "ico": // icon@2x.png
		return 0, 0, false
	}
	return p, q, true
}

// matchIPv6 matches an IPv6 address starting at i (a hex digit at a token
// start); boundary says i follows a replacement. Only candidates with "::" or seven colons reach netip.
func matchIPv6(s string, i int, boundary bool) (int, bool) {
	if !boundary && i > 0 && (s[i-1] == ':' || s[i-1] == '.' || isWord(s[i-1])) {
		return 0, false // inside a longer colon run
	}
	n := len(s)
	j := i
	colons, run := 0, 0
	double, digit := false, false
	for j < n && j-i < 45 {
		c := s[j]
		switch {
		case c == ':':
			colons++
			if j > i && s[j-1] == ':' {
				double = true
			}
			run = 0
		case isHexDigit(c) || c == '.':
			run++
			if run > 4 && colons == 0 {
				return 0, false
			}
			digit = digit || isDigit(c)
		default:
			goto done
		}
		j++
	}
done:
	if colons < 2 || (!double && colons != 7) || !digit || j-i < 6 {
		return 0, false
	}
	for j > i && s[j-1] == '.' {
		j--
	}
	if (j < n && isWord(s[j])) || !isHexDigit(s[j-1]) {
		return 0, false // "fe80::" is legal but in text usually a fragment
	}
	a, err := netip.ParseAddr(s[i:j])
	if err != nil || !a.Is6() {
		return 0, false
	}
	return j, true
}

// Key body character sets.
const (
	setAlnum      = iota // A-Za-z0-9
	setAlnumUnder        // A-Za-z0-9_
	setB64URL            // A-Za-z0-9_-
	setAlnumDash         // A-Za-z0-9-
	setUpperDigit        // A-Z0-9
)

func inSet(set int, c byte) bool {
	switch set {
	case setAlnum:
		return isAlnum(c)
	case setAlnumUnder:
		return isAlnum(c) || c == '_'
	case setB64URL:
		return isAlnum(c) || c == '_' || c == '-'
	case setAlnumDash:
		return isAlnum(c) || c == '-'
	default:
		return isDigit(c) || class[c] == cUpper
	}
}

// keyShape is a provider key: a literal prefix and a body.
type keyShape struct {
	prefix string
	set    int
	min    int // minimum body length
	max    int // maximum body length, 0 = no limit
	digit  bool
}

// keyShapes is a constant table, grouped by first byte in matchAPIKey.
var keyShapes = [...]keyShape{
	{prefix: "sk-ant-", set: setB64URL, min: 20},
	{prefix: "sk-", set: setB64URL, min: 20, digit: true},
	{prefix: "sk_live_", set: setAlnum, min: 16},
	{prefix: "sk_test_", set: setAlnum, min: 16},
	{prefix: "pk_live_", set: setAlnum, min: 16},
	{prefix: "pk_test_", set: setAlnum, min: 16},
	{prefix: "rk_live_", set: setAlnum, min: 16},
	{prefix: "rk_test_", set: setAlnum, min: 16},
	{prefix: "ghp_", set: setAlnum, min: 30},
	{prefix: "gho_", set: setAlnum, min: 30},
	{prefix: "ghu_", set: setAlnum, min: 30},
	{prefix: "ghs_", set: setAlnum, min: 30},
	{prefix: "ghr_", set: setAlnum, min: 30},
	{prefix: "github_pat_", set: setAlnumUnder, min: 30},
	{prefix: "glpat-", set: setB64URL, min: 20},
	{prefix: "xoxb-", set: setAlnumDash, min: 10},
	{prefix: "xoxp-", set: setAlnumDash, min: 10},
	{prefix: "xoxa-", set: setAlnumDash, min: 10},
	{prefix: "xoxr-", set: setAlnumDash, min: 10},
	{prefix: "xoxs-", set: setAlnumDash, min: 10},
	{prefix: "xapp-", set: setAlnumDash, min: 10},
	{prefix: "AKIA", set: setUpperDigit, min: 16, max: 16},
	{prefix: "ASIA", set: setUpperDigit, min: 16, max: 16},
	{prefix: "AIza", set: setB64URL, min: 30},
	{prefix: "hf_", set: setAlnum, min: 30},
}

// matchAPIKey matches a provider key starting at i.
func matchAPIKey(s string, i int) (int, bool) {
	// Filter on the first two bytes: most words fail here.
	if i+1 >= len(s) {
		return 0, false
	}
	switch c1 := s[i+1]; s[i] {
	case 's', 'p', 'r':
		if c1 != 'k' {
			return 0, false
		}
	case 'g':
		if c1 != 'h' && c1 != 'i' && c1 != 'l' {
			return 0, false
		}
	case 'x':
		if c1 != 'o' && c1 != 'a' {
			return 0, false
		}
	case 'A':
		if c1 != 'K' && c1 != 'S' && c1 != 'I' {
			return 0, false
		}
	case 'h':
		if c1 != 'f' {
			return 0, false
		}
	default:
		return 0, false
	}
	for k := range keyShapes {
		ks := &keyShapes[k]
		if ks.prefix[0] != s[i] || !strings.HasPrefix(s[i:], ks.prefix) {
			continue
		}
		b := i + len(ks.prefix)
		j := b
		digit := false
		for j < len(s) && inSet(ks.set, s[j]) {
			digit = digit || isDigit(s[j])
			j++
		}
		body := j - b
		if body < ks.min || (ks.max > 0 && body > ks.max) || (j < len(s) && isWord(s[j])) {
			return 0, false
		}
		if ks.digit && !digit && !(body >= 32 && mixedCase(s[b:j])) {
			return 0, false // "sk-some-long-hyphenated-words" is prose
		}
		return j, true
	}
	return 0, false
}

func mixedCase(s string) bool {
	lower, upper := false, false
	for i := 0; i < len(s); i++ {
		switch class[s[i]] {
		case cLower:
			lower = true
		case cUpper:
			upper = true
		}
	}
	return lower && upper
}

// matchJWT matches header.payload.signature in base64url, the header
// starting "eyJ" (the encoding of `{"`).
func matchJWT(s string, i int) (int, bool) {
	if !strings.HasPrefix(s[i:], "eyJ") {
		return 0, false
	}
	n := len(s)
	j := i
	segs := 0
	var seglen [3]int
	for {
		st := j
		for j < n && inSet(setB64URL, s[j]) {
			j++
		}
		if segs < 3 {
			seglen[segs] = j - st
		}
		segs++
		if segs < 5 && j+1 < n && s[j] == '.' && inSet(setB64URL, s[j+1]) {
			j++
			continue
		}
		if segs < 3 && j < n && s[j] == '.' { // unsigned token: "header.payload."
			j++
			segs++
		}
		break
	}
	if segs < 3 || seglen[0] < 10 || seglen[1] < 2 || (j < n && isWord(s[j])) {
		return 0, false
	}
	return j, true
}

// ibanLengths lists "CCnn": country code and IBAN length (ISO 13616
// registry). Only candidates (two capitals, two digits) look it up.
const ibanLengths = "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BR29BY28CH21CR22CY28CZ24DE22DK18DO28" +
	"EE20EG29ES24FI18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27JO30" +
	"KW30KZ20LB28LC32LI21LT20LU20LV21MC27MD24ME22MK19MR27MT31MU30NL18NO15PK24PL28PS29" +
	"PT25QA29RO24RS22SA24SC31SE24SI19SK24SM27ST25SV28TL23TN24TR26UA29VA22VG24XK20"

func ibanLength(cc string) int {
	for k := 0; k+4 <= len(ibanLengths); k += 4 {
		if ibanLengths[k:k+2] == cc {
			return int(ibanLengths[k+2]-'0')*10 + int(ibanLengths[k+3]-'0')
		}
	}
	return 0
}

// matchIBAN matches an IBAN at i, contiguous or printed in groups of four.
func matchIBAN(s string, i int) (int, bool) {
	n := len(s)
	if i+4 > n || class[s[i+1]] != cUpper || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
		return 0, false
	}
	want := ibanLength(s[i : i+2])
	if want == 0 {
		return 0, false
	}
	var buf [34]byte
	got := 0
	j := i
	for got < want && j < n {
		c := s[j]
		switch {
		case isDigit(c) || class[c] == cUpper:
			buf[got] = c
			got++
			j++
		case c == ' ' && got%4 == 0 && j+1 < n && isAlnum(s[j+1]):
			j++
		default:
			return 0, false
		}
	}
	if got != want || (j < n && isWord(s[j])) {
		return 0, false
	}
	// mod-97 over the rearranged IBAN: BBAN, then country code and check.
	rem := 0
	for k := range want {
		c := buf[(k+4)%want]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	return j, rem == 1
}

// matchBearer matches the token after the word "Bearer" at s[i:j]; the word
// itself stays.
func matchBearer(s string, i, j int) (start, end int, ok bool) {
	if !strings.EqualFold(s[i:j], "bearer") {
		return 0, 0, false
	}
	n := len(s)
	p := j
	for p < n && p-j < 3 && s[p] == ' ' {
		p++
	}
	if p == j {
		return 0, 0, false
	}
	q := p
	digit := false
	for q < n && q-p < 4096 && isTokenByte(s[q]) {
		digit = digit || isDigit(s[q])
		q++
	}
	// Trailing dots end sentences, not tokens; '=' padding stays.
	for q > p && s[q-1] == '.' {
		q--
	}
	l := q - p
	if !(l >= 12 && digit) && !(l >= 20 && mixedCase(s[p:q])) {
		return 0, 0, false
	}
	return p, q, true
}

// isTokenByte reports whether c may appear in an RFC 6750 bearer token.
func isTokenByte(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}

// Keyword families for the secret rule.
const (
	famNone = iota
	famKey  // *key, *token: values need to look random
	famPass // *password, *secret, ...: shorter values count
)

// hasSuffixFold reports whether s ends with suffix (lowercase letters),
// ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	if len(s) < len(suffix) {
		return false
	}
	s = s[len(s)-len(suffix):]
	for k := 0; k < len(suffix); k++ {
		if s[k]|0x20 != suffix[k] {
			return false
		}
	}
	return true
}

// notSecretKeys are names ending in "key" whose values are ids, not secrets.
var notSecretKeys = [...]string{"cache", "sort", "partition", "primary", "foreign",
	"idempotency", "routing", "object", "public", "dedup", "dedupe", "group", "lookup",
	"map", "hash", "row", "index", "join", "order", "prompt", "message", "i18n", "translation"}

// keywordFamily classifies a key name such as "OPENAI_API_KEY",
// "client_secret" or "x-api-key".
func keywordFamily(name string) int {
	if len(name) < 3 {
		return famNone
	}
	switch name[len(name)-1] | 0x20 {
	case 'd':
		if hasSuffixFold(name, "password") || hasSuffixFold(name, "passwd") || hasSuffixFold(name, "pwd") {
			return famPass
		}
	case 't':
		if hasSuffixFold(name, "secret") {
			return famPass
		}
	case 's':
		if hasSuffixFold(name, "credentials") {
			return famPass
		}
	case 'l':
		if hasSuffixFold(name, "credential") {
			return famPass
		}
	case 'e':
		if hasSuffixFold(name, "passphrase") {
			return famPass
		}
	case 'n':
		if hasSuffixFold(name, "token") {
			return famKey
		}
	case 'y':
		if !hasSuffixFold(name, "key") || len(name) == 3 {
			return famNone // a bare "key" is usually a map entry's name
		}
		stem := strings.TrimRight(name[:len(name)-3], "_-.")
		for _, w := range notSecretKeys {
			if hasSuffixFold(stem, w) {
				return famNone
			}
		}
		if len(stem) < len(name)-3 || hasSuffixFold(stem, "api") || (name[len(name)-3] == 'K' && class[stem[len(stem)-1]] == cLower) {
			return famKey // api_key, x-api-key, apikey, secretKey, AWS_SECRET_KEY
		}
	}
	return famNone
}

// matchAssigned matches a secret value assigned to the key name s[i:j]:
// api_key=..., "password": "...", X-Api-Key: ..., token => '...'.
func (r *Redactor) matchAssigned(s string, i, j int) (start, end int, ok bool) {
	n := len(s)
	p := j
	for k := 0; k < 3 && p < n && (s[p] == '"' || s[p] == '\'' || s[p] == '\\'); k++ {
		p++
	}
	for p < n && p-j < 8 && s[p] == ' ' {
		p++
	}
	if p >= n || (s[p] != ':' && s[p] != '=') {
		return 0, 0, false
	}
	fam := keywordFamily(s[i:j])
	if fam == famNone {
		return 0, 0, false
	}
	p++
	if p < n && (s[p] == '>' || s[p] == '=') {
		p++
	}
	for p < n && p-j < 16 && s[p] == ' ' {
		p++
	}
	for k := 0; k < 3 && p < n && (s[p] == '"' || s[p] == '\'' || s[p] == '\\'); k++ {
		p++
	}
	vs, ve := p, p
	for ve < n && ve-vs <= maxSecret && isValueByte(s[ve]) {
		ve++
	}
	for ve > vs && s[ve-1] == '.' {
		ve--
	}
	v := s[vs:ve]
	if v == "" || v[0] == '[' || isHash(v) || len(v) > maxSecret || !secretLike(v, fam) {
		return 0, 0, false
	}
	if _, _, ok := r.matchPrefix(s, vs); ok {
		return 0, 0, false // a provider key or JWT: the scanner names it precisely
	}
	return vs, ve, true
}

const maxSecret = 1024

func isValueByte(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '"', '\'', '\\', ',', ';', '&', '}', ']', ')', '<', '>', '`':
		return false
	}
	return true
}

// secretLike reports whether v looks like a credential rather than a word,
// number or id.
func secretLike(v string, fam int) bool {
	min := 16
	if fam == famPass {
		min = 8
	}
	if len(v) < min || isUUID(v) {
		return false
	}
	var lower, upper, digit, other bool
	var counts [128]uint16
	for k := 0; k < len(v); k++ {
		c := v[k]
		counts[c&0x7f]++
		switch class[c] {
		case cLower:
			lower = true
		case cUpper:
			upper = true
		case cDigit:
			digit = true
		default:
			other = true
		}
	}
	if !lower && !upper {
		return false // numbers, dates, prices
	}
	classes := 0
	for _, b := range [...]bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(v))
			h -= p * math.Log2(p)
		}
	}
	if fam == famPass {
		return (classes >= 2 && h >= 2.5) || h >= 3.3
	}
	return (digit || (lower && upper)) && classes >= 2 && h >= 3.0
}

// isUUID reports whether v is 8-4-4-4-12 hex digits.
func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for k := 0; k < 36; k++ {
		switch k {
		case 8, 13, 18, 23:
			if v[k] != '-' {
				return false
			}
		default:
			if !isHexDigit(v[k]) {
				return false
			}
		}
	}
	return true
}

const (
	pemBegin = "-----BEGIN "
	pemEnd   = "-----END "
)

// matchPEM matches a PEM block whose label names a private key
// ("-----BEGIN RSA PRIVATE KEY-----" ... "-----END RSA PRIVATE KEY-----"),
// including JSON-escaped newlines. The whole block becomes one marker.
func matchPEM(s string, i int) (int, bool) {
	rest := s[i+len(pemBegin):]
	k := strings.Index(rest, "-----")
	if k < 0 || k > 64 || !strings.HasSuffix(rest[:k], "PRIVATE KEY") {
		return 0, false
	}
	label := rest[:k]
	body := rest[k+5:]
	body = body[:min(len(body), 64<<10)] // keys are a few KB; bound the search
	e := strings.Index(body, pemEnd+label+"-----")
	if e < 0 {
		return 0, false
	}
	return i + len(pemBegin) + k + 5 + e + len(pemEnd) + len(label) + 5, true
}
