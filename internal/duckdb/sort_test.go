package duckdb

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// sortFixture writes n traces with many ties: starts in triples, three
// names, five durations, root or child failures, one or two spans, tokens,
// costs, prompt versions and models that repeat. Some trace ids have the
// high bit set, and some traces arrive in two writes (two parts). Traces
// with i%3 == 1 and a child have "refund" in their input.
func sortFixture(t *testing.T, s *Store, n int) {
	t.Helper()
	var first, second []loupe.Span
	for i := range n {
		id := uint64(10_000 + i)
		if i%5 == 0 {
			id |= 1 << 63
		}
		start := t0.Add(time.Duration(i/3) * time.Second)
		root := loupe.Span{Project: "p", TraceID: tid(id), SpanID: sid(id*10 + 1), Name: []string{"beta", "alpha", "gamma"}[i%3],
			Kind: loupe.KindAgent, Start: start, End: start.Add(time.Duration(i%5) * 100 * time.Millisecond), Status: loupe.StatusOK,
			PromptVersionID: []string{"", "v1", "v2"}[i%3]}
		if i%7 == 0 {
			root.Status = loupe.StatusError
		}
		first = append(first, root)
		if i%2 == 1 {
			c := loupe.Span{Project: "p", TraceID: tid(id), SpanID: sid(id*10 + 2), ParentSpanID: root.SpanID, Name: "llm",
				Kind: loupe.KindLLM, Start: start.Add(time.Millisecond), End: start.Add(2 * time.Millisecond), Status: loupe.StatusOK,
				ResponseModel: []string{"m1", "m2"}[i%4/2], Usage: loupe.Usage{Input: int64(i%4) * 10, Output: int64(i % 3)},
				CostUSD: float64(i%6) * 0.001}
			if i%4 == 1 {
				c.Status = loupe.StatusError
			}
			if i%3 == 1 {
				c.Payload = &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "where is my refund"}}}
			}
			if i%9 == 1 {
				second = append(second, c) // a second part
			} else {
				first = append(first, c)
			}
		}
	}
	writeIndexed(t, s, []loupe.Batch{{Spans: first}})
	writeIndexed(t, s, []loupe.Batch{{Spans: second}})
}

// sortValue compares a and b by field as the store orders them.
func compareBy(field string, a, b loupe.TraceSummary) int {
	rank := func(s loupe.TraceStatus) int {
		return map[loupe.TraceStatus]int{loupe.TraceOK: 0, loupe.TraceDegraded: 1, loupe.TraceError: 2}[s]
	}
	switch field {
	case "name":
		return strings.Compare(a.Name, b.Name)
	case "status":
		return cmp.Compare(rank(a.Status), rank(b.Status))
	case "duration_ms":
		return cmp.Compare(a.Duration, b.Duration)
	case "span_count":
		return cmp.Compare(a.SpanCount, b.SpanCount)
	case "total_tokens":
		return cmp.Compare(a.InputTokens+a.OutputTokens, b.InputTokens+b.OutputTokens)
	case "cost_usd":
		return cmp.Compare(a.CostUSD, b.CostUSD)
	case "prompt_version_id":
		return strings.Compare(a.PromptVersionID, b.PromptVersionID)
	case "model":
		return strings.Compare(a.Model, b.Model)
	}
	return 0
}

// wantOrder sorts traces by srt, ties by start then trace id (as stored:
// signed halves), all in srt's direction.
func wantOrder(traces []loupe.TraceSummary, srt query.Sort) []loupe.TraceID {
	ts := slices.Clone(traces)
	slices.SortFunc(ts, func(a, b loupe.TraceSummary) int {
		c := compareBy(srt.Field, a, b)
		if c == 0 {
			c = a.Start.Compare(b.Start)
		}
		if c == 0 {
			ahi, alo := traceHalves(a.TraceID)
			bhi, blo := traceHalves(b.TraceID)
			c = cmp.Or(cmp.Compare(ahi, bhi), cmp.Compare(alo, blo))
		}
		if !srt.Asc {
			c = -c
		}
		return c
	})
	out := make([]loupe.TraceID, len(ts))
	for i, t := range ts {
		out[i] = t.TraceID
	}
	return out
}

// pageAll pages through q with limit, returning the trace ids in order.
func pageAll(t *testing.T, s *Store, q query.TraceSearch, limit int) []loupe.TraceID {
	t.Helper()
	q.Limit = limit
	var got []loupe.TraceID
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		p, err := s.SearchTraces(t.Context(), q)
		if err != nil {
			t.Fatalf("SearchTraces(sort %+v, cursor %q) = %v", q.Sort, q.Cursor, err)
		}
		if len(p.Traces) > limit {
			t.Fatalf("page of %d traces, limit %d", len(p.Traces), limit)
		}
		for _, tr := range p.Traces {
			got = append(got, tr.TraceID)
		}
		if p.Next == "" {
			return got
		}
		q.Cursor = p.Next
	}
}

