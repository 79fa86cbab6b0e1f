// Package loupe is the domain vocabulary of loupe, a tracing platform for
// LLM applications: traces, spans, their canonical LLM fields, token usage and
// cost, and the small storage interfaces the adapters implement.
//
// Glossary:
//   - Trace: one user request, background job or agent run.
//   - Span: one step of a trace (model call, tool call, retrieval, ...), in a tree.
//   - Kind: the canonical role of a span (llm, tool, retrieval, ...), derived from
//     whichever semantic convention the producer used.
//   - Usage: token counts in five exclusive buckets (input, cache read, cache
//     write, output, reasoning); their sum is the total.
//   - Payload: the large, sensitive bodies of a span (messages, tool arguments
//     and results, retrieved text), kept apart from metadata so they can be
//     dropped on their own.
//
// This package imports only the standard library.
package loupe
