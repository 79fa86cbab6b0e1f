package redact

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	sdkredact "github.com/loupehq/loupe/sdk/redact"
)

// maxRulesBytes caps a rules file (and a PUT body): rules are a few
// kilobytes; anything near this is a mistake.
const maxRulesBytes = 1 << 20

// Rules is a parsed server rules file: the base rules every project gets,
// and per-project sections that add to them. It is immutable.
//
// The file format is the SDK's (package github.com/loupehq/loupe/sdk/redact,
// "Rules file") plus section headers:
//
//	# base rules: every project
//	disable phone
//	[project acme]
//	# acme: the base rules, then these
//	enable ip
//	custom order_ref mask ORD-[0-9]{4}-[0-9]{6}
//
// A project's effective rules are the base lines followed by its section's
// lines, read in order (so "enable phone" in a section undoes a base
// "disable phone"). Projects without a section get the base rules.
type Rules struct {
	base     []string            // the base section's lines
	sections map[string][]string // project -> its section's lines (header excluded)
	order    []string            // section names in file order

	baseCfg  sdkredact.Config
	projCfgs map[string]sdkredact.Config
}

// RulesError reports every bad line of a rules file (line numbers are the
// file's, 1-based). It wraps the SDK's *ConfigError values.
type RulesError struct {
	Errs []error
}

func (e *RulesError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "bad redaction rules: " + strings.Join(msgs, "; ")
}

// Unwrap returns the individual errors.
func (e *RulesError) Unwrap() []error { return e.Errs }

// Lines returns the line numbers of the errors, in order (0 for an error
// not tied to a line).
func (e *RulesError) Lines() []int {
	var out []int
	for _, err := range e.Errs {
		var ce *sdkredact.ConfigError
		if errors.As(err, &ce) {
			out = append(out, ce.Line)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// DefaultRules returns the rules of an empty file: the SDK's defaults (every
// built-in rule but ip, user and account ids hashed) for every project.
func DefaultRules() *Rules {
	return &Rules{sections: map[string][]string{}, projCfgs: map[string]sdkredact.Config{}}
}

// ParseRules parses a rules file. On error it returns a *RulesError naming
// every bad line and its reason; the caller keeps the rules in force.
func ParseRules(src []byte) (*Rules, error) {
	if len(src) > maxRulesBytes {
		return nil, &RulesError{Errs: []error{&sdkredact.ConfigError{Err: fmt.Errorf("rules file is %d bytes, over the %d limit", len(src), maxRulesBytes)}}}
	}
	lines := splitLines(src)
	r := DefaultRules()
	var errs []error
	// owner[i] is the section of line i: "" for base, a project name, or
	// "\x00" for a header line.
	owner := make([]string, len(lines))
	cur := ""
	for i, raw := range lines {
		text := strings.TrimSpace(raw)
		if !strings.HasPrefix(text, "[") {
			owner[i] = cur
			if cur == "" {
				r.base = append(r.base, raw)
			} else {
				r.sections[cur] = append(r.sections[cur], raw)
			}
			continue
		}
		owner[i] = "\x00"
		name, err := parseHeader(text)
		if err != nil {
			errs = append(errs, &sdkredact.ConfigError{Line: i + 1, Err: err})
			cur = "\x00bad" // lines until the next header belong to no project
			continue
		}
		if _, dup := r.sections[name]; dup {
			errs = append(errs, &sdkredact.ConfigError{Line: i + 1, Err: fmt.Errorf("section [project %s] appears twice", name)})
			cur = "\x00bad"
			continue
		}
		cur = name
		r.sections[name] = nil
		r.order = append(r.order, name)
	}
	delete(r.sections, "\x00bad")

	// Each project is parsed as the whole file with the lines of every other
	// section (and the headers) blanked: the SDK parser then reports the
	// file's own line numbers, and directives apply in file order.
	parse := func(project string) (sdkredact.Config, []error) {
		var b strings.Builder
		for i, raw := range lines {
			if owner[i] == "" || (project != "" && owner[i] == project) {
				b.WriteString(raw)
			}
			b.WriteByte('\n')
		}
		cfg, err := sdkredact.ParseConfig(strings.NewReader(b.String()))
		var out []error
		if err != nil {
			for _, e := range unjoin(err) {
				var ce *sdkredact.ConfigError
				// A project parse repeats the base's errors: keep its own.
				if project == "" || (errors.As(e, &ce) && ce.Line > 0 && ce.Line <= len(owner) && owner[ce.Line-1] == project) {
					out = append(out, e)
				}
			}
			return cfg, out
		}
		out = append(out, duplicateCustom(lines, owner, project)...)
		if len(out) == 0 && (project == "" || len(errs) == 0) {
			if _, err := sdkredact.New(cfg, []byte("validate")); err != nil {
				out = append(out, &sdkredact.ConfigError{Err: err})
			}
		}
		return cfg, out
	}
	cfg, e := parse("")
	errs = append(errs, e...)
	r.baseCfg = cfg
	for _, name := range r.order {
		cfg, e := parse(name)
		errs = append(errs, e...)
		r.projCfgs[name] = cfg
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b error) int { return lineOf(a) - lineOf(b) })
		return nil, &RulesError{Errs: errs}
	}
	return r, nil
}

// ParseSection parses the rules of one project as sent to PUT
// /api/v1/redaction/rules: the SDK format without section headers.
func ParseSection(src []byte) ([]string, error) {
	lines := splitLines(src)
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "[") {
			return nil, &RulesError{Errs: []error{&sdkredact.ConfigError{Line: i + 1,
				Err: errors.New("section headers are not allowed here: the body is the rules of your own project")}}}
		}
	}
	if _, err := ParseRules(src); err != nil {
		return nil, err
	}
	return lines, nil
}

