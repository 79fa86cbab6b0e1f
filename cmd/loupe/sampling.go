package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/loupehq/loupe/internal/sample"
)

// loadPolicy returns the policy --sampling names: production or a YAML file.
func loadPolicy(name string) (*sample.Policy, error) {
	if name == "production" {
		return sample.Production(), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--sampling %s: want all, production or a readable YAML policy file: %w", name, err)
	}
	defer f.Close()
	return sample.ParsePolicy(name, f)
}

// startSampling opens the tail sampler in front of pipeline (its metrics
// registered on reg) and, for a policy file, reloads it on SIGHUP (an
// invalid file is refused and the running policy stays). The returned func
// stops both.
func startSampling(ctx context.Context, cfg serveConfig, pipeline *ingest.Pipeline, store *duckdb.Store, reg prometheus.Registerer, logger *slog.Logger) (*sample.Sampler, func(), error) {
	pol, err := loadPolicy(cfg.Sampling)
	if err != nil {
		return nil, nil, err
	}
	s, err := sample.New(ctx, sample.Options{
		Dir: filepath.Join(cfg.Data, "sampling"), Policy: pol, Next: pipeline, Store: store,
		Grace: cfg.SamplingGrace, Timeout: cfg.SamplingTimeout, MaxBytes: cfg.SamplingMaxBytes, Logger: logger, Registerer: reg,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start sampler: %w", err)
	}
	logger.Info("tail sampling on", "policy", pol.Name, "rules", len(pol.Rules), "grace", cfg.SamplingGrace, "timeout", cfg.SamplingTimeout, "max_bytes", cfg.SamplingMaxBytes)

	// The reload goroutine is owned here: stop ends it and waits.
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	if cfg.Sampling != "production" {
		signal.Notify(hup, syscall.SIGHUP)
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				case <-hup:
					p, err := loadPolicy(cfg.Sampling)
					if err != nil {
						logger.Error("sampling policy not reloaded; the running policy stays", "err", err)
						continue
					}
					s.SetPolicy(p)
					logger.Info("sampling policy reloaded", "policy", p.Name, "rules", len(p.Rules))
				}
			}
		})
	}
	stop := func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		// The receivers have stopped: decide what can be decided now, so
		// the pending log is not left holding it (rootless traces stay in
		// the log and are decided after the next start).
		if left, err := s.Drain(cctx); err != nil {
			logger.Warn("sampler: pending traces not decided at shutdown stay in the pending log", "err", err)
		} else {
			logger.Info("sampler drained", "traces_left", left.Traces, "spans_left", left.Pending)
		}
		if err := s.Close(cctx); err != nil {
			logger.Error("close sampler", "err", err)
		}
	}
	return s, stop, nil
}

const samplingUsage = `Usage:

	loupe sampling show [--trace ID] [--file FILE]
	loupe sampling boost --tenant T | --route R | --model M | --prompt-version V --rate 1.0 --until TIME | --for 2h
	loupe sampling boosts
	loupe sampling revoke ID

show prints the server's effective sampling policy; with --trace, which rule
decided the trace and why; with --file, checks a policy file locally and prints it.
boost raises sampling for a tenant, route, model or prompt version until a time;
boosts lists the active boosts; revoke removes one.
`

