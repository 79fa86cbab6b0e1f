package loupe

import "time"

// Kind is the canonical role of a span (DESIGN.md §2).
type Kind string

// Span kinds. KindSpan is the generic fallback.
const (
	KindRequest   Kind = "request"
	KindAgent     Kind = "agent"
	KindChain     Kind = "chain"
	KindPrompt    Kind = "prompt"
	KindRetrieval Kind = "retrieval"
	KindEmbedding Kind = "embedding"
	KindLLM       Kind = "llm"
	KindTool      Kind = "tool"
	KindParser    Kind = "parser"
	KindEval      Kind = "eval"
	KindGuardrail Kind = "guardrail"
	KindSpan      Kind = "span"
)

// Kinds lists every valid Kind.
var Kinds = []Kind{KindRequest, KindAgent, KindChain, KindPrompt, KindRetrieval,
	KindEmbedding, KindLLM, KindTool, KindParser, KindEval, KindGuardrail, KindSpan}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Billable reports whether spans of this kind are priced. Only leaf model
// calls are: wrapper spans (agent, chain, request) that carry aggregate usage
// never add cost.
func (k Kind) Billable() bool { return k == KindLLM || k == KindEmbedding }

// Status is a span's outcome.
type Status string

// Span statuses, as OTLP's status codes.
const (
	StatusUnset Status = "unset"
	StatusOK    Status = "ok"
	StatusError Status = "error"
)

// Cost sources (Span.CostSource). A computed cost is "computed:<table version>".
const (
	CostReported = "reported"
	CostUnknown  = "unknown"
	// CostComputedPrefix prefixes the price-table version in CostSource.
	CostComputedPrefix = "computed:"
)

// DefaultProject is the project of spans ingested without a project-scoped key.
const DefaultProject = "default"

// Usage holds token counts in exclusive buckets: Input excludes cached
// tokens (CacheRead, CacheWrite) and Output excludes Reasoning, so the sum of
// all five is the total with no double counting (SEMCONV.md §7.7).
type Usage struct {
	Input      int64 `json:"input_tokens"`
	CacheRead  int64 `json:"cache_read_tokens"`
	CacheWrite int64 `json:"cache_write_tokens"`
	Output     int64 `json:"output_tokens"`
	Reasoning  int64 `json:"reasoning_tokens"`
}

// Total returns the sum of all buckets.
func (u Usage) Total() int64 { return u.Input + u.CacheRead + u.CacheWrite + u.Output + u.Reasoning }

// IsZero reports whether no tokens are recorded.
func (u Usage) IsZero() bool { return u == Usage{} }

// Params holds a model call's request parameters. Nil pointers and empty
// strings mean "not recorded".
type Params struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *float64 `json:"top_k,omitempty"`
	MaxTokens        *int64   `json:"max_tokens,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	Stream           *bool    `json:"stream,omitempty"`
	StopSequences    []string `json:"stop_sequences,omitempty"`
	// ResponseFormat is text, json, json_object, json_schema, image or speech.
	ResponseFormat string `json:"response_format,omitempty"`
	// ToolChoice is auto, none, required or a tool name.
	ToolChoice string `json:"tool_choice,omitempty"`
	// TimeoutMs is the client-side timeout of the call in milliseconds.
	TimeoutMs *float64 `json:"timeout_ms,omitempty"`
}

// IsZero reports whether no parameter is recorded.
func (p *Params) IsZero() bool {
	return p.Temperature == nil && p.TopP == nil && p.TopK == nil && p.MaxTokens == nil &&
		p.Seed == nil && p.FrequencyPenalty == nil && p.PresencePenalty == nil && p.Stream == nil &&
		len(p.StopSequences) == 0 && p.ResponseFormat == "" && p.ToolChoice == "" && p.TimeoutMs == nil
}

// Document is one retrieved document's metadata. Its text lives in the
// payload (Payload.Documents), so metadata-only storage keeps ids and scores.
type Document struct {
	ID     string   `json:"id,omitempty"`
	Score  *float64 `json:"score,omitempty"`
	Tokens int64    `json:"tokens,omitempty"`
}

// Span is one step of a trace in loupe's canonical form: first-class fields
// for everything filters and statistics touch, a typed attribute map for the
// rest, and the payload apart.
//
// Strings are "" when unknown; Start and End are wall-clock times (UTC).
type Span struct {
	Project      string  `json:"project"`
	TraceID      TraceID `json:"trace_id"`
	SpanID       SpanID  `json:"span_id"`
	ParentSpanID SpanID  `json:"parent_span_id"`
	Name         string  `json:"name"`
	Kind         Kind    `json:"kind"`
	// OTelKind is the OTLP span kind name (internal, server, client, producer, consumer).
	OTelKind string    `json:"otel_kind,omitempty"`
	Start    time.Time `json:"start_time"`
	End      time.Time `json:"end_time"`

	Status        Status `json:"status"`
	StatusMessage string `json:"status_message,omitempty"`
	// ErrorType is error.type, a tool error code, or an exception type.
	ErrorType string `json:"error_type,omitempty"`

	Service      string `json:"service,omitempty"`
	Environment  string `json:"environment,omitempty"`
	DeploymentID string `json:"deployment_id,omitempty"`
	Tenant       string `json:"tenant,omitempty"`
	Route        string `json:"route,omitempty"`
	SessionID    string `json:"session_id,omitempty"`
	// UserID is the end user's id; hashed by redaction before storage.
	UserID string `json:"user_id,omitempty"`

	PromptName      string `json:"prompt_name,omitempty"`
	PromptVersionID string `json:"prompt_version_id,omitempty"`
	ReleaseLabel    string `json:"release_label,omitempty"`

	Provider      string `json:"provider,omitempty"`
	RequestModel  string `json:"request_model,omitempty"`
	ResponseModel string `json:"response_model,omitempty"`
	Params        Params `json:"params,omitzero"`
	Usage         Usage  `json:"usage"`
	// CostUSD is the span's own cost in US dollars (0 with CostUnknown).
	CostUSD float64 `json:"cost_usd"`
	// CostSource is CostReported, CostUnknown or CostComputedPrefix+version.
	CostSource   string `json:"cost_source,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`

	ToolName       string     `json:"tool_name,omitempty"`
	RetrievalIndex string     `json:"retrieval_index,omitempty"`
	RetrievalCount int64      `json:"retrieval_count,omitempty"`
	Documents      []Document `json:"documents,omitempty"`

	// Attributes holds every attribute not mapped to a field above, span and
	// resource (resource keys prefixed "resource."). Values are string,
	// int64, float64, bool, []any or map[string]any.
	Attributes map[string]any `json:"attributes,omitempty"`

	// Payload holds the large bodies; nil when none or stripped.
	Payload *Payload `json:"payload,omitempty"`

	// Sample is what the tail sampler kept of this span's trace and the
	// weight it carries; the zero value means sampling was off (kept in
	// full, weight 1).
	Sample Sample `json:"sample,omitzero"`
	// PayloadRemoved, when not "", says why the span's payload was dropped
	// after it was stored (PayloadRemovedRetention); Payload is then nil.
	PayloadRemoved string `json:"payload_removed,omitempty"`
}

