// Package openaitrace records every call of the official OpenAI Go client
// (github.com/openai/openai-go/v3) as a loupe model span, through the
// client's request middleware: chat completions (streamed or not), the
// Responses API and embeddings, with parameters, usage, finish reasons,
// time to first token, retries and errors.
//
//	client := openai.NewClient(openaitrace.Option(loupe.Default()))
package openaitrace

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/openai/openai-go/v3/option"

	loupe "github.com/loupehq/loupe/sdk"
	"github.com/loupehq/loupe/sdk/internal/llmhttp"
)

// provider is the gen_ai.provider.name of the spans.
const provider = "openai"

// Middleware returns the client middleware that traces calls with t.
func Middleware(t *loupe.Tracer) option.Middleware {
	return llmhttp.Middleware(t, llmhttp.Adapter{Request: request, Response: response, Stream: newStream, Error: apiError})
}

// Option is option.WithMiddleware(Middleware(t)), to pass to
// openai.NewClient.
func Option(t *loupe.Tracer) option.RequestOption { return option.WithMiddleware(Middleware(t)) }

type toolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []toolCall      `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Seed                *int64          `json:"seed"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	ToolChoice json.RawMessage `json:"tool_choice"`

	// Responses API.
	Input           json.RawMessage `json:"input"`
	Instructions    string          `json:"instructions"`
	MaxOutputTokens *int64          `json:"max_output_tokens"`
	Text            *struct {
		Format struct {
			Type string `json:"type"`
		} `json:"format"`
	} `json:"text"`

	// Embeddings.
	Dimensions int `json:"dimensions"`
}

func request(path string, body []byte) (llmhttp.Call, bool) {
	var r chatRequest
	if json.Unmarshal(body, &r) != nil {
		return llmhttp.Call{}, false
	}
	switch {
	case strings.HasSuffix(path, "/embeddings"):
		n := 1
		var l []json.RawMessage
		if json.Unmarshal(r.Input, &l) == nil {
			n = len(l)
		}
		return llmhttp.Call{Embedding: &loupe.Embedding{Provider: provider, Model: r.Model, Inputs: n, Dimensions: r.Dimensions}}, true
	case strings.HasSuffix(path, "/chat/completions"), strings.HasSuffix(path, "/responses"):
	default:
		return llmhttp.Call{}, false
	}
	c := loupe.LLM{
		Provider: provider, Model: r.Model, Temperature: r.Temperature, TopP: r.TopP, Seed: r.Seed,
		FrequencyPenalty: r.FrequencyPenalty, PresencePenalty: r.PresencePenalty, Stream: r.Stream,
		MaxTokens: r.MaxCompletionTokens, ToolChoice: toolChoice(r.ToolChoice), System: r.Instructions,
	}
	if c.MaxTokens == nil {
		c.MaxTokens = r.MaxTokens
	}
	if c.MaxTokens == nil {
		c.MaxTokens = r.MaxOutputTokens
	}
	if r.ResponseFormat != nil {
		c.ResponseFormat = r.ResponseFormat.Type
	} else if r.Text != nil {
		c.ResponseFormat = r.Text.Format.Type
	}
	var s string
	if json.Unmarshal(r.Stop, &s) == nil && s != "" {
		c.StopSequences = []string{s}
	} else {
		json.Unmarshal(r.Stop, &c.StopSequences)
	}
	var system []string
	for _, m := range r.Messages {
		text := contentText(m.Content)
		if m.Role == "system" || m.Role == "developer" {
			system = append(system, text)
			continue
		}
		lm := loupe.Message{Role: m.Role, Content: text, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			lm.ToolCalls = append(lm.ToolCalls, loupe.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		c.Messages = append(c.Messages, lm)
	}
	if c.System != "" {
		system = append(system, c.System)
	}
	c.System = strings.Join(system, "\n")
	if len(r.Input) > 0 { // Responses API: a string or a list of messages
		var in string
		if json.Unmarshal(r.Input, &in) == nil {
			c.Messages = append(c.Messages, loupe.Message{Role: "user", Content: in})
		} else {
			var ms []chatMessage
			json.Unmarshal(r.Input, &ms)
			for _, m := range ms {
				c.Messages = append(c.Messages, loupe.Message{Role: m.Role, Content: contentText(m.Content)})
			}
		}
	}
	return llmhttp.Call{LLM: c}, true
}

// contentText returns a message content's text: a string, or the text parts
// of a list of parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// toolChoice reads "auto"/"none"/"required" or {"type":"function","function":{"name":...}}.
func toolChoice(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	switch {
	case o.Function.Name != "":
		return o.Function.Name
	case o.Name != "":
		return o.Name
	}
	return o.Type
}

type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// Responses API.
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *usage) loupe() loupe.Usage {
	if u == nil {
		return loupe.Usage{}
	}
	return loupe.Usage{
		Input:     u.PromptTokens + u.InputTokens,
		CacheRead: u.PromptTokensDetails.CachedTokens + u.InputTokensDetails.CachedTokens,
		Output:    u.CompletionTokens + u.OutputTokens,
		Reasoning: u.CompletionTokensDetails.ReasoningTokens + u.OutputTokensDetails.ReasoningTokens,
	}
}

type chatResponse struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int    `json:"index"`
		FinishReason string `json:"finish_reason"`
		Message      struct {
			Role      string     `json:"role"`
			Content   string     `json:"content"`
			ToolCalls []toolCall `json:"tool_calls"`
		} `json:"message"`
		Delta struct {
			Content   string     `json:"content"`
			ToolCalls []toolCall `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *usage `json:"usage"`

	// Responses API.
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		Type      string `json:"type"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
		Content   []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
}

func (r *chatResponse) loupe() loupe.Response {
	out := loupe.Response{ID: r.ID, Model: r.Model, Usage: r.Usage.loupe()}
	for _, c := range r.Choices {
		m := loupe.Message{Role: "assistant", Content: c.Message.Content}
		for _, tc := range c.Message.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, loupe.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		out.Output = append(out.Output, m)
		out.FinishReasons = append(out.FinishReasons, c.FinishReason)
	}
	if r.Object == "response" || r.Status != "" {
		m := loupe.Message{Role: "assistant"}
		for _, o := range r.Output {
			switch o.Type {
			case "message":
				for _, c := range o.Content {
					m.Content += c.Text
				}
			case "function_call":
				m.ToolCalls = append(m.ToolCalls, loupe.ToolCall{ID: o.CallID, Name: o.Name, Arguments: o.Arguments})
			}
		}
		finish := "stop"
		switch {
		case r.IncompleteDetails != nil && r.IncompleteDetails.Reason == "max_output_tokens":
			finish = "length"
		case r.IncompleteDetails != nil:
			finish = r.IncompleteDetails.Reason
		case len(m.ToolCalls) > 0:
			finish = "tool_calls"
		}
		out.Output = append(out.Output, m)
		out.FinishReasons = append(out.FinishReasons, finish)
	}
	return out
}

func response(body []byte) (loupe.Response, error) {
	var r chatResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return loupe.Response{}, err
	}
	return r.loupe(), nil
}

