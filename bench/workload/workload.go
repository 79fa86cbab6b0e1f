// Package workload generates loupe's standard benchmark workload
// (DESIGN.md §7): OTLP traces of a support agent shaped like the reference
// trace of DESIGN.md §1, with realistic attribute and payload sizes and ~3%
// degraded traces.
//
// Every trace has 12 spans:
//
//	support_agent.request                 root, loupe.span.kind=request
//	├─ auth.check_user_entitlements
//	├─ prompt.load                        loupe.prompt.{name,version_id,release_label}
//	├─ retrieval.search_policy_docs       gen_ai.operation.name=retrieval
//	│  └─ embeddings text-embedding-3-small
//	├─ llm.call.plan_response             chat, asks for two tools
//	├─ tool.call.lookup_order             execute_tool
//	├─ tool.call.<action>                 execute_tool; create_refund fails in ~3% of traces
//	├─ llm.call.compose_answer            chat (llm.call.recover_after_tool_error after a failure)
//	├─ parser.validate_response           loupe.span.kind=parser
//	├─ guardrail.check_output             loupe.span.kind=guardrail
//	└─ response.sent
//
// Generator builds requests as protobuf messages (for tests and
// micro-benchmarks); Bodies serves pre-marshaled request bodies with fresh
// trace ids and timestamps, cheaply enough for a load generator.
package workload

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// ErrorRate is the fraction of traces whose refund tool call fails.
const ErrorRate = 0.03

// spansPerTrace is the number of spans of every generated trace.
const spansPerTrace = 12

// Generator produces the standard workload deterministically from a seed.
// It is not safe for concurrent use.
type Generator struct {
	rng  *rand.Rand
	seed uint64
	docs []policyDoc

	traces uint64 // traces generated so far; also makes trace ids distinct
	spans  uint64 // spans generated so far
}

// New returns a generator whose output depends only on seed and the
// sequence of calls.
func New(seed uint64) *Generator {
	r := rand.New(rand.NewPCG(seed, 0x6c6f757065)) // "loupe"
	return &Generator{rng: r, seed: seed, docs: newPolicyDocs(r, 48)}
}

// SpansPerTrace reports the average number of spans per trace generated so
// far (0 before the first trace).
func (g *Generator) SpansPerTrace() float64 {
	if g.traces == 0 {
		return 0
	}
	return float64(g.spans) / float64(g.traces)
}

// Request returns one ExportTraceServiceRequest holding n complete traces
// starting around start (trace i starts i*100ms after start, with jitter).
// All traces of a request come from one service instance (one resource), as
// an SDK's batch exporter sends them.
func (g *Generator) Request(n int, start time.Time) *coltracepb.ExportTraceServiceRequest {
	d := deployments[g.rng.IntN(len(deployments))]
	spans := make([]*tracepb.Span, 0, n*spansPerTrace)
	for i := range n {
		t0 := start.Add(time.Duration(i)*100*time.Millisecond + time.Duration(g.rng.IntN(50))*time.Millisecond)
		spans = g.appendTrace(spans, t0)
	}
	return &coltracepb.ExportTraceServiceRequest{
		ResourceSpans: []*tracepb.ResourceSpans{{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
				str("service.name", "support-agent"),
				str("service.version", d.version),
				str("deployment.environment.name", d.env),
				str("service.instance.id", d.instance),
				str("telemetry.sdk.language", "python"),
				str("telemetry.sdk.name", "opentelemetry"),
				str("telemetry.sdk.version", "1.36.0"),
			}},
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope: &commonpb.InstrumentationScope{Name: "support_agent", Version: d.version},
				Spans: spans,
			}},
			SchemaUrl: "https://opentelemetry.io/schemas/1.37.0",
		}},
	}
}

type deployment struct{ env, version, instance string }

var deployments = []deployment{
	{"production", "2026.06.3", "support-agent-7f9c4-abcde"},
	{"production", "2026.06.3", "support-agent-7f9c4-fghij"},
	{"production", "2026.06.3", "support-agent-7f9c4-klmno"},
	{"production", "2026.06.2", "support-agent-5d2e1-pqrst"},
	{"staging", "2026.06.4-rc1", "support-agent-staging-0"},
	{"canary", "2026.06.4", "support-agent-canary-0"},
}

