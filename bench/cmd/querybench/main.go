// Command querybench measures the latency of loupe's query API (DESIGN.md
// §7 targets) against a running server that holds the standard workload
// loaded by bench/cmd/loadgen: trace by id, filtered search, full-text
// search and statistics, each K times after a few warm-ups, one request at
// a time, reporting p50, p99 and max.
//
// It is a benchmark tool for loopback use only: it refuses endpoints that
// are not on a loopback address, every request has a timeout and every
// query a time budget.
//
//	querybench -endpoint http://127.0.0.1:14318 -k 50 -seed 1 -level 1000000 \
//	    -data-from 2026-06-03T10:00:00Z -data-to 2026-06-03T10:05:00Z -json
//
// The queries' words and prompt version come from the workload itself (the
// same -seed, -variants and -traces-per-request as loadgen's), so that each
// query has a known share of matching traces; see Vocabulary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/loupehq/loupe/bench/loopback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "querybench:", err)
		}
		os.Exit(2)
	}
}

// config holds the parsed flags.
type config struct {
	endpoint  string
	k         int
	warmup    int
	seed      uint64
	variants  int
	traces    int
	level     int64
	dataFrom  time.Time
	dataTo    time.Time
	timeout   time.Duration
	budget    time.Duration
	only      *regexp.Regexp
	json      bool
	idsWanted int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var from, to, only string
	fs := flag.NewFlagSet("querybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:4318", "loupe HTTP base URL (loopback only)")
	fs.IntVar(&c.k, "k", 50, "timed iterations per query")
	fs.IntVar(&c.warmup, "warmup", 3, "untimed iterations per query before the timed ones")
	fs.Uint64Var(&c.seed, "seed", 1, "workload seed loadgen used")
	fs.IntVar(&c.variants, "variants", 64, "loadgen's -variants")
	fs.IntVar(&c.traces, "traces-per-request", 10, "loadgen's -traces-per-request")
	fs.Int64Var(&c.level, "level", 0, "spans the store is meant to hold (a label for the report)")
	fs.StringVar(&from, "data-from", "", "RFC 3339 time before the first loaded span (enables the narrow-window query and id sampling across the data)")
	fs.StringVar(&to, "data-to", "", "RFC 3339 time after the last loaded span (default now)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.DurationVar(&c.budget, "budget", 2*time.Minute, "time budget per query; iterations stop when it is spent")
	fs.StringVar(&only, "only", "", "run only the queries whose name matches this regexp")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON (the markdown table otherwise)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.k < 1 || c.k > 100_000:
		return c, fmt.Errorf("-k %d: want 1..100000", c.k)
	case c.warmup < 0 || c.warmup > 1000:
		return c, fmt.Errorf("-warmup %d: want 0..1000", c.warmup)
	case c.variants < 1 || c.traces < 1:
		return c, fmt.Errorf("-variants %d, -traces-per-request %d: want >= 1", c.variants, c.traces)
	case c.timeout <= 0 || c.budget <= 0:
		return c, fmt.Errorf("-timeout %v, -budget %v: want > 0", c.timeout, c.budget)
	}
	var err error
	if from != "" {
		if c.dataFrom, err = time.Parse(time.RFC3339Nano, from); err != nil {
			return c, fmt.Errorf("-data-from: %w", err)
		}
	}
	if to != "" {
		if c.dataTo, err = time.Parse(time.RFC3339Nano, to); err != nil {
			return c, fmt.Errorf("-data-to: %w", err)
		}
	}
	if !c.dataFrom.IsZero() && !c.dataTo.IsZero() && !c.dataFrom.Before(c.dataTo) {
		return c, fmt.Errorf("-data-from %s is not before -data-to %s", from, to)
	}
	if only != "" {
		if c.only, err = regexp.Compile(only); err != nil {
			return c, fmt.Errorf("-only: %w", err)
		}
	}
	c.idsWanted = c.k + c.warmup
	c.endpoint = strings.TrimRight(c.endpoint, "/")
	return c, loopback.Check("querybench", c.endpoint)
}

