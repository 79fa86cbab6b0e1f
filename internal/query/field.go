package query

import (
	"strings"

	"github.com/loupehq/loupe"
)

// Scope says where a field's value lives.
type Scope uint8

// Field scopes.
const (
	// SpanScope fields are first-class span columns.
	SpanScope Scope = iota + 1
	// TraceScope fields (trace.*) describe the whole trace.
	TraceScope
	// AttrScope fields are keys of the span attribute map.
	AttrScope
	// TextScope fields are full-text targets over the span payload.
	TextScope
)

// String returns the scope's lowercase name.
func (s Scope) String() string {
	switch s {
	case SpanScope:
		return "span"
	case TraceScope:
		return "trace"
	case AttrScope:
		return "attr"
	case TextScope:
		return "text"
	}
	return "invalid"
}

// Type is the value type of a field; it decides which operators and values
// the parser accepts.
type Type uint8

// Field types.
const (
	// String fields take quoted strings or bare words.
	String Type = iota + 1
	// Enum fields take one of a fixed set of words (Field.Values).
	Enum
	// Number fields take numbers (token counts, span counts).
	Number
	// Money fields take amounts in US dollars: 0.01 or $0.01.
	Money
	// Duration fields take Go-style durations with a unit: 300us, 150ms, 2s, 1.5m, 2h.
	Duration
	// Time fields take RFC 3339 timestamps.
	Time
	// ID fields take a trace id (32 hex characters).
	ID
	// Text fields are payload full-text targets; only contains applies.
	Text
	// Any is the type of attribute keys: the literal decides (number, bool
	// or string).
	Any
)

// String returns the type's lowercase name.
func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Enum:
		return "enum"
	case Number:
		return "number"
	case Money:
		return "money"
	case Duration:
		return "duration"
	case Time:
		return "time"
	case ID:
		return "id"
	case Text:
		return "text"
	case Any:
		return "any"
	}
	return "invalid"
}

// Field is a filterable field: a canonical span or trace column, a payload
// full-text target, or an attribute key. Fields are comparable.
type Field struct {
	// Name is the canonical field name as written in filters ("status",
	// "prompt.version_id", "trace.duration"), or the attribute key for
	// AttrScope (without any "attr." prefix).
	Name string
	// Scope says where the value lives.
	Scope Scope
	// Type is the value type.
	Type Type
	// Column is the canonical snake_case column (DESIGN.md §5): for span
	// fields the span column ("prompt_version_id", "duration_ns",
	// "cost_usd"), for trace fields the trace summary column ("status",
	// "span_count"). It is "" for attributes and text fields.
	//
	// The span field "model" has the virtual column "model": backends match
	// it against request_model OR response_model; the negative operators
	// (!=, !~, not in) are the negation of the positive ones, so
	// model != "x" means neither column equals "x".
	Column string
}

// Values returns the valid values of an Enum field, nil otherwise.
func (f Field) Values() []string {
	if f.Type != Enum {
		return nil
	}
	switch {
	case f.Scope == SpanScope && f.Name == "kind":
		vs := make([]string, len(loupe.Kinds))
		for i, k := range loupe.Kinds {
			vs[i] = string(k)
		}
		return vs
	case f.Scope == SpanScope && f.Name == "status":
		return []string{string(loupe.StatusOK), string(loupe.StatusError), string(loupe.StatusUnset)}
	case f.Scope == TraceScope && f.Name == "trace.status":
		return []string{string(loupe.TraceOK), string(loupe.TraceDegraded), string(loupe.TraceError)}
	}
	return nil
}

// String returns the field as written in a canonical filter.
func (f Field) String() string {
	if f.Scope != AttrScope {
		return f.Name
	}
	return attrKeyString(f.Name)
}

// fieldNames lists the canonical names of the known fields, in Fields
// order; aliasNames lists their other accepted names. lookupKnown maps both.
const (
	fieldNames = "name kind status status_message error.type service environment deployment.id tenant route " +
		"session.id user.id prompt.name prompt.version_id prompt.release_label provider model request_model " +
		"response_model input_tokens output_tokens cache_read_tokens cache_write_tokens reasoning_tokens " +
		"total_tokens cost finish_reason tool.name retrieval.index retrieval.count duration start " +
		"trace.id trace.name trace.status trace.duration trace.cost trace.tokens trace.spans trace.errors " +
		"input output payload"
	aliasNames = "error_type env deployment_id session session_id user user_id prompt_name prompt.version " +
		"prompt_version_id release release_label tokens cost_usd tool_name retrieval_index retrieval_count"
)

