package loupe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Span is a started loupe span. End it exactly once. The zero Span is a
// no-op.
type Span struct{ s trace.Span }

// OTel returns the underlying OpenTelemetry span.
func (s Span) OTel() trace.Span {
	if s.s == nil {
		return trace.SpanFromContext(context.Background())
	}
	return s.s
}

// SetAttributes sets extra attributes.
func (s Span) SetAttributes(kv ...attribute.KeyValue) { s.OTel().SetAttributes(kv...) }

// SetInput records a generic input (input.value), for spans whose input is
// not chat messages. It is content: redacted, and dropped unless
// ContentFull.
func (s Span) SetInput(v string) { s.OTel().SetAttributes(attribute.String(keyInput, v)) }

// SetOutput records a generic output (output.value); content like SetInput.
func (s Span) SetOutput(v string) { s.OTel().SetAttributes(attribute.String(keyOutput, v)) }

// Fail marks the span failed by err: status error with err's message,
// error.type, and an exception event. The error type is err's ErrorType()
// when it has one, "timeout" for context.DeadlineExceeded, else its Go type.
func (s Span) Fail(err error) {
	if err == nil {
		return
	}
	s.SetError(errorType(err), err.Error())
	s.OTel().RecordError(err)
}

// SetError marks the span failed with a low-cardinality error type and a
// message, without an exception event.
func (s Span) SetError(errorType, message string) {
	sp := s.OTel()
	if errorType != "" {
		sp.SetAttributes(attribute.String(keyErrorType, errorType))
	}
	sp.SetStatus(codes.Error, message)
}

// End ends the span; a span that did not fail gets status OK. Pass
// trace.WithTimestamp to end it at a given time.
func (s Span) End(opts ...trace.SpanEndOption) {
	sp := s.OTel()
	if ro, ok := sp.(sdktrace.ReadOnlySpan); ok && ro.Status().Code == codes.Unset {
		sp.SetStatus(codes.Ok, "")
	}
	sp.End(opts...)
}

// errorTyper is implemented by errors that name their own error.type.
type errorTyper interface{ ErrorType() string }

func errorType(err error) string {
	var et errorTyper
	switch {
	case errors.As(err, &et):
		return et.ErrorType()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return fmt.Sprintf("%T", err)
}

// KeepTrace hints the server's tail sampler to keep the whole trace of ctx
// (loupe.sampling.keep), e.g. for a request a user flagged.
func KeepTrace(ctx context.Context) {
	trace.SpanFromContext(ctx).SetAttributes(attribute.Bool(keyKeep, true))
}

// start starts a span with attrs; kind is loupe.span.kind.
func (t *Tracer) start(ctx context.Context, name string, otelKind trace.SpanKind, attrs []attribute.KeyValue, opts []trace.SpanStartOption) (context.Context, Span) {
	opts = append(opts, trace.WithSpanKind(otelKind), trace.WithAttributes(attrs...))
	ctx, s := t.tr.Start(ctx, name, opts...)
	return ctx, Span{s}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// appendStr appends a string attribute when v is not empty.
func appendStr(attrs []attribute.KeyValue, k, v string) []attribute.KeyValue {
	if v == "" {
		return attrs
	}
	return append(attrs, attribute.String(k, v))
}

// Request describes the root span of one user request, job or agent run.
type Request struct {
	Tenant    string // loupe.tenant
	Route     string // loupe.route, e.g. /v1/support/chat
	SessionID string // gen_ai.conversation.id
	UserID    string // user.id; keyed-hashed by redaction before export
	AccountID string // loupe.account.id; keyed-hashed like UserID
	Locale    string // loupe.locale, e.g. en-GB
}

// StartRequest starts the root span of a request (loupe.span.kind=request,
// OpenTelemetry kind server).
func (t *Tracer) StartRequest(ctx context.Context, name string, r Request, opts ...trace.SpanStartOption) (context.Context, Span) {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, attribute.String(keySpanKind, "request"))
	attrs = appendStr(attrs, keyTenant, r.Tenant)
	attrs = appendStr(attrs, keyRoute, r.Route)
	attrs = appendStr(attrs, keyConversation, r.SessionID)
	attrs = appendStr(attrs, keyUserID, r.UserID)
	attrs = appendStr(attrs, keyAccountID, r.AccountID)
	attrs = appendStr(attrs, keyLocale, r.Locale)
	return t.start(ctx, name, trace.SpanKindServer, attrs, opts)
}

// StartChain starts a generic step that groups others (loupe.span.kind=chain).
func (t *Tracer) StartChain(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, Span) {
	return t.start(ctx, name, trace.SpanKindInternal, []attribute.KeyValue{attribute.String(keySpanKind, "chain")}, opts)
}

// StartSpan starts a generic span (loupe.span.kind=span), e.g. an auth
// check or a database write.
func (t *Tracer) StartSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, Span) {
	return t.start(ctx, name, trace.SpanKindInternal, []attribute.KeyValue{attribute.String(keySpanKind, "span")}, opts)
}