// Target is one latency objective: Stat (p50 or p99) at most Ms.
type Target struct {
	Stat string  `json:"stat"`
	Ms   float64 `json:"ms"`
}

func (t Target) String() string { return fmt.Sprintf("%s ≤ %g", t.Stat, t.Ms) }

// QueryResult is what one query measured. JSON names are stable:
// bench/query.sh reads them.
type QueryResult struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Example     string   `json:"example"` // one request path, for the record
	Iterations  int      `json:"iterations"`
	P50Ms       float64  `json:"p50_ms"`
	P99Ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	MeanMs      float64  `json:"mean_ms"`
	Targets     []Target `json:"targets,omitempty"`
	// Pass is null without a target or without measurements.
	Pass *bool `json:"pass"`
	// Returned is the number of traces, groups or spans in the last answer.
	Returned int `json:"returned"`
	// Expect says what share of traces should match, from the vocabulary.
	Expect string `json:"expect,omitempty"`
	// Wrong says why the answers cannot be right (e.g. no matches where the
	// loaded workload has some); a wrong query does not pass.
	Wrong  string   `json:"wrong,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	Errors int      `json:"errors"`
	// FirstError is the first failed request's status and body, if any.
	FirstError string `json:"first_error,omitempty"`
}

// Result is one querybench run.
type Result struct {
	Endpoint string    `json:"endpoint"`
	Level    int64     `json:"level"`
	Date     time.Time `json:"date"`
	K        int       `json:"k"`
	Warmup   int       `json:"warmup"`
	// StoredSpans and StoredTraces are what the server counts over the
	// last 24 h (stats with level=span and level=trace; -1 if unavailable).
	StoredSpans  int64         `json:"stored_spans"`
	StoredTraces int64         `json:"stored_traces"`
	DataFrom     *time.Time    `json:"data_from,omitempty"`
	DataTo       *time.Time    `json:"data_to,omitempty"`
	Vocabulary   Vocabulary    `json:"vocabulary"`
	Queries      []QueryResult `json:"queries"`
	Seconds      float64       `json:"seconds"`
	// LoadAvg is the machine's 1-minute load average (/proc/loadavg) before
	// and after the queries: anything well above 1 means other processes
	// competed for the CPUs while querybench measured. -1 if unknown.
	LoadAvgBefore float64 `json:"loadavg_before"`
	LoadAvgAfter  float64 `json:"loadavg_after"`
}

// loadAvg returns the 1-minute load average, -1 if unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	begin := time.Now()
	voc := analyze(cfg.seed, cfg.variants, cfg.traces)
	fmt.Fprintf(stderr, "querybench: workload pool of %d traces: prompt version %s (%d traces, %d failing), rare word %q, absent word %q\n",
		voc.PoolTraces, voc.PromptVersion, voc.PromptVersionTraces, voc.PromptVersionFailed, voc.RareWord, voc.AbsentWord)

	transport := &http.Transport{
		Proxy:               nil, // loopback only; never through a proxy
		MaxIdleConns:        2,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	c := &client{base: cfg.endpoint, http: &http.Client{Transport: transport, Timeout: cfg.timeout}}

	res := Result{Endpoint: cfg.endpoint, Level: cfg.level, Date: begin.UTC(), K: cfg.k, Warmup: cfg.warmup, Vocabulary: voc,
		StoredSpans: -1, StoredTraces: -1, LoadAvgBefore: loadAvg()}
	if !cfg.dataFrom.IsZero() {
		res.DataFrom = &cfg.dataFrom
		if cfg.dataTo.IsZero() {
			cfg.dataTo = time.Now().UTC()
		}
		res.DataTo = &cfg.dataTo
	}
	if n, err := c.count(ctx, "span"); err == nil {
		res.StoredSpans = n
	} else {
		fmt.Fprintf(stderr, "querybench: counting stored spans: %v\n", err)
	}
	if n, err := c.count(ctx, "trace"); err == nil {
		res.StoredTraces = n
	} else {
		fmt.Fprintf(stderr, "querybench: counting stored traces: %v\n", err)
	}
	fmt.Fprintf(stderr, "querybench: server holds %d spans, %d traces in the last 24 h\n", res.StoredSpans, res.StoredTraces)

	rng := rand.New(rand.NewPCG(cfg.seed, uint64(cfg.level)))
	for _, q := range queries(cfg, voc) {
		if cfg.only != nil && !cfg.only.MatchString(q.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var qr QueryResult
		if q.byID {
			ids, err := c.sampleIDs(ctx, cfg, rng)
			if err != nil || len(ids) == 0 {
				qr = QueryResult{Name: q.name, Description: q.desc, Targets: q.targets, Errors: 1,
					FirstError: "no trace ids to look up: the server listed no traces"}
				if err != nil {
					qr.FirstError = fmt.Sprintf("no trace ids to look up: %v", err)
				}
				fail := false
				qr.Pass = &fail
			} else {
				q.path = func(i int) string { return "/api/v1/traces/" + ids[i%len(ids)] }
				if len(ids) < cfg.idsWanted {
					q.notes = append(q.notes, fmt.Sprintf("only %d distinct ids found for %d requests; some ids repeat", len(ids), cfg.idsWanted))
				}
				qr = measure(ctx, c, cfg, q)
			}
		} else {
			qr = measure(ctx, c, cfg, q)
		}
		fmt.Fprintf(stderr, "querybench: %-22s n=%-3d p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  returned %d  errors %d %s\n",
			qr.Name, qr.Iterations, qr.P50Ms, qr.P99Ms, qr.MaxMs, qr.Returned, qr.Errors, passString(qr.Pass))
		res.Queries = append(res.Queries, qr)
	}
	res.Seconds = time.Since(begin).Seconds()
	res.LoadAvgAfter = loadAvg()
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTable(stdout, res)
	return nil
}

// querySpec is one query to measure. path returns the request path (with
// query string) of iteration i (warm-ups first).
type querySpec struct {
	name    string
	desc    string
	kind    string // "trace", "search" or "stats": the answer's shape
	byID    bool   // path is set once trace ids are known
	path    func(i int) string
	targets []Target
	expect  string
	notes   []string
	// The last answer must hold minReturned..maxReturned items (maxReturned
	// < 0: no upper bound).
	minReturned, maxReturned int
}

// queries lists the measured queries: the targets are DESIGN.md §7's.
func queries(cfg config, voc Vocabulary) []querySpec {
	fixed := func(p string, v url.Values) func(int) string {
		s := p + "?" + v.Encode()
		return func(int) string { return s }
	}
	search := func(q string, extra ...string) url.Values {
		v := url.Values{"q": {q}, "limit": {"50"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		if v.Get("from") == "" && v.Get("since") == "" {
			v.Set("since", "24h")
		}
		return v
	}
	share := func(n int) string {
		if voc.PoolTraces == 0 {
			return ""
		}
		return fmt.Sprintf("%d/%d of traces (%.2f%%)", n, voc.PoolTraces, 100*float64(n)/float64(voc.PoolTraces))
	}
	pv := voc.PromptVersion
	// Every pool trace is stored about copies times (loadgen sends the pool
	// round-robin); a query matching n pool traces finds at least
	// min(50, copies*n) traces. Without -level nothing is checked.
	copies := 0
	if voc.PoolTraces > 0 {
		copies = int(cfg.level / 12 / int64(voc.PoolTraces))
	}
	atLeast := func(n int) int { return min(50, copies*n) }
	degraded := fmt.Sprintf("prompt.version_id = %q and trace.status = degraded", pv)
	spanErr := fmt.Sprintf("prompt.version_id = %q and status = error", pv)
	p99 := func(ms float64) []Target { return []Target{{"p99", ms}} }
	p50 := func(ms float64) []Target { return []Target{{"p50", ms}} }

	qs := []querySpec{
		{name: "trace_by_id", desc: "GET /api/v1/traces/{id}, a distinct random stored trace per request",
			kind: "trace", byID: true, targets: []Target{{"p50", 5}, {"p99", 20}}, expect: "12 spans",
			minReturned: 12, maxReturned: 12},
		{name: "filtered_24h", desc: "search " + degraded + ", since=24h, limit 50",
			kind: "search", path: fixed("/api/v1/traces", search(degraded)), targets: p99(50), expect: share(voc.PromptVersionFailed),
			minReturned: atLeast(voc.PromptVersionFailed), maxReturned: 50},
		{name: "filtered_1h", desc: "search " + degraded + ", since=1h, limit 50",
			kind: "search", path: fixed("/api/v1/traces", search(degraded, "since", "1h")), targets: p99(50), expect: share(voc.PromptVersionFailed),
			minReturned: atLeast(voc.PromptVersionFailed), maxReturned: 50},
	}
	if !cfg.dataFrom.IsZero() {
		// A window 1/24 of the loaded time range, in its middle: like "1 h of
		// the last 24 h" for data loaded in minutes.
		span := cfg.dataTo.Sub(cfg.dataFrom)
		from := cfg.dataFrom.Add(span / 2)
		to := from.Add(max(span/24, time.Second))
		qs = append(qs, querySpec{name: "filtered_window", desc: fmt.Sprintf("search %s, from/to a window of 1/24 of the data (%s), limit 50", degraded, to.Sub(from).Round(time.Millisecond)),
			kind: "search", path: fixed("/api/v1/traces", search(degraded, "from", from.Format(time.RFC3339Nano), "to", to.Format(time.RFC3339Nano))),
			targets: p99(50), expect: share(voc.PromptVersionFailed),
			// The window holds ~1/24 of the data if the load rate was even; ask for half that.
			minReturned: min(50, copies*voc.PromptVersionFailed/48), maxReturned: 50})
	}
	qs = append(qs,
		querySpec{name: "filtered_span_status", desc: "search " + spanErr + ", since=24h, limit 50 (one span must satisfy both: the workload puts the version on prompt.load and the error on a tool span, so nothing matches; a full scan of the candidates)",
			kind: "search", path: fixed("/api/v1/traces", search(spanErr)), targets: p99(50), expect: "0 (no span has both)",
			maxReturned: 0},
		querySpec{name: "fulltext_common", desc: fmt.Sprintf("search input contains %q, since=24h, limit 50", voc.CommonWord),
			kind: "search", path: fixed("/api/v1/traces", search(fmt.Sprintf("input contains %q", voc.CommonWord))), targets: p50(200), expect: share(voc.CommonTraces) + " have it in some payload",
			// input is one side of the payload; only require some matches.
			minReturned: min(1, copies*voc.CommonTraces), maxReturned: 50},
		querySpec{name: "fulltext_rare", desc: fmt.Sprintf("search input contains %q (an order id), since=24h, limit 50", voc.RareWord),
			kind: "search", path: fixed("/api/v1/traces", search(fmt.Sprintf("input contains %q", voc.RareWord))), targets: p50(200), expect: share(1),
			minReturned: atLeast(1), maxReturned: 50},
		querySpec{name: "fulltext_absent", desc: fmt.Sprintf("search input contains %q (in no trace: scans everything), since=24h, limit 50", voc.AbsentWord),
			kind: "search", path: fixed("/api/v1/traces", search(fmt.Sprintf("input contains %q", voc.AbsentWord))), targets: p50(200), expect: "0",
			maxReturned: 0},
		querySpec{name: "stats_by_version", desc: "GET /api/v1/stats?by=prompt.version_id&since=24h",
			kind: "stats", path: fixed("/api/v1/stats", url.Values{"by": {"prompt.version_id"}, "since": {"24h"}}), targets: p99(300),
			expect: fmt.Sprintf("%d groups", voc.Versions), minReturned: min(1, copies) * voc.Versions, maxReturned: voc.Versions},
		querySpec{name: "stats_by_version_1h", desc: "GET /api/v1/stats?by=prompt.version_id&since=24h&interval=1h",
			kind: "stats", path: fixed("/api/v1/stats", url.Values{"by": {"prompt.version_id"}, "since": {"24h"}, "interval": {"1h"}}), targets: p99(300),
			expect: fmt.Sprintf("%d groups per hour bucket", voc.Versions), minReturned: min(1, copies) * voc.Versions, maxReturned: -1},
	)
	return qs
}

// measure runs q's warm-ups and timed iterations, one at a time, within
// cfg.budget.
func measure(ctx context.Context, c *client, cfg config, q querySpec) QueryResult {
	r := QueryResult{Name: q.name, Description: q.desc, Example: q.path(0), Targets: q.targets, Expect: q.expect, Notes: q.notes}
	deadline := time.Now().Add(cfg.budget)
	var samples []time.Duration
	for i := range cfg.warmup + cfg.k {
		if ctx.Err() != nil {
			break
		}
		if time.Now().After(deadline) {
			r.Notes = append(r.Notes, fmt.Sprintf("time budget %s spent after %d of %d timed iterations", cfg.budget, len(samples), cfg.k))
			break
		}
		d, n, notes, err := c.get(ctx, q.path(i), q.kind)
		if err != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = err.Error()
			}
			continue
		}
		r.Returned = n
		for _, note := range notes {
			if !slices.Contains(r.Notes, note) {
				r.Notes = append(r.Notes, note)
			}
		}
		if i >= cfg.warmup {
			samples = append(samples, d)
		}
	}
	r.Iterations = len(samples)
	if len(samples) > 0 && (r.Returned < q.minReturned || q.maxReturned >= 0 && r.Returned > q.maxReturned) {
		r.Wrong = fmt.Sprintf("returned %d, want %s", r.Returned, wantRange(q.minReturned, q.maxReturned))
	}
	if len(samples) == 0 {
		if len(q.targets) > 0 && r.Errors > 0 {
			fail := false
			r.Pass = &fail
		}
		return r
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	r.P50Ms = ms(quantile(samples, 0.50))
	r.P99Ms = ms(quantile(samples, 0.99))
	r.MaxMs = ms(samples[len(samples)-1])
	r.MeanMs = ms(sum / time.Duration(len(samples)))
	if len(q.targets) > 0 {
		pass := r.Errors == 0 && r.Wrong == ""
		for _, t := range q.targets {
			got := r.P99Ms
			if t.Stat == "p50" {
				got = r.P50Ms
			}
			pass = pass && got <= t.Ms
		}
		r.Pass = &pass
	}
	return r
}

// quantile returns the nearest-rank q-quantile of sorted samples: with 50
// samples, p50 is the 25th and p99 the 50th (the maximum).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func wantRange(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf(">= %d", lo)
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func passString(p *bool) string {
	switch {
	case p == nil:
		return "–"
	case *p:
		return "pass"
	}
	return "FAIL"
}

// client talks to the loupe API.
type client struct {
	base string
	http *http.Client
}

// maxBody bounds the answers read (a 12-span trace with payloads is ~100 KB).
const maxBody = 64 << 20

// answer is the union of the shapes querybench reads.
type answer struct {
	// search
	Traces []struct {
		TraceID string `json:"trace_id"`
	} `json:"traces"`
	Next string `json:"next"`
	// trace
	TraceID string            `json:"trace_id"`
	Spans   []json.RawMessage `json:"spans"`
	// stats
	Level  string `json:"level"`
	Groups []struct {
		Count int64 `json:"count"`
	} `json:"groups"`
	Notes []string `json:"notes"`
}

// get fetches path and checks the answer's shape. The duration covers the
// request and reading the whole body, not decoding it.
func (c *client) get(ctx context.Context, path, kind string) (time.Duration, int, []string, error) {
	body, d, err := c.fetch(ctx, path)
	if err != nil {
		return d, 0, nil, err
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return d, 0, nil, fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	switch kind {
	case "search":
		if a.Traces == nil {
			return d, 0, nil, fmt.Errorf("GET %s: answer has no traces list: %.200s", path, body)
		}
		return d, len(a.Traces), a.Notes, nil
	case "trace":
		if a.TraceID == "" || len(a.Spans) == 0 {
			return d, 0, nil, fmt.Errorf("GET %s: answer has no trace_id or no spans: %.200s", path, body)
		}
		return d, len(a.Spans), a.Notes, nil
	case "stats":
		if a.Groups == nil {
			return d, 0, nil, fmt.Errorf("GET %s: answer has no groups: %.200s", path, body)
		}
		return d, len(a.Groups), a.Notes, nil
	}
	return d, 0, nil, fmt.Errorf("unknown answer kind %q", kind)
}

// fetch GETs path and returns the body of a 200 answer.
func (c *client) fetch(ctx context.Context, path string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, time.Since(t0), fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	d := time.Since(t0)
	if err != nil {
		return nil, d, fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, d, fmt.Errorf("GET %s: %s: %.300s", path, resp.Status, body)
	}
	return body, d, nil
}

// count asks the server how many spans or traces (level) it holds over the
// last 24 h.
func (c *client) count(ctx context.Context, level string) (int64, error) {
	body, _, err := c.fetch(ctx, "/api/v1/stats?"+url.Values{"since": {"24h"}, "level": {level}}.Encode())
	if err != nil {
		return 0, err
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, fmt.Errorf("stats: decode answer: %w", err)
	}
	var n int64
	for _, g := range a.Groups {
		n += g.Count
	}
	return n, nil
}

// sampleIDs returns up to cfg.idsWanted distinct stored trace ids in random
// order. With a data range it lists traces in random narrow windows across
// it, so lookups hit old and new data alike; otherwise (or when that finds
// too few) it takes the newest 1000 traces of the last 24 h.
func (c *client) sampleIDs(ctx context.Context, cfg config, rng *rand.Rand) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	add := func(v url.Values) error {
		body, _, err := c.fetch(ctx, "/api/v1/traces?"+v.Encode())
		if err != nil {
			return err
		}
		var a answer
		if err := json.Unmarshal(body, &a); err != nil {
			return fmt.Errorf("list traces: decode answer: %w", err)
		}
		for _, t := range a.Traces {
			if t.TraceID != "" && !seen[t.TraceID] {
				seen[t.TraceID] = true
				ids = append(ids, t.TraceID)
			}
		}
		return nil
	}
	if !cfg.dataFrom.IsZero() {
		span := cfg.dataTo.Sub(cfg.dataFrom)
		width := max(span/200, time.Second)
		// One window per wanted id, bounded; a few ids from each.
		per := 4
		windows := min((cfg.idsWanted+per-1)/per*2, 200)
		for range windows {
			if len(ids) >= cfg.idsWanted {
				break
			}
			from := cfg.dataFrom.Add(time.Duration(rng.Int64N(int64(max(span-width, 1)))))
			v := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {from.Add(width).Format(time.RFC3339Nano)}, "limit": {fmt.Sprint(per)}}
			if err := add(v); err != nil {
				return nil, err
			}
		}
	}
	if len(ids) < cfg.idsWanted {
		if err := add(url.Values{"since": {"24h"}, "limit": {"1000"}}); err != nil {
			return nil, err
		}
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	if len(ids) > cfg.idsWanted {
		ids = ids[:cfg.idsWanted]
	}
	return ids, nil
}

// printTable prints the markdown rows of one level (bench/query.sh prints
// the full table from the JSON).
func printTable(w io.Writer, r Result) {
	fmt.Fprintf(w, "| level | query | p50 ms | p99 ms | max ms | target | result | returned |\n|---:|---|---:|---:|---:|---|---|---:|\n")
	for _, q := range r.Queries {
		var ts []string
		for _, t := range q.Targets {
			ts = append(ts, t.String())
		}
		res := passString(q.Pass)
		if q.Errors > 0 {
			res += fmt.Sprintf(" (%d errors)", q.Errors)
		}
		if q.Wrong != "" {
			res += " (wrong: " + q.Wrong + ")"
		}
		fmt.Fprintf(w, "| %d | %s | %.2f | %.2f | %.2f | %s | %s | %d |\n", r.Level, q.Name, q.P50Ms, q.P99Ms, q.MaxMs, strings.Join(ts, ", "), res, q.Returned)
	}
}
