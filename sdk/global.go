package loupe

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// The package-level functions start spans on the global tracer provider
// (see Setup); each is the Tracer method of the same name on Default().

// StartRequest starts a request span; see Tracer.StartRequest.
func StartRequest(ctx context.Context, name string, r Request, opts ...trace.SpanStartOption) (context.Context, Span) {
	return Default().StartRequest(ctx, name, r, opts...)
}

// StartChain starts a chain span; see Tracer.StartChain.
func StartChain(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, Span) {
	return Default().StartChain(ctx, name, opts...)
}

// StartSpan starts a generic span; see Tracer.StartSpan.
func StartSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, Span) {
	return Default().StartSpan(ctx, name, opts...)
}

// StartAgent starts an agent span; see Tracer.StartAgent.
func StartAgent(ctx context.Context, a Agent, opts ...trace.SpanStartOption) (context.Context, Span) {
	return Default().StartAgent(ctx, a, opts...)
}

// StartPrompt starts a prompt span; see Tracer.StartPrompt.
func StartPrompt(ctx context.Context, p Prompt, opts ...trace.SpanStartOption) (context.Context, Span) {
	return Default().StartPrompt(ctx, p, opts...)
}

// StartRetrieval starts a retrieval span; see Tracer.StartRetrieval.
func StartRetrieval(ctx context.Context, r Retrieval, opts ...trace.SpanStartOption) (context.Context, RetrievalSpan) {
	return Default().StartRetrieval(ctx, r, opts...)
}

// StartEmbedding starts an embeddings span; see Tracer.StartEmbedding.
func StartEmbedding(ctx context.Context, e Embedding, opts ...trace.SpanStartOption) (context.Context, EmbeddingSpan) {
	return Default().StartEmbedding(ctx, e, opts...)
}

// StartLLM starts a model-call span; see Tracer.StartLLM.
func StartLLM(ctx context.Context, c LLM, opts ...trace.SpanStartOption) (context.Context, LLMSpan) {
	return Default().StartLLM(ctx, c, opts...)
}

// StartTool starts a tool span; see Tracer.StartTool.
func StartTool(ctx context.Context, t Tool, opts ...trace.SpanStartOption) (context.Context, ToolSpan) {
	return Default().StartTool(ctx, t, opts...)
}

// StartParser starts a parser span; see Tracer.StartParser.
func StartParser(ctx context.Context, p Parser, opts ...trace.SpanStartOption) (context.Context, ParserSpan) {
	return Default().StartParser(ctx, p, opts...)
}

// StartEval starts an eval span; see Tracer.StartEval.
func StartEval(ctx context.Context, e Eval, opts ...trace.SpanStartOption) (context.Context, EvalSpan) {
	return Default().StartEval(ctx, e, opts...)
}
