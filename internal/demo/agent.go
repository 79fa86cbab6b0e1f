package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/trace"

	loupe "github.com/loupehq/loupe/sdk"
)

// generator builds one simulated trace at a time. Not safe for concurrent
// use.
type generator struct {
	tr  *loupe.Tracer
	rng *rand.Rand
}

// releaseAt is the trace number from which the new prompt version
// (support_agent_v4) is released to part of the traffic; some of its
// replies then fail validation. Traces before it never use it.
const releaseAt = 5

type promptVersion struct {
	name, version, label string
	bad                  bool // fails validation often
}

var (
	promptV3       = promptVersion{"support_agent_v3", "prv_2026_06_03_17", "production", false}
	promptV4       = promptVersion{"support_agent_v4", "prv_2026_06_10_02", "production", true}
	promptV3Canary = promptVersion{"support_agent_v3", "prv_2026_06_08_11", "canary", false}
)

type model struct{ provider, name, served string }

var models = []model{
	{"openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"},
	{"openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"},
	{"openai", "gpt-4.1", "gpt-4.1-2025-04-14"},
	{"anthropic", "claude-sonnet-4", "claude-sonnet-4-20250514"},
}

var (
	tenants = []string{"tenant_431", "tenant_007", "tenant_112", "tenant_256", "tenant_981"}
	routes  = []string{"/v1/support/chat", "/v1/support/chat", "/v1/support/email", "/v1/orders/help"}
	locales = []string{"en-US", "en-GB", "de-DE", "fr-FR", "es-ES"}
	// Personal data users paste into support chats, for redaction to find.
	userMessages = []string{
		"My refund for order %s is late. Email me at jane.doe@example.com please.",
		"Package %s never arrived. Call me on +1 415 555 0199.",
		"I was charged twice for %s, card 4111 1111 1111 1111. Refund one please.",
		"Where is my order %s? My account email is k.mueller@example.de",
		"Our integration broke with key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z, order %s.",
		"Can I return %s? I'm at 12 rue de Rivoli, phone +33 6 12 34 56 78.",
	}
)

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

// pick chooses the scenario of trace i: the first traces cycle through
// every scenario, then they are drawn at production-like rates.
func (g *generator) pick(i int) Scenario {
	if i < len(Scenarios) {
		return Scenarios[i]
	}
	x := g.rng.Float64()
	switch {
	case i >= releaseAt && x < 0.10:
		return BadPromptRelease
	case x < 0.22:
		return RefundDegraded
	case x < 0.30:
		return ParserRepair
	case x < 0.36:
		return EmptyRetrieval
	case x < 0.39:
		return Timeout
	}
	return OK
}

// vclock is the virtual clock of one trace.
type vclock struct{ t time.Time }

func (c *vclock) at() trace.SpanStartOption { return trace.WithTimestamp(c.t) }
func (c *vclock) end() trace.SpanEndOption  { return trace.WithTimestamp(c.t) }

// step advances the clock by a random duration in [lo, hi) milliseconds.
func (g *generator) step(c *vclock, lo, hi int) {
	c.t = c.t.Add(time.Duration(lo+g.rng.IntN(hi-lo+1)) * time.Millisecond)
}

