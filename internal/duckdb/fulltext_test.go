package duckdb

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Where is my REFUND?", []string{"where", "my", "refund"}},
		{"a the of x1 ok", []string{"x1", "ok"}},
		{"Müller straße ÉTÉ", []string{"müller", "straße", "été"}},
		{"order PA-0012345, total 12.50", []string{"order", "pa", "0012345", "total", "12", "50"}},
		{"with within", []string{"within"}},
		{"", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var want []uint64
			for _, w := range tc.want {
				want = append(want, wordHash([]byte(w)))
			}
			got := tokenizer{}.appendTokens(nil, tc.in)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("appendTokens(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestPostingsRoundTrip indexes random spans into one block and checks
// every word's decoded posting list against a direct computation.
func TestPostingsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 3000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i)
	}
	sentence := func(n int) string {
		s := ""
		for range n {
			s += vocab[min(r.IntN(len(vocab)), r.IntN(len(vocab)))] + " "
		}
		return s
	}
	shared := sentence(300) // a long string repeated across spans, like a system prompt
	want := map[uint64]map[uint32]uint32{}
	ix := newFTSIndexer()
	ix.reset("p", 0)
	const spans = 500
	for ord := range spans {
		sp := loupe.Span{Project: "p", SpanID: sid(uint64(ord + 1)), Start: t0, Payload: &loupe.Payload{
			Input:     []loupe.Message{{Role: "system", Content: shared}, {Role: "user", Content: sentence(20)}},
			Output:    []loupe.Message{{Role: "assistant", Content: sentence(5)}},
			Documents: []loupe.DocumentText{{Content: sentence(3)}},
		}}
		if ord%7 == 0 {
			sp.Payload.Input = sp.Payload.Input[1:]
		}
		for side, texts := range [][]string{
			messageTexts(sp.Payload.Input), messageTexts(sp.Payload.Output), {sp.Payload.Documents[0].Content},
		} {
			for _, s := range texts {
				for _, tok := range (tokenizer{}).appendTokens(nil, s) {
					if want[tok] == nil {
						want[tok] = map[uint32]uint32{}
					}
					want[tok][uint32(ord)] |= 1 << side
				}
			}
		}
		ix.add(&sp)
	}
	rows := ix.rows(nil)
	if len(rows) < 2 {
		t.Fatalf("got %d rows, want several (cut at %d bytes)", len(rows), ftsRowBytes)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].tokLo <= rows[i-1].tokHi {
			t.Fatalf("row %d range [%d, %d] overlaps the previous row's end %d", i, rows[i].tokLo, rows[i].tokHi, rows[i-1].tokHi)
		}
	}
	for tok, ords := range want {
		var found []uint32
		for _, row := range rows {
			if int64(tok) < row.tokLo || int64(tok) > row.tokHi {
				continue
			}
			list, ok := postingsOf(rawPostings(t, row.blob), tok)
			if !ok {
				t.Fatalf("token %x in row range [%d, %d] but not in its blob", tok, row.tokLo, row.tokHi)
			}
			found = decodePostings(nil, list)
		}
		var wantList []uint32
		for ord, mask := range ords {
			wantList = append(wantList, ord<<3|mask)
		}
		slices.Sort(wantList)
		if diff := cmp.Diff(wantList, found); diff != "" {
			t.Fatalf("postings of %x mismatch (-want +got):\n%s", tok, diff)
		}
	}
	if _, ok := postingsOf(rawPostings(t, rows[0].blob), wordHash([]byte("absent"))); ok {
		t.Error("postingsOf(absent word) = true, want false")
	}
	// The block's span ids are in ordinal order.
	if got := binary.BigEndian.Uint64(ix.spans[8*9:]); got != 10 {
		t.Errorf("span id of ordinal 9 = %d, want 10", got)
	}
}

