package duckdb

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

// traceIDs returns the distinct (project, trace id) pairs of batches.
func traceIDs(batches []loupe.Batch) map[[2]string]loupe.TraceID {
	out := map[[2]string]loupe.TraceID{}
	for _, b := range batches {
		for _, sp := range b.Spans {
			out[[2]string{sp.Project, sp.TraceID.String()}] = sp.TraceID
		}
	}
	return out
}

// readAll returns every trace of batches as stored in s.
func readAll(t *testing.T, s *Store, batches []loupe.Batch) map[[2]string]*loupe.Trace {
	t.Helper()
	out := map[[2]string]*loupe.Trace{}
	for k, id := range traceIDs(batches) {
		tr, err := s.Trace(t.Context(), k[0], id)
		if err != nil {
			t.Fatalf("Trace(%s) = %v", id, err)
		}
		out[k] = tr
	}
	return out
}

// TestWritePreparedSameAsWrite checks that batches prepared concurrently
// (as the ingest pipeline does) and written with WritePrepared read back
// exactly as the same batches written with Write, full-text index included.
func TestWritePreparedSameAsWrite(t *testing.T) {
	batches, _, _ := workloadPool(t, 7, 6)
	want := mustOpenInternal(t)
	if err := want.Write(t.Context(), batches); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	s := mustOpenInternal(t)
	preps := make([]any, len(batches))
	var wg sync.WaitGroup
	errs := make([]error, len(batches))
	for i := range batches {
		wg.Go(func() { preps[i], errs[i] = s.Prepare(batches[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	if err := s.WritePrepared(t.Context(), preps); err != nil {
		t.Fatalf("WritePrepared() = %v", err)
	}
	if diff := cmp.Diff(readAll(t, want, batches), readAll(t, s, batches)); diff != "" {
		t.Errorf("traces written with WritePrepared differ from Write (-want +got):\n%s", diff)
	}
	for _, tbl := range []string{"spans", "trace_parts", "fts_blocks", "fts_postings"} {
		if got, want := tableRows(t, s, tbl), tableRows(t, want, tbl); got != want {
			t.Errorf("%s rows = %d, want %d (as Write)", tbl, got, want)
		}
	}
}

// TestWritePreparedRetry checks that a failed WritePrepared can be retried
// with the same prepared batches (their buffers are not reused on failure).
func TestWritePreparedRetry(t *testing.T) {
	batches, _, _ := workloadPool(t, 8, 2)
	want := mustOpenInternal(t)
	if err := want.Write(t.Context(), batches); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	s := mustOpenInternal(t)
	preps := make([]any, len(batches))
	for i := range batches {
		var err error
		if preps[i], err = s.Prepare(batches[i]); err != nil {
			t.Fatalf("Prepare() = %v", err)
		}
	}
	injected := errors.New("injected")
	s.beforeCommit = func() error { return injected }
	if err := s.WritePrepared(t.Context(), preps); !errors.Is(err, injected) {
		t.Fatalf("WritePrepared() = %v, want the injected error", err)
	}
	// Other writes in between reuse the store's buffers.
	if err := s.Write(t.Context(), []loupe.Batch{{Spans: []loupe.Span{testSpan(9, 1)}}}); !errors.Is(err, injected) {
		t.Fatalf("Write() = %v, want the injected error", err)
	}
	s.beforeCommit = nil
	if err := s.WritePrepared(t.Context(), preps); err != nil {
		t.Fatalf("WritePrepared() retry = %v", err)
	}
	if diff := cmp.Diff(readAll(t, want, batches), readAll(t, s, batches)); diff != "" {
		t.Errorf("traces after retry differ from Write (-want +got):\n%s", diff)
	}
}

func TestPrepareErrors(t *testing.T) {
	s := mustOpenInternal(t)
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := testSpan(1, 3)
		bad.SpanID = loupe.SpanID{}
		b := loupe.Batch{Spans: []loupe.Span{testSpan(1, 1), bad}}
		if _, err := s.Prepare(b); !errors.Is(err, loupe.ErrInvalid) {
			t.Errorf("Prepare(zero span id) = %v, want ErrInvalid", err)
		}
		b = loupe.Batch{Spans: []loupe.Span{testSpan(1, 1)}}
		b.Spans[0].Sample.Class = "bogus"
		if _, err := s.Prepare(b); !errors.Is(err, loupe.ErrInvalid) {
			t.Errorf("Prepare(bad sample class) = %v, want ErrInvalid", err)
		}
	})
	t.Run("ForeignBatch", func(t *testing.T) {
		if err := s.WritePrepared(t.Context(), []any{loupe.Batch{}}); !errors.Is(err, loupe.ErrInvalid) {
			t.Errorf("WritePrepared(loupe.Batch) = %v, want ErrInvalid", err)
		}
	})
	t.Run("DoesNotModify", func(t *testing.T) {
		meta := testSpan(2, 1)
		meta.Sample = loupe.Sample{Class: loupe.SampleMetadata, Weight: 1}
		b := loupe.Batch{Spans: []loupe.Span{meta}}
		if _, err := s.Prepare(b); err != nil {
			t.Fatalf("Prepare() = %v", err)
		}
		if b.Spans[0].Payload == nil {
			t.Errorf("Prepare removed the caller's payload of a metadata-only span")
		}
	})
}

// TestFullTextPartsSameAsWhole checks that merging the full-text parts of
// batches prepared apart builds the same block (span list, bounds and
// postings rows) as indexing all their spans with one indexer, which is
// what the write did before tokenizing moved to Prepare.
func TestFullTextPartsSameAsWhole(t *testing.T) {
	batches, _, _ := workloadPool(t, 9, 12)
	// A span over the per-side word cap, so that the cap's cut matters.
	long := testSpan(1, 1)
	long.Project = loupe.DefaultProject
	var words []string
	for i := range maxTokensPerSide + 50 {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	long.Payload = &loupe.Payload{InputValue: strings.Join(words, " ")}
	batches[3].Spans = append(slices.Clone(batches[3].Spans), long)

	whole := newFTSIndexer()
	open := false
	for i := range batches {
		for j := range batches[i].Spans {
			sp := &batches[i].Spans[j]
			if sp.Payload.IsZero() {
				continue
			}
			if !open {
				whole.reset(sp.Project, sp.Start.UnixNano())
				open = true
			}
			whole.add(sp)
		}
	}
	merged := newFTSIndexer()
	open = false
	var pr preparer
	for i := range batches {
		for _, p := range pr.fullText(&batches[i]) {
			if !open {
				merged.reset(p.project, p.minStart)
				open = true
			}
			merged.merge(p)
		}
	}
	if merged.n != whole.n || merged.minStart != whole.minStart || merged.maxStart != whole.maxStart {
		t.Errorf("merged block: %d spans, start [%d, %d]; want %d, [%d, %d]",
			merged.n, merged.minStart, merged.maxStart, whole.n, whole.minStart, whole.maxStart)
	}
	if !bytes.Equal(merged.spans, whole.spans) {
		t.Errorf("merged block's span list differs from the whole block's")
	}
	want := whole.rows(nil)
	got := merged.rows(nil)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(ftsRow{})); diff != "" {
		t.Errorf("postings rows (-whole +merged):\n%s", diff)
	}
	if len(want) < 2 {
		t.Errorf("only %d postings rows: the test needs a block of several", len(want))
	}
}

// TestPreparePartsReused checks that a batch prepared with the full-text
// part arrays of a released one gets the parts a fresh preparer builds,
// and that the arrays are indeed reused (the positive control: sync.Pool
// may drop some, so over several rounds).
func TestPreparePartsReused(t *testing.T) {
	batches, _, _ := workloadPool(t, 11, 20)
	var pr preparer
	reused := 0
	var prev map[*uint64]bool
	for i := range batches {
		p, err := pr.prepare(batches[i])
		if err != nil {
			t.Fatal(err)
		}
		var fresh preparer
		want := fresh.fullText(&batches[i])
		if diff := cmp.Diff(want, p.fts, cmp.AllowUnexported(ftsPart{})); diff != "" {
			t.Fatalf("batch %d: parts (-fresh +reused):\n%s", i, diff)
		}
		// A part's pairs array, by the address of its first element.
		arrays := map[*uint64]bool{}
		for _, part := range p.fts {
			if cap(part.pairs) > 0 {
				arrays[&part.pairs[:1][0]] = true
			}
		}
		for a := range arrays {
			if prev[a] {
				reused++
			}
		}
		prev = arrays
		pr.release(p)
	}
	if reused == 0 {
		t.Errorf("no part arrays reused over %d batches", len(batches))
	}
}
