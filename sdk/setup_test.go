package loupe_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	loupe "github.com/loupehq/loupe/sdk"
	"github.com/loupehq/loupe/sdk/redact"
)

func TestSetupInvalidOptions(t *testing.T) {
	secret := []byte("s")
	tests := []struct {
		name string
		o    loupe.Options
		want string // part of the error message
	}{
		{"no service", loupe.Options{RedactionSecret: secret}, "Service is empty"},
		{"bad scheme", loupe.Options{Service: "s", RedactionSecret: secret, Endpoint: "ftp://h:1"}, "scheme must be"},
		{"no host", loupe.Options{Service: "s", RedactionSecret: secret, Endpoint: "http://"}, "no host"},
		{"bad url", loupe.Options{Service: "s", RedactionSecret: secret, Endpoint: "http://[::1"}, "Endpoint"},
		{"no secret", loupe.Options{Service: "s"}, "RedactionSecret is empty"},
		{"bad content", loupe.Options{Service: "s", RedactionSecret: secret, Content: 7}, "Content 7"},
		{"ratio above 1", loupe.Options{Service: "s", RedactionSecret: secret, SampleRatio: 1.5}, "SampleRatio"},
		{"ratio NaN", loupe.Options{Service: "s", RedactionSecret: secret, SampleRatio: math.NaN()}, "SampleRatio"},
		{"negative queue", loupe.Options{Service: "s", RedactionSecret: secret, QueueSize: -1}, "QueueSize"},
		{"negative timeout", loupe.Options{Service: "s", RedactionSecret: secret, ExportTimeout: -time.Second}, "Timeout"},
		{"bad redaction rule", loupe.Options{Service: "s", RedactionSecret: secret,
			Redaction: &redact.Config{Custom: []redact.CustomRule{{Name: "x", Pattern: "("}}}}, "Redaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shutdown, err := loupe.Setup(t.Context(), tt.o)
			if err == nil {
				shutdown(t.Context())
				t.Fatalf("Setup(%+v) = nil error, want %q", tt.o, tt.want)
			}
			if !errors.Is(err, loupe.ErrInvalidOptions) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Setup error = %v, want ErrInvalidOptions containing %q", err, tt.want)
			}
		})
	}
}

