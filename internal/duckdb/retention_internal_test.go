package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// retentionNow is the fake clock of the retention tests.
var retentionNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// agedTrace is one trace of the retention scenario.
type agedTrace struct {
	id     loupe.TraceID
	ageDay int
	failed bool
	held   bool
	word   string // a word only this trace's payloads contain
}

// retentionTrace returns a 3-span trace that started ageDay days before
// retentionNow, with incompressible payloads of about payloadBytes per span
// (so that payloads are the bulk of the bytes on disk, as in production).
func retentionTrace(rng *rand.Rand, tr agedTrace, project string, payloadBytes int) []loupe.Span {
	start := retentionNow.Add(-time.Duration(tr.ageDay)*24*time.Hour - time.Hour)
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	spans := make([]loupe.Span, 3)
	for i := range spans {
		junk := make([]byte, payloadBytes)
		for j := range junk {
			junk[j] = letters[rng.IntN(len(letters))]
		}
		s := start.Add(time.Duration(i) * time.Millisecond)
		spans[i] = loupe.Span{
			Project: project, TraceID: tr.id, SpanID: loupe.SpanID{0: tr.id[0], 1: tr.id[14], 2: tr.id[15], 7: byte(i + 1)},
			Name: fmt.Sprintf("step%d", i), Kind: loupe.KindLLM, Status: loupe.StatusOK,
			Start: s, End: s.Add(10 * time.Millisecond),
			Payload: &loupe.Payload{InputValue: tr.word + " " + string(junk), OutputValue: "answer"},
		}
		if i > 0 {
			spans[i].ParentSpanID = spans[0].SpanID
		}
	}
	if tr.failed {
		spans[2].Status = loupe.StatusError
		spans[2].ErrorType = "INVALID_ARGUMENT"
	}
	return spans
}

// markerWord returns a word (letters only) unique to n.
func markerWord(n int) string {
	return "marker" + string(rune('a'+n/26)) + string(rune('a'+n%26))
}

// duBytes returns the bytes allocated on disk under dir (du), falling
// back to file sizes where the block count is unknown.
func duBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// openRetentionStore opens a store whose every write starts a new payload
// segment file (SegmentBytes 1), so that retention can drop old data file
// by file as it does with full-size segments in production.
func openRetentionStore(t *testing.T, dir string, pol *RetentionPolicy) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{Dir: dir, Logger: slog.New(slog.DiscardHandler), SegmentBytes: 1,
		Retention: pol, Now: func() time.Time { return retentionNow }})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func textSearch(t *testing.T, s *Store, project, word string) []loupe.TraceID {
	t.Helper()
	f, err := query.Parse(fmt.Sprintf("input contains %q", word))
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: project, Filter: f,
		From: retentionNow.Add(-89 * 24 * time.Hour), To: retentionNow, Limit: 50})
	if err != nil {
		t.Fatalf("SearchTraces(%q) = %v", word, err)
	}
	var ids []loupe.TraceID
	for _, tr := range page.Traces {
		ids = append(ids, tr.TraceID)
	}
	return ids
}

func TestEnforceRetention(t *testing.T) {
	t.Run("blocks=per write", func(t *testing.T) { testEnforceRetention(t, false) })
	t.Run("blocks=compacted", func(t *testing.T) { testEnforceRetention(t, true) })
}

