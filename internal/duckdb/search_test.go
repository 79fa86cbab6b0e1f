package duckdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

var t0 = time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)

func openSearch(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), Options{Dir: tb.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("Open() = %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// writeIndexed writes batches; the write path appends their search rows in
// the same transaction.
func writeIndexed(tb testing.TB, s *Store, batches []loupe.Batch) {
	tb.Helper()
	if err := s.Write(context.Background(), batches); err != nil {
		tb.Fatalf("Write() = %v", err)
	}
}

func tid(n uint64) loupe.TraceID {
	var id loupe.TraceID
	binary.BigEndian.PutUint64(id[:8], n)
	binary.BigEndian.PutUint64(id[8:], n*7919+1)
	return id
}

func sid(n uint64) loupe.SpanID {
	var id loupe.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// fixture builds the test traces:
//
//	1: ok; root agent (prompt p1, env prod) -> llm gpt-4.1 (tokens 100/20, cost 0.01, 2s) -> tool ok
//	2: degraded; root agent (p2) -> tool create_refund fails (error.type INVALID_ARGUMENT)
//	3: error; root fails; llm claude, attr http.route=/x, retries=3, "we'ird.key"=yes
//	4: degraded; tool ok, other llm span errs (for the and-group check)
func fixture() []loupe.Span {
	sp := func(tr, id, parent uint64, startMs, durMs int, kind loupe.Kind, name string) loupe.Span {
		st := t0.Add(time.Duration(startMs) * time.Millisecond)
		return loupe.Span{Project: "p", TraceID: tid(tr), SpanID: sid(tr*100 + id), ParentSpanID: func() loupe.SpanID {
			if parent == 0 {
				return loupe.SpanID{}
			}
			return sid(tr*100 + parent)
		}(), Name: name, Kind: kind, Start: st, End: st.Add(time.Duration(durMs) * time.Millisecond), Status: loupe.StatusOK}
	}
	var out []loupe.Span
	// trace 1
	a := sp(1, 1, 0, 0, 3000, loupe.KindAgent, "support")
	a.PromptVersionID, a.Environment, a.Service = "p1", "prod", "svc"
	l := sp(1, 2, 1, 100, 2000, loupe.KindLLM, "chat")
	l.RequestModel, l.ResponseModel = "gpt-4.1", "gpt-4.1-2025"
	l.Usage = loupe.Usage{Input: 100, Output: 20}
	l.CostUSD = 0.01
	l.Payload = &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "Where is my refund? The parcel was delayed."}},
		Output: []loupe.Message{{Role: "assistant", Content: "Your shipment is on its way."}}}
	tl := sp(1, 3, 1, 2200, 100, loupe.KindTool, "lookup")
	tl.ToolName = "lookup_order"
	out = append(out, a, l, tl)
	// trace 2
	a = sp(2, 1, 0, 1000, 1000, loupe.KindAgent, "support")
	a.PromptVersionID, a.Environment = "p2", "prod"
	tl = sp(2, 2, 1, 1100, 50, loupe.KindTool, "refund")
	tl.ToolName, tl.ErrorType = "create_refund", "INVALID_ARGUMENT"
	tl.Payload = &loupe.Payload{ToolArguments: `{"order_id":"A1","amount":5}`, ToolResult: "invalid amount"}
	out = append(out, a, tl)
	// trace 3
	a = sp(3, 1, 0, 2000, 500, loupe.KindAgent, "support")
	a.PromptVersionID, a.Environment, a.Status = "p1", "staging", loupe.StatusError
	l = sp(3, 2, 1, 2100, 300, loupe.KindLLM, "chat")
	l.RequestModel = "claude-sonnet"
	l.Usage = loupe.Usage{Input: 50, Output: 10}
	l.CostUSD = 0.005
	l.Attributes = map[string]any{"http.route": "/x", "retries": int64(3), `we'ird.key`: "yes", "flag": true,
		"resource.host.name": "pod-7", "resource.replicas": int64(2)}
	l.Payload = &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "Refund delayed order"}}}
	out = append(out, a, l)
	// trace 4
	a = sp(4, 1, 0, 3000, 800, loupe.KindAgent, "support")
	a.PromptVersionID = "p2"
	tl = sp(4, 2, 1, 3100, 100, loupe.KindTool, "lookup")
	tl.ToolName = "lookup_order"
	l = sp(4, 3, 1, 3300, 400, loupe.KindLLM, "chat")
	l.RequestModel, l.Status = "gpt-4.1", loupe.StatusError
	out = append(out, a, tl, l)
	return out
}

