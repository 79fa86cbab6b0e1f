package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe/bench/workload"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeAPI serves the shapes of loupe's query API: a fixed set of traces,
// listed newest first; per-path delays and failures are configurable.
type fakeAPI struct {
	ids      []string
	delay    map[string]time.Duration // by path prefix
	fail     map[string]int           // status by path prefix
	empty    []string                 // filters containing one of these match nothing
	mu       sync.Mutex
	requests []string // path?query of every request
	lookups  []string // trace ids looked up
}

func newFakeAPI(n int) *fakeAPI {
	f := &fakeAPI{delay: map[string]time.Duration{}, fail: map[string]int{}}
	for i := range n {
		f.ids = append(f.ids, fmt.Sprintf("%032x", 0xabc000+i))
	}
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.mu.Unlock()
	for p, d := range f.delay {
		if strings.HasPrefix(r.URL.Path, p) {
			time.Sleep(d)
		}
	}
	for p, code := range f.fail {
		if strings.HasPrefix(r.URL.Path, p) {
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "boom"})
			return
		}
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	v := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/v1/traces":
		limit := 50
		fmt.Sscan(v.Get("limit"), &limit)
		type sum struct {
			TraceID string `json:"trace_id"`
			Name    string `json:"name"`
		}
		page := struct {
			Traces []sum    `json:"traces"`
			Next   string   `json:"next"`
			Notes  []string `json:"notes,omitempty"`
		}{Traces: []sum{}}
		start := 0
		if from := v.Get("from"); from != "" {
			// Spread windows over the ids so id sampling sees many.
			start = int(hash(from) % uint64(len(f.ids)))
		}
		// Like the real workload: nothing is absent, and no span has both a
		// prompt version and an error.
		if q := v.Get("q"); strings.Contains(q, "absent") || strings.Contains(q, "status = error") ||
			slices.ContainsFunc(f.empty, func(e string) bool { return strings.Contains(q, e) }) {
			limit = 0
		}
		for i := start; i < len(f.ids) && len(page.Traces) < limit; i++ {
			page.Traces = append(page.Traces, sum{TraceID: f.ids[i], Name: "support_agent.request"})
		}
		if len(page.Traces) > 0 {
			page.Next = "c1"
		}
		_ = json.NewEncoder(w).Encode(page)
	case strings.HasPrefix(r.URL.Path, "/api/v1/traces/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/traces/")
		f.mu.Lock()
		f.lookups = append(f.lookups, id)
		f.mu.Unlock()
		if !slices.Contains(f.ids, id) {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "trace " + id + " not found"})
			return
		}
		spans := make([]map[string]any, 12)
		for i := range spans {
			spans[i] = map[string]any{"span_id": fmt.Sprintf("%016x", i+1), "name": "s"}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"trace_id": id, "status": "ok", "spans": spans})
	case r.URL.Path == "/api/v1/stats":
		groups := []map[string]any{{"count": 1200}}
		if v.Get("by") != "" {
			groups = nil
			buckets := 1
			if v.Get("interval") != "" {
				buckets = 2
			}
			for b := range buckets {
				for i := range 4 {
					groups = append(groups, map[string]any{"group": map[string]string{"prompt.version_id": fmt.Sprint("prv_", i)},
						"bucket": fmt.Sprintf("2026-06-03T1%d:00:00Z", b), "count": 300, "p50_ms": 1500.0})
				}
			}
		}
		if v.Get("level") == "span" {
			groups[0]["count"] = 14400
		}
		level := v.Get("level")
		if level == "" {
			level = "trace"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"level": level, "by": v["by"], "groups": groups})
	default:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "no route"})
	}
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// runJSON runs querybench against srv and decodes its JSON result.
func runJSON(t *testing.T, srv *httptest.Server, args ...string) Result {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"-endpoint", srv.URL, "-json"}, args...)
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("run(%q) = %v; stderr:\n%s", args, err, errOut.String())
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("decode result: %v\n%s", err, out.String())
	}
	return r
}

func byName(r Result) map[string]QueryResult {
	m := map[string]QueryResult{}
	for _, q := range r.Queries {
		m[q.Name] = q
	}
	return m
}

