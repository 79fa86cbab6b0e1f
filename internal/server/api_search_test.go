package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
	"github.com/loupehq/loupe/internal/server"
)

// fakeStore is a reader that also implements server.Searcher; it records
// the last requests.
type fakeStore struct {
	fakeReader
	SearchFn func(ctx context.Context, q query.TraceSearch) (*loupe.TracePage, error)
	StatsFn  func(ctx context.Context, q query.StatsRequest) (*loupe.Stats, error)

	search *query.TraceSearch
	stats  *query.StatsRequest
}

var _ server.Searcher = (*fakeStore)(nil)

func (f *fakeStore) SearchTraces(ctx context.Context, q query.TraceSearch) (*loupe.TracePage, error) {
	f.search = &q
	if f.SearchFn == nil {
		return &loupe.TracePage{}, nil
	}
	return f.SearchFn(ctx, q)
}

func (f *fakeStore) Stats(ctx context.Context, q query.StatsRequest) (*loupe.Stats, error) {
	f.stats = &q
	if f.StatsFn == nil {
		return &loupe.Stats{}, nil
	}
	return f.StatsFn(ctx, q)
}

// checkGolden compares an indented JSON body with testdata/name.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func summaries() []loupe.TraceSummary {
	tid1, _ := loupe.ParseTraceID("4f1c9a27e0b34d1e8a1f00c2b7d9e301")
	tid2, _ := loupe.ParseTraceID("0a1b2c3d4e5f60718293a4b5c6d7e8f9")
	cest := time.FixedZone("CEST", 2*3600)
	return []loupe.TraceSummary{
		{Project: loupe.DefaultProject, TraceID: tid1, Name: "support_agent.request", Start: time.Date(2026, 6, 3, 19, 4, 5, 120000000, cest),
			Duration: 133, Status: loupe.TraceDegraded, SpanCount: 8, Service: "support-api", Environment: "production", Tenant: "tenant_431",
			SessionID: "sess_42", PromptName: "support_agent_v3", PromptVersionID: "prv_2026_06_03_17", Model: "gpt-4.1-mini",
			InputTokens: 3184, OutputTokens: 228, CostUSD: 0.0021, ErrorCount: 1},
		{Project: loupe.DefaultProject, TraceID: tid2, Name: "support_agent.request", Start: time.Date(2026, 6, 3, 17, 2, 0, 0, time.UTC),
			Duration: math.NaN(), Status: loupe.TraceOK, SpanCount: 7, Service: "support-api", Environment: "production", Tenant: "tenant_7"},
	}
}

