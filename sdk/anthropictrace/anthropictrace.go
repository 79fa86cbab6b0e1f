// Package anthropictrace records every Messages API call of the official
// Anthropic Go client (github.com/anthropics/anthropic-sdk-go) as a loupe
// model span, through the client's request middleware, streamed or not,
// with parameters, usage (cache reads and writes included), stop reasons,
// time to first token, retries and errors.
//
//	client := anthropic.NewClient(anthropictrace.Option(loupe.Default()))
package anthropictrace

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/option"

	loupe "github.com/loupehq/loupe/sdk"
	"github.com/loupehq/loupe/sdk/internal/llmhttp"
)

const provider = "anthropic"

// Middleware returns the client middleware that traces calls with t.
func Middleware(t *loupe.Tracer) option.Middleware {
	return llmhttp.Middleware(t, llmhttp.Adapter{Request: request, Response: response, Stream: newStream, Error: apiError})
}

// Option is option.WithMiddleware(Middleware(t)), to pass to
// anthropic.NewClient.
func Option(t *loupe.Tracer) option.RequestOption { return option.WithMiddleware(Middleware(t)) }

type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

type messageRequest struct {
	Model         string          `json:"model"`
	MaxTokens     *int64          `json:"max_tokens"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *float64        `json:"top_k"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	System        json.RawMessage `json:"system"`
	Messages      []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
}

// blocks reads a content that is a string or a list of blocks.
func blocks(raw json.RawMessage) []block {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []block{{Type: "text", Text: s}}
	}
	var bs []block
	json.Unmarshal(raw, &bs)
	return bs
}

func request(path string, body []byte) (llmhttp.Call, bool) {
	if !strings.HasSuffix(path, "/messages") {
		return llmhttp.Call{}, false
	}
	var r messageRequest
	if json.Unmarshal(body, &r) != nil {
		return llmhttp.Call{}, false
	}
	c := loupe.LLM{Provider: provider, Model: r.Model, MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP,
		TopK: r.TopK, StopSequences: r.StopSequences, Stream: r.Stream}
	if r.ToolChoice != nil {
		switch r.ToolChoice.Type {
		case "any":
			c.ToolChoice = "required"
		case "tool":
			c.ToolChoice = r.ToolChoice.Name
		default:
			c.ToolChoice = r.ToolChoice.Type
		}
	}
	for _, b := range blocks(r.System) {
		c.System += b.Text
	}
	for _, m := range r.Messages {
		msg := loupe.Message{Role: m.Role}
		for _, b := range blocks(m.Content) {
			switch b.Type {
			case "text":
				msg.Content += b.Text
			case "tool_use":
				msg.ToolCalls = append(msg.ToolCalls, loupe.ToolCall{ID: b.ID, Name: b.Name, Arguments: string(b.Input)})
			case "tool_result":
				var text string
				for _, rb := range blocks(b.Content) {
					text += rb.Text
				}
				c.Messages = append(c.Messages, loupe.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: text})
			}
		}
		if msg.Content != "" || len(msg.ToolCalls) > 0 {
			c.Messages = append(c.Messages, msg)
		}
	}
	return llmhttp.Call{LLM: c}, true
}

type usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
}

type message struct {
	ID         string  `json:"id"`
	Model      string  `json:"model"`
	StopReason string  `json:"stop_reason"`
	Content    []block `json:"content"`
	Usage      usage   `json:"usage"`
}

// loupe converts m. Anthropic's input_tokens excludes cached tokens; the
// OpenTelemetry convention's input total includes them (SEMCONV §1.3).
func (m *message) loupe() loupe.Response {
	u := m.Usage
	out := loupe.Message{Role: "assistant"}
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			out.Content += b.Text
		case "tool_use":
			out.ToolCalls = append(out.ToolCalls, loupe.ToolCall{ID: b.ID, Name: b.Name, Arguments: string(b.Input)})
		}
	}
	r := loupe.Response{ID: m.ID, Model: m.Model, Output: []loupe.Message{out},
		Usage: loupe.Usage{Input: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
			CacheRead: u.CacheReadInputTokens, CacheWrite: u.CacheCreationInputTokens, Output: u.OutputTokens}}
	if m.StopReason != "" {
		r.FinishReasons = []string{m.StopReason}
	}
	return r
}

func response(body []byte) (loupe.Response, error) {
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return loupe.Response{}, err
	}
	return m.loupe(), nil
}

// stream accumulates Messages API stream events.
type stream struct {
	msg  message
	args map[int]*strings.Builder // tool_use input JSON by block index
	seen bool
}

func newStream() llmhttp.Stream { return &stream{args: make(map[int]*strings.Builder)} }

func (s *stream) Data(data []byte) {
	var ev struct {
		Type         string   `json:"type"`
		Index        int      `json:"index"`
		Message      *message `json:"message"`
		ContentBlock *block   `json:"content_block"`
		Delta        struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			PartialJSON string `json:"partial_json"`
			StopReason  string `json:"stop_reason"`
		} `json:"delta"`
		Usage *usage `json:"usage"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	s.seen = true
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			s.msg = *ev.Message
		}
	case "content_block_start":
		if ev.ContentBlock != nil {
			for len(s.msg.Content) <= ev.Index {
				s.msg.Content = append(s.msg.Content, block{})
			}
			b := *ev.ContentBlock
			b.Input = nil
			s.msg.Content[ev.Index] = b
		}
	case "content_block_delta":
		if ev.Index >= len(s.msg.Content) {
			return
		}
		switch ev.Delta.Type {
		case "text_delta":
			s.msg.Content[ev.Index].Text += ev.Delta.Text
		case "input_json_delta":
			b := s.args[ev.Index]
			if b == nil {
				b = new(strings.Builder)
				s.args[ev.Index] = b
			}
			b.WriteString(ev.Delta.PartialJSON)
		}
	case "message_delta":
		if ev.Delta.StopReason != "" {
			s.msg.StopReason = ev.Delta.StopReason
		}
		if ev.Usage != nil {
			// Cumulative counts; input counts appear here too on newer API versions.
			s.msg.Usage.OutputTokens = ev.Usage.OutputTokens
			if ev.Usage.InputTokens > 0 {
				s.msg.Usage.InputTokens = ev.Usage.InputTokens
			}
			if ev.Usage.CacheReadInputTokens > 0 {
				s.msg.Usage.CacheReadInputTokens = ev.Usage.CacheReadInputTokens
			}
			if ev.Usage.CacheCreationInputTokens > 0 {
				s.msg.Usage.CacheCreationInputTokens = ev.Usage.CacheCreationInputTokens
			}
		}
	}
}

func (s *stream) Response() (loupe.Response, error) {
	if !s.seen {
		return loupe.Response{}, errors.New("stream carried no events")
	}
	for i, b := range s.args {
		if i < len(s.msg.Content) {
			s.msg.Content[i].Input = json.RawMessage(b.String())
		}
	}
	return s.msg.loupe(), nil
}

func apiError(status int, body []byte) (string, string) {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	if e.Error.Type == "" {
		e.Error.Type = http.StatusText(status)
	}
	return e.Error.Type, e.Error.Message
}
