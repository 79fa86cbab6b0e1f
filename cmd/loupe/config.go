package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/sample"
)

// validMemoryLimit reports whether s is a size DuckDB's memory_limit takes:
// digits and a unit (checked here so that a typo fails with a usage error,
// not deep in the store).
func validMemoryLimit(s string) bool {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	switch s[i:] {
	case "B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB":
		return i > 0
	}
	return false
}

// serveConfig is the configuration of `loupe serve`. Every field has a flag
// and a LOUPE_* environment twin; a flag beats its twin, which beats the
// default.
type serveConfig struct {
	Addr     string // HTTP listen address: OTLP/HTTP, JSON API, /healthz, /metrics
	GRPCAddr string // OTLP/gRPC listen address
	Data     string // data directory of the embedded store; unused with DecodeOnly

	MaxBodyBytes      int64  // cap on an OTLP/HTTP body, before and after gzip; > 0
	MaxAttributeBytes int    // cap on one attribute value; 0 = the normalizer's default
	Prices            string // JSON file of price overrides; "" = built-in prices only
	DecodeOnly        bool   // benchmark ceiling: decode and ack, store nothing
	QueueSpans        int    // ingest queue capacity in spans+events; 0 = the pipeline's default
	Demo              bool   // also run `loupe demo` against this server
	Auth              string // auto, on or off: when requests need API keys (see authMode)

	MemoryLimit     string        // DuckDB's memory_limit ("512MB"); "" is the store's default
	StoreThreads    int           // DuckDB's threads; 0 is the store's default
	Sampling        string        // "all" (keep everything), "production" or a YAML policy file
	SamplingGrace   time.Duration // wait for late children after the root span arrived
	SamplingTimeout time.Duration // decide a trace whose root never arrives after this
	// SamplingMaxBytes bounds the estimated memory of the spans awaiting a
	// sampling decision (sample.Options.MaxBytes).
	SamplingMaxBytes int64

	Redaction           string // "on" (default) or "off" (benchmarks and tests only)
	RedactionRules      string // rules file; "" = <Data>/redaction.rules
	RedactionSecretFile string // HMAC key file; "" = <Data>/redaction.secret, generated once

	Retention retentionFlags // --retention*: see retention.go

	LogLevel slog.Level
}

// defaultServeConfig returns the configuration used when no flag or
// environment variable says otherwise.
func defaultServeConfig() serveConfig {
	return serveConfig{
		Addr:         "127.0.0.1:4318",
		GRPCAddr:     "127.0.0.1:4317",
		Data:         "./loupe-data",
		Auth:         "auto",
		MaxBodyBytes: 16 << 20,
		Redaction:    "on",
		LogLevel:     slog.LevelInfo,

		Sampling:         "all",
		SamplingGrace:    5 * time.Second,
		SamplingTimeout:  60 * time.Second,
		SamplingMaxBytes: sample.DefaultMaxBytes,
	}
}

