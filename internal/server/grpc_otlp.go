package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/loupehq/loupe/internal/otlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// OTel exporters commonly compress with gzip
	// (OTEL_EXPORTER_OTLP_COMPRESSION=gzip); this import registers the
	// codec with grpc-go, which is how grpc-go is built to be extended.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// NewGRPC returns a gRPC server with the OTLP TraceService and LogsService
// registered, sharing the HTTP receiver's normalization and ingest path.
// Messages are capped at Options.MaxBodyBytes (decompressed). The caller
// serves it on a listener and stops it with GracefulStop.
func NewGRPC(opts Options, norm *otlp.Normalizer, in Ingester) *grpc.Server {
	opts = opts.withDefaults()
	log := opts.Logger.With("component", "server", "transport", transportGRPC)
	m := newMetrics(opts.Registerer)
	ex := newExporter(opts, norm, in, m)
	s := grpc.NewServer(append(traceCodecOption(),
		grpc.MaxRecvMsgSize(int(min(opts.MaxBodyBytes, int64(maxInt)))),
		grpc.ChainUnaryInterceptor(observeGRPC(log, m), newAuthenticator(log, opts, m).unary),
	)...)
	coltracepb.RegisterTraceServiceServer(s, &traceService{ex: ex})
	collogspb.RegisterLogsServiceServer(s, &logsService{ex: ex})
	return s
}

const maxInt = int(^uint(0) >> 1)

// traceService implements the OTLP TraceService.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	ex *exporter
}

// Export stores the request's spans and returns once they are durable.
func (s *traceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	resp, err := s.ex.traces(ctx, transportGRPC, req)
	if err != nil {
		return nil, s.ex.grpcError(err)
	}
	return resp, nil
}

// logsService implements the OTLP LogsService.
type logsService struct {
	collogspb.UnimplementedLogsServiceServer
	ex *exporter
}

// Export stores the request's log records as span events and returns once
// they are durable.
func (s *logsService) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	resp, err := s.ex.logs(ctx, transportGRPC, req)
	if err != nil {
		return nil, s.ex.grpcError(err)
	}
	return resp, nil
}

// grpcError maps err to a gRPC status (see classify) and counts the
// refusal. Overload is RESOURCE_EXHAUSTED with a RetryInfo detail, which
// the OTLP spec requires for clients to retry it.
func (e *exporter) grpcError(err error) error {
	p := classify(err)
	if p.reason != "" {
		e.m.refused.WithLabelValues(transportGRPC, p.reason).Inc()
	}
	st := status.New(p.code, p.message)
	if p.retry {
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfterSeconds * time.Second)}); derr == nil {
			st = d
		}
	}
	return st.Err()
}

// observeGRPC recovers handler panics (grpc-go would crash the process),
// logs unexpected failures and counts and times requests.
func observeGRPC(log *slog.Logger, m *metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		defer func() {
			v := recover()
			if v != nil {
				log.Error("handler panic", "method", info.FullMethod, "panic", v, "stack", string(debug.Stack()))
				resp, err = nil, status.Error(codes.Internal, "internal error")
			}
			code := status.Code(err)
			if code == codes.Internal && v == nil {
				log.Error("request failed", "method", info.FullMethod, "err", err)
			}
			m.grpcRequests.WithLabelValues(info.FullMethod, code.String()).Inc()
			m.grpcDuration.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
		}()
		return handler(ctx, req)
	}
}