func messageTexts(ms []loupe.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

// TestTokensPerSideCap checks that a span indexes at most maxTokensPerSide
// distinct words per side, the first ones.
func TestTokensPerSideCap(t *testing.T) {
	s := ""
	for i := range maxTokensPerSide + 10 {
		s += fmt.Sprintf("w%d ", i)
	}
	ix := newFTSIndexer()
	ix.reset("p", 0)
	ix.add(&loupe.Span{Start: t0, Payload: &loupe.Payload{InputValue: s, OutputValue: "w5 w1030"}})
	got := map[uint64]uint32{}
	for _, row := range ix.rows(nil) {
		for _, tok := range []string{"w0", "w1023", "w1024", "w5", "w1030"} {
			h := wordHash([]byte(tok))
			if l, ok := postingsOf(rawPostings(t, row.blob), h); ok {
				got[h] = decodePostings(nil, l)[0] & 7
			}
		}
	}
	want := map[uint64]uint32{
		wordHash([]byte("w0")): 1, wordHash([]byte("w1023")): 1, wordHash([]byte("w5")): 3, wordHash([]byte("w1030")): 2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("indexed side masks mismatch (-want +got):\n%s", diff)
	}
}

// TestFullTextNewestFirst writes many blocks (one per Write) where a common
// word is in every span and a rare one in a few old spans, and checks that
// paging through every page of several queries returns exactly the traces
// a direct computation expects, newest first, whatever the depth the
// lookups stopped at.
func TestFullTextNewestFirst(t *testing.T) {
	// Writes a minute apart, and writes a second apart: the latter packs
	// all data into less than a minute, as live ingest does.
	// A small candidate cap makes the lookups stop early and truncate, as
	// common words do on large stores.
	for _, step := range []time.Duration{time.Minute, time.Second} {
		for _, capSpans := range []int{0, 40} {
			t.Run(fmt.Sprintf("%s/cap=%d", step, capSpans), func(t *testing.T) { testFullTextNewestFirst(t, step, capSpans) })
		}
	}
}

func testFullTextNewestFirst(t *testing.T, step time.Duration, capSpans int) {
	s := openSearch(t)
	s.ftsCap = capSpans
	type tr struct {
		id    uint64
		start time.Time
		words string
		name  string
	}
	var all []tr
	n := uint64(0)
	for w := range 30 {
		var spans []loupe.Span
		for i := range 20 {
			n++
			at := t0.Add(time.Duration(w)*step + time.Duration(i)*step/30)
			words := "common filler"
			if n%97 == 3 {
				words += " rareword"
			}
			if i%2 == 0 {
				words += " evenword"
			}
			root := loupe.Span{Project: "p", TraceID: tid(n), SpanID: sid(n * 10), Name: "r", Kind: loupe.KindAgent,
				Start: at, End: at.Add(time.Second), Status: loupe.StatusOK}
			llm := loupe.Span{Project: "p", TraceID: tid(n), SpanID: sid(n*10 + 1), ParentSpanID: sid(n * 10), Name: "chat",
				Kind: loupe.KindLLM, Start: at.Add(time.Millisecond), End: at.Add(time.Second), Status: loupe.StatusOK,
				Payload: &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: words}}}}
			if n%23 == 7 { // a selective condition on the span rows
				llm.Name = "special"
			}
			// Another project's span in the same Write must not leak in.
			other := llm
			other.Project, other.TraceID, other.SpanID, other.ParentSpanID = "q", tid(n+1_000_000), sid(n*10+2), loupe.SpanID{}
			spans = append(spans, root, llm, other)
			all = append(all, tr{n, at, words, llm.Name})
		}
		writeIndexed(t, s, []loupe.Batch{{Spans: spans}})
	}
	expect := func(pred func(words string) bool) []uint64 {
		var out []uint64
		for i := len(all) - 1; i >= 0; i-- {
			if pred(all[i].words + "\x00" + all[i].name) {
				out = append(out, all[i].id)
			}
		}
		return out
	}
	has := func(w string) func(string) bool {
		return func(words string) bool { return slices.Contains(splitWords(words), w) }
	}
	named := func(name string, p func(string) bool) func(string) bool {
		return func(words string) bool { return strings.HasSuffix(words, "\x00"+name) && p(words) }
	}
	tests := []struct {
		filter string
		limit  int
		want   []uint64
	}{
		{"input contains common", 7, expect(has("common"))},
		{"input contains rareword", 50, expect(has("rareword"))},
		{"input contains \"common rareword\"", 3, expect(has("rareword"))},
		{"payload contains evenword and input contains common", 11, expect(has("evenword"))},
		{"not input contains evenword and kind = llm", 13, expect(func(w string) bool { return !has("evenword")(w) })},
		{"input contains rareword or input contains evenword", 17,
			expect(func(w string) bool { return has("rareword")(w) || has("evenword")(w) })},
		{"output contains common", 5, nil},
		{"input contains common and name = special", 3, expect(named("special", has("common")))},
		{"not input contains evenword and name = special", 2,
			expect(named("special", func(w string) bool { return !has("evenword")(w) }))},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := query.Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			cur := ""
			for range 1000 {
				p, err := s.SearchTraces(t.Context(), query.TraceSearch{Project: "p", Filter: f,
					From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Limit: tc.limit, Cursor: cur})
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Traces) > tc.limit {
					t.Fatalf("page of %d traces, limit %d", len(p.Traces), tc.limit)
				}
				for _, x := range p.Traces {
					got = append(got, binary.BigEndian.Uint64(x.TraceID[:8]))
				}
				if p.Next == "" {
					break
				}
				cur = p.Next
			}
			want := tc.want
			if capSpans > 0 && len(got) < len(want) {
				// Truncated lookups keep the newest matches: the answer is
				// a non-empty prefix of the full one.
				if len(got) == 0 {
					t.Fatalf("no traces; want a prefix of %d", len(want))
				}
				want = want[:len(got)]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("traces mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func splitWords(s string) []string {
	var out []string
	w := ""
	for _, c := range s + " " {
		if c == ' ' || c == 0 {
			if w != "" {
				out = append(out, w)
			}
			w = ""
			continue
		}
		w += string(c)
	}
	return out
}

// FuzzPostings feeds arbitrary blobs to the postings reader: it must never
// panic, and what it decodes is ascending.
func FuzzPostings(f *testing.F) {
	ix := newFTSIndexer()
	ix.reset("p", 0)
	for i := range 50 {
		ix.add(&loupe.Span{Start: t0, Payload: &loupe.Payload{InputValue: fmt.Sprintf("alpha beta w%d", i%7)}})
	}
	for _, r := range ix.rows(nil) {
		f.Add(rawPostings(f, r.blob), wordHash([]byte("alpha")))
	}
	f.Add([]byte{ftsFormat, 0xff, 0xff, 0xff, 0xff, 0x0f}, uint64(1))
	f.Add([]byte{}, uint64(0))
	f.Fuzz(func(t *testing.T, blob []byte, tok uint64) {
		list, ok := postingsOf(blob, tok)
		if !ok {
			return
		}
		got := decodePostings(nil, list)
		for i := 1; i < len(got); i++ {
			if got[i]>>3 <= got[i-1]>>3 {
				t.Fatalf("ordinals not ascending: %v", got)
			}
		}
	})
}
