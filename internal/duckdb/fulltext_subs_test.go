package duckdb

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

func TestSubsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		subs []ftsSub
	}{
		{"one", []ftsSub{{0, 5, 9}}},
		{"several", []ftsSub{{0, 100, 200}, {3, 150, 150}, {40, 90, 1 << 40}}},
		{"negative starts", []ftsSub{{0, -5, -1}, {1, math.MinInt64 / 2, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blob := appendSubs(nil, tt.subs)
			got, err := decodeSubs(nil, blob, 0)
			if err != nil {
				t.Fatalf("decodeSubs(appendSubs(%v)) = %v", tt.subs, err)
			}
			if diff := gocmp.Diff(tt.subs, got, gocmp.AllowUnexported(ftsSub{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	bad := []struct {
		name string
		blob []byte
		n    int32
	}{
		{"empty", nil, 0},
		{"format", append([]byte{2}, appendSubs(nil, []ftsSub{{0, 1, 2}})[1:]...), 0},
		{"no sub-blocks", []byte{ftsSubsFormat, 0}, 0},
		{"first not 0", appendSubs(nil, []ftsSub{{1, 1, 2}}), 0},
		{"empty sub-block", appendSubs(nil, []ftsSub{{0, 1, 2}, {0, 1, 2}}), 0},
		{"beyond the block", appendSubs(nil, []ftsSub{{0, 1, 2}, {7, 1, 2}}), 7},
		{"trailing bytes", append(appendSubs(nil, []ftsSub{{0, 1, 2}}), 0), 0},
		{"truncated", appendSubs(nil, []ftsSub{{0, 1, 2}, {3, 1, 1 << 40}})[:8], 0},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := decodeSubs(nil, tt.blob, tt.n); !errors.Is(err, errBadSubs) {
				t.Errorf("decodeSubs(%x) = %v, %v; want errBadSubs", tt.blob, got, err)
			}
		})
	}
	// blockSubs offsets sub-blocks and reads a bad blob as one sub-block.
	got := blockSubs(nil, appendSubs(nil, []ftsSub{{0, 1, 2}, {4, 3, 5}}), 9, 10, 1, 5)
	got = blockSubs(got, []byte{9}, 3, 19, 6, 8)
	got = blockSubs(got, nil, 2, 22, 7, 7)
	want := []ftsSub{{10, 1, 2}, {14, 3, 5}, {19, 6, 8}, {22, 7, 7}}
	if diff := gocmp.Diff(want, got, gocmp.AllowUnexported(ftsSub{})); diff != "" {
		t.Errorf("blockSubs (-want +got):\n%s", diff)
	}
}

func FuzzDecodeSubs(f *testing.F) {
	f.Add(appendSubs(nil, []ftsSub{{0, 5, 9}}), int32(0))
	f.Add(appendSubs(nil, []ftsSub{{0, 100, 200}, {3, 150, 150}, {40, 90, 1 << 40}}), int32(50))
	f.Add([]byte{ftsSubsFormat, 1, 0, 0, 0}, int32(1))
	f.Fuzz(func(t *testing.T, blob []byte, n int32) {
		subs, err := decodeSubs(nil, blob, n)
		if err != nil {
			return
		}
		for i, s := range subs {
			if s.minStart > s.maxStart || (i == 0) != (s.first == 0) || (i > 0 && s.first <= subs[i-1].first) ||
				(n > 0 && s.first >= n) {
				t.Fatalf("decodeSubs(%x, %d) = %v: sub-block %d invalid", blob, n, subs, i)
			}
		}
		again, err := decodeSubs(nil, appendSubs(nil, subs), n)
		if err != nil || !slices.Equal(again, subs) {
			t.Fatalf("decodeSubs(appendSubs(%v)) = %v, %v", subs, again, err)
		}
	})
}

// subSpan is one span of the sub-block tests: span and trace n of write
// w, starting at second 10w + 3i (i < 5, so that writes overlap in time).
type subSpan struct {
	n     uint64
	write int
	start int64
	in    string
}

func subWords(n uint64) string {
	in := "common"
	if n%2 == 0 {
		in += " even"
	}
	if n%17 == 0 {
		in += " rare"
	}
	return in
}

// writeSubFixture writes writes of 5 spans each to project p.
func writeSubFixture(t *testing.T, s *Store, writes int) []subSpan {
	t.Helper()
	var all []subSpan
	for w := range writes {
		var spans []loupe.Span
		for i := range 5 {
			c := subSpan{n: uint64(5*w + i + 1), write: w, in: subWords(uint64(5*w + i + 1))}
			at := t0.Add(time.Duration(10*w+3*i) * time.Second)
			c.start = at.UnixNano()
			all = append(all, c)
			spans = append(spans, loupe.Span{Project: "p", TraceID: tid(c.n), SpanID: sid(c.n), Name: "r",
				Kind: loupe.KindLLM, Start: at, End: at.Add(time.Second), Status: loupe.StatusOK,
				Payload: &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: c.in}}}})
		}
		writeIndexed(t, s, []loupe.Batch{{Spans: spans}})
	}
	return all
}

// subLookup is a lookup's answer: ids sorted.
type subLookup struct {
	IDs     []int64
	Covered int64
}

func lookupWant(tb testing.TB, s *Store, word string, want int) subLookup {
	tb.Helper()
	ft := &fullText{s: s, ctx: tb.Context(), project: "p", want: want,
		w: window{from: t0.Add(-time.Hour).UnixNano(), to: t0.Add(100 * time.Hour).UnixNano()}}
	defer ft.close()
	ids, _, covered, err := ft.lookup(tokenizer{}.appendTokens(nil, word), 1<<sideInput)
	if err != nil {
		tb.Fatalf("lookup(%q) = %v", word, err)
	}
	slices.Sort(ids)
	return subLookup{ids, covered}
}

// modelLookup is what a lookup must answer: the written spans holding word,
// taken write by write (each write one sub-block), newest max start first,
// until want are held; covered is the next write's max start + 1.
func modelLookup(all []subSpan, word string, want int) subLookup {
	writes := 0
	for _, c := range all {
		writes = max(writes, c.write+1)
	}
	maxStart := make([]int64, writes)
	for _, c := range all {
		maxStart[c.write] = max(maxStart[c.write], c.start)
	}
	order := make([]int, writes)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(maxStart[b], maxStart[a]) })
	got := subLookup{Covered: math.MinInt64}
	for k, w := range order {
		for _, c := range all {
			if c.write == w && slices.Contains(strings.Fields(c.in), word) {
				got.IDs = append(got.IDs, int64(c.n))
			}
		}
		if want > 0 && len(got.IDs) >= want && k+1 < len(order) {
			got.Covered = maxStart[order[k+1]] + 1
			break
		}
	}
	slices.Sort(got.IDs)
	return got
}

