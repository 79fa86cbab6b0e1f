package duckdb

import "testing"

// BenchmarkPrepareWorkload measures Prepare alone (validation, the JSON
// columns, the payload records and the full-text tokenizing) on the
// standard workload, one request (10 traces of ~12 spans) per op, as the
// ingest pipeline calls it in each submitter's goroutine. It reports CPU
// µs per span (this goroutine's work: Prepare runs on one goroutine).
//
//	go test -run='^$' -bench=PrepareWorkload -cpu 1 ./internal/duckdb
func BenchmarkPrepareWorkload(b *testing.B) {
	pool, poolSpans, _ := workloadPool(b, 1, 64)
	var pr preparer
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p, err := pr.prepare(pool[i%len(pool)])
		if err != nil {
			b.Fatal(err)
		}
		pr.release(p)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/(float64(i)*float64(poolSpans)/float64(len(pool))), "µs/span")
}
