package duckdb

import (
	"errors"
	"testing"
	"time"

	"github.com/loupehq/loupe"
)

func tableRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// sampledBatch is one kept trace with its decision and count, plus a
// dropped trace's decision and count.
func sampledBatch(trace byte) []loupe.Batch {
	minute := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	sp := testSpan(trace, 1)
	sp.Sample = loupe.Sample{Class: loupe.SampleFull, Weight: 10, Rule: "normal"}
	return []loupe.Batch{{
		Spans: []loupe.Span{sp},
		Decisions: []loupe.Decision{
			{Project: "p", TraceID: sp.TraceID, Sample: sp.Sample, Decided: minute},
			{Project: "p", TraceID: loupe.TraceID{0: trace, 15: 2}, Sample: loupe.Sample{Class: loupe.SampleDropped}, Decided: minute},
		},
		Counts: []loupe.Count{{Project: "p", Minute: minute, Model: "m", Requests: 2, Errors: 1, InputTokens: 7, CostUSD: 0.5}},
	}}
}

// TestWriteSamplingAtomic checks that decisions and counts commit with the
// spans of their write or not at all.
func TestWriteSamplingAtomic(t *testing.T) {
	s := mustOpenInternal(t)
	injected := errors.New("injected")
	s.beforeCommit = func() error { return injected }
	if err := s.Write(t.Context(), sampledBatch(1)); !errors.Is(err, injected) {
		t.Fatalf("Write() = %v, want the injected error", err)
	}
	for _, table := range []string{"spans", "trace_parts", "sample_decisions", "counters"} {
		if n := tableRows(t, s, table); n != 0 {
			t.Errorf("%s rows after a failed write = %d, want 0", table, n)
		}
	}
	// Positive control: the same write without the fault stores all of it.
	s.beforeCommit = nil
	if err := s.Write(t.Context(), sampledBatch(1)); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	for table, want := range map[string]int{"spans": 1, "trace_parts": 1, "sample_decisions": 2, "counters": 1} {
		if n := tableRows(t, s, table); n != want {
			t.Errorf("%s rows after a good write = %d, want %d", table, n, want)
		}
	}
	var class string
	var weight float64
	if err := s.db.QueryRowContext(t.Context(), "SELECT sample_class, sample_weight FROM trace_parts").Scan(&class, &weight); err != nil {
		t.Fatal(err)
	}
	if class != "full" || weight != 10 {
		t.Errorf("trace_parts sample = %q, %v, want full, 10", class, weight)
	}
}

// TestMetadataNoPayloadBytes checks that metadata-only spans add no bytes to
// the payload log, even when they come with a payload, where full ones do.
func TestMetadataNoPayloadBytes(t *testing.T) {
	s := mustOpenInternal(t)
	write := func(trace byte, class loupe.SampleClass) int64 {
		t.Helper()
		before, err := s.seg.Size()
		if err != nil {
			t.Fatal(err)
		}
		var spans []loupe.Span
		for i := range byte(50) {
			sp := testSpan(trace, i+1)
			sp.Payload = &loupe.Payload{InputValue: "a payload that would take bytes on disk", ToolResult: "and more"}
			sp.Sample = loupe.Sample{Class: class, Weight: 10, Rule: "r"}
			spans = append(spans, sp)
		}
		if err := s.Write(t.Context(), []loupe.Batch{{Spans: spans}}); err != nil {
			t.Fatalf("Write(%s) = %v", class, err)
		}
		if spans[0].Payload == nil {
			t.Fatalf("Write(%s) modified the caller's spans", class)
		}
		after, err := s.seg.Size()
		if err != nil {
			t.Fatal(err)
		}
		return after - before
	}
	if n := write(1, loupe.SampleMetadata); n != 0 {
		t.Errorf("metadata-only spans added %d payload bytes, want 0", n)
	}
	if n := write(2, loupe.SampleFull); n <= 0 {
		t.Errorf("full spans added %d payload bytes, want > 0 (positive control)", n)
	}
	var n int
	if err := s.db.QueryRowContext(t.Context(),
		"SELECT count(*) FROM spans WHERE sample_class = 'metadata' AND payload_seg IS NOT NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d metadata-only span rows point at a payload, want 0", n)
	}
}
