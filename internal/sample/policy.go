package sample

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loupehq/loupe"
)

// Conditions a Rule can test (Rule.When).
const (
	// WhenError matches a trace with a failed span (error status, a tool
	// error code, a parser failure) or a failed evaluation.
	WhenError = "error"
	// WhenCanary matches a trace whose release label is one of Rule.Labels
	// (default "canary").
	WhenCanary = "canary"
	// WhenNewPromptVersion matches the first Rule.First traces of every
	// prompt version this server had not seen before.
	WhenNewPromptVersion = "new_prompt_version"
	// WhenSlow matches a trace that lasted longer than Rule.Threshold.
	WhenSlow = "slow"
	// WhenCost matches a trace that cost more than Rule.USD.
	WhenCost = "cost"
	// WhenBoost matches a trace an active boost covers; the boost's rate
	// replaces the rule's.
	WhenBoost = "boost"
	// WhenAlways matches every trace (normal traffic).
	WhenAlways = "always"
)

// Rule is one line of a Policy: a condition and what to keep of the traces
// that meet it. The first rule whose condition holds decides, with the
// trace's hash u (uniform in [0, 1), see Hash): u < Rate keeps the trace in
// full, u < Rate+Metadata keeps its metadata only, anything else drops it.
type Rule struct {
	// Name identifies the rule in decisions and explanations.
	Name string `yaml:"name" json:"name"`
	// When is the condition: one of the When* constants.
	When string `yaml:"when" json:"when"`
	// Rate is the share kept in full, in [0, 1]; nil in a file means 1.
	Rate *float64 `yaml:"rate,omitempty" json:"rate"`
	// Metadata is the further share kept as metadata only; Rate+Metadata
	// is at most 1.
	Metadata float64 `yaml:"metadata,omitempty" json:"metadata,omitempty"`
	// Labels are the release labels of WhenCanary; empty means "canary".
	Labels []string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// First is the number of traces of a new prompt version WhenNewPromptVersion keeps; 0 means 100.
	First int `yaml:"first,omitempty" json:"first,omitempty"`
	// Threshold is WhenSlow's latency threshold, e.g. "10s".
	Threshold Duration `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// USD is WhenCost's threshold in US dollars per trace.
	USD float64 `yaml:"usd,omitempty" json:"usd,omitempty"`

	line int // in the policy file; 0 for built-in rules
}

// Duration is a time.Duration written as text ("10s", "1m30s") in YAML and
// JSON.
type Duration time.Duration

// UnmarshalText parses a Go duration such as "1.5s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number and a unit, as 500ms, 10s or 2m", b)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML parses a duration node, naming its line on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// MarshalText formats d as a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// rate returns the full share with its default.
func (r *Rule) rate() float64 {
	if r.Rate == nil {
		return 1
	}
	return *r.Rate
}

// Weight returns how many traces each trace kept by the rule at full rate
// rate stands for in statistics over kept traces (full and metadata-only
// alike): 1/(rate+metadata).
func weight(rate, metadata float64) float64 {
	if rate+metadata <= 0 {
		return 0
	}
	return 1 / (rate + metadata)
}

// Policy is an ordered list of rules; the first whose condition holds
// decides. A trace no rule matches is dropped.
type Policy struct {
	// Name says where the policy came from: "production" or a file name.
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Production returns the built-in policy of `--sampling production`: every
// error trace, every canary trace and the first 100 traces of each new
// prompt version in full; boosts; 10% of the rest in full and a further
// 10% as metadata only.
func Production() *Policy {
	one := 1.0
	normal := 0.10
	return &Policy{Name: "production", Rules: []Rule{
		{Name: "errors", When: WhenError, Rate: &one},
		{Name: "canary", When: WhenCanary, Rate: &one, Labels: []string{"canary"}},
		{Name: "new_prompt_version", When: WhenNewPromptVersion, Rate: &one, First: 100},
		{Name: "boosts", When: WhenBoost},
		{Name: "normal", When: WhenAlways, Rate: &normal, Metadata: 0.10},
	}}
}

// policyFile is the YAML document of a policy file.
type policyFile struct {
	// Version is the file format version; only 1 exists.
	Version int    `yaml:"version"`
	Rules   []Rule `yaml:"rules"`
}

// PolicyError reports an invalid policy file: the line and the reason.
type PolicyError struct {
	File   string
	Line   int // 0 when the error has no line
	Reason string
}

func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("policy %s line %d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("policy %s: %s", e.File, e.Reason)
}

// Unwrap makes a PolicyError an loupe.ErrInvalid.
func (e *PolicyError) Unwrap() error { return loupe.ErrInvalid }

// maxPolicyBytes bounds a policy file.
const maxPolicyBytes = 1 << 20

// ParsePolicy reads a YAML policy named name from r. It refuses unknown
// fields, unknown conditions and impossible rates with a *PolicyError
// naming the line and the reason.
func ParsePolicy(name string, r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", name, err)
	}
	if len(data) > maxPolicyBytes {
		return nil, &PolicyError{File: name, Reason: fmt.Sprintf("larger than %d bytes", maxPolicyBytes)}
	}
	var f policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &PolicyError{File: name, Reason: "empty file; want version: 1 and rules:"}
		}
		return nil, yamlError(name, err)
	}
	// A second pass over the node tree finds each rule's line for the
	// checks below (the struct decode has no positions).
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil {
		if lines := ruleLines(&doc); len(lines) == len(f.Rules) {
			for i := range f.Rules {
				f.Rules[i].line = lines[i]
			}
		}
	}
	if f.Version != 1 {
		return nil, &PolicyError{File: name, Line: 1, Reason: fmt.Sprintf("version %d: want version: 1", f.Version)}
	}
	p := &Policy{Name: name, Rules: f.Rules}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// yamlError turns a YAML decode error into a *PolicyError, keeping the
// line the parser names ("yaml: line 3: ...").
func yamlError(name string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if _, err := fmt.Sscanf(n, "%d", &line); err == nil {
				msg = strings.TrimSpace(after)
			}
		}
	}
	return &PolicyError{File: name, Line: line, Reason: msg}
}

// ruleLines returns the line of every item of the top-level "rules" list.
func ruleLines(doc *yaml.Node) []int {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "rules" {
			var lines []int
			for _, it := range m.Content[i+1].Content {
				lines = append(lines, it.Line)
			}
			return lines
		}
	}
	return nil
}

// validate checks every rule; the error names the rule's line.
func (p *Policy) validate() error {
	if len(p.Rules) == 0 {
		return &PolicyError{File: p.Name, Reason: "no rules: every trace would be dropped; add at least one rule"}
	}
	names := make(map[string]bool)
	for i := range p.Rules {
		r := &p.Rules[i]
		bad := func(format string, args ...any) error {
			return &PolicyError{File: p.Name, Line: r.line, Reason: fmt.Sprintf("rule %d (%s): ", i+1, r.Name) + fmt.Sprintf(format, args...)}
		}
		switch {
		case r.Name == "":
			return bad("name is empty")
		case names[r.Name]:
			return bad("name %q used twice", r.Name)
		case r.rate() < 0 || r.rate() > 1 || math.IsNaN(r.rate()):
			return bad("rate %v: want a share between 0 and 1", r.rate())
		case r.Metadata < 0 || r.rate()+r.Metadata > 1+1e-9 || math.IsNaN(r.Metadata):
			return bad("metadata %v: want a share between 0 and 1-rate", r.Metadata)
		}
		names[r.Name] = true
		switch r.When {
		case WhenError, WhenBoost, WhenAlways:
		case WhenCanary:
			if len(r.Labels) == 0 {
				r.Labels = []string{"canary"}
			}
		case WhenNewPromptVersion:
			if r.First < 0 {
				return bad("first %d: must not be negative", r.First)
			}
			if r.First == 0 {
				r.First = 100
			}
		case WhenSlow:
			if r.Threshold <= 0 {
				return bad("when: slow needs threshold: a positive duration, as 10s")
			}
		case WhenCost:
			if r.USD <= 0 {
				return bad("when: cost needs usd: a positive amount, as 0.50")
			}
		case "":
			return bad("when is empty; want error, canary, new_prompt_version, slow, cost, boost or always")
		default:
			return bad("unknown when %q; want error, canary, new_prompt_version, slow, cost, boost or always", r.When)
		}
	}
	return nil
}

// Hash returns the trace's sampling hash: a number uniform in [0, 1) that
// depends only on the trace id, so every node agrees on it.
func Hash(id loupe.TraceID) float64 {
	x := binary.BigEndian.Uint64(id[:8]) ^ bits(binary.BigEndian.Uint64(id[8:]))
	x = bits(x)
	return float64(x>>11) / (1 << 53)
}

// bits is the splitmix64 finalizer: it spreads sequential or structured ids
// over the whole range.
func bits(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Verdict is a policy's decision on one trace.
type Verdict struct {
	Sample loupe.Sample
	// Reason says in a sentence why the rule decided as it did.
	Reason string
}

// env is the state a decision reads besides the trace itself.
type env struct {
	// admit reports whether one more trace of a prompt version may be
	// kept under a first-N rule, and counts it if so.
	admit func(project, version string, first int) bool
	// boost returns the highest rate of the active boosts covering the
	// trace and the boost's id; ok is false when none does.
	boost func(sum *Summary) (rate float64, id string, ok bool)
}

// decide runs the rules over sum.
func (p *Policy) decide(sum *Summary, e env) Verdict {
	u := Hash(sum.TraceID)
	for i := range p.Rules {
		r := &p.Rules[i]
		rate, meta := r.rate(), r.Metadata
		var why string
		switch r.When {
		case WhenError:
			if !sum.Failed {
				continue
			}
			why = "a span failed"
		case WhenCanary:
			l, ok := firstIn(sum.ReleaseLabels, r.Labels)
			if !ok {
				continue
			}
			why = fmt.Sprintf("release label %q", l)
		case WhenNewPromptVersion:
			found := ""
			for _, v := range sum.PromptVersions {
				if e.admit != nil && e.admit(sum.Project, v, r.First) {
					found = v
					break
				}
			}
			if found == "" {
				continue
			}
			why = fmt.Sprintf("among the first %d traces of prompt version %q", r.First, found)
		case WhenSlow:
			if sum.Duration <= time.Duration(r.Threshold) {
				continue
			}
			why = fmt.Sprintf("lasted %s > %s", sum.Duration, time.Duration(r.Threshold))
		case WhenCost:
			if sum.CostUSD <= r.USD {
				continue
			}
			why = fmt.Sprintf("cost $%.4f > $%.4f", sum.CostUSD, r.USD)
		case WhenBoost:
			if e.boost == nil {
				continue
			}
			br, id, ok := e.boost(sum)
			if !ok {
				continue
			}
			rate = br
			if rate+meta > 1 {
				meta = 1 - rate
			}
			why = fmt.Sprintf("boost %s at rate %g", id, br)
		case WhenAlways:
			why = "normal traffic"
		default:
			continue
		}
		return verdict(r.Name, why, u, rate, meta)
	}
	return Verdict{Sample: loupe.Sample{Class: loupe.SampleDropped}, Reason: "no rule matched"}
}

// verdict applies a rule's shares to the hash u.
func verdict(rule, why string, u, rate, meta float64) Verdict {
	w := weight(rate, meta)
	switch {
	case u < rate:
		return Verdict{Sample: loupe.Sample{Class: loupe.SampleFull, Weight: w, Rule: rule},
			Reason: fmt.Sprintf("%s; hash %.4f < rate %g: kept in full", why, u, rate)}
	case u < rate+meta:
		return Verdict{Sample: loupe.Sample{Class: loupe.SampleMetadata, Weight: w, Rule: rule},
			Reason: fmt.Sprintf("%s; hash %.4f < rate %g + metadata %g: kept as metadata only", why, u, rate, meta)}
	}
	return Verdict{Sample: loupe.Sample{Class: loupe.SampleDropped, Rule: rule},
		Reason: fmt.Sprintf("%s; hash %.4f >= rate %g + metadata %g: dropped", why, u, rate, meta)}
}

// Rule returns the rule named name, or nil.
func (p *Policy) Rule(name string) *Rule {
	for i := range p.Rules {
		if p.Rules[i].Name == name {
			return &p.Rules[i]
		}
	}
	return nil
}

func firstIn(have, want []string) (string, bool) {
	for _, h := range have {
		if slices.Contains(want, h) {
			return h, true
		}
	}
	return "", false
}
