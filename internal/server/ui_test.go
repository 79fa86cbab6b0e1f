package server_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/query"
	"github.com/loupehq/loupe/internal/server"
)

// uiStore is a reader and Searcher for the UI tests. The UI runs several
// stats queries at once, so it records requests under a lock.
type uiStore struct {
	mu       sync.Mutex
	searches []query.TraceSearch
	stats    []query.StatsRequest
	traces   int // Trace calls

	page     *loupe.TracePage
	statsFn  func(q query.StatsRequest) *loupe.Stats
	traceFn  func(id loupe.TraceID) (*loupe.Trace, error)
	searchFn func(q query.TraceSearch) (*loupe.TracePage, error)
}

func (s *uiStore) Trace(_ context.Context, _ string, id loupe.TraceID) (*loupe.Trace, error) {
	s.mu.Lock()
	s.traces++
	s.mu.Unlock()
	if s.traceFn == nil {
		return nil, loupe.ErrNotFound
	}
	return s.traceFn(id)
}

func (s *uiStore) SearchTraces(_ context.Context, q query.TraceSearch) (*loupe.TracePage, error) {
	s.mu.Lock()
	s.searches = append(s.searches, q)
	s.mu.Unlock()
	if s.searchFn != nil {
		return s.searchFn(q)
	}
	if s.page == nil {
		return &loupe.TracePage{}, nil
	}
	return s.page, nil
}

func (s *uiStore) Stats(_ context.Context, q query.StatsRequest) (*loupe.Stats, error) {
	s.mu.Lock()
	s.stats = append(s.stats, q)
	s.mu.Unlock()
	if s.statsFn == nil {
		return &loupe.Stats{}, nil
	}
	return s.statsFn(q), nil
}

func (s *uiStore) lastSearch(t *testing.T) query.TraceSearch {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.searches) == 0 {
		t.Fatal("no search request reached the store")
	}
	return s.searches[len(s.searches)-1]
}