// WithSection returns a copy of r whose section for project is lines
// (replacing any section it had; nil lines remove it). The result is
// re-validated: base and section together must parse.
func (r *Rules) WithSection(project string, lines []string) (*Rules, error) {
	if _, err := parseHeader("[project " + project + "]"); err != nil {
		return nil, err
	}
	sections := make(map[string][]string, len(r.sections)+1)
	for k, v := range r.sections {
		sections[k] = v
	}
	order := slices.Clone(r.order)
	if lines == nil {
		delete(sections, project)
		order = slices.DeleteFunc(order, func(s string) bool { return s == project })
	} else {
		if _, ok := sections[project]; !ok {
			order = append(order, project)
		}
		sections[project] = lines
	}
	return ParseRules(render(r.base, sections, order))
}

// Source returns the rules as a file that ParseRules reads back to the same
// rules.
func (r *Rules) Source() []byte { return render(r.base, r.sections, r.order) }

// ProjectSource returns the rules in force for project: the base lines,
// then its section, if any, under its header.
func (r *Rules) ProjectSource(project string) []byte {
	lines, ok := r.sections[project]
	if !ok {
		return render(r.base, nil, nil)
	}
	return render(r.base, map[string][]string{project: lines}, []string{project})
}

// Projects returns the names of the projects with a section, in file order.
func (r *Rules) Projects() []string { return slices.Clone(r.order) }

// Config returns the effective SDK configuration of project.
func (r *Rules) Config(project string) sdkredact.Config {
	if cfg, ok := r.projCfgs[project]; ok {
		return cfg
	}
	return r.baseCfg
}

func render(base []string, sections map[string][]string, order []string) []byte {
	var b bytes.Buffer
	for _, l := range base {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, name := range order {
		fmt.Fprintf(&b, "[project %s]\n", name)
		for _, l := range sections[name] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// parseHeader parses "[project NAME]".
func parseHeader(text string) (string, error) {
	inner, ok := strings.CutSuffix(text, "]")
	if !ok {
		return "", fmt.Errorf("section header %q: missing ']'", text)
	}
	inner = strings.TrimPrefix(inner, "[")
	f := strings.Fields(inner)
	if len(f) != 2 || f[0] != "project" {
		return "", fmt.Errorf("section header %q: want [project NAME]", text)
	}
	if !validProject(f[1]) {
		return "", fmt.Errorf("section header %q: project name must be letters, digits, '_', '-' or '.'", text)
	}
	return f[1], nil
}

func validProject(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// duplicateCustom reports a custom rule name defined twice in the lines a
// project sees (base plus its section), at the second definition's line;
// the SDK reports it without a line.
func duplicateCustom(lines, owner []string, project string) []error {
	seen := map[string]bool{}
	var errs []error
	for i, raw := range lines {
		if owner[i] != "" && owner[i] != project {
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(raw), "custom ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if seen[name] && (project == "" || owner[i] == project) {
			errs = append(errs, &sdkredact.ConfigError{Line: i + 1, Err: fmt.Errorf("custom rule %q defined twice", name)})
		}
		seen[name] = true
	}
	return errs
}

func splitLines(src []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), maxRulesBytes+1)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	return lines
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func lineOf(err error) int {
	var ce *sdkredact.ConfigError
	if errors.As(err, &ce) {
		return ce.Line
	}
	return 0
}