func TestRunMeasuresEveryQuery(t *testing.T) {
	f := newFakeAPI(300)
	srv := httptest.NewServer(f)
	defer srv.Close()
	from := time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC)
	r := runJSON(t, srv, "-k", "5", "-warmup", "2", "-level", "20000",
		"-data-from", from.Format(time.RFC3339), "-data-to", from.Add(5*time.Minute).Format(time.RFC3339))

	if got, want := r.StoredSpans, int64(14400); got != want {
		t.Errorf("StoredSpans = %d, want %d", got, want)
	}
	if _, err := os.Stat("/proc/loadavg"); err == nil && (r.LoadAvgBefore < 0 || r.LoadAvgAfter < 0) {
		t.Errorf("load averages %v, %v: want both read from /proc/loadavg", r.LoadAvgBefore, r.LoadAvgAfter)
	}
	if got, want := r.StoredTraces, int64(1200); got != want {
		t.Errorf("StoredTraces = %d, want %d", got, want)
	}
	var names []string
	for _, q := range r.Queries {
		names = append(names, q.Name)
	}
	wantNames := []string{"trace_by_id", "filtered_24h", "filtered_1h", "filtered_window", "filtered_span_status",
		"fulltext_common", "fulltext_rare", "fulltext_absent", "stats_by_version", "stats_by_version_1h"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	wantReturned := map[string]int{"trace_by_id": 12, "filtered_24h": 50, "fulltext_absent": 0, "stats_by_version": 4, "stats_by_version_1h": 8}
	for _, q := range r.Queries {
		t.Run(q.Name, func(t *testing.T) {
			if q.Errors != 0 || q.FirstError != "" || q.Wrong != "" {
				t.Errorf("errors = %d (%s), wrong %q; want none", q.Errors, q.FirstError, q.Wrong)
			}
			if q.Iterations != 5 {
				t.Errorf("iterations = %d, want 5", q.Iterations)
			}
			if !(0 < q.P50Ms && q.P50Ms <= q.P99Ms && q.P99Ms <= q.MaxMs) {
				t.Errorf("p50 %v, p99 %v, max %v: want 0 < p50 <= p99 <= max", q.P50Ms, q.P99Ms, q.MaxMs)
			}
			if q.Pass == nil || !*q.Pass {
				t.Errorf("pass = %v, want true (the fake answers in well under every target)", q.Pass)
			}
			if want, ok := wantReturned[q.Name]; ok && q.Returned != want {
				t.Errorf("returned = %d, want %d", q.Returned, want)
			}
		})
	}

	// Trace lookups: 7 distinct ids (2 warm-ups + 5), all of them listed by the server.
	f.mu.Lock()
	lookups, requests := slices.Clone(f.lookups), slices.Clone(f.requests)
	f.mu.Unlock()
	if len(lookups) != 7 {
		t.Errorf("%d trace lookups, want 7", len(lookups))
	}
	distinct := map[string]bool{}
	for _, id := range lookups {
		distinct[id] = true
	}
	if len(distinct) != len(lookups) {
		t.Errorf("trace lookups repeat ids: %q", lookups)
	}

	// The filters carry the workload's vocabulary, encoded once.
	voc := r.Vocabulary
	wantInRequests := []string{
		"q=prompt.version_id+%3D+%22" + voc.PromptVersion + "%22+and+trace.status+%3D+degraded",
		"q=prompt.version_id+%3D+%22" + voc.PromptVersion + "%22+and+status+%3D+error",
		"q=input+contains+%22refund%22",
		"q=input+contains+%22" + voc.RareWord + "%22",
		"by=prompt.version_id&interval=1h&since=24h",
		"since=1h",
	}
	all := strings.Join(requests, "\n")
	for _, w := range wantInRequests {
		if !strings.Contains(all, w) {
			t.Errorf("no request contains %q; requests:\n%s", w, all)
		}
	}
	// The narrow window lies inside the data range.
	byN := byName(r)
	win := byN["filtered_window"].Example
	if !strings.Contains(win, "from=2026-06-03T10%3A02%3A30Z") || !strings.Contains(win, "to=2026-06-03T10%3A02%3A42.5Z") {
		t.Errorf("filtered_window request %q: want from 10:02:30 to 10:02:42.5 (the middle 1/24 of 10:00-10:05)", win)
	}
}