func TestSearchSort(t *testing.T) {
	s := openSearch(t)
	const n = 60
	sortFixture(t, s, n)
	base := query.TraceSearch{Project: "p", From: t0.Add(-time.Minute), To: t0.Add(time.Hour)}
	all, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", From: base.From, To: base.To, Limit: 1000})
	if err != nil || len(all.Traces) != n {
		t.Fatalf("SearchTraces() = %d traces, %v; want %d", len(all.Traces), err, n)
	}
	// The fixture makes ties in every field (the test is void without).
	for _, f := range query.SortFields[1:] {
		distinct := map[int]bool{}
		for _, tr := range all.Traces {
			distinct[compareBy(f, tr, all.Traces[0])] = true
		}
		if len(distinct) < 2 {
			t.Fatalf("field %s: every trace has the same value", f)
		}
	}
	refund := func(tr loupe.TraceSummary) bool { return tr.SpanCount == 2 && tr.Name == "alpha" } // i%3 == 1 with a child
	notOK := func(tr loupe.TraceSummary) bool { return tr.Status != loupe.TraceOK }
	filters := []struct {
		name, q string
		keep    func(loupe.TraceSummary) bool
	}{
		{"All", "", nil},
		{"TraceLevel", "trace.status != ok", notOK},
		{"FullText", "input contains refund", refund},
		{"Mixed", "input contains refund and trace.status != ok", func(tr loupe.TraceSummary) bool { return refund(tr) && notOK(tr) }},
	}
	for _, fc := range filters {
		want := all.Traces
		if fc.keep != nil {
			want = slices.DeleteFunc(slices.Clone(want), func(tr loupe.TraceSummary) bool { return !fc.keep(tr) })
		}
		if len(want) == 0 || len(want) == n && fc.keep != nil {
			t.Fatalf("%s: the filter keeps %d of %d traces", fc.name, len(want), n)
		}
		for _, field := range query.SortFields {
			for _, asc := range []bool{false, true} {
				srt := query.Sort{Field: field, Asc: asc}
				q := base
				q.Sort = srt
				if fc.q != "" {
					e, err := query.Parse(fc.q)
					if err != nil {
						t.Fatal(err)
					}
					q.Filter = e
				}
				for _, limit := range []int{7, 1000} {
					name := fc.name + "/" + field
					if !asc {
						name = fc.name + "/-" + field
					}
					t.Run(name+"/"+map[int]string{7: "Pages", 1000: "OnePage"}[limit], func(t *testing.T) {
						got := pageAll(t, s, q, limit)
						if diff := gocmp.Diff(wantOrder(want, srt), got); diff != "" {
							t.Errorf("order (-want +got):\n%s", diff)
						}
					})
				}
			}
		}
	}
}

// TestSearchSortTies checks the tie-break alone: traces equal in the sort
// value and start come in trace id order, in the sort's direction; the ids
// share their first half, so the second half decides.
func TestSearchSortTies(t *testing.T) {
	s := openSearch(t)
	tieID := func(i int) loupe.TraceID {
		id := tid(7)
		id[15] = byte(100 + i)
		return id
	}
	var spans []loupe.Span
	for i := range 9 {
		spans = append(spans, loupe.Span{Project: "p", TraceID: tieID(i), SpanID: sid(uint64(100 + i)), Name: "same",
			Kind: loupe.KindRequest, Start: t0, End: t0.Add(time.Second), Status: loupe.StatusOK})
	}
	writeIndexed(t, s, []loupe.Batch{{Spans: spans}})
	for _, srt := range []query.Sort{{Field: "duration_ms"}, {Field: "duration_ms", Asc: true}, {Field: "name"}, {}} {
		got := pageAll(t, s, query.TraceSearch{Project: "p", From: t0, To: t0.Add(time.Hour), Sort: srt}, 2)
		var want []loupe.TraceID
		for i := range 9 {
			want = append(want, tieID(i))
		}
		if !srt.Asc {
			slices.Reverse(want)
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("sort %+v (-want +got):\n%s", srt, diff)
		}
	}
}

