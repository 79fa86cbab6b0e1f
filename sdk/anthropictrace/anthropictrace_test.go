package anthropictrace_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	loupe "github.com/loupehq/loupe/sdk"
	"github.com/loupehq/loupe/sdk/anthropictrace"
)

const messageResponse = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
"content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"lookup_order","input":{"order":"o1"}}],
"stop_reason":"tool_use","stop_sequence":null,
"usage":{"input_tokens":100,"output_tokens":30,"cache_read_input_tokens":1000,"cache_creation_input_tokens":50}}`

const messageStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"usage":{"input_tokens":40,"output_tokens":1,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Refund "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sent."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}

event: message_stop
data: {"type":"message_stop"}

`

func fakeAnthropic(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.Contains(string(body), `"stream":true`):
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, messageStream)
		case strings.Contains(string(body), `"model":"bad"`):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"type":"error","error":{"type":"not_found_error","message":"model: bad"}}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, messageResponse)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func setup(t *testing.T) (anthropic.Client, *loupe.Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := loupe.New(context.Background(), loupe.Options{Service: "t", Exporter: exp, DisableRedaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	c := anthropic.NewClient(option.WithBaseURL(fakeAnthropic(t).URL), option.WithAPIKey("k"), option.WithMaxRetries(0), anthropictrace.Option(tr))
	return c, tr, exp
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any)
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func flushed(t *testing.T, tr *loupe.Tracer, exp *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := exp.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	return got
}

func TestMessages(t *testing.T) {
	c, tr, exp := setup(t)
	_, err := c.Messages.New(t.Context(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4", MaxTokens: 512, Temperature: anthropic.Float(0.3),
		System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Where is o1?"))},
	})
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	got := flushed(t, tr, exp)
	a := attrs(got[0].Attributes)
	delete(a, "loupe.request.timeout_ms")
	want := map[string]any{
		"loupe.span.kind": "llm", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
		"gen_ai.request.model": "claude-sonnet-4", "gen_ai.request.max_tokens": int64(512), "gen_ai.request.temperature": 0.3,
		"gen_ai.system_instructions": `[{"type":"text","content":"Be brief."}]`,
		"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"Where is o1?"}]}]`,
		"gen_ai.response.id":         "msg_1", "gen_ai.response.model": "claude-sonnet-4-20250514",
		"gen_ai.response.finish_reasons": []string{"tool_use"},
		// input_tokens includes the cached tokens, as the conventions say.
		"gen_ai.usage.input_tokens": int64(1150), "gen_ai.usage.cache_read.input_tokens": int64(1000),
		"gen_ai.usage.cache_creation.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(30),
		"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"Checking."},{"type":"tool_call","id":"toolu_1","name":"lookup_order","arguments":{"order":"o1"}}],"finish_reason":"tool_use"}]`,
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestMessagesStream(t *testing.T) {
	c, tr, exp := setup(t)
	st := c.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{Model: "claude-sonnet-4", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("refund?"))}})
	var acc anthropic.Message
	for st.Next() {
		if err := acc.Accumulate(st.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	st.Close()
	if len(acc.Content) != 1 || acc.Content[0].Text != "Refund sent." {
		t.Errorf("client accumulated %+v: the middleware must pass the stream through", acc.Content)
	}
	a := attrs(flushed(t, tr, exp)[0].Attributes)
	if _, ok := a["gen_ai.response.time_to_first_chunk"].(float64); !ok {
		t.Errorf("no time to first chunk: %v", a)
	}
	for k, v := range map[string]any{"gen_ai.request.stream": true, "gen_ai.usage.input_tokens": int64(40),
		"gen_ai.usage.output_tokens": int64(12), "gen_ai.response.finish_reasons": []string{"end_turn"},
		"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"Refund sent."}],"finish_reason":"end_turn"}]`} {
		if diff := cmp.Diff(v, a[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
}

func TestError(t *testing.T) {
	c, tr, exp := setup(t)
	if _, err := c.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "bad", MaxTokens: 1,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}}); err == nil {
		t.Fatal("no error for a bad model")
	}
	got := flushed(t, tr, exp)[0]
	if got.Status.Code != codes.Error || got.Status.Description != "model: bad" || attrs(got.Attributes)["error.type"] != "not_found_error" {
		t.Errorf("span status %v %q error.type %v, want Error \"model: bad\" not_found_error", got.Status.Code, got.Status.Description,
			attrs(got.Attributes)["error.type"])
	}
}
