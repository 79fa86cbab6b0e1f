package loupe

import (
	"context"
	"encoding/json"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/loupehq/loupe/sdk/redact"
)

// contentKeys are the attributes that carry content (messages, tool
// arguments and results, queries, documents, generic inputs and outputs).
var contentKeys = map[attribute.Key]bool{
	keyInMessages: true, keyOutMessages: true, keySystem: true,
	keyToolArgs: true, keyToolResult: true, keyQuery: true, keyDocuments: true,
	keyInput: true, keyOutput: true, keyPromptTemplate: true, keyPromptVars: true,
	"gen_ai.tool.definitions": true,
}

// hashKeys are the ids that must stay joinable: keyed-hashed, not dropped.
var hashKeys = map[attribute.Key]bool{
	keyUserID: true, "enduser.id": true, keyAccountID: true, "account.id": true,
}

// contentExporter applies the content mode and redaction to every span
// before handing it to next. It runs on the processor's export goroutine,
// off the application's request path.
type contentExporter struct {
	next     sdktrace.SpanExporter
	redactor *redact.Redactor // nil: redaction off
	content  Content
}

func (e *contentExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.redactor == nil && e.content == ContentFull {
		return e.next.ExportSpans(ctx, spans)
	}
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	wrapped := make([]scrubbedSpan, len(spans)) // one allocation per batch
	for i, s := range spans {
		out[i] = s
		if e.scrub(s, &wrapped[i]) {
			out[i] = &wrapped[i]
		}
	}
	return e.next.ExportSpans(ctx, out)
}

func (e *contentExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// scrubbedSpan is a span with replaced attributes, events and status.
type scrubbedSpan struct {
	sdktrace.ReadOnlySpan
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	status sdktrace.Status
}

func (s *scrubbedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s *scrubbedSpan) Events() []sdktrace.Event         { return s.events }
func (s *scrubbedSpan) Status() sdktrace.Status          { return s.status }

// scrub fills w with s redacted and reports whether anything changed (when
// not, s is exported as it is, with no copy).
func (e *contentExporter) scrub(s sdktrace.ReadOnlySpan, w *scrubbedSpan) bool {
	var counts redact.Counts
	attrs, changed := e.attrs(s.Attributes(), &counts, true)
	events := s.Events()
	cloned := false
	for i := range events {
		a, ch := e.attrs(events[i].Attributes, &counts, false)
		if !ch {
			continue
		}
		if !cloned {
			events, cloned = slices.Clone(events), true
		}
		events[i].Attributes = a
		changed = true
	}
	status := s.Status()
	if e.redactor != nil && status.Description != "" {
		if d := e.redactor.Text(status.Description, &counts); d != status.Description {
			status.Description = d
			changed = true
		}
	}
	if n := counts.Total(); n > 0 {
		attrs = append(slices.Clip(attrs),
			attribute.Int64(keyRedactionCount, int64(n)),
			attribute.String(keyRedactionRules, counts.String()))
		changed = true
	}
	if !changed {
		return false
	}
	*w = scrubbedSpan{ReadOnlySpan: s, attrs: attrs, events: events, status: status}
	return true
}

// attrs returns kvs with the content mode applied, ids hashed and strings
// redacted, and whether anything changed. kvs is copied only on change.
func (e *contentExporter) attrs(kvs []attribute.KeyValue, c *redact.Counts, span bool) ([]attribute.KeyValue, bool) {
	var out []attribute.KeyValue // nil until the first change
	set := func(i int, kv attribute.KeyValue, keep bool) {
		if out == nil {
			out = make([]attribute.KeyValue, i, len(kvs)+2)
			copy(out, kvs[:i])
		}
		if keep {
			out = append(out, kv)
		}
	}
	for i, kv := range kvs {
		orig := kv
		if contentKeys[kv.Key] {
			switch e.content {
			case ContentOff:
				set(i, kv, false)
				continue
			case ContentMetadata:
				v, ok := metadataOnly(kv.Key, kv.Value.AsString())
				if !ok {
					set(i, kv, false)
					continue
				}
				kv = attribute.String(string(kv.Key), v)
			}
		}
		if e.redactor != nil {
			switch kv.Value.Type() {
			case attribute.STRING:
				v := kv.Value.AsString()
				var nv string
				if span && hashKeys[kv.Key] {
					nv = e.redactor.Hash(v)
				} else {
					var drop bool
					if nv, drop = e.redactor.Attr(string(kv.Key), v, c); drop {
						set(i, kv, false)
						continue
					}
				}
				if nv != v {
					kv = attribute.String(string(kv.Key), nv)
				}
			case attribute.STRINGSLICE:
				l := kv.Value.AsStringSlice()
				for j, v := range l {
					if nv := e.redactor.Text(v, c); nv != v {
						l[j] = nv // AsStringSlice returns a copy
						kv = attribute.StringSlice(string(kv.Key), l)
					}
				}
			}
		}
		if out != nil || kv != orig {
			set(i, kv, true)
		}
	}
	if out == nil {
		return kvs, false
	}
	return out, true
}

// metadataOnly strips the texts from a content attribute, keeping its
// shape: message roles, tool call names and ids, finish reasons, document
// ids and scores. Attributes that are nothing but text are dropped (false).
func metadataOnly(k attribute.Key, v string) (string, bool) {
	switch k {
	case keyInMessages, keyOutMessages, keyDocuments:
	default:
		return "", false
	}
	var x any
	if err := json.Unmarshal([]byte(v), &x); err != nil {
		return "", false
	}
	stripText(x)
	b, err := json.Marshal(x)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// stripText deletes every text-bearing field from decoded JSON, in place.
func stripText(x any) {
	switch v := x.(type) {
	case []any:
		for _, e := range v {
			stripText(e)
		}
	case map[string]any:
		for _, k := range []string{"content", "arguments", "response", "result", "text"} {
			delete(v, k)
		}
		for _, e := range v {
			stripText(e)
		}
	}
}
