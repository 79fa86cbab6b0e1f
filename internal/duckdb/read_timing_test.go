package duckdb

import (
	"os"
	"strconv"
	"testing"

	"github.com/loupehq/loupe"
)

// BenchmarkTrace measures Trace by id in a store of LOUPE_BENCH_SPANS
// standard-workload spans (default 240k, 20k traces), checkpointed, reading
// random known traces. Without an index the lookup scans the trace id
// columns, so its cost grows with the store.
//
//	go test -run='^$' -bench=Trace -benchtime=200x ./internal/duckdb
func BenchmarkTrace(b *testing.B) {
	n := 240_000
	if v, err := strconv.Atoi(os.Getenv("LOUPE_BENCH_SPANS")); err == nil {
		n = v
	}
	s := mustOpenBench(b)
	w := newWorkload(3)
	var ids []loupe.TraceID
	cpu0 := cpuTime()
	for written := 0; written < n; {
		spans := w.spans(10_000)
		for i := 0; i < len(spans); i += 12 {
			ids = append(ids, spans[i].TraceID)
		}
		if err := s.Write(b.Context(), batchesOf(spans, 120)); err != nil {
			b.Fatal(err)
		}
		written += len(spans)
	}
	if err := s.checkpoint(b.Context()); err != nil {
		b.Fatal(err)
	}
	writeCPU := cpuTime() - cpu0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t, err := s.Trace(b.Context(), loupe.DefaultProject, ids[(i*7919)%len(ids)])
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Spans) != 12 {
			b.Fatalf("trace has %d spans, want 12", len(t.Spans))
		}
		i++
	}
	b.ReportMetric(float64(writeCPU.Nanoseconds())/float64(n), "setup-cpu-ns/span")
}

// mustOpenBench opens a store and runs the SQL in LOUPE_BENCH_SQL on it, to
// compare settings or indexes, e.g.
// LOUPE_BENCH_SQL="CREATE INDEX spans_trace ON spans (trace_hi)".
func mustOpenBench(b *testing.B) *Store {
	s := mustOpenInternal(b)
	if q := os.Getenv("LOUPE_BENCH_SQL"); q != "" {
		if _, err := s.db.ExecContext(b.Context(), q); err != nil {
			b.Fatalf("LOUPE_BENCH_SQL: %v", err)
		}
	}
	return s
}