// TestSearchSortCursorMismatch: a cursor is only valid with the sort that
// made it.
func TestSearchSortCursorMismatch(t *testing.T) {
	s := openSearch(t)
	sortFixture(t, s, 12)
	q := query.TraceSearch{Project: "p", From: t0.Add(-time.Minute), To: t0.Add(time.Hour), Limit: 2}
	sorts := []query.Sort{{}, {Field: "start_time", Asc: true}, {Field: "duration_ms"}, {Field: "duration_ms", Asc: true},
		{Field: "name"}, {Field: "cost_usd"}}
	cursors := map[int]string{}
	for i, srt := range sorts {
		q.Sort = srt
		p, err := s.SearchTraces(t.Context(), q)
		if err != nil || p.Next == "" {
			t.Fatalf("SearchTraces(sort %+v) = next %q, %v", srt, p.Next, err)
		}
		cursors[i] = p.Next
	}
	for i, from := range sorts {
		for j, to := range sorts {
			q.Sort, q.Cursor = to, cursors[i]
			_, err := s.SearchTraces(t.Context(), q)
			if i == j {
				if err != nil {
					t.Errorf("cursor of %+v with the same sort = %v", from, err)
				}
				continue
			}
			if !errors.Is(err, loupe.ErrInvalid) || !strings.Contains(err.Error(), "cursor does not match sort") {
				t.Errorf("cursor of %+v with sort %+v = %v, want ErrInvalid: cursor does not match sort", from, to, err)
			}
		}
	}
	for _, bad := range []string{"!!", "AAAA", strings.Repeat("A", 40)} {
		q.Sort, q.Cursor = query.Sort{Field: "name"}, bad
		if _, err := s.SearchTraces(t.Context(), q); !errors.Is(err, loupe.ErrInvalid) {
			t.Errorf("cursor %q = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestSearchSortConcurrentIngest pages by duration while traces arrive
// between pages, some sorting before the cursor and some after: every
// trace present at the first page is seen exactly once, in order.
func TestSearchSortConcurrentIngest(t *testing.T) {
	s := openSearch(t)
	mk := func(n uint64, at time.Time, dur time.Duration) loupe.Span {
		return loupe.Span{Project: "p", TraceID: tid(n), SpanID: sid(n), Name: "r", Kind: loupe.KindRequest,
			Start: at, End: at.Add(dur), Status: loupe.StatusOK}
	}
	var spans []loupe.Span
	for i := range 40 {
		spans = append(spans, mk(uint64(1000+i), t0.Add(time.Duration(i)*time.Second), time.Duration(i%8)*time.Millisecond))
	}
	writeIndexed(t, s, []loupe.Batch{{Spans: spans}})
	q := query.TraceSearch{Project: "p", From: t0, To: t0.Add(time.Hour), Limit: 6, Sort: query.Sort{Field: "duration_ms"}}
	seen := map[loupe.TraceID]int{}
	lastDur := 1e18
	for page := 0; ; page++ {
		p, err := s.SearchTraces(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range p.Traces {
			seen[tr.TraceID]++
			if tr.Duration > lastDur {
				t.Errorf("page %d: duration %v after %v", page, tr.Duration, lastDur)
			}
			lastDur = tr.Duration
		}
		writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{
			mk(uint64(5000+2*page), t0.Add(time.Minute), 100*time.Millisecond), // sorts first: before the cursor
			mk(uint64(5001+2*page), t0.Add(2*time.Minute), 3*time.Millisecond), // in the middle
		}}})
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	for i := range 40 {
		if n := seen[tid(uint64(1000+i))]; n != 1 {
			t.Errorf("trace %d seen %d times, want 1", 1000+i, n)
		}
	}
}

// TestSearchSortFullTextDeep: a full-text lookup that stops early (newest
// index blocks first) must not decide a page of another order: with one
// index block per trace and far more blocks than the first lookup asks
// for, the shortest trace (the oldest) still comes first.
func TestSearchSortFullTextDeep(t *testing.T) {
	s := openSearch(t)
	const n = 80
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		writeIndexed(t, s, []loupe.Batch{{Spans: []loupe.Span{{Project: "p", TraceID: tid(uint64(300 + i)), SpanID: sid(uint64(300 + i)),
			Name: "r", Kind: loupe.KindLLM, Start: at, End: at.Add(time.Duration(i+1) * time.Millisecond), Status: loupe.StatusOK,
			Payload: &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "refund please"}}}}}}})
	}
	f, err := query.Parse("input contains refund")
	if err != nil {
		t.Fatal(err)
	}
	for _, srt := range []query.Sort{{Field: "duration_ms", Asc: true}, {Field: "start_time", Asc: true}} {
		p, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", Filter: f, From: t0, To: t0.Add(time.Hour), Limit: 1, Sort: srt})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Traces) != 1 || p.Traces[0].TraceID != tid(300) {
			t.Errorf("sort %+v: first page %v, want trace %s", srt, p.Traces, tid(300))
		}
	}
}
