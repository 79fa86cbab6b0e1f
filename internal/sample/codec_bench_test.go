package sample

import (
	"testing"
	"time"

	"github.com/loupehq/loupe"
)

// recordCodecs are the pending-log record encoders compared by the
// benchmarks: the JSON one of earlier versions and the binary one.
var recordCodecs = []struct {
	name   string
	encode func(time.Time, []loupe.Span, []loupe.SpanEvent) ([]byte, error)
}{
	{"json", encodeRecordJSON},
	{"bin", func(arrived time.Time, spans []loupe.Span, events []loupe.SpanEvent) ([]byte, error) {
		return appendRecord(nil, arrived, spans, events)
	}},
}

// BenchmarkEncodeRecord encodes one standard-workload request (bench/
// workload, 10 traces of ~12 spans, normalized as the server does) as a
// pending-log record, as Sampler.Submit does for every batch; it reports
// the record's bytes.
//
//	go test -run='^$' -bench=Record -count 6 -cpu 1 ./internal/sample
func BenchmarkEncodeRecord(b *testing.B) {
	spans := workloadBatch(b, 1, 10)
	arrived := time.Date(2026, 6, 3, 17, 0, 1, 0, time.UTC)
	for _, c := range recordCodecs {
		b.Run("codec="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				body, err := c.encode(arrived, spans, nil)
				if err != nil {
					b.Fatal(err)
				}
				n = len(body)
			}
			b.ReportMetric(float64(n), "record-bytes")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/span")
		})
	}
	// As Sampler.Submit encodes: into a recycled buffer.
	b.Run("codec=bin-pooled", func(b *testing.B) {
		b.ReportAllocs()
		var bufs recordBufs
		var n int
		for b.Loop() {
			body, err := bufs.encode(arrived, spans, nil)
			if err != nil {
				b.Fatal(err)
			}
			n = len(body)
			bufs.release(body)
		}
		b.ReportMetric(float64(n), "record-bytes")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/span")
	})
}

// BenchmarkDecodeRecord decodes the record of BenchmarkEncodeRecord, as a
// replay after a restart does.
func BenchmarkDecodeRecord(b *testing.B) {
	spans := workloadBatch(b, 1, 10)
	arrived := time.Date(2026, 6, 3, 17, 0, 1, 0, time.UTC)
	for _, c := range recordCodecs {
		b.Run("codec="+c.name, func(b *testing.B) {
			body, err := c.encode(arrived, spans, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeRecord(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/span")
		})
	}
}