type model struct {
	provider, request, response string
	reasoning                   bool // reports reasoning tokens; takes no temperature
}

var models = []model{
	{"openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", false},
	{"openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", false},
	{"openai", "gpt-4o", "gpt-4o-2024-08-06", false},
	{"anthropic", "claude-sonnet-4", "claude-sonnet-4-20250514", false},
	{"gcp.gemini", "gemini-2.5-flash", "gemini-2.5-flash", false},
	{"openai", "o4-mini", "o4-mini-2025-04-16", true},
}

type promptVersion struct{ id, label string }

var promptVersions = []promptVersion{
	{"prv_2026_06_03_17", "production"},
	{"prv_2026_06_03_17", "production"},
	{"prv_2026_06_03_17", "production"},
	{"prv_2026_05_21_11", "production"},
	{"prv_2026_06_10_09", "canary"},
	{"prv_2026_06_12_14", "staging"},
}

var routes = []string{"/v1/support/chat", "/v1/support/chat", "/v1/support/email", "/v1/support/voice", "/v1/orders/help"}

var locales = []string{"en-US", "en-US", "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP", "it-IT"}

// traceIDSalt keeps trace ids of generators with different seeds apart.
const traceIDSalt = 0x9e3779b97f4a7c15

func (g *Generator) appendTrace(spans []*tracepb.Span, t0 time.Time) []*tracepb.Span {
	r := g.rng
	var tid [16]byte
	binary.BigEndian.PutUint64(tid[:8], r.Uint64())
	// The low half is a bijection of a per-generator counter: distinct within a run.
	binary.BigEndian.PutUint64(tid[8:], mix(g.seed*traceIDSalt+g.traces))
	g.traces++

	b := traceBuilder{g: g, tid: tid[:]}
	c := newCustomer(r)
	tp := topics[r.IntN(len(topics))]
	failed := r.Float64() < ErrorRate
	if failed {
		tp = topics[0] // a refund whose amount the model gets wrong
	}
	m := models[r.IntN(len(models))]
	pv := r.IntN(len(promptVersions))
	prompt := promptVersions[pv]
	// Skewed tenants: low numbers are the big customers.
	tenant := fmt.Sprintf("tenant_%03d", 1+int(50*r.Float64()*r.Float64()))
	route := routes[r.IntN(len(routes))]
	locale := locales[r.IntN(len(locales))]
	session := fmt.Sprintf("conv_%08x", r.Uint32())
	user := fmt.Sprintf("user_%06d", r.IntN(200_000))
	system := systemPrompt(pv)
	userMsg := userMessage(tp, c, r)

	root := b.id()
	at := t0.Add(time.Duration(200+r.IntN(800)) * time.Microsecond)
	ms := func(lo, hi int) time.Duration {
		return time.Duration(lo*1000+r.IntN((hi-lo)*1000+1)) * time.Microsecond
	}
	gap := func() { at = at.Add(time.Duration(50+r.IntN(400)) * time.Microsecond) }

	// auth
	d := ms(3, 12)
	b.span("auth.check_user_entitlements", root, tracepb.Span_SPAN_KIND_INTERNAL, at, d,
		str("loupe.span.kind", "span"), str("user.id", user), str("loupe.tenant", tenant),
		str("auth.plan", []string{"free", "pro", "business", "enterprise"}[r.IntN(4)]), boolean("auth.entitled", true))
	at = at.Add(d)
	gap()

	// prompt.load
	d = ms(4, 15)
	b.span("prompt.load", root, tracepb.Span_SPAN_KIND_INTERNAL, at, d,
		str("loupe.span.kind", "prompt"), str("loupe.prompt.name", "support_agent_v3"),
		str("loupe.prompt.version_id", prompt.id), str("loupe.prompt.release_label", prompt.label),
		str("loupe.prompt.git_sha", fmt.Sprintf("%07x", 0x1a2b3c0+pv)),
		str("prompt.template_variables", `{"locale":"`+locale+`","customer_first_name":"`+c.first+`"}`))
	at = at.Add(d)
	gap()

	// retrieval with its embedding call
	retr := b.id()
	retrStart := at
	embedD := ms(15, 60)
	queryTokens := int64(len(tp.query)/4 + 3)
	b.spanID("embeddings text-embedding-3-small", b.id(), retr, tracepb.Span_SPAN_KIND_CLIENT, at.Add(300*time.Microsecond), embedD,
		str("gen_ai.operation.name", "embeddings"), str("gen_ai.provider.name", "openai"),
		str("gen_ai.request.model", "text-embedding-3-small"), str("gen_ai.response.model", "text-embedding-3-small"),
		i64("gen_ai.embeddings.dimension.count", 1536), i64("gen_ai.usage.input_tokens", queryTokens),
		str("server.address", "api.openai.com"))
	k := 3 + r.IntN(3)
	docIdx := r.Perm(len(g.docs))[:k]
	type retrievedDoc struct {
		ID      string  `json:"id"`
		Score   float64 `json:"score"`
		Title   string  `json:"title"`
		Content string  `json:"content"`
	}
	docs := make([]retrievedDoc, k)
	score := 0.93 - 0.1*r.Float64()
	var context []byte
	for i, di := range docIdx {
		pd := g.docs[di]
		docs[i] = retrievedDoc{ID: pd.id, Score: round3(score), Title: pd.title, Content: pd.content}
		score -= 0.02 + 0.08*r.Float64()
		context = fmt.Appendf(context, "[%s] %s\n%s\n\n", pd.id, pd.title, pd.content)
	}
	retrD := embedD + ms(8, 30)
	b.spanID("retrieval.search_policy_docs", retr, root, tracepb.Span_SPAN_KIND_CLIENT, retrStart, retrD,
		str("loupe.span.kind", "retrieval"), str("gen_ai.operation.name", "retrieval"),
		str("gen_ai.data_source.id", "support_policy_prod"), str("db.system.name", "pgvector"),
		i64("gen_ai.request.top_k", int64(k)), str("gen_ai.retrieval.query.text", tp.query+" "+locale),
		str("gen_ai.retrieval.documents", mustJSON(docs)))
	at = retrStart.Add(retrD)
	gap()

	// plan_response: the model plans and asks for two tools.
	amount := c.totalCents / int64(1+r.IntN(2))
	if failed {
		amount = c.totalCents + int64(500+r.IntN(5000)) // more than the order total: INVALID_ARGUMENT
	}
	actionArgs := toolArgs(tp.action, c, amount)
	lookupArgs := `{"order_id":"` + c.orderID + `"}`
	callLookup := fmt.Sprintf("call_%012x", r.Uint64()&0xffffffffffff)
	callAction := fmt.Sprintf("call_%012x", r.Uint64()&0xffffffffffff)
	planText := "I will look up order " + c.orderID + " to confirm the items and total, then call " + tp.action + " as the policy allows."
	sysInstr := mustJSON([]part{{Type: "text", Content: system}})
	inMsgs := []message{
		{Role: "user", Parts: []part{{Type: "text", Content: userMsg}}},
		{Role: "user", Parts: []part{{Type: "text", Content: "<context>\n" + string(context) + "</context>"}}},
	}
	planOut := []message{{Role: "assistant", Parts: []part{
		{Type: "text", Content: planText},
		{Type: "tool_call", ID: callLookup, Name: "lookup_order", Arguments: json.RawMessage(lookupArgs)},
		{Type: "tool_call", ID: callAction, Name: tp.action, Arguments: json.RawMessage(actionArgs)},
	}, FinishReason: "tool_call"}}
	inTok := int64(len(system)+len(userMsg)+len(context))/4 + 40
	d = ms(350, 1800)
	b.span("llm.call.plan_response", root, tracepb.Span_SPAN_KIND_CLIENT, at, d,
		g.chatAttrs(m, session, inTok, 60+int64(r.IntN(60)), "tool_call", sysInstr, mustJSON(inMsgs), mustJSON(planOut))...)
	at = at.Add(d)
	gap()

	// tools
	lookupResult := fmt.Sprintf(`{"order_id":%q,"status":"in_transit","total_cents":%d,"currency":"USD","items":[{"sku":"LMP-204","qty":1},{"sku":"MUG-11","qty":2}],"carrier":"UPS","last_scan_days":%d}`,
		c.orderID, c.totalCents, 1+r.IntN(12))
	d = ms(8, 40)
	b.span("tool.call.lookup_order", root, tracepb.Span_SPAN_KIND_INTERNAL, at, d,
		str("loupe.span.kind", "tool"), str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "lookup_order"),
		str("gen_ai.tool.call.id", callLookup), str("gen_ai.tool.type", "function"),
		str("gen_ai.tool.call.arguments", lookupArgs), str("gen_ai.tool.call.result", lookupResult))
	at = at.Add(d)
	gap()

	actionName := "tool.call." + tp.action
	d = ms(4, 60)
	actionAttrs := []*commonpb.KeyValue{
		str("loupe.span.kind", "tool"), str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", tp.action),
		str("gen_ai.tool.call.id", callAction), str("gen_ai.tool.type", "function"),
		str("gen_ai.tool.call.arguments", actionArgs),
	}
	var actionResult string
	if failed {
		const msg = "refund_amount_cents must be <= order_total_cents"
		actionResult = fmt.Sprintf(`{"error":{"code":"INVALID_ARGUMENT","message":%q,"order_total_cents":%d}}`, msg, c.totalCents)
		actionAttrs = append(actionAttrs, str("gen_ai.tool.call.result", actionResult),
			str("error.type", "INVALID_ARGUMENT"), str("tool.error_code", "INVALID_ARGUMENT"),
			str("tool.error_message", msg), boolean("tool.retryable", false))
		s := b.span(actionName, root, tracepb.Span_SPAN_KIND_INTERNAL, at, d, actionAttrs...)
		s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: msg}
		s.Events = []*tracepb.Span_Event{{
			TimeUnixNano: unixNano(at.Add(d - 200*time.Microsecond)),
			Name:         "exception",
			Attributes: []*commonpb.KeyValue{
				str("exception.type", "ToolInvalidArgumentError"),
				str("exception.message", msg),
			},
		}}
	} else {
		actionResult = actionResultFor(tp.action, c, amount, r)
		actionAttrs = append(actionAttrs, str("gen_ai.tool.call.result", actionResult))
		b.span(actionName, root, tracepb.Span_SPAN_KIND_INTERNAL, at, d, actionAttrs...)
	}
	at = at.Add(d)
	gap()

	// The second model call composes the answer (or recovers from the tool error).
	finalName := "llm.call.compose_answer"
	if failed {
		finalName = "llm.call.recover_after_tool_error"
		amount = c.totalCents
	}
	ans := mustJSON(map[string]any{
		"answer":      answer(tp.action, c, amount, r),
		"actions":     []string{tp.action},
		"needs_human": tp.action == "escalate_to_human",
	})
	finalIn := append(inMsgs,
		message{Role: "assistant", Parts: planOut[0].Parts},
		message{Role: "tool", Parts: []part{{Type: "tool_call_response", ID: callLookup, Response: json.RawMessage(lookupResult)}}},
		message{Role: "tool", Parts: []part{{Type: "tool_call_response", ID: callAction, Response: json.RawMessage(actionResult)}}},
	)
	finalOut := []message{{Role: "assistant", Parts: []part{{Type: "text", Content: ans}}, FinishReason: "stop"}}
	inTok2 := inTok + int64(len(planText)+len(lookupResult)+len(actionResult))/4 + 80
	d = ms(500, 2500)
	b.span(finalName, root, tracepb.Span_SPAN_KIND_CLIENT, at, d,
		g.chatAttrs(m, session, inTok2, int64(len(ans)/4), "stop", sysInstr, mustJSON(finalIn), mustJSON(finalOut))...)
	at = at.Add(d)
	gap()

	// parser, guardrail, response
	d = ms(1, 4)
	b.span("parser.validate_response", root, tracepb.Span_SPAN_KIND_INTERNAL, at, d,
		str("loupe.span.kind", "parser"), str("loupe.parser.schema", "support_answer_v2"),
		i64("loupe.parser.repair_attempts", int64(boolInt(r.IntN(20) == 0))), boolean("loupe.parser.valid", true),
		str("gen_ai.output.type", "json"))
	at = at.Add(d)
	gap()
	d = ms(2, 9)
	b.span("guardrail.check_output", root, tracepb.Span_SPAN_KIND_INTERNAL, at, d,
		str("loupe.span.kind", "guardrail"), str("gen_ai.guardrail.component.name", "pii_output_filter"),
		str("gen_ai.guardrail.target.type", "output"), str("gen_ai.guardrail.verdict.type", "allow"))
	at = at.Add(d)
	gap()
	d = ms(1, 6)
	b.span("response.sent", root, tracepb.Span_SPAN_KIND_INTERNAL, at, d,
		str("loupe.span.kind", "span"), i64("http.response.status_code", 200), i64("http.response.body.size", int64(len(ans)+120)))
	at = at.Add(d)

	// The root ends last, so an SDK exports it last.
	rootEnd := at.Add(time.Duration(100+r.IntN(500)) * time.Microsecond)
	b.spanID("support_agent.request", root, nil, tracepb.Span_SPAN_KIND_SERVER, t0, rootEnd.Sub(t0),
		str("loupe.span.kind", "request"), str("loupe.tenant", tenant), str("loupe.route", route),
		str("gen_ai.conversation.id", session), str("user.id", user), str("app.locale", locale),
		str("gen_ai.agent.name", "support_agent"), str("http.request.method", "POST"), str("http.route", route),
		i64("http.response.status_code", 200), str("loupe.deployment.id", fmt.Sprintf("dep_%04d", 1+pv)))

	g.spans += uint64(len(b.spans))
	return append(spans, b.spans...)
}

