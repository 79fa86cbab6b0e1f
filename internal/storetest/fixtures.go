package storetest

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/loupehq/loupe"
)

// base is the start of every fixture trace: nanosecond precision, UTC.
var base = time.Date(2026, 6, 3, 17, 4, 5, 123456789, time.UTC)

// at returns base plus ms milliseconds plus ns nanoseconds.
func at(ms, ns int64) time.Time {
	return base.Add(time.Duration(ms)*time.Millisecond + time.Duration(ns))
}

// traceID returns a deterministic, valid trace id for n, spread over all
// 16 bytes like a random id.
func traceID(n uint64) loupe.TraceID {
	var id loupe.TraceID
	binary.BigEndian.PutUint64(id[:8], n*0x9E3779B97F4A7C15+0xFF00000000000001)
	binary.BigEndian.PutUint64(id[8:], n^0xA5A5A5A5A5A5A5A5)
	return id
}

// spanID returns a deterministic, non-zero span id for n; ids of larger n
// sort after those of smaller n only by chance.
func spanID(n uint64) loupe.SpanID {
	var id loupe.SpanID
	binary.BigEndian.PutUint64(id[:], n*0xC2B2AE3D27D4EB4F+0x8000000000000001)
	return id
}

func ptr[T any](v T) *T { return &v }

