// Package loupe is the Go SDK of loupe, a tracing platform for LLM
// applications. It is built on the OpenTelemetry Go SDK: Setup installs a
// tracer provider that exports OTLP (HTTP or gRPC) to a loupe server (or any
// OTLP endpoint), through a bounded queue that drops rather than blocks,
// and redacts personal data before anything leaves the process.
//
// Typed helpers start one span per step of an LLM request, one helper per
// span kind (request, prompt, retrieval, embedding, llm, tool, parser, eval,
// agent, chain). Each sets the OpenTelemetry GenAI semantic-convention
// attributes, plus loupe.* attributes where the conventions are silent
// (prompt version id, release label, tenant, route, parser repair attempts).
//
//	shutdown, err := loupe.Setup(ctx, loupe.Options{Service: "support-agent"})
//	if err != nil { ... }
//	defer shutdown(context.Background())
//
//	ctx, req := loupe.StartRequest(ctx, "support_agent.request", loupe.Request{Tenant: "t_431", Route: "/chat"})
//	defer req.End()
//	ctx, call := loupe.StartLLM(ctx, loupe.LLM{Provider: "openai", Model: "gpt-4.1-mini"})
//	... call the model ...
//	call.SetResponse(loupe.Response{FinishReasons: []string{"stop"}, Usage: loupe.Usage{Input: 1204, Output: 86}})
//	call.End()
//
// The package-level Start functions use the global OpenTelemetry tracer
// provider (which Setup installs); a *Tracer from New does the same without
// touching globals.
package loupe
