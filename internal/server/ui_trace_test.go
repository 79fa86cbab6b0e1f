package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/server"
)

var (
	viewTraceID = loupe.TraceID{0xab, 1}
	viewRoot    = loupe.SpanID{1}
	viewLLM     = loupe.SpanID{2}
	viewTool    = loupe.SpanID{3}
)

// viewTrace is a small degraded trace: a root, a model call with a
// payload, and a failing tool call with a hostile status message.
func viewTrace() *loupe.Trace {
	t0 := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	return &loupe.Trace{Project: "default", TraceID: viewTraceID, Spans: []loupe.Span{
		{TraceID: viewTraceID, SpanID: viewRoot, Name: "support_agent.request", Kind: loupe.KindRequest, Start: ms(0), End: ms(133),
			Status: loupe.StatusOK, Tenant: "tenant_431", SessionID: "sess/1 ?#", PromptName: "support_agent_v3", PromptVersionID: "prv_1"},
		{TraceID: viewTraceID, SpanID: viewLLM, ParentSpanID: viewRoot, Name: "llm.call.plan_response", Kind: loupe.KindLLM,
			Start: ms(42), End: ms(91), Status: loupe.StatusOK, ResponseModel: "gpt-4.1-mini", Usage: loupe.Usage{Input: 1204, Output: 86},
			CostUSD: 0.001, Attributes: map[string]any{"gen_ai.request.temperature": 0.2},
			Payload: &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "where is my refund?"}}}},
		{TraceID: viewTraceID, SpanID: viewTool, ParentSpanID: viewRoot, Name: "tool.call.create_refund", Kind: loupe.KindTool,
			Start: ms(91), End: ms(96), Status: loupe.StatusError, StatusMessage: hostile, ErrorType: "INVALID_ARGUMENT",
			ToolName: "create_refund", Payload: &loupe.Payload{ToolArguments: `{"refund_amount_cents":129900}`}},
	}}
}

// viewStore adds the trace view's store methods to uiStore, answering
// from viewTrace, and counts their calls.
type viewStore struct {
	uiStore
	summaries, outlines, spans int
}

func (s *viewStore) TraceSummary(_ context.Context, _ string, id loupe.TraceID) (*loupe.TraceSummary, error) {
	s.summaries++
	if id != viewTraceID {
		return nil, loupe.ErrNotFound
	}
	return &loupe.TraceSummary{TraceID: id, Name: "support_agent.request", Status: loupe.TraceDegraded, SpanCount: 3}, nil
}

func (s *viewStore) TraceOutline(_ context.Context, _ string, id loupe.TraceID) ([]loupe.SpanOutline, error) {
	s.outlines++
	if id != viewTraceID {
		return nil, loupe.ErrNotFound
	}
	tr := viewTrace()
	out := make([]loupe.SpanOutline, len(tr.Spans))
	for i := range tr.Spans {
		out[i] = loupe.OutlineOf(&tr.Spans[i])
	}
	return out, nil
}

func (s *viewStore) TraceSpan(_ context.Context, _ string, id loupe.TraceID, sid loupe.SpanID) (*loupe.Span, error) {
	s.spans++
	for _, sp := range viewTrace().Spans {
		if id == viewTraceID && sp.SpanID == sid {
			return &sp, nil
		}
	}
	return nil, loupe.ErrNotFound
}

// outlineJSON is the body of GET /api/v1/traces/{id}/outline.
type outlineJSON struct {
	TraceID string   `json:"trace_id"`
	StartNs int64    `json:"start_ns"`
	EndNs   int64    `json:"end_ns"`
	Fields  []string `json:"fields"`
	Strings []string `json:"strings"`
	Spans   [][]any  `json:"spans"`
}

