package duckdb

import (
	"os"
	"strconv"

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
		batches, spans, _ := workloadPool(b, seed, 100)
		for i := range batches {
			for j := range batches[i].Spans {
				sp := &batches[i].Spans[j]
				// Spread seeds over time, one hour of traffic per seed.
				sp.Start = sp.Start.Add(time.Duration(seed) * time.Hour)
				sp.End = sp.End.Add(time.Duration(seed) * time.Hour)
				if from.IsZero() || sp.Start.Before(from) {
					from = sp.Start
				}
				if sp.End.After(to) {
					to = sp.End
				}
			}
		}
		writeIndexed(b, s, batches)
		written += spans
	}
	if err := s.checkpoint(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s, from, to.Add(time.Second)
}

func mustParse(b *testing.B, f string) query.Expr {
	e, err := query.Parse(f)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkSearch(b *testing.B) {
	s, _, to := benchStore(b)
	var pv string
	s.db.QueryRow(`SELECT prompt_version_id FROM spans WHERE prompt_version_id <> '' LIMIT 1`).Scan(&pv)
	f := mustParse(b, `prompt.version_id = "`+pv+`" and status = error`)
	q := query.TraceSearch{Project: loupe.DefaultProject, Filter: f, From: to.Add(-time.Hour), To: to, Limit: 50}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SearchTraces(b.Context(), q); err != nil {
			b.Fatal(err)
		}
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

func BenchmarkFullText(b *testing.B) {
	s, from, to := benchStore(b)
	q := query.TraceSearch{Project: loupe.DefaultProject, Filter: mustParse(b, `input contains "refund"`), From: from, To: to, Limit: 50}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SearchTraces(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchRows measures the search-row builders per span (the CPU
// the write path adds), without DuckDB.
func BenchmarkSearchRows(b *testing.B) {
	batches, spans, _ := workloadPool(b, 1, 20)
	b.ReportAllocs()
	for b.Loop() {
		buildTraceParts(batches)
		fb := newFTSBuilder()
		for i := range batches {
			for j := range batches[i].Spans {
				fb.add(&batches[i].Spans[j])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans)/1000, "µs/span")
}
