package openaitrace_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	loupe "github.com/loupehq/loupe/sdk"
	"github.com/loupehq/loupe/sdk/openaitrace"
)

const chatResponse = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4.1-mini-2025-04-14",
"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
"tool_calls":[{"id":"call_1","type":"function","function":{"name":"create_refund","arguments":"{\"order\":\"o1\"}"}}]}}],
"usage":{"prompt_tokens":1204,"completion_tokens":86,"total_tokens":1290,"prompt_tokens_details":{"cached_tokens":1024},
"completion_tokens_details":{"reasoning_tokens":20}}}`

const chatStream = `data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini-2025-04-14","choices":[{"index":0,"delta":{"role":"assistant","content":"Your "}}]}

data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini-2025-04-14","choices":[{"index":0,"delta":{"content":"refund is on its way."},"finish_reason":"stop"}]}

data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini-2025-04-14","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":7,"total_tokens":57}}

data: [DONE]

`

// fakeOpenAI answers like the OpenAI API. /chat/completions fails with 429
// on the first attempt when fail429 is set.
func fakeOpenAI(t *testing.T, fail429 *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/chat/completions":
			if fail429 != nil && fail429.CompareAndSwap(true, false) {
				w.Header().Set("Retry-After-Ms", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`)
				return
			}
			if cmpContains(body, `"stream":true`) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, chatStream)
				return
			}
			if cmpContains(body, `"model":"bad"`) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":{"message":"model bad does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, chatResponse)
		case "/embeddings":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"object":"list","model":"text-embedding-3-small","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":5,"total_tokens":5}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func cmpContains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func setup(t *testing.T, url string) (openai.Client, *loupe.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := loupe.New(context.Background(), loupe.Options{Service: "t", Exporter: exp, DisableRedaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	client := openai.NewClient(option.WithBaseURL(url), option.WithAPIKey("sk-test"), openaitrace.Option(tr))
	return client, tr, exp
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any)
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func spans(t *testing.T, tr *loupe.Tracer, exp *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return exp.GetSpans()
}

func TestChat(t *testing.T) {
	client, tr, exp := setup(t, fakeOpenAI(t, nil).URL)
	_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:               "gpt-4.1-mini",
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Refund o1")},
		Temperature:         openai.Float(0.2),
		TopP:                openai.Float(0.9),
		MaxCompletionTokens: openai.Int(256),
		Seed:                openai.Int(42),
		ToolChoice:          openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")},
	})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	got := spans(t, tr, exp)
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	if got[0].Name != "chat gpt-4.1-mini" || got[0].Status.Code != codes.Ok {
		t.Errorf("span %q status %v, want chat gpt-4.1-mini Ok", got[0].Name, got[0].Status.Code)
	}
	a := attrs(got[0].Attributes)
	delete(a, "loupe.request.timeout_ms")
	want := map[string]any{
		"loupe.span.kind": "llm", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
		"gen_ai.request.model": "gpt-4.1-mini", "gen_ai.request.temperature": 0.2, "gen_ai.request.top_p": 0.9,
		"gen_ai.request.max_tokens": int64(256), "gen_ai.request.seed": int64(42), "gen_ai.request.tool_choice": "auto",
		"gen_ai.system_instructions": `[{"type":"text","content":"Be brief."}]`,
		"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"Refund o1"}]}]`,
		"gen_ai.response.id":         "chatcmpl-1", "gen_ai.response.model": "gpt-4.1-mini-2025-04-14",
		"gen_ai.response.finish_reasons": []string{"tool_calls"},
		"gen_ai.usage.input_tokens":      int64(1204), "gen_ai.usage.cache_read.input_tokens": int64(1024),
		"gen_ai.usage.output_tokens": int64(86), "gen_ai.usage.reasoning.output_tokens": int64(20),
		"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"create_refund","arguments":{"order":"o1"}}],"finish_reason":"tool_calls"}]`,
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestChatStream(t *testing.T) {
	client, tr, exp := setup(t, fakeOpenAI(t, nil).URL)
	st := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:    "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Where is my refund?")},
	})
	var text string
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			text += c.Choices[0].Delta.Content
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	st.Close()
	if text != "Your refund is on its way." {
		t.Errorf("client read %q: the middleware must pass the stream through", text)
	}
	got := spans(t, tr, exp)
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	a := attrs(got[0].Attributes)
	if _, ok := a["gen_ai.response.time_to_first_chunk"].(float64); !ok {
		t.Errorf("no gen_ai.response.time_to_first_chunk: %v", a)
	}
	for k, v := range map[string]any{"gen_ai.request.stream": true, "gen_ai.usage.input_tokens": int64(50), "gen_ai.usage.output_tokens": int64(7),
		"gen_ai.response.finish_reasons": []string{"stop"}, "gen_ai.response.id": "chatcmpl-2",
		"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"Your refund is on its way."}],"finish_reason":"stop"}]`} {
		if diff := cmp.Diff(v, a[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
}

func TestRetryAndError(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	client, tr, exp := setup(t, fakeOpenAI(t, &fail).URL)
	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4.1-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatalf("chat after retry: %v", err)
	}
	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "bad",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithMaxRetries(0)); err == nil {
		t.Fatal("chat with a bad model: no error")
	}
	got := spans(t, tr, exp)
	if len(got) != 3 {
		t.Fatalf("%d spans, want 3 (429, retry, 400)", len(got))
	}
	tests := []struct {
		code    codes.Code
		errType any
		retries any
	}{
		{codes.Error, "rate_limit_exceeded", nil},
		{codes.Ok, nil, int64(1)},
		{codes.Error, "model_not_found", nil},
	}
	for i, tt := range tests {
		a := attrs(got[i].Attributes)
		if got[i].Status.Code != tt.code || a["error.type"] != tt.errType || a["loupe.llm.retries"] != tt.retries {
			t.Errorf("span %d: status %v error.type %v retries %v, want %v %v %v", i, got[i].Status.Code, a["error.type"],
				a["loupe.llm.retries"], tt.code, tt.errType, tt.retries)
		}
	}
}

func TestEmbeddings(t *testing.T) {
	client, tr, exp := setup(t, fakeOpenAI(t, nil).URL)
	if _, err := client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("refund policy")}}); err != nil {
		t.Fatalf("embeddings: %v", err)
	}
	got := spans(t, tr, exp)
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	want := map[string]any{"loupe.span.kind": "embedding", "gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "openai",
		"gen_ai.request.model": "text-embedding-3-small", "loupe.embedding.input_count": int64(1), "gen_ai.usage.input_tokens": int64(5)}
	if diff := cmp.Diff(want, attrs(got[0].Attributes)); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}
