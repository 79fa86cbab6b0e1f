package otlp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/otlp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// normalizeOne normalizes a single span and fails unless it is accepted.
func normalizeOne(t *testing.T, s *tracepb.Span) loupe.Span {
	t.Helper()
	spans, rej := otlp.NewNormalizer(otlp.Options{}).Traces("p1", request(s), nil)
	if rej.Count != 0 || len(spans) != 1 {
		t.Fatalf("Traces = %d spans, rejection %+v; want 1 span", len(spans), rej)
	}
	return spans[0]
}

func TestProvider(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{"gen_ai.provider.name", "openai", "openai"},
		{"gen_ai.system", "az.ai.openai", "azure.ai.openai"},
		{"gen_ai.system", "az.ai.inference", "azure.ai.inference"},
		{"gen_ai.system", "vertex_ai", "gcp.vertex_ai"},
		{"gen_ai.system", "gemini", "gcp.gemini"},
		{"gen_ai.system", "xai", "x_ai"},
		{"gen_ai.system", "openai.chat", "openai"},
		{"gen_ai.system", "Anthropic", "anthropic"},
		{"ai.model.provider", "openai.responses", "openai"},
		{"ai.model.provider", "anthropic.messages", "anthropic"},
		{"ai.model.provider", "google.vertex.chat", "gcp.vertex_ai"},
		{"ai.model.provider", "google.generative-ai", "gcp.gemini"},
		{"ai.model.provider", "amazon-bedrock", "aws.bedrock"},
		{"llm.system", "vertexai", "gcp.vertex_ai"},
		{"llm.system", "mistralai", "mistral_ai"},
		{"llm.system", "amazon", "aws.bedrock"},
		{"llm.provider", "azure", "azure.ai.openai"},
		{"llm.provider", "together", "together_ai"},
		{"model.provider", "some.new.vendor", "some.new.vendor"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			got := normalizeOne(t, mkSpan("x", sid(9), attrs(tt.key, tt.value)...))
			if got.Provider != tt.want {
				t.Errorf("Provider = %q, want %q", got.Provider, tt.want)
			}
			if _, ok := got.Attributes[tt.key]; ok {
				t.Errorf("%s kept in attributes after mapping", tt.key)
			}
		})
	}
	t.Run("precedence", func(t *testing.T) {
		got := normalizeOne(t, mkSpan("x", sid(9), attrs("llm.system", "openai", "gen_ai.provider.name", "anthropic")...))
		if got.Provider != "anthropic" {
			t.Errorf("Provider = %q, want anthropic (gen_ai.provider.name wins)", got.Provider)
		}
		if got.Attributes["llm.system"] != "openai" {
			t.Errorf("losing llm.system = %v, want kept in attributes", got.Attributes["llm.system"])
		}
	})
}

func TestFinishReason(t *testing.T) {
	tests := []struct {
		key  string
		val  *commonpb.AnyValue
		want string
	}{
		{"llm.finish_reason", sv("tool_calls"), "tool_call"},
		{"llm.finish_reason", sv("tool_use"), "tool_call"},
		{"ai.response.finishReason", sv("tool-calls"), "tool_call"},
		{"llm.finish_reason", sv("end_turn"), "stop"},
		{"llm.finish_reason", sv("max_tokens"), "length"},
		{"llm.finish_reason", sv("STOP"), "stop"},
		{"llm.response.finish_reason", sv("content_filter"), "content_filter"},
		{"gen_ai.response.finish_reasons", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
			Values: []*commonpb.AnyValue{sv("length"), sv("stop")}}}}, "length"},
		{"gen_ai.response.finish_reasons", sv(`["tool_calls"]`), "tool_call"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.want, func(t *testing.T) {
			got := normalizeOne(t, mkSpan("x", sid(9), kv(tt.key, tt.val)))
			if got.FinishReason != tt.want {
				t.Errorf("FinishReason = %q, want %q", got.FinishReason, tt.want)
			}
		})
	}
}