func TestUITraceOutline(t *testing.T) {
	// Both paths: a store with the trace view's methods, and a plain
	// reader served from Trace.
	readers := map[string]func() loupe.TraceReader{
		"TraceViewer": func() loupe.TraceReader { return &viewStore{} },
		"TraceReader": func() loupe.TraceReader { return &uiStore{traceFn: traceOf(viewTrace())} },
	}
	for name, reader := range readers {
		t.Run(name, func(t *testing.T) {
			h := newHandler(t, server.Options{}, &fakeIngester{}, reader())
			rec := getAs(h, auth.Local, "/api/v1/traces/"+viewTraceID.String()+"/outline")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET outline = %d %s", rec.Code, rec.Body)
			}
			var o outlineJSON
			if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil {
				t.Fatalf("decode outline: %v\n%s", err, rec.Body)
			}
			str := func(v any) string { return o.Strings[int(v.(float64))] }
			type row struct {
				ID                     string
				Parent                 int
				Name, Kind             string
				Start, Dur             float64
				Status, Err, Model, Tl string
				Tokens, Cost           float64
			}
			var got []row
			for _, r := range o.Spans {
				got = append(got, row{r[0].(string), int(r[1].(float64)), str(r[2]), str(r[3]), r[4].(float64), r[5].(float64),
					str(r[6]), str(r[7]), str(r[8]), str(r[9]), r[10].(float64), r[11].(float64)})
			}
			want := []row{
				{viewRoot.String(), -1, "support_agent.request", "request", 0, 133e6, "ok", "", "", "", 0, 0},
				{viewLLM.String(), 0, "llm.call.plan_response", "llm", 42e6, 49e6, "ok", "", "gpt-4.1-mini", "", 1290, 0.001},
				{viewTool.String(), 0, "tool.call.create_refund", "tool", 91e6, 5e6, "error", "INVALID_ARGUMENT", "", "create_refund", 0, 0},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outline rows mismatch (-want +got):\n%s", diff)
			}
			if o.TraceID != viewTraceID.String() || o.EndNs-o.StartNs != 133e6 || len(o.Fields) != 12 {
				t.Errorf("outline = trace %s, %d ns, fields %v", o.TraceID, o.EndNs-o.StartNs, o.Fields)
			}
			if strings.Contains(rec.Body.String(), "where is my refund") || strings.Contains(rec.Body.String(), "temperature") {
				t.Errorf("outline carries payload or attributes:\n%s", rec.Body)
			}
		})
	}
}

func TestUITraceSpan(t *testing.T) {
	path := "/api/v1/traces/" + viewTraceID.String() + "/spans/" + viewLLM.String()
	tests := []struct {
		name        string
		role        auth.Role
		wantPayload bool
	}{
		{name: "Debugger", role: auth.RoleDebugger, wantPayload: true}, // positive control
		{name: "Admin", role: auth.RoleAdmin, wantPayload: true},
		{name: "Viewer", role: auth.RoleViewer, wantPayload: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, server.Options{}, &fakeIngester{}, &viewStore{})
			rec := getAs(h, auth.Principal{Project: "default", Role: tt.role}, path)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
			}
			var got struct {
				SpanID        string         `json:"span_id"`
				Attributes    map[string]any `json:"attributes"`
				Payload       *loupe.Payload `json:"payload"`
				PayloadHidden bool           `json:"payload_hidden"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.SpanID != viewLLM.String() || got.Attributes["gen_ai.request.temperature"] != 0.2 {
				t.Errorf("span = %s, attributes %v", got.SpanID, got.Attributes)
			}
			if hasText := strings.Contains(rec.Body.String(), "where is my refund"); hasText != tt.wantPayload ||
				(got.Payload != nil) != tt.wantPayload || got.PayloadHidden == tt.wantPayload {
				t.Errorf("role %s: payload %v (text %v), payload_hidden %v; want payload %v", tt.role, got.Payload, hasText, got.PayloadHidden, tt.wantPayload)
			}
		})
	}
}

func TestUITraceErrors(t *testing.T) {
	id := viewTraceID.String()
	tests := []struct {
		path string
		want int
	}{
		{"/traces/" + loupe.TraceID{9}.String(), http.StatusNotFound},
		{"/traces/xyz", http.StatusBadRequest},
		{"/traces/" + id + "?span=nothex", http.StatusBadRequest},
		{"/api/v1/traces/" + loupe.TraceID{9}.String() + "/outline", http.StatusNotFound},
		{"/api/v1/traces/xyz/outline", http.StatusBadRequest},
		{"/api/v1/traces/" + id + "/spans/" + loupe.SpanID{7}.String(), http.StatusNotFound},
		{"/api/v1/traces/" + id + "/spans/zz", http.StatusBadRequest},
	}
	for _, reader := range []loupe.TraceReader{&viewStore{}, &uiStore{traceFn: traceOf(viewTrace())}} {
		h := newHandler(t, server.Options{}, &fakeIngester{}, reader)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%T%s", reader, tt.path), func(t *testing.T) {
				if rec := getAs(h, auth.Local, tt.path); rec.Code != tt.want {
					t.Errorf("GET %s = %d, want %d: %s", tt.path, rec.Code, tt.want, rec.Body)
				}
			})
		}
	}
}

func TestUITracePage(t *testing.T) {
	tr := viewTrace()
	tr.Spans[0].Name = hostile
	tr.Spans[0].Tenant = hostile
	h := newHandler(t, server.Options{}, &fakeIngester{}, &uiStore{traceFn: traceOf(tr)})
	rec := getAs(h, auth.Principal{Project: "default", Role: auth.RoleViewer}, "/traces/"+viewTraceID.String()+"?span="+viewTool.String())
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /traces/{id} = %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if found := activeMarkup(body); len(found) > 0 {
		t.Errorf("trace page has active markup from data: %q", found)
	}
	for _, want := range []string{
		`<span class="badge status-degraded" id="trace-status">degraded</span>`,
		`&lt;script&gt;window.__xss=1&lt;/script&gt;`, // the name, as text
		`\x1b[31mred`,                        // ESC made visible
		`href="/sessions/sess%2F1%20%3F%23"`, // session id escaped as one path segment
		`Payloads hidden for your role.`,     // viewer
		`"span":"` + viewTool.String() + `"`, // selection for trace.js
		`"payloads":false`,
		`/static/trace.js?v=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("trace page lacks %s", want)
		}
	}
}