// getAs sends a GET running as principal p.
func getAs(h http.Handler, p auth.Principal, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req = req.WithContext(auth.NewContext(req.Context(), p))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// hostile is a value that must render as inert text.
const hostile = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> javascript:alert(1) \x1b[31mred\x1b[0m"

// activeMarkup finds markup that hostile data could have produced: a
// script or img element other than the app's own, an inline handler, a
// javascript: URL, or a raw ESC byte in text. Form values (value="...")
// may hold ESC: a quick filter's value must round-trip exactly, and an
// attribute value is never shown as text.
func activeMarkup(body string) []string {
	var found []string
	body = regexp.MustCompile(`\svalue="[^"]*"`).ReplaceAllString(body, " value=")
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<script>window`),
		regexp.MustCompile(`<img\b`),
		regexp.MustCompile(`(?i)\son\w+\s*=\s*"?window`),
		regexp.MustCompile(`(?i)(href|src)="\s*javascript:`),
		regexp.MustCompile("\x1b"),
	} {
		if m := re.FindString(body); m != "" {
			found = append(found, m)
		}
	}
	return found
}

func TestActiveMarkupCatchesUnescapedData(t *testing.T) {
	// Positive control: the checker flags the hostile value written raw.
	if got := activeMarkup("<td>" + hostile + "</td><a href=\"javascript:x\">"); len(got) < 4 {
		t.Errorf("activeMarkup(raw hostile) = %q, want script, img, handler and ESC findings", got)
	}
	if got := activeMarkup("<td>&lt;script&gt;window.__xss=1&lt;/script&gt; \\x1b[31m</td>"); len(got) != 0 {
		t.Errorf("activeMarkup(escaped) = %q, want none", got)
	}
}

func uiSummaries(t *testing.T) []loupe.TraceSummary {
	t.Helper()
	s := summaries()
	s[1].Name = hostile
	s[1].Model = hostile
	s[1].Tenant = "tenant_\x1b[31m7"
	s[1].Duration = 2500
	return s
}

func statsByField(groups map[string][]string) func(q query.StatsRequest) *loupe.Stats {
	return func(q query.StatsRequest) *loupe.Stats {
		st := &loupe.Stats{Level: "trace"}
		if len(q.By) == 0 {
			base := time.Date(2026, 6, 3, 16, 0, 0, 0, time.UTC)
			for i := range 3 {
				st.Rows = append(st.Rows, loupe.StatsRow{Bucket: base.Add(time.Duration(i) * time.Hour), Count: int64(10 * (i + 1)), Errors: int64(i),
					ErrorRate: float64(i) / float64(10*(i+1)), P50Ms: 120, P95Ms: 300 + float64(i), P99Ms: 900, InputTokens: 1000, OutputTokens: 100, CostUSD: 0.01})
			}
			return st
		}
		name := q.By[0].Name
		for i, v := range groups[name] {
			st.Rows = append(st.Rows, loupe.StatsRow{Group: map[string]string{name: v}, Count: int64(100 - i), Errors: 1, ErrorRate: 0.01,
				P50Ms: 100, P95Ms: 200, P99Ms: 300, InputTokens: 50, OutputTokens: 5, CostUSD: 0.5})
		}
		return st
	}
}

var uiGroups = map[string][]string{
	"prompt.version_id": {"prv_2026_06_03_17", hostile},
	"model":             {"gpt-4.1-mini", hostile},
	"tenant":            {"tenant_431"},
	"route":             {"/support"},
	"environment":       {"production", ""},
	"session.id":        {"sess_42", "", hostile},
}

func TestUISecurityHeaders(t *testing.T) {
	st := &uiStore{page: &loupe.TracePage{Traces: summaries()}, statsFn: statsByField(uiGroups)}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	for _, path := range []string{"/", "/?q=status%20%3D%20bad", "/sessions", "/sessions/sess_42", "/stats", "/static/app.css", "/static/list.js", "/traces/4f1c9a27e0b34d1e8a1f00c2b7d9e301", "/nope-ui-404-page"} {
		t.Run(path, func(t *testing.T) {
			rec := get(h, path)
			if path == "/nope-ui-404-page" {
				if rec.Code != http.StatusNotFound {
					t.Errorf("status = %d, want 404", rec.Code)
				}
				return
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "same-origin",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if strings.HasPrefix(path, "/static/") {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			// CSP forbids inline scripts and styles: none may be written.
			body := rec.Body.String()
			for _, re := range []string{`<script>`, `<script type="module">`, `\sstyle="`, `<style`, `\son[a-z]+="`} {
				if regexp.MustCompile(re).MatchString(body) {
					t.Errorf("page has inline %s (blocked by CSP)", re)
				}
			}
		})
	}
}

func TestUIStaticCaching(t *testing.T) {
	h := newHandler(t, server.Options{}, &fakeIngester{}, &uiStore{})
	page := get(h, "/stats").Body.String()
	m := regexp.MustCompile(`href="/static/app.css\?v=([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("layout does not link app.css with a content hash:\n%s", page)
	}
	tests := []struct {
		path, cache string
		status      int
	}{
		{"/static/app.css?v=" + m[1], "public, max-age=31536000, immutable", 200},
		{"/static/app.css", "no-cache", 200},
		{"/static/app.css?v=stale", "no-cache", 200},
		{"/static/nope.js", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(h, tt.path)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Cache-Control"); tt.status == 200 && got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if tt.status == 200 && rec.Header().Get("ETag") != `"`+m[1]+`"` {
				t.Errorf("ETag = %q, want %q", rec.Header().Get("ETag"), m[1])
			}
		})
	}
	// A revalidation with the ETag is answered 304.
	req := httptest.NewRequest(http.MethodGet, "/static/app.css", nil)
	req.Header.Set("If-None-Match", `"`+m[1]+`"`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status = %d, want 304", rec.Code)
	}
}

func TestUIListRequest(t *testing.T) {
	tests := []struct {
		name, query string
		filter      string
		sort        query.Sort
		cursor      string
		span        time.Duration
	}{
		{"defaults", "", "", query.Sort{}, "", time.Hour},
		{"filter and quick filters", "?q=kind+%3D+tool&status=Degraded&model=gpt-4.1*&tenant=t+1&since=24h",
			`kind = tool and trace.status = degraded and model = "gpt-4.1*" and tenant = "t 1"`, query.Sort{}, "", 24 * time.Hour},
		{"or filter keeps precedence", "?q=tenant%3Da+or+tenant%3Db&env=prod",
			`(tenant = "a" or tenant = "b") and environment = "prod"`, query.Sort{}, "", time.Hour},
		{"sort and cursor", "?sort=-duration_ms&cursor=abc&since=15m", "", query.Sort{Field: "duration_ms"}, "abc", 15 * time.Minute},
		{"ascending sort", "?sort=model", "", query.Sort{Field: "model", Asc: true}, "", time.Hour},
		{"custom range datetime-local", "?since=custom&from=2026-06-03T16:00&to=2026-06-03T18:30", "", query.Sort{}, "", 150 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &uiStore{}
			h := newHandler(t, server.Options{}, &fakeIngester{}, st)
			rec := get(h, "/"+tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200\n%s", rec.Code, rec.Body)
			}
			q := st.lastSearch(t)
			got := ""
			if q.Filter != nil {
				got = q.Filter.String()
			}
			if got != tt.filter {
				t.Errorf("filter = %q, want %q", got, tt.filter)
			}
			if q.Sort != tt.sort {
				t.Errorf("sort = %+v, want %+v", q.Sort, tt.sort)
			}
			if q.Cursor != tt.cursor {
				t.Errorf("cursor = %q, want %q", q.Cursor, tt.cursor)
			}
			if span := q.To.Sub(q.From); span != tt.span {
				t.Errorf("time range = %s, want %s", span, tt.span)
			}
			if q.Project != loupe.DefaultProject {
				t.Errorf("project = %q, want %q", q.Project, loupe.DefaultProject)
			}
		})
	}
}

func TestUIListFilterError(t *testing.T) {
	tests := []struct {
		q, mark, caret string
	}{
		{"status = err", "<mark>err</mark>", "         ^"},
		{"kind = tool and", "<mark> </mark>", "               ^"},
		{"name = \"ü\" and (", "<mark> </mark>", "                ^"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			st := &uiStore{}
			h := newHandler(t, server.Options{}, &fakeIngester{}, st)
			rec := get(h, "/?q="+strings.ReplaceAll(strings.ReplaceAll(tt.q, " ", "+"), "(", "%28"))
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", rec.Code)
			}
			body := rec.Body.String()
			if !strings.Contains(body, `id="filter-error"`) || !strings.Contains(body, "filter: position") {
				t.Fatalf("no filter error shown:\n%s", body)
			}
			if !strings.Contains(body, tt.mark) {
				t.Errorf("error position not marked with %q:\n%s", tt.mark, body)
			}
			if !strings.Contains(body, "\n"+tt.caret+"</code>") {
				t.Errorf("caret line %q not found:\n%s", tt.caret, body)
			}
			if len(st.searches) != 0 {
				t.Errorf("a bad filter reached the store: %+v", st.searches)
			}
			// The filter box keeps what the user typed.
			if !strings.Contains(body, `name="q" id="q" value="`) {
				t.Errorf("filter box missing")
			}
		})
	}
}

func TestUIListLinksKeepState(t *testing.T) {
	st := &uiStore{page: &loupe.TracePage{Traces: summaries(), Next: "CUR2"}, statsFn: statsByField(uiGroups)}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	body := get(h, "/?since=6h&q=kind+%3D+tool&tenant=tenant_431&sort=-duration_ms&cursor=CUR1").Body.String()
	hrefs := map[string]string{}
	for _, m := range regexp.MustCompile(`<a [^>]*href="([^"]*)"[^>]*>([^<]*)</a>`).FindAllStringSubmatch(body, -1) {
		hrefs[strings.TrimSpace(m[2])] = html.UnescapeString(m[1])
	}
	want := map[string]string{
		"next page »":    "/?cursor=CUR2&q=kind+%3D+tool&since=6h&sort=-duration_ms&tenant=tenant_431",
		"« newest":       "/?q=kind+%3D+tool&since=6h&sort=-duration_ms&tenant=tenant_431",
		"Latency ▼":      "/?q=kind+%3D+tool&since=6h&sort=duration_ms&tenant=tenant_431",
		"Time":           "/?q=kind+%3D+tool&since=6h&tenant=tenant_431",
		"Name":           "/?q=kind+%3D+tool&since=6h&sort=name&tenant=tenant_431",
		"Cost":           "/?q=kind+%3D+tool&since=6h&sort=-cost_usd&tenant=tenant_431",
		"○ live":         "/?live=1&q=kind+%3D+tool&since=6h&sort=-duration_ms&tenant=tenant_431",
		"Prompt version": "/?q=kind+%3D+tool&since=6h&sort=prompt_version_id&tenant=tenant_431",
	}
	for label, w := range want {
		if got := hrefs[label]; got != w {
			t.Errorf("link %q = %q, want %q", label, got, w)
		}
	}
	// Rows link to the trace view.
	if !strings.Contains(body, `href="/traces/4f1c9a27e0b34d1e8a1f00c2b7d9e301"`) {
		t.Error("row does not link to /traces/{id}")
	}
	// The selected quick filter and time range stay selected.
	if !strings.Contains(body, `<option value="tenant_431" selected>`) || !strings.Contains(body, `<option value="6h" selected>`) {
		t.Error("quick filter or time range not selected")
	}
	// Live mode polls the API with the effective filter.
	live := get(h, "/?live=1&q=kind+%3D+tool&status=error").Body.String()
	if !strings.Contains(live, `"on":true`) || !strings.Contains(live, `q=kind\u002b%3d\u002btool\u002band\u002btrace.status\u002b%3d\u002berror`) &&
		!strings.Contains(live, `kind+%3D+tool+and+trace.status+%3D+error`) {
		t.Errorf("live data does not carry the effective filter:\n%s", live[strings.Index(live, "live-data"):])
	}
}

func TestUIListQuickFilterOptions(t *testing.T) {
	st := &uiStore{statsFn: statsByField(uiGroups)}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	body := get(h, "/?since=24h").Body.String()
	for _, want := range []string{`<option value="prv_2026_06_03_17">prv_2026_06_03_17 (100)</option>`,
		`<option value="gpt-4.1-mini">`, `<option value="/support">`, `<option value="degraded">degraded</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("quick filters lack %s", want)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, q := range st.stats {
		if span := q.To.Sub(q.From); span != 24*time.Hour {
			t.Errorf("quick filter stats over %s, want the list's 24h", span)
		}
	}
	if len(st.stats) != 5 {
		t.Errorf("%d stats queries for quick filters, want 5", len(st.stats))
	}
}

func TestUIHostileDataIsInert(t *testing.T) {
	tid := summaries()[0].TraceID
	st := &uiStore{page: &loupe.TracePage{Traces: uiSummaries(t)}, statsFn: statsByField(uiGroups),
		traceFn: func(id loupe.TraceID) (*loupe.Trace, error) {
			return &loupe.Trace{TraceID: id, Spans: []loupe.Span{{TraceID: id, SpanID: loupe.SpanID{1}, Name: hostile, Kind: loupe.KindRequest,
				Payload: &loupe.Payload{InputValue: hostile, OutputValue: hostile}}}}, nil
		}}
	_ = tid
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	for _, path := range []string{"/", "/?model=" + url.QueryEscape(hostile), "/?q=name+%3D+%22%3Cscript%3E%22+and+(", "/sessions", "/sessions/sess_42",
		"/sessions/%3Cscript%3Ewindow.__xss=1%3C%2Fscript%3E", "/stats", "/stats?by=model", "/stats?by=prompt.version_id&q=%3Cscript%3E"} {
		t.Run(path, func(t *testing.T) {
			rec := get(h, path)
			body := rec.Body.String()
			if found := activeMarkup(body); len(found) > 0 {
				t.Errorf("hostile data rendered as markup: %q", found)
			}
		})
	}
	// The hostile text is shown, escaped, in the list, the chart labels and
	// the chart tooltips.
	list := get(h, "/").Body.String()
	if !strings.Contains(list, "&lt;script&gt;window.__xss=1&lt;/script&gt;") || !strings.Contains(list, `tenant_\x1b[31m7`) {
		t.Error("list does not show the hostile values as text")
	}
	stats := get(h, "/stats?by=model").Body.String()
	if !regexp.MustCompile(`<title>&lt;script&gt;window.__xss=1&lt;/script&gt;[^<]*</title>`).MatchString(stats) {
		t.Error("chart tooltip does not show the hostile group as text")
	}
	if !regexp.MustCompile(`text-anchor="end">&lt;script&gt;window.__xss=1&lt;/s…</text>`).MatchString(stats) {
		t.Error("chart label does not show the hostile group as text")
	}
}

func TestUISessions(t *testing.T) {
	st := &uiStore{statsFn: statsByField(uiGroups)}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	rec := get(h, "/sessions?since=6h")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	st.mu.Lock()
	q := st.stats[len(st.stats)-1]
	st.mu.Unlock()
	if len(q.By) != 1 || q.By[0].Name != "session.id" || q.Level != "trace" || q.To.Sub(q.From) != 6*time.Hour {
		t.Errorf("stats request = %+v, want by session.id, level trace, 6h", q)
	}
	if !strings.Contains(body, `<a href="/sessions/sess_42?since=6h">sess_42</a>`) {
		t.Errorf("no link to the session:\n%s", body)
	}
	if !strings.Contains(body, `href="/sessions/%3Cscript%3Ewindow.__xss=1%3C%2Fscript%3E%3Cimg%20src=x%20onerror=%22window.__xss=2%22%3E%20javascript:alert%281%29%20%1B%5B31mred%1B%5B0m?since=6h"`) {
		t.Errorf("hostile session id not path-escaped in its link:\n%s", body)
	}
	if !strings.Contains(body, "traces without a session") {
		t.Error("traces without a session not counted apart")
	}
}

func sessionTraces() []loupe.TraceSummary {
	s := summaries()
	// Newest first, as the store returns before it implements sort.
	s[0].Start = s[1].Start.Add(time.Minute)
	return s
}

func TestUISession(t *testing.T) {
	traceFn := func(id loupe.TraceID) (*loupe.Trace, error) {
		return &loupe.Trace{TraceID: id, Spans: []loupe.Span{
			{TraceID: id, SpanID: loupe.SpanID{1}, Kind: loupe.KindRequest, Payload: &loupe.Payload{InputValue: "question " + id.String()[:4]}},
			{TraceID: id, SpanID: loupe.SpanID{2}, ParentSpanID: loupe.SpanID{1}, Kind: loupe.KindLLM, Start: time.Unix(1, 0),
				Payload: &loupe.Payload{Output: []loupe.Message{{Role: "assistant", Content: "answer " + id.String()[:4]}}}},
		}}, nil
	}
	tests := []struct {
		name      string
		role      auth.Role
		payloads  bool
		wantReads int
	}{
		{"admin sees messages", auth.RoleAdmin, true, 2},
		{"debugger sees messages", auth.RoleDebugger, true, 2},
		{"viewer does not", auth.RoleViewer, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &uiStore{page: &loupe.TracePage{Traces: sessionTraces()}, traceFn: traceFn}
			h := newHandler(t, server.Options{}, &fakeIngester{}, st)
			rec := getAs(h, auth.Principal{Project: "p1", Role: tt.role}, "/sessions/sess_42")
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d\n%s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			q := st.lastSearch(t)
			if q.Project != "p1" || q.Sort != (query.Sort{Field: "start_time", Asc: true}) || q.Filter.String() != `session.id = "sess_42"` || q.Limit != 50 {
				t.Errorf("search = project %q sort %+v filter %s limit %d", q.Project, q.Sort, q.Filter, q.Limit)
			}
			// Oldest first: 0a1b... started before 4f1c....
			i, j := strings.Index(body, `data-id="0a1b2c3d`), strings.Index(body, `data-id="4f1c9a27`)
			if i < 0 || j < 0 || i > j {
				t.Errorf("turns not in start order (0a1b at %d, 4f1c at %d)", i, j)
			}
			if got := strings.Contains(body, "question 4f1c") && strings.Contains(body, "answer 0a1b"); got != tt.payloads {
				t.Errorf("messages shown = %v, want %v", got, tt.payloads)
			}
			if got := strings.Contains(body, "Payloads hidden for your role"); got == tt.payloads {
				t.Errorf("hidden notice shown = %v, want %v", got, !tt.payloads)
			}
			if st.traces != tt.wantReads {
				t.Errorf("%d trace reads, want %d", st.traces, tt.wantReads)
			}
		})
	}
	t.Run("unknown session", func(t *testing.T) {
		h := newHandler(t, server.Options{}, &fakeIngester{}, &uiStore{})
		if rec := get(h, "/sessions/nope"); rec.Code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", rec.Code)
		}
	})
}

func TestUIStats(t *testing.T) {
	st := &uiStore{statsFn: statsByField(uiGroups)}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	rec := get(h, "/stats?by=model&since=6h")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	st.mu.Lock()
	reqs := append([]query.StatsRequest(nil), st.stats...)
	st.mu.Unlock()
	if len(reqs) != 2 {
		t.Fatalf("%d stats requests, want 2 (over time, by group)", len(reqs))
	}
	var overTime, grouped query.StatsRequest
	for _, q := range reqs {
		if len(q.By) == 0 {
			overTime = q
		} else {
			grouped = q
		}
	}
	if overTime.Interval != 10*time.Minute || overTime.To.Sub(overTime.From) != 6*time.Hour {
		t.Errorf("over-time request: interval %s over %s, want 10m over 6h", overTime.Interval, overTime.To.Sub(overTime.From))
	}
	if len(grouped.By) != 1 || grouped.By[0].Name != "model" || grouped.Interval != 0 {
		t.Errorf("grouped request = %+v, want by model without interval", grouped)
	}
	for _, want := range []string{
		`id="chart-latency"`, `<polyline class="line p95"`, `<rect class="bar err"`, `id="group-p95"`,
		// numbers beside the charts
		`<td class="num">300 ms</td>`, `<td class="num">302 ms</td>`, `<td class="num">gpt-4.1-mini`[:0] + `gpt-4.1-mini</td>`,
		// totals
		`traces <b>60</b>`, `errors <b>3</b>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("stats page lacks %s", want)
		}
	}
	// The fake's three buckets are an hour apart: with 10m buckets each is
	// its own segment, so no line bridges the empty buckets between them.
	if n := strings.Count(body, `<polyline class="line p50"`); n != 3 {
		t.Errorf("%d p50 segments, want 3 (one per run of consecutive buckets)", n)
	}
	t.Run("bad by", func(t *testing.T) {
		rec := get(h, "/stats?by=duration")
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "cannot group by duration") {
			t.Errorf("status = %d, want 400 naming the field\n%s", rec.Code, rec.Body)
		}
	})
	t.Run("interval", func(t *testing.T) {
		get(h, "/stats?since=24h&interval=1h")
		st.mu.Lock()
		defer st.mu.Unlock()
		found := false
		for _, q := range st.stats {
			found = found || q.Interval == time.Hour
		}
		if !found {
			t.Error("interval=1h not passed to the store")
		}
	})
}

