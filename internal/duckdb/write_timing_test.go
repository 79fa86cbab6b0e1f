package duckdb

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/loupehq/loupe"
)

// batchesOf splits spans into batches of about perBatch spans (requests).
func batchesOf(spans []loupe.Span, perBatch int) []loupe.Batch {
	var out []loupe.Batch
	for len(spans) > 0 {
		n := min(perBatch, len(spans))
		out = append(out, loupe.Batch{Spans: spans[:n]})
		spans = spans[n:]
	}
	return out
}

// BenchmarkWrite measures Write of group commits of 5,000 standard-workload
// spans (one batch per 120-span request) into a growing store. The custom
// metrics include a final checkpoint; use -benchtime=60x or more so that
// several automatic checkpoints happen.
//
//	go test -run='^$' -bench=Write -benchtime=40x ./internal/duckdb
func BenchmarkWrite(b *testing.B) {
	const perWrite = 5000
	w := newWorkload(1)
	pool := w.spans(8 * perWrite)[:8*perWrite]
	s := mustOpenBench(b)
	ctx := b.Context()
	b.ReportAllocs()
	written, cycle := 0, 0
	cpu0, t0 := cpuTime(), time.Now()
	for b.Loop() {
		off := (written % len(pool) / perWrite) * perWrite
		if off == 0 && written > 0 {
			cycle++ // new trace ids for the next pass over the pool
			for i := range pool {
				pool[i].TraceID[0] ^= byte(cycle)
				pool[i].TraceID[1] ^= byte(cycle >> 8)
			}
		}
		chunk := pool[off : off+perWrite]
		if err := s.Write(ctx, batchesOf(chunk, 120)); err != nil {
			b.Fatal(err)
		}
		written += len(chunk)
	}
	// Fold the rest of the WAL into the file, so that every setting pays
	// its whole checkpoint cost, then count it in the per-span figures.
	if err := s.checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(t0)
	b.ReportMetric(float64(written)/elapsed.Seconds(), "spans/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(written), "ns/span")
	// CPU time (all threads, DuckDB's included) is steadier than wall time
	// on a shared machine, and is what bounds throughput on 2 cores.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(written), "cpu-ns/span")
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDiskUsage writes 120k standard-workload spans (10k traces) in
// group commits of 10k, checkpoints, and reports the bytes on disk per span
// against the bytes of the same spans as OTLP protobuf (see otlpSize).
//
//	go test -run='^$' -bench=DiskUsage -benchtime=1x ./internal/duckdb
func BenchmarkDiskUsage(b *testing.B) {
	w := newWorkload(2)
	spans := w.spans(120_000)
	otlp := otlpSize(spans, 480)
	for b.Loop() {
		s, err := Open(b.Context(), Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(spans); i += 10_000 {
			if err := s.Write(b.Context(), batchesOf(spans[i:min(i+10_000, len(spans))], 120)); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.checkpoint(b.Context()); err != nil {
			b.Fatal(err)
		}
		disk, err := s.DiskBytes()
		if err != nil {
			b.Fatal(err)
		}
		var blockSize, total, used, free int64
		if err := s.db.QueryRowContext(b.Context(), "SELECT block_size, total_blocks, used_blocks, free_blocks FROM pragma_database_size()").Scan(&blockSize, &total, &used, &free); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(used*blockSize)/float64(len(spans)), "used-B/span")
		b.ReportMetric(float64(free*blockSize)/float64(len(spans)), "free-B/span")
		b.ReportMetric(float64(disk)/float64(len(spans)), "disk-B/span")
		b.ReportMetric(float64(otlp)/float64(len(spans)), "otlp-B/span")
		b.ReportMetric(float64(otlp)/float64(disk), "otlp/disk")
		s.Close()
	}
}

// otlpSize returns the bytes of spans encoded as OTLP protobuf export
// requests of perRequest spans, mapped back the way the normalizer reads
// them (GenAI semantic conventions, payloads as message-JSON attributes,
// resource attributes once per request). It is an estimate of what an
// OpenTelemetry SDK sends for the same traces.
func otlpSize(spans []loupe.Span, perRequest int) int {
	total := 0
	for len(spans) > 0 {
		n := min(perRequest, len(spans))
		req := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{},
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope: &commonpb.InstrumentationScope{Name: "loupe.bench", Version: "1.0"},
			}},
		}}}
		rs := req.ResourceSpans[0]
		for _, k := range []string{"service.name", "deployment.environment.name", "service.version",
			"telemetry.sdk.name", "telemetry.sdk.language", "host.name"} {
			rs.Resource.Attributes = append(rs.Resource.Attributes, kv(k, "support-agent-value"))
		}
		for i := range spans[:n] {
			rs.ScopeSpans[0].Spans = append(rs.ScopeSpans[0].Spans, otlpSpan(&spans[i]))
		}
		b, err := proto.Marshal(req)
		if err != nil {
			panic(err)
		}
		total += len(b)
		spans = spans[n:]
	}
	return total
}