// lookupKnown resolves a known field name or alias. It is a switch rather
// than a table so that the package has no state and lookups allocate
// nothing.
func lookupKnown(name string) (Field, bool) {
	span := func(name string, t Type, col string) (Field, bool) {
		return Field{Name: name, Scope: SpanScope, Type: t, Column: col}, true
	}
	trace := func(name string, t Type, col string) (Field, bool) {
		return Field{Name: name, Scope: TraceScope, Type: t, Column: col}, true
	}
	switch name {
	case "name", "kind", "status", "status_message", "service", "tenant", "route", "provider",
		"model", "request_model", "response_model", "finish_reason":
		t := String
		if name == "kind" || name == "status" {
			t = Enum
		}
		return span(name, t, name)
	case "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens":
		return span(name, Number, name)
	case "error.type", "error_type":
		return span("error.type", String, "error_type")
	case "environment", "env":
		return span("environment", String, "environment")
	case "deployment.id", "deployment_id":
		return span("deployment.id", String, "deployment_id")
	case "session.id", "session", "session_id":
		return span("session.id", String, "session_id")
	case "user.id", "user", "user_id":
		return span("user.id", String, "user_id")
	case "prompt.name", "prompt_name":
		return span("prompt.name", String, "prompt_name")
	case "prompt.version_id", "prompt.version", "prompt_version_id":
		return span("prompt.version_id", String, "prompt_version_id")
	case "prompt.release_label", "release", "release_label":
		return span("prompt.release_label", String, "release_label")
	case "total_tokens", "tokens":
		return span("total_tokens", Number, "total_tokens")
	case "cost", "cost_usd":
		return span("cost", Money, "cost_usd")
	case "tool.name", "tool_name":
		return span("tool.name", String, "tool_name")
	case "retrieval.index", "retrieval_index":
		return span("retrieval.index", String, "retrieval_index")
	case "retrieval.count", "retrieval_count":
		return span("retrieval.count", Number, "retrieval_count")
	case "duration":
		return span("duration", Duration, "duration_ns")
	case "start":
		return span("start", Time, "start_time")
	case "trace.id":
		return trace(name, ID, "trace_id")
	case "trace.name":
		return trace(name, String, "name")
	case "trace.status":
		return trace(name, Enum, "status")
	case "trace.duration":
		return trace(name, Duration, "duration_ns")
	case "trace.cost":
		return trace(name, Money, "cost_usd")
	case "trace.tokens":
		return trace(name, Number, "total_tokens")
	case "trace.spans":
		return trace(name, Number, "span_count")
	case "trace.errors":
		return trace(name, Number, "error_count")
	case "input", "output", "payload":
		return Field{Name: name, Scope: TextScope, Type: Text}, true
	}
	return Field{}, false
}

// Fields lists the known span, trace and text fields in a stable order.
// Attribute keys are not listed: any key is accepted (see ParseField).
func Fields() []Field {
	names := strings.Fields(fieldNames)
	fs := make([]Field, len(names))
	for i, n := range names {
		fs[i], _ = lookupKnown(n)
	}
	return fs
}

// AttrPrefix introduces an explicit attribute key: attr.http.route.
const AttrPrefix = "attr."

// ParseField resolves a field name as written unquoted in a filter: a known
// field or one of its aliases ("env", "tokens", "prompt.version"),
// "attr.<key>", or a dotted attribute key ("http.route"). It is meant for
// lists of fields outside filters, such as stats' by=. Errors are *Error
// with Pos 0.
func ParseField(name string) (Field, error) {
	f, msg := resolveField(name)
	if msg != "" {
		return Field{}, &Error{Pos: 0, Msg: msg}
	}
	return f, nil
}

// resolveField resolves a bare field word, returning an error message on
// failure.
func resolveField(name string) (Field, string) {
	if f, ok := lookupKnown(name); ok {
		return f, ""
	}
	if key, ok := strings.CutPrefix(name, AttrPrefix); ok {
		if key == "" {
			return Field{}, `expected an attribute key after "attr."`
		}
		if !isKey(key) {
			return Field{}, "invalid attribute key " + quote(key) + "; quote keys with other characters"
		}
		return Field{Name: key, Scope: AttrScope, Type: Any}, ""
	}
	if !isKey(name) {
		return Field{}, "invalid field name " + quote(name)
	}
	// Known fields' namespaces: an unknown key under one of them is almost
	// certainly a typo, so it is an error rather than an attribute key;
	// attr.<key> still reaches such attributes.
	for _, p := range [...]string{"trace.", "error.", "deployment.", "session.", "user.", "prompt.", "tool.", "retrieval."} {
		if strings.HasPrefix(name, p) {
			return Field{}, unknownField(name)
		}
	}
	if strings.Contains(name, ".") {
		return Field{Name: name, Scope: AttrScope, Type: Any}, ""
	}
	return Field{}, unknownField(name)
}

func unknownField(name string) string {
	var b strings.Builder
	b.WriteString("unknown field ")
	b.WriteString(quote(name))
	if s := suggest(name); s != "" {
		b.WriteString(" (did you mean ")
		b.WriteString(quote(s))
		b.WriteString("?)")
	}
	b.WriteString("; for an attribute key write attr.")
	b.WriteString(name)
	if s := suggest(name); s == "" {
		b.WriteString("; fields: ")
		for i, f := range Fields() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
		}
	}
	return b.String()
}

// suggest returns the known field name or alias closest to name, if within
// edit distance 2, else "".
func suggest(name string) string {
	best, bestD := "", 3
	for _, n := range strings.Fields(fieldNames + " " + aliasNames) {
		if d := editDistance(name, n, bestD); d < bestD {
			f, _ := lookupKnown(n)
			best, bestD = f.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, or max when it
// is at least max.
func editDistance(a, b string, max int) int {
	if len(a) > 64 || len(b) > 64 || abs(len(a)-len(b)) >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// attrKeyString prints an attribute key so that it parses back to the same
// attribute: bare when it is a dotted key that is not a known field, with
// the attr. prefix when it is a plain key, quoted otherwise.
func attrKeyString(key string) string {
	if isKey(key) {
		if f, msg := resolveField(key); msg == "" && f.Scope == AttrScope && f.Name == key {
			return key
		}
		return AttrPrefix + key
	}
	return quote(key)
}
