package workload_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe/bench/workload"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

var start = time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)

// traces groups a request's spans by trace id, in order of appearance.
func traces(req *coltracepb.ExportTraceServiceRequest) (ids []string, byID map[string][]*tracepb.Span) {
	byID = map[string][]*tracepb.Span{}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				id := string(s.TraceId)
				if _, ok := byID[id]; !ok {
					ids = append(ids, id)
				}
				byID[id] = append(byID[id], s)
			}
		}
	}
	return ids, byID
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func TestRequestDeterministic(t *testing.T) {
	a, b, c := workload.New(7), workload.New(7), workload.New(8)
	for i := range 3 {
		ra, rb, rc := a.Request(5, start), b.Request(5, start), c.Request(5, start)
		if !proto.Equal(ra, rb) {
			t.Fatalf("request %d: same seed gave different requests", i)
		}
		if proto.Equal(ra, rc) {
			t.Fatalf("request %d: seeds 7 and 8 gave equal requests", i)
		}
	}
}

func TestRequestShape(t *testing.T) {
	g := workload.New(1)
	const n = 2000
	var all []string
	seen := map[string]bool{}
	degraded := 0
	for range n / 10 {
		req := g.Request(10, start)
		if got := len(req.ResourceSpans); got != 1 {
			t.Fatalf("len(ResourceSpans) = %d, want 1", got)
		}
		ids, byID := traces(req)
		if len(ids) != 10 {
			t.Fatalf("Request(10) held %d traces, want 10", len(ids))
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("trace id %x repeated", id)
			}
			seen[id] = true
			all = append(all, id)
			spans := byID[id]
			if got, want := len(spans), 12; got != want {
				t.Fatalf("trace has %d spans, want %d", got, want)
			}
			if checkTrace(t, spans) {
				degraded++
			}
		}
	}
	if got, want := g.SpansPerTrace(), 12.0; got != want {
		t.Errorf("SpansPerTrace() = %v, want %v", got, want)
	}
	rate := float64(degraded) / n
	if rate < 0.02 || rate > 0.04 {
		t.Errorf("degraded rate = %.3f (%d of %d), want about %.2f", rate, degraded, n, workload.ErrorRate)
	}
	if len(all) != n {
		t.Errorf("generated %d traces, want %d", len(all), n)
	}
}

// checkTrace verifies one trace's structure and reports whether it is degraded.
func checkTrace(t *testing.T, spans []*tracepb.Span) (degraded bool) {
	t.Helper()
	ids := map[string]bool{}
	for _, s := range spans {
		if len(s.SpanId) != 8 || ids[string(s.SpanId)] {
			t.Fatalf("span %s: bad or repeated span id %x", s.Name, s.SpanId)
		}
		ids[string(s.SpanId)] = true
	}
	roots := 0
	names := map[string]*tracepb.Span{}
	for _, s := range spans {
		names[s.Name] = s
		if len(s.ParentSpanId) == 0 {
			roots++
		} else if !ids[string(s.ParentSpanId)] {
			t.Errorf("span %s: parent %x not in trace", s.Name, s.ParentSpanId)
		}
		if s.EndTimeUnixNano < s.StartTimeUnixNano {
			t.Errorf("span %s ends before it starts", s.Name)
		}
		if s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
			degraded = true
			if got := attr(s, "error.type").GetStringValue(); got != "INVALID_ARGUMENT" {
				t.Errorf("failed span %s: error.type = %q, want INVALID_ARGUMENT", s.Name, got)
			}
			if s.Name != "tool.call.create_refund" {
				t.Errorf("failed span is %s, want tool.call.create_refund", s.Name)
			}
		}
		for _, kv := range s.Attributes {
			switch kv.Key {
			case "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
				"gen_ai.retrieval.documents", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result":
				if v := kv.Value.GetStringValue(); !json.Valid([]byte(v)) {
					t.Errorf("span %s: %s is not valid JSON: %.80q", s.Name, kv.Key, v)
				}
			}
		}
	}
	if roots != 1 {
		t.Errorf("trace has %d roots, want 1", roots)
	}
	for _, name := range []string{"support_agent.request", "auth.check_user_entitlements", "prompt.load",
		"retrieval.search_policy_docs", "embeddings text-embedding-3-small", "llm.call.plan_response",
		"tool.call.lookup_order", "parser.validate_response", "guardrail.check_output", "response.sent"} {
		if names[name] == nil {
			t.Errorf("trace has no span %s", name)
		}
	}
	if degraded != (names["llm.call.recover_after_tool_error"] != nil) {
		t.Errorf("degraded = %v but recovery call present = %v", degraded, !degraded)
	}
	root := names["support_agent.request"]
	if got := attr(root, "loupe.span.kind").GetStringValue(); got != "request" {
		t.Errorf("root loupe.span.kind = %q, want request", got)
	}
	for _, key := range []string{"loupe.tenant", "loupe.route", "gen_ai.conversation.id", "user.id"} {
		if attr(root, key).GetStringValue() == "" {
			t.Errorf("root has no %s", key)
		}
	}
	return degraded
}

func TestPayloadSizes(t *testing.T) {
	g := workload.New(3)
	req := g.Request(50, start)
	var card, key, email int
	for _, ss := range req.ResourceSpans[0].ScopeSpans {
		for _, s := range ss.Spans {
			if s.Name != "llm.call.plan_response" {
				continue
			}
			sys := attr(s, "gen_ai.system_instructions").GetStringValue()
			if len(sys) < 1300 || len(sys) > 2000 {
				t.Errorf("system instructions are %d bytes, want ~1.5 KB", len(sys))
			}
			in := attr(s, "gen_ai.input.messages").GetStringValue()
			var msgs []struct {
				Role  string `json:"role"`
				Parts []struct {
					Type    string `json:"type"`
					Content string `json:"content"`
				} `json:"parts"`
			}
			if err := json.Unmarshal([]byte(in), &msgs); err != nil {
				t.Fatalf("unmarshal input messages: %v", err)
			}
			if len(msgs) != 2 {
				t.Fatalf("plan_response has %d input messages, want 2", len(msgs))
			}
			if n := len(msgs[1].Parts[0].Content); n < 1400 || n > 4000 {
				t.Errorf("retrieved context is %d bytes, want ~2 KB", n)
			}
			user := msgs[0].Parts[0].Content
			if strings.Contains(user, "4111 1111 1111 1111") {
				card++
			}
			if strings.Contains(user, "sk-proj-") {
				key++
			}
			if strings.Contains(user, "@") {
				email++
			}
		}
	}
	if card == 0 || key == 0 || email != 50 {
		t.Errorf("personal data in 50 user messages: %d test cards, %d API keys, %d emails; want some, some, 50", card, key, email)
	}
}

func BenchmarkRequest(b *testing.B) {
	g := workload.New(1)
	b.ReportAllocs()
	for b.Loop() {
		g.Request(10, start)
	}
}
