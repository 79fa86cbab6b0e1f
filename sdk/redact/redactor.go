package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"sync"
)

// ErrNoSecret is returned by New when a rule hashes values but the secret is
// empty.
var ErrNoSecret = errors.New("redact: hashing needs a non-empty secret")

// hashPrefix starts every hashed value; hashHex is the number of hex digits
// that follow (64 bits of HMAC-SHA256: collisions are negligible for joins).
const (
	hashPrefix = "hmac:"
	hashHex    = 16
)

// Redactor applies a compiled Config. It is immutable after New and safe for
// concurrent use.
type Redactor struct {
	on    [nFixed]bool // built-in rules switched on
	marks [nFixed]string

	custom []customRule

	keyExact map[string]int // key -> index into keys of the first exact rule
	keyGlobs []int          // indexes into keys of glob rules, in order
	keys     []keyRule

	hashExact map[string]bool
	hashGlobs []string

	hashers sync.Pool // of *hasher
}

// hasher is an HMAC-SHA256 keyed with the secret and its scratch buffers.
type hasher struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

type customRule struct {
	re     *regexp.Regexp
	rule   Rule // "custom:<name>"
	mark   string
	action Action
}

type keyRule struct {
	key    string
	glob   bool
	action Action
	rule   Rule // "key:<key>"
}

// New compiles cfg. secret keys the HMAC used by Hash and by hash actions; it
// must not be empty because DefaultHashKeys always hash (ErrNoSecret). An
// invalid cfg returns the reasons as *ConfigError values joined with
// errors.Join.
func New(cfg Config, secret []byte) (*Redactor, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	r := &Redactor{
		keyExact:  make(map[string]int),
		hashExact: make(map[string]bool),
	}
	key := append([]byte(nil), secret...)
	r.hashers.New = func() any {
		return &hasher{mac: hmac.New(sha256.New, key), sum: make([]byte, 0, sha256.Size)}
	}

	for i := range rIP + 1 {
		r.on[i] = true
		r.marks[i] = "[REDACTED:" + string(fixedRules[i]) + "]"
	}
	r.on[rIP] = cfg.EnableIP
	for _, ru := range cfg.Disable {
		i, _ := builtinIndex(ru)
		r.on[i] = false
	}
	for _, cr := range cfg.Custom {
		action := cr.Action
		if action == "" {
			action = ActionMask
		}
		id := Rule("custom:" + cr.Name)
		r.custom = append(r.custom, customRule{
			re:     regexp.MustCompile(cr.Pattern), // validated above
			rule:   id,
			mark:   "[REDACTED:" + string(id) + "]",
			action: action,
		})
	}
	for _, kr := range cfg.Keys {
		k := keyRule{key: kr.Key, glob: strings.Contains(kr.Key, "*"), action: kr.Action, rule: Rule("key:" + kr.Key)}
		r.keys = append(r.keys, k)
		i := len(r.keys) - 1
		if k.glob {
			r.keyGlobs = append(r.keyGlobs, i)
		} else if _, dup := r.keyExact[k.key]; !dup {
			r.keyExact[k.key] = i
		}
	}
	for _, k := range append(DefaultHashKeys(), cfg.HashKeys...) {
		if strings.Contains(k, "*") {
			r.hashGlobs = append(r.hashGlobs, k)
		} else {
			r.hashExact[k] = true
		}
	}
	return r, nil
}

// Default returns a Redactor with the default rules (Config{}). If secret is
// empty it draws a random key, so hashes are stable only for this Redactor's
// lifetime and never join across processes; pass the server's secret to
// keep hashed ids joinable.
func Default(secret []byte) *Redactor {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret) // never fails (crypto/rand)
	}
	r, err := New(Config{}, secret)
	if err != nil {
		panic(err) // the zero Config is valid and secret is not empty
	}
	return r
}

// Hash returns the keyed hash of id, "hmac:" followed by 16 lowercase hex
// digits: stable for the same secret (so hashed ids join across traces and
// with the SDK), different across secrets, and not reversible without the
// secret. A value that is already a hash is returned unchanged.
func (r *Redactor) Hash(id string) string {
	if isHash(id) {
		return id
	}
	h := r.hashers.Get().(*hasher)
	h.mac.Reset()
	h.buf = append(h.buf[:0], id...)
	h.mac.Write(h.buf)
	h.sum = h.mac.Sum(h.sum[:0])
	var out [len(hashPrefix) + hashHex]byte
	copy(out[:], hashPrefix)
	hex.Encode(out[len(hashPrefix):], h.sum[:hashHex/2])
	if cap(h.buf) <= 1<<10 {
		r.hashers.Put(h)
	}
	return string(out[:])
}

