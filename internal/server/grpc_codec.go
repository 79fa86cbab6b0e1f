package server

import (
	"github.com/loupehq/loupe/internal/otlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// traceCodec is the gRPC server's codec: grpc-go's protobuf codec, except
// that trace export requests are decoded by otlp.UnmarshalTraces (about
// twice as fast as proto.Unmarshal; see internal/otlp/pbtrace.go). Unknown
// fields are discarded, as the OTLP/HTTP receiver does, and AnyValues nest
// at most as deep as that decoder allows.
type traceCodec struct {
	encoding.CodecV2 // grpc-go's "proto" codec
}

// Unmarshal decodes data into v. grpc-go frees data once Unmarshal returns;
// the decoded request copies what it keeps.
func (c traceCodec) Unmarshal(data mem.BufferSlice, v any) error {
	req, ok := v.(*coltracepb.ExportTraceServiceRequest)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return otlp.UnmarshalTraces(buf.ReadOnlyData(), req)
}

// traceCodecOption makes the server use traceCodec, or changes nothing if
// grpc-go's protobuf codec is somehow not registered.
func traceCodecOption() []grpc.ServerOption {
	base := encoding.GetCodecV2(grpcproto.Name)
	if base == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.ForceServerCodecV2(traceCodec{base})}
}