func TestSetupInstallsGlobal(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := loupe.Setup(t.Context(), loupe.Options{Service: "s", Exporter: exp, DisableRedaction: true})
	if err != nil {
		t.Fatal(err)
	}
	_, s := loupe.StartTool(t.Context(), loupe.Tool{Name: "lookup"})
	s.End()
	if err := otel.GetTracerProvider().(interface{ ForceFlush(context.Context) error }).ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 1 {
		t.Errorf("global StartTool exported %d spans, want 1", n)
	}
	if err := shutdown(t.Context()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestUnreachableEndpoint checks that tracing never blocks or fails the
// application: with nothing listening, spans are dropped and counted, and
// Shutdown returns within its deadline.
func TestUnreachableEndpoint(t *testing.T) {
	// A listener that accepts and never answers: the worst case (a refused
	// connection fails fast).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // owned by this test: ends when ln closes
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, scheme := range []string{"http", "grpc"} {
		t.Run(scheme, func(t *testing.T) {
			var log syncBuffer
			tr, err := loupe.New(t.Context(), loupe.Options{Service: "s", Endpoint: scheme + "://" + ln.Addr().String(),
				RedactionSecret: []byte("k"), QueueSize: 100, BatchSize: 10, BatchTimeout: time.Millisecond, ExportTimeout: 200 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for range 5000 {
				_, s := tr.StartLLM(t.Context(), loupe.LLM{Provider: "openai", Model: "m"})
				s.End()
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("5000 spans took %v with the endpoint hung: tracing blocks the application", d)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			start = time.Now()
			tr.Shutdown(ctx)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Shutdown took %v, want it bounded by its context", d)
			}
			st := tr.Stats()
			if st.Dropped < 4000 || st.Exported != 0 {
				t.Errorf("Stats = %+v, want most of 5000 spans dropped and counted, none exported", st)
			}
			if !strings.Contains(log.String(), "spans dropped") {
				t.Errorf("log = %q, want a warning about dropped spans", log.String())
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	tr, exp := newTracer(t, loupe.Options{RedactionSecret: []byte("secret")})
	ctx, req := tr.StartRequest(t.Context(), "r", loupe.Request{UserID: "user_42", AccountID: "acct_1"})
	_, s := tr.StartLLM(ctx, loupe.LLM{Provider: "openai", Model: "m",
		Messages: []loupe.Message{{Role: "user", Content: "mail jane.doe@example.com, card 4111 1111 1111 1111, call +1 415 555 0199"}}})
	s.SetError("bad_request", "rejected jane.doe@example.com")
	s.End()
	req.End()
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	llm, root := attrMap(spans[0].Attributes), attrMap(spans[1].Attributes)
	msgs := llm["gen_ai.input.messages"].(string)
	for _, pii := range []string{"jane.doe@example.com", "4111 1111 1111 1111", "555 0199"} {
		if strings.Contains(msgs, pii) || strings.Contains(spans[0].Status.Description, pii) {
			t.Errorf("%q survived redaction: %s / %s", pii, msgs, spans[0].Status.Description)
		}
	}
	if llm["loupe.redaction.count"] != int64(4) {
		t.Errorf("loupe.redaction.count = %v, want 4 (email, card, phone, email in status)", llm["loupe.redaction.count"])
	}
	if rules, _ := llm["loupe.redaction.rules"].(string); !strings.Contains(rules, "email:2") || !strings.Contains(rules, "card:1") || !strings.Contains(rules, "phone:1") {
		t.Errorf("loupe.redaction.rules = %q, want email:2, card:1, phone:1", rules)
	}
	want := redact.Default([]byte("secret"))
	if root["user.id"] != want.Hash("user_42") || root["loupe.account.id"] != want.Hash("acct_1") {
		t.Errorf("ids = %v, %v; want keyed hashes %s, %s", root["user.id"], root["loupe.account.id"], want.Hash("user_42"), want.Hash("acct_1"))
	}
	if _, ok := root["loupe.redaction.count"]; ok {
		t.Errorf("root records a redaction count, but hashing ids is not redaction of content")
	}
}

func TestContentModes(t *testing.T) {
	run := func(t *testing.T, c loupe.Content) map[string]any {
		tr, exp := newTracer(t, loupe.Options{Content: c})
		ctx := t.Context()
		_, s := tr.StartLLM(ctx, loupe.LLM{Provider: "openai", Model: "m", System: "sys",
			Messages: []loupe.Message{{Role: "user", Content: "secret question"}}})
		s.SetResponse(loupe.Response{FinishReasons: []string{"tool_calls"}, Usage: loupe.Usage{Input: 5, Output: 2},
			Output: []loupe.Message{{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "c1", Name: "refund", Arguments: `{"a":1}`}}}}})
		s.End()
		return attrMap(ended(t, tr, exp).Attributes)
	}
	t.Run("full", func(t *testing.T) {
		a := run(t, loupe.ContentFull)
		if !strings.Contains(a["gen_ai.input.messages"].(string), "secret question") || a["gen_ai.system_instructions"] == nil {
			t.Errorf("full content lost: %v", a)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		a := run(t, loupe.ContentMetadata)
		if got, want := a["gen_ai.input.messages"], `[{"parts":[{"type":"text"}],"role":"user"}]`; got != want {
			t.Errorf("input messages = %v, want %v", got, want)
		}
		if got, want := a["gen_ai.output.messages"], `[{"finish_reason":"tool_calls","parts":[{"id":"c1","name":"refund","type":"tool_call"}],"role":"assistant"}]`; got != want {
			t.Errorf("output messages = %v, want %v", got, want)
		}
		if _, ok := a["gen_ai.system_instructions"]; ok {
			t.Errorf("system instructions kept in metadata mode")
		}
		if a["gen_ai.usage.input_tokens"] != int64(5) {
			t.Errorf("usage lost in metadata mode: %v", a)
		}
	})
	t.Run("off", func(t *testing.T) {
		a := run(t, loupe.ContentOff)
		for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} {
			if _, ok := a[k]; ok {
				t.Errorf("%s kept with content off", k)
			}
		}
		if a["gen_ai.response.finish_reasons"] == nil || a["gen_ai.usage.output_tokens"] != int64(2) {
			t.Errorf("metadata lost with content off: %v", a)
		}
	})
}

func TestSampleRatio(t *testing.T) {
	tr, exp := newTracer(t, loupe.Options{SampleRatio: 0.25})
	for range 2000 {
		ctx, root := tr.StartRequest(t.Context(), "r", loupe.Request{})
		_, child := tr.StartSpan(ctx, "c")
		child.End()
		root.End()
	}
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	traces := make(map[string]int)
	for _, s := range exp.GetSpans() {
		traces[s.SpanContext.TraceID().String()]++
	}
	if n := len(traces); n < 350 || n > 650 {
		t.Errorf("%d of 2000 traces kept, want about 500", n)
	}
	for id, n := range traces {
		if n != 2 {
			t.Fatalf("trace %s has %d spans, want 2: sampling must keep whole traces", id, n)
		}
	}
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