// Agent describes an agent run.
type Agent struct {
	Name string // gen_ai.agent.name
	ID   string // gen_ai.agent.id
}

// StartAgent starts an agent span (gen_ai.operation.name=invoke_agent).
// Its name is "invoke_agent {Name}".
func (t *Tracer) StartAgent(ctx context.Context, a Agent, opts ...trace.SpanStartOption) (context.Context, Span) {
	attrs := []attribute.KeyValue{attribute.String(keySpanKind, "agent"), attribute.String(keyOperation, "invoke_agent")}
	attrs = appendStr(attrs, keyAgentName, a.Name)
	attrs = appendStr(attrs, keyAgentID, a.ID)
	name := "invoke_agent"
	if a.Name != "" {
		name += " " + a.Name
	}
	return t.start(ctx, name, trace.SpanKindInternal, attrs, opts)
}

// Prompt describes loading and rendering a prompt version.
type Prompt struct {
	Name         string            // span name; "" = "prompt {PromptName}"
	PromptName   string            // loupe.prompt.name
	VersionID    string            // loupe.prompt.version_id, immutable
	ReleaseLabel string            // loupe.prompt.release_label, e.g. production
	Template     string            // loupe.prompt.template (content)
	Variables    map[string]string // loupe.prompt.variables as JSON (content)
}

// StartPrompt starts a prompt span (loupe.span.kind=prompt).
func (t *Tracer) StartPrompt(ctx context.Context, p Prompt, opts ...trace.SpanStartOption) (context.Context, Span) {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String(keySpanKind, "prompt"))
	attrs = appendStr(attrs, keyPromptName, p.PromptName)
	attrs = appendStr(attrs, keyPromptVersion, p.VersionID)
	attrs = appendStr(attrs, keyReleaseLabel, p.ReleaseLabel)
	attrs = appendStr(attrs, keyPromptTemplate, p.Template)
	if len(p.Variables) > 0 {
		attrs = append(attrs, attribute.String(keyPromptVars, jsonString(p.Variables)))
	}
	return t.start(ctx, or(p.Name, "prompt "+p.PromptName), trace.SpanKindInternal, attrs, opts)
}

// Retrieval describes a search of an index.
type Retrieval struct {
	Name    string            // span name; "" = "retrieval {Index}"
	Index   string            // gen_ai.data_source.id
	Query   string            // gen_ai.retrieval.query.text (content, redacted)
	TopK    int               // gen_ai.retrieval.top_k; 0 = not recorded
	Filters map[string]string // loupe.retrieval.filters as JSON
}

// Document is one retrieved document.
type Document struct {
	ID      string
	Score   float64
	Tokens  int64  // tokens the document adds to the prompt
	Content string // text (content); "" = not recorded
}

// RetrievalSpan is a started retrieval span.
type RetrievalSpan struct{ Span }

// StartRetrieval starts a retrieval span (gen_ai.operation.name=retrieval).
func (t *Tracer) StartRetrieval(ctx context.Context, r Retrieval, opts ...trace.SpanStartOption) (context.Context, RetrievalSpan) {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String(keySpanKind, "retrieval"), attribute.String(keyOperation, "retrieval"))
	attrs = appendStr(attrs, keyDataSource, r.Index)
	attrs = appendStr(attrs, keyQuery, r.Query)
	if r.TopK > 0 {
		attrs = append(attrs, attribute.Int(keyRetrievalTopK, r.TopK))
	}
	if len(r.Filters) > 0 {
		attrs = append(attrs, attribute.String(keyFilters, jsonString(r.Filters)))
	}
	ctx, s := t.start(ctx, or(r.Name, "retrieval "+r.Index), trace.SpanKindClient, attrs, opts)
	return ctx, RetrievalSpan{s}
}

