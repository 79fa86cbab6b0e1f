package redact

import (
	"sort"
	"strconv"
	"strings"
)

// Rule identifies a redaction rule in Config and in Counts.
//
// Built-in rules are the Rule* constants. Custom rules are "custom:<name>",
// per-key rules count as "key:<key-or-glob>", and values hashed because of
// Config.HashKeys count as "hash".
type Rule string

// Built-in rules.
const (
	RuleEmail  Rule = "email"
	RulePhone  Rule = "phone"
	RuleCard   Rule = "card"
	RuleSSN    Rule = "ssn"
	RuleIBAN   Rule = "iban"
	RuleAPIKey Rule = "api_key"
	RuleJWT    Rule = "jwt"
	RuleBearer Rule = "bearer"
	RuleSecret Rule = "secret"
	RuleIP     Rule = "ip"
	// RuleHash counts values hashed because their key is in HashKeys.
	RuleHash Rule = "hash"
)

// rule is the index of a built-in rule in Counts.fixed.
type rule uint8

const (
	rEmail rule = iota
	rPhone
	rCard
	rSSN
	rIBAN
	rAPIKey
	rJWT
	rBearer
	rSecret
	rIP
	rHash
	nFixed
)

// fixedRules maps a rule index to its id. It is a constant table.
var fixedRules = [nFixed]Rule{RuleEmail, RulePhone, RuleCard, RuleSSN, RuleIBAN,
	RuleAPIKey, RuleJWT, RuleBearer, RuleSecret, RuleIP, RuleHash}

// Rules lists the built-in scanner rules (those Config.Disable accepts).
func Rules() []Rule { return append([]Rule(nil), fixedRules[:rIP+1]...) }

func builtinIndex(r Rule) (rule, bool) {
	for i, f := range fixedRules[:rIP+1] {
		if f == r {
			return rule(i), true
		}
	}
	return 0, false
}

// Counts records how many values each rule redacted, never the values.
// The zero value is empty and ready to use. A Counts is not safe for
// concurrent use; give each span its own and Add them up.
type Counts struct {
	fixed [nFixed]int
	other map[Rule]int // custom and key rules; nil until needed
}

func (c *Counts) inc(r rule) {
	if c != nil {
		c.fixed[r]++
	}
}

func (c *Counts) incOther(r Rule) {
	if c == nil {
		return
	}
	if c.other == nil {
		c.other = make(map[Rule]int)
	}
	c.other[r]++
}

// Add adds o's counts to c.
func (c *Counts) Add(o Counts) {
	for i, n := range o.fixed {
		c.fixed[i] += n
	}
	for r, n := range o.other {
		if c.other == nil {
			c.other = make(map[Rule]int, len(o.other))
		}
		c.other[r] += n
	}
}

// Count returns how many values rule r redacted.
func (c Counts) Count(r Rule) int {
	if i, ok := builtinIndex(r); ok {
		return c.fixed[i]
	}
	if r == RuleHash {
		return c.fixed[rHash]
	}
	return c.other[r]
}

// Total returns the number of redacted values over all rules.
func (c Counts) Total() int {
	n := 0
	for _, v := range c.fixed {
		n += v
	}
	for _, v := range c.other {
		n += v
	}
	return n
}

// Map returns the non-zero counts keyed by rule id.
func (c Counts) Map() map[string]int {
	m := make(map[string]int)
	for i, v := range c.fixed {
		if v > 0 {
			m[string(fixedRules[i])] = v
		}
	}
	for r, v := range c.other {
		if v > 0 {
			m[string(r)] = v
		}
	}
	return m
}

// String formats the non-zero counts as "rule:n" pairs separated by commas,
// built-in rules first in a fixed order, then the others sorted, e.g.
// "email:2,card:1,custom:order_ref:3". It is "" when nothing was redacted.
func (c Counts) String() string {
	var b strings.Builder
	add := func(r Rule, n int) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(r))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(n))
	}
	for i, v := range c.fixed {
		if v > 0 {
			add(fixedRules[i], v)
		}
	}
	keys := make([]Rule, 0, len(c.other))
	for r, v := range c.other {
		if v > 0 {
			keys = append(keys, r)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, r := range keys {
		add(r, c.other[r])
	}
	return b.String()
}
