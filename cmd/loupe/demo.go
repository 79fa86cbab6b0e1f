package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/demo"
	loupesdk "github.com/loupehq/loupe/sdk"
)

// demoConfig is the configuration of `loupe demo`.
type demoConfig struct {
	Endpoint string  // OTLP/HTTP endpoint of loupe
	Key      string  // API key, sent as a bearer token; "" = none
	Traces   int     // traces to send; 0 = until interrupted
	Rate     float64 // traces per second; 0 = as fast as possible
	Seed     uint64  // 0 = random
}

// parseDemoConfig parses the flags of `loupe demo` (each with a LOUPE_*
// twin; flag > env > default).
func parseDemoConfig(args []string, getenv func(string) string, stderr io.Writer) (demoConfig, error) {
	cfg := demoConfig{Endpoint: "http://127.0.0.1:4318", Traces: 1000}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "OTLP/HTTP `URL` of loupe")
	fs.StringVar(&cfg.Key, "key", cfg.Key, "API `key` (prefer the LOUPE_KEY environment variable)")
	fs.IntVar(&cfg.Traces, "traces", cfg.Traces, "traces to send (0: until interrupted)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "traces per second (0: as fast as possible)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed, for reproducible traffic (0: random)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loupe demo [flags]\n\n"+
			"Send realistic traces of a simulated support agent (built on the loupe Go SDK)\n"+
			"to a running loupe: tool errors recovered by a retry, parser repairs, empty\n"+
			"retrievals, timeouts and a bad prompt release, with personal data to redact.\n"+
			"Every flag has an environment twin, LOUPE_<FLAG>.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseCommand(fs, args, getenv, stderr); err != nil {
		return cfg, err
	}
	switch {
	case cfg.Traces < 0:
		return cfg, &usageError{message: fmt.Sprintf("--traces %d: must not be negative", cfg.Traces), hint: "--traces 1000"}
	case cfg.Rate < 0:
		return cfg, &usageError{message: fmt.Sprintf("--rate %v: must not be negative", cfg.Rate), hint: "--rate 50"}
	case cfg.Endpoint == "":
		return cfg, &usageError{message: "--endpoint is empty", hint: "--endpoint http://127.0.0.1:4318"}
	}
	return cfg, nil
}

// runDemo is `loupe demo`.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseDemoConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := demo.Run(ctx, demo.Options{Endpoint: cfg.Endpoint, Traces: cfg.Traces, Rate: cfg.Rate, Seed: cfg.Seed,
		Progress: stderr, SDK: loupesdk.Options{APIKey: cfg.Key}}, logger)
	if res == nil {
		return fmt.Errorf("demo: %w", err)
	}
	printScenarios(stderr, res, cfg.Endpoint)
	if res.Dropped > 0 {
		return errors.Join(fmt.Errorf("demo: %d spans were dropped (is loupe running at %s? try loupe serve)",
			res.Dropped, cfg.Endpoint), err)
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// printScenarios prints one trace URL per scenario.
func printScenarios(w io.Writer, res *demo.Result, endpoint string) {
	for _, s := range demo.Scenarios {
		if ids := res.TraceIDs(s); len(ids) > 0 {
			fmt.Fprintf(w, "demo: %-18s %s/api/v1/traces/%s\n", s, endpoint, ids[0])
		}
	}
}

// startDemo runs the demo against the server being started (loupe serve
// --demo): a burst of 2,000 traces, then a trickle of one every 2 seconds
// until ctx ends. It authenticates with cred when the server requires keys
// (nil: sends none). The returned stop function cancels it and waits.
func startDemo(ctx context.Context, httpAddr string, cred *auth.Internal, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	endpoint := "http://" + httpAddr
	var sdk loupesdk.Options
	if cred != nil {
		sdk.APIKey = cred.Token()
	}
	go func() { // owned by stop
		defer close(done)
		logger.Info("demo traffic starting", "traces", 2000, "endpoint", endpoint)
		res, err := demo.Run(ctx, demo.Options{Endpoint: endpoint, Traces: 2000, SDK: sdk}, logger)
		if err != nil {
			logger.Warn("demo traffic incomplete", "err", err)
			if ctx.Err() != nil || res == nil {
				return
			}
		}
		for _, s := range demo.Scenarios {
			if ids := res.TraceIDs(s); len(ids) > 0 {
				logger.Info("demo trace", "scenario", string(s), "url", endpoint+"/api/v1/traces/"+ids[0],
					"ui", endpoint+"/traces/"+ids[0])
			}
		}
		logger.Info("demo traffic sent; a trickle continues", "traces", res.Traces, "dropped", res.Dropped)
		if _, err := demo.Run(ctx, demo.Options{Endpoint: endpoint, Rate: 0.5, SDK: sdk}, logger); err != nil {
			logger.Warn("demo trickle stopped", "err", err)
		}
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			logger.Warn("demo traffic did not stop in 15s")
		}
	}
}