// runSampling is `loupe sampling ...`.
func runSampling(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, samplingUsage)
		return &usageError{message: "sampling: no subcommand given", hint: "loupe sampling show"}
	}
	sub, args := args[0], args[1:]
	var cfg clientConfig
	switch sub {
	case "show":
		fs := newClientFlags("sampling show", "loupe sampling show [--trace ID] [--file FILE]", "Print the sampling policy, or how one trace was decided.", &cfg)
		trace := fs.String("trace", "", "trace `ID` to explain")
		file := fs.String("file", "", "check and print a policy `file` locally instead of asking the server")
		if _, err := parseClientFlags(fs, args, getenv, stderr); err != nil {
			return err
		}
		if *file != "" {
			p, err := loadPolicy(*file)
			if err != nil {
				return err
			}
			return printPolicy(stdout, p.Name, p.Rules)
		}
		c := newAPIClient(cfg)
		if *trace != "" {
			if _, err := loupe.ParseTraceID(*trace); err != nil {
				return &usageError{message: fmt.Sprintf("--trace %q: %v", *trace, err), hint: "loupe sampling show --trace 4bf92f3577b34da6a3ce929d0e0e4736"}
			}
			body, err := c.get(ctx, "/api/v1/sampling/decisions/"+*trace, nil)
			if err != nil {
				return err
			}
			if cfg.JSON {
				return printJSON(stdout, body)
			}
			var ex sample.Explanation
			if err := json.Unmarshal(body, &ex); err != nil {
				return fmt.Errorf("decode answer: %w", err)
			}
			fmt.Fprintf(stdout, "trace %s  %s", ex.TraceID, ex.State)
			if ex.Sample.Class != "" {
				fmt.Fprintf(stdout, "  class %s  weight %g  rule %s", ex.Sample.Class, weightOf(ex.Sample), ex.Sample.Rule)
			}
			fmt.Fprintf(stdout, "\nhash %.4f\n", ex.Hash)
			if ex.Reason != "" {
				fmt.Fprintf(stdout, "why: %s\n", ex.Reason)
			}
			if !ex.Due.IsZero() {
				fmt.Fprintf(stdout, "decided by: %s\n", ex.Due.Format(time.RFC3339))
			}
			return nil
		}
		body, err := c.get(ctx, "/api/v1/sampling/policy", nil)
		if err != nil {
			return err
		}
		if cfg.JSON {
			return printJSON(stdout, body)
		}
		var p struct {
			Mode  string        `json:"mode"`
			Name  string        `json:"name"`
			Rules []sample.Rule `json:"rules"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		if p.Mode == "all" {
			fmt.Fprintln(stdout, "sampling: all (every trace is kept in full; start the server with --sampling production or FILE to sample)")
			return nil
		}
		return printPolicy(stdout, p.Name, p.Rules)
	case "boost":
		fs := newClientFlags("sampling boost", "loupe sampling boost --tenant T | --route R | --model M | --prompt-version V --rate R --until TIME | --for D",
			"Raise sampling for matching traces until a time.", &cfg)
		var req struct {
			Tenant        string  `json:"tenant,omitempty"`
			Route         string  `json:"route,omitempty"`
			Model         string  `json:"model,omitempty"`
			PromptVersion string  `json:"prompt_version,omitempty"`
			Rate          float64 `json:"rate"`
			Until         string  `json:"until,omitempty"`
			For           string  `json:"for,omitempty"`
		}
		fs.StringVar(&req.Tenant, "tenant", "", "boost this `tenant`")
		fs.StringVar(&req.Route, "route", "", "boost this `route`")
		fs.StringVar(&req.Model, "model", "", "boost this `model`")
		fs.StringVar(&req.PromptVersion, "prompt-version", "", "boost this prompt `version` id")
		fs.Float64Var(&req.Rate, "rate", 1, "share of matching traces kept in full, in (0, 1]")
		fs.StringVar(&req.Until, "until", "", "end `time`, RFC 3339 (2026-11-25T18:00:00Z)")
		fs.StringVar(&req.For, "for", "", "`duration` from now (2h), instead of --until")
		if _, err := parseClientFlags(fs, args, getenv, stderr); err != nil {
			return err
		}
		if req.Until == "" && req.For == "" {
			return &usageError{message: "sampling boost: give --until or --for", hint: "loupe sampling boost --tenant t1 --rate 1 --for 2h"}
		}
		body, _ := json.Marshal(req)
		out, err := samplingCall(ctx, cfg, http.MethodPost, "/api/v1/sampling/boosts", body, http.StatusCreated)
		if err != nil {
			return err
		}
		if cfg.JSON {
			return printJSON(stdout, out)
		}
		var b sample.Boost
		if err := json.Unmarshal(out, &b); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		fmt.Fprintf(stdout, "boost %s: %s at rate %g until %s\n", b.ID, boostTarget(b), b.Rate, b.Until.Format(time.RFC3339))
		return nil
	case "boosts":
		fs := newClientFlags("sampling boosts", "loupe sampling boosts", "List the active boosts.", &cfg)
		if _, err := parseClientFlags(fs, args, getenv, stderr); err != nil {
			return err
		}
		out, err := newAPIClient(cfg).get(ctx, "/api/v1/sampling/boosts", nil)
		if err != nil {
			return err
		}
		if cfg.JSON {
			return printJSON(stdout, out)
		}
		var list struct {
			Boosts []sample.Boost `json:"boosts"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		if len(list.Boosts) == 0 {
			fmt.Fprintln(stdout, "no active boosts")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTARGET\tRATE\tUNTIL")
		for _, b := range list.Boosts {
			fmt.Fprintf(tw, "%s\t%s\t%g\t%s\n", b.ID, boostTarget(b), b.Rate, b.Until.Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		fs := newClientFlags("sampling revoke", "loupe sampling revoke ID", "Remove an active boost.", &cfg)
		pos, err := parseClientFlags(fs, args, getenv, stderr)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return &usageError{message: "sampling revoke takes one boost id", hint: "loupe sampling boosts"}
		}
		if _, err := samplingCall(ctx, cfg, http.MethodDelete, "/api/v1/sampling/boosts/"+url.PathEscape(pos[0]), nil, http.StatusNoContent); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "boost %s revoked\n", pos[0])
		return nil
	case "-h", "help", "--help":
		fmt.Fprint(stdout, samplingUsage)
		return nil
	}
	return &usageError{message: fmt.Sprintf("sampling: unknown subcommand %q", sub), hint: "loupe sampling show"}
}

// samplingCall sends a write request to the API and returns the body of a
// want answer; others become an *apiError.
func samplingCall(ctx context.Context, cfg clientConfig, method, path string, body []byte, want int) ([]byte, error) {
	base := strings.TrimRight(cfg.Endpoint, "/")
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cfg.Key != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.Key)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach loupe at %s (is loupe serve running? see --endpoint): %w", base, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode == want {
		return out, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(out, &e) != nil || e.Error == "" {
		e.Error = http.StatusText(resp.StatusCode)
	}
	return nil, &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)}
}

