// Package storetest is the conformance suite every loupe span store passes
// (the embedded DuckDB store now, ClickHouse later). It uses only the
// loupe.SpanWriter and loupe.TraceReader contracts, nothing backend-specific.
//
// Typed attributes: a store must give back attribute values (and event
// bodies, event attributes and message parts) with the Go type they were
// written with, for the documented types string, int64, float64, bool,
// []any and map[string]any: an int64 stays an int64 (also past 2^53) and a
// whole float64 such as 1.0 stays a float64.
//
// Import it only from _test.go files.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

// Store is what the suite tests.
type Store interface {
	loupe.SpanWriter
	loupe.TraceReader
}

// Run runs the conformance suite against a fresh store made by open, called
// once per subtest; each call returns an empty store and registers its
// cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"FullTrace", testFullTrace},
		{"AttributeTypes", testAttributeTypes},
		{"Events", testEvents},
		{"ErrNotFound", testNotFound},
		{"ProjectIsolation", testProjectIsolation},
		{"SeveralWrites", testSeveralWrites},
		{"Ordering", testOrdering},
		{"LargeBatch", testLargeBatch},
		{"ConcurrentReads", testConcurrentReads},
		{"EmptyBatch", testEmptyBatch},
		{"NotRetained", testNotRetained},
		{"DuplicateSpans", testDuplicateSpans},
		{"SampleRoundTrip", testSampleRoundTrip},
		{"Decisions", testDecisions},
		{"InvalidSampling", testInvalidSampling},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// RunReopen checks durability across a restart: it writes to a store made
// by open, calls reopen, which must close that store and return a new one
// on the same data, and reads everything back.
func RunReopen(t *testing.T, open func(t *testing.T) Store, reopen func(t *testing.T, s Store) Store) {
	t.Run("Reopen", func(t *testing.T) {
		s := open(t)
		ref := referenceTrace("p", traceID(1))
		many := manySpans("p", traceID(2), 500, 100)
		mustWrite(t, s, loupe.Batch{Spans: ref}, loupe.Batch{Spans: many[:250]})
		mustWrite(t, s, loupe.Batch{Spans: many[250:], Events: []loupe.SpanEvent{
			{Project: "p", TraceID: traceID(2), SpanID: many[3].SpanID, Event: loupe.Event{Time: at(3, 5), Name: "note"}},
		}})
		s = reopen(t, s)
		wantMany := expect(many, loupe.SpanEvent{Project: "p", TraceID: traceID(2), SpanID: many[3].SpanID,
			Event: loupe.Event{Time: at(3, 5), Name: "note"}})
		checkTrace(t, s, "p", traceID(1), expect(ref))
		checkTrace(t, s, "p", traceID(2), wantMany)

		// The reopened store keeps accepting writes.
		more := manySpans("p", traceID(3), 3, 900)
		mustWrite(t, s, loupe.Batch{Spans: more})
		checkTrace(t, s, "p", traceID(3), expect(more))
	})
}

func mustWrite(t *testing.T, s Store, batches ...loupe.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), batches); err != nil {
		t.Fatalf("Write(%d batches) = %v, want nil", len(batches), err)
	}
}

// clone deep-copies spans so that the expectation never aliases what the
// store was given.
func clone(spans []loupe.Span) []loupe.Span {
	out := slices.Clone(spans)
	for i := range out {
		if p := out[i].Payload; p != nil {
			c := *p
			c.Events = slices.Clone(p.Events)
			c.Input = slices.Clone(p.Input)
			c.Output = slices.Clone(p.Output)
			out[i].Payload = &c
		}
	}
	return out
}

// expect returns what a read of spans must give back: ordered by start then
// span id, with events joined in time order (ties in arrival order) to the
// first span of their id.
func expect(spans []loupe.Span, events ...loupe.SpanEvent) []loupe.Span {
	out := clone(spans)
	slices.SortStableFunc(events, func(a, b loupe.SpanEvent) int { return a.Event.Time.Compare(b.Event.Time) })
	for _, e := range events {
		for i := range out {
			if out[i].SpanID == e.SpanID && out[i].TraceID == e.TraceID && out[i].Project == e.Project {
				out[i].AttachEvent(e.Event)
				break
			}
		}
	}
	loupe.SortSpans(out)
	return out
}