func TestUIWithoutSearcher(t *testing.T) {
	h := newHandler(t, server.Options{}, &fakeIngester{}, &fakeReader{})
	for _, path := range []string{"/", "/sessions", "/sessions/x", "/stats"} {
		rec := get(h, path)
		if rec.Code != http.StatusNotImplemented || !strings.Contains(rec.Body.String(), "cannot search") {
			t.Errorf("%s: status = %d, want 501 with a message", path, rec.Code)
		}
	}
}

func TestUIStoreErrors(t *testing.T) {
	st := &uiStore{searchFn: func(query.TraceSearch) (*loupe.TracePage, error) { return nil, errors.New("disk on fire") }}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	rec := get(h, "/")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "disk on fire") {
		t.Errorf("status = %d, want 500 without internal detail\n%s", rec.Code, rec.Body)
	}
	st.searchFn = func(query.TraceSearch) (*loupe.TracePage, error) { return nil, loupe.ErrOverloaded }
	if rec := get(h, "/"); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("overload: status = %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestUIListGolden(t *testing.T) {
	st := &uiStore{page: &loupe.TracePage{Traces: uiSummaries(t), Next: "NEXT"}, statsFn: statsByField(uiGroups)}
	h := newHandler(t, server.Options{}, &fakeIngester{}, st)
	for _, tt := range []struct{ name, path string }{
		{"ui_list.golden.html", "/?since=24h&sort=-cost_usd"},
		{"ui_stats.golden.html", "/stats?since=6h&by=prompt.version_id"},
		{"ui_sessions.golden.html", "/sessions"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := get(h, tt.path).Body.String()
			// Static hashes change with every CSS edit; times with the clock.
			body = regexp.MustCompile(`\?v=[0-9a-f]+`).ReplaceAllString(body, "?v=HASH")
			body = regexp.MustCompile(`<text x="[0-9.]+" y="[0-9.]+" dy="14" text-anchor="middle">[0-9:-]+</text>`).ReplaceAllString(body, `<text dy="14">TIME</text>`)
			body = regexp.MustCompile(`(cx|x)="[0-9.]+"`).ReplaceAllString(body, `$1="X"`)
			body = regexp.MustCompile(`width="[0-9.]+" height="([0-9.]+)"><title>`).ReplaceAllString(body, `width="W" height="$1"><title>`)
			golden := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run go test -update): %v", err)
			}
			if diff := cmp.Diff(string(want), body); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestUIStatsEstimates checks that figures the store marks as estimates
// (sampling on) carry a ~ and a note with their bounds, and that exact
// figures carry neither.
func TestUIStatsEstimates(t *testing.T) {
	exact := statsByField(uiGroups)
	for _, tt := range []struct {
		name      string
		estimated []string
		want      []string
		wantNot   []string
	}{
		{"Exact", nil, []string{`traces <b>60</b>`, `<td class="num">300 ms</td>`},
			[]string{`stats-estimates`, `~`}},
		{"Percentiles", []string{"p50_ms", "p95_ms", "p99_ms"},
			[]string{`traces <b>60</b>`, `<td class="num">~300 ms</td>`, `id="stats-estimates"`, `p95_ms`},
			[]string{`traces <b>~60</b>`}},
		{"All", []string{"count", "errors", "p95_ms"},
			[]string{`traces <b>~60</b>`, `errors <b>~3</b>`, `count ±12.5`, `Unmarked figures are exact`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &uiStore{statsFn: func(q query.StatsRequest) *loupe.Stats {
				s := exact(q)
				for i := range s.Rows {
					s.Rows[i].Estimated = tt.estimated
					if slices.Contains(tt.estimated, "count") {
						s.Rows[i].ErrorBounds = map[string]float64{"count": 12.5}
					}
				}
				return s
			}}
			h := newHandler(t, server.Options{}, &fakeIngester{}, st)
			rec := get(h, "/stats?by=model&since=6h")
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d\n%s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("stats page lacks %s", w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("stats page has %s", w)
				}
			}
		})
	}
}
