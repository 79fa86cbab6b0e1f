package loupe_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	loupe "github.com/loupehq/loupe/sdk"
)

// newTracer returns a Tracer exporting to an in-memory exporter, with
// redaction off unless opts say otherwise.
func newTracer(t testing.TB, o loupe.Options) (*loupe.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	o.Exporter = exp
	if o.Service == "" {
		o.Service = "test-svc"
	}
	if len(o.RedactionSecret) == 0 {
		o.DisableRedaction = true
	}
	tr, err := loupe.New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr, exp
}

// attrMap converts attributes to a map of plain Go values.
func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// ended flushes tr and returns the one span exported.
func ended(t *testing.T, tr *loupe.Tracer, exp *tracetest.InMemoryExporter) tracetest.SpanStub {
	t.Helper()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("exported %d spans, want 1", len(spans))
	}
	return spans[0]
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

func TestHelpers(t *testing.T) {
	tests := []struct {
		name     string
		run      func(ctx context.Context, tr *loupe.Tracer)
		wantName string
		wantKind trace.SpanKind
		want     map[string]any
		wantCode codes.Code
	}{
		{
			name: "request",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartRequest(ctx, "support_agent.request", loupe.Request{Tenant: "tenant_431", Route: "/v1/chat",
					SessionID: "sess_1", UserID: "u_1", AccountID: "acct_9", Locale: "en-GB"})
				s.End()
			},
			wantName: "support_agent.request", wantKind: trace.SpanKindServer, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "request", "loupe.tenant": "tenant_431", "loupe.route": "/v1/chat",
				"gen_ai.conversation.id": "sess_1", "user.id": "u_1", "loupe.account.id": "acct_9", "loupe.locale": "en-GB"},
		},
		{
			name: "chain",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartChain(ctx, "response.validate")
				s.End()
			},
			wantName: "response.validate", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "chain"},
		},
		{
			name: "generic span",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartSpan(ctx, "auth.check_user_entitlements")
				s.End()
			},
			wantName: "auth.check_user_entitlements", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "span"},
		},
		{
			name: "agent",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartAgent(ctx, loupe.Agent{Name: "support", ID: "agent_1"})
				s.End()
			},
			wantName: "invoke_agent support", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "agent", "gen_ai.operation.name": "invoke_agent",
				"gen_ai.agent.name": "support", "gen_ai.agent.id": "agent_1"},
		},
		{
			name: "prompt",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartPrompt(ctx, loupe.Prompt{Name: "prompt.load", PromptName: "support_agent_v3",
					VersionID: "prv_2026_06_03_17", ReleaseLabel: "production", Template: "Hi {name}",
					Variables: map[string]string{"name": "Ann"}})
				s.End()
			},
			wantName: "prompt.load", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "prompt", "loupe.prompt.name": "support_agent_v3",
				"loupe.prompt.version_id": "prv_2026_06_03_17", "loupe.prompt.release_label": "production",
				"loupe.prompt.template": "Hi {name}", "loupe.prompt.variables": `{"name":"Ann"}`},
		},
		{
			name: "retrieval",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartRetrieval(ctx, loupe.Retrieval{Index: "support_policy_prod", Query: "refund delayed package",
					TopK: 4, Filters: map[string]string{"locale": "en"}})
				s.SetDocuments([]loupe.Document{{ID: "doc_102", Score: 0.91, Tokens: 120, Content: "Refunds..."}, {ID: "doc_087", Score: 0.84, Tokens: 80}})
				s.End()
			},
			wantName: "retrieval support_policy_prod", wantKind: trace.SpanKindClient, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "retrieval", "gen_ai.operation.name": "retrieval",
				"gen_ai.data_source.id": "support_policy_prod", "gen_ai.retrieval.query.text": "refund delayed package",
				"gen_ai.retrieval.top_k": int64(4), "loupe.retrieval.filters": `{"locale":"en"}`,
				"gen_ai.retrieval.documents":   `[{"id":"doc_102","score":0.91,"tokens":120,"content":"Refunds..."},{"id":"doc_087","score":0.84,"tokens":80}]`,
				"loupe.retrieval.result_count": int64(2), "loupe.retrieval.tokens": int64(200)},
		},
		{
			name: "empty retrieval",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartRetrieval(ctx, loupe.Retrieval{Name: "retrieval.search", Index: "kb"})
				s.SetDocuments(nil)
				s.End()
			},
			wantName: "retrieval.search", wantKind: trace.SpanKindClient, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "retrieval", "gen_ai.operation.name": "retrieval",
				"gen_ai.data_source.id": "kb", "gen_ai.retrieval.documents": "[]",
				"loupe.retrieval.result_count": int64(0), "loupe.retrieval.tokens": int64(0)},
		},
		{
			name: "embedding",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartEmbedding(ctx, loupe.Embedding{Provider: "openai", Model: "text-embedding-3-small", Inputs: 1, Dimensions: 1536})
				s.SetUsage(7)
				s.End()
			},
			wantName: "embeddings text-embedding-3-small", wantKind: trace.SpanKindClient, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "embedding", "gen_ai.operation.name": "embeddings",
				"gen_ai.provider.name": "openai", "gen_ai.request.model": "text-embedding-3-small",
				"loupe.embedding.input_count": int64(1), "gen_ai.embeddings.dimension.count": int64(1536),
				"gen_ai.usage.input_tokens": int64(7)},
		},
		{
			name: "llm",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartLLM(ctx, loupe.LLM{Name: "llm.call.plan_response", Provider: "openai", Model: "gpt-4.1-mini",
					Temperature: f64(0.2), TopP: f64(0.9), TopK: f64(40), MaxTokens: i64(512), Seed: i64(42),
					FrequencyPenalty: f64(0.1), PresencePenalty: f64(0.3), StopSequences: []string{"END"}, Stream: true,
					ResponseFormat: "json_schema", ToolChoice: "auto", Timeout: 30 * time.Second,
					PromptName: "support_agent_v3", PromptVersionID: "prv_1", ReleaseLabel: "production", ConversationID: "sess_1",
					System:   "Be brief.",
					Messages: []loupe.Message{{Role: "user", Content: "Where is my refund?"}}})
				s.SetTimeToFirstToken(250 * time.Millisecond)
				s.SetRetries(1)
				s.SetResponse(loupe.Response{ID: "chatcmpl-1", Model: "gpt-4.1-mini-2025-04-14", FinishReasons: []string{"tool_calls"},
					Usage:  loupe.Usage{Input: 1204, CacheRead: 1024, CacheWrite: 10, Output: 86, Reasoning: 20},
					Output: []loupe.Message{{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "call_1", Name: "create_refund", Arguments: `{"amount":5}`}}}}})
				s.End()
			},
			wantName: "llm.call.plan_response", wantKind: trace.SpanKindClient, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "llm", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
				"gen_ai.request.model": "gpt-4.1-mini", "gen_ai.request.temperature": 0.2, "gen_ai.request.top_p": 0.9,
				"gen_ai.request.top_k": 40.0, "gen_ai.request.max_tokens": int64(512), "gen_ai.request.seed": int64(42),
				"gen_ai.request.frequency_penalty": 0.1, "gen_ai.request.presence_penalty": 0.3,
				"gen_ai.request.stop_sequences": []string{"END"}, "gen_ai.request.stream": true,
				"gen_ai.output.type": "json", "loupe.request.response_format": "json_schema", "gen_ai.request.tool_choice": "auto",
				"loupe.request.timeout_ms": 30000.0, "loupe.prompt.name": "support_agent_v3", "loupe.prompt.version_id": "prv_1",
				"loupe.prompt.release_label": "production", "gen_ai.conversation.id": "sess_1",
				"gen_ai.system_instructions":          `[{"type":"text","content":"Be brief."}]`,
				"gen_ai.input.messages":               `[{"role":"user","parts":[{"type":"text","content":"Where is my refund?"}]}]`,
				"gen_ai.response.time_to_first_chunk": 0.25, "loupe.llm.retries": int64(1),
				"gen_ai.response.id": "chatcmpl-1", "gen_ai.response.model": "gpt-4.1-mini-2025-04-14",
				"gen_ai.response.finish_reasons": []string{"tool_calls"}, "gen_ai.usage.input_tokens": int64(1204),
				"gen_ai.usage.cache_read.input_tokens": int64(1024), "gen_ai.usage.cache_creation.input_tokens": int64(10),
				"gen_ai.usage.output_tokens": int64(86), "gen_ai.usage.reasoning.output_tokens": int64(20),
				"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"create_refund","arguments":{"amount":5}}],"finish_reason":"tool_calls"}]`},
		},
		{
			name: "llm timeout",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartLLM(ctx, loupe.LLM{Provider: "anthropic", Model: "claude-sonnet-4"})
				s.Fail(context.DeadlineExceeded)
				s.End()
			},
			wantName: "chat claude-sonnet-4", wantKind: trace.SpanKindClient, wantCode: codes.Error,
			want: map[string]any{"loupe.span.kind": "llm", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
				"gen_ai.request.model": "claude-sonnet-4", "error.type": "timeout"},
		},
		{
			name: "tool ok",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartTool(ctx, loupe.Tool{Name: "lookup_order", CallID: "call_2", Type: "function", Arguments: `{"order":"o1"}`})
				s.SetResult(`{"status":"shipped"}`)
				s.End()
			},
			wantName: "execute_tool lookup_order", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "tool", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order",
				"gen_ai.tool.call.id": "call_2", "gen_ai.tool.type": "function", "gen_ai.tool.call.arguments": `{"order":"o1"}`,
				"gen_ai.tool.call.result": `{"status":"shipped"}`},
		},
		{
			name: "tool error",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartTool(ctx, loupe.Tool{Name: "create_refund", SpanName: "tool.call.create_refund"})
				s.SetToolError("INVALID_ARGUMENT", "refund_amount_cents must be <= order_total_cents", false)
				s.End()
			},
			wantName: "tool.call.create_refund", wantKind: trace.SpanKindInternal, wantCode: codes.Error,
			want: map[string]any{"loupe.span.kind": "tool", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "create_refund",
				"tool.error_code": "INVALID_ARGUMENT", "tool.error_message": "refund_amount_cents must be <= order_total_cents",
				"tool.retryable": false, "error.type": "INVALID_ARGUMENT"},
		},
		{
			name: "parser repaired",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartParser(ctx, loupe.Parser{Schema: "support_reply_v2"})
				s.SetResult(true, 2)
				s.End()
			},
			wantName: "parse support_reply_v2", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "parser", "loupe.parser.schema": "support_reply_v2",
				"loupe.parser.valid": true, "loupe.parser.repair_attempts": int64(2)},
		},
		{
			name: "parser failed",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartParser(ctx, loupe.Parser{Name: "response.validate", Schema: "s"})
				s.SetResult(false, 3)
				s.End()
			},
			wantName: "response.validate", wantKind: trace.SpanKindInternal, wantCode: codes.Error,
			want: map[string]any{"loupe.span.kind": "parser", "loupe.parser.schema": "s",
				"loupe.parser.valid": false, "loupe.parser.repair_attempts": int64(3), "error.type": "invalid_output"},
		},
		{
			name: "eval",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				_, s := tr.StartEval(ctx, loupe.Eval{Name: "helpfulness", JudgeModel: "gpt-4.1"})
				s.SetResult(0.4, false, "too vague")
				s.End()
			},
			wantName: "eval helpfulness", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "eval", "loupe.eval.name": "helpfulness", "loupe.eval.judge_model": "gpt-4.1",
				"loupe.eval.score": 0.4, "loupe.eval.passed": false},
		},
		{
			name: "keep hint",
			run: func(ctx context.Context, tr *loupe.Tracer) {
				ctx, s := tr.StartSpan(ctx, "x")
				loupe.KeepTrace(ctx)
				s.End()
			},
			wantName: "x", wantKind: trace.SpanKindInternal, wantCode: codes.Ok,
			want: map[string]any{"loupe.span.kind": "span", "loupe.sampling.keep": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, exp := newTracer(t, loupe.Options{})
			tt.run(t.Context(), tr)
			got := ended(t, tr, exp)
			if got.Name != tt.wantName {
				t.Errorf("name = %q, want %q", got.Name, tt.wantName)
			}
			if got.SpanKind != tt.wantKind {
				t.Errorf("span kind = %v, want %v", got.SpanKind, tt.wantKind)
			}
			if got.Status.Code != tt.wantCode {
				t.Errorf("status = %v, want %v", got.Status.Code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, attrMap(got.Attributes)); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailRecordsException(t *testing.T) {
	tr, exp := newTracer(t, loupe.Options{})
	_, s := tr.StartSpan(t.Context(), "save_summary")
	s.Fail(errors.New("disk full"))
	s.End()
	got := ended(t, tr, exp)
	if got.Status.Code != codes.Error || got.Status.Description != "disk full" {
		t.Errorf("status = %v %q, want Error %q", got.Status.Code, got.Status.Description, "disk full")
	}
	if len(got.Events) != 1 || got.Events[0].Name != "exception" {
		t.Fatalf("events = %v, want one exception event", got.Events)
	}
	if et := attrMap(got.Attributes)["error.type"]; et != "*errors.errorString" {
		t.Errorf("error.type = %v, want *errors.errorString", et)
	}
}

func TestEvalEvent(t *testing.T) {
	tr, exp := newTracer(t, loupe.Options{})
	_, s := tr.StartEval(t.Context(), loupe.Eval{Name: "faithfulness"})
	s.SetResult(0.9, true, "")
	s.End()
	got := ended(t, tr, exp)
	if len(got.Events) != 1 {
		t.Fatalf("events = %v, want one", got.Events)
	}
	want := map[string]any{"gen_ai.evaluation.name": "faithfulness", "gen_ai.evaluation.score.value": 0.9,
		"gen_ai.evaluation.score.label": "pass"}
	if got.Events[0].Name != "gen_ai.evaluation.result" {
		t.Errorf("event name = %q, want gen_ai.evaluation.result", got.Events[0].Name)
	}
	if diff := cmp.Diff(want, attrMap(got.Events[0].Attributes)); diff != "" {
		t.Errorf("event attributes (-want +got):\n%s", diff)
	}
}

func TestResource(t *testing.T) {
	tr, exp := newTracer(t, loupe.Options{Service: "support-agent", Environment: "production", DeploymentID: "build_7", ReleaseLabel: "canary"})
	_, s := tr.StartSpan(t.Context(), "x")
	s.End()
	got := attrMap(ended(t, tr, exp).Resource.Attributes())
	for k, v := range map[string]any{"service.name": "support-agent", "deployment.environment.name": "production",
		"loupe.deployment.id": "build_7", "loupe.prompt.release_label": "canary"} {
		if got[k] != v {
			t.Errorf("resource %s = %v, want %v", k, got[k], v)
		}
	}
}
