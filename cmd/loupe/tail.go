package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/loupehq/loupe/internal/server"
)

// Bounds of `loupe tail`.
const (
	tailPageSize = 200
	// tailMaxPages bounds the pages read per poll when many traces arrive.
	tailMaxPages = 10
	// tailMaxSeen bounds the trace ids remembered for de-duplication.
	tailMaxSeen = 100_000
)

// tailConfig is the configuration of `loupe tail`.
type tailConfig struct {
	Query   string
	Window  time.Duration // each poll asks for traces started this long ago or later
	Every   time.Duration // poll interval
	Backlog int           // traces printed from before the start
}

// runTail is `loupe tail`: print traces as they arrive until interrupted.
func runTail(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg clientConfig
	fs := newClientFlags("tail", "loupe tail [-q FILTER] [--every 2s] [--window 5m] [-n 10]",
		"Print new traces as they arrive (oldest first) until interrupted with Ctrl-C.\n"+
			"With --json, each trace summary is one JSON line.", &cfg)
	tc := tailConfig{Window: 5 * time.Minute, Every: 2 * time.Second, Backlog: 10}
	var window, every string
	fs.StringVar(&tc.Query, "q", "", "`filter` of the traces shown")
	fs.StringVar(&window, "window", "5m", "look this far back on each poll (traces can arrive late)")
	fs.StringVar(&every, "every", "2s", "poll `interval`")
	fs.IntVar(&tc.Backlog, "n", tc.Backlog, "recent traces to print first")
	pos, err := parseClientFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{message: fmt.Sprintf("tail takes no arguments, got %q (quote the filter: -q '...')", pos), hint: "loupe tail -q 'status = error'"}
	}
	if tc.Window, err = server.ParseDuration(window); err != nil || tc.Window < time.Second {
		return &usageError{message: fmt.Sprintf("--window %q: want a duration of at least 1s", window), hint: "--window 5m"}
	}
	if tc.Every, err = server.ParseDuration(every); err != nil || tc.Every < 100*time.Millisecond {
		return &usageError{message: fmt.Sprintf("--every %q: want a duration of at least 100ms", every), hint: "--every 2s"}
	}
	if tc.Backlog < 0 {
		return &usageError{message: fmt.Sprintf("-n %d: must not be negative", tc.Backlog), hint: "-n 10"}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return tail(ctx, newAPIClient(cfg), tc, cfg.JSON, stdout, stderr)
}

// tailer remembers which traces were printed.
type tailer struct {
	c    *apiClient
	cfg  tailConfig
	seen map[string]time.Time // trace id -> start time
}

type tailTrace struct {
	raw json.RawMessage
	traceSummary
}

// tail polls until ctx ends, then returns nil. A request the server refuses
// (4xx, e.g. a bad filter) ends it with that error, as does any error on the
// first poll; later transient errors are reported and polling goes on.
func tail(ctx context.Context, c *apiClient, cfg tailConfig, asJSON bool, stdout, stderr io.Writer) error {
	t := &tailer{c: c, cfg: cfg, seen: make(map[string]time.Time)}
	if !asJSON {
		fmt.Fprintln(stdout, tailHeader)
	}
	first := true
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		fresh, err := t.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			var ae *apiError
			if first || errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
				return err
			}
			fmt.Fprintf(stderr, "loupe: %v (retrying)\n", err)
		default:
			if first && len(fresh) > cfg.Backlog {
				fresh = fresh[len(fresh)-cfg.Backlog:]
			}
			for _, tr := range fresh {
				if asJSON {
					fmt.Fprintf(stdout, "%s\n", compactJSON(tr.raw))
				} else {
					fmt.Fprintln(stdout, tailLine(&tr.traceSummary))
				}
			}
			first = false
		}
		timer.Reset(cfg.Every)
	}
}

// poll returns the traces not seen before, oldest first, and remembers
// them.
func (t *tailer) poll(ctx context.Context) ([]tailTrace, error) {
	params := url.Values{"since": {server.FormatDuration(t.cfg.Window)}, "limit": {strconv.Itoa(tailPageSize)}}
	setNonEmpty(params, "q", t.cfg.Query)
	var fresh []tailTrace
	for range tailMaxPages {
		body, err := t.c.get(ctx, "/api/v1/traces", params)
		if err != nil {
			return nil, err
		}
		var page struct {
			Traces []json.RawMessage `json:"traces"`
			Next   string            `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("decode trace list: %w", err)
		}
		caughtUp := false
		for _, raw := range page.Traces {
			tr := tailTrace{raw: raw}
			if err := json.Unmarshal(raw, &tr.traceSummary); err != nil {
				return nil, fmt.Errorf("decode trace summary: %w", err)
			}
			if _, ok := t.seen[tr.TraceID]; ok {
				caughtUp = true
				continue
			}
			fresh = append(fresh, tr)
		}
		// Pages are newest first: once one holds a trace already printed,
		// the rest were printed too (late arrivals aside, which the next
		// poll's window still covers).
		if caughtUp || page.Next == "" {
			break
		}
		params.Set("cursor", page.Next)
	}
	slices.SortStableFunc(fresh, func(a, b tailTrace) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.TraceID, b.TraceID))
	})
	for _, tr := range fresh {
		t.seen[tr.TraceID] = tr.Start
	}
	t.forget()
	return fresh, nil
}

// forget drops remembered traces that no poll can return again (started
// before the newest start minus twice the window), and the oldest ones
// beyond tailMaxSeen.
func (t *tailer) forget() {
	var newest time.Time
	for _, s := range t.seen {
		if s.After(newest) {
			newest = s
		}
	}
	cutoff := newest.Add(-2 * t.cfg.Window)
	for id, s := range t.seen {
		if s.Before(cutoff) {
			delete(t.seen, id)
		}
	}
	if over := len(t.seen) - tailMaxSeen; over > 0 {
		starts := make([]time.Time, 0, len(t.seen))
		for _, s := range t.seen {
			starts = append(starts, s)
		}
		slices.SortFunc(starts, time.Time.Compare)
		cut := starts[over]
		for id, s := range t.seen {
			if s.Before(cut) {
				delete(t.seen, id)
			}
		}
	}
}

const tailHeader = "TIME          TRACE                             STATUS      DURATION  SPANS   TOKENS      COST  NAME"

// tailLine formats one trace for tail, in fixed-width columns.
func tailLine(s *traceSummary) string {
	line := fmt.Sprintf("%-12s  %-32s  %-8s  %9s  %5d  %7s  %8s  %s",
		s.Start.Local().Format("15:04:05.000"), oneLine(s.TraceID), orDash(s.Status),
		group(int64(math.Round(finite(s.DurationMs))))+" ms", s.SpanCount, group(s.InputTokens+s.OutputTokens),
		money(s.CostUSD), orDash(oneLine(s.Name)))
	if s.PromptVersionID != "" {
		line += "  " + oneLine(s.PromptVersionID)
	}
	if s.Model != "" {
		line += "  " + oneLine(s.Model)
	}
	return line
}

// compactJSON returns raw without insignificant whitespace.
func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
