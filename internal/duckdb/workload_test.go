package duckdb

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/loupehq/loupe"
)

// workload generates the standard benchmark traffic of DESIGN.md §7:
// support-agent traces like the reference trace, 12 spans each, a few KB of
// payload per LLM span, about 3% error traces. Text is drawn from a word
// list, so it compresses like prose rather than like random bytes or like
// one repeated string.
type workload struct {
	r       *rand.Rand
	words   []string
	systems []string // system prompts: a few versions, repeated across traces
	docs    []string // retrievable documents
	now     time.Time
	n       uint64
}

func newWorkload(seed uint64) *workload {
	r := rand.New(rand.NewPCG(seed, seed^0x5DEECE66D))
	w := &workload{r: r, now: time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)}
	for range 2000 {
		n := 2 + r.IntN(8)
		var b strings.Builder
		for range n {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		w.words = append(w.words, b.String())
	}
	for range 4 {
		w.systems = append(w.systems, "You are a helpful support agent for ACME. "+w.text(1500))
	}
	for range 300 {
		w.docs = append(w.docs, w.text(600))
	}
	return w
}

// text returns about n bytes of words, Zipf-like (frequent words first).
func (w *workload) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		i := int(float64(len(w.words)) * w.r.Float64() * w.r.Float64() * w.r.Float64())
		b.WriteString(w.words[i])
		b.WriteByte(' ')
	}
	return b.String()
}

func (w *workload) ids() (loupe.TraceID, func() loupe.SpanID) {
	var tid loupe.TraceID
	binary.BigEndian.PutUint64(tid[:8], w.r.Uint64())
	binary.BigEndian.PutUint64(tid[8:], w.r.Uint64())
	return tid, func() loupe.SpanID {
		var sid loupe.SpanID
		binary.BigEndian.PutUint64(sid[:], w.r.Uint64()|1)
		return sid
	}
}

