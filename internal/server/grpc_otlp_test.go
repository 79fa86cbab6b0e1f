package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/otlp"
	"github.com/loupehq/loupe/internal/server"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

func newGRPC(t testing.TB, opts server.Options, in server.Ingester) *grpc.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return server.NewGRPC(opts, otlp.NewNormalizer(otlp.Options{}), in)
}

// dialGRPC serves a gRPC server over an in-memory listener and returns a
// client connection to it, both closed at cleanup.
func dialGRPC(t *testing.T, opts server.Options, in server.Ingester) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := newGRPC(t, opts, in)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.GracefulStop()
		if err := <-served; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return conn
}

func TestGRPCTraces(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		in := &fakeIngester{}
		client := coltracepb.NewTraceServiceClient(dialGRPC(t, server.Options{}, in))
		resp, err := client.Export(t.Context(), supportTrace(12))
		if err != nil {
			t.Fatalf("Export() = %v", err)
		}
		if resp.GetPartialSuccess() != nil {
			t.Errorf("partial_success = %v, want none", resp.GetPartialSuccess())
		}
		if got := len(in.Spans()); got != 12 {
			t.Errorf("ingested %d spans, want 12", got)
		}
	})

	t.Run("Gzip", func(t *testing.T) {
		in := &fakeIngester{}
		client := coltracepb.NewTraceServiceClient(dialGRPC(t, server.Options{}, in))
		if _, err := client.Export(t.Context(), supportTrace(4), grpc.UseCompressor(gzip.Name)); err != nil {
			t.Fatalf("Export(gzip) = %v", err)
		}
		if got := len(in.Spans()); got != 4 {
			t.Errorf("ingested %d spans, want 4", got)
		}
	})

	t.Run("PartialSuccess", func(t *testing.T) {
		in := &fakeIngester{}
		client := coltracepb.NewTraceServiceClient(dialGRPC(t, server.Options{}, in))
		req := supportTrace(4)
		req.ResourceSpans[0].ScopeSpans[0].Spans[2].TraceId = nil
		resp, err := client.Export(t.Context(), req)
		if err != nil {
			t.Fatalf("Export() = %v", err)
		}
		if got := resp.GetPartialSuccess().GetRejectedSpans(); got != 1 {
			t.Errorf("rejected_spans = %d, want 1", got)
		}
		if resp.GetPartialSuccess().GetErrorMessage() == "" {
			t.Errorf("error_message is empty, want the reason")
		}
		if got := len(in.Spans()); got != 3 {
			t.Errorf("ingested %d spans, want 3", got)
		}
	})

	allInvalid := supportTrace(2)
	for _, s := range allInvalid.ResourceSpans[0].ScopeSpans[0].Spans {
		s.SpanId = nil
	}
	tests := []struct {
		name      string
		opts      server.Options
		submit    func(context.Context, loupe.Batch) error
		req       *coltracepb.ExportTraceServiceRequest
		wantCode  codes.Code
		wantRetry bool
	}{
		{name: "AllInvalid", req: allInvalid, wantCode: codes.InvalidArgument},
		{name: "Overloaded", submit: func(context.Context, loupe.Batch) error { return loupe.ErrOverloaded },
			wantCode: codes.ResourceExhausted, wantRetry: true},
		{name: "Closing", submit: func(context.Context, loupe.Batch) error { return loupe.ErrClosed },
			wantCode: codes.Unavailable, wantRetry: true},
		{name: "WriteFailed", submit: func(context.Context, loupe.Batch) error { return errors.New("disk full") },
			wantCode: codes.Unavailable, wantRetry: true},
		{name: "TooLarge", opts: server.Options{MaxBodyBytes: 256}, wantCode: codes.ResourceExhausted},
		{name: "Panic", submit: func(context.Context, loupe.Batch) error { panic("boom") }, wantCode: codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeIngester{SubmitFn: tt.submit}
			client := coltracepb.NewTraceServiceClient(dialGRPC(t, tt.opts, in))
			req := tt.req
			if req == nil {
				req = supportTrace(3)
			}
			_, err := client.Export(t.Context(), req)
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("Export() = %v, want code %v", err, tt.wantCode)
			}
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					retry = ri
				}
			}
			if tt.wantRetry && retry.GetRetryDelay().AsDuration() != time.Second {
				t.Errorf("RetryInfo = %v, want a 1s retry delay", retry)
			}
			if !tt.wantRetry && retry != nil {
				t.Errorf("RetryInfo = %v, want none", retry)
			}
			// The server keeps serving after every failure, panics included.
			in.SubmitFn = nil
			if _, err := client.Export(t.Context(), supportTrace(1)); err != nil && tt.name != "TooLarge" {
				t.Errorf("Export() after %s = %v, want nil", tt.name, err)
			}
		})
	}

	t.Run("DecodeOnly", func(t *testing.T) {
		in := &fakeIngester{SubmitFn: func(context.Context, loupe.Batch) error { return errors.New("must not submit") }}
		client := coltracepb.NewTraceServiceClient(dialGRPC(t, server.Options{DecodeOnly: true}, in))
		if _, err := client.Export(t.Context(), supportTrace(12)); err != nil {
			t.Fatalf("Export(decode only) = %v", err)
		}
	})
}

func TestGRPCLogs(t *testing.T) {
	in := &fakeIngester{}
	client := collogspb.NewLogsServiceClient(dialGRPC(t, server.Options{}, in))
	if _, err := client.Export(t.Context(), logsRequest()); err != nil {
		t.Fatalf("Export() = %v", err)
	}
	if got := len(in.Events()); got != 2 {
		t.Errorf("ingested %d events, want 2", got)
	}
}
