package demo_test

import (
	"context"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/loupehq/loupe/internal/demo"
	loupe "github.com/loupehq/loupe/sdk"
)

// keepExporter is an in-memory exporter whose spans survive Shutdown.
type keepExporter struct{ *tracetest.InMemoryExporter }

func (keepExporter) Shutdown(context.Context) error { return nil }

func TestRun(t *testing.T) {
	exp := keepExporter{tracetest.NewInMemoryExporter()}
	res, err := demo.Run(t.Context(), demo.Options{Traces: 60, Seed: 1, SDK: loupe.Options{Exporter: exp}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	spans := exp.GetSpans()
	if res.Traces != 60 || res.Dropped != 0 || res.Spans != int64(len(spans)) {
		t.Fatalf("Run = %d traces, %d spans, %d dropped (exporter got %d); want 60 traces, none dropped",
			res.Traces, res.Spans, res.Dropped, len(spans))
	}
	if n := len(spans) / 60; n < 8 || n > 16 {
		t.Errorf("%d spans per trace, want about 12", n)
	}
	byTrace := make(map[string][]tracetest.SpanStub)
	for _, s := range spans {
		id := s.SpanContext.TraceID().String()
		byTrace[id] = append(byTrace[id], s)
	}
	for _, sc := range demo.Scenarios {
		ids := res.TraceIDs(sc)
		if len(ids) == 0 {
			t.Errorf("no %s trace", sc)
			continue
		}
		if len(byTrace[ids[0]]) == 0 {
			t.Errorf("%s trace %s: no spans exported", sc, ids[0])
		}
	}
	// The refund trace: the tool fails, a recovery call follows, the root is ok.
	refund := byTrace[res.TraceIDs(demo.RefundDegraded)[0]]
	var toolErr, recovered, rootOK bool
	for _, s := range refund {
		switch s.Name {
		case "tool.call.create_refund":
			toolErr = s.Status.Code == codes.Error
		case "llm.call.recover_after_tool_error":
			recovered = s.Status.Code == codes.Ok
		case "support_agent.request":
			rootOK = s.Status.Code == codes.Ok && !s.Parent.IsValid()
		}
	}
	if !toolErr || !recovered || !rootOK {
		t.Errorf("refund trace: tool error %v, recovery %v, root ok %v; want all true", toolErr, recovered, rootOK)
	}
}