// referenceTrace is the support-agent trace of DESIGN.md §1, with every
// canonical field set on some span, payloads of every shape and typed
// attributes. Spans are returned in a scrambled order (not by start).
func referenceTrace(project string, tid loupe.TraceID) []loupe.Span {
	root := spanID(1)
	common := func(s loupe.Span) loupe.Span {
		s.Project = project
		s.TraceID = tid
		s.Service = "support-agent"
		s.Environment = "production"
		s.DeploymentID = "dep-2026-06-03.1"
		s.Tenant = "tenant_431"
		s.Route = "/v1/support"
		s.SessionID = "sess_77"
		s.UserID = "u_5f3a9c"
		if s.Status == "" {
			s.Status = loupe.StatusOK
		}
		return s
	}
	spans := []loupe.Span{
		common(loupe.Span{
			SpanID: spanID(5), ParentSpanID: root, Name: "tool.call.create_refund", Kind: loupe.KindTool,
			OTelKind: "internal", Start: at(91, 1), End: at(96, 7),
			Status: loupe.StatusError, StatusMessage: "refund_amount_cents must be <= order_total_cents",
			ErrorType: "INVALID_ARGUMENT", ToolName: "create_refund",
			Payload: &loupe.Payload{
				ToolArguments: `{"order_id":"o_1","refund_amount_cents":12000}`,
				ToolResult:    `{"error":"INVALID_ARGUMENT"}`,
				Events: []loupe.Event{{
					Time: at(95, 3), Name: "exception",
					Attributes: map[string]any{"exception.type": "INVALID_ARGUMENT", "exception.escaped": false, "retry": int64(0)},
				}},
			},
		}),
		common(loupe.Span{
			SpanID: root, Name: "support_agent.request", Kind: loupe.KindRequest, OTelKind: "server",
			Start: at(0, 0), End: at(133, 999), PromptName: "support_agent_v3",
			PromptVersionID: "prv_2026_06_03_17", ReleaseLabel: "production",
			Attributes: map[string]any{
				"http.method":          "POST",
				"http.status_code":     int64(200),
				"resource.host.name":   "pod-7",
				"sample.weight":        1.0,
				"feature.flags":        []any{"a", int64(2), 3.5, true},
				"resource.k8s":         map[string]any{"ns": "prod", "replicas": int64(3)},
				"unicode":              "héllo \u2028 \"quoted\" \\ \n\t<tag>&",
				"big":                  int64(1) << 62,
				"negative":             int64(-42),
				"ratio":                0.25,
				"huge.float":           1e300,
				"loupe.redacted_count": int64(2),
			},
		}),
		common(loupe.Span{
			SpanID: spanID(3), ParentSpanID: root, Name: "retrieval.search_policy_docs", Kind: loupe.KindRetrieval,
			OTelKind: "client", Start: at(19, 0), End: at(42, 0),
			RetrievalIndex: "support_policy_prod", RetrievalCount: 2,
			Documents: []loupe.Document{{ID: "doc_102", Score: ptr(0.91), Tokens: 180}, {ID: "doc_087", Score: ptr(0.84)}},
			Payload: &loupe.Payload{
				Query: "refund delayed package",
				Documents: []loupe.DocumentText{
					{ID: "doc_102", Content: "Refunds are issued within 5 days.", Metadata: `{"lang":"en"}`},
					{ID: "doc_087", Content: "Delayed packages qualify after 10 days."},
				},
			},
		}),
		common(loupe.Span{
			SpanID: spanID(4), ParentSpanID: root, Name: "llm.call.plan_response", Kind: loupe.KindLLM,
			OTelKind: "client", Start: at(42, 5), End: at(91, 0),
			PromptName: "support_agent_v3", PromptVersionID: "prv_2026_06_03_17", ReleaseLabel: "production",
			Provider: "openai", RequestModel: "gpt-4.1-mini", ResponseModel: "gpt-4.1-mini-2025-04-14",
			Params: loupe.Params{
				Temperature: ptr(0.2), TopP: ptr(1.0), TopK: ptr(40.0), MaxTokens: ptr(int64(512)), Seed: ptr(int64(7)),
				FrequencyPenalty: ptr(0.0), PresencePenalty: ptr(-0.5), Stream: ptr(false),
				StopSequences: []string{"\n\n", "END"}, ResponseFormat: "json_schema", ToolChoice: "auto",
				TimeoutMs: ptr(30000.0),
			},
			Usage:   loupe.Usage{Input: 1000, CacheRead: 200, CacheWrite: 4, Output: 70, Reasoning: 16},
			CostUSD: 0.00061, CostSource: "computed:2026-06-01", FinishReason: "tool_calls",
			Payload: &loupe.Payload{
				Input: []loupe.Message{
					{Role: "system", Content: "You are a support agent."},
					{Role: "user", Content: "Where is my refund?", Parts: []map[string]any{
						{"type": "image", "width": int64(640), "scale": 1.0},
					}},
				},
				Output: []loupe.Message{{
					Role: "assistant", Name: "planner", FinishReason: "tool_calls",
					ToolCalls: []loupe.ToolCall{{ID: "call_1", Name: "create_refund", Arguments: `{"refund_amount_cents":12000}`}},
				}},
			},
		}),
		common(loupe.Span{
			SpanID: spanID(2), ParentSpanID: root, Name: "prompt.load", Kind: loupe.KindPrompt,
			Start: at(8, 0), End: at(19, 0), PromptName: "support_agent_v3",
			PromptVersionID: "prv_2026_06_03_17", ReleaseLabel: "production",
			Payload: &loupe.Payload{InputValue: "support_agent_v3@production", OutputValue: "prv_2026_06_03_17"},
		}),
		common(loupe.Span{
			SpanID: spanID(6), ParentSpanID: root, Name: "llm.call.recover_after_tool_error", Kind: loupe.KindLLM,
			OTelKind: "client", Start: at(96, 0), End: at(128, 0), Provider: "openai",
			RequestModel: "gpt-4.1-mini", ResponseModel: "gpt-4.1-mini-2025-04-14",
			Usage:   loupe.Usage{Input: 1980, Output: 142},
			CostUSD: 0.0010, CostSource: loupe.CostReported, FinishReason: "stop",
		}),
		common(loupe.Span{
			SpanID: spanID(7), ParentSpanID: root, Name: "response.sent", Kind: loupe.KindSpan,
			Start: at(128, 0), End: at(133, 0), Status: loupe.StatusUnset,
		}),
		common(loupe.Span{
			SpanID: spanID(8), ParentSpanID: root, Name: "auth.check_user_entitlements", Kind: loupe.KindGuardrail,
			Start: at(0, 0), End: at(8, 0), CostSource: loupe.CostUnknown,
		}),
	}
	return spans
}

// manySpans returns n spans of trace tid in project, one root and n-1
// children, starting at base+offset.
func manySpans(project string, tid loupe.TraceID, n int, first uint64) []loupe.Span {
	spans := make([]loupe.Span, n)
	for i := range spans {
		spans[i] = loupe.Span{
			Project: project, TraceID: tid, SpanID: spanID(first + uint64(i)),
			Name: fmt.Sprintf("step-%d", i), Kind: loupe.KindChain, Status: loupe.StatusOK,
			Start: at(int64(i), 0), End: at(int64(i)+1, 0),
			Usage: loupe.Usage{Input: int64(i)},
		}
		if i > 0 {
			spans[i].ParentSpanID = spanID(first)
		}
	}
	return spans
}
