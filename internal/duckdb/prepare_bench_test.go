package duckdb

import "testing"

// BenchmarkPrepareWorkload measures Prepare alone (validation, the JSON
// columns, the payload records and the full-text tokenizing) on the
// standard workload, one request (10 traces of ~12 spans) per op, as the
// ingest pipeline calls it in each submitter's goroutine. It reports CPU
// µs per span (wall) and CPU µs per span of the whole process (rusage:
// garbage collection included; steadier than wall time on a shared
// machine).
//
//	go test -run='^$' -bench=PrepareWorkload -cpu 1 ./internal/duckdb
func BenchmarkPrepareWorkload(b *testing.B) {
	pool, poolSpans, _ := workloadPool(b, 1, 64)
	var pr preparer
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		p, err := pr.prepare(pool[i%len(pool)])
		if err != nil {
			b.Fatal(err)
		}
		pr.release(p)
		i++
	}
	spans := float64(i) * float64(poolSpans) / float64(len(pool))
	b.ReportMetric(float64(b.Elapsed().Microseconds())/spans, "µs/span")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/spans, "cpu-µs/span")
}
