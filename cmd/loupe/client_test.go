package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeAPI serves canned answers of loupe's JSON API and records the
// requests it gets.
type fakeAPI struct {
	t *testing.T

	mu       sync.Mutex
	requests []*http.Request
	pages    []string // successive answers of GET /api/v1/traces; the last repeats
}

const (
	pageJSON = `{"traces":[
{"trace_id":"4f1c9a27e0b34d1e8a1f00c2b7d9e301","name":"support_agent.request","start_time":"2026-06-03T17:04:05.12Z","duration_ms":133,"status":"degraded","span_count":8,"service":"support-api","environment":"production","tenant":"tenant_431","session_id":"sess_42","prompt_name":"support_agent_v3","prompt_version_id":"prv_2026_06_03_17","model":"gpt-4.1-mini","input_tokens":3184,"output_tokens":228,"cost_usd":0.0021,"error_count":1},
{"trace_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","name":"support_agent.request","start_time":"2026-06-03T17:02:00Z","duration_ms":1520.4,"status":"ok","span_count":7,"service":"support-api","environment":"production","tenant":"tenant_7","session_id":"","prompt_name":"","prompt_version_id":"","model":"","input_tokens":0,"output_tokens":0,"cost_usd":0,"error_count":0}
],"next":"c2","notes":["limit 5000 is above the maximum of 1000; returned at most 1000 traces"]}`
	statsJSON = `{"level":"trace","by":["prompt.version_id"],"groups":[
{"group":{"prompt.version_id":"prv_2026_06_03_17"},"bucket":"2026-06-03T16:00:00Z","count":1200,"errors":60,"error_rate":0.05,"p50_ms":130.5,"p95_ms":410,"p99_ms":1200,"input_tokens":380000,"output_tokens":27000,"cost_usd":2.52},
{"group":{"prompt.version_id":""},"bucket":"2026-06-03T16:00:00Z","count":3,"errors":0,"error_rate":0,"p50_ms":0.4,"p95_ms":0.9,"p99_ms":0.9,"input_tokens":0,"output_tokens":0,"cost_usd":0}
],"notes":["interval 1s gives more than 1000 buckets over 1d; used 5m"]}`
)

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, pages: []string{pageJSON}}
	trace, err := os.ReadFile(filepath.Join("testdata", "show_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		page := f.pages[0]
		if len(f.pages) > 1 {
			f.pages = f.pages[1:]
		}
		f.mu.Unlock()
		if strings.Contains(r.URL.Query().Get("q"), "maybe") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"filter: position 9: expected ok, error or unset, found \"maybe\"","position":9}`))
			return
		}
		w.Write([]byte(page))
	})
	mux.HandleFunc("GET /api/v1/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "4f1c9a27e0b34d1e8a1f00c2b7d9e301" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"trace ` + r.PathValue("id") + ` not found"}`))
			return
		}
		w.Write(trace)
	})
	mux.HandleFunc("GET /api/v1/stats", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(statsJSON)) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("no request reached the API")
	}
	return f.requests[len(f.requests)-1]
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestClientCommands(t *testing.T) {
	api, srv := newFakeAPI(t)
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout []string // substrings
		wantStderr string   // substring; "" = must be empty
		wantPath   string   // path of the last request, "" = no check
		wantQuery  url.Values
		wantAuth   string
	}{
		{name: "Traces", args: []string{"traces", "--endpoint", srv.URL, "-q", "status = error", "--since", "2h", "--limit", "5000", "--key", "k1"},
			wantStdout: []string{"TIME", "PROMPT VERSION", "4f1c9a27e0b34d1e8a1f00c2b7d9e301", "degraded", "133 ms", "3,412", "$0.0021", "prv_2026_06_03_17", "gpt-4.1-mini", "1,520 ms"},
			wantStderr: "note: limit 5000 is above the maximum of 1000", wantPath: "/api/v1/traces",
			wantQuery: url.Values{"q": {"status = error"}, "since": {"2h"}, "limit": {"5000"}}, wantAuth: "Bearer k1"},
		{name: "TracesCursorAndEnv", args: []string{"traces", "--cursor", "c2", "--from", "2026-06-03T16:00:00Z"},
			env:        map[string]string{"LOUPE_ENDPOINT": srv.URL, "LOUPE_KEY": "k2"},
			wantStdout: []string{"4f1c9a27e0b34d1e8a1f00c2b7d9e301"}, wantStderr: "more: add --cursor c2", wantPath: "/api/v1/traces",
			wantQuery: url.Values{"cursor": {"c2"}, "from": {"2026-06-03T16:00:00Z"}, "limit": {"50"}}, wantAuth: "Bearer k2"},
		{name: "FlagBeatsEnv", args: []string{"traces", "--endpoint", srv.URL, "--key", "flag"},
			env:        map[string]string{"LOUPE_ENDPOINT": "http://127.0.0.1:1", "LOUPE_KEY": "env"},
			wantStdout: []string{"4f1c9a27e0b3"}, wantStderr: "note:", wantAuth: "Bearer flag"},
		{name: "TracesJSON", args: []string{"traces", "--endpoint", srv.URL, "--json"},
			wantStdout: []string{`"trace_id": "4f1c9a27e0b34d1e8a1f00c2b7d9e301"`, `"next": "c2"`}},
		{name: "TracesBadFilter", args: []string{"traces", "--endpoint", srv.URL, "-q", "status = maybe"}, wantCode: 1,
			wantStderr: "loupe: filter: position 9: expected ok, error or unset, found \"maybe\" (HTTP 400)\n"},
		{name: "TracesBadSince", args: []string{"traces", "--endpoint", srv.URL, "--since", "yesterday"}, wantCode: 2,
			wantStderr: "loupe: --since \"yesterday\": want a positive duration\nTry: --since 15m"},
		{name: "TracesSinceAndFrom", args: []string{"traces", "--since", "1h", "--from", "2026-06-03T16:00:00Z"}, wantCode: 2, wantStderr: "give --since or --from"},
		{name: "TracesBadLimit", args: []string{"traces", "--limit", "0"}, wantCode: 2, wantStderr: "--limit 0: must be positive"},
		{name: "TracesUnquotedFilter", args: []string{"traces", "-q", "status", "=", "error"}, wantCode: 2, wantStderr: "quote the filter"},
		{name: "TracesBadEndpoint", args: []string{"traces", "--endpoint", "localhost:4318"}, wantCode: 2, wantStderr: "want an http:// or https:// URL"},
		{name: "TracesUnreachable", args: []string{"traces", "--endpoint", "http://127.0.0.1:1"}, wantCode: 1, wantStderr: "loupe: cannot reach loupe at http://127.0.0.1:1 (is loupe serve running?"},
		{name: "TracesHelp", args: []string{"traces", "-h"}, wantStderr: "Usage: loupe traces"},
		{name: "Show", args: []string{"show", "--endpoint", srv.URL, "4f1c9a27e0b34d1e8a1f00c2b7d9e301"},
			wantStdout: []string{referenceTimeline}, wantPath: "/api/v1/traces/4f1c9a27e0b34d1e8a1f00c2b7d9e301"},
		{name: "ShowFlagsAfterID", args: []string{"show", "4f1c9a27e0b34d1e8a1f00c2b7d9e301", "--endpoint", srv.URL, "--json"},
			wantStdout: []string{`"status": "degraded"`, `"span_id": "a000000000000006"`}},
		{name: "ShowNotFound", args: []string{"show", "--endpoint", srv.URL, "0123456789abcdef0123456789abcdef"}, wantCode: 1,
			wantStderr: "loupe: trace 0123456789abcdef0123456789abcdef not found (HTTP 404)\n"},
		{name: "ShowBadID", args: []string{"show", "--endpoint", srv.URL, "xyz"}, wantCode: 2, wantStderr: "Try: loupe traces"},
		{name: "ShowNoID", args: []string{"show"}, wantCode: 2, wantStderr: "show takes one trace id, got 0 arguments"},
		{name: "Stats", args: []string{"stats", "--endpoint", srv.URL, "--by", "prompt.version_id", "--interval", "1s", "-q", "kind = llm"},
			wantStdout: []string{"PROMPT.VERSION_ID", "BUCKET", "P99", "prv_2026_06_03_17", "1,200", "5.0%", "131 ms", "1,200 ms", "380,000", "$2.52", "0.4 ms"},
			wantStderr: "note: interval 1s gives more", wantPath: "/api/v1/stats",
			wantQuery: url.Values{"by": {"prompt.version_id"}, "interval": {"1s"}, "q": {"kind = llm"}, "level": {"trace"}}},
		{name: "StatsJSON", args: []string{"stats", "--endpoint", srv.URL, "--by", "tenant", "--json", "--level", "span"},
			wantStdout: []string{`"groups": [`}, wantQuery: url.Values{"by": {"tenant"}, "level": {"span"}}},
		{name: "StatsBadLevel", args: []string{"stats", "--level", "session"}, wantCode: 2, wantStderr: "--level \"session\": want trace or span"},
		{name: "StatsBadInterval", args: []string{"stats", "--interval", "0"}, wantCode: 2, wantStderr: "--interval \"0\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, envOf(tt.env), strings.NewReader(""), &stdout, &stderr)
			if got := code(err); got != tt.wantCode {
				t.Fatalf("code = %d (err %v), want %d; stderr:\n%s", got, err, tt.wantCode, stderr.String())
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if tt.wantStderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
			if strings.Contains(stdout.String(), "\x1b[") {
				t.Errorf("stdout is not a terminal but has colour escapes")
			}
			if tt.wantPath == "" && tt.wantQuery == nil && tt.wantAuth == "" {
				return
			}
			r := api.last()
			if tt.wantPath != "" && r.URL.Path != tt.wantPath {
				t.Errorf("path = %q, want %q", r.URL.Path, tt.wantPath)
			}
			if tt.wantQuery != nil {
				if diff := cmp.Diff(tt.wantQuery, r.URL.Query()); diff != "" {
					t.Errorf("query (-want +got):\n%s", diff)
				}
			}
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
		})
	}
}