func TestSearch(t *testing.T) {
	store := &fakeStore{SearchFn: func(context.Context, query.TraceSearch) (*loupe.TracePage, error) {
		return &loupe.TracePage{Traces: summaries(), Next: "c2", Notes: []string{"store note"}}, nil
	}}
	h := newHandler(t, server.Options{}, &fakeIngester{}, store)

	t.Run("OK", func(t *testing.T) {
		q := url.Values{
			"q":      {`prompt.version_id = "prv_2026_06_03_17" and status = error`},
			"from":   {"2026-06-03T16:00:00Z"},
			"to":     {"2026-06-03T20:00:00+02:00"},
			"limit":  {"5000"},
			"cursor": {"c1"},
		}
		rec := get(h, "/api/v1/traces?"+q.Encode())
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
		checkGolden(t, "search.golden", rec.Body.Bytes())
		got := store.search
		if got == nil {
			t.Fatal("SearchTraces not called")
		}
		want := query.TraceSearch{Project: loupe.DefaultProject, From: time.Date(2026, 6, 3, 16, 0, 0, 0, time.UTC),
			To: time.Date(2026, 6, 3, 18, 0, 0, 0, time.UTC), Limit: query.MaxLimit, Cursor: "c1"}
		if got.Filter == nil || got.Filter.String() != `prompt.version_id = "prv_2026_06_03_17" and status = error` {
			t.Errorf("Filter = %v, want the parsed q", got.Filter)
		}
		got.Filter = nil
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("request mismatch (-want +got):\n%s", diff)
		}
		if got.To.Location() != time.UTC {
			t.Errorf("to = %v, want UTC", got.To)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		before := time.Now()
		rec := get(h, "/api/v1/traces")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		got := store.search
		if got.Filter != nil || got.Limit != query.DefaultLimit || got.Cursor != "" {
			t.Errorf("request = %+v, want no filter, limit %d, no cursor", got, query.DefaultLimit)
		}
		if d := got.To.Sub(got.From); d != time.Hour {
			t.Errorf("range = %v, want 1h", d)
		}
		if got.To.Before(before) || got.To.After(time.Now()) || got.To.Location() != time.UTC {
			t.Errorf("to = %v, want now in UTC", got.To)
		}
	})

	t.Run("Since", func(t *testing.T) {
		for _, tt := range []struct {
			since    string
			want     time.Duration
			wantNote string
		}{
			{"15m", 15 * time.Minute, ""},
			{"7d", 7 * 24 * time.Hour, ""},
			{"1d12h", 36 * time.Hour, ""},
			{"400d", query.MaxRange, "since 400d is longer than the limit of 90d; searched the last 90d"},
		} {
			rec := get(h, "/api/v1/traces?since="+tt.since)
			if rec.Code != http.StatusOK {
				t.Fatalf("since=%s: %d %s, want 200", tt.since, rec.Code, rec.Body)
			}
			if d := store.search.To.Sub(store.search.From); d != tt.want {
				t.Errorf("since=%s: range %v, want %v", tt.since, d, tt.want)
			}
			var body struct{ Notes []string }
			json.Unmarshal(rec.Body.Bytes(), &body)
			wantNotes := []string{"store note"}
			if tt.wantNote != "" {
				wantNotes = []string{tt.wantNote, "store note"}
			}
			if diff := cmp.Diff(wantNotes, body.Notes); diff != "" {
				t.Errorf("since=%s: notes (-want +got):\n%s", tt.since, diff)
			}
		}
	})

	t.Run("RangeClamped", func(t *testing.T) {
		rec := get(h, "/api/v1/traces?from=2020-01-01T00:00:00Z&to=2026-06-03T00:00:00Z")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET = %d %s, want 200", rec.Code, rec.Body)
		}
		if d := store.search.To.Sub(store.search.From); d != query.MaxRange {
			t.Errorf("range = %v, want clamped to %v", d, query.MaxRange)
		}
		if !strings.Contains(rec.Body.String(), "longer than the limit of 90d") {
			t.Errorf("body %s lacks the clamping note", rec.Body)
		}
	})

	bad := []struct {
		name, query, wantError string
	}{
		{"LimitZero", "limit=0", `limit: "0" is not a positive integer: invalid`},
		{"LimitWord", "limit=ten", `limit: "ten" is not a positive integer: invalid`},
		{"Since", "since=yesterday", `since: "yesterday" is not a positive duration (e.g. 15m, 1h, 7d): invalid`},
		{"SinceNegative", "since=-1h", `since: "-1h" is not a positive duration (e.g. 15m, 1h, 7d): invalid`},
		{"From", "from=2026-06-03", `from: "2026-06-03" is not an RFC 3339 time (e.g. 2026-06-03T16:00:00Z): invalid`},
		{"To", "to=now", `to: "now" is not an RFC 3339 time (e.g. 2026-06-03T17:00:00Z): invalid`},
		{"FromAfterTo", "from=2026-06-03T18:00:00Z&to=2026-06-03T17:00:00Z", `from: 2026-06-03T18:00:00Z is not before to (2026-06-03T17:00:00Z): invalid`},
		{"SinceAndFrom", "since=1h&from=2026-06-03T18:00:00Z", `since: give since or from, not both: invalid`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, "/api/v1/traces?"+tt.query)
			want, _ := json.Marshal(map[string]string{"error": tt.wantError})
			if rec.Code != http.StatusBadRequest || rec.Body.String() != string(want) {
				t.Errorf("GET ?%s = %d %s, want 400 %s", tt.query, rec.Code, rec.Body, want)
			}
		})
	}

	t.Run("BadFilter", func(t *testing.T) {
		rec := get(h, "/api/v1/traces?q="+url.QueryEscape(`status = error and duration > abc`))
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("GET = %d %s, want 400", rec.Code, rec.Body)
		}
		var body struct {
			Error    string `json:"error"`
			Position *int   `json:"position"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Position == nil || *body.Position != 30 || !strings.HasPrefix(body.Error, "filter: position 30: ") {
			t.Errorf("body = %s, want the error at position 30", rec.Body)
		}
	})
}

func TestSearchStoreErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{"BadCursor", fmt.Errorf("cursor %q: %w", "zz", loupe.ErrInvalid), 400, `{"error":"search traces: cursor \"zz\": invalid"}`},
		{"Cancelled", context.Canceled, 503, `{"error":"request cancelled before it was stored, retry"}`},
		{"Broken", errors.New("disk on fire"), 500, `{"error":"internal error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{SearchFn: func(context.Context, query.TraceSearch) (*loupe.TracePage, error) { return nil, tt.err }}
			h := newHandler(t, server.Options{}, &fakeIngester{}, store)
			rec := get(h, "/api/v1/traces")
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("GET = %d %s, want %d %s", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestSearchEmptyPage(t *testing.T) {
	h := newHandler(t, server.Options{}, &fakeIngester{}, &fakeStore{})
	rec := get(h, "/api/v1/traces")
	if rec.Code != http.StatusOK || rec.Body.String() != `{"traces":[],"next":""}` {
		t.Errorf("GET = %d %s, want 200 {\"traces\":[],\"next\":\"\"}", rec.Code, rec.Body)
	}
}

func TestAPINotImplementedAndNotFound(t *testing.T) {
	tests := []struct {
		name       string
		reader     loupe.TraceReader
		method     string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"SearchNilReader", nil, "GET", "/api/v1/traces", 501, `{"error":"trace reading is not enabled on this server: this store cannot search"}`},
		{"StatsNilReader", nil, "GET", "/api/v1/stats?by=tenant", 501, `{"error":"trace reading is not enabled on this server: this store cannot search"}`},
		{"SearchReaderOnly", readerOf(), "GET", "/api/v1/traces", 501, `{"error":"trace reading is not enabled on this server: this store cannot search"}`},
		{"UnknownRoute", &fakeStore{}, "GET", "/api/v1/nope", 404, `{"error":"no API endpoint GET /api/v1/nope: not found"}`},
		{"UnknownVersion", &fakeStore{}, "GET", "/api/v2/traces", 404, `{"error":"no API endpoint GET /api/v2/traces: not found"}`},
		{"EmptyTraceID", &fakeStore{}, "GET", "/api/v1/traces/", 404, `{"error":"no API endpoint GET /api/v1/traces/: not found"}`},
		{"WrongMethod", &fakeStore{}, "DELETE", "/api/v1/traces", 404, `{"error":"no API endpoint DELETE /api/v1/traces: not found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, server.Options{}, &fakeIngester{}, tt.reader)
			rec := httptestDo(h, tt.method, tt.path)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"15m", 15 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"1w2d3h", 9*24*time.Hour + 3*time.Hour, false},
		{"0d", 0, false},
		{"", 0, true},
		{"d", 0, true},
		{"7", 0, true},
		{"7x", 0, true},
		{"1d1d", 0, true},
		{"99999999999999d", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := server.ParseDuration(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{90 * 24 * time.Hour, "90d"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"}, {5 * time.Minute, "5m"}, {30 * time.Second, "30s"}, {0, "0s"},
	} {
		if got := server.FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
