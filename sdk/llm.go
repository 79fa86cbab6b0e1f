package loupe

import (
	"context"
	"encoding/json"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// LLM describes one model call: the one wrapper every model call passes
// through. Nil pointers and empty strings are not recorded.
type LLM struct {
	Name      string // span name; "" = "{Operation} {Model}"
	Operation string // gen_ai.operation.name; "" = chat
	Provider  string // gen_ai.provider.name: openai, anthropic, ...
	Model     string // gen_ai.request.model

	Temperature      *float64 // gen_ai.request.temperature
	TopP             *float64 // gen_ai.request.top_p
	TopK             *float64 // gen_ai.request.top_k
	MaxTokens        *int64   // gen_ai.request.max_tokens
	Seed             *int64   // gen_ai.request.seed
	FrequencyPenalty *float64 // gen_ai.request.frequency_penalty
	PresencePenalty  *float64 // gen_ai.request.presence_penalty
	StopSequences    []string // gen_ai.request.stop_sequences
	Stream           bool     // gen_ai.request.stream (recorded when true)
	// ResponseFormat is text, json_object or json_schema (or json, image,
	// speech): gen_ai.output.type, and loupe.request.response_format as given.
	ResponseFormat string
	// ToolChoice is auto, none, required or a tool name (gen_ai.request.tool_choice).
	ToolChoice string
	// Timeout is the client-side timeout (loupe.request.timeout_ms).
	Timeout time.Duration

	// Prompt version that produced the messages (loupe.prompt.*).
	PromptName, PromptVersionID, ReleaseLabel string
	ConversationID                            string // gen_ai.conversation.id

	// System is the system instructions (gen_ai.system_instructions; content).
	System string
	// Messages are the input messages (gen_ai.input.messages; content).
	Messages []Message
}

// Message is one chat message.
type Message struct {
	Role       string // system, user, assistant or tool
	Content    string
	ToolCalls  []ToolCall // assistant tool calls
	ToolCallID string     // for role tool: the call answered
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID, Name, Arguments string
}

// Usage counts tokens as the OpenTelemetry conventions do: Input includes
// the cached tokens (CacheRead, CacheWrite) and Output includes Reasoning.
type Usage struct {
	Input      int64 // gen_ai.usage.input_tokens
	CacheRead  int64 // gen_ai.usage.cache_read.input_tokens
	CacheWrite int64 // gen_ai.usage.cache_creation.input_tokens
	Output     int64 // gen_ai.usage.output_tokens
	Reasoning  int64 // gen_ai.usage.reasoning.output_tokens
}

// Response is what a model call returned.
type Response struct {
	ID            string   // gen_ai.response.id
	Model         string   // gen_ai.response.model (the served model)
	FinishReasons []string // gen_ai.response.finish_reasons, one per choice
	Usage         Usage
	Output        []Message // gen_ai.output.messages (content)
}

// LLMSpan is a started model-call span.
type LLMSpan struct{ Span }

// StartLLM starts a model-call span (OpenTelemetry kind client) recording
// the provider, model, every parameter, the prompt version and the input.
func (t *Tracer) StartLLM(ctx context.Context, c LLM, opts ...trace.SpanStartOption) (context.Context, LLMSpan) {
	op := or(c.Operation, "chat")
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs, attribute.String(keySpanKind, "llm"), attribute.String(keyOperation, op))
	attrs = appendStr(attrs, keyProvider, c.Provider)
	attrs = appendStr(attrs, keyReqModel, c.Model)
	attrs = appendFloat(attrs, keyTemperature, c.Temperature)
	attrs = appendFloat(attrs, keyTopP, c.TopP)
	attrs = appendFloat(attrs, keyTopK, c.TopK)
	attrs = appendInt(attrs, keyMaxTokens, c.MaxTokens)
	attrs = appendInt(attrs, keySeed, c.Seed)
	attrs = appendFloat(attrs, keyFreqPenalty, c.FrequencyPenalty)
	attrs = appendFloat(attrs, keyPresPenalty, c.PresencePenalty)
	if len(c.StopSequences) > 0 {
		attrs = append(attrs, attribute.StringSlice(keyStop, c.StopSequences))
	}
	if c.Stream {
		attrs = append(attrs, attribute.Bool(keyStream, true))
	}
	if c.ResponseFormat != "" {
		attrs = append(attrs, attribute.String(keyOutputType, outputType(c.ResponseFormat)),
			attribute.String(keyRespFormat, c.ResponseFormat))
	}
	attrs = appendStr(attrs, keyToolChoice, c.ToolChoice)
	if c.Timeout > 0 {
		attrs = append(attrs, attribute.Float64(keyTimeoutMs, millis(c.Timeout)))
	}
	attrs = appendStr(attrs, keyPromptName, c.PromptName)
	attrs = appendStr(attrs, keyPromptVersion, c.PromptVersionID)
	attrs = appendStr(attrs, keyReleaseLabel, c.ReleaseLabel)
	attrs = appendStr(attrs, keyConversation, c.ConversationID)
	if c.System != "" {
		attrs = append(attrs, attribute.String(keySystem, jsonString([]part{{Type: "text", Content: c.System}})))
	}
	if len(c.Messages) > 0 {
		attrs = append(attrs, attribute.String(keyInMessages, messagesJSON(c.Messages, nil)))
	}
	name := c.Name
	if name == "" {
		name = op + " " + c.Model
	}
	ctx, s := t.start(ctx, name, trace.SpanKindClient, attrs, opts)
	return ctx, LLMSpan{s}
}