// stream accumulates chat completion chunks, or Responses API events.
type stream struct {
	resp    chatResponse
	choices map[int]*loupe.Message
	finish  map[int]string
	final   *chatResponse // Responses API: response.completed
	seen    bool
}

func newStream() llmhttp.Stream {
	return &stream{choices: make(map[int]*loupe.Message), finish: make(map[int]string)}
}

func (s *stream) Data(data []byte) {
	var ev struct {
		Type     string        `json:"type"`
		Response *chatResponse `json:"response"`
	}
	if json.Unmarshal(data, &ev) == nil && ev.Response != nil && strings.HasPrefix(ev.Type, "response.") {
		s.final, s.seen = ev.Response, true
		return
	}
	var c chatResponse
	if json.Unmarshal(data, &c) != nil {
		return
	}
	s.seen = true
	if c.ID != "" {
		s.resp.ID = c.ID
	}
	if c.Model != "" {
		s.resp.Model = c.Model
	}
	if c.Usage != nil {
		s.resp.Usage = c.Usage
	}
	for _, ch := range c.Choices {
		m := s.choices[ch.Index]
		if m == nil {
			m = &loupe.Message{Role: "assistant"}
			s.choices[ch.Index] = m
		}
		m.Content += ch.Delta.Content
		for _, tc := range ch.Delta.ToolCalls {
			for len(m.ToolCalls) <= tc.Index {
				m.ToolCalls = append(m.ToolCalls, loupe.ToolCall{})
			}
			t := &m.ToolCalls[tc.Index]
			if tc.ID != "" {
				t.ID = tc.ID
			}
			t.Name += tc.Function.Name
			t.Arguments += tc.Function.Arguments
		}
		if ch.FinishReason != "" {
			s.finish[ch.Index] = ch.FinishReason
		}
	}
}

func (s *stream) Response() (loupe.Response, error) {
	if !s.seen {
		return loupe.Response{}, errors.New("stream carried no data")
	}
	if s.final != nil {
		return s.final.loupe(), nil
	}
	out := loupe.Response{ID: s.resp.ID, Model: s.resp.Model, Usage: s.resp.Usage.loupe()}
	for i := 0; i < len(s.choices); i++ {
		if m := s.choices[i]; m != nil {
			out.Output = append(out.Output, *m)
			out.FinishReasons = append(out.FinishReasons, s.finish[i])
		}
	}
	return out, nil
}

func apiError(status int, body []byte) (string, string) {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	et := e.Error.Type
	if c, ok := e.Error.Code.(string); ok && c != "" {
		et = c
	}
	if et == "" {
		et = http.StatusText(status)
	}
	return et, e.Error.Message
}
