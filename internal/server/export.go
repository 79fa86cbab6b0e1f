package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/otlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// Transports, the label of the ingest metrics.
const (
	transportHTTP = "http"
	transportGRPC = "grpc"
)

// maxPooledSpans caps the span slices kept for reuse, so one huge request
// does not pin its memory in the pool.
const maxPooledSpans = 4096

// exporter is the ingest path both receivers share: normalize a decoded
// OTLP request, submit it, and build the OTLP response.
type exporter struct {
	decodeOnly bool
	redact     func(*loupe.Batch) // nil: redaction off
	norm       *otlp.Normalizer
	in         Ingester
	m          *metrics
	spans      sync.Pool // *[]loupe.Span, reused across requests
}

func newExporter(opts Options, norm *otlp.Normalizer, in Ingester, m *metrics) *exporter {
	return &exporter{decodeOnly: opts.DecodeOnly, redact: opts.Redact, norm: norm, in: in, m: m}
}

// traces normalizes and stores req; it returns once the spans are durable.
// A request whose spans are all rejected is an ErrInvalid naming the
// reasons; some rejected spans are reported as partial success.
func (e *exporter) traces(ctx context.Context, transport string, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	start := time.Now()
	received := 0
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			received += len(ss.GetSpans())
		}
	}
	e.m.receivedSpans.WithLabelValues(transport).Add(float64(received))
	resp := &coltracepb.ExportTraceServiceResponse{}
	if e.decodeOnly || received == 0 {
		return resp, nil
	}

	dst := e.getSpans()
	spans, rej := e.norm.Traces(principalOf(ctx).Project, req, *dst)
	if rej.Count > 0 {
		e.m.rejectedSpans.WithLabelValues(transport).Add(float64(rej.Count))
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: rej.Count, ErrorMessage: rej.Message}
	}
	if len(spans) == 0 {
		e.putSpans(dst, spans)
		if rej.Count > 0 {
			return nil, fmt.Errorf("%w: every span was rejected: %s", loupe.ErrInvalid, rej.Message)
		}
		return resp, nil
	}
	err := e.submit(ctx, loupe.Batch{Spans: spans})
	if err == nil || !isCtxErr(err) {
		// After a ctx error the pipeline may still be writing the spans.
		e.putSpans(dst, spans)
	}
	if err != nil {
		return nil, err
	}
	e.m.exportDuration.WithLabelValues(transport, "traces").Observe(time.Since(start).Seconds())
	return resp, nil
}

// logs normalizes and stores req's log records as span events.
func (e *exporter) logs(ctx context.Context, transport string, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	start := time.Now()
	received := 0
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			received += len(sl.GetLogRecords())
		}
	}
	e.m.receivedLogs.WithLabelValues(transport).Add(float64(received))
	resp := &collogspb.ExportLogsServiceResponse{}
	if e.decodeOnly || received == 0 {
		return resp, nil
	}

	events, rej := e.norm.Logs(principalOf(ctx).Project, req, nil)
	if rej.Count > 0 {
		e.m.rejectedLogs.WithLabelValues(transport).Add(float64(rej.Count))
		resp.PartialSuccess = &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: rej.Count, ErrorMessage: rej.Message}
	}
	if len(events) == 0 {
		if rej.Count > 0 {
			return nil, fmt.Errorf("%w: every log record was rejected: %s", loupe.ErrInvalid, rej.Message)
		}
		return resp, nil
	}
	if err := e.submit(ctx, loupe.Batch{Events: events}); err != nil {
		return nil, err
	}
	e.m.exportDuration.WithLabelValues(transport, "logs").Observe(time.Since(start).Seconds())
	return resp, nil
}

// submit hands b to the ingester. Failures other than the client's own
// (invalid data) or overload are marked transient: the client should retry
// (503 / UNAVAILABLE), not drop the data as it would on a 500.
func (e *exporter) submit(ctx context.Context, b loupe.Batch) error {
	if e.redact != nil {
		e.redact(&b) // before anything touches disk (DESIGN.md §3)
	}
	err := e.in.Submit(ctx, b)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, loupe.ErrInvalid), errors.Is(err, loupe.ErrOverloaded), errors.Is(err, loupe.ErrClosed), isCtxErr(err):
		return err
	}
	return fmt.Errorf("%w: %w", errUnavailable, err)
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (e *exporter) getSpans() *[]loupe.Span {
	if p, ok := e.spans.Get().(*[]loupe.Span); ok {
		return p
	}
	return new([]loupe.Span)
}

// putSpans returns the (possibly grown) slice to the pool, cleared so it
// does not keep the request's attributes and payloads alive.
func (e *exporter) putSpans(p *[]loupe.Span, spans []loupe.Span) {
	if cap(spans) > maxPooledSpans {
		return
	}
	clear(spans[:cap(spans)])
	*p = spans[:0]
	e.spans.Put(p)
}