// SetDocuments records the results: gen_ai.retrieval.documents (a JSON
// list of {id, score, tokens, content}), their count and total tokens. An
// empty list records an empty result.
func (r RetrievalSpan) SetDocuments(docs []Document) {
	type doc struct {
		ID      string  `json:"id"`
		Score   float64 `json:"score"`
		Tokens  int64   `json:"tokens,omitempty"`
		Content string  `json:"content,omitempty"`
	}
	list := make([]doc, len(docs))
	var tokens int64
	for i, d := range docs {
		list[i] = doc(d)
		tokens += d.Tokens
	}
	r.OTel().SetAttributes(
		attribute.String(keyDocuments, jsonString(list)),
		attribute.Int(keyResultCount, len(docs)),
		attribute.Int64(keyDocTokens, tokens),
	)
}

// Embedding describes an embeddings call.
type Embedding struct {
	Name       string // span name; "" = "embeddings {Model}"
	Provider   string // gen_ai.provider.name
	Model      string // gen_ai.request.model
	Inputs     int    // loupe.embedding.input_count
	Dimensions int    // gen_ai.embeddings.dimension.count
}

// EmbeddingSpan is a started embeddings span.
type EmbeddingSpan struct{ Span }

// StartEmbedding starts an embeddings span (gen_ai.operation.name=embeddings).
func (t *Tracer) StartEmbedding(ctx context.Context, e Embedding, opts ...trace.SpanStartOption) (context.Context, EmbeddingSpan) {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String(keySpanKind, "embedding"), attribute.String(keyOperation, "embeddings"))
	attrs = appendStr(attrs, keyProvider, e.Provider)
	attrs = appendStr(attrs, keyReqModel, e.Model)
	if e.Inputs > 0 {
		attrs = append(attrs, attribute.Int(keyEmbInputs, e.Inputs))
	}
	if e.Dimensions > 0 {
		attrs = append(attrs, attribute.Int(keyEmbDims, e.Dimensions))
	}
	ctx, s := t.start(ctx, or(e.Name, "embeddings "+e.Model), trace.SpanKindClient, attrs, opts)
	return ctx, EmbeddingSpan{s}
}

// SetUsage records the input tokens.
func (e EmbeddingSpan) SetUsage(inputTokens int64) {
	e.OTel().SetAttributes(attribute.Int64(keyInTokens, inputTokens))
}

// Tool describes a tool (function) call.
type Tool struct {
	Name      string // gen_ai.tool.name
	CallID    string // gen_ai.tool.call.id
	Type      string // gen_ai.tool.type: function, extension or datastore
	Arguments string // gen_ai.tool.call.arguments, JSON (content, redacted)
	SpanName  string // "" = "execute_tool {Name}"
}

// ToolSpan is a started tool span.
type ToolSpan struct{ Span }

// StartTool starts a tool span (gen_ai.operation.name=execute_tool).
func (t *Tracer) StartTool(ctx context.Context, tl Tool, opts ...trace.SpanStartOption) (context.Context, ToolSpan) {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String(keySpanKind, "tool"), attribute.String(keyOperation, "execute_tool"),
		attribute.String(keyToolName, tl.Name))
	attrs = appendStr(attrs, keyToolCallID, tl.CallID)
	attrs = appendStr(attrs, keyToolType, tl.Type)
	attrs = appendStr(attrs, keyToolArgs, tl.Arguments)
	ctx, s := t.start(ctx, or(tl.SpanName, "execute_tool "+tl.Name), trace.SpanKindInternal, attrs, opts)
	return ctx, ToolSpan{s}
}

// SetResult records the tool's result (gen_ai.tool.call.result; content).
func (tl ToolSpan) SetResult(result string) {
	tl.OTel().SetAttributes(attribute.String(keyToolResult, result))
}

