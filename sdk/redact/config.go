package redact

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Action says what happens to a matched value.
type Action string

// Actions. Custom rules accept mask and hash; key rules accept all four.
const (
	ActionMask Action = "mask" // replace with a "[REDACTED:<rule>]" marker
	ActionHash Action = "hash" // replace with "hmac:<hex>" (joinable)
	ActionDrop Action = "drop" // remove the attribute
	ActionKeep Action = "keep" // leave the value as it is, skip scanning
)

// Config selects the rules of a Redactor. The zero value is the default:
// every built-in rule except ip, no custom or key rules, and the values of
// DefaultHashKeys hashed.
type Config struct {
	// Disable lists built-in rules turned off.
	Disable []Rule
	// EnableIP turns the ip rule on (it is off by default: addresses are
	// usually operational data, not personal data, in server traces).
	EnableIP bool
	// Custom rules run, in order, after the built-in scanner.
	Custom []CustomRule
	// Keys are per-attribute-key rules applied by Attr before scanning. The
	// first rule whose Key matches wins; a keep rule also stops hashing.
	Keys []KeyRule
	// HashKeys lists attribute keys (exact or glob) whose values are
	// replaced by their keyed hash, in addition to DefaultHashKeys.
	HashKeys []string
}

// CustomRule is a user-defined regex rule, counted as "custom:<Name>".
type CustomRule struct {
	Name    string // [A-Za-z0-9_.-]+
	Pattern string // RE2 syntax (package regexp)
	Action  Action // mask (default when empty) or hash
}

// KeyRule applies an action to attributes whose key matches Key, an exact key
// or a glob where '*' matches any run of characters (including dots).
type KeyRule struct {
	Key    string
	Action Action // drop, hash, mask or keep
}

// DefaultHashKeys returns the attribute keys whose values are always keyed-hashed
// (unless a keep key rule says otherwise): the user and account ids of
// SEMCONV.md's source conventions, which must stay joinable across traces.
func DefaultHashKeys() []string {
	return []string{
		"user.id",
		"enduser.id",
		"account.id",
		"gen_ai.user",
		"llm.user",
		"langfuse.user.id",
		"traceloop.association.properties.user_id",
	}
}

// ConfigError reports a bad rule: the line of the rules file (0 for a Config
// built in code) and the reason.
type ConfigError struct {
	Line int
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ParseConfig reads a rules file (format in the package documentation). On
// error it returns every bad line as a *ConfigError, joined with errors.Join,
// and the caller should keep the rules it already has.
func ParseConfig(r io.Reader) (Config, error) {
	var cfg Config
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &ConfigError{Line: line, Err: fmt.Errorf(format, args...)})
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		directive, rest, _ := strings.Cut(text, " ")
		rest = strings.TrimSpace(rest)
		switch directive {
		case "disable", "enable":
			args := strings.Fields(stripComment(rest))
			if len(args) != 1 {
				bad(line, "%s wants one rule, got %d arguments", directive, len(args))
				continue
			}
			ru := Rule(args[0])
			if _, ok := builtinIndex(ru); !ok {
				bad(line, "unknown rule %q (want one of %s)", ru, ruleList())
				continue
			}
			if directive == "disable" {
				if ru == RuleIP {
					cfg.EnableIP = false
				}
				cfg.Disable = append(cfg.Disable, ru)
				continue
			}
			if ru == RuleIP {
				cfg.EnableIP = true
			}
			cfg.Disable = removeRule(cfg.Disable, ru)
		case "custom":
			// The regex is the rest of the line: no comment stripping.
			f := strings.SplitN(rest, " ", 3)
			if len(f) < 3 || strings.TrimSpace(f[2]) == "" {
				bad(line, "custom wants: custom <name> <mask|hash> <regex>")
				continue
			}
			cr := CustomRule{Name: f[0], Action: Action(f[1]), Pattern: strings.TrimSpace(f[2])}
			if err := cr.validate(); err != nil {
				errs = append(errs, &ConfigError{Line: line, Err: err})
				continue
			}
			cfg.Custom = append(cfg.Custom, cr)
		case "key":
			args := strings.Fields(stripComment(rest))
			if len(args) != 2 {
				bad(line, "key wants: key <key-or-glob> <drop|hash|mask|keep>")
				continue
			}
			kr := KeyRule{Key: args[0], Action: Action(args[1])}
			if err := kr.validate(); err != nil {
				errs = append(errs, &ConfigError{Line: line, Err: err})
				continue
			}
			cfg.Keys = append(cfg.Keys, kr)
		case "hash":
			args := strings.Fields(stripComment(rest))
			if len(args) != 1 {
				bad(line, "hash wants one attribute key, got %d arguments", len(args))
				continue
			}
			cfg.HashKeys = append(cfg.HashKeys, args[0])
		default:
			bad(line, "unknown directive %q (want disable, enable, custom, key or hash)", directive)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &ConfigError{Line: line + 1, Err: fmt.Errorf("read rules: %w", err)})
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// validate checks cfg without compiling it; New reports the same errors.
func (cfg Config) validate() error {
	var errs []error
	for _, ru := range cfg.Disable {
		if _, ok := builtinIndex(ru); !ok {
			errs = append(errs, &ConfigError{Err: fmt.Errorf("disable: unknown rule %q (want one of %s)", ru, ruleList())})
		}
	}
	names := make(map[string]bool)
	for _, cr := range cfg.Custom {
		if err := cr.validate(); err != nil {
			errs = append(errs, &ConfigError{Err: err})
		}
		if names[cr.Name] {
			errs = append(errs, &ConfigError{Err: fmt.Errorf("custom rule %q defined twice", cr.Name)})
		}
		names[cr.Name] = true
	}
	for _, kr := range cfg.Keys {
		if err := kr.validate(); err != nil {
			errs = append(errs, &ConfigError{Err: err})
		}
	}
	for _, k := range cfg.HashKeys {
		if k == "" {
			errs = append(errs, &ConfigError{Err: errors.New("hash: empty key")})
		}
	}
	return errors.Join(errs...)
}

func (cr CustomRule) validate() error {
	if !validName(cr.Name) {
		return fmt.Errorf("custom rule %q: name must be letters, digits, '_', '-' or '.'", cr.Name)
	}
	switch cr.Action {
	case "", ActionMask, ActionHash:
	default:
		return fmt.Errorf("custom rule %q: unknown action %q (want mask or hash)", cr.Name, cr.Action)
	}
	re, err := regexp.Compile(cr.Pattern)
	if err != nil {
		return fmt.Errorf("custom rule %q: bad regex: %w", cr.Name, err)
	}
	if re.MatchString("") {
		return fmt.Errorf("custom rule %q: regex %q matches the empty string", cr.Name, cr.Pattern)
	}
	return nil
}

func (kr KeyRule) validate() error {
	if kr.Key == "" {
		return errors.New("key rule: empty key")
	}
	switch kr.Action {
	case ActionDrop, ActionHash, ActionMask, ActionKeep:
		return nil
	}
	return fmt.Errorf("key rule %q: unknown action %q (want drop, hash, mask or keep)", kr.Key, kr.Action)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

func removeRule(rs []Rule, r Rule) []Rule {
	out := rs[:0]
	for _, x := range rs {
		if x != r {
			out = append(out, x)
		}
	}
	return out
}

func ruleList() string {
	var b strings.Builder
	for i, r := range fixedRules[:rIP+1] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(r))
	}
	return b.String()
}
