package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/server"
)

// defaultRetentionEvery is how often `loupe serve` enforces retention.
const defaultRetentionEvery = 10 * time.Minute

// retentionFlags are the retention settings of `loupe serve`. The zero
// value means the defaults (duckdb.DefaultRetention, every 10 minutes).
type retentionFlags struct {
	Payloads optDuration // --retention-payloads
	Errors   optDuration // --retention-errors
	Metadata optDuration // --retention-metadata
	File     string      // --retention: YAML file of per-project policies
	Every    time.Duration
}

// addFlags declares the retention flags on fs.
func (r *retentionFlags) addFlags(fs *flag.FlagSet) {
	def := duckdb.DefaultRetention()
	fs.Var(optFlag{&r.Payloads, def.Payloads}, "retention-payloads", "keep payloads of traces without errors this `long` (e.g. 7d, 36h; 0 = forever)")
	fs.Var(optFlag{&r.Errors, def.ErrorPayloads}, "retention-errors", "keep payloads of traces with a failed span this `long` (0 = forever)")
	fs.Var(optFlag{&r.Metadata, def.Metadata}, "retention-metadata", "keep trace metadata (spans without payloads) this `long` (0 = forever)")
	fs.StringVar(&r.File, "retention", r.File, "YAML `file` of retention policies per project (a default section and projects; its values beat --retention-payloads, -errors and -metadata)")
	fs.Var((*dayDuration)(&r.Every), "retention-every", "enforce retention this `often` (0: every 10m)")
}

// policy returns the retention policy: the flags, then the file's default
// section over them, then each project's settings over that.
func (r *retentionFlags) policy() (*duckdb.RetentionPolicy, error) {
	def := duckdb.DefaultRetention()
	p := &duckdb.RetentionPolicy{Default: duckdb.Retention{
		Payloads:      r.Payloads.or(def.Payloads),
		ErrorPayloads: r.Errors.or(def.ErrorPayloads),
		Metadata:      r.Metadata.or(def.Metadata),
	}}
	if r.File != "" {
		b, err := os.ReadFile(r.File)
		if err != nil {
			return nil, fmt.Errorf("read --retention: %w", err)
		}
		if p, err = parseRetention(b, p.Default); err != nil {
			return nil, fmt.Errorf("--retention %s: %w", r.File, err)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return p, nil
}

// every returns the enforcement interval.
func (r *retentionFlags) every() time.Duration {
	if r.Every <= 0 {
		return defaultRetentionEvery
	}
	return r.Every
}

// retentionFile is the YAML form of --retention:
//
//	default:            # optional; fields not given keep the flags' values
//	  payloads: 7d
//	  errors: 30d
//	  metadata: 90d
//	projects:           # optional; fields not given keep the default's
//	  acme:
//	    payloads: 1d
//	  audit:
//	    metadata: 0     # forever
type retentionFile struct {
	Default  retentionEntry            `yaml:"default"`
	Projects map[string]retentionEntry `yaml:"projects"`
}

type retentionEntry struct {
	Payloads *yamlDuration `yaml:"payloads"`
	Errors   *yamlDuration `yaml:"errors"`
	Metadata *yamlDuration `yaml:"metadata"`
}

// apply returns base with the entry's fields set over it.
func (e retentionEntry) apply(base duckdb.Retention) duckdb.Retention {
	if e.Payloads != nil {
		base.Payloads = time.Duration(*e.Payloads)
	}
	if e.Errors != nil {
		base.ErrorPayloads = time.Duration(*e.Errors)
	}
	if e.Metadata != nil {
		base.Metadata = time.Duration(*e.Metadata)
	}
	return base
}

// parseRetention parses a --retention file over the default base. Errors
// name the line.
func parseRetention(b []byte, base duckdb.Retention) (*duckdb.RetentionPolicy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f retentionFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%v (expected keys: default, projects; payloads, errors, metadata as durations like 7d)", err)
	}
	p := &duckdb.RetentionPolicy{Default: f.Default.apply(base)}
	if len(f.Projects) > 0 {
		p.Projects = make(map[string]duckdb.Retention, len(f.Projects))
		for name, e := range f.Projects {
			if name == "" {
				return nil, errors.New("empty project name under projects")
			}
			p.Projects[name] = e.apply(p.Default)
		}
	}
	return p, nil
}

// yamlDuration is a duration in the API's syntax (7d, 36h, 0) in YAML.
type yamlDuration time.Duration

// UnmarshalYAML parses the node's scalar with server.ParseDuration.
func (d *yamlDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration like 7d, 36h or 0", n.Line)
	}
	v, err := parseRetentionDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = yamlDuration(v)
	return nil
}

// parseRetentionDuration parses 7d, 36h, 1w or 0 (forever).
func parseRetentionDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := server.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%v: want a duration like 7d, 36h or 0 (forever)", err)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

// optDuration is a duration setting that remembers whether it was given.
type optDuration struct {
	Value time.Duration
	IsSet bool
}

func (o optDuration) or(d time.Duration) time.Duration {
	if o.IsSet {
		return o.Value
	}
	return d
}

// optFlag is the flag.Value of an optDuration with its default.
type optFlag struct {
	o    *optDuration
	dflt time.Duration
}

// String implements flag.Value.
func (f optFlag) String() string {
	if f.o == nil {
		return ""
	}
	return server.FormatDuration(f.o.or(f.dflt))
}

// Set implements flag.Value.
func (f optFlag) Set(s string) error {
	d, err := parseRetentionDuration(s)
	if err != nil {
		return err
	}
	*f.o = optDuration{Value: d, IsSet: true}
	return nil
}

// dayDuration is a time.Duration flag in the API's syntax.
type dayDuration time.Duration

// String implements flag.Value.
func (d *dayDuration) String() string {
	if d == nil {
		return ""
	}
	return server.FormatDuration(time.Duration(*d))
}

// Set implements flag.Value.
func (d *dayDuration) Set(s string) error {
	v, err := parseRetentionDuration(s)
	if err != nil {
		return err
	}
	*d = dayDuration(v)
	return nil
}

// logRetention logs the effective retention policy at start.
func logRetention(logger *slog.Logger, p *duckdb.RetentionPolicy, every time.Duration) {
	f := func(d time.Duration) string {
		if d == 0 {
			return "forever"
		}
		return server.FormatDuration(d)
	}
	logger.Info("retention", "payloads", f(p.Default.Payloads), "error_payloads", f(p.Default.ErrorPayloads),
		"metadata", f(p.Default.Metadata), "project_overrides", len(p.Projects), "every", server.FormatDuration(every))
	for _, name := range slices.Sorted(maps.Keys(p.Projects)) {
		r := p.Projects[name]
		logger.Info("retention of project", "project", name, "payloads", f(r.Payloads),
			"error_payloads", f(r.ErrorPayloads), "metadata", f(r.Metadata))
	}
}