// chatAttrs returns the attributes of an OTel GenAI v1.37 chat span.
func (g *Generator) chatAttrs(m model, session string, inTok, outTok int64, finish, sys, in, out string) []*commonpb.KeyValue {
	r := g.rng
	a := []*commonpb.KeyValue{
		str("loupe.span.kind", "llm"),
		str("gen_ai.operation.name", "chat"),
		str("gen_ai.provider.name", m.provider),
		str("gen_ai.request.model", m.request),
		str("gen_ai.response.model", m.response),
		i64("gen_ai.request.max_tokens", 1024),
		i64("gen_ai.request.seed", int64(r.IntN(1000))),
		str("gen_ai.output.type", "json"),
		str("gen_ai.response.id", fmt.Sprintf("chatcmpl-%016x", r.Uint64())),
		strs("gen_ai.response.finish_reasons", finish),
		str("gen_ai.conversation.id", session),
	}
	if !m.reasoning {
		a = append(a, f64("gen_ai.request.temperature", []float64{0, 0.2, 0.3, 0.7}[r.IntN(4)]), f64("gen_ai.request.top_p", 1))
	}
	// Input totals include cached tokens (OTel convention).
	a = append(a, i64("gen_ai.usage.input_tokens", inTok))
	if inTok >= 1024 && r.IntN(3) != 0 {
		a = append(a, i64("gen_ai.usage.cache_read.input_tokens", 1024*(inTok/1024)))
	} else if m.provider == "anthropic" {
		a = append(a, i64("gen_ai.usage.cache_creation.input_tokens", inTok/2))
	}
	if m.reasoning {
		rt := int64(64 + r.IntN(512))
		outTok += rt
		a = append(a, i64("gen_ai.usage.reasoning.output_tokens", rt))
	}
	a = append(a, i64("gen_ai.usage.output_tokens", outTok))
	switch m.provider {
	case "openai":
		a = append(a, str("server.address", "api.openai.com"))
	case "anthropic":
		a = append(a, str("server.address", "api.anthropic.com"))
	default:
		a = append(a, str("server.address", "generativelanguage.googleapis.com"))
	}
	return append(a,
		str("gen_ai.system_instructions", sys),
		str("gen_ai.input.messages", in),
		str("gen_ai.output.messages", out))
}