// SetToolError marks the tool call failed with an error code (e.g.
// INVALID_ARGUMENT; tool.error_code and error.type), a message
// (tool.error_message and the status message) and whether a retry may
// succeed (tool.retryable).
func (tl ToolSpan) SetToolError(code, message string, retryable bool) {
	tl.OTel().SetAttributes(
		attribute.String(keyToolErrCode, code),
		attribute.String(keyToolErrMsg, message),
		attribute.Bool(keyToolRetry, retryable),
	)
	tl.SetError(code, message)
}

// Parser describes parsing or validating a model's output.
type Parser struct {
	Name   string // span name; "" = "parse {Schema}"
	Schema string // loupe.parser.schema
}

// ParserSpan is a started parser span.
type ParserSpan struct{ Span }

// StartParser starts a parser span (loupe.span.kind=parser).
func (t *Tracer) StartParser(ctx context.Context, p Parser, opts ...trace.SpanStartOption) (context.Context, ParserSpan) {
	attrs := []attribute.KeyValue{attribute.String(keySpanKind, "parser")}
	attrs = appendStr(attrs, keyParserSchema, p.Schema)
	ctx, s := t.start(ctx, or(p.Name, "parse "+p.Schema), trace.SpanKindInternal, attrs, opts)
	return ctx, ParserSpan{s}
}

// SetResult records whether the output was valid in the end and how many
// repair attempts it took (loupe.parser.valid, loupe.parser.repair_attempts).
// Output still invalid after the repairs fails the span (error.type
// invalid_output).
func (p ParserSpan) SetResult(valid bool, repairAttempts int) {
	p.OTel().SetAttributes(attribute.Bool(keyParserValid, valid), attribute.Int(keyParserRepairs, repairAttempts))
	if !valid {
		p.SetError("invalid_output", fmt.Sprintf("output invalid after %d repair attempts", repairAttempts))
	}
}

// Eval describes an evaluation of an output.
type Eval struct {
	Name       string // loupe.eval.name
	JudgeModel string // loupe.eval.judge_model, for LLM-as-judge
}

// EvalSpan is a started eval span.
type EvalSpan struct{ Span }

// StartEval starts an eval span (loupe.span.kind=eval), named "eval {Name}".
func (t *Tracer) StartEval(ctx context.Context, e Eval, opts ...trace.SpanStartOption) (context.Context, EvalSpan) {
	attrs := []attribute.KeyValue{attribute.String(keySpanKind, "eval"), attribute.String(keyEvalName, e.Name)}
	attrs = appendStr(attrs, keyEvalJudge, e.JudgeModel)
	ctx, s := t.start(ctx, "eval "+e.Name, trace.SpanKindInternal, attrs, opts)
	return ctx, EvalSpan{s}
}

// SetResult records the score and verdict (loupe.eval.score,
// loupe.eval.passed) and the gen_ai.evaluation.result event. A failed
// evaluation is a result, not a span error.
func (e EvalSpan) SetResult(score float64, passed bool, explanation string) {
	e.OTel().SetAttributes(attribute.Float64(keyEvalScore, score), attribute.Bool(keyEvalPassed, passed))
	label := "fail"
	if passed {
		label = "pass"
	}
	name, _ := e.attr(keyEvalName)
	ev := []attribute.KeyValue{
		attribute.String("gen_ai.evaluation.name", name),
		attribute.Float64("gen_ai.evaluation.score.value", score),
		attribute.String("gen_ai.evaluation.score.label", label),
	}
	ev = appendStr(ev, "gen_ai.evaluation.explanation", explanation)
	e.OTel().AddEvent("gen_ai.evaluation.result", trace.WithAttributes(ev...))
}

// attr returns a string attribute the span already has (SDK spans only).
func (s Span) attr(k string) (string, bool) {
	ro, ok := s.OTel().(sdktrace.ReadOnlySpan)
	if !ok {
		return "", false
	}
	for _, kv := range ro.Attributes() {
		if string(kv.Key) == k {
			return kv.Value.AsString(), true
		}
	}
	return "", false
}

// millis converts d to float milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
