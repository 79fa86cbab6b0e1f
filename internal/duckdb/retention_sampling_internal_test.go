package duckdb

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

// TestRetentionSamplingTables checks that a retention run deletes the
// sampler's decisions and counters past the metadata horizon (per project,
// on the fake clock retentionNow), keeps the decisions of held traces and
// of traces whose metadata is kept, and works through more rows than one
// chunk.
func TestRetentionSamplingTables(t *testing.T) {
	pol := &RetentionPolicy{Default: DefaultRetention(), Projects: map[string]Retention{
		"short": {Payloads: 24 * time.Hour, Metadata: 3 * 24 * time.Hour},
	}}
	s := openRetentionStore(t, t.TempDir(), pol)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(5, 6))
	day := 24 * time.Hour
	ago := func(d time.Duration) time.Time { return retentionNow.Add(-d) }

	type decCase struct {
		name    string
		project string
		decided time.Duration // before retentionNow
		spans   int           // age in days of the trace's spans; 0: none (dropped)
		held    bool
		want    bool // decision kept
	}
	decs := []decCase{
		{"DroppedPastHorizon", "p", 100 * day, 0, false, false},
		{"DroppedInside", "p", 80 * day, 0, false, true},
		{"KeptTracePastHorizon", "p", 120 * day, 120, false, false},
		{"HeldTracePastHorizon", "p", 95 * day, 95, true, true},
		{"TraceStillStored", "p", 100 * day, 10, false, true}, // late spans keep its metadata
		{"ShortProjectPast", "short", 4 * day, 0, false, false},
		{"ShortProjectInside", "short", 2 * day, 0, false, true},
	}
	id := func(i int) loupe.TraceID { return loupe.TraceID{0: 0xd, 15: byte(i + 1)} }
	for i, c := range decs {
		b := loupe.Batch{Decisions: []loupe.Decision{{Project: c.project, TraceID: id(i), Decided: ago(c.decided),
			Sample: loupe.Sample{Class: loupe.SampleFull, Rule: "normal", Weight: 5}}}}
		if c.spans > 0 {
			b.Spans = retentionTrace(rng, agedTrace{id: id(i), ageDay: c.spans, word: "w"}, c.project, 64)
		} else {
			b.Decisions[0].Sample.Class = loupe.SampleDropped
		}
		if err := s.Write(ctx, []loupe.Batch{b}); err != nil {
			t.Fatal(err)
		}
		if c.held {
			if err := s.Hold(ctx, c.project, id(i), "dataset:ds1"); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Counters: one row per minute case, plus more expired increments
	// than one transaction deletes.
	// The run is at retentionNow+30s, so the cut falls inside a minute.
	now := retentionNow.Add(30 * time.Second)
	cut := now.Add(-DefaultMetadataRetention)
	m0 := cut.Truncate(time.Minute)
	minutes := []struct {
		name   string
		minute time.Time
		want   bool
	}{
		{"EndsBeforeCut", m0.Add(-time.Minute), false},
		{"StraddlesCut", m0, true},
		{"Inside", m0.Add(time.Hour), true},
	}
	var counts []loupe.Count
	for i, m := range minutes {
		counts = append(counts, loupe.Count{Project: "p", Minute: m.minute, Tenant: m.name, Requests: int64(i + 1)})
	}
	const bulk = 2*retentionRowChunk + 17
	for i := range bulk {
		counts = append(counts, loupe.Count{Project: "p", Minute: m0.Add(-time.Duration(i+2) * time.Minute), Tenant: "bulk", Requests: 1})
	}
	if err := s.Write(ctx, []loupe.Batch{{Counts: counts}}); err != nil {
		t.Fatal(err)
	}

	countRows := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	decisionKept := func(i int) bool {
		c := decs[i]
		got, err := s.Decisions(ctx, c.project, []loupe.TraceID{id(i)})
		if err != nil {
			t.Fatalf("Decisions() = %v", err)
		}
		_, ok := got[id(i)]
		return ok
	}
	// Positive control: every row is there before the run.
	for i := range decs {
		if !decisionKept(i) {
			t.Fatalf("before: decision %s missing", decs[i].name)
		}
	}
	if got := countRows(`SELECT count(*) FROM counters`); got != int64(len(counts)) {
		t.Fatalf("before: %d counter rows, want %d", got, len(counts))
	}

	rep, err := s.EnforceRetention(ctx, now)
	if err != nil {
		t.Fatalf("EnforceRetention() = %v", err)
	}
	for i, c := range decs {
		t.Run("Decision/"+c.name, func(t *testing.T) {
			if got := decisionKept(i); got != c.want {
				t.Errorf("decision kept = %v, want %v", got, c.want)
			}
		})
	}
	for _, m := range minutes {
		t.Run("Counter/"+m.name, func(t *testing.T) {
			got := countRows(`SELECT count(*) FROM counters WHERE tenant = ?`, m.name) == 1
			if got != m.want {
				t.Errorf("counter row of minute %s kept = %v, want %v", m.minute, got, m.want)
			}
		})
	}
	if got := countRows(`SELECT count(*) FROM counters WHERE tenant = 'bulk'`); got != 0 {
		t.Errorf("expired bulk counter rows left = %d, want 0", got)
	}
	wantRep := [2]int64{3, bulk + 1}
	if diff := cmp.Diff(wantRep, [2]int64{rep.DecisionsDeleted, rep.CounterRowsDeleted}); diff != "" {
		t.Errorf("report [decisions, counter rows] deleted mismatch (-want +got):\n%s", diff)
	}

	// A second run finds nothing more; the kept rows stay.
	rep, err = s.EnforceRetention(ctx, now)
	if err != nil || rep.DecisionsDeleted != 0 || rep.CounterRowsDeleted != 0 {
		t.Errorf("second run = %+v, %v; want nothing deleted", rep, err)
	}
}