// parseServeConfig parses the flags of `loupe serve`, fills unset flags from
// their environment twins and validates the result. It returns flag.ErrHelp
// (after printing the usage on stderr) for -h, and a *usageError for a bad
// command line.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	cfg := defaultServeConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "HTTP listen `address` (OTLP/HTTP, API, /healthz, /metrics)")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "OTLP/gRPC listen `address`")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data `directory` of the embedded store")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest OTLP/HTTP request body, before and after gzip")
	fs.IntVar(&cfg.MaxAttributeBytes, "max-attribute-bytes", cfg.MaxAttributeBytes, "largest attribute value (0: built-in limit)")
	fs.StringVar(&cfg.Prices, "prices", cfg.Prices, "JSON `file` of model price overrides")
	fs.BoolVar(&cfg.DecodeOnly, "decode-only", cfg.DecodeOnly, "decode OTLP requests and acknowledge them without storing anything (benchmark ceiling)")
	fs.IntVar(&cfg.QueueSpans, "queue-spans", cfg.QueueSpans, "ingest queue capacity in spans and events (0: built-in default)")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "also feed this server demo traffic (2,000 traces, then a trickle)")
	fs.StringVar(&cfg.MemoryLimit, "memory-limit", cfg.MemoryLimit, "memory of the embedded store's buffer pool, e.g. 512MB or 2GB (default "+duckdb.DefaultMemoryLimit+"); the server's RSS also holds the Go heap and DuckDB's working memory")
	fs.IntVar(&cfg.StoreThreads, "store-threads", cfg.StoreThreads, "threads of the embedded store (DuckDB) for queries, writes and checkpoints (0: built-in default, "+strconv.Itoa(duckdb.DefaultThreads)+"); more speed up searches and stats on a machine with spare cores")
	fs.StringVar(&cfg.Sampling, "sampling", cfg.Sampling, "tail sampling: all (keep every trace), production (built-in policy) or a YAML policy `file`")
	fs.DurationVar(&cfg.SamplingGrace, "sampling-grace", cfg.SamplingGrace, "with sampling: wait this long after a trace's root span for late children")
	fs.DurationVar(&cfg.SamplingTimeout, "sampling-timeout", cfg.SamplingTimeout, "with sampling: decide a trace whose root span never arrives after this")
	fs.Int64Var(&cfg.SamplingMaxBytes, "sampling-max-bytes", cfg.SamplingMaxBytes, "with sampling: estimated memory in bytes of the spans awaiting decisions; past 3/4 the oldest are decided early, when full ingest answers 503")
	fs.StringVar(&cfg.Auth, "auth", cfg.Auth, "API keys: auto (required once a key exists, and always on a non-loopback address), on, or off (loopback only)")
	fs.StringVar(&cfg.Redaction, "redaction", cfg.Redaction, "redact personal data and secrets before storage: on, or off (benchmarks and tests only)")
	fs.StringVar(&cfg.RedactionRules, "redaction-rules", cfg.RedactionRules, "redaction rules `file` (docs/redaction.md; default: <data>/redaction.rules if it exists); reloaded on SIGHUP")
	fs.StringVar(&cfg.RedactionSecretFile, "redaction-secret-file", cfg.RedactionSecretFile, "`file` holding the key of hashed ids (default: <data>/redaction.secret, generated once)")
	fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log `level`: debug, info, warn or error")
	cfg.Retention.addFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loupe serve [flags]\n\n"+
			"Receive OTLP traces and logs over HTTP and gRPC, store them and serve the API.\n"+
			"Every flag has an environment twin, LOUPE_<FLAG> (e.g. --grpc-addr: LOUPE_GRPC_ADDR);\n"+
			"a flag beats its twin.\n\nFlags:\n")
		fs.PrintDefaults()
	}

	if err := parseCommand(fs, args, getenv, stderr); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// parseCommand parses the flags of a subcommand that takes no positional
// arguments, then fills every flag not given from its LOUPE_* twin. It
// returns flag.ErrHelp after printing the usage for -h, and a *usageError
// with a hint for a bad command line.
func parseCommand(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) error {
	name := fs.Name()
	// The flag package prints parse errors itself; run prints them once, with a hint.
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	case err != nil:
		return &usageError{message: name + ": " + err.Error(), hint: "loupe " + name + " -h"}
	case fs.NArg() > 0:
		return &usageError{message: fmt.Sprintf("%s takes no arguments, got %q", name, fs.Args()), hint: "loupe " + name + " -h"}
	}
	return applyEnv(fs, getenv)
}

// applyEnv sets every flag not given on the command line from its
// environment twin, when that is set and not empty.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if given[f.Name] || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, &usageError{
				message: fmt.Sprintf("environment variable %s=%q (--%s): %v", name, v, f.Name, err),
				hint:    fmt.Sprintf("unset %s, or fix it (see loupe serve -h)", name),
			})
		}
	})
	return errors.Join(errs...)
}

