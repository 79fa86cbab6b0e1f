package duckdb

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// TestSummaryModelIsTraceModel: a trace summary's model is
// loupe.TraceModel of all the trace's spans, however they were split
// across writes (each write adds a trace_parts row, merged in SQL), ties
// on start included.
func TestSummaryModelIsTraceModel(t *testing.T) {
	s := openSearch(t)
	rng := rand.New(rand.NewPCG(7, 11))
	models := []string{"", "a-model", "b-model", "gpt-4.1", "gpt-4.1-mini"}
	const traces = 60
	want := map[loupe.TraceID]string{}
	var writes [3][]loupe.Span
	for n := range uint64(traces) {
		id := tid(1000 + n)
		root := loupe.Span{Project: loupe.DefaultProject, TraceID: id, SpanID: sid(1000*n + 1), Name: "request",
			Kind: loupe.KindRequest, Start: t0, End: t0.Add(time.Second), RequestModel: "router-model"}
		spans := []loupe.Span{root}
		for j := range 1 + rng.IntN(5) {
			kind := loupe.KindLLM
			if rng.IntN(5) == 0 {
				kind = loupe.KindTool
			}
			at := t0.Add(time.Duration(rng.IntN(3)) * time.Millisecond) // frequent ties
			spans = append(spans, loupe.Span{Project: loupe.DefaultProject, TraceID: id, SpanID: sid(1000*n + 2 + uint64(j)),
				ParentSpanID: root.SpanID, Name: fmt.Sprintf("step %d", j), Kind: kind, Start: at, End: at.Add(time.Millisecond),
				RequestModel: models[rng.IntN(len(models))], ResponseModel: models[rng.IntN(len(models))]})
		}
		want[id] = loupe.TraceModel(spans)
		for _, sp := range spans {
			w := rng.IntN(3)
			writes[w] = append(writes[w], sp)
		}
	}
	for _, w := range writes {
		writeIndexed(t, s, []loupe.Batch{{Spans: w}})
	}
	page, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: loupe.DefaultProject,
		From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Traces) != traces {
		t.Fatalf("SearchTraces = %d traces, want %d", len(page.Traces), traces)
	}
	named := 0
	for _, tr := range page.Traces {
		id := tr.TraceID
		if tr.Model != want[id] {
			t.Errorf("trace %s: summary model %q, want loupe.TraceModel %q", tr.TraceID, tr.Model, want[id])
		}
		if tr.Model != "" {
			named++
		}
	}
	if named == 0 || named == traces {
		t.Errorf("%d of %d traces name a model: the fixture should mix both", named, traces)
	}
}
