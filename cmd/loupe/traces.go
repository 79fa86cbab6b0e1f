package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/loupehq/loupe/internal/server"
)

// searchFlags are the flags of `loupe traces` (and `loupe tail`'s -q).
type searchFlags struct {
	Query  string
	Since  string
	From   string
	To     string
	Limit  int
	Cursor string
}

// runTraces is `loupe traces`: one page of trace summaries, newest first.
func runTraces(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg clientConfig
	fs := newClientFlags("traces", "loupe traces [-q FILTER] [--since 1h] [--limit 50]",
		"List traces, newest first, that match a filter (the language of DESIGN.md §5), e.g.\n"+
			`  loupe traces -q 'prompt.version_id = "prv_2026_06_03_17" and status = error'`, &cfg)
	var f searchFlags
	fs.StringVar(&f.Query, "q", "", "`filter`, e.g. 'status = error and duration > 2s'")
	fs.StringVar(&f.Since, "since", "", "time window ending now, e.g. 15m, 1h, 7d (default 1h)")
	fs.StringVar(&f.From, "from", "", "start of the time range, RFC 3339 (instead of --since)")
	fs.StringVar(&f.To, "to", "", "end of the time range, RFC 3339 (default now)")
	fs.IntVar(&f.Limit, "limit", 50, "traces per page")
	fs.StringVar(&f.Cursor, "cursor", "", "`next` cursor printed by the previous page")
	pos, err := parseClientFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{message: fmt.Sprintf("traces takes no arguments, got %q (quote the filter: -q '...')", pos), hint: "loupe traces -q 'status = error'"}
	}
	if err := checkTimeFlags(f.Since, f.From, f.To); err != nil {
		return err
	}
	if f.Limit <= 0 {
		return &usageError{message: fmt.Sprintf("--limit %d: must be positive", f.Limit), hint: "--limit 50"}
	}
	params := url.Values{"limit": {strconv.Itoa(f.Limit)}}
	setNonEmpty(params, "q", f.Query)
	setNonEmpty(params, "since", f.Since)
	setNonEmpty(params, "from", f.From)
	setNonEmpty(params, "to", f.To)
	setNonEmpty(params, "cursor", f.Cursor)
	body, err := newAPIClient(cfg).get(ctx, "/api/v1/traces", params)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return printJSON(stdout, body)
	}
	var page tracePage
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("decode trace list: %w", err)
	}
	for _, n := range page.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	if err := printTraceTable(stdout, page.Traces, time.Local); err != nil {
		return err
	}
	if len(page.Traces) == 0 {
		fmt.Fprintln(stderr, "no traces match")
	}
	if page.Next != "" {
		fmt.Fprintf(stderr, "more: add --cursor %s\n", page.Next)
	}
	return nil
}

// checkTimeFlags validates --since, --from and --to before asking the
// server, so that typos are usage errors.
func checkTimeFlags(since, from, to string) error {
	if since != "" && from != "" {
		return &usageError{message: "give --since or --from, not both", hint: "--since 1h, or --from 2026-06-03T16:00:00Z --to 2026-06-03T17:00:00Z"}
	}
	if since != "" {
		if d, err := server.ParseDuration(since); err != nil || d <= 0 {
			return &usageError{message: fmt.Sprintf("--since %q: want a positive duration", since), hint: "--since 15m, --since 1h or --since 7d"}
		}
	}
	for _, t := range []struct{ flag, v string }{{"--from", from}, {"--to", to}} {
		if t.v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, t.v); err != nil {
			return &usageError{message: fmt.Sprintf("%s %q: want an RFC 3339 time", t.flag, t.v), hint: t.flag + " 2026-06-03T16:00:00Z"}
		}
	}
	return nil
}

func setNonEmpty(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// tracePage is the API's trace list.
type tracePage struct {
	Traces []traceSummary `json:"traces"`
	Next   string         `json:"next"`
	Notes  []string       `json:"notes"`
}

// traceSummary is the part of a trace summary the table prints.
type traceSummary struct {
	TraceID         string    `json:"trace_id"`
	Name            string    `json:"name"`
	Start           time.Time `json:"start_time"`
	DurationMs      float64   `json:"duration_ms"`
	Status          string    `json:"status"`
	SpanCount       int64     `json:"span_count"`
	PromptVersionID string    `json:"prompt_version_id"`
	Model           string    `json:"model"`
	InputTokens     int64     `json:"input_tokens"`
	OutputTokens    int64     `json:"output_tokens"`
	CostUSD         float64   `json:"cost_usd"`
}

// printTraceTable prints summaries as an aligned table, times in loc.
func printTraceTable(w io.Writer, traces []traceSummary, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTRACE\tNAME\tSTATUS\tDURATION\tSPANS\tTOKENS\tCOST\tPROMPT VERSION\tMODEL")
	for _, s := range traces {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s ms\t%d\t%s\t%s\t%s\t%s\n",
			s.Start.In(loc).Format("2006-01-02 15:04:05.000"), oneLine(s.TraceID), orDash(oneLine(s.Name)), orDash(s.Status),
			group(int64(math.Round(finite(s.DurationMs)))), s.SpanCount, group(s.InputTokens+s.OutputTokens), money(s.CostUSD),
			orDash(oneLine(s.PromptVersionID)), orDash(oneLine(s.Model)))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