// traceOf returns a traceFn serving tr by its id.
func traceOf(tr *loupe.Trace) func(loupe.TraceID) (*loupe.Trace, error) {
	return func(id loupe.TraceID) (*loupe.Trace, error) {
		if id != tr.TraceID {
			return nil, loupe.ErrNotFound
		}
		return tr, nil
	}
}

// bigOutline serves an outline of n spans: a root and n-1 children.
type bigOutline struct {
	uiStore
	spans []loupe.SpanOutline
}

func (s *bigOutline) TraceSummary(context.Context, string, loupe.TraceID) (*loupe.TraceSummary, error) {
	return &loupe.TraceSummary{}, nil
}

func (s *bigOutline) TraceOutline(context.Context, string, loupe.TraceID) ([]loupe.SpanOutline, error) {
	return s.spans, nil
}

func (s *bigOutline) TraceSpan(context.Context, string, loupe.TraceID, loupe.SpanID) (*loupe.Span, error) {
	return nil, loupe.ErrNotFound
}

// BenchmarkUITraceOutline encodes the outline of a 100,000-span trace
// (GET /api/v1/traces/{id}/outline without the store's part).
func BenchmarkUITraceOutline(b *testing.B) {
	const n = 100_000
	t0 := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	spans := make([]loupe.SpanOutline, n)
	for i := range spans {
		spans[i] = loupe.SpanOutline{SpanID: loupe.SpanID{1, byte(i >> 16), byte(i >> 8), byte(i)}, Name: fmt.Sprintf("step %d", i%20),
			Kind: loupe.KindLLM, Start: t0.Add(time.Duration(i) * time.Millisecond), End: t0.Add(time.Duration(i+1) * time.Millisecond),
			Status: loupe.StatusOK, Model: "gpt-4.1-mini", Tokens: 110, CostUSD: 0.0001}
		if i > 0 {
			spans[i].ParentSpanID = spans[0].SpanID
		}
	}
	h := newHandler(b, server.Options{}, &fakeIngester{}, &bigOutline{spans: spans})
	path := "/api/v1/traces/" + viewTraceID.String() + "/outline"
	b.ReportAllocs()
	for b.Loop() {
		rec := getAs(h, auth.Local, path)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET outline = %d", rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
