package loupe_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	loupe "github.com/loupehq/loupe/sdk"
)

// discard is an exporter that drops everything.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// The pairs below emit the same span (name, kind, attributes, status) with
// the bare OpenTelemetry SDK and with the loupe helpers; the difference is
// the helpers' overhead per span (target: <= 2 µs and <= 10 allocations).

func bareTracer(b *testing.B) trace.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}, sdktrace.WithMaxQueueSize(4096)))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp.Tracer("bench")
}

func loupeTracer(b *testing.B) *loupe.Tracer {
	tr, err := loupe.New(context.Background(), loupe.Options{Service: "bench", Exporter: discard{}, RedactionSecret: []byte("k")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr
}

func BenchmarkToolSpan(b *testing.B) {
	b.Run("otel", func(b *testing.B) {
		tr := bareTracer(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, s := tr.Start(ctx, "execute_tool lookup_order", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
				attribute.String("loupe.span.kind", "tool"), attribute.String("gen_ai.operation.name", "execute_tool"),
				attribute.String("gen_ai.tool.name", "lookup_order"), attribute.String("gen_ai.tool.call.id", "call_1")))
			s.SetStatus(codes.Ok, "")
			s.End()
		}
	})
	b.Run("loupe", func(b *testing.B) {
		tr := loupeTracer(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, s := tr.StartTool(ctx, loupe.Tool{Name: "lookup_order", CallID: "call_1"})
			s.End()
		}
	})
}

func BenchmarkLLMSpan(b *testing.B) {
	temp, maxTok := 0.2, int64(512)
	b.Run("otel", func(b *testing.B) {
		tr := bareTracer(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, s := tr.Start(ctx, "chat gpt-4.1-mini", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
				attribute.String("loupe.span.kind", "llm"), attribute.String("gen_ai.operation.name", "chat"),
				attribute.String("gen_ai.provider.name", "openai"), attribute.String("gen_ai.request.model", "gpt-4.1-mini"),
				attribute.Float64("gen_ai.request.temperature", temp), attribute.Int64("gen_ai.request.max_tokens", maxTok),
				attribute.Float64("loupe.request.timeout_ms", 30000),
				attribute.String("loupe.prompt.version_id", "prv_1")))
			s.SetAttributes(attribute.String("gen_ai.response.model", "gpt-4.1-mini-2025-04-14"),
				attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
				attribute.Int64("gen_ai.usage.input_tokens", 1204), attribute.Int64("gen_ai.usage.output_tokens", 86),
				attribute.Int64("gen_ai.usage.cache_read.input_tokens", 1024))
			s.SetStatus(codes.Ok, "")
			s.End()
		}
	})
	b.Run("loupe", func(b *testing.B) {
		tr := loupeTracer(b)
		ctx := context.Background()
		finish := []string{"stop"}
		b.ReportAllocs()
		for b.Loop() {
			_, s := tr.StartLLM(ctx, loupe.LLM{Provider: "openai", Model: "gpt-4.1-mini", Temperature: &temp, MaxTokens: &maxTok,
				Timeout: 30 * time.Second, PromptVersionID: "prv_1"})
			s.SetResponse(loupe.Response{Model: "gpt-4.1-mini-2025-04-14", FinishReasons: finish,
				Usage: loupe.Usage{Input: 1204, Output: 86, CacheRead: 1024}})
			s.End()
		}
	})
}

// BenchmarkRedactedExport measures the export-side work (content mode and
// redaction) per span, which runs on the export goroutine, not the
// application's.
func BenchmarkRedactedExport(b *testing.B) {
	tr := loupeTracer(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.StartLLM(ctx, loupe.LLM{Provider: "openai", Model: "gpt-4.1-mini",
			Messages: []loupe.Message{{Role: "user", Content: "My refund for order ord_123 is late. Email me at jane.doe@example.com please."}}})
		s.End()
	}
	b.StopTimer()
	tr.Flush(ctx)
}
