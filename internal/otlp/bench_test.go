package otlp_test

import (
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/otlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// benchRequest is 100 support-agent traces (1,200 spans), about the size of
// a busy exporter's batch.
func benchRequest() *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	for i := range 100 {
		req.ResourceSpans = append(req.ResourceSpans, supportAgentRequest(byte(i+1)).ResourceSpans...)
	}
	return req
}

func spanCount(req *coltracepb.ExportTraceServiceRequest) int {
	n := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	return n
}

func BenchmarkDecodeProtobuf(b *testing.B) {
	req := benchRequest()
	body, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := otlp.DecodeTraces(body, otlp.Protobuf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spanCount(req)), "ns/span")
}

func BenchmarkDecodeJSON(b *testing.B) {
	req := benchRequest()
	body, err := protojson.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := otlp.DecodeTraces(body, otlp.JSON); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spanCount(req)), "ns/span")
}

func BenchmarkNormalize(b *testing.B) {
	req := benchRequest()
	n := otlp.NewNormalizer(otlp.Options{})
	var dst []loupe.Span
	b.ReportAllocs()
	for b.Loop() {
		var rej otlp.Rejection
		dst, rej = n.Traces("p", req, dst[:0])
		if rej.Count != 0 {
			b.Fatal(rej.Message)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spanCount(req)), "ns/span")
}