func kv(k string, v any) *commonpb.KeyValue {
	var av *commonpb.AnyValue
	switch v := v.(type) {
	case string:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
	case int64:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}
	case float64:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}
	default:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprint(v)}}
	}
	return &commonpb.KeyValue{Key: k, Value: av}
}

func otlpSpan(s *loupe.Span) *tracepb.Span {
	p := &tracepb.Span{
		TraceId: s.TraceID[:], SpanId: s.SpanID[:], Name: s.Name,
		Kind:              tracepb.Span_SPAN_KIND_INTERNAL,
		StartTimeUnixNano: uint64(s.Start.UnixNano()), EndTimeUnixNano: uint64(s.End.UnixNano()),
	}
	if !s.ParentSpanID.IsZero() {
		p.ParentSpanId = s.ParentSpanID[:]
	}
	if s.Status == loupe.StatusError {
		p.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: s.StatusMessage}
	}
	add := func(k string, v any) {
		if v == "" || v == int64(0) || v == 0.0 {
			return
		}
		p.Attributes = append(p.Attributes, kv(k, v))
	}
	add("loupe.span.kind", string(s.Kind))
	add("error.type", s.ErrorType)
	add("tenant.id", s.Tenant)
	add("http.route", s.Route)
	add("session.id", s.SessionID)
	add("user.id", s.UserID)
	add("deployment.id", s.DeploymentID)
	add("loupe.prompt.name", s.PromptName)
	add("loupe.prompt.version_id", s.PromptVersionID)
	add("loupe.prompt.release_label", s.ReleaseLabel)
	add("gen_ai.provider.name", s.Provider)
	add("gen_ai.request.model", s.RequestModel)
	add("gen_ai.response.model", s.ResponseModel)
	add("gen_ai.usage.input_tokens", s.Usage.Input+s.Usage.CacheRead)
	add("gen_ai.usage.cache_read.input_tokens", s.Usage.CacheRead)
	add("gen_ai.usage.output_tokens", s.Usage.Output)
	if s.Params.Temperature != nil {
		add("gen_ai.request.temperature", *s.Params.Temperature)
	}
	if s.Params.MaxTokens != nil {
		add("gen_ai.request.max_tokens", *s.Params.MaxTokens)
	}
	if s.FinishReason != "" {
		add("gen_ai.response.finish_reasons", `["`+s.FinishReason+`"]`)
	}
	add("gen_ai.tool.name", s.ToolName)
	add("loupe.retrieval.index", s.RetrievalIndex)
	add("loupe.retrieval.count", s.RetrievalCount)
	for k, v := range s.Attributes {
		if !strings.HasPrefix(k, "resource.") {
			add(k, v)
		}
	}
	if pl := s.Payload; pl != nil {
		js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		if len(pl.Input) > 0 {
			add("gen_ai.input.messages", js(pl.Input))
		}
		if len(pl.Output) > 0 {
			add("gen_ai.output.messages", js(pl.Output))
		}
		add("gen_ai.tool.call.arguments", pl.ToolArguments)
		add("gen_ai.tool.call.result", pl.ToolResult)
		add("gen_ai.retrieval.query.text", pl.Query)
		if len(pl.Documents) > 0 {
			add("gen_ai.retrieval.documents", js(pl.Documents))
		}
		add("input.value", pl.InputValue)
		add("output.value", pl.OutputValue)
	}
	return p
}

// threadCPUTime returns the CPU time of the calling OS thread (Linux
// RUSAGE_THREAD; 0 elsewhere). Benchmarks lock their goroutine to its
// thread to measure the CPU of a serialized section (cgo calls included),
// which, unlike its wall time, does not grow when other processes compete
// for the cores.
func threadCPUTime() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