func toolArgs(action string, c customer, amount int64) string {
	switch action {
	case "create_refund":
		return fmt.Sprintf(`{"order_id":%q,"refund_amount_cents":%d,"reason":"shipment_delayed"}`, c.orderID, amount)
	case "update_shipping_address":
		return fmt.Sprintf(`{"order_id":%q,"address":{"line1":"42 Harbor Street","line2":"Apt 5","city":"Springfield","postal_code":"01101","country":"US"}}`, c.orderID)
	case "resend_invoice":
		return fmt.Sprintf(`{"order_id":%q,"email":%q}`, c.orderID, c.email)
	default:
		return fmt.Sprintf(`{"ticket_summary":"Repeated complaint about order %s: wrong size, late delivery, no answer","priority":"high"}`, c.orderID)
	}
}

func actionResultFor(action string, c customer, amount int64, r *rand.Rand) string {
	switch action {
	case "create_refund":
		return fmt.Sprintf(`{"refund_id":"rf_%010x","order_id":%q,"amount_cents":%d,"status":"pending"}`, r.Uint64()&0xffffffffff, c.orderID, amount)
	case "update_shipping_address":
		return `{"updated":true,"redirect_fee_cents":0}`
	case "resend_invoice":
		return fmt.Sprintf(`{"sent":true,"invoice_id":"INV-%08d"}`, r.IntN(100_000_000))
	default:
		return fmt.Sprintf(`{"ticket_id":"TCK-%06d","queue":"tier2","sla_hours":24}`, r.IntN(1_000_000))
	}
}

