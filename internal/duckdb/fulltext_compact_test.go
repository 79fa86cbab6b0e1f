package duckdb

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// compactSpan is one span of the compaction tests: a root span of its own
// trace (trace n, span n) with known words on each side.
type compactSpan struct {
	n              uint64
	in, out, other string
	project        string
}

// compactWords returns the words of span n of write w (of last+1 writes).
func compactWords(n uint64, w, last int) (in, out, other string) {
	in = fmt.Sprintf("common w%d n%d", w, n)
	if w == 0 {
		in += " oldest"
	}
	if w == last {
		in += " newest"
	}
	if n%2 == 0 {
		in += " even"
	}
	if n%3 == 0 {
		in += " tri"
	}
	out = "answer"
	if n%5 == 0 {
		out += " outonly"
	}
	if n%7 == 0 {
		other = "docword"
	}
	return in, out, other
}

func (c compactSpan) span() loupe.Span {
	at := t0.Add(time.Duration(c.n) * time.Second)
	p := &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: c.in}}, OutputValue: c.out}
	if c.other != "" {
		p.Documents = []loupe.DocumentText{{ID: "d", Content: c.other}}
	}
	return loupe.Span{Project: c.project, TraceID: tid(c.n), SpanID: sid(c.n), Name: "r", Kind: loupe.KindLLM,
		Start: at, End: at.Add(time.Second), Status: loupe.StatusOK, Payload: p}
}

// holds reports whether one side of the field's sides holds every word of
// phrase (the index's semantics: words match on a common side).
func (c compactSpan) holds(field, phrase string) bool {
	sides := []string{c.in, c.out, c.other}
	switch field {
	case "input":
		sides = sides[:1]
	case "output":
		sides = sides[1:2]
	}
	for _, text := range sides {
		words := strings.Fields(text)
		all := true
		for _, w := range strings.Fields(phrase) {
			all = all && slices.Contains(words, w)
		}
		if all {
			return true
		}
	}
	return false
}

// ftsSpanIDs returns the ids of the project's spans whose field holds
// phrase, as the index answers it (whole range, no early stop), sorted.
func ftsSpanIDs(tb testing.TB, s *Store, project, field, phrase string) []int64 {
	tb.Helper()
	toks := tokenizer{}.appendTokens(nil, phrase)
	slices.Sort(toks)
	toks = slices.Compact(toks)
	sides := uint32(1<<sideInput | 1<<sideOutput | 1<<sideOther)
	switch field {
	case "input":
		sides = 1 << sideInput
	case "output":
		sides = 1 << sideOutput
	}
	ft := &fullText{s: s, ctx: tb.Context(), project: project,
		w: window{from: t0.Add(-time.Hour).UnixNano(), to: t0.Add(100 * time.Hour).UnixNano()}}
	defer ft.close()
	ids, _, _, err := ft.lookup(toks, sides)
	if err != nil {
		tb.Fatalf("lookup(%s contains %q) = %v", field, phrase, err)
	}
	slices.Sort(ids)
	return ids
}