// trace returns one 12-span trace.
func (w *workload) trace() []loupe.Span {
	w.n++
	tid, next := w.ids()
	start := w.now.Add(time.Duration(w.n) * 10 * time.Millisecond)
	failed := w.r.IntN(100) < 3
	tenant := fmt.Sprintf("tenant_%d", w.r.IntN(500))
	session := fmt.Sprintf("sess_%x", w.r.Uint32())
	user := fmt.Sprintf("u_%x", w.r.Uint32()%100000)
	promptVersion := fmt.Sprintf("prv_2026_06_%02d", 1+w.r.IntN(3))
	model := []string{"gpt-4.1-mini", "gpt-4.1", "claude-sonnet-4"}[w.r.IntN(3)]
	root := next()
	offset := time.Duration(0)
	span := func(name string, kind loupe.Kind, d time.Duration) loupe.Span {
		s := loupe.Span{
			Project: loupe.DefaultProject, TraceID: tid, SpanID: next(), ParentSpanID: root,
			Name: name, Kind: kind, OTelKind: "internal",
			Start: start.Add(offset), End: start.Add(offset + d), Status: loupe.StatusOK,
			Service: "support-agent", Environment: "production", DeploymentID: "dep-42",
			Tenant: tenant, Route: "/v1/support", SessionID: session, UserID: user,
			Attributes: map[string]any{
				"resource.host.name":              fmt.Sprintf("pod-%d", w.r.IntN(20)),
				"resource.service.version":        "1.8.2",
				"resource.telemetry.sdk.name":     "opentelemetry",
				"resource.telemetry.sdk.language": "python",
				"code.function":                   name,
				"thread.id":                       int64(w.r.IntN(64)),
			},
		}
		offset += d + time.Duration(w.r.IntN(1000))*time.Microsecond
		return s
	}
	llm := func(name string) loupe.Span {
		s := span(name, loupe.KindLLM, time.Duration(300+w.r.IntN(3000))*time.Millisecond)
		s.OTelKind = "client"
		s.Provider, s.RequestModel, s.ResponseModel = "openai", model, model+"-2025-04-14"
		s.PromptName, s.PromptVersionID, s.ReleaseLabel = "support_agent_v3", promptVersion, "production"
		s.Params = loupe.Params{Temperature: new(0.2), MaxTokens: new(int64(1024))}
		s.Usage = loupe.Usage{Input: int64(500 + w.r.IntN(2000)), CacheRead: int64(w.r.IntN(1024)), Output: int64(20 + w.r.IntN(300))}
		s.CostUSD = float64(s.Usage.Total()) * 0.4e-6
		s.CostSource = "computed:2026-06-01"
		s.FinishReason = "stop"
		s.Attributes["gen_ai.response.id"] = fmt.Sprintf("chatcmpl-%x", w.r.Uint64())
		s.Payload = &loupe.Payload{
			Input: []loupe.Message{
				{Role: "system", Content: w.systems[w.r.IntN(len(w.systems))]},
				{Role: "user", Content: w.text(200 + w.r.IntN(400))},
			},
			Output: []loupe.Message{{Role: "assistant", Content: w.text(300 + w.r.IntN(500)), FinishReason: "stop"}},
		}
		return s
	}
	rootSpan := span("support_agent.request", loupe.KindRequest, 0)
	rootSpan.SpanID, rootSpan.ParentSpanID, rootSpan.OTelKind = root, loupe.SpanID{}, "server"
	rootSpan.PromptName, rootSpan.PromptVersionID, rootSpan.ReleaseLabel = "support_agent_v3", promptVersion, "production"
	rootSpan.Attributes["http.request.method"] = "POST"
	rootSpan.Attributes["http.response.status_code"] = int64(200)
	rootSpan.Payload = &loupe.Payload{InputValue: w.text(150), OutputValue: w.text(300)}
	offset = 0

	spans := []loupe.Span{
		rootSpan,
		span("auth.check_user_entitlements", loupe.KindGuardrail, 8*time.Millisecond),
		span("prompt.load", loupe.KindPrompt, 11*time.Millisecond),
	}
	ret := span("retrieval.search_policy_docs", loupe.KindRetrieval, 23*time.Millisecond)
	ret.RetrievalIndex, ret.RetrievalCount = "support_policy_prod", 3
	ret.Payload = &loupe.Payload{Query: w.text(40)}
	for range 3 {
		d := w.r.IntN(len(w.docs))
		id := fmt.Sprintf("doc_%03d", d)
		ret.Documents = append(ret.Documents, loupe.Document{ID: id, Score: new(w.r.Float64()), Tokens: 150})
		ret.Payload.Documents = append(ret.Payload.Documents, loupe.DocumentText{ID: id, Content: w.docs[d]})
	}
	spans = append(spans, ret,
		span("agent.plan", loupe.KindAgent, 2*time.Millisecond),
		llm("llm.call.plan_response"))
	tool := span("tool.call.create_refund", loupe.KindTool, 5*time.Millisecond)
	tool.ToolName = "create_refund"
	tool.Payload = &loupe.Payload{
		ToolArguments: fmt.Sprintf(`{"order_id":"o_%d","refund_amount_cents":%d}`, w.r.IntN(1e6), w.r.IntN(20000)),
		ToolResult:    fmt.Sprintf(`{"refund_id":"r_%d","status":"pending"}`, w.r.IntN(1e6)),
	}
	if failed {
		tool.Status, tool.StatusMessage, tool.ErrorType = loupe.StatusError, "refund_amount_cents must be <= order_total_cents", "INVALID_ARGUMENT"
	}
	spans = append(spans, tool,
		span("parser.validate_tool_args", loupe.KindParser, time.Millisecond),
		llm("llm.call.recover_after_tool_error"),
		span("eval.groundedness", loupe.KindEval, 4*time.Millisecond),
		span("chain.format_answer", loupe.KindChain, 2*time.Millisecond),
		span("response.sent", loupe.KindSpan, 5*time.Millisecond))
	spans[0].End = start.Add(offset)
	return spans
}

// spans returns at least n spans of whole traces.
func (w *workload) spans(n int) []loupe.Span {
	var out []loupe.Span
	for len(out) < n {
		out = append(out, w.trace()...)
	}
	return out
}
