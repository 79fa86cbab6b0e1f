package sample_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/loupehq/loupe/internal/query"
	"github.com/loupehq/loupe/internal/sample"
)

// TestCountedModelIsSummaryModel: the model a trace is counted by (exact
// counters, taken by the sampler) is the model of its summary in the store
// (trace list), and both are loupe.TraceModel of its spans. Each trace has
// its own tenant, so the counters grouped by tenant and model give each
// trace's counted model. The root spans name a request model of their own
// (a router), which neither definition may pick.
func TestCountedModelIsSummaryModel(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	store, err := duckdb.Open(ctx, duckdb.Options{Dir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pipe := ingest.New(store, ingest.Options{})
	defer pipe.Close(context.Background())
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	s, err := sample.New(ctx, sample.Options{Dir: filepath.Join(dir, "sampling"), Policy: keepAll(t),
		Next: pipe, Store: store, Now: clk.Now, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSampler(t, s)

	type llm struct {
		at        time.Duration
		req, resp string
	}
	tests := []struct {
		name string
		llms []llm
		want string
	}{
		{"ResponseModelOfEarliest", []llm{{10 * time.Millisecond, "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"}, {50 * time.Millisecond, "claude-sonnet-4", ""}}, "gpt-4.1-mini-2025-04-14"},
		{"EarliestIsNotFirstListed", []llm{{50 * time.Millisecond, "late-model", ""}, {20 * time.Millisecond, "", "early-model"}}, "early-model"},
		{"RequestModelFallback", []llm{{10 * time.Millisecond, "gpt-4.1", ""}}, "gpt-4.1"},
		{"Tie", []llm{{10 * time.Millisecond, "b-model", ""}, {10 * time.Millisecond, "a-model", ""}}, "a-model"},
		{"SkipsUnnamed", []llm{{5 * time.Millisecond, "", ""}, {15 * time.Millisecond, "named", ""}}, "named"},
		{"NoLLM", nil, ""},
	}
	var all []loupe.Span
	for i, tt := range tests {
		id := traceID(1000 + i)
		tenant := "t-" + tt.name
		root := loupe.Span{Project: loupe.DefaultProject, TraceID: id, SpanID: loupe.SpanID{1, byte(i)}, Name: "request",
			Kind: loupe.KindRequest, Start: start, End: start.Add(time.Second), Status: loupe.StatusOK, Tenant: tenant,
			RequestModel: "router-model"}
		spans := []loupe.Span{root}
		for j, l := range tt.llms {
			spans = append(spans, loupe.Span{Project: loupe.DefaultProject, TraceID: id, SpanID: loupe.SpanID{2, byte(i), byte(j)},
				ParentSpanID: root.SpanID, Name: "llm", Kind: loupe.KindLLM, Start: start.Add(l.at), End: start.Add(l.at + time.Millisecond),
				Status: loupe.StatusOK, RequestModel: l.req, ResponseModel: l.resp})
		}
		if got := loupe.TraceModel(spans); got != tt.want {
			t.Fatalf("%s: loupe.TraceModel = %q, want %q", tt.name, got, tt.want)
		}
		all = append(all, spans...)
	}
	if err := s.Submit(ctx, loupe.Batch{Spans: all}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}

	cs, err := store.Counters(ctx, query.CountersRequest{Project: loupe.DefaultProject,
		By: []query.Field{mustParseField(t, "tenant"), mustParseField(t, "model")}, From: start.Add(-time.Hour), To: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]string{}
	for _, r := range cs.Rows {
		if r.Requests != 1 {
			t.Errorf("counter row %v: %d requests, want 1 (one trace per tenant)", r.Group, r.Requests)
		}
		counted[strings.TrimPrefix(r.Group["tenant"], "t-")] = r.Group["model"]
	}
	page, err := store.SearchTraces(ctx, query.TraceSearch{Project: loupe.DefaultProject, From: start.Add(-time.Hour), To: start.Add(time.Hour), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	summarized := map[string]string{}
	for _, tr := range page.Traces {
		summarized[strings.TrimPrefix(tr.Tenant, "t-")] = tr.Model
	}
	want := map[string]string{}
	for _, tt := range tests {
		want[tt.name] = tt.want
	}
	if diff := cmp.Diff(want, counted); diff != "" {
		t.Errorf("counted model by trace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, summarized); diff != "" {
		t.Errorf("summary model by trace (-want +got):\n%s", diff)
	}
}

func keepAll(t *testing.T) *sample.Policy {
	t.Helper()
	p, err := sample.ParsePolicy("keep-all", strings.NewReader("version: 1\nrules:\n  - name: everything\n    when: always\n    rate: 1.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustParseField(t *testing.T, name string) query.Field {
	t.Helper()
	f, err := query.ParseField(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
