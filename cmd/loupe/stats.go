package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loupehq/loupe/internal/server"
)

// runStats is `loupe stats`: count, error rate, latency percentiles, tokens
// and cost, grouped by fields and optionally bucketed in time.
func runStats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg clientConfig
	fs := newClientFlags("stats", "loupe stats --by FIELD[,FIELD] [-q FILTER] [--since 24h] [--interval 1h] [--level trace|span]",
		"Aggregate traces (or spans, with --level span): count, error rate, p50/p95/p99\n"+
			"latency, tokens and cost, grouped by fields and optionally by time bucket, e.g.\n"+
			"  loupe stats --by prompt.version_id --since 24h --interval 1h", &cfg)
	var by, q, since, from, to, interval, level string
	fs.StringVar(&by, "by", "", "comma-separated `fields` to group by, e.g. prompt.version_id,tenant")
	fs.StringVar(&q, "q", "", "`filter` of the traces or spans counted")
	fs.StringVar(&since, "since", "", "time window ending now, e.g. 1h, 24h, 7d (default 24h)")
	fs.StringVar(&from, "from", "", "start of the time range, RFC 3339 (instead of --since)")
	fs.StringVar(&to, "to", "", "end of the time range, RFC 3339 (default now)")
	fs.StringVar(&interval, "interval", "", "time bucket `width`, e.g. 1h (default: no buckets)")
	fs.StringVar(&level, "level", "trace", "count each trace once (trace) or each matching span (span)")
	pos, err := parseClientFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{message: fmt.Sprintf("stats takes no arguments, got %q", pos), hint: "loupe stats --by prompt.version_id"}
	}
	if err := checkTimeFlags(since, from, to); err != nil {
		return err
	}
	if interval != "" {
		if d, err := server.ParseDuration(interval); err != nil || d <= 0 {
			return &usageError{message: fmt.Sprintf("--interval %q: want a positive duration", interval), hint: "--interval 1h"}
		}
	}
	if level != "trace" && level != "span" {
		return &usageError{message: fmt.Sprintf("--level %q: want trace or span", level), hint: "--level span"}
	}
	params := url.Values{"level": {level}}
	for k, v := range map[string]string{"by": by, "q": q, "since": since, "from": from, "to": to, "interval": interval} {
		setNonEmpty(params, k, v)
	}
	body, err := newAPIClient(cfg).get(ctx, "/api/v1/stats", params)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return printJSON(stdout, body)
	}
	var st statsAnswer
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("decode stats: %w", err)
	}
	for _, n := range st.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	if err := printStatsTable(stdout, &st, interval != "", time.Local); err != nil {
		return err
	}
	if len(st.Groups) == 0 {
		fmt.Fprintln(stderr, "nothing matches")
	}
	return nil
}

// statsAnswer is the API's stats answer.
type statsAnswer struct {
	Level  string     `json:"level"`
	By     []string   `json:"by"`
	Groups []statsRow `json:"groups"`
	Notes  []string   `json:"notes"`
}

type statsRow struct {
	Group        map[string]string `json:"group"`
	Bucket       time.Time         `json:"bucket"`
	Count        int64             `json:"count"`
	ErrorRate    float64           `json:"error_rate"`
	P50Ms        float64           `json:"p50_ms"`
	P95Ms        float64           `json:"p95_ms"`
	P99Ms        float64           `json:"p99_ms"`
	InputTokens  int64             `json:"input_tokens"`
	OutputTokens int64             `json:"output_tokens"`
	CostUSD      float64           `json:"cost_usd"`
	// Estimated names the figures estimated from sampled traces;
	// ErrorBounds the half-width of the 95% interval of some of them.
	Estimated   []string           `json:"estimated"`
	ErrorBounds map[string]float64 `json:"error_bounds"`
}

// printStatsTable prints one row per group and bucket: the group values,
// the bucket start (in loc) when bucketed, then the aggregates. Figures the
// API marks estimated (from sampled traces) get a "~" prefix, and a
// footnote under the table gives their 95% bounds (stats_estimate.go).
func printStatsTable(w io.Writer, st *statsAnswer, bucketed bool, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var head []string
	for _, f := range st.By {
		head = append(head, strings.ToUpper(f))
	}
	if bucketed {
		head = append(head, "BUCKET")
	}
	head = append(head, "COUNT", "ERRORS", "P50", "P95", "P99", "IN TOK", "OUT TOK", "COST")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	var bounded []string // footnote lines
	for _, r := range st.Groups {
		var cells []string
		for _, f := range st.By {
			v, ok := r.Group[f]
			if !ok || v == "" {
				v = "-"
			}
			cells = append(cells, oneLine(v))
		}
		if bucketed {
			b := "-"
			if !r.Bucket.IsZero() {
				b = r.Bucket.In(loc).Format("2006-01-02 15:04")
			}
			cells = append(cells, b)
		}
		label := strings.Join(cells, " ")
		est := estimateMarker(r.Estimated)
		cells = append(cells, est("count", group(r.Count)), est("error_rate", fmt.Sprintf("%.1f%%", 100*finite(r.ErrorRate))),
			est("p50_ms", latency(r.P50Ms)), est("p95_ms", latency(r.P95Ms)), est("p99_ms", latency(r.P99Ms)),
			est("input_tokens", group(r.InputTokens)), est("output_tokens", group(r.OutputTokens)), est("cost_usd", money(r.CostUSD)))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		if b := formatBounds(r.ErrorBounds); b != "" {
			bounded = append(bounded, fmt.Sprintf("  %s: %s", label, b))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printEstimateFootnote(w, st.Groups, bounded)
}

// latency prints a millisecond figure: 0.4 ms, 12 ms, 1,204 ms.
func latency(ms float64) string {
	ms = finite(ms)
	if ms > 0 && ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return group(msRound(ms)) + " ms"
}