// checkTrace reads the trace and compares it with want.
func checkTrace(t *testing.T, s Store, project string, id loupe.TraceID, want []loupe.Span) {
	t.Helper()
	got, err := s.Trace(t.Context(), project, id)
	if err != nil {
		t.Fatalf("Trace(%q, %s) error = %v, want nil", project, id, err)
	}
	if got.Project != project || got.TraceID != id {
		t.Errorf("Trace(%q, %s) = trace %q %s, want the one asked for", project, id, got.Project, got.TraceID)
	}
	if diff := cmp.Diff(want, got.Spans); diff != "" {
		t.Errorf("Trace(%q, %s) spans mismatch (-want +got):\n%s", project, id, diff)
	}
	// cmp compares times with Time.Equal; the contract is also UTC.
	for _, sp := range got.Spans {
		if sp.Start.Location() != time.UTC || sp.End.Location() != time.UTC {
			t.Errorf("span %s times in %v/%v, want UTC", sp.SpanID, sp.Start.Location(), sp.End.Location())
		}
	}
}

func testFullTrace(t *testing.T, s Store) {
	spans := referenceTrace("default", traceID(1))
	mustWrite(t, s, loupe.Batch{Spans: spans})
	want := expect(spans)
	checkTrace(t, s, "default", traceID(1), want)

	got, err := s.Trace(t.Context(), "default", traceID(1))
	if err != nil {
		t.Fatal(err)
	}
	if st := got.Status(); st != loupe.TraceDegraded {
		t.Errorf("Trace().Status() = %q, want %q", st, loupe.TraceDegraded)
	}
}