// envName returns the environment twin of a flag: max-body-bytes is
// LOUPE_MAX_BODY_BYTES.
func envName(flagName string) string {
	return "LOUPE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Validate reports the first setting that cannot work, as a *usageError
// naming the flag and a fix.
func (c *serveConfig) Validate() error {
	for _, a := range []struct{ flag, addr, example string }{
		{"--addr", c.Addr, "127.0.0.1:4318"},
		{"--grpc-addr", c.GRPCAddr, "127.0.0.1:4317"},
	} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return &usageError{message: fmt.Sprintf("%s %q: %v", a.flag, a.addr, err), hint: a.flag + " " + a.example}
		}
	}
	if c.MemoryLimit != "" && !validMemoryLimit(c.MemoryLimit) {
		return &usageError{message: fmt.Sprintf("--memory-limit %q: want a size such as 512MB or 2GB", c.MemoryLimit), hint: "--memory-limit 512MB"}
	}
	if c.StoreThreads < 0 {
		return &usageError{message: fmt.Sprintf("--store-threads %d: must not be negative", c.StoreThreads), hint: "--store-threads 0 (built-in default)"}
	}
	if _, port, _ := net.SplitHostPort(c.Addr); c.Addr == c.GRPCAddr && port != "0" {
		return &usageError{message: fmt.Sprintf("--addr and --grpc-addr are both %q", c.Addr), hint: "--addr 127.0.0.1:4318 --grpc-addr 127.0.0.1:4317"}
	}
	switch {
	case c.Data == "" && !c.DecodeOnly:
		return &usageError{message: "--data is empty", hint: "--data ./loupe-data"}
	case c.MaxBodyBytes <= 0:
		return &usageError{message: fmt.Sprintf("--max-body-bytes %d: must be positive", c.MaxBodyBytes), hint: "--max-body-bytes 16777216"}
	case c.MaxAttributeBytes < 0:
		return &usageError{message: fmt.Sprintf("--max-attribute-bytes %d: must not be negative", c.MaxAttributeBytes), hint: "--max-attribute-bytes 0 (built-in limit)"}
	case c.Demo && c.DecodeOnly:
		return &usageError{message: "--demo needs storage, but --decode-only stores nothing", hint: "loupe serve --demo"}
	case c.Sampling == "":
		return &usageError{message: "--sampling is empty", hint: "--sampling all, --sampling production or --sampling policy.yaml"}
	case c.SamplingGrace <= 0 || c.SamplingTimeout <= 0:
		return &usageError{message: fmt.Sprintf("--sampling-grace %s and --sampling-timeout %s must be positive", c.SamplingGrace, c.SamplingTimeout), hint: "--sampling-grace 5s --sampling-timeout 60s"}
	case c.SamplingMaxBytes <= 0:
		return &usageError{message: fmt.Sprintf("--sampling-max-bytes %d must be positive", c.SamplingMaxBytes), hint: fmt.Sprintf("--sampling-max-bytes %d (128 MiB)", sample.DefaultMaxBytes)}
	case c.Sampling != "all" && c.DecodeOnly:
		return &usageError{message: "--sampling needs storage, but --decode-only stores nothing", hint: "--sampling all"}
	case c.Auth != "auto" && c.Auth != "on" && c.Auth != "off":
		return &usageError{message: fmt.Sprintf("--auth %q: want auto, on or off", c.Auth), hint: "--auth auto"}
	case c.Redaction != "on" && c.Redaction != "off":
		return &usageError{message: fmt.Sprintf("--redaction %q: want on or off", c.Redaction), hint: "--redaction on"}
	case c.QueueSpans < 0:
		return &usageError{message: fmt.Sprintf("--queue-spans %d: must not be negative", c.QueueSpans), hint: "--queue-spans 0 (built-in default)"}
	}
	return nil
}

// isLoopback reports whether a listen address only accepts connections from
// this machine. An empty host listens on every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