// testEnforceRetention runs the retention scenario; compact merges the
// full-text blocks first (fulltext_compact.go), so that merged blocks
// mix expired, kept and held payloads.
func testEnforceRetention(t *testing.T, compact bool) {
	dir := t.TempDir()
	s := openRetentionStore(t, dir, nil) // defaults: 7d / 30d / 90d
	rng := rand.New(rand.NewPCG(1, 2))

	// One write (so one payload segment file) per age: a normal trace, a
	// failed one, and at 15 and 95 days a held one; oldest first.
	var traces []agedTrace
	n := 0
	for _, age := range []int{120, 95, 92, 89, 60, 35, 29, 20, 15, 12, 8, 5, 1} {
		var batch []loupe.Span
		kinds := []agedTrace{{}, {failed: true}}
		if age == 15 || age == 95 {
			kinds = append(kinds, agedTrace{held: true})
		}
		for _, k := range kinds {
			n++
			tr := agedTrace{id: loupe.TraceID{0: 0xa, 15: byte(n)}, ageDay: age, failed: k.failed, held: k.held, word: markerWord(n)}
			traces = append(traces, tr)
			batch = append(batch, retentionTrace(rng, tr, "p", 48<<10)...)
		}
		if err := s.Write(t.Context(), []loupe.Batch{{Spans: batch}}); err != nil {
			t.Fatal(err)
		}
	}
	var held95 agedTrace
	for _, tr := range traces {
		if tr.held {
			if err := s.Hold(t.Context(), "p", tr.id, "dataset:ds1"); err != nil {
				t.Fatalf("Hold() = %v", err)
			}
			if tr.ageDay == 95 {
				held95 = tr
			}
		}
	}
	if err := s.Hold(t.Context(), "p", loupe.TraceID{1: 1}, "x"); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("Hold(unknown trace) = %v, want ErrNotFound", err)
	}
	if compact {
		// 13 blocks of 6 or 9 spans, all small under a cap of 40: two
		// merged blocks of 39 spans (ages 120..35 and 29..5) and the
		// newest left.
		s.stopCompaction()
		s.ftsCompactCap = 40
		if merged, err := s.compactFullText(t.Context()); err != nil || merged != 12 {
			t.Fatalf("compactFullText() = %d, %v; want 12 blocks merged", merged, err)
		}
		if diff := cmp.Diff([]int{39, 39, 6}, blockSizes(t, s, "p")); diff != "" {
			t.Fatalf("blocks after compaction (-want +got):\n%s", diff)
		}
	}
	if err := s.checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Positive control: before enforcement every payload is there and
	// found by text, so the checks below can fail.
	for _, tr := range traces {
		got, err := s.Trace(t.Context(), "p", tr.id)
		if err != nil {
			t.Fatalf("before: Trace(%d days) = %v", tr.ageDay, err)
		}
		if got.Spans[0].Payload == nil {
			t.Fatalf("before: trace of %d days has no payload", tr.ageDay)
		}
	}
	if ids := textSearch(t, s, "p", traces[10].word); len(ids) != 1 {
		t.Fatalf("before: text search found %d traces, want 1", len(ids))
	}
	diskBefore := duBytes(t, dir)

	rep, err := s.EnforceRetention(t.Context(), retentionNow)
	if err != nil {
		t.Fatalf("EnforceRetention() = %v", err)
	}
	t.Logf("report: %+v", rep)
	diskAfter := duBytes(t, dir)
	t.Logf("disk: %d -> %d bytes (-%d)", diskBefore, diskAfter, diskBefore-diskAfter)

	for _, tr := range traces {
		name := fmt.Sprintf("age=%dd/failed=%v/held=%v", tr.ageDay, tr.failed, tr.held)
		t.Run(name, func(t *testing.T) {
			wantMeta := tr.held || tr.ageDay < 90
			wantPayload := tr.held || tr.ageDay < 7 || (tr.failed && tr.ageDay < 30)
			got, err := s.Trace(t.Context(), "p", tr.id)
			if !wantMeta {
				if !errors.Is(err, loupe.ErrNotFound) {
					t.Errorf("Trace() = %v, want ErrNotFound (metadata past 90 days)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Trace() = %v", err)
			}
			if len(got.Spans) != 3 {
				t.Errorf("Trace() has %d spans, want 3", len(got.Spans))
			}
			for _, sp := range got.Spans {
				if wantPayload && (sp.Payload == nil || sp.PayloadRemoved != "") {
					t.Errorf("span %s: payload %v removed %q, want the payload", sp.Name, sp.Payload != nil, sp.PayloadRemoved)
				}
				if !wantPayload && (sp.Payload != nil || sp.PayloadRemoved != loupe.PayloadRemovedRetention) {
					t.Errorf("span %s: payload %v removed %q, want removed by retention", sp.Name, sp.Payload != nil, sp.PayloadRemoved)
				}
			}
			if tr.ageDay < 89 { // inside the search window
				ids := textSearch(t, s, "p", tr.word)
				if found := len(ids) == 1 && ids[0] == tr.id; found != wantPayload {
					t.Errorf("text search found %v, want found=%v", ids, wantPayload)
				}
			}
		})
	}

	// Search and statistics no longer see deleted traces.
	page, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p",
		From: retentionNow.Add(-150 * 24 * time.Hour), To: retentionNow.Add(-80 * 24 * time.Hour), Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(page.Traces), 3; got != want { // the 89-day pair and the held 95-day trace
		t.Errorf("SearchTraces(80..150 days ago) = %d traces, want %d", got, want)
	}
	st, err := s.Stats(t.Context(), query.StatsRequest{Project: "p",
		From: retentionNow.Add(-89 * 24 * time.Hour), To: retentionNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rows) != 1 || st.Rows[0].Count != 19 { // 9 ages x 2 + 1 held (the 89-day pair is outside the window)
		t.Errorf("Stats() = %+v, want one group of 19 traces", st.Rows)
	}

	// Disk usage falls: the segment files holding the dropped payloads are
	// deleted (less the kept payloads copied out of them). The database
	// file does not shrink at once: the checkpoint writes the changed row
	// groups to new blocks before it frees the old ones, which later
	// writes reuse (see TestRetentionDatabaseFile).
	// Stripped: 11 kept traces (8 normal of 8..89 days, 3 failed of 35..89
	// days) and the 6 expired ones before their deletion, 3 spans each;
	// moved: the failed traces of 8..29 days and the held ones, from the
	// segments they shared with stripped traces.
	if rep.PayloadsStripped != 51 || rep.PayloadsMoved != 21 || rep.TracesDeleted != 6 || rep.SpansDeleted != 18 {
		t.Errorf("report %+v: want 51 payloads stripped, 21 moved, 6 traces (18 spans) deleted", rep)
	}
	payloadFreed := rep.SegmentBytesRemoved - rep.PayloadBytesCopied
	dbGrowth := max(0, rep.DatabaseBytesAfter-rep.DatabaseBytesBefore)
	if payloadFreed < rep.PayloadsStripped*30<<10 {
		t.Errorf("payload bytes freed = %d, want at least 30 KiB for each of %d stripped payloads", payloadFreed, rep.PayloadsStripped)
	}
	if drop := diskBefore - diskAfter; drop < payloadFreed-dbGrowth || drop < payloadFreed/2 {
		t.Errorf("disk usage fell by %d bytes, want at least %d (payload segment bytes freed %d, database file growth %d)",
			drop, max(payloadFreed-dbGrowth, payloadFreed/2), payloadFreed, dbGrowth)
	}

	// A second run finds nothing left to do.
	rep2, err := s.EnforceRetention(t.Context(), retentionNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.PayloadsStripped != 0 || rep2.TracesDeleted != 0 || rep2.SegmentsRemoved != 0 {
		t.Errorf("second run report %+v, want nothing removed", rep2)
	}

	// Released, the 95-day trace goes at the next run.
	if err := s.Release(t.Context(), "p", held95.id, "dataset:ds1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnforceRetention(t.Context(), retentionNow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Trace(t.Context(), "p", held95.id); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("Trace(released 95-day trace) = %v, want ErrNotFound", err)
	}

	// Reopened, the store reads the same.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openRetentionStore(t, dir, nil)
	for _, tr := range traces {
		if tr.ageDay != 20 {
			continue
		}
		got, err := s2.Trace(t.Context(), "p", tr.id)
		if err != nil {
			t.Fatalf("after reopen: Trace(20-day trace) = %v", err)
		}
		if has := got.Spans[0].Payload != nil; has != tr.failed {
			t.Errorf("after reopen: 20-day trace (failed=%v) has payload %v, want %v", tr.failed, has, tr.failed)
		}
	}
}

func TestRetentionPerProject(t *testing.T) {
	pol := &RetentionPolicy{Default: DefaultRetention(), Projects: map[string]Retention{
		"short":   {Payloads: 24 * time.Hour, ErrorPayloads: 2 * 24 * time.Hour, Metadata: 3 * 24 * time.Hour},
		"forever": {},
	}}
	s := openRetentionStore(t, t.TempDir(), pol)
	rng := rand.New(rand.NewPCG(3, 4))
	type tc struct {
		project               string
		age                   int
		wantMeta, wantPayload bool
	}
	cases := []tc{
		{"short", 2, true, false},
		{"short", 4, false, false},
		{"forever", 400, true, true},
		{"default", 2, true, true},
		{"default", 8, true, false},
	}
	for i, c := range cases {
		tr := agedTrace{id: loupe.TraceID{0: 0xb, 15: byte(i + 1)}, ageDay: c.age, word: "w"}
		if err := s.Write(t.Context(), []loupe.Batch{{Spans: retentionTrace(rng, tr, c.project, 1<<10)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EnforceRetention(t.Context(), retentionNow); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s/%dd", c.project, c.age), func(t *testing.T) {
			got, err := s.Trace(t.Context(), c.project, loupe.TraceID{0: 0xb, 15: byte(i + 1)})
			if !c.wantMeta {
				if !errors.Is(err, loupe.ErrNotFound) {
					t.Errorf("Trace() = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Trace() = %v", err)
			}
			if has := got.Spans[0].Payload != nil; has != c.wantPayload {
				t.Errorf("payload present = %v, want %v", has, c.wantPayload)
			}
		})
	}
}

// TestRetentionConcurrent runs enforcement while traces are written and
// read: no call fails, and every acknowledged span that retention keeps
// reads back with its payload.
func TestRetentionConcurrent(t *testing.T) {
	s := openRetentionStore(t, t.TempDir(), nil)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(5, 6))
	// Old traces for retention to chew on.
	for i := range 40 {
		tr := agedTrace{id: loupe.TraceID{0: 0xc, 14: byte(i), 15: 1}, ageDay: 8 + i*3, failed: i%4 == 0, word: "old"}
		if err := s.Write(ctx, []loupe.Batch{{Spans: retentionTrace(rng, tr, "p", 4<<10)}}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg      sync.WaitGroup
		stop    atomic.Bool
		written []loupe.TraceID
		errs    = make(chan error, 16)
	)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	wg.Go(func() { // writer: fresh traces, kept by retention
		wrng := rand.New(rand.NewPCG(7, 8))
		for i := 0; i < 60 && !stop.Load(); i++ {
			tr := agedTrace{id: loupe.TraceID{0: 0xd, 14: byte(i), 15: 2}, ageDay: 1, word: "fresh"}
			if err := s.Write(ctx, []loupe.Batch{{Spans: retentionTrace(wrng, tr, "p", 4<<10)}}); err != nil {
				report(fmt.Errorf("Write: %w", err))
				return
			}
			written = append(written, tr.id)
		}
	})
	wg.Go(func() { // reader of the old traces, whose payloads move or go
		for i := 0; !stop.Load() && i < 400; i++ {
			id := loupe.TraceID{0: 0xc, 14: byte(i % 40), 15: 1}
			if _, err := s.Trace(ctx, "p", id); err != nil && !errors.Is(err, loupe.ErrNotFound) {
				report(fmt.Errorf("Trace: %w", err))
				return
			}
		}
	})
	for day := range 5 {
		if _, err := s.EnforceRetention(ctx, retentionNow.Add(time.Duration(day)*24*time.Hour)); err != nil {
			report(fmt.Errorf("EnforceRetention: %w", err))
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := s.EnforceRetention(ctx, retentionNow); err != nil {
		t.Fatal(err)
	}
	for _, id := range written {
		got, err := s.Trace(ctx, "p", id)
		if err != nil {
			t.Fatalf("Trace(acked fresh trace) = %v", err)
		}
		for _, sp := range got.Spans {
			if sp.Payload == nil {
				t.Fatalf("acked fresh trace %s lost its payload", id)
			}
		}
	}
}

// TestRetentionBackground checks that the goroutine Open starts enforces
// the policy with the injected clock, and that Close stops it.
func TestRetentionBackground(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), Options{Dir: dir, Logger: slog.New(slog.DiscardHandler), SegmentBytes: 1,
		RetentionEvery: time.Millisecond, Now: func() time.Time { return retentionNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := agedTrace{id: loupe.TraceID{0: 0xe, 15: 1}, ageDay: 100, word: "bg"}
	rng := rand.New(rand.NewPCG(9, 9))
	if err := s.Write(t.Context(), []loupe.Batch{{Spans: retentionTrace(rng, tr, "p", 1<<10)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.Trace(t.Context(), "p", tr.id)
		if errors.Is(err, loupe.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the background enforcement did not delete a 100-day-old trace within 20s")
		}
		select {
		case <-t.Context().Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnforceRetention(context.Background(), retentionNow); !errors.Is(err, loupe.ErrClosed) {
		t.Errorf("EnforceRetention after Close = %v, want ErrClosed", err)
	}
}

// TestRetentionDatabaseFile measures what happens to the database file when
// retention deletes metadata: DuckDB does not truncate the file after a
// DELETE and CHECKPOINT, but it reuses the freed blocks, so a store that
// deletes as much as it ingests stays about the same size instead of
// growing.
func TestRetentionDatabaseFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~36k spans")
	}
	s := openRetentionStore(t, t.TempDir(), nil)
	rng := rand.New(rand.NewPCG(11, 12))
	fill := func(gen byte, age int) {
		for b := range 6 {
			var spans []loupe.Span
			for i := range 2000 {
				tr := agedTrace{id: loupe.TraceID{0: 0xf, 1: gen, 2: byte(b), 14: byte(i >> 8), 15: byte(i)}, ageDay: age, word: "w"}
				spans = append(spans, retentionTrace(rng, tr, "p", 8)...)
			}
			if err := s.Write(t.Context(), []loupe.Batch{{Spans: spans}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	fill(1, 100)
	full := fileSize(s.path)
	rep, err := s.EnforceRetention(t.Context(), retentionNow)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TracesDeleted != 12000 {
		t.Fatalf("deleted %d traces, want 12000", rep.TracesDeleted)
	}
	emptied := fileSize(s.path)
	fill(2, 1) // as much again, kept
	refilled := fileSize(s.path)
	t.Logf("deleted %d traces (%d spans) in %v; database file: %d bytes full, %d after deleting every trace, %d after writing as much again",
		rep.TracesDeleted, rep.SpansDeleted, rep.Duration, full, emptied, refilled)
	if refilled > full+full/4 {
		t.Errorf("database file grew from %d to %d bytes after deleting and rewriting the same volume: freed blocks not reused", full, refilled)
	}
}
