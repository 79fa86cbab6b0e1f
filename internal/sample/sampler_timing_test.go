package sample_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/loupehq/loupe/internal/sample"
)

// BenchmarkIngest compares ingest into DuckDB through the pipeline with
// sampling off (the pipeline alone) and on (the production policy in
// front: pending log, decisions, ~25% of spans stored). Each op submits
// 100 traces of 3 spans; decisions run every 20 ops.
func BenchmarkIngest(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "production"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			store, err := duckdb.Open(ctx, duckdb.Options{Dir: filepath.Join(dir, "db")})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			pipe := ingest.New(store, ingest.Options{})
			defer pipe.Close(ctx)
			clk := &clock{t: time.Now()}
			var in sample.Ingester = pipe
			var s *sample.Sampler
			if on {
				s, err = sample.New(ctx, sample.Options{Dir: filepath.Join(dir, "sampling"), Policy: sample.Production(),
					Next: pipe, Store: store, Now: clk.Now, Tick: time.Hour, MaxSpans: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close(ctx)
				in = s
			}
			b.ReportAllocs()
			n, op := 0, 0
			for b.Loop() {
				var spans []loupe.Span
				for range 100 {
					spans = append(spans, makeTrace(n, clk.Now(), n%33 == 0, "", "v1")...)
					n++
				}
				if err := in.Submit(ctx, loupe.Batch{Spans: spans}); err != nil {
					b.Fatal(err)
				}
				op++
				if s != nil && op%20 == 0 {
					clk.Add(6 * time.Second)
					if err := s.Decide(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(3*n)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
