package loupe

import (
	"encoding/json"
	"fmt"
)

// Message event names of the deprecated OTel GenAI conventions (v1.28–v1.36),
// usually sent as OTLP log records and joined to their span on read.
const (
	EventSystemMessage    = "gen_ai.system.message"
	EventUserMessage      = "gen_ai.user.message"
	EventAssistantMessage = "gen_ai.assistant.message"
	EventToolMessage      = "gen_ai.tool.message"
	EventChoice           = "gen_ai.choice"
)

// AttachEvent joins an event that arrived apart from the span (a log record)
// to it. A GenAI message event whose Body is a canonical message map (keys
// role, content, name, tool_call_id, finish_reason, tool_calls: a list of
// maps with id, name, arguments) becomes an input message, or an output
// message for gen_ai.choice; every other event is appended to Payload.Events.
func (s *Span) AttachEvent(e Event) {
	if s.Payload == nil {
		s.Payload = &Payload{}
	}
	role := ""
	switch e.Name {
	case EventSystemMessage:
		role = "system"
	case EventUserMessage:
		role = "user"
	case EventAssistantMessage, EventChoice:
		role = "assistant"
	case EventToolMessage:
		role = "tool"
	}
	body, ok := e.Body.(map[string]any)
	if role == "" || !ok {
		s.Payload.Events = append(s.Payload.Events, e)
		return
	}
	m := Message{Role: role}
	if r, ok := body["role"].(string); ok && r != "" {
		m.Role = r
	}
	m.Content = stringOf(body["content"])
	m.Name, _ = body["name"].(string)
	m.ToolCallID, _ = body["tool_call_id"].(string)
	m.FinishReason, _ = body["finish_reason"].(string)
	if calls, ok := body["tool_calls"].([]any); ok {
		for _, c := range calls {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			tc := ToolCall{}
			tc.ID, _ = cm["id"].(string)
			tc.Name, _ = cm["name"].(string)
			tc.Arguments = stringOf(cm["arguments"])
			if fn, ok := cm["function"].(map[string]any); ok { // OpenAI shape
				if tc.Name == "" {
					tc.Name, _ = fn["name"].(string)
				}
				if tc.Arguments == "" {
					tc.Arguments = stringOf(fn["arguments"])
				}
			}
			m.ToolCalls = append(m.ToolCalls, tc)
		}
	}
	if e.Name == EventChoice {
		s.Payload.Output = append(s.Payload.Output, m)
		if s.FinishReason == "" {
			s.FinishReason = m.FinishReason
		}
		return
	}
	s.Payload.Input = append(s.Payload.Input, m)
}

func stringOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool, int64, float64, int:
		return fmt.Sprint(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}
