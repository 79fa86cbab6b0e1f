package pricing

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// clauseOp is the kind of a match clause of the genai-prices schema
// (data.schema.json, MatchLogic).
type clauseOp uint8

const (
	opEquals clauseOp = iota
	opStartsWith
	opEndsWith
	opContains
	opRegex
	opOr
	opAnd
)

// clause is one compiled match rule. String operands are stored lowercased:
// upstream compares equals, starts_with, ends_with and contains
// case-insensitively, while a regex is searched (unanchored) in the
// lowercased text as written, exactly like Python's re.search.
type clause struct {
	op   clauseOp
	s    string
	re   *regexp.Regexp
	subs []clause
}

// match reports whether the lowercased text s satisfies the clause.
func (c *clause) match(s string) bool {
	switch c.op {
	case opEquals:
		return s == c.s
	case opStartsWith:
		return strings.HasPrefix(s, c.s)
	case opEndsWith:
		return strings.HasSuffix(s, c.s)
	case opContains:
		return strings.Contains(s, c.s)
	case opRegex:
		return c.re.MatchString(s)
	case opOr:
		for i := range c.subs {
			if c.subs[i].match(s) {
				return true
			}
		}
		return false
	case opAnd:
		for i := range c.subs {
			if !c.subs[i].match(s) {
				return false
			}
		}
		return true
	}
	return false
}

// parseClause compiles a MatchLogic object: exactly one of starts_with,
// ends_with, contains, equals, regex (strings), or, and (lists of clauses).
func parseClause(raw json.RawMessage) (clause, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return clause{}, fmt.Errorf("match clause: %w", err)
	}
	if len(m) != 1 {
		return clause{}, fmt.Errorf("match clause has %d keys, want exactly one", len(m))
	}
	for k, v := range m {
		var c clause
		switch k {
		case "equals":
			c.op = opEquals
		case "starts_with":
			c.op = opStartsWith
		case "ends_with":
			c.op = opEndsWith
		case "contains":
			c.op = opContains
		case "regex":
			c.op = opRegex
		case "or":
			c.op = opOr
		case "and":
			c.op = opAnd
		default:
			return clause{}, fmt.Errorf("unknown match clause %q", k)
		}
		if c.op == opOr || c.op == opAnd {
			var subs []json.RawMessage
			if err := json.Unmarshal(v, &subs); err != nil {
				return clause{}, fmt.Errorf("%s clause: %w", k, err)
			}
			if len(subs) == 0 {
				return clause{}, fmt.Errorf("%s clause is empty", k)
			}
			for _, s := range subs {
				sc, err := parseClause(s)
				if err != nil {
					return clause{}, err
				}
				c.subs = append(c.subs, sc)
			}
			return c, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return clause{}, fmt.Errorf("%s clause: %w", k, err)
		}
		if c.op == opRegex {
			re, err := regexp.Compile(s)
			if err != nil {
				return clause{}, fmt.Errorf("regex clause: %w", err)
			}
			c.re = re
			return c, nil
		}
		c.s = strings.ToLower(s)
		return c, nil
	}
	panic("unreachable")
}

// glob reports whether s matches pattern, where '*' matches any run of
// characters (including none) and every other byte matches itself.
func glob(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	prefix := pattern[:star]
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	s = s[len(prefix):]
	rest := pattern[star+1:]
	for {
		next := strings.IndexByte(rest, '*')
		if next < 0 {
			return strings.HasSuffix(s, rest)
		}
		seg := rest[:next]
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
		rest = rest[next+1:]
	}
}