// PayloadRemovedRetention is Span.PayloadRemoved for a payload dropped by
// the retention policy.
const PayloadRemovedRetention = "retention"

// Duration returns End - Start.
func (s *Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// IsRoot reports whether the span has no parent.
func (s *Span) IsRoot() bool { return s.ParentSpanID.IsZero() }

// Failed reports whether the span failed: error status, or a recorded error
// type (a tool's error code), as SEMCONV.md §0 defines a failed tool call.
func (s *Span) Failed() bool { return s.Status == StatusError || s.ErrorType != "" }

// Payload holds a span's large, sensitive bodies.
type Payload struct {
	// Input and Output are chat messages; system instructions are input
	// messages with role "system".
	Input  []Message `json:"input,omitempty"`
	Output []Message `json:"output,omitempty"`
	// ToolArguments and ToolResult are a tool call's arguments and result,
	// usually JSON text.
	ToolArguments string `json:"tool_arguments,omitempty"`
	ToolResult    string `json:"tool_result,omitempty"`
	// Query is a retrieval query text.
	Query string `json:"query,omitempty"`
	// Documents are the retrieved documents' texts, aligned with Span.Documents.
	Documents []DocumentText `json:"documents,omitempty"`
	// InputValue and OutputValue are generic inputs and outputs (chains,
	// agents, parsers) that are not chat messages.
	InputValue  string `json:"input_value,omitempty"`
	OutputValue string `json:"output_value,omitempty"`
	// Events are OTLP span events and log records joined to the span
	// (exceptions, legacy GenAI message events, evaluations).
	Events []Event `json:"events,omitempty"`
}

// IsZero reports whether the payload holds nothing.
func (p *Payload) IsZero() bool {
	return p == nil || (len(p.Input) == 0 && len(p.Output) == 0 && p.ToolArguments == "" &&
		p.ToolResult == "" && p.Query == "" && len(p.Documents) == 0 && p.InputValue == "" &&
		p.OutputValue == "" && len(p.Events) == 0)
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content,omitempty"`
	// Parts holds non-text or multi-part content (images, reasoning, ...) as
	// the producer sent it, when Content alone cannot carry it.
	Parts        []map[string]any `json:"parts,omitempty"`
	Name         string           `json:"name,omitempty"`
	ToolCalls    []ToolCall       `json:"tool_calls,omitempty"`
	ToolCallID   string           `json:"tool_call_id,omitempty"`
	FinishReason string           `json:"finish_reason,omitempty"`
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Arguments string `json:"arguments,omitempty"`
}

// DocumentText is the text of one retrieved document.
type DocumentText struct {
	ID       string `json:"id,omitempty"`
	Content  string `json:"content,omitempty"`
	Metadata string `json:"metadata,omitempty"`
}

// Event is a timestamped record attached to a span: an OTLP span event, or
// an OTLP log record joined to its span by (trace id, span id).
type Event struct {
	Time       time.Time      `json:"time"`
	Name       string         `json:"name"`
	Body       any            `json:"body,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}
