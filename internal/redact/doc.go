// Package redact is the server's redaction engine: it runs on every batch
// after OTLP normalization and before the batch is submitted to the ingest
// pipeline, so no personal data or credential reaches the durable log, the
// database or a temporary file.
//
// The detectors, the rules file format and the keyed hashing are the SDK's
// (package github.com/loupehq/loupe/sdk/redact), so client- and server-side
// redaction agree. This package adds:
//
//   - per-project rules: a rules file with "[project NAME]" sections on top
//     of base rules (Rules, ParseRules; docs/redaction.md);
//   - the walk over everything a span carries (Engine.Batch): canonical
//     string fields, attributes and resource attributes (recursively),
//     payload messages, tool calls, retrieved documents, span events and
//     separately-arrived log records; the user id is keyed-hashed;
//   - per-span counts, loupe.redaction.count and loupe.redaction.rules;
//   - live reloads that keep the rules in force when the new ones are bad
//     (Engine.Reload, Engine.SetProject);
//   - the server secret (LoadSecret).
package redact
