package server_test

import (
	"strings"
	"testing"

	"github.com/loupehq/loupe/internal/server"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestGRPCTraceCodec checks that the gRPC trace service decodes requests
// with otlp's hand decoder: it refuses an attribute nested deeper than that
// decoder allows, which proto.Unmarshal (the default codec) accepts.
func TestGRPCTraceCodec(t *testing.T) {
	deep := func(n int) *coltracepb.ExportTraceServiceRequest {
		req := supportTrace(1)
		v := &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "leaf"}}
		for range n {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
		}
		s := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
		s.Attributes = append(s.Attributes, &commonpb.KeyValue{Key: "deep", Value: v})
		return req
	}
	// Positive control: the default codec accepts the deep request.
	b, err := proto.Marshal(deep(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, &coltracepb.ExportTraceServiceRequest{}); err != nil {
		t.Fatalf("proto.Unmarshal(deep request) = %v, want nil", err)
	}

	in := &fakeIngester{}
	client := coltracepb.NewTraceServiceClient(dialGRPC(t, server.Options{}, in))
	if _, err := client.Export(t.Context(), deep(10)); err != nil {
		t.Fatalf("Export(10 nested arrays) = %v, want nil", err)
	}
	_, err = client.Export(t.Context(), deep(100))
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("Export(100 nested arrays) = %v, want Internal naming the nesting", err)
	}
	if got := len(in.Spans()); got != 1 {
		t.Errorf("ingested %d spans, want 1", got)
	}
}
