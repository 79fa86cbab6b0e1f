package loupe_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

func TestAttachEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name             string
		span             loupe.Span // before; FinishReason may be preset
		events           []loupe.Event
		want             *loupe.Payload
		wantFinishReason string
	}{
		{
			name: "system and user messages become input in order",
			events: []loupe.Event{
				{Time: at, Name: loupe.EventSystemMessage, Body: map[string]any{"content": "You are terse."}},
				{Time: at, Name: loupe.EventUserMessage, Body: map[string]any{"content": "Weather in Paris?"}},
			},
			want: &loupe.Payload{Input: []loupe.Message{
				{Role: "system", Content: "You are terse."},
				{Role: "user", Content: "Weather in Paris?"},
			}},
		},
		{
			name: "role in the body wins",
			events: []loupe.Event{
				{Name: loupe.EventUserMessage, Body: map[string]any{"role": "developer", "content": "x"}},
			},
			want: &loupe.Payload{Input: []loupe.Message{{Role: "developer", Content: "x"}}},
		},
		{
			name: "assistant tool calls and tool result",
			events: []loupe.Event{
				{Name: loupe.EventAssistantMessage, Body: map[string]any{
					"tool_calls": []any{
						map[string]any{"id": "call_1", "name": "get_weather", "arguments": `{"city":"Paris"}`},
						"not a map, skipped",
						map[string]any{"id": "call_2", "name": "get_time"},
					},
				}},
				{Name: loupe.EventToolMessage, Body: map[string]any{"content": `{"temp":21}`, "tool_call_id": "call_1", "name": "get_weather"}},
			},
			want: &loupe.Payload{Input: []loupe.Message{
				{Role: "assistant", ToolCalls: []loupe.ToolCall{
					{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{ID: "call_2", Name: "get_time"},
				}},
				{Role: "tool", Content: `{"temp":21}`, Name: "get_weather", ToolCallID: "call_1"},
			}},
		},
		{
			name: "choice becomes output and sets finish reason",
			events: []loupe.Event{
				{Name: loupe.EventChoice, Body: map[string]any{"content": "Sunny.", "finish_reason": "stop"}},
			},
			want:             &loupe.Payload{Output: []loupe.Message{{Role: "assistant", Content: "Sunny.", FinishReason: "stop"}}},
			wantFinishReason: "stop",
		},
		{
			name: "choice keeps a finish reason already set",
			span: loupe.Span{FinishReason: "tool_call"},
			events: []loupe.Event{
				{Name: loupe.EventChoice, Body: map[string]any{"content": "x", "finish_reason": "stop"}},
			},
			want:             &loupe.Payload{Output: []loupe.Message{{Role: "assistant", Content: "x", FinishReason: "stop"}}},
			wantFinishReason: "tool_call",
		},
		{
			name: "non-string content is formatted",
			events: []loupe.Event{
				{Name: loupe.EventUserMessage, Body: map[string]any{"content": int64(42)}},
				{Name: loupe.EventUserMessage, Body: map[string]any{"content": nil}},
			},
			want: &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "42"}, {Role: "user"}}},
		},
		{
			name: "non-message events go to Events",
			events: []loupe.Event{
				{Time: at, Name: "exception", Attributes: map[string]any{"exception.type": "ValueError"}},
				{Time: at, Name: "gen_ai.evaluation.result", Body: map[string]any{"score": 0.9}},
			},
			want: &loupe.Payload{Events: []loupe.Event{
				{Time: at, Name: "exception", Attributes: map[string]any{"exception.type": "ValueError"}},
				{Time: at, Name: "gen_ai.evaluation.result", Body: map[string]any{"score": 0.9}},
			}},
		},
		{
			name: "message event without a map body stays an event",
			events: []loupe.Event{
				{Time: at, Name: loupe.EventUserMessage, Body: "plain text body"},
			},
			want: &loupe.Payload{Events: []loupe.Event{{Time: at, Name: loupe.EventUserMessage, Body: "plain text body"}}},
		},
		{
			name: "appends to an existing payload",
			span: loupe.Span{Payload: &loupe.Payload{Query: "q", Input: []loupe.Message{{Role: "user", Content: "first"}}}},
			events: []loupe.Event{
				{Name: loupe.EventUserMessage, Body: map[string]any{"content": "second"}},
			},
			want: &loupe.Payload{Query: "q", Input: []loupe.Message{{Role: "user", Content: "first"}, {Role: "user", Content: "second"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.span
			for _, e := range tt.events {
				s.AttachEvent(e)
			}
			if diff := cmp.Diff(tt.want, s.Payload); diff != "" {
				t.Errorf("Payload after AttachEvent (-want +got):\n%s", diff)
			}
			if s.FinishReason != tt.wantFinishReason {
				t.Errorf("FinishReason = %q, want %q", s.FinishReason, tt.wantFinishReason)
			}
		})
	}
}