func TestUsageExclusive(t *testing.T) {
	tests := []struct {
		name  string
		attrs []any
		want  loupe.Usage
	}{
		{"otel input includes cache", []any{"gen_ai.usage.input_tokens", 1200, "gen_ai.usage.cache_read.input_tokens", 1024,
			"gen_ai.usage.cache_creation.input_tokens", 100, "gen_ai.usage.output_tokens", 42},
			loupe.Usage{Input: 76, CacheRead: 1024, CacheWrite: 100, Output: 42}},
		{"output includes reasoning", []any{"gen_ai.usage.input_tokens", 10, "gen_ai.usage.output_tokens", 500, "gen_ai.usage.reasoning.output_tokens", 400},
			loupe.Usage{Input: 10, Output: 100, Reasoning: 400}},
		{"anthropic raw input excludes cache", []any{"gen_ai.usage.input_tokens", 12, "gen_ai.usage.cache_read.input_tokens", 3000,
			"gen_ai.usage.output_tokens", 5}, loupe.Usage{Input: 12, CacheRead: 3000, Output: 5}},
		{"deprecated names", []any{"gen_ai.usage.prompt_tokens", 9, "gen_ai.usage.completion_tokens", 3}, loupe.Usage{Input: 9, Output: 3}},
		{"output from total", []any{"gen_ai.usage.prompt_tokens", 9, "llm.usage.total_tokens", 12}, loupe.Usage{Input: 9, Output: 3}},
		{"openinference", []any{"llm.token_count.prompt", 100, "llm.token_count.prompt_details.cache_write", 60,
			"llm.token_count.completion", 20, "llm.token_count.completion_details.reasoning", 5}, loupe.Usage{Input: 40, CacheWrite: 60, Output: 15, Reasoning: 5}},
		{"vercel no-cache detail", []any{"ai.usage.inputTokens", 300, "ai.usage.cachedInputTokens", 200, "ai.usage.inputTokenDetails.noCacheTokens", 100,
			"ai.usage.outputTokens", 10}, loupe.Usage{Input: 100, CacheRead: 200, Output: 10}},
		{"langfuse already exclusive", []any{"langfuse.observation.usage_details", `{"input":50,"input_cached_tokens":400,"output":20,"output_reasoning_tokens":5}`},
			loupe.Usage{Input: 50, CacheRead: 400, Output: 20, Reasoning: 5}},
		{"never negative", []any{"gen_ai.usage.input_tokens", -5, "gen_ai.usage.output_tokens", -1}, loupe.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := normalizeOne(t, mkSpan("chat m", sid(9), attrs(tt.attrs...)...))
			if diff := cmp.Diff(tt.want, got.Usage); diff != "" {
				t.Errorf("Usage mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKindDetectionOrder(t *testing.T) {
	tests := []struct {
		name  string
		span  string
		root  bool
		attrs []any
		want  loupe.Kind
	}{
		{"loupe wins over everything", "x", false, []any{"loupe.span.kind", "tool", "langfuse.observation.type", "generation", "gen_ai.operation.name", "chat"}, loupe.KindTool},
		{"invalid loupe kind falls through", "x", false, []any{"loupe.span.kind", "bogus", "gen_ai.operation.name", "chat"}, loupe.KindLLM},
		{"langfuse before openinference", "x", false, []any{"langfuse.observation.type", "retriever", "openinference.span.kind", "LLM"}, loupe.KindRetrieval},
		{"openinference before operation", "x", false, []any{"openinference.span.kind", "EMBEDDING", "gen_ai.operation.name", "chat"}, loupe.KindEmbedding},
		{"reranker is retrieval", "x", false, []any{"openinference.span.kind", "RERANKER"}, loupe.KindRetrieval},
		{"chain root is request", "x", true, []any{"openinference.span.kind", "CHAIN"}, loupe.KindRequest},
		{"chain child", "x", false, []any{"openinference.span.kind", "CHAIN"}, loupe.KindChain},
		{"operation before traceloop", "x", false, []any{"gen_ai.operation.name", "execute_tool", "traceloop.span.kind", "task"}, loupe.KindTool},
		{"invoke_workflow", "x", false, []any{"gen_ai.operation.name", "invoke_workflow"}, loupe.KindChain},
		{"run_guardrail", "x", false, []any{"gen_ai.operation.name", "run_guardrail"}, loupe.KindGuardrail},
		{"vercel agent_step", "x", false, []any{"gen_ai.operation.name", "agent_step"}, loupe.KindAgent},
		{"traceloop workflow root", "x", true, []any{"traceloop.span.kind", "workflow"}, loupe.KindRequest},
		{"traceloop task", "x", false, []any{"traceloop.span.kind", "task"}, loupe.KindChain},
		{"llm.request.type", "x", false, []any{"llm.request.type", "embedding"}, loupe.KindEmbedding},
		{"vector db", "x", false, []any{"db.system", "pinecone"}, loupe.KindRetrieval},
		{"vercel doStream", "ai.streamText.doStream", false, []any{"ai.operationId", "ai.streamText.doStream"}, loupe.KindLLM},
		{"vercel doEmbed", "ai.embed.doEmbed", false, nil, loupe.KindEmbedding},
		{"vercel wrapper", "ai.generateText", false, nil, loupe.KindChain},
		{"legacy gen_ai.system + model", "x", false, []any{"gen_ai.system", "openai", "gen_ai.request.model", "gpt-4o"}, loupe.KindLLM},
		{"legacy flattened prompt", "x", false, []any{"gen_ai.prompt.0.content", "hi"}, loupe.KindLLM},
		{"name chat", "chat gpt-4o", false, nil, loupe.KindLLM},
		{"name execute_tool", "execute_tool foo", false, nil, loupe.KindTool},
		{"any model key", "x", false, []any{"llm.model_name", "m"}, loupe.KindLLM},
		{"parser by name", "PydanticOutputParser", false, nil, loupe.KindParser},
		{"chain named like a parser", "JsonOutputParser", false, []any{"openinference.span.kind", "CHAIN"}, loupe.KindParser},
		{"root fallback", "handler", true, nil, loupe.KindRequest},
		{"generic fallback", "handler", false, nil, loupe.KindSpan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := sid(9)
			if tt.root {
				parent = nil
			}
			got := normalizeOne(t, mkSpan(tt.span, parent, attrs(tt.attrs...)...))
			if got.Kind != tt.want {
				t.Errorf("Kind = %q, want %q", got.Kind, tt.want)
			}
		})
	}
}

func TestCostOnlyOnBillableSpans(t *testing.T) {
	llm := normalizeOne(t, mkSpan("x", sid(9), attrs("openinference.span.kind", "LLM", "llm.cost.total", 0.5)...))
	if llm.CostUSD != 0.5 || llm.CostSource != loupe.CostReported {
		t.Errorf("llm cost = %v %q, want 0.5 reported", llm.CostUSD, llm.CostSource)
	}
	agent := normalizeOne(t, mkSpan("x", sid(9), attrs("openinference.span.kind", "AGENT", "llm.cost.total", 0.5)...))
	if agent.CostUSD != 0 || agent.CostSource != "" {
		t.Errorf("agent cost = %v %q, want 0 and no source (wrappers never add cost)", agent.CostUSD, agent.CostSource)
	}
	if agent.Attributes["llm.cost.total"] != 0.5 {
		t.Errorf("agent llm.cost.total = %v, want kept as attribute", agent.Attributes["llm.cost.total"])
	}
}

func TestPriceHookAndProject(t *testing.T) {
	var calls int
	n := otlp.NewNormalizer(otlp.Options{Price: func(s *loupe.Span) {
		calls++
		if s.Kind.Billable() && s.CostSource == "" {
			s.CostSource = loupe.CostComputedPrefix + "test"
		}
	}})
	spans, _ := n.Traces("", supportAgentRequest(1), nil)
	if calls != len(spans) || len(spans) != 12 {
		t.Fatalf("Price called %d times for %d spans, want 12 each", calls, len(spans))
	}
	for _, s := range spans {
		if s.Project != loupe.DefaultProject {
			t.Errorf("Project = %q, want %q", s.Project, loupe.DefaultProject)
		}
	}
}

// TestReferenceTrace checks the 12-span support-agent trace end to end.
func TestReferenceTrace(t *testing.T) {
	spans, rej := otlp.NewNormalizer(otlp.Options{}).Traces("acme", supportAgentRequest(1), nil)
	if rej.Count != 0 {
		t.Fatalf("rejection %+v", rej)
	}
	if got := loupe.StatusOf(spans); got != loupe.TraceDegraded {
		t.Errorf("trace status = %q, want degraded", got)
	}
	kinds := make([]loupe.Kind, len(spans))
	for i, s := range spans {
		kinds[i] = s.Kind
		if err := s.Validate(); err != nil {
			t.Errorf("span %d: %v", i, err)
		}
		for k := range s.Attributes {
			if strings.Contains(k, "messages") || strings.Contains(k, "documents") || strings.Contains(k, "arguments") || strings.Contains(k, "instructions") {
				t.Errorf("span %s keeps large body %s in attributes", s.Name, k)
			}
		}
	}
	want := []loupe.Kind{"request", "span", "prompt", "retrieval", "embedding", "llm", "tool", "llm", "parser", "guardrail", "request", "request"}
	want[10], want[11] = loupe.KindSpan, loupe.KindSpan
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds mismatch (-want +got):\n%s", diff)
	}
	llm := spans[5]
	if llm.Usage != (loupe.Usage{Input: 180, CacheRead: 1024, Output: 86}) || llm.FinishReason != "tool_call" ||
		llm.PromptVersionID != "prv_2026_06_03_17" || llm.Tenant != "" || llm.Environment != "production" {
		t.Errorf("llm span = %+v", llm)
	}
	if n := len(llm.Payload.Input); n != 4 || llm.Payload.Input[0].Role != "system" {
		t.Errorf("llm input = %d messages, want 4 starting with system", n)
	}
	tool := spans[6]
	if tool.ErrorType != "INVALID_ARGUMENT" || tool.Status != loupe.StatusError || tool.ToolName != "create_refund" ||
		tool.Payload.ToolArguments == "" || len(tool.Payload.Events) != 1 {
		t.Errorf("tool span = %+v", tool)
	}
	ret := spans[3]
	if ret.RetrievalIndex != "support_policy_prod" || ret.RetrievalCount != 2 || len(ret.Payload.Documents) != 2 ||
		ret.Payload.Query != "refund delayed package" || *ret.Documents[0].Score != 0.91 {
		t.Errorf("retrieval span = %+v", ret)
	}
}

func TestPartialRejection(t *testing.T) {
	good := mkSpan("good", sid(9))
	badTrace := mkSpan("bad trace", sid(9))
	badTrace.TraceId = []byte{1, 2, 3}
	zeroSpan := mkSpan("zero span", sid(9))
	zeroSpan.SpanId = make([]byte, 8)
	backwards := mkSpan("backwards", sid(9))
	backwards.SpanId = sid(3)
	backwards.EndTimeUnixNano = backwards.StartTimeUnixNano - 1
	noStart := mkSpan("no start", sid(9))
	noStart.StartTimeUnixNano = 0
	huge := mkSpan("huge", sid(9), attrs("input.value", strings.Repeat("x", 2000))...)
	good2 := mkSpan("good2", sid(9))
	good2.SpanId = sid(4)
	n := otlp.NewNormalizer(otlp.Options{MaxAttributeBytes: 1000})
	spans, rej := n.Traces("p", request(good, badTrace, zeroSpan, backwards, noStart, huge, good2), nil)
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"good", "good2"}, names); diff != "" {
		t.Errorf("kept spans mismatch (-want +got):\n%s", diff)
	}
	t.Logf("Rejection.Message = %q", rej.Message)
	if rej.Count != 5 {
		t.Errorf("Rejection.Count = %d, want 5", rej.Count)
	}
	// The message names the first three problems.
	for _, part := range []string{"5 spans rejected: ", "span #1: trace id must be 16 bytes, got 3",
		"span id is all zeros",
		"span 0101020304050607/0301020304050607: ends before it starts", "; ..."} {
		if !strings.Contains(rej.Message, part) {
			t.Errorf("Rejection.Message = %q, want it to contain %q", rej.Message, part)
		}
	}

	t.Run("huge attribute reason", func(t *testing.T) {
		_, rej := n.Traces("p", request(huge), nil)
		if rej.Count != 1 || !strings.Contains(rej.Message, "attribute input.value longer than 1000 bytes") {
			t.Errorf("Rejection = %+v", rej)
		}
	})
	t.Run("default limit is 1 MiB", func(t *testing.T) {
		_, rej := otlp.NewNormalizer(otlp.Options{}).Traces("p", request(huge), nil)
		if rej.Count != 0 {
			t.Errorf("Rejection = %+v, want none under 1 MiB", rej)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		enc  otlp.Encoding
		want string
	}{
		{"protobuf garbage", "\xff\xff\xff\xff", otlp.Protobuf, "invalid: protobuf: "},
		{"protobuf truncated", "\x0a\x10\x0a", otlp.Protobuf, "invalid: protobuf: "},
		{"json syntax", `{"resourceSpans":[`, otlp.JSON, "invalid: json: "},
		{"json wrong type", `{"resourceSpans":{"a":1}}`, otlp.JSON, "invalid: json: "},
		{"json bad id", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not hex!"}]}]}]}`, otlp.JSON, "invalid: json: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := otlp.DecodeTraces([]byte(tt.body), tt.enc)
			if !errors.Is(err, loupe.ErrInvalid) {
				t.Fatalf("DecodeTraces(%q) = %v, want ErrInvalid", tt.body, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || len(err.Error()) <= len(tt.want) {
				t.Errorf("DecodeTraces(%q) = %q, want a message starting %q", tt.body, err, tt.want)
			}
			if strings.Contains(tt.body, "resourceSpans") {
				return // a logs request ignores the unknown resourceSpans field
			}
			_, err = otlp.DecodeLogs([]byte(tt.body), tt.enc)
			if !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("DecodeLogs(%q) = %v, want ErrInvalid", tt.body, err)
			}
		})
	}
	t.Run("json ids are hex and unknown fields ignored", func(t *testing.T) {
		body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","futureField":1,
			"name":"a","startTimeUnixNano":"1","endTimeUnixNano":2}]}]}]}`
		req, err := otlp.DecodeTraces([]byte(body), otlp.JSON)
		if err != nil {
			t.Fatal(err)
		}
		s := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
		if got := loupe.TraceID(s.TraceId).String(); got != "5b8efff798038103d269b633813fc60c" {
			t.Errorf("trace id = %s", got)
		}
		if got := loupe.SpanID(s.SpanId).String(); got != "eee19b7ec3c1b174" {
			t.Errorf("span id = %s", got)
		}
	})
}

func TestLogsRejectAndJoin(t *testing.T) {
	body := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[
	 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","eventName":"gen_ai.choice",
	  "body":{"kvlistValue":{"values":[{"key":"finish_reason","value":{"stringValue":"end_turn"}},
	   {"key":"message","value":{"kvlistValue":{"values":[{"key":"content","value":{"stringValue":"Rainy."}}]}}}]}}},
	 {"body":{"stringValue":"no context"}}]}]}]}`
	req, err := otlp.DecodeLogs([]byte(body), otlp.JSON)
	if err != nil {
		t.Fatal(err)
	}
	events, rej := otlp.NewNormalizer(otlp.Options{}).Logs("p", req, nil)
	if rej.Count != 1 || !strings.Contains(rej.Message, "log record has no trace/span id") {
		t.Errorf("Rejection = %+v", rej)
	}
	if len(events) != 1 {
		t.Fatalf("got %d events, want 1", len(events))
	}
	var s loupe.Span
	s.AttachEvent(events[0].Event)
	want := []loupe.Message{{Role: "assistant", Content: "Rainy.", FinishReason: "stop"}}
	if diff := cmp.Diff(want, s.Payload.Output); diff != "" {
		t.Errorf("joined output mismatch (-want +got):\n%s", diff)
	}
	if s.FinishReason != "stop" {
		t.Errorf("FinishReason = %q, want stop", s.FinishReason)
	}
}

// TestConcurrentUse shares one Normalizer between goroutines (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	n := otlp.NewNormalizer(otlp.Options{})
	req := supportAgentRequest(7)
	want, _ := n.Traces("p", req, nil)
	done := make(chan []loupe.Span)
	for range 4 {
		go func() {
			var got []loupe.Span
			for range 20 {
				got, _ = n.Traces("p", req, got[:0])
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; !cmp.Equal(want, got) {
			t.Errorf("concurrent Traces differs: %s", cmp.Diff(want, got))
		}
	}
}