func testAttributeTypes(t *testing.T, s Store) {
	tests := []struct {
		name  string
		value any
	}{
		{"String", "text"},
		{"EmptyString", ""},
		{"Int64", int64(7)},
		{"Int64Zero", int64(0)},
		{"Int64Max", int64(1<<63 - 1)},
		{"Int64Min", int64(-1 << 63)},
		{"Int64Past2e53", int64(1<<53 + 1)},
		{"Float64", 3.25},
		{"Float64Whole", 2.0},
		{"Float64Zero", 0.0},
		{"Float64Tiny", 5e-324},
		{"Float64Huge", 1.7976931348623157e308},
		{"Bool", true},
		{"Slice", []any{"a", int64(1), 1.0, false, []any{int64(2)}}},
		{"EmptySlice", []any{}},
		{"Map", map[string]any{"k": int64(1), "f": 1.5, "nested": map[string]any{"x": 3.0}}},
		{"EmptyMap", map[string]any{}},
	}
	attrs := map[string]any{}
	for _, tt := range tests {
		attrs[tt.name] = tt.value
	}
	sp := manySpans("p", traceID(9), 1, 1)
	sp[0].Attributes = attrs
	sp[0].Payload = &loupe.Payload{Events: []loupe.Event{{Time: at(0, 1), Name: "typed", Body: attrs, Attributes: attrs}}}
	mustWrite(t, s, loupe.Batch{Spans: sp})

	got, err := s.Trace(t.Context(), "p", traceID(9))
	if err != nil {
		t.Fatalf("Trace() error = %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := got.Spans[0]
			if diff := cmp.Diff(tt.value, g.Attributes[tt.name]); diff != "" {
				t.Errorf("attribute %s (-want +got):\n%s", tt.name, diff)
			}
			if g.Payload == nil || len(g.Payload.Events) != 1 {
				t.Fatalf("payload events = %+v, want one", g.Payload)
			}
			e := g.Payload.Events[0]
			if diff := cmp.Diff(tt.value, e.Attributes[tt.name]); diff != "" {
				t.Errorf("event attribute %s (-want +got):\n%s", tt.name, diff)
			}
			body, _ := e.Body.(map[string]any)
			if diff := cmp.Diff(tt.value, body[tt.name]); diff != "" {
				t.Errorf("event body %s (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func testEvents(t *testing.T, s Store) {
	tid := traceID(3)
	spans := referenceTrace("p", tid)
	llm, tool := spans[3].SpanID, spans[0].SpanID
	ev := func(id loupe.SpanID, ms int64, name string, body any) loupe.SpanEvent {
		return loupe.SpanEvent{Project: "p", TraceID: tid, SpanID: id, Event: loupe.Event{Time: at(ms, 0), Name: name, Body: body}}
	}
	early := []loupe.SpanEvent{
		// Arrives before its span.
		ev(llm, 43, loupe.EventUserMessage, map[string]any{"content": "late user message"}),
	}
	later := []loupe.SpanEvent{
		ev(llm, 90, loupe.EventChoice, map[string]any{
			"index": int64(0), "finish_reason": "stop",
			"message": map[string]any{"role": "assistant"}, "content": "done",
			"tool_calls": []any{map[string]any{"id": "c2", "name": "lookup", "arguments": map[string]any{"q": "x"}}},
		}),
		ev(llm, 42, loupe.EventSystemMessage, map[string]any{"content": "system text"}),
		ev(tool, 92, "exception", "plain body"),
		ev(tool, 92, "exception.second", nil), // same time: arrival order
		ev(spanID(999), 50, "orphan", nil),    // its span never arrives
	}
	mustWrite(t, s, loupe.Batch{Events: early})
	mustWrite(t, s, loupe.Batch{Spans: spans[:4]}, loupe.Batch{Events: later[:2]})
	mustWrite(t, s, loupe.Batch{Spans: spans[4:], Events: later[2:]})

	want := expect(spans, append(slices.Clone(early), later...)...)
	checkTrace(t, s, "p", tid, want)

	// Spot-check the legacy message mapping, independently of AttachEvent.
	got, err := s.Trace(t.Context(), "p", tid)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range got.Spans {
		if sp.SpanID != llm {
			continue
		}
		roles := []string{}
		for _, m := range sp.Payload.Input {
			roles = append(roles, m.Role+":"+m.Content)
		}
		wantRoles := []string{"system:You are a support agent.", "user:Where is my refund?", "system:system text", "user:late user message"}
		if diff := cmp.Diff(wantRoles, roles); diff != "" {
			t.Errorf("llm span input messages (-want +got):\n%s", diff)
		}
		if n := len(sp.Payload.Output); n != 2 || sp.Payload.Output[1].Content != "done" {
			t.Errorf("llm span output = %+v, want the original plus the gen_ai.choice message", sp.Payload.Output)
		}
	}
}

func testNotFound(t *testing.T, s Store) {
	mustWrite(t, s, loupe.Batch{Spans: manySpans("p", traceID(1), 2, 1)})
	tests := []struct {
		name    string
		project string
		id      loupe.TraceID
	}{
		{"UnknownTrace", "p", traceID(2)},
		{"OtherProject", "q", traceID(1)},
		{"EmptyStore", "p", traceID(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Trace(t.Context(), tt.project, tt.id)
			if !errors.Is(err, loupe.ErrNotFound) {
				t.Errorf("Trace(%q, %s) = %v, %v; want error wrapping ErrNotFound", tt.project, tt.id, got, err)
			}
		})
	}
}

func testProjectIsolation(t *testing.T, s Store) {
	tid := traceID(4)
	a := manySpans("alpha", tid, 3, 1)
	b := referenceTrace("beta", tid)
	evA := loupe.SpanEvent{Project: "alpha", TraceID: tid, SpanID: a[0].SpanID, Event: loupe.Event{Time: at(0, 1), Name: "a-only"}}
	// Same trace and span id as a[0] but in beta: must not reach alpha.
	evB := loupe.SpanEvent{Project: "beta", TraceID: tid, SpanID: a[0].SpanID, Event: loupe.Event{Time: at(0, 1), Name: "b-only"}}
	mustWrite(t, s, loupe.Batch{Spans: a, Events: []loupe.SpanEvent{evA, evB}}, loupe.Batch{Spans: b})
	checkTrace(t, s, "alpha", tid, expect(a, evA))
	checkTrace(t, s, "beta", tid, expect(b, evB))
}

func testSeveralWrites(t *testing.T, s Store) {
	tid := traceID(5)
	spans := manySpans("p", tid, 30, 1)
	other := manySpans("p", traceID(6), 5, 100)
	mustWrite(t, s, loupe.Batch{Spans: spans[20:]})
	mustWrite(t, s, loupe.Batch{Spans: spans[:5]}, loupe.Batch{Spans: other}, loupe.Batch{Spans: spans[5:12]})
	mustWrite(t, s, loupe.Batch{Spans: spans[12:20]})
	checkTrace(t, s, "p", tid, expect(spans))
	checkTrace(t, s, "p", traceID(6), expect(other))
}

func testOrdering(t *testing.T, s Store) {
	tid := traceID(7)
	spans := manySpans("p", tid, 40, 1)
	// Several spans share a start time, so the span id decides; write them
	// in reverse.
	for i := range spans {
		spans[i].Start = at(int64(i/4), 0)
	}
	slices.Reverse(spans)
	mustWrite(t, s, loupe.Batch{Spans: spans})
	got, err := s.Trace(t.Context(), "p", tid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(got.Spans, func(a, b loupe.Span) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return slices.Compare(a.SpanID[:], b.SpanID[:])
	}) {
		t.Errorf("Trace() spans not ordered by start then span id")
	}
	checkTrace(t, s, "p", tid, expect(spans))
}

func testLargeBatch(t *testing.T, s Store) {
	const traces, perTrace = 1000, 20 // 20k spans in one Write
	var batches []loupe.Batch
	for i := range traces {
		spans := manySpans("p", traceID(uint64(1000+i)), perTrace, uint64(i*perTrace+1))
		for j := range spans {
			spans[j].Attributes = map[string]any{"i": int64(i), "j": int64(j)}
			if j%3 == 0 {
				spans[j].Payload = &loupe.Payload{InputValue: fmt.Sprintf("input %d/%d", i, j)}
			}
		}
		batches = append(batches, loupe.Batch{Spans: spans})
	}
	if err := s.Write(t.Context(), batches); err != nil {
		t.Fatalf("Write(20k spans) = %v", err)
	}
	for _, i := range []int{0, 1, 499, 998, 999} {
		checkTrace(t, s, "p", traceID(uint64(1000+i)), expect(batches[i].Spans))
	}
}

func testConcurrentReads(t *testing.T, s Store) {
	ctx := t.Context()
	fixed := referenceTrace("p", traceID(1))
	mustWrite(t, s, loupe.Batch{Spans: fixed})
	want := expect(fixed)

	const writes, perWrite = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range writes {
			// Each trace is written whole in one Write, so a reader sees
			// all of its spans or none.
			spans := manySpans("p", traceID(uint64(100+i)), perWrite, uint64(i*perWrite+1000))
			if err := s.Write(ctx, []loupe.Batch{{Spans: spans[:5]}, {Spans: spans[5:]}}); err != nil {
				errs <- fmt.Errorf("Write() = %w", err)
				return
			}
		}
	})
	for r := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				got, err := s.Trace(ctx, "p", traceID(1))
				if err != nil {
					errs <- fmt.Errorf("reader %d: Trace(fixed) = %w", r, err)
					return
				}
				if diff := cmp.Diff(want, got.Spans); diff != "" {
					errs <- fmt.Errorf("reader %d: fixed trace changed (-want +got):\n%s", r, diff)
					return
				}
				id := traceID(uint64(100 + n%writes))
				got, err = s.Trace(ctx, "p", id)
				switch {
				case errors.Is(err, loupe.ErrNotFound):
				case err != nil:
					errs <- fmt.Errorf("reader %d: Trace(%s) = %w", r, id, err)
					return
				case len(got.Spans) != perWrite:
					errs <- fmt.Errorf("reader %d: Trace(%s) has %d spans, want %d (partial write visible)", r, id, len(got.Spans), perWrite)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range writes {
		got, err := s.Trace(ctx, "p", traceID(uint64(100+i)))
		if err != nil || len(got.Spans) != perWrite {
			t.Errorf("after writes: Trace(%d) = %v spans, %v; want %d", i, spanCount(got), err, perWrite)
		}
	}
}

func spanCount(t *loupe.Trace) int {
	if t == nil {
		return 0
	}
	return len(t.Spans)
}

func testEmptyBatch(t *testing.T, s Store) {
	ctx := t.Context()
	for _, batches := range [][]loupe.Batch{nil, {}, {{}}, {{Spans: []loupe.Span{}}, {Events: []loupe.SpanEvent{}}}} {
		if err := s.Write(ctx, batches); err != nil {
			t.Errorf("Write(%v) = %v, want nil", batches, err)
		}
	}
	if _, err := s.Trace(ctx, "p", traceID(1)); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("Trace() after empty writes = %v, want ErrNotFound", err)
	}
}

// testNotRetained checks that the store copied what it was given: the
// caller may reuse its batches once Write returns.
func testNotRetained(t *testing.T, s Store) {
	spans := referenceTrace("p", traceID(8))
	want := expect(spans)
	mustWrite(t, s, loupe.Batch{Spans: spans})
	for i := range spans {
		spans[i].Name = "overwritten"
		spans[i].Attributes = nil
		if spans[i].Payload != nil {
			spans[i].Payload.Input = nil
			spans[i].Payload.ToolResult = "overwritten"
		}
	}
	checkTrace(t, s, "p", traceID(8), want)
}

// testDuplicateSpans checks the append-only contract: writing a span twice
// stores it twice (no dedup on write or read).
func testDuplicateSpans(t *testing.T, s Store) {
	spans := manySpans("p", traceID(10), 2, 1)
	mustWrite(t, s, loupe.Batch{Spans: spans})
	mustWrite(t, s, loupe.Batch{Spans: spans[1:]})
	got, err := s.Trace(t.Context(), "p", traceID(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spans) != 3 {
		t.Errorf("Trace() has %d spans, want 3 (the duplicate kept)", len(got.Spans))
	}
}
