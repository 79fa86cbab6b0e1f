package otlp_test

import (
	"testing"
	"time"

	"github.com/loupehq/loupe"
	benchwl "github.com/loupehq/loupe/bench/workload"
	"github.com/loupehq/loupe/internal/otlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// workloadRequests returns nreq standard-workload requests (bench/workload:
// 10 traces of 12 spans each, as bench/ingest.sh's loadgen sends them).
func workloadRequests(seed uint64, nreq int) ([]*coltracepb.ExportTraceServiceRequest, int) {
	g := benchwl.New(seed)
	start := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	reqs := make([]*coltracepb.ExportTraceServiceRequest, nreq)
	spans := 0
	for i := range reqs {
		reqs[i] = g.Request(10, start.Add(time.Duration(i)*time.Second))
		spans += spanCount(reqs[i])
	}
	return reqs, spans
}

// BenchmarkNormalizeWorkload normalizes standard-workload requests (120
// spans each) the way the server does, one Traces call per request.
//
//	go test -run='^$' -bench=NormalizeWorkload -count 6 -cpu 1 ./internal/otlp
func BenchmarkNormalizeWorkload(b *testing.B) {
	reqs, spans := workloadRequests(1, 20)
	n := otlp.NewNormalizer(otlp.Options{})
	var dst []loupe.Span
	b.ReportAllocs()
	i, calls := 0, 0
	for b.Loop() {
		var rej otlp.Rejection
		dst, rej = n.Traces(loupe.DefaultProject, reqs[i], dst[:0])
		if rej.Count != 0 {
			b.Fatal(rej.Message)
		}
		i = (i + 1) % len(reqs)
		calls++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(calls*spans/len(reqs)), "ns/span")
}
