package duckdb

import (
	"log/slog"
	"testing"

	"github.com/loupehq/loupe/internal/segment"
)

// BenchmarkAppendSpans measures the writer's span appends alone
// (writer.appendSpan into its chunkAppender) on
// standard-workload spans, 40 requests (~4,800 spans) per op as a group
// commit of the ingest pipeline; the rows are cleared, not written. The
// serialized writer goroutine runs this for every span.
//
//	go test -run='^$' -bench=AppendSpans -cpu 1 ./internal/duckdb
func BenchmarkAppendSpans(b *testing.B) {
	pool, _, _ := workloadPool(b, 1, 40)
	s, err := Open(b.Context(), Options{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var ps []*prepared
	for i := range pool {
		p, err := s.prep.prepare(pool[i])
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	conn, err := s.db.Conn(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	spans := 0
	err = conn.Raw(func(dc any) error {
		w, err := newWriter(dc.(driverConn), &s.res)
		if err != nil {
			return err
		}
		defer w.close()
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			for _, p := range ps {
				for j := range p.batch.Spans {
					var ref *segment.Ref
					if p.cols[j].hasPayload {
						ref = &segment.Ref{Segment: 1, Offset: uint64(j) << 10, Index: uint32(j)}
					}
					if err := w.appendSpan(&p.batch.Spans[j], &p.cols[j], ref); err != nil {
						return err
					}
					spans++
				}
			}
			if err := w.spans.clear(); err != nil {
				return err
			}
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(spans), "cpu-µs/span")
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