// outputType maps a response format to gen_ai.output.type.
func outputType(f string) string {
	switch f {
	case "json_object", "json_schema", "json":
		return "json"
	}
	return f
}

// SetResponse records the response: id, served model, finish reasons,
// token usage and output messages.
func (l LLMSpan) SetResponse(r Response) {
	attrs := make([]attribute.KeyValue, 0, 9)
	attrs = appendStr(attrs, keyRespID, r.ID)
	attrs = appendStr(attrs, keyRespModel, r.Model)
	if len(r.FinishReasons) > 0 {
		attrs = append(attrs, attribute.StringSlice(keyFinish, r.FinishReasons))
	}
	attrs = append(attrs, attribute.Int64(keyInTokens, r.Usage.Input), attribute.Int64(keyOutTokens, r.Usage.Output))
	if r.Usage.CacheRead > 0 {
		attrs = append(attrs, attribute.Int64(keyCacheRead, r.Usage.CacheRead))
	}
	if r.Usage.CacheWrite > 0 {
		attrs = append(attrs, attribute.Int64(keyCacheWrite, r.Usage.CacheWrite))
	}
	if r.Usage.Reasoning > 0 {
		attrs = append(attrs, attribute.Int64(keyReasoning, r.Usage.Reasoning))
	}
	if len(r.Output) > 0 {
		attrs = append(attrs, attribute.String(keyOutMessages, messagesJSON(r.Output, r.FinishReasons)))
	}
	l.OTel().SetAttributes(attrs...)
}

// SetTimeToFirstToken records when a stream's first chunk arrived, after
// the span's start (gen_ai.response.time_to_first_chunk, in seconds).
func (l LLMSpan) SetTimeToFirstToken(d time.Duration) {
	l.OTel().SetAttributes(attribute.Float64(keyTTFC, d.Seconds()))
}

// FirstToken records that a stream's first chunk arrived now.
func (l LLMSpan) FirstToken() {
	if ro, ok := l.OTel().(sdktrace.ReadOnlySpan); ok {
		l.SetTimeToFirstToken(time.Since(ro.StartTime()))
	}
}

// SetRetries records how many times the call was retried (loupe.llm.retries).
func (l LLMSpan) SetRetries(n int) {
	l.OTel().SetAttributes(attribute.Int(keyRetries, n))
}

func appendFloat(attrs []attribute.KeyValue, k string, v *float64) []attribute.KeyValue {
	if v == nil {
		return attrs
	}
	return append(attrs, attribute.Float64(k, *v))
}

func appendInt(attrs []attribute.KeyValue, k string, v *int64) []attribute.KeyValue {
	if v == nil {
		return attrs
	}
	return append(attrs, attribute.Int64(k, *v))
}

// part is one message part of the GenAI message JSON schemas.
type part struct {
	Type      string `json:"type"`
	Content   string `json:"content,omitempty"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments any    `json:"arguments,omitempty"`
	Response  string `json:"response,omitempty"`
}

type genaiMessage struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// messagesJSON encodes messages in the gen_ai.input.messages /
// gen_ai.output.messages schema; finish[i] is message i's finish reason.
func messagesJSON(msgs []Message, finish []string) string {
	out := make([]genaiMessage, len(msgs))
	for i, m := range msgs {
		g := genaiMessage{Role: m.Role}
		if i < len(finish) {
			g.FinishReason = finish[i]
		}
		switch {
		case m.Role == "tool" || m.ToolCallID != "":
			g.Parts = append(g.Parts, part{Type: "tool_call_response", ID: m.ToolCallID, Response: m.Content})
		case m.Content != "":
			g.Parts = append(g.Parts, part{Type: "text", Content: m.Content})
		}
		for _, tc := range m.ToolCalls {
			var args any = tc.Arguments
			if json.Valid([]byte(tc.Arguments)) {
				args = json.RawMessage(tc.Arguments)
			}
			g.Parts = append(g.Parts, part{Type: "tool_call", ID: tc.ID, Name: tc.Name, Arguments: args})
		}
		if g.Parts == nil {
			g.Parts = []part{}
		}
		out[i] = g
	}
	return jsonString(out)
}

// jsonString marshals v, which cannot fail for the types used here.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
