package duckdb

import (
	"os"
	"strconv"
	"strings"

	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// benchStore holds LOUPE_BENCH_SPANS (default 100k) standard-workload spans.
func benchStore(b *testing.B) (*Store, time.Time, time.Time) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("LOUPE_BENCH_SPANS")); err == nil && v > 0 {
		n = v
	}
	s := openSearch(b)
	var from, to time.Time
	written := 0
	for seed := uint64(1); written < n; seed++ {
		batches, spans := hourlyPool(b, seed, &from, &to)
		writeIndexed(b, s, batches)
		written += spans
	}
	if err := s.checkpoint(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s, from, to.Add(time.Second)
}

// hourlyPool returns workloadPool(seed, 100) moved seed hours later, so
// that seeds spread over time (one hour of traffic each), and widens
// [*from, *to] to its spans.
func hourlyPool(tb testing.TB, seed uint64, from, to *time.Time) ([]loupe.Batch, int) {
	tb.Helper()
	batches, spans, _ := workloadPool(tb, seed, 100)
	for i := range batches {
		for j := range batches[i].Spans {
			sp := &batches[i].Spans[j]
			sp.Start = sp.Start.Add(time.Duration(seed) * time.Hour)
			sp.End = sp.End.Add(time.Duration(seed) * time.Hour)
			if from.IsZero() || sp.Start.Before(*from) {
				*from = sp.Start
			}
			if sp.End.After(*to) {
				*to = sp.End
			}
		}
	}
	return batches, spans
}

func mustParse(b *testing.B, f string) query.Expr {
	e, err := query.Parse(f)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkSearch runs filtered searches (limit 50, newest first): the
// query harness's trace-level filter (prompt version and trace status) over
// the whole range and over the last hour, a span-level filter no span
// satisfies over both (the workload puts the version on prompt.load and the
// error on a tool span), no filter, and a sorted list.
//
//	LOUPE_BENCH_SPANS=1000000 go test ./internal/duckdb -run '^$' -bench 'Search$' -benchtime 20x
func BenchmarkSearch(b *testing.B) {
	s, from, to := benchStore(b)
	const pv = "prv_2026_06_03_17"
	degraded := `prompt.version_id = "` + pv + `" and trace.status = degraded`
	spanErr := `prompt.version_id = "` + pv + `" and status = error`
	for _, bc := range []struct {
		name, filter string
		from         time.Time
		sort         string
	}{
		{"TraceStatus", degraded, from, ""},
		{"TraceStatusHour", degraded, to.Add(-time.Hour), ""},
		{"SpanStatus", spanErr, from, ""},
		{"SpanStatusHour", spanErr, to.Add(-time.Hour), ""},
		{"All", "", from, ""},
		{"SortDurationHour", "", to.Add(-time.Hour), "-duration_ms"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var f query.Expr
			if bc.filter != "" {
				f = mustParse(b, bc.filter)
			}
			srt, err := query.ParseSort(bc.sort)
			if err != nil {
				b.Fatal(err)
			}
			q := query.TraceSearch{Project: loupe.DefaultProject, Filter: f, From: bc.from, To: to, Limit: 50, Sort: srt}
			b.ReportAllocs()
			var n int
			for b.Loop() {
				p, err := s.SearchTraces(b.Context(), q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(p.Traces)
			}
			b.ReportMetric(float64(n), "traces")
		})
	}
}

func BenchmarkStats(b *testing.B) {
	s, from, to := benchStore(b)
	pf, _ := query.ParseField("prompt.version_id")
	q := query.StatsRequest{Project: loupe.DefaultProject, From: from, To: to, By: []query.Field{pf}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Stats(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullText runs full-text searches (limit 50, newest first) over
// the whole range: a word in almost every LLM span ("refund", in the
// system prompt) and a rare one (an order number of the oldest seed's first
// trace, so the walk must reach the oldest blocks).
//
//	LOUPE_BENCH_SPANS=1000000 go test ./internal/duckdb -run '^$' -bench FullText -benchtime 10x
func BenchmarkFullText(b *testing.B) {
	s, from, to := benchStore(b)
	rare := rareWord(b)
	for _, bc := range []struct{ name, filter string }{
		{"Common", `input contains "refund"`},
		{"Rare", `input contains "` + rare + `"`},
		{"CommonAndRare", `payload contains "refund ` + rare + `"`},
		{"Absent", `input contains "zyzzogeton"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := query.TraceSearch{Project: loupe.DefaultProject, Filter: mustParse(b, bc.filter), From: from, To: to, Limit: 50}
			b.ReportAllocs()
			var n int
			for b.Loop() {
				p, err := s.SearchTraces(b.Context(), q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(p.Traces)
			}
			if n == 0 && bc.name != "Absent" {
				b.Fatalf("%s: no traces", bc.filter)
			}
			b.ReportMetric(float64(n), "traces")
		})
	}
}

// rareWord returns the order number of the first trace of seed 1.
func rareWord(b *testing.B) string {
	batches, _, _ := workloadPool(b, 1, 1)
	for _, sp := range batches[0].Spans {
		if sp.Payload == nil {
			continue
		}
		for _, m := range sp.Payload.Input {
			if i := strings.Index(m.Content, "PA-"); i >= 0 && i+10 <= len(m.Content) {
				return m.Content[i+3 : i+10]
			}
		}
	}
	b.Fatal("no order number in the workload")
	return ""
}

// BenchmarkSearchRows measures the search-row builders per span (the CPU
// the write path adds), without DuckDB: trace parts, and full-text
// indexing of 40 requests (4,800 spans, the pipeline's group commit) into
// one block, postings rows included.
//
//	go test ./internal/duckdb -run '^$' -bench SearchRows -benchtime 20x
func BenchmarkSearchRows(b *testing.B) {
	batches, spans, _ := workloadPool(b, 1, 40)
	ix := newFTSIndexer()
	var rows []ftsRow
	b.ReportAllocs()
	for b.Loop() {
		buildTraceParts(batches)
		ix.reset(loupe.DefaultProject, 0)
		for i := range batches {
			for j := range batches[i].Spans {
				if sp := &batches[i].Spans[j]; !sp.Payload.IsZero() {
					ix.add(sp)
				}
			}
		}
		rows = ix.rows(rows[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans)/1000, "µs/span")
	b.ReportMetric(float64(len(rows)), "rows/block")
}
