package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// sentTrace is what a test sent for one trace: the ids to look for on read.
type sentTrace struct {
	TraceID string   // 32 hex characters
	SpanIDs []string // 16 hex characters each, sorted by construction order
	// LLMSpanID is the first model-call span, "" when the trace has none.
	LLMSpanID string
	// Tokens is the sum of input and output tokens over the model calls.
	Tokens int64
}

func randomTraceID() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b[:8], rand.Uint64()|1)
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return b
}

func randomSpanID() []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, rand.Uint64()|1)
	return b
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func integer(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func float(k string, v float64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
}

func nanos(t time.Time) uint64 { return uint64(t.UnixNano()) }

// supportTrace builds a support-agent trace of n spans (n >= 1) starting at
// start: a root request span, then alternating OTel GenAI chat and tool
// spans under it, with realistic attribute sizes.
func supportTrace(n int, start time.Time) (*tracepb.ResourceSpans, sentTrace) {
	traceID := randomTraceID()
	sent := sentTrace{TraceID: hex.EncodeToString(traceID)}
	rootID := randomSpanID()
	end := start.Add(time.Duration(n) * 120 * time.Millisecond)
	spans := []*tracepb.Span{{
		TraceId: traceID, SpanId: rootID, Name: "POST /support/chat",
		Kind:              tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: nanos(start), EndTimeUnixNano: nanos(end),
		Attributes: []*commonpb.KeyValue{
			str("http.request.method", "POST"), str("http.route", "/support/chat"),
			str("session.id", "sess-"+sent.TraceID[:8]), str("user.id", "user-42"),
		},
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
	}}
	sent.SpanIDs = append(sent.SpanIDs, hex.EncodeToString(rootID))
	for i := 1; i < n; i++ {
		id := randomSpanID()
		s := &tracepb.Span{
			TraceId: traceID, SpanId: id, ParentSpanId: rootID,
			StartTimeUnixNano: nanos(start.Add(time.Duration(i) * 100 * time.Millisecond)),
			EndTimeUnixNano:   nanos(start.Add(time.Duration(i)*100*time.Millisecond + 90*time.Millisecond)),
			Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_UNSET},
		}
		if i%2 == 1 {
			in, out := int64(800+10*i), int64(40+i)
			s.Name, s.Kind = "chat gpt-4o-mini", tracepb.Span_SPAN_KIND_CLIENT
			s.Attributes = []*commonpb.KeyValue{
				str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
				str("gen_ai.request.model", "gpt-4o-mini"), str("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
				float("gen_ai.request.temperature", 0.2), integer("gen_ai.request.max_tokens", 256),
				integer("gen_ai.usage.input_tokens", in), integer("gen_ai.usage.output_tokens", out),
				str("gen_ai.input.messages", fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":"Where is my order #%d? It was due yesterday and the tracking page shows nothing at all."}]}]`, i)),
				str("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order","arguments":{"order":"1234"}}],"finish_reason":"tool_call"}]`),
			}
			sent.Tokens += in + out
			if sent.LLMSpanID == "" {
				sent.LLMSpanID = hex.EncodeToString(id)
			}
		} else {
			s.Name, s.Kind = "execute_tool lookup_order", tracepb.Span_SPAN_KIND_INTERNAL
			s.Attributes = []*commonpb.KeyValue{
				str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "lookup_order"),
				str("gen_ai.tool.call.id", "call_1"), str("gen_ai.tool.call.arguments", `{"order":"1234"}`),
				str("gen_ai.tool.call.result", `{"status":"shipped","eta":"tomorrow"}`),
			}
		}
		spans = append(spans, s)
		sent.SpanIDs = append(sent.SpanIDs, hex.EncodeToString(id))
	}
	return &tracepb.ResourceSpans{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			str("service.name", "support-bot"), str("deployment.environment.name", "test"),
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "loupe-e2e"},
			Spans: spans,
		}},
	}, sent
}

// tracesRequest wraps resource spans in an export request.
func tracesRequest(rs ...*tracepb.ResourceSpans) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: rs}
}

// userMessageLog builds the deprecated (<= v1.36) GenAI content event: a
// gen_ai.user.message log record joined to the span by its ids.
func userMessageLog(traceID, spanID string, content string, at time.Time) *collogspb.ExportLogsServiceRequest {
	tid, _ := hex.DecodeString(traceID)
	sid, _ := hex.DecodeString(spanID)
	body := &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
		Values: []*commonpb.KeyValue{str("content", content)},
	}}}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "support-bot")}},
		ScopeLogs: []*logspb.ScopeLogs{{
			LogRecords: []*logspb.LogRecord{{
				TimeUnixNano: nanos(at), ObservedTimeUnixNano: nanos(at),
				TraceId: tid, SpanId: sid,
				EventName:  "gen_ai.user.message",
				Attributes: []*commonpb.KeyValue{str("gen_ai.system", "openai")},
				Body:       body,
			}},
		}},
	}}}
}

// otlpJSON encodes an OTLP message in the OTLP/JSON form: protojson with
// enum numbers, and trace and span ids as hex instead of base64, as the
// OTLP specification requires.
func otlpJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if err := hexIDs(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// hexIDs rewrites the base64 id fields of a decoded protojson document as hex.
func hexIDs(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "traceId", "spanId", "parentSpanId":
				s, _ := x.(string)
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return fmt.Errorf("%s %q: %w", k, s, err)
				}
				v[k] = hex.EncodeToString(b)
			default:
				if err := hexIDs(x); err != nil {
					return err
				}
			}
		}
	case []any:
		for _, x := range v {
			if err := hexIDs(x); err != nil {
				return err
			}
		}
	}
	return nil
}
