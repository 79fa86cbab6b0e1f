package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/otlp"
	"github.com/loupehq/loupe/internal/server"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	// While fuzzing, the fuzz engine's own goroutines may still be winding
	// down when m.Run returns; goleak would report them as leaks.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// fakeIngester records submitted batches; SubmitFn, if set, decides the
// result.
type fakeIngester struct {
	SubmitFn func(ctx context.Context, b loupe.Batch) error

	mu      sync.Mutex
	batches []loupe.Batch
}

func (f *fakeIngester) Submit(ctx context.Context, b loupe.Batch) error {
	if f.SubmitFn != nil {
		if err := f.SubmitFn(ctx, b); err != nil {
			return err
		}
	}
	// Deep enough a copy: the server reuses span slices after Submit.
	c := loupe.Batch{Spans: append([]loupe.Span(nil), b.Spans...), Events: append([]loupe.SpanEvent(nil), b.Events...)}
	f.mu.Lock()
	f.batches = append(f.batches, c)
	f.mu.Unlock()
	return nil
}

func (f *fakeIngester) Spans() []loupe.Span {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []loupe.Span
	for _, b := range f.batches {
		out = append(out, b.Spans...)
	}
	return out
}

func (f *fakeIngester) Events() []loupe.SpanEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []loupe.SpanEvent
	for _, b := range f.batches {
		out = append(out, b.Events...)
	}
	return out
}

func (f *fakeIngester) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.batches)
}

// fakeReader is a loupe.TraceReader backed by a function.
type fakeReader struct {
	TraceFn func(ctx context.Context, project string, id loupe.TraceID) (*loupe.Trace, error)
}

func (f *fakeReader) Trace(ctx context.Context, project string, id loupe.TraceID) (*loupe.Trace, error) {
	return f.TraceFn(ctx, project, id)
}

func newHandler(t testing.TB, opts server.Options, in server.Ingester, reader loupe.TraceReader) http.Handler {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return server.New(opts, otlp.NewNormalizer(otlp.Options{}), in, reader)
}

// post sends body to h and returns the recorded response.
func post(h http.Handler, path, contentType, contentEncoding string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kv(key string, v any) *commonpb.KeyValue {
	var av *commonpb.AnyValue
	switch v := v.(type) {
	case string:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
	case int:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(v)}}
	case float64:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}
	case bool:
		av = &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}
	default:
		panic(fmt.Sprintf("kv: unsupported %T", v))
	}
	return &commonpb.KeyValue{Key: key, Value: av}
}

var (
	testTraceID = []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testStart   = time.Date(2026, 6, 3, 17, 4, 5, 0, time.UTC)
)

func spanID(i int) []byte { return []byte{0, 0, 0, 0, 0, 0, 1, byte(i + 1)} }

// supportTrace is a request shaped like the standard workload: one support
// agent run of n spans (agent root, then alternating model and tool calls)
// with GenAI attributes and message payloads of realistic size.
func supportTrace(n int) *coltracepb.ExportTraceServiceRequest {
	var spans []*tracepb.Span
	t := uint64(testStart.UnixNano())
	prompt := `[{"role":"system","content":"You are a helpful support agent for Acme. Answer briefly and use the tools when an order is mentioned."},{"role":"user","content":"Hi, my order 8812 arrived damaged, can I get a refund?"}]`
	for i := range n {
		s := &tracepb.Span{
			TraceId:           testTraceID,
			SpanId:            spanID(i),
			StartTimeUnixNano: t + uint64(i)*50e6,
			EndTimeUnixNano:   t + uint64(i)*50e6 + 40e6,
			Kind:              tracepb.Span_SPAN_KIND_INTERNAL,
		}
		if i > 0 {
			s.ParentSpanId = spanID(0)
		}
		switch {
		case i == 0:
			s.Name = "invoke_agent support"
			s.EndTimeUnixNano = t + uint64(n)*50e6
			s.Attributes = []*commonpb.KeyValue{kv("gen_ai.operation.name", "invoke_agent"), kv("gen_ai.agent.name", "support"),
				kv("session.id", "sess_42"), kv("user.id", "u_1001")}
		case i%2 == 1:
			s.Name = "chat gpt-4.1-mini"
			s.Kind = tracepb.Span_SPAN_KIND_CLIENT
			s.Attributes = []*commonpb.KeyValue{kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
				kv("gen_ai.request.model", "gpt-4.1-mini"), kv("gen_ai.response.model", "gpt-4.1-mini-2025-04-14"),
				kv("gen_ai.request.temperature", 0.2), kv("gen_ai.usage.input_tokens", 812), kv("gen_ai.usage.output_tokens", 64),
				kv("gen_ai.response.finish_reasons", "tool_calls"), kv("gen_ai.input.messages", prompt),
				kv("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Let me check order 8812 for you."}]}]`)}
		default:
			s.Name = "execute_tool lookup_order"
			s.Attributes = []*commonpb.KeyValue{kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", "lookup_order"),
				kv("gen_ai.tool.call.arguments", `{"order_id":"8812"}`), kv("gen_ai.tool.call.result", `{"status":"delivered","damaged":true,"amount":42.5}`)}
		}
		spans = append(spans, s)
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", "support-api"), kv("deployment.environment.name", "prod")}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "loupe-test"},
			Spans: spans,
		}},
	}}}
}

// jsonTrace is an OTLP/JSON body (hex ids, as the spec requires) of two spans.
const jsonTrace = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"support-api"}}]},
"scopeSpans":[{"spans":[
{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"invoke_agent support","startTimeUnixNano":"1780506245000000000","endTimeUnixNano":"1780506246000000000"},
{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b8","parentSpanId":"00f067aa0ba902b7","name":"chat gpt-4.1-mini","startTimeUnixNano":"1780506245100000000","endTimeUnixNano":"1780506245900000000",
 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4.1-mini"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"812"}}]}
]}]}]}`

func httptestDo(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}