func TestPrintTraceTableGolden(t *testing.T) {
	var page tracePage
	if err := json.Unmarshal([]byte(pageJSON), &page); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := printTraceTable(&b, page.Traces, time.UTC); err != nil {
		t.Fatal(err)
	}
	checkGoldenText(t, "traces.golden", b.String())
}

func TestPrintStatsTableGolden(t *testing.T) {
	var st statsAnswer
	if err := json.Unmarshal([]byte(statsJSON), &st); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := printStatsTable(&b, &st, true, time.UTC); err != nil {
		t.Fatal(err)
	}
	checkGoldenText(t, "stats.golden", b.String())
}

// summaryJSON is a trace summary starting at start.
func summaryJSON(id string, start time.Time) string {
	return `{"trace_id":"` + id + `","name":"req ` + id[:4] + `","start_time":"` + start.Format(time.RFC3339Nano) +
		`","duration_ms":10,"status":"ok","span_count":3,"input_tokens":5,"output_tokens":5,"cost_usd":0}`
}

func TestTail(t *testing.T) {
	api, srv := newFakeAPI(t)
	t0 := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	a := summaryJSON("aaaa0000000000000000000000000001", t0)
	b := summaryJSON("bbbb0000000000000000000000000002", t0.Add(time.Second))
	c := summaryJSON("cccc0000000000000000000000000003", t0.Add(2*time.Second))
	d := summaryJSON("dddd0000000000000000000000000004", t0.Add(3*time.Second))
	api.pages = []string{
		`{"traces":[` + b + `,` + a + `],"next":""}`,           // first poll: backlog, -n 1 keeps b
		`{"traces":[` + c + `,` + b + `,` + a + `],"next":""}`, // c is new
		`{"traces":[],"next":""}`,                              // nothing
		`{"traces":[` + d + `,` + c + `],"next":""}`,           // d is new
	}
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { // owned by the test: it waits on done
		done <- run(ctx, []string{"tail", "--endpoint", srv.URL, "--every", "100ms", "-n", "1", "-q", "status = ok", "--json"},
			envOf(nil), strings.NewReader(""), &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "dddd") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(250 * time.Millisecond) // a few more polls of the last page: no repeats
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail returned %v after cancel, want nil; stderr %s", err, stderr.String())
	}
	var ids []string
	for line := range strings.Lines(stdout.String()) {
		var s struct {
			TraceID string `json:"trace_id"`
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		ids = append(ids, s.TraceID[:4])
	}
	if diff := cmp.Diff([]string{"bbbb", "cccc", "dddd"}, ids); diff != "" {
		t.Errorf("printed traces (-want +got):\n%s", diff)
	}
	r := api.last()
	if got := r.URL.Query(); got.Get("since") != "5m" || got.Get("q") != "status = ok" || got.Get("limit") != "200" {
		t.Errorf("poll query = %v, want since=5m, the filter and limit=200", got)
	}
}

func TestTailStopsOnBadFilter(t *testing.T) {
	_, srv := newFakeAPI(t)
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"tail", "--endpoint", srv.URL, "-q", "status = maybe"}, envOf(nil), strings.NewReader(""), &stdout, &stderr)
	if code(err) != 1 || !strings.Contains(stderr.String(), "loupe: filter: position 9") {
		t.Errorf("tail with a bad filter = %v, stderr %q; want exit 1 with the filter error", err, stderr.String())
	}
}

func TestTailForgetIsBounded(t *testing.T) {
	tl := &tailer{cfg: tailConfig{Window: time.Minute}, seen: make(map[string]time.Time)}
	t0 := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	tl.seen["old"] = t0
	tl.seen["new"] = t0.Add(3 * time.Minute)
	tl.seen["recent"] = t0.Add(2 * time.Minute)
	tl.forget()
	if _, ok := tl.seen["old"]; ok || len(tl.seen) != 2 {
		t.Errorf("seen = %v, want old forgotten (older than newest - 2 windows)", tl.seen)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