// trace emits one trace of scenario s and returns its id.
func (g *generator) trace(ctx context.Context, s Scenario, i int) string {
	r := g.rng
	tr := g.tr
	// Traces end in the recent past: a minute ago, plus jitter.
	c := &vclock{t: time.Now().Add(-time.Minute - time.Duration(r.IntN(1000))*time.Millisecond)}

	pv := promptV3
	switch {
	case s == BadPromptRelease, i >= releaseAt && r.IntN(4) == 0:
		pv = promptV4
	case r.IntN(10) == 0:
		pv = promptV3Canary
	}
	// Failures cluster, as they do in production: timeouts mostly on the
	// tenant whose order service is slow, empty retrievals mostly in the
	// locale whose index is thin.
	tenant, locale := pick(r, tenants), pick(r, locales)
	if s == Timeout && r.IntN(5) > 0 {
		tenant = "tenant_981"
	}
	if s == EmptyRetrieval && r.IntN(10) < 7 {
		locale = "de-DE"
	}
	m := pick(r, models)
	order := fmt.Sprintf("ord_%06d", r.IntN(1000000))
	userMsg := fmt.Sprintf(pick(r, userMessages), order)
	session := fmt.Sprintf("sess_%05d", r.IntN(50000))

	ctx, req := tr.StartRequest(ctx, "support_agent.request", loupe.Request{
		Tenant:    tenant,
		Route:     pick(r, routes),
		SessionID: session,
		UserID:    fmt.Sprintf("user_%05d", r.IntN(20000)),
		AccountID: fmt.Sprintf("acct_%04d", r.IntN(3000)),
		Locale:    locale,
	}, c.at())
	req.SetInput(userMsg)
	id := req.OTel().SpanContext().TraceID().String()

	// auth
	_, sp := tr.StartSpan(ctx, "auth.check_user_entitlements", c.at())
	g.step(c, 4, 12)
	sp.End(c.end())

	// prompt
	_, ps := tr.StartPrompt(ctx, loupe.Prompt{Name: "prompt.load", PromptName: pv.name, VersionID: pv.version,
		ReleaseLabel: pv.label, Template: "You are a support agent for {{company}}. Policy:\n{{policy}}",
		Variables: map[string]string{"company": "Acme", "locale": "en"}}, c.at())
	g.step(c, 6, 15)
	ps.End(c.end())

	// retrieval: embed the query, then vector search
	query := "refund delayed package"
	rctx, rs := tr.StartRetrieval(ctx, loupe.Retrieval{Name: "retrieval.search_policy_docs", Index: "support_policy_prod",
		Query: query, TopK: 4, Filters: map[string]string{"product": "orders", "locale": locale}}, c.at())
	_, es := tr.StartEmbedding(rctx, loupe.Embedding{Provider: "openai", Model: "text-embedding-3-small", Inputs: 1, Dimensions: 1536}, c.at())
	g.step(c, 5, 12)
	es.SetUsage(int64(4 + r.IntN(8)))
	es.End(c.end())
	_, vs := tr.StartSpan(rctx, "vector.search", c.at())
	g.step(c, 6, 18)
	vs.End(c.end())
	var docs []loupe.Document
	var docTokens int64
	if s != EmptyRetrieval {
		docs = []loupe.Document{
			{ID: "doc_102", Score: 0.85 + r.Float64()*0.1, Tokens: 180, Content: "Refunds are issued within 5 business days of approval."},
			{ID: "doc_087", Score: 0.75 + r.Float64()*0.1, Tokens: 140, Content: "Delayed packages may be refunded after 10 days."},
		}
		docTokens = 320
	}
	rs.SetDocuments(docs)
	rs.End(c.end())

	// agent loop
	actx, agent := tr.StartAgent(ctx, loupe.Agent{Name: "support_agent", ID: "agent_support_v3"}, c.at())
	call := func(name string, in int64, finish string, out []loupe.Message) loupe.LLMSpan {
		_, l := tr.StartLLM(actx, g.llm(name, m, pv, session, userMsg), c.at())
		g.step(c, 30, 70)
		l.SetTimeToFirstToken(time.Duration(150+r.IntN(200)) * time.Millisecond)
		l.SetResponse(loupe.Response{ID: fmt.Sprintf("resp_%08x", r.Uint32()), Model: m.served, FinishReasons: []string{finish},
			Usage: loupe.Usage{Input: in, CacheRead: in / 2, Output: int64(60 + r.IntN(120))}, Output: out})
		return l
	}
	failed := false

	switch s {
	case Timeout:
		// The order service is slow; the model call then times out.
		_, ts := tr.StartTool(actx, loupe.Tool{Name: "lookup_order", CallID: "call_1", Type: "function",
			Arguments: fmt.Sprintf(`{"order_id":%q}`, order), SpanName: "tool.call.lookup_order"}, c.at())
		g.step(c, 4000, 9000)
		ts.SetToolError("DEADLINE_EXCEEDED", "order service did not answer in time", true)
		ts.End(c.end())
		_, l := tr.StartLLM(actx, g.llm("llm.call.plan_response", m, pv, session, userMsg), c.at())
		c.t = c.t.Add(30 * time.Second)
		l.SetRetries(2)
		l.Fail(context.DeadlineExceeded)
		l.End(c.end())
		agent.SetError("timeout", "model call timed out after 30s")
		failed = true
	default:
		plan := call("llm.call.plan_response", 1100+docTokens+int64(r.IntN(200)), "tool_calls",
			[]loupe.Message{{Role: "assistant", ToolCalls: []loupe.ToolCall{{ID: "call_1", Name: "create_refund",
				Arguments: fmt.Sprintf(`{"order_id":%q,"refund_amount_cents":%d}`, order, 2500+r.IntN(5000))}}}})
		plan.End(c.end())
		_, ts := tr.StartTool(actx, loupe.Tool{Name: "create_refund", CallID: "call_1", Type: "function",
			Arguments: fmt.Sprintf(`{"order_id":%q,"refund_amount_cents":%d,"email":"jane.doe@example.com"}`, order, 9000),
			SpanName:  "tool.call.create_refund"}, c.at())
		g.step(c, 3, 8)
		if s == RefundDegraded {
			ts.SetToolError("INVALID_ARGUMENT", "refund_amount_cents must be <= order_total_cents", false)
			ts.End(c.end())
			rec := call("llm.call.recover_after_tool_error", 1900+int64(r.IntN(200)), "stop",
				[]loupe.Message{{Role: "assistant", Content: "I could not refund the full amount; I've refunded the order total instead."}})
			rec.End(c.end())
		} else {
			ts.SetResult(`{"refund_id":"rf_` + order + `","status":"approved"}`)
			ts.End(c.end())
			fin := call("llm.call.final_response", 1500+int64(r.IntN(300)), "stop",
				[]loupe.Message{{Role: "assistant", Content: "Your refund is approved and will arrive within 5 business days."}})
			fin.End(c.end())
		}
	}
	agent.End(c.end())

	if !failed {
		// validate the reply
		_, vp := tr.StartParser(ctx, loupe.Parser{Name: "response.validate", Schema: "support_reply_v2"}, c.at())
		switch {
		case s == ParserRepair:
			g.step(c, 20, 60) // repair round trips
			vp.SetResult(true, 1+r.IntN(2))
		case s == BadPromptRelease:
			g.step(c, 40, 90)
			vp.SetResult(false, 2)
			failed = true
		default:
			g.step(c, 1, 4)
			vp.SetResult(true, 0)
		}
		vp.End(c.end())
	}
	if !failed {
		_, ss := tr.StartSpan(ctx, "summary.save", c.at())
		g.step(c, 3, 9)
		ss.End(c.end())
		_, rsent := tr.StartSpan(ctx, "response.sent", c.at())
		g.step(c, 2, 6)
		rsent.End(c.end())
	}
	if failed {
		switch s {
		case Timeout:
			req.SetError("timeout", "support agent timed out")
		default:
			req.SetError("invalid_output", "reply failed validation after repairs")
		}
	}
	req.End(c.end())
	return id
}

// llm describes a model call of the agent with realistic parameters.
func (g *generator) llm(name string, m model, pv promptVersion, session, userMsg string) loupe.LLM {
	temp, maxTok, seed, topP := 0.2, int64(512), int64(42), 0.95
	return loupe.LLM{
		Name: name, Provider: m.provider, Model: m.name,
		Temperature: &temp, MaxTokens: &maxTok, Seed: &seed, TopP: &topP,
		ResponseFormat: "json_schema", ToolChoice: "auto", Timeout: 30 * time.Second,
		PromptName: pv.name, PromptVersionID: pv.version, ReleaseLabel: pv.label, ConversationID: session,
		System:   "You are Acme's support agent. Answer in JSON.",
		Messages: []loupe.Message{{Role: "user", Content: userMsg}},
	}
}
