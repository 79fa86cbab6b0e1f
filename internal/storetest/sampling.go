package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

// DecisionReader is implemented by stores that record tail-sampling
// decisions (loupe.Batch.Decisions); the suite checks it when the store has
// it.
type DecisionReader interface {
	// Decisions returns the recorded decisions on the traces ids of
	// project; traces without one are absent. A trace decided twice gives
	// its earliest decision.
	Decisions(ctx context.Context, project string, ids []loupe.TraceID) (map[loupe.TraceID]loupe.Decision, error)
}

// sampled returns spans with every span's Sample set to s.
func sampled(spans []loupe.Span, s loupe.Sample) []loupe.Span {
	for i := range spans {
		spans[i].Sample = s
	}
	return spans
}

// testSampleRoundTrip checks that spans keep their sampling verdict, and
// that metadata-only spans are stored without payload even when given one.
func testSampleRoundTrip(t *testing.T, s Store) {
	full := sampled(referenceTrace("p", traceID(20)), loupe.Sample{Class: loupe.SampleFull, Weight: 10, Rule: "normal"})
	meta := sampled(referenceTrace("p", traceID(21)), loupe.Sample{Class: loupe.SampleMetadata, Weight: 5, Rule: "metadata"})
	hasPayload := false
	for i := range meta {
		hasPayload = hasPayload || meta[i].Payload != nil
	}
	if !hasPayload {
		t.Fatal("fixture has no payload: the metadata check would prove nothing")
	}
	mustWrite(t, s, loupe.Batch{Spans: full}, loupe.Batch{Spans: meta})
	checkTrace(t, s, "p", traceID(20), expect(full))

	want := expect(meta)
	for i := range want {
		want[i].Payload = nil
	}
	checkTrace(t, s, "p", traceID(21), want)

	// Spans of a dropped trace (a late span after the verdict) are not
	// stored; the other spans of their write are.
	late := sampled(manySpans("p", traceID(22), 2, 1), loupe.Sample{Class: loupe.SampleDropped, Rule: "rest"})
	mustWrite(t, s, loupe.Batch{Spans: append(late, full[0])})
	if _, err := s.Trace(t.Context(), "p", traceID(22)); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("Trace(dropped) = %v, want ErrNotFound", err)
	}
	got, err := s.Trace(t.Context(), "p", traceID(20))
	if err != nil || len(got.Spans) != len(full)+1 {
		t.Errorf("Trace(full) after a second write = %v spans, %v; want %d", spanCount(got), err, len(full)+1)
	}
}

// testDecisions checks that decisions, with or without spans, are found by
// trace id, and only in their project.
func testDecisions(t *testing.T, s Store) {
	dr, ok := s.(DecisionReader)
	if !ok {
		t.Skip("store records no decisions")
	}
	kept := sampled(manySpans("p", traceID(30), 3, 1), loupe.Sample{Class: loupe.SampleFull, Weight: 1, Rule: "errors"})
	decided := at(1000, 0)
	want := map[loupe.TraceID]loupe.Decision{
		traceID(30): {Project: "p", TraceID: traceID(30), Sample: kept[0].Sample, Decided: decided},
		traceID(31): {Project: "p", TraceID: traceID(31), Sample: loupe.Sample{Class: loupe.SampleDropped, Weight: 1, Rule: "rest"}, Decided: decided},
		traceID(32): {Project: "p", TraceID: traceID(32), Sample: loupe.Sample{Class: loupe.SampleMetadata, Weight: 10, Rule: "metadata"}, Decided: decided},
	}
	mustWrite(t, s, loupe.Batch{Spans: kept, Decisions: []loupe.Decision{want[traceID(30)], want[traceID(31)]}})
	// A batch of decisions alone (every trace dropped) is written too.
	mustWrite(t, s, loupe.Batch{Decisions: []loupe.Decision{want[traceID(32)],
		{Project: "other", TraceID: traceID(33), Sample: loupe.Sample{Class: loupe.SampleDropped, Weight: 1}, Decided: decided}}})
	// A later decision on the same trace does not replace the first.
	mustWrite(t, s, loupe.Batch{Decisions: []loupe.Decision{{Project: "p", TraceID: traceID(31),
		Sample: loupe.Sample{Class: loupe.SampleFull, Weight: 1, Rule: "late"}, Decided: at(2000, 0)}}})

	ids := []loupe.TraceID{traceID(30), traceID(31), traceID(32), traceID(33), traceID(34), traceID(30)}
	got, err := dr.Decisions(t.Context(), "p", ids)
	if err != nil {
		t.Fatalf("Decisions() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decisions() mismatch (-want +got):\n%s", diff)
	}
	got, err = dr.Decisions(t.Context(), "other", []loupe.TraceID{traceID(30), traceID(33)})
	if err != nil {
		t.Fatalf("Decisions(other) = %v", err)
	}
	if len(got) != 1 || got[traceID(33)].Sample.Class != loupe.SampleDropped {
		t.Errorf("Decisions(other) = %v, want only trace 33, dropped", got)
	}
	if got, err := dr.Decisions(t.Context(), "p", nil); err != nil || len(got) != 0 {
		t.Errorf("Decisions(nil) = %v, %v, want empty, nil", got, err)
	}
}

