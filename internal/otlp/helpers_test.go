package otlp_test

import (
	"fmt"
	"strings"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

const t0 = uint64(1767225600000000000)

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func iv(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func dv(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}
func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// attrs builds attributes from key, value pairs (string, int, int64, float64).
func attrs(pairs ...any) []*commonpb.KeyValue {
	var out []*commonpb.KeyValue
	for i := 0; i+1 < len(pairs); i += 2 {
		var v *commonpb.AnyValue
		switch x := pairs[i+1].(type) {
		case string:
			v = sv(x)
		case int:
			v = iv(int64(x))
		case int64:
			v = iv(x)
		case float64:
			v = dv(x)
		case *commonpb.AnyValue:
			v = x
		default:
			panic(fmt.Sprintf("attrs: %T", x))
		}
		out = append(out, kv(pairs[i].(string), v))
	}
	return out
}

func tid(b byte) []byte { return []byte{b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} }
func sid(b byte) []byte { return []byte{b, 1, 2, 3, 4, 5, 6, 7} }

// mkSpan returns a valid span with the given attributes.
func mkSpan(name string, parent []byte, a ...*commonpb.KeyValue) *tracepb.Span {
	return &tracepb.Span{TraceId: tid(1), SpanId: sid(2), ParentSpanId: parent, Name: name,
		StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 1e6, Attributes: a}
}

func request(spans ...*tracepb.Span) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: attrs("service.name", "support-agent", "deployment.environment.name", "production")},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
}

// supportAgentRequest builds the reference trace of DESIGN.md §1 as one
// request: 12 spans in the main conventions (OTel GenAI v1.37 messages as
// JSON strings, loupe's own names, a tool error, retrieval documents), with
// realistic message payloads of a few KB.
func supportAgentRequest(trace byte) *coltracepb.ExportTraceServiceRequest {
	policy := strings.Repeat("Refunds for delayed packages are issued once the carrier confirms the delay. ", 12)
	history := `[{"role":"user","parts":[{"type":"text","content":"My package is 6 days late, order o-77812. I want a refund."}]},` +
		`{"role":"assistant","parts":[{"type":"text","content":"I am sorry about the delay. Let me check the order."}]},` +
		`{"role":"user","parts":[{"type":"text","content":"` + strings.Repeat("It was a birthday present and it is ruined. ", 20) + `"}]}]`
	sys := `[{"type":"text","content":"You are the support agent of Acme. ` + strings.Repeat("Follow the refund policy strictly and be polite. ", 15) + `"}]`
	out1 := `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"create_refund","arguments":{"order_id":"o-77812","refund_amount_cents":129900}}],"finish_reason":"tool_call"}]`
	out2 := `[{"role":"assistant","parts":[{"type":"text","content":"` + strings.Repeat("I have issued a refund for your delayed order. ", 8) + `"}],"finish_reason":"stop"}]`
	root := sid(0)
	var spans []*tracepb.Span
	add := func(i byte, name string, parent []byte, startMs, durMs uint64, a []*commonpb.KeyValue) *tracepb.Span {
		s := &tracepb.Span{TraceId: tid(trace), SpanId: sid(i), ParentSpanId: parent, Name: name, Kind: tracepb.Span_SPAN_KIND_INTERNAL,
			StartTimeUnixNano: t0 + startMs*1e6, EndTimeUnixNano: t0 + (startMs+durMs)*1e6, Attributes: a,
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}}
		spans = append(spans, s)
		return s
	}
	add(0, "support_agent.request", nil, 0, 133, attrs("loupe.span.kind", "request", "loupe.tenant", "tenant_431", "loupe.route", "/v1/support",
		"session.id", "sess_81", "user.id", "u_5521", "http.method", "POST", "http.status_code", 200))
	add(1, "auth.check_user_entitlements", root, 0, 8, attrs("loupe.span.kind", "span", "auth.plan", "pro"))
	add(2, "prompt.load", root, 8, 11, attrs("loupe.span.kind", "prompt", "loupe.prompt.name", "support_agent_v3",
		"loupe.prompt.version_id", "prv_2026_06_03_17", "loupe.prompt.release_label", "production"))
	add(3, "retrieval.search_policy_docs", root, 19, 23, attrs("gen_ai.operation.name", "retrieval", "gen_ai.data_source.id", "support_policy_prod",
		"gen_ai.retrieval.query.text", "refund delayed package",
		"gen_ai.retrieval.documents", `[{"id":"doc_102","score":0.91,"content":"`+policy+`"},{"id":"doc_087","score":0.84,"content":"`+policy+`"}]`))
	add(4, "embeddings text-embedding-3-small", sid(3), 20, 5, attrs("gen_ai.operation.name", "embeddings", "gen_ai.provider.name", "openai",
		"gen_ai.request.model", "text-embedding-3-small", "gen_ai.usage.input_tokens", 6))
	llm := func(i byte, name string, start, dur uint64, in, out string, fr string, inTok, outTok int) {
		add(i, name, root, start, dur, attrs("gen_ai.operation.name", "chat", "gen_ai.provider.name", "openai",
			"gen_ai.request.model", "gpt-4.1-mini", "gen_ai.response.model", "gpt-4.1-mini-2025-04-14", "gen_ai.request.temperature", 0.2,
			"gen_ai.request.max_tokens", 1024, "gen_ai.response.id", "chatcmpl-8x2", "gen_ai.response.finish_reasons",
			&commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{sv(fr)}}}},
			"gen_ai.usage.input_tokens", inTok, "gen_ai.usage.cache_read.input_tokens", 1024, "gen_ai.usage.output_tokens", outTok,
			"gen_ai.system_instructions", sys, "gen_ai.input.messages", in, "gen_ai.output.messages", out,
			"loupe.prompt.name", "support_agent_v3", "loupe.prompt.version_id", "prv_2026_06_03_17", "server.address", "api.openai.com"))
	}
	llm(5, "chat gpt-4.1-mini", 42, 49, history, out1, "tool_calls", 1204, 86)
	tool := add(6, "execute_tool create_refund", root, 91, 5, attrs("gen_ai.operation.name", "execute_tool", "gen_ai.tool.name", "create_refund",
		"gen_ai.tool.call.id", "call_1", "gen_ai.tool.call.arguments", `{"order_id":"o-77812","refund_amount_cents":129900}`,
		"error.type", "INVALID_ARGUMENT"))
	tool.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "refund_amount_cents must be <= order_total_cents"}
	tool.Events = []*tracepb.Span_Event{{TimeUnixNano: t0 + 95e6, Name: "exception", Attributes: attrs("exception.type", "ValidationError",
		"exception.message", "refund_amount_cents must be <= order_total_cents", "exception.stacktrace", strings.Repeat("at refund.validate()\n", 10))}}
	llm(7, "chat gpt-4.1-mini", 96, 32, history, out2, "stop", 1980, 142)
	add(8, "parse_reply", root, 128, 1, attrs("loupe.span.kind", "parser", "loupe.parser.schema", "SupportReply", "loupe.parser.valid", "true"))
	add(9, "guardrail.pii_check", root, 129, 1, attrs("gen_ai.operation.name", "run_guardrail", "gen_ai.guardrail.verdict.type", "allow"))
	add(10, "db.save_conversation", root, 130, 2, attrs("db.system.name", "postgresql", "db.operation.name", "INSERT"))
	add(11, "response.sent", root, 132, 1, attrs("http.response.body.size", 412))
	return request(spans...)
}