// blockSizes returns the project's block sizes (spans) in block id order.
func blockSizes(tb testing.TB, s *Store, project string) []int {
	tb.Helper()
	rows, err := s.db.QueryContext(tb.Context(), `SELECT octet_length(spans) // 8 FROM fts_blocks WHERE project = ? ORDER BY block_id`, project)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// compactQueries are the full-text conditions the compaction tests check.
var compactQueries = []struct{ field, phrase string }{
	{"input", "common"}, {"input", "oldest"}, {"input", "newest"}, {"input", "even"}, {"input", "even tri"},
	{"input", "tri"}, {"input", "w0"}, {"input", "w7"}, {"input", "w29"}, {"input", "n1"}, {"input", "n150"},
	{"output", "outonly"}, {"input", "outonly"}, {"payload", "docword"}, {"payload", "docword even"}, {"payload", "answer outonly"},
	{"output", "common"}, {"input", "zyzzogeton"},
}

// TestFullTextCompact writes many small blocks in two projects, compacts
// them with a block cap of 40 spans (small: under 10) and checks the
// blocks left against the policy and every query's span ids against the
// answer before compaction and the words written.
func TestFullTextCompact(t *testing.T) {
	s := openSearch(t)
	s.stopCompaction() // the test runs the passes
	s.ftsCompactCap = 40

	var all []compactSpan
	n := uint64(0)
	write := func(project string, sizes []int) {
		t.Helper()
		for w, size := range sizes {
			var spans []loupe.Span
			for range size {
				n++
				in, out, other := compactWords(n, w, len(sizes)-1)
				c := compactSpan{n: n, in: in, out: out, other: other, project: project}
				all = append(all, c)
				spans = append(spans, c.span())
			}
			writeIndexed(t, s, []loupe.Batch{{Spans: spans}})
		}
	}
	// p: 30 writes of 5 spans, but the 13th (index 12) of 12: a large
	// block between two runs. q: 30 writes of 2 spans.
	pSizes := slices.Repeat([]int{5}, 30)
	pSizes[12] = 12
	write("p", pSizes)
	write("q", slices.Repeat([]int{2}, 30))

	expect := func(project, field, phrase string) []int64 {
		var ids []int64
		for _, c := range all {
			if c.project == project && c.holds(field, phrase) {
				ids = append(ids, int64(c.n))
			}
		}
		slices.Sort(ids)
		return ids
	}
	check := func(t *testing.T, before map[string][]int64) (diffs int) {
		t.Helper()
		for _, project := range []string{"p", "q"} {
			for _, q := range compactQueries {
				got := ftsSpanIDs(t, s, project, q.field, q.phrase)
				key := project + ": " + q.field + " contains " + q.phrase
				if diff := cmp.Diff(expect(project, q.field, q.phrase), got); diff != "" {
					t.Errorf("%s: span ids (-want +got):\n%s", key, diff)
					diffs++
				}
				if before != nil {
					if diff := cmp.Diff(before[key], got); diff != "" {
						t.Errorf("%s: span ids (-before +after compaction):\n%s", key, diff)
						diffs++
					}
				}
			}
		}
		return diffs
	}

	before := map[string][]int64{}
	for _, project := range []string{"p", "q"} {
		for _, q := range compactQueries {
			before[project+": "+q.field+" contains "+q.phrase] = ftsSpanIDs(t, s, project, q.field, q.phrase)
		}
	}
	if check(t, nil) > 0 {
		t.Fatal("wrong answers before compaction")
	}
	if got := len(blockSizes(t, s, "p")); got != 30 {
		t.Fatalf("before compaction: %d blocks of p, want 30 (one per write)", got)
	}

	merged, err := s.compactFullText(t.Context())
	if err != nil {
		t.Fatalf("compactFullText() = %v", err)
	}
	// p: run of 12 x 5 -> 40 + 4 x 5 left; the large block; run of 17 x 5
	// -> 40, 40 + one left. q: run of 30 x 2 -> 40 + 10 x 2 left (may grow).
	wantP := []int{40, 5, 5, 5, 5, 12, 40, 40, 5}
	wantQ := append([]int{40}, slices.Repeat([]int{2}, 10)...)
	if diff := cmp.Diff(wantP, blockSizes(t, s, "p")); diff != "" {
		t.Errorf("blocks of p (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantQ, blockSizes(t, s, "q")); diff != "" {
		t.Errorf("blocks of q (-want +got):\n%s", diff)
	}
	if want := 8 + 16 + 20; merged != want {
		t.Errorf("compactFullText() merged %d blocks, want %d", merged, want)
	}
	check(t, before)

	// Nothing left to do; then q's newest run grows past the cap.
	if merged, err := s.compactFullText(t.Context()); err != nil || merged != 0 {
		t.Errorf("second compactFullText() = %d, %v; want 0, nil", merged, err)
	}
	write("q", slices.Repeat([]int{2}, 10))
	if merged, err := s.compactFullText(t.Context()); err != nil || merged != 20 {
		t.Errorf("third compactFullText() = %d, %v; want 20, nil", merged, err)
	}
	if diff := cmp.Diff([]int{40, 40}, blockSizes(t, s, "q")); diff != "" {
		t.Errorf("blocks of q after more writes (-want +got):\n%s", diff)
	}
	check(t, nil)

	// Search end to end: traces of the matching spans.
	f, err := query.Parse(`input contains "even tri"`)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", Filter: f,
		From: t0.Add(-time.Hour), To: t0.Add(100 * time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, tr := range page.Traces {
		got = append(got, int64(binary.BigEndian.Uint64(tr.TraceID[:8])))
	}
	slices.Sort(got)
	if diff := cmp.Diff(expect("p", "input", "even tri"), got); diff != "" {
		t.Errorf("SearchTraces(even tri) trace ids (-want +got):\n%s", diff)
	}

	// Positive control: a merged block whose spans do not line up with its
	// ordinals (as if a part's ordinals had not been offset) must show.
	t.Run("control", func(t *testing.T) {
		var (
			id    int64
			spans []byte
		)
		if err := s.db.QueryRowContext(t.Context(), `SELECT block_id, spans FROM fts_blocks WHERE project = 'p'
AND octet_length(spans) = 320 ORDER BY block_id LIMIT 1`).Scan(&id, &spans); err != nil {
			t.Fatal(err)
		}
		// Rotate by one part (5 spans): ordinal o now names span o+5.
		rot := append(slices.Clone(spans[5*8:]), spans[:5*8]...)
		if _, err := s.db.ExecContext(t.Context(), `UPDATE fts_blocks SET spans = ? WHERE block_id = ?`, rot, id); err != nil {
			t.Fatal(err)
		}
		if d := countDiffs(t, s, all); d == 0 {
			t.Error("a misaligned merged block went unnoticed")
		}
	})
}

// countDiffs counts the compaction queries of project p whose span ids
// differ from the words written.
func countDiffs(t *testing.T, s *Store, all []compactSpan) (diffs int) {
	for _, q := range compactQueries {
		var want []int64
		for _, c := range all {
			if c.project == "p" && c.holds(q.field, q.phrase) {
				want = append(want, int64(c.n))
			}
		}
		slices.Sort(want)
		if !slices.Equal(want, ftsSpanIDs(t, s, "p", q.field, q.phrase)) {
			diffs++
		}
	}
	return diffs
}

// TestFullTextCompactConcurrent runs queries in a loop while writes and
// compaction passes run, and checks every answer: each span id returned
// holds the word, and every span written before the query began is found.
func TestFullTextCompactConcurrent(t *testing.T) {
	s := openSearch(t)
	s.stopCompaction()
	s.ftsCompactCap = 40

	const writes = 60
	var (
		mu      sync.Mutex
		written []compactSpan // in write order
		done    atomic.Bool
		n       uint64
	)
	writeOne := func(w int) error {
		var spans []loupe.Span
		var cs []compactSpan
		for range 3 {
			n++
			in, out, other := compactWords(n, w, writes-1)
			c := compactSpan{n: n, in: in, out: out, other: other, project: "p"}
			cs = append(cs, c)
			spans = append(spans, c.span())
		}
		if err := s.Write(t.Context(), []loupe.Batch{{Spans: spans}}); err != nil {
			return err
		}
		mu.Lock()
		written = append(written, cs...)
		mu.Unlock()
		return nil
	}
	for w := range 20 {
		if err := writeOne(w); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Go(func() {
		defer done.Store(true)
		for w := 20; w < writes; w++ {
			if err := writeOne(w); err != nil {
				errs <- err
				return
			}
		}
	})
	passes := atomic.Int64{}
	wg.Go(func() {
		for !done.Load() {
			if _, err := s.compactFullText(t.Context()); err != nil {
				errs <- fmt.Errorf("compactFullText() = %w", err)
				return
			}
			passes.Add(1)
		}
	})
	queries := atomic.Int64{}
	for _, word := range []string{"even", "tri"} {
		wg.Go(func() {
			for !done.Load() {
				mu.Lock()
				known := slices.Clone(written)
				mu.Unlock()
				got := ftsSpanIDs(t, s, "p", "input", word)
				queries.Add(1)
				if dup := len(got) - len(slices.Compact(slices.Clone(got))); dup > 0 {
					errs <- fmt.Errorf("%s: %d duplicate span ids", word, dup)
					return
				}
				for _, id := range got {
					// The words of even and tri follow from the id alone,
					// also for spans of a write in flight.
					in, _, _ := compactWords(uint64(id), 1, 0)
					c := compactSpan{n: uint64(id), in: in}
					if id < 1 || id > 3*writes || !c.holds("input", word) {
						errs <- fmt.Errorf("%s: span %d returned, but its input is %q", word, id, c.in)
						return
					}
				}
				for _, c := range known {
					if c.holds("input", word) && !slices.Contains(got, int64(c.n)) {
						errs <- fmt.Errorf("%s: span %d (written before the query) not found", word, c.n)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d queries, %d compaction passes", queries.Load(), passes.Load())
	if sizes := blockSizes(t, s, "p"); len(sizes) >= writes {
		t.Errorf("blocks %v: compaction merged nothing", sizes)
	}
}

// BenchmarkFullTextAbsent measures a full-text search for a word found
// nowhere (limit 50, newest first) over LOUPE_BENCH_SPANS (default 200k)
// standard-workload spans written 600 spans per Write, as the pipeline's
// group commits make them: one block per Write ("before"), then after one
// compaction pass ("after"), which reports the pass's CPU time per span.
//
//	go test ./internal/duckdb -run '^$' -bench FullTextAbsent -benchtime 20x
func BenchmarkFullTextAbsent(b *testing.B) {
	benchFullText(b, []benchWord{{"absent", "zyzzogeton", 0}})
}

// BenchmarkFullTextCommon is BenchmarkFullTextAbsent for a word of every
// trace (the system prompt's "refund", as bench/query.sh's
// fulltext_common), whose page of 50 the newest small blocks hold, and for
// a word of one trace in six ("lamp", one topic's), whose page needs
// candidates from the newest merged block too.
//
//	go test ./internal/duckdb -run '^$' -bench FullTextCommon -benchtime 20x
func BenchmarkFullTextCommon(b *testing.B) {
	benchFullText(b, []benchWord{{"refund", "refund", 50}, {"lamp", "lamp", 50}})
}

// benchWord is one search of benchFullText: input contains word, whose
// page must hold traces traces.
type benchWord struct {
	name, word string
	traces     int
}

// benchFullText runs the searches of words before and after compaction
// (see BenchmarkFullTextAbsent). Each also reports the candidate spans of
// its first full-text lookup.
func benchFullText(b *testing.B, words []benchWord) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("LOUPE_BENCH_SPANS")); err == nil && v > 0 {
		n = v
	}
	s := openSearch(b)
	s.stopCompaction() // the benchmark runs the pass
	var from, to time.Time
	written := 0
	for seed := uint64(1); written < n; seed++ {
		batches, spans := hourlyPool(b, seed, &from, &to)
		for i := 0; i < len(batches); i += 5 { // 5 requests of 120 spans
			writeIndexed(b, s, batches[i:min(i+5, len(batches))])
		}
		written += spans
	}
	if err := s.checkpoint(b.Context()); err != nil {
		b.Fatal(err)
	}
	search := func(b *testing.B, bw benchWord) {
		q := query.TraceSearch{Project: loupe.DefaultProject, Filter: mustParse(b, `input contains "`+bw.word+`"`),
			From: from, To: to.Add(time.Second), Limit: 50}
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.SearchTraces(b.Context(), q)
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Traces) != bw.traces {
				b.Fatalf("%d traces for %q, want %d", len(p.Traces), bw.word, bw.traces)
			}
		}
		b.ReportMetric(float64(len(blockSizes(b, s, loupe.DefaultProject))), "blocks")
		ft := &fullText{s: s, ctx: b.Context(), project: q.Project, w: window{from.UnixNano(), q.To.UnixNano()}, want: 16 * (q.Limit + 1)}
		ids, _, _, err := ft.lookup(tokenizer{}.appendTokens(nil, bw.word), 1<<sideInput)
		ft.close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(ids)), "candidates")
	}
	for _, bw := range words {
		b.Run("before/"+bw.name, func(b *testing.B) { search(b, bw) })
	}
	cpu0, wall0 := cpuTime(), time.Now()
	merged, err := s.compactFullText(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	if err := s.checkpoint(b.Context()); err != nil {
		b.Fatal(err)
	}
	ix := s.compact.ix
	b.Logf("compaction: %d spans, %d blocks merged, %s wall, %s CPU (%.2f µs CPU/span); indexer: %d pairs, %d words, %d blob bytes",
		written, merged, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(written),
		cap(ix.pairs), cap(ix.tokens), cap(ix.blob))
	for _, bw := range words {
		b.Run("after/"+bw.name, func(b *testing.B) {
			search(b, bw)
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(written), "compact-µs-cpu/span")
		})
	}
}
