// Package otlp decodes OTLP trace and log requests (protobuf and OTLP/JSON)
// and normalizes them into loupe's canonical model.
//
// Normalization understands every convention of shared/SEMCONV.md: OTel
// GenAI (v1.37+ and the deprecated names and message events), OpenInference,
// OpenLLMetry/Traceloop, the Vercel AI SDK (legacy ai.* and v7), Langfuse and
// loupe's own loupe.* names, which take precedence. Each span's attributes
// are read in one pass into a table indexed by key; fields are then filled
// by precedence, and every attribute not consumed into a field or the
// payload is kept, typed, in Span.Attributes. Large bodies (messages, tool
// arguments and results, documents, generic inputs and outputs) always go to
// the payload, never to the attributes.
package otlp