// isHash reports whether s has the form Hash returns.
func isHash(s string) bool {
	if len(s) != len(hashPrefix)+hashHex || !strings.HasPrefix(s, hashPrefix) {
		return false
	}
	for i := len(hashPrefix); i < len(s); i++ {
		if c := s[i]; !isDigit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Attr redacts one string attribute. Key rules apply first (the first
// matching rule wins): drop returns drop=true, mask returns "[REDACTED:key]",
// hash returns Hash(value), keep returns value unscanned. Otherwise keys in
// HashKeys are hashed, and every other value goes through Text. Empty values
// are returned as they are.
func (r *Redactor) Attr(key, value string, c *Counts) (out string, drop bool) {
	if k := r.keyRule(key); k != nil {
		switch k.action {
		case ActionDrop:
			c.incOther(k.rule)
			return "", true
		case ActionKeep:
			return value, false
		case ActionMask:
			if value == "" || value == keyMark {
				return value, false
			}
			c.incOther(k.rule)
			return keyMark, false
		case ActionHash:
			if value == "" || isHash(value) {
				return value, false
			}
			c.incOther(k.rule)
			return r.Hash(value), false
		}
	}
	if r.hashKey(key) {
		if value == "" || isHash(value) {
			return value, false
		}
		c.inc(rHash)
		return r.Hash(value), false
	}
	return r.Text(value, c), false
}

// KeyRuled reports whether Attr does more than scan the value of key: a key
// rule (drop, hash, mask or keep) or a hash key applies to it. Callers use it
// to decide whether a non-string attribute value (an int user id, say) must
// be passed through Attr as text.
func (r *Redactor) KeyRuled(key string) bool { return r.keyRule(key) != nil || r.hashKey(key) }

// keyMark replaces values masked by a key rule.
const keyMark = "[REDACTED:key]"

func (r *Redactor) keyRule(key string) *keyRule {
	best := -1
	if i, ok := r.keyExact[key]; ok {
		best = i
	}
	for _, i := range r.keyGlobs {
		if best >= 0 && i > best {
			break
		}
		if globMatch(r.keys[i].key, key) {
			best = i
			break
		}
	}
	if best < 0 {
		return nil
	}
	return &r.keys[best]
}

func (r *Redactor) hashKey(key string) bool {
	if r.hashExact[key] {
		return true
	}
	for _, g := range r.hashGlobs {
		if globMatch(g, key) {
			return true
		}
	}
	return false
}

// globMatch reports whether s matches pattern, where '*' matches any run of
// bytes (including none) and every other byte matches itself.
func globMatch(pattern, s string) bool {
	// Iterative matcher with single-star backtracking: linear in practice.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Text redacts free text (message content, tool arguments, snippets, error
// messages) with the built-in scanner and then the custom rules. It returns
// s itself, without allocating, when nothing matched. c may be nil.
func (r *Redactor) Text(s string, c *Counts) string {
	s = r.scan(s, c)
	if len(r.custom) == 0 {
		return s
	}
	out := r.applyCustom(s, c)
	if out != s {
		// A custom marker can give a neighbouring number or key the boundary
		// it lacked ("+10000000ORD-..."): scan once more so that redacting
		// the result again changes nothing.
		out = r.scan(out, c)
	}
	return out
}

// applyCustom runs the custom regexes in order. Matches overlapping a marker
// or a hash (from the scanner or an earlier rule) are skipped, which keeps
// redaction idempotent.
func (r *Redactor) applyCustom(s string, c *Counts) string {
	for i := range r.custom {
		cr := &r.custom[i]
		if !cr.re.MatchString(s) {
			continue
		}
		locs := cr.re.FindAllStringIndex(s, -1)
		protected := markerSpans(s)
		var b strings.Builder
		last := 0
		for _, loc := range locs {
			if loc[0] == loc[1] || overlaps(protected, loc[0], loc[1]) {
				continue
			}
			b.WriteString(s[last:loc[0]])
			if cr.action == ActionHash {
				b.WriteString(r.Hash(s[loc[0]:loc[1]]))
			} else {
				b.WriteString(cr.mark)
			}
			c.incOther(cr.rule)
			last = loc[1]
		}
		if last == 0 && b.Len() == 0 {
			continue
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// markerSpans returns the [start, end) spans of markers "[REDACTED:...]" and
// hashes "hmac:<hex>" in s.
func markerSpans(s string) [][2]int {
	var spans [][2]int
	for off := 0; ; {
		i := strings.Index(s[off:], "[REDACTED:")
		if i < 0 {
			break
		}
		i += off
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		spans = append(spans, [2]int{i, i + j + 1})
		off = i + j + 1
	}
	for off := 0; ; {
		i := strings.Index(s[off:], hashPrefix)
		if i < 0 {
			break
		}
		i += off
		if end := i + len(hashPrefix) + hashHex; end <= len(s) && isHash(s[i:end]) {
			spans = append(spans, [2]int{i, end})
		}
		off = i + len(hashPrefix)
	}
	return spans
}

func overlaps(spans [][2]int, a, b int) bool {
	for _, sp := range spans {
		if a < sp[1] && sp[0] < b {
			return true
		}
	}
	return false
}