// Message shapes of gen_ai.input.messages / gen_ai.output.messages (v1.37).
type message struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

type part struct {
	Type      string          `json:"type"`
	Content   string          `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Response  json.RawMessage `json:"response,omitempty"`
}

// traceBuilder collects the spans of one trace.
type traceBuilder struct {
	g     *Generator
	tid   []byte
	spans []*tracepb.Span
}

// id returns a fresh nonzero span id.
func (b *traceBuilder) id() []byte {
	v := b.g.rng.Uint64() | 1
	id := make([]byte, 8)
	binary.BigEndian.PutUint64(id, v)
	return id
}

func (b *traceBuilder) span(name string, parent []byte, kind tracepb.Span_SpanKind, start time.Time, d time.Duration, attrs ...*commonpb.KeyValue) *tracepb.Span {
	return b.spanID(name, b.id(), parent, kind, start, d, attrs...)
}

func (b *traceBuilder) spanID(name string, id, parent []byte, kind tracepb.Span_SpanKind, start time.Time, d time.Duration, attrs ...*commonpb.KeyValue) *tracepb.Span {
	s := &tracepb.Span{
		TraceId:           b.tid,
		SpanId:            id,
		ParentSpanId:      parent,
		Name:              name,
		Kind:              kind,
		StartTimeUnixNano: unixNano(start),
		EndTimeUnixNano:   unixNano(start.Add(d)),
		Attributes:        attrs,
		Flags:             0x101, // sampled, parent-is-remote known
	}
	b.spans = append(b.spans, s)
	return s
}

func unixNano(t time.Time) uint64 { return uint64(t.UnixNano()) }

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func i64(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func f64(k string, v float64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
}

func boolean(k string, v bool) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}}
}

func strs(k string, vs ...string) *commonpb.KeyValue {
	vals := make([]*commonpb.AnyValue, len(vs))
	for i, v := range vs {
		vals[i] = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
	}
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("workload: marshal %T: %v", v, err)) // programmer error: fixed shapes
	}
	return string(b)
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mix is a bijection on uint64 (the splitmix64 finalizer): distinct inputs
// give distinct, random-looking outputs.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