func ids(p *loupe.TracePage) []uint64 {
	var out []uint64
	for _, t := range p.Traces {
		out = append(out, binary.BigEndian.Uint64(t.TraceID[:8]))
	}
	slices.Sort(out)
	return out
}

func TestSearchFilters(t *testing.T) {
	s := openSearch(t)
	writeIndexed(t, s, []loupe.Batch{{Spans: fixture()}})
	ctx := t.Context()
	tests := []struct {
		filter string
		want   []uint64
	}{
		{"", []uint64{1, 2, 3, 4}},
		{"status = error", []uint64{3, 4}},
		{"kind = tool and status = error", nil},
		{"kind = tool and error.type = INVALID_ARGUMENT", []uint64{2}},
		{"kind = tool and error.type != INVALID_ARGUMENT", []uint64{1, 4}},
		{"prompt.version_id = p1", []uint64{1, 3}},
		{"prompt.version_id in (p1, p2) and env = staging", []uint64{3}},
		{"prompt.version_id not in (p1)", []uint64{1, 2, 3, 4}}, // per span: children have no prompt
		{"kind = agent and prompt.version_id not in (p1)", []uint64{2, 4}},
		{"model = gpt-4.1", []uint64{1, 4}},
		{"model = \"gpt-4.1-2025\"", []uint64{1}},
		{"model ~ \"gpt-*\"", []uint64{1, 4}},
		{"kind = llm and model != \"gpt-4.1\"", []uint64{3}},
		{"kind = llm and model !~ \"gpt*\"", []uint64{3}},
		{"tool.name contains REFUND", []uint64{2}},
		{"duration > 1.5s", []uint64{1}},
		{"duration >= 2s and kind = llm", []uint64{1}},
		{"cost > 0.006", []uint64{1}},
		{"input_tokens >= 50 and input_tokens < 100", []uint64{3}},
		{"not status = ok", []uint64{3, 4}},
		{"status = error or tool.name = create_refund", []uint64{2, 3, 4}},
		{"not (kind = agent or kind = tool)", []uint64{1, 3, 4}},
		{"http.route = \"/x\"", []uint64{3}},
		{"resource.host.name = \"pod-7\"", []uint64{3}},
		{"resource.replicas >= 2 and http.route = \"/x\"", []uint64{3}},
		{"resource.host.name = \"/x\"", nil},
		{"attr.retries = 3", []uint64{3}},
		{"attr.retries > 2.5", []uint64{3}},
		{"attr.retries < 3", nil},
		{"attr.flag = true", []uint64{3}},
		{"attr.flag = false", nil},
		{"http.route != \"/x\"", nil},
		{"kind = llm and not http.route = \"/x\"", []uint64{1, 4}},
		{`"we'ird.key" = yes`, []uint64{3}},
		{`"we'ird.key" ~ "y*"`, []uint64{3}},
		{`"nope\"; DROP TABLE spans; --" = yes`, nil},
		{`name = "'; DROP TABLE spans; --"`, nil},
		{`name = "support' OR '1'='1"`, nil},
		{`name contains "%"`, nil},
		{`name ~ "sup_ort"`, nil},
		{`name ~ "sup?ort"`, []uint64{1, 2, 3, 4}},
		{`name = "ünïcødé ☃"`, nil},
		{"trace.status = degraded", []uint64{2, 4}},
		{"trace.status = error", []uint64{3}},
		{"trace.status = ok", []uint64{1}},
		{"not trace.status = ok", []uint64{2, 3, 4}},
		{"trace.status = degraded and kind = tool", []uint64{2, 4}},
		{"trace.duration > 2.9s", []uint64{1}},
		{"trace.spans = 3", []uint64{1, 4}},
		{"trace.errors >= 1 and kind = llm", []uint64{3, 4}},
		{"trace.cost > 0.006", []uint64{1}},
		{"trace.tokens = 60", []uint64{3}},
		{"trace.name = support and trace.status != ok", []uint64{2, 3, 4}},
		{"status = error or trace.duration > 2.9s", []uint64{1, 3, 4}},
		{"not (trace.status = ok or kind = tool)", []uint64{2, 3, 4}},
		{"not (trace.status = ok or kind in (tool, agent))", []uint64{3, 4}},
		{"kind = tool and (trace.status = ok or status = error)", []uint64{1}},
		{fmt.Sprintf("trace.id = %s", tid(2)), []uint64{2}},
		{fmt.Sprintf("trace.id != %s and kind = tool", tid(2)), []uint64{1, 4}},
		{"input contains refund", []uint64{1, 3}},
		{"input contains \"REFUND delayed\"", []uint64{1, 3}},
		{"input contains \"refund shipment\"", nil},
		{"output contains shipment", []uint64{1}},
		{"payload contains \"invalid amount\"", []uint64{2}},
		{"input contains amount", []uint64{2}},
		{"payload contains zebra", nil},
		{"not input contains refund and kind = llm", []uint64{4}},
		{"input contains refund and kind = llm and trace.status != ok", []uint64{3}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := query.Parse(tc.filter)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.filter, err)
			}
			p, err := s.SearchTraces(ctx, query.TraceSearch{Project: "p", Filter: f, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
			if err != nil {
				t.Fatalf("SearchTraces(%q) = %v", tc.filter, err)
			}
			if got := ids(p); !slices.Equal(got, tc.want) {
				t.Errorf("SearchTraces(%q) = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
	// The injection attempts left the table alone.
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM spans`).Scan(&n); err != nil || n != len(fixture()) {
		t.Errorf("spans count = %d, %v; want %d", n, err, len(fixture()))
	}
}

func TestSearchSummary(t *testing.T) {
	s := openSearch(t)
	writeIndexed(t, s, []loupe.Batch{{Spans: fixture()}})
	p, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Traces) != 4 || p.Next != "" {
		t.Fatalf("got %d traces, next %q; want 4, \"\"", len(p.Traces), p.Next)
	}
	got := p.Traces[3] // oldest: trace 1
	want := loupe.TraceSummary{Project: "p", TraceID: tid(1), Name: "support", Start: t0, Duration: 3000,
		Status: loupe.TraceOK, SpanCount: 3, Service: "svc", Environment: "prod", PromptVersionID: "p1",
		Model: "gpt-4.1-2025", InputTokens: 100, OutputTokens: 20, CostUSD: 0.01}
	if got != want {
		t.Errorf("summary = %+v\nwant %+v", got, want)
	}
	if st := p.Traces[0].Status; st != loupe.TraceDegraded || p.Traces[0].ErrorCount != 1 {
		t.Errorf("trace 4 status %s errors %d, want degraded 1", st, p.Traces[0].ErrorCount)
	}
}

func TestSearchErrors(t *testing.T) {
	s := openSearch(t)
	ctx := t.Context()
	f, _ := query.Parse("input contains \"a the\"")
	tests := []struct {
		name string
		q    query.TraceSearch
	}{
		{"NoRange", query.TraceSearch{Project: "p"}},
		{"Reversed", query.TraceSearch{Project: "p", From: t0, To: t0.Add(-time.Second)}},
		{"Cursor", query.TraceSearch{Project: "p", From: t0, To: t0.Add(time.Hour), Cursor: "!!"}},
		{"Stopwords", query.TraceSearch{Project: "p", From: t0, To: t0.Add(time.Hour), Filter: f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.SearchTraces(ctx, tc.q); !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("SearchTraces() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSearchClamps(t *testing.T) {
	s := openSearch(t)
	p, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", From: t0.Add(-365 * 24 * time.Hour), To: t0, Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 2 {
		t.Errorf("notes = %q, want range and limit notes", p.Notes)
	}
}

// TestSearchPaging pages through many traces one page at a time, writing
// newer and older traces between pages: every trace present at the first
// page shows up exactly once.
func TestSearchPaging(t *testing.T) {
	s := openSearch(t)
	mk := func(n uint64, at time.Time) loupe.Span {
		return loupe.Span{Project: "p", TraceID: tid(n), SpanID: sid(n), Name: "r", Kind: loupe.KindRequest,
			Start: at, End: at.Add(time.Millisecond), Status: loupe.StatusOK}
	}
	var spans []loupe.Span
	for i := range 50 {
		// Pairs share a start time to exercise the trace id tie-break.
		spans = append(spans, mk(uint64(1000+i), t0.Add(time.Duration(i/2)*time.Second)))
	}
	writeIndexed(t, s, []loupe.Batch{{Spans: spans}})
	seen := map[loupe.TraceID]int{}
	cur := ""
	for page := 0; ; page++ {
		p, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", From: t0, To: t0.Add(time.Hour), Limit: 7, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		for i, tr := range p.Traces {
			seen[tr.TraceID]++
			if i > 0 && tr.Start.After(p.Traces[i-1].Start) {
				t.Errorf("page %d not newest first", page)
			}
		}
		// Concurrent ingest: one newer and one in the middle of the range.
		writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{
			mk(uint64(5000+2*page), t0.Add(time.Minute)),
			mk(uint64(5001+2*page), t0.Add(10*time.Second)),
		}}})
		if p.Next == "" {
			break
		}
		cur = p.Next
	}
	for i := range 50 {
		if n := seen[tid(uint64(1000+i))]; n != 1 {
			t.Errorf("trace %d seen %d times, want 1", 1000+i, n)
		}
	}
}