func printPolicy(w io.Writer, name string, rules []sample.Rule) error {
	fmt.Fprintf(w, "sampling policy %s (first matching rule decides; hash < rate: full, < rate+metadata: metadata only, else dropped)\n", name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tRULE\tWHEN\tRATE\tMETADATA\tWEIGHT\tDETAIL")
	for i, r := range rules {
		rate := 1.0
		if r.Rate != nil {
			rate = *r.Rate
		}
		detail := ""
		switch r.When {
		case sample.WhenCanary:
			detail = "labels " + strings.Join(r.Labels, ",")
		case sample.WhenNewPromptVersion:
			detail = fmt.Sprintf("first %d traces", r.First)
		case sample.WhenSlow:
			detail = "> " + time.Duration(r.Threshold).String()
		case sample.WhenCost:
			detail = fmt.Sprintf("> $%g", r.USD)
		case sample.WhenBoost:
			detail = "rate of the active boost"
		}
		w := "-"
		if rate+r.Metadata > 0 && r.When != sample.WhenBoost {
			w = fmt.Sprintf("%g", 1/(rate+r.Metadata))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%g\t%g\t%s\t%s\n", i+1, r.Name, r.When, rate, r.Metadata, w, detail)
	}
	return tw.Flush()
}

func weightOf(s loupe.Sample) float64 {
	if s.Weight == 0 {
		return 1
	}
	return s.Weight
}

func boostTarget(b sample.Boost) string {
	var parts []string
	for _, kv := range [][2]string{{"tenant", b.Tenant}, {"route", b.Route}, {"model", b.Model}, {"prompt_version", b.PromptVersion}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}
