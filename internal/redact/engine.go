package redact

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/atomicfile"
	sdkredact "github.com/loupehq/loupe/sdk/redact"
)

// Options configures an Engine.
type Options struct {
	// Secret keys the HMAC of hashed values (user and account ids); it must
	// not be empty. See LoadSecret.
	Secret []byte
	// File is the rules file: read by Open and Reload, rewritten by
	// SetProject. "" keeps the rules in memory only (tests). A missing file
	// means the default rules.
	File string
	// Logger receives reload messages; nil discards.
	Logger *slog.Logger
}

// Engine redacts batches before they are stored, with per-project rules
// that can be replaced while it runs. It is safe for concurrent use: Batch
// reads the current rules with one atomic load, and a reload swaps them
// whole, so a batch is redacted by one version of the rules.
type Engine struct {
	secret []byte
	file   string
	log    *slog.Logger

	// mu serializes rule changes (read, modify, write the file, swap).
	mu  sync.Mutex
	cur atomic.Pointer[ruleset]

	walkers sync.Pool // *walker: reused, so a clean batch allocates nothing
}

// ruleset is one compiled version of the rules.
type ruleset struct {
	rules    *Rules
	base     compiled
	projects map[string]compiled // projects with a section
}

// compiled is one project's redactor and its clean-text cache.
type compiled struct {
	r     *sdkredact.Redactor
	clean *cleanCache
}

// Open returns an Engine with the rules of opts.File (the default rules if
// it is "" or does not exist). A bad file is an error naming its lines.
func Open(opts Options) (*Engine, error) {
	if len(opts.Secret) == 0 {
		return nil, sdkredact.ErrNoSecret
	}
	e := &Engine{secret: append([]byte(nil), opts.Secret...), file: opts.File, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("component", "redact")
	rules, err := e.readFile()
	if err != nil {
		return nil, err
	}
	rs, err := e.compile(rules)
	if err != nil {
		return nil, err
	}
	e.cur.Store(rs)
	return e, nil
}

// Rules returns the rules in force.
func (e *Engine) Rules() *Rules { return e.cur.Load().rules }

// Reload re-reads the rules file (on SIGHUP). On error the rules in force
// stay, and the error (a *RulesError for a bad file) names the lines.
func (e *Engine) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	rules, err := e.readFile()
	if err != nil {
		return err
	}
	rs, err := e.compile(rules)
	if err != nil {
		return err
	}
	e.cur.Store(rs)
	e.log.Info("redaction rules reloaded", "file", e.file, "projects", len(rs.projects))
	return nil
}

// SetProject replaces project's section of the rules with src (the SDK
// format, no section header; empty src removes the section, so the project
// gets the base rules), writes the whole rules file, then puts the new rules
// in force. On error nothing changes; a bad src is a *RulesError wrapping
// loupe.ErrInvalid whose line numbers are src's.
func (e *Engine) SetProject(project string, src []byte) error {
	lines, err := ParseSection(src)
	if err != nil {
		return fmt.Errorf("%w: %w", loupe.ErrInvalid, err)
	}
	if len(lines) == 0 {
		lines = nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rules, err := e.cur.Load().rules.WithSection(project, lines)
	if err != nil {
		return fmt.Errorf("%w: %w", loupe.ErrInvalid, err)
	}
	rs, err := e.compile(rules)
	if err != nil {
		return fmt.Errorf("%w: %w", loupe.ErrInvalid, err)
	}
	if e.file != "" {
		if err := atomicfile.Write(e.file, rules.Source(), 0o600); err != nil {
			return fmt.Errorf("save redaction rules: %w", err)
		}
	}
	e.cur.Store(rs)
	e.log.Info("redaction rules of a project replaced", "project", project, "file", e.file)
	return nil
}

func (e *Engine) readFile() (*Rules, error) {
	if e.file == "" {
		return DefaultRules(), nil
	}
	src, err := os.ReadFile(e.file)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultRules(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read redaction rules: %w", err)
	}
	rules, err := ParseRules(src)
	if err != nil {
		return nil, fmt.Errorf("redaction rules %s: %w", e.file, err)
	}
	return rules, nil
}

func (e *Engine) compile(rules *Rules) (*ruleset, error) {
	base, err := sdkredact.New(rules.Config(""), e.secret)
	if err != nil {
		return nil, err
	}
	rs := &ruleset{rules: rules, base: compiled{base, newCleanCache()}, projects: make(map[string]compiled)}
	for _, p := range rules.Projects() {
		r, err := sdkredact.New(rules.Config(p), e.secret)
		if err != nil {
			return nil, fmt.Errorf("project %s: %w", p, err)
		}
		rs.projects[p] = compiled{r, newCleanCache()}
	}
	return rs, nil
}

// redactor returns the redactor of project.
func (rs *ruleset) redactor(project string) compiled {
	if len(rs.projects) == 0 {
		return rs.base
	}
	if r, ok := rs.projects[project]; ok {
		return r
	}
	return rs.base
}

// Batch redacts, in place, every string that b's spans and events carry
// (see Span), with the rules of each span's project.
func (e *Engine) Batch(b *loupe.Batch) {
	rs := e.cur.Load()
	w := e.walker()
	defer e.walkers.Put(w)
	for i := range b.Spans {
		s := &b.Spans[i]
		w.reset(rs.redactor(s.Project))
		w.span(s)
		if w.c.Total() > 0 {
			s.Attributes = record(s.Attributes, &w.c)
		}
	}
	for i := range b.Events {
		ev := &b.Events[i]
		w.reset(rs.redactor(ev.Project))
		w.event(&ev.Event)
		if w.c.Total() > 0 {
			ev.Event.Attributes = record(ev.Event.Attributes, &w.c)
		}
	}
}

// Span redacts one span in place with project's rules and returns the
// counts it recorded on the span.
func (e *Engine) Span(s *loupe.Span) sdkredact.Counts {
	w := e.walker()
	defer e.walkers.Put(w)
	w.reset(e.cur.Load().redactor(s.Project))
	w.span(s)
	if w.c.Total() > 0 {
		s.Attributes = record(s.Attributes, &w.c)
	}
	return w.c
}

func (e *Engine) walker() *walker {
	if w, ok := e.walkers.Get().(*walker); ok {
		return w
	}
	return new(walker)
}

// ProjectSource returns the rules file text in force for project (the base
// rules, then its section); GET /api/v1/redaction/rules serves it.
func (e *Engine) ProjectSource(project string) []byte {
	return e.Rules().ProjectSource(project)
}