// coveredErr checks the lookup invariant: every span holding word that
// starts at or after covered is among ids, and every id holds word.
func coveredErr(all []subSpan, word string, got subLookup) error {
	for _, c := range all {
		holds := slices.Contains(strings.Fields(c.in), word)
		in := slices.Contains(got.IDs, int64(c.n))
		switch {
		case in && !holds:
			return fmt.Errorf("span %d returned without %q", c.n, word)
		case holds && !in && c.start >= got.Covered:
			return fmt.Errorf("span %d (start %d >= covered %d) holds %q but is missing", c.n, c.start, got.Covered, word)
		}
	}
	return nil
}

var subCases = []struct {
	word string
	want int
}{
	{"common", 1}, {"common", 7}, {"common", 33}, {"common", 0}, {"even", 3}, {"even", 40}, {"rare", 2}, {"rare", 0},
	{"zyzzogeton", 5},
}

// TestFullTextSubBlocks checks that lookups with an early stop return, after
// compaction, exactly what they returned before it (the merged blocks'
// sub-blocks are walked as the small blocks were): the ids of the newest
// sub-blocks, and a covered start that keeps the invariant, also after a
// merge of merged blocks.
func TestFullTextSubBlocks(t *testing.T) {
	s := openSearch(t)
	s.stopCompaction()
	s.ftsCompactCap = 40
	all := writeSubFixture(t, s, 30)

	check := func(t *testing.T, phase string) map[string]subLookup {
		t.Helper()
		out := map[string]subLookup{}
		for _, tc := range subCases {
			key := fmt.Sprintf("%s want %d", tc.word, tc.want)
			got := lookupWant(t, s, tc.word, tc.want)
			out[key] = got
			if diff := gocmp.Diff(modelLookup(all, tc.word, tc.want), got); diff != "" {
				t.Errorf("%s: lookup(%s) (-want +got):\n%s", phase, key, diff)
			}
			if err := coveredErr(all, tc.word, got); err != nil {
				t.Errorf("%s: lookup(%s): %v", phase, key, err)
			}
		}
		return out
	}
	before := check(t, "before compaction")
	if merged, err := s.compactFullText(t.Context()); err != nil || merged != 24 {
		t.Fatalf("compactFullText() = %d, %v; want 24 blocks merged", merged, err)
	}
	if diff := gocmp.Diff([]int{40, 40, 40, 5, 5, 5, 5, 5, 5}, blockSizes(t, s, "p")); diff != "" {
		t.Fatalf("blocks after compaction (-want +got):\n%s", diff)
	}
	after := check(t, "after compaction")
	if diff := gocmp.Diff(before, after); diff != "" {
		t.Errorf("lookups (-before +after compaction):\n%s", diff)
	}
	// 33 spans holding "common": the 6 small blocks (30 spans), then one
	// sub-block of the newest merged block, not all its 40 spans.
	if got := after["common want 33"]; len(got.IDs) != 35 {
		t.Errorf("common want 33: %d ids, want 35 (7 sub-blocks)", len(got.IDs))
	}

	// Merge the merged blocks too: sub-blocks concatenate with offsets.
	var run []blockSize
	rows, err := s.db.QueryContext(t.Context(), `SELECT block_id, octet_length(spans) // 8 FROM fts_blocks WHERE project = 'p' ORDER BY block_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b blockSize
		if err := rows.Scan(&b.id, &b.n); err != nil {
			t.Fatal(err)
		}
		run = append(run, b)
	}
	rows.Close()
	if err := s.mergeBlocks(t.Context(), "p", run); err != nil {
		t.Fatalf("mergeBlocks(all) = %v", err)
	}
	var blob []byte
	if err := s.db.QueryRowContext(t.Context(), `SELECT subs FROM fts_blocks WHERE project = 'p'`).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	subs, err := decodeSubs(nil, blob, 150)
	if err != nil {
		t.Fatalf("decodeSubs(merged of merged) = %v", err)
	}
	var wantSubs []ftsSub
	for w := range 30 {
		wantSubs = append(wantSubs, ftsSub{int32(5 * w), all[5*w].start, all[5*w+4].start})
	}
	if diff := gocmp.Diff(wantSubs, subs, gocmp.AllowUnexported(ftsSub{})); diff != "" {
		t.Errorf("sub-blocks of the one block (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(before, check(t, "one block")); diff != "" {
		t.Errorf("lookups (-before +after merging into one block):\n%s", diff)
	}

	// Positive controls: a covered taken from the block's max start, or
	// sub-blocks recorded with wrong start ranges, must show.
	t.Run("control", func(t *testing.T) {
		got := lookupWant(t, s, "common", 7)
		got.Covered = all[len(all)-1].start + 1 // the one block's max start + 1
		if diff := gocmp.Diff(modelLookup(all, "common", 7), got); diff == "" {
			t.Error("a covered from the block's max start went unnoticed")
		}
		// Record every sub-block with the next-older one's range: the walk
		// then stops a write too early and covered claims too much.
		bad := slices.Clone(subs)
		for i := range bad[1:] {
			bad[i+1].minStart, bad[i+1].maxStart = subs[i].minStart, subs[i].maxStart
		}
		if _, err := s.db.ExecContext(t.Context(), `UPDATE fts_blocks SET subs = ? WHERE project = 'p'`, appendSubs(nil, bad)); err != nil {
			t.Fatal(err)
		}
		if err := coveredErr(all, "common", lookupWant(t, s, "common", 7)); err == nil {
			t.Error("sub-blocks with wrong start ranges went unnoticed by the covered check")
		}
	})
}

// searchAll pages through a search and returns every page's trace ids and
// whether it had a next cursor.
func searchAll(t *testing.T, s *Store, filter string, limit int, srt query.Sort) [][]uint64 {
	t.Helper()
	q := query.TraceSearch{Project: "p", Filter: mustParseT(t, filter), From: t0.Add(-time.Hour), To: t0.Add(100 * time.Hour),
		Limit: limit, Sort: srt}
	var pages [][]uint64
	for range 1000 {
		page, err := s.SearchTraces(t.Context(), q)
		if err != nil {
			t.Fatalf("SearchTraces(%s, limit %d) = %v", filter, limit, err)
		}
		var ids []uint64
		for _, tr := range page.Traces {
			ids = append(ids, traceN(tr.TraceID))
		}
		pages = append(pages, ids)
		if page.Next == "" {
			return pages
		}
		q.Cursor = page.Next
	}
	t.Fatalf("SearchTraces(%s, limit %d): more than 1000 pages", filter, limit)
	return nil
}

func traceN(id loupe.TraceID) uint64 {
	var n uint64
	for _, b := range id[:8] {
		n = n<<8 | uint64(b)
	}
	return n
}

func mustParseT(t *testing.T, f string) query.Expr {
	t.Helper()
	e, err := query.Parse(f)
	if err != nil {
		t.Fatalf("Parse(%q) = %v", f, err)
	}
	return e
}

// TestFullTextSubBlocksSearch checks that searches page identically before
// and after compaction, and that paging yields every matching trace.
func TestFullTextSubBlocksSearch(t *testing.T) {
	s := openSearch(t)
	s.stopCompaction()
	s.ftsCompactCap = 40
	all := writeSubFixture(t, s, 30)
	type key struct {
		filter string
		limit  int
		asc    bool
	}
	var cases []key
	for _, f := range []string{`input contains "common"`, `input contains "even"`, `input contains "rare"`} {
		for _, limit := range []int{1, 5, 50} {
			if limit == 1 && f != `input contains "rare"` {
				continue // below: the first pages only
			}
			cases = append(cases, key{f, limit, false}, key{f, limit, true})
		}
	}
	run := func() map[key][][]uint64 {
		out := map[key][][]uint64{}
		for _, k := range cases {
			out[k] = searchAll(t, s, k.filter, k.limit, query.Sort{Field: "start_time", Asc: k.asc})
		}
		// Limit 1 with a common word: the first 12 pages.
		for _, f := range []string{`input contains "common"`, `input contains "even"`} {
			q := query.TraceSearch{Project: "p", Filter: mustParseT(t, f), From: t0.Add(-time.Hour), To: t0.Add(100 * time.Hour), Limit: 1}
			k := key{f, 1, false}
			for range 12 {
				page, err := s.SearchTraces(t.Context(), q)
				if err != nil || len(page.Traces) != 1 || page.Next == "" {
					t.Fatalf("SearchTraces(%s, limit 1) = %+v, %v", f, page, err)
				}
				out[k] = append(out[k], []uint64{traceN(page.Traces[0].TraceID)})
				q.Cursor = page.Next
			}
		}
		return out
	}
	before := run()
	for k, pages := range before {
		var got, want []uint64
		for _, p := range pages {
			got = append(got, p...)
		}
		word := strings.Split(k.filter, `"`)[1]
		byStart := slices.Clone(all)
		slices.SortFunc(byStart, func(a, b subSpan) int { return cmp.Compare(a.start, b.start) })
		if !k.asc {
			slices.Reverse(byStart)
		}
		for _, c := range byStart {
			if slices.Contains(strings.Fields(c.in), word) {
				want = append(want, c.n)
			}
		}
		if k.limit == 1 && word != "rare" {
			want = want[:12]
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("%+v before compaction: traces (-want +got):\n%s", k, diff)
		}
	}
	if _, err := s.compactFullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]int{40, 40, 40, 5, 5, 5, 5, 5, 5}, blockSizes(t, s, "p")); diff != "" {
		t.Fatalf("blocks after compaction (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(before, run()); diff != "" {
		t.Errorf("pages (-before +after compaction):\n%s", diff)
	}
}
