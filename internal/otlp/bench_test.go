package otlp_test

import (
	"testing"
	"time"

	"github.com/loupehq/loupe"
	benchwl "github.com/loupehq/loupe/bench/workload"
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

// BenchmarkDecodeProtobuf decodes protobuf bodies with DecodeTraces
// (dec=hand) and, for comparison, with proto.Unmarshal as DecodeTraces used
// to (dec=proto): the support-agent request of 1,200 spans (req=agent), and
// standard-workload bodies (bench/workload, 10 traces of 12 spans, as the
// ingest benchmark sends them; req=workload). Compare with
//
//	go test -run='^$' -bench=DecodeProtobuf -count=6 -cpu=1 ./internal/otlp | benchstat -col /dec -
func BenchmarkDecodeProtobuf(b *testing.B) {
	agent, err := proto.Marshal(benchRequest())
	if err != nil {
		b.Fatal(err)
	}
	wl := benchwl.NewBodies(benchwl.BodiesOptions{Seed: 1, Variants: 16})
	var workload [][]byte
	for range 16 {
		body, _ := wl.Next(nil, time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC))
		workload = append(workload, body)
	}
	decoders := []struct {
		name   string
		decode func([]byte) (*coltracepb.ExportTraceServiceRequest, error)
	}{
		{"hand", func(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
			return otlp.DecodeTraces(body, otlp.Protobuf)
		}},
		{"proto", func(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
			req := &coltracepb.ExportTraceServiceRequest{}
			return req, proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, req)
		}},
	}
	for _, bodies := range []struct {
		name   string
		bodies [][]byte
	}{{"agent", [][]byte{agent}}, {"workload", workload}} {
		spans, size := 0, 0
		for _, body := range bodies.bodies {
			req, err := otlp.DecodeTraces(body, otlp.Protobuf)
			if err != nil {
				b.Fatal(err)
			}
			spans += spanCount(req)
			size += len(body)
		}
		for _, dec := range decoders {
			b.Run("req="+bodies.name+"/dec="+dec.name, func(b *testing.B) {
				b.SetBytes(int64(size / len(bodies.bodies)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := dec.decode(bodies.bodies[i%len(bodies.bodies)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				perBody := float64(spans) / float64(len(bodies.bodies))
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*perBody), "ns/span")
			})
		}
	}
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