func TestRunReportsFailuresAndMissedTargets(t *testing.T) {
	f := newFakeAPI(100)
	f.delay["/api/v1/traces/"] = 30 * time.Millisecond // trace by id misses p50 <= 5 ms
	f.fail["/api/v1/stats"] = http.StatusInternalServerError
	srv := httptest.NewServer(f)
	defer srv.Close()
	r := runJSON(t, srv, "-k", "3", "-warmup", "1", "-only", "trace_by_id|stats|filtered_24h")
	if r.StoredSpans != -1 || r.StoredTraces != -1 {
		t.Errorf("stored spans/traces = %d/%d with a failing stats endpoint, want -1/-1", r.StoredSpans, r.StoredTraces)
	}
	q := byName(r)
	tests := []struct {
		name       string
		wantPass   bool
		wantErrors int
		wantIter   int
		errSubstr  string
	}{
		{"trace_by_id", false, 0, 3, ""},
		{"filtered_24h", true, 0, 3, ""},
		{"stats_by_version", false, 4, 0, "500 Internal Server Error"},
		{"stats_by_version_1h", false, 4, 0, `{"error":"boom"}`},
	}
	if len(q) != len(tests) {
		t.Errorf("ran %d queries, want %d (-only)", len(q), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := q[tt.name]
			if !ok {
				t.Fatalf("query %s not run", tt.name)
			}
			if got.Pass == nil || *got.Pass != tt.wantPass {
				t.Errorf("pass = %v, want %v", got.Pass, tt.wantPass)
			}
			if got.Errors != tt.wantErrors || got.Iterations != tt.wantIter {
				t.Errorf("errors, iterations = %d, %d; want %d, %d", got.Errors, got.Iterations, tt.wantErrors, tt.wantIter)
			}
			if !strings.Contains(got.FirstError, tt.errSubstr) {
				t.Errorf("first error %q does not contain %q", got.FirstError, tt.errSubstr)
			}
		})
	}
	if p50 := q["trace_by_id"].P50Ms; p50 < 30 {
		t.Errorf("trace_by_id p50 = %v ms, want >= 30 (the fake's delay)", p50)
	}
}

func TestRunNoMatchesWhereTheWorkloadHasSomeIsWrong(t *testing.T) {
	f := newFakeAPI(100)
	f.empty = []string{"refund", "degraded"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	tests := []struct {
		level     int64
		wantWrong map[string]string
	}{
		// 1M spans: each of the 640 pool traces is stored 130 times.
		{1_000_000, map[string]string{"filtered_24h": "returned 0, want 50", "fulltext_common": "returned 0, want 1..50"}},
		// Below one copy of the pool nothing is known to match.
		{6000, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.level), func(t *testing.T) {
			r := runJSON(t, srv, "-k", "1", "-warmup", "0", "-level", fmt.Sprint(tt.level), "-only", "filtered_24h|fulltext_common|fulltext_absent")
			for _, q := range r.Queries {
				if q.Wrong != tt.wantWrong[q.Name] {
					t.Errorf("%s: wrong = %q, want %q", q.Name, q.Wrong, tt.wantWrong[q.Name])
				}
				if wantPass := tt.wantWrong[q.Name] == ""; q.Pass == nil || *q.Pass != wantPass {
					t.Errorf("%s: pass = %v, want %v", q.Name, q.Pass, wantPass)
				}
			}
		})
	}
}

func TestRunWrongShapeIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"items":[]}`) // 200, but not the API's shape
	}))
	defer srv.Close()
	r := runJSON(t, srv, "-k", "2", "-warmup", "0", "-only", "filtered_24h|stats_by_version$")
	for _, q := range r.Queries {
		if q.Errors != 2 || q.Iterations != 0 || q.Pass == nil || *q.Pass {
			t.Errorf("%s: errors %d, iterations %d, pass %v; want 2, 0, false", q.Name, q.Errors, q.Iterations, q.Pass)
		}
	}
}

func TestRunBudgetBoundsIterations(t *testing.T) {
	f := newFakeAPI(10)
	f.delay["/api/v1/stats"] = 40 * time.Millisecond
	srv := httptest.NewServer(f)
	defer srv.Close()
	begin := time.Now()
	r := runJSON(t, srv, "-k", "1000", "-warmup", "0", "-budget", "100ms", "-only", "stats_by_version$")
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("run took %v with a 100ms budget", d)
	}
	q := r.Queries[0]
	if q.Iterations < 1 || q.Iterations > 5 {
		t.Errorf("iterations = %d, want 1..5 in a 100 ms budget of 40 ms requests", q.Iterations)
	}
	if len(q.Notes) == 0 || !strings.Contains(q.Notes[0], "budget") {
		t.Errorf("notes = %q, want one about the budget", q.Notes)
	}
}

func TestRunTable(t *testing.T) {
	srv := httptest.NewServer(newFakeAPI(20))
	defer srv.Close()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-endpoint", srv.URL, "-k", "2", "-warmup", "0", "-level", "777", "-only", "stats_by_version$"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want 3:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[2], "| 777 | stats_by_version | ") || !strings.Contains(lines[2], "| p99 ≤ 300 | pass | 4 |") {
		t.Errorf("row = %q", lines[2])
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"loopback v6", []string{"-endpoint", "http://[::1]:4318"}, ""},
		{"localhost", []string{"-endpoint", "http://localhost:4318/"}, ""},
		{"remote", []string{"-endpoint", "http://10.0.0.1:4318"}, "loopback"},
		{"remote name", []string{"-endpoint", "http://example.com"}, "loopback"},
		{"scheme", []string{"-endpoint", "ftp://127.0.0.1"}, "http://"},
		{"k zero", []string{"-k", "0"}, "-k 0"},
		{"bad from", []string{"-data-from", "yesterday"}, "-data-from"},
		{"from after to", []string{"-data-from", "2026-06-03T10:00:00Z", "-data-to", "2026-06-03T09:00:00Z"}, "not before"},
		{"bad only", []string{"-only", "("}, "-only"},
		{"extra args", []string{"x"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			_, err := parseFlags(tt.args, &errOut)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("parseFlags(%q) = %v, want nil", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	fifty := make([]int, 50)
	for i := range fifty {
		fifty[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		wantMs int
	}{
		{"one sample p50", ms(7), 0.5, 7},
		{"one sample p99", ms(7), 0.99, 7},
		{"p50 of 4", ms(1, 2, 3, 4), 0.5, 2},
		{"p50 of 50 is the 25th", ms(fifty...), 0.5, 25},
		{"p99 of 50 is the max", ms(fifty...), 0.99, 50},
		{"p99 of 200 is the 198th", ms(func() []int {
			s := make([]int, 200)
			for i := range s {
				s[i] = i + 1
			}
			return s
		}()...), 0.99, 198},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := quantile(tt.sorted, tt.q), time.Duration(tt.wantMs)*time.Millisecond; got != want {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, want)
			}
		})
	}
}

func TestAnalyze(t *testing.T) {
	voc := analyze(1, 64, 10)
	if voc != analyze(1, 64, 10) {
		t.Errorf("analyze is not deterministic")
	}
	if voc.PoolTraces != 640 {
		t.Errorf("PoolTraces = %d, want 640", voc.PoolTraces)
	}
	if !strings.HasPrefix(voc.PromptVersion, "prv_") || voc.PromptVersionFailed == 0 || voc.PromptVersionTraces <= voc.PromptVersionFailed {
		t.Errorf("prompt version %q with %d traces, %d failing: want a prv_ version with some but not all failing",
			voc.PromptVersion, voc.PromptVersionTraces, voc.PromptVersionFailed)
	}
	// ~3% of traces fail (workload.ErrorRate).
	if voc.FailedTraces < 5 || voc.FailedTraces > 45 {
		t.Errorf("FailedTraces = %d of 640, want about 3%%", voc.FailedTraces)
	}
	if !orderIDRe.MatchString(voc.RareWord) || voc.RareWord != orderIDRe.FindString(voc.RareWord) {
		t.Errorf("RareWord = %q, want an order id", voc.RareWord)
	}
	if voc.CommonTraces < 640/3 {
		t.Errorf("CommonTraces = %d, want most of 640", voc.CommonTraces)
	}
	// Independently: the rare word is in exactly one pool trace, the absent word in none.
	g := workload.New(1)
	text := map[string]*strings.Builder{}
	for range 64 {
		req := g.Request(10, time.Now())
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					id := string(s.GetTraceId())
					if text[id] == nil {
						text[id] = &strings.Builder{}
					}
					for _, kv := range s.GetAttributes() {
						text[id].WriteString(kv.GetValue().GetStringValue())
					}
				}
			}
		}
	}
	var rare, absent int
	for _, b := range text {
		if strings.Contains(b.String(), voc.RareWord) {
			rare++
		}
		if strings.Contains(b.String(), voc.AbsentWord) {
			absent++
		}
	}
	if rare != 1 || absent != 0 {
		t.Errorf("rare word in %d traces, absent word in %d; want 1 and 0", rare, absent)
	}
	if other := analyze(2, 64, 10); other.RareWord == voc.RareWord {
		t.Errorf("seeds 1 and 2 give the same rare word %q", voc.RareWord)
	}
}