// testInvalidSampling checks that bad verdicts and counts are refused with
// ErrInvalid and store nothing of the call.
func testInvalidSampling(t *testing.T, s Store) {
	good := func() loupe.Batch {
		return loupe.Batch{
			Spans:     manySpans("p", traceID(40), 2, 1),
			Decisions: []loupe.Decision{{Project: "p", TraceID: traceID(40), Sample: loupe.Sample{Class: loupe.SampleFull}, Decided: at(0, 0)}},
		}
	}
	tests := []struct {
		name  string
		spoil func(b *loupe.Batch)
	}{
		{"UnknownSpanClass", func(b *loupe.Batch) { b.Spans[1].Sample.Class = "half" }},
		{"FractionalWeight", func(b *loupe.Batch) { b.Spans[0].Sample = loupe.Sample{Class: loupe.SampleFull, Weight: 0.5} }},
		{"DecisionWithoutClass", func(b *loupe.Batch) { b.Decisions[0].Sample.Class = "" }},
		{"DecisionWithoutTrace", func(b *loupe.Batch) { b.Decisions[0].TraceID = loupe.TraceID{} }},
		{"NegativeCount", func(b *loupe.Batch) {
			b.Counts = []loupe.Count{{Project: "p", Minute: at(0, 0), Requests: -1}}
		}},
		{"CountWithoutMinute", func(b *loupe.Batch) { b.Counts = []loupe.Count{{Project: "p", Requests: 1}} }},
	}
	dr, _ := s.(DecisionReader)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good()
			tt.spoil(&b)
			if err := s.Write(t.Context(), []loupe.Batch{b}); !errors.Is(err, loupe.ErrInvalid) {
				t.Fatalf("Write() = %v, want ErrInvalid", err)
			}
			if _, err := s.Trace(t.Context(), "p", traceID(40)); !errors.Is(err, loupe.ErrNotFound) {
				t.Errorf("Trace() after a refused write = %v, want ErrNotFound", err)
			}
			if dr != nil {
				if got, err := dr.Decisions(t.Context(), "p", []loupe.TraceID{traceID(40)}); err != nil || len(got) != 0 {
					t.Errorf("Decisions() after a refused write = %v, %v, want none", got, err)
				}
			}
		})
	}
	// Positive control: the unbroken batch is accepted and stored.
	mustWrite(t, s, good())
	if _, err := s.Trace(t.Context(), "p", traceID(40)); err != nil {
		t.Errorf("Trace() after the good write = %v", err)
	}
	if dr != nil {
		if got, err := dr.Decisions(t.Context(), "p", []loupe.TraceID{traceID(40)}); err != nil || len(got) != 1 {
			t.Errorf("Decisions() after the good write = %v, %v, want one", got, err)
		}
	}
}
