package otlp

import (
	"strings"

	"github.com/loupehq/loupe"
)

// messagesOf converts a decoded message list to messages. It accepts the
// OTel GenAI shape ({role, parts:[...]}), OpenAI's ({role, content,
// tool_calls}), Anthropic's and Vercel's content parts, a single message
// object, or plain text (one message of defRole).
func messagesOf(v any, defRole string) []loupe.Message {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
		if d, ok := maybeJSON(x); ok {
			return messagesOf(d, defRole)
		}
		return []loupe.Message{{Role: defRole, Content: x}}
	case []any:
		out := make([]loupe.Message, 0, len(x))
		for _, e := range x {
			switch m := e.(type) {
			case map[string]any:
				out = append(out, messageOf(m, defRole))
			case string:
				out = append(out, loupe.Message{Role: defRole, Content: m})
			}
		}
		return out
	case map[string]any:
		if ms, ok := x["messages"].([]any); ok {
			return messagesOf(ms, defRole)
		}
		return []loupe.Message{messageOf(x, defRole)}
	}
	return []loupe.Message{{Role: defRole, Content: text(v)}}
}

// isMessageList reports whether v looks like chat messages (a list of
// objects with a role, or an object with such a "messages" list).
func isMessageList(v any) bool {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return false
		}
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return false
			}
			if _, ok := m["role"].(string); !ok {
				return false
			}
		}
		return true
	case map[string]any:
		if ms, ok := x["messages"]; ok && len(x) == 1 {
			return isMessageList(ms)
		}
		_, hasRole := x["role"].(string)
		_, hasContent := x["content"]
		_, hasParts := x["parts"]
		return hasRole && (hasContent || hasParts)
	}
	return false
}

// messageOf converts one decoded message object.
func messageOf(m map[string]any, defRole string) loupe.Message {
	msg := loupe.Message{Role: str(m["role"])}
	if msg.Role == "" {
		msg.Role = defRole
	}
	msg.Name = str(m["name"])
	msg.ToolCallID = firstStr(m, "tool_call_id", "toolCallId", "id")
	if msg.Role != "tool" && m["tool_call_id"] == nil && m["toolCallId"] == nil {
		msg.ToolCallID = "" // "id" names a tool call only on tool messages
	}
	msg.FinishReason = normalizeFinishReason(firstStr(m, "finish_reason", "finishReason"))
	var texts []string
	if parts, ok := m["parts"].([]any); ok {
		texts = addParts(&msg, parts, texts)
	}
	switch ct := m["content"].(type) {
	case nil:
	case string:
		texts = append(texts, ct)
	case []any:
		texts = addParts(&msg, ct, texts)
	case map[string]any:
		texts = addParts(&msg, []any{ct}, texts)
	default:
		texts = append(texts, text(ct))
	}
	if r, ok := m["refusal"].(string); ok && r != "" {
		msg.Parts = append(msg.Parts, map[string]any{"type": "refusal", "content": r})
	}
	msg.Content = strings.Join(texts, "\n")
	if calls, ok := m["tool_calls"].([]any); ok {
		for _, c := range calls {
			if cm, ok := c.(map[string]any); ok {
				msg.ToolCalls = append(msg.ToolCalls, toolCallOf(cm))
			}
		}
	}
	return msg
}

// addParts folds message parts into msg: text parts into texts, tool calls
// and tool results into their fields, anything else (reasoning, media, ...)
// into msg.Parts as sent.
func addParts(msg *loupe.Message, parts []any, texts []string) []string {
	for _, e := range parts {
		p, ok := e.(map[string]any)
		if !ok {
			if s, ok := e.(string); ok {
				texts = append(texts, s)
			}
			continue
		}
		switch str(p["type"]) {
		case "text", "input_text", "output_text", "":
			if t := firstStr(p, "content", "text"); t != "" || p["type"] != nil {
				texts = append(texts, t)
				continue
			}
			msg.Parts = append(msg.Parts, p)
		case "tool_call", "tool-call", "tool_use", "function_call":
			msg.ToolCalls = append(msg.ToolCalls, toolCallOf(p))
		case "tool_call_response", "tool-result", "tool_result", "function_call_output":
			if id := firstStr(p, "id", "toolCallId", "tool_use_id", "call_id"); id != "" {
				msg.ToolCallID = id
			}
			for _, k := range []string{"response", "result", "output", "content"} {
				if v, ok := p[k]; ok {
					// Vercel v5+ wraps results: {"type":"json"|"text", "value": ...}.
					if w, ok := v.(map[string]any); ok && len(w) == 2 && w["type"] != nil {
						if inner, ok := w["value"]; ok {
							v = inner
						}
					}
					texts = append(texts, contentText(v))
					break
				}
			}
		default:
			msg.Parts = append(msg.Parts, p)
		}
	}
	return texts
}

// toolCallOf converts a tool call in the OTel ({id, name, arguments}),
// OpenAI ({id, function:{name, arguments}}), Anthropic ({id, name, input})
// or Vercel ({toolCallId, toolName, args|input}) shape.
func toolCallOf(m map[string]any) loupe.ToolCall {
	tc := loupe.ToolCall{ID: firstStr(m, "id", "toolCallId", "call_id"), Name: firstStr(m, "name", "toolName")}
	args := firstOf(m, "arguments", "args", "input")
	if f, ok := m["function"].(map[string]any); ok {
		if tc.Name == "" {
			tc.Name = str(f["name"])
		}
		if args == nil {
			args = f["arguments"]
		}
	}
	tc.Arguments = text(args)
	return tc
}

// contentText renders message content: text, the texts of a part list, or
// JSON.
func contentText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var texts []string
		for _, e := range x {
			p, ok := e.(map[string]any)
			if !ok {
				return text(v)
			}
			t, ok := firstOf(p, "text", "content").(string)
			if !ok {
				return text(v)
			}
			texts = append(texts, t)
		}
		return strings.Join(texts, "\n")
	}
	return text(v)
}

func str(v any) string {
	s, _ := scalarString(v)
	return s
}

func firstStr(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := str(m[k]); s != "" {
			return s
		}
	}
	return ""
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			return v
		}
	}
	return nil
}

// eventMessage converts the body of a deprecated GenAI message event
// (gen_ai.system.message, ..., gen_ai.choice; SEMCONV §1.4) to the canonical
// message map of loupe.Span.AttachEvent: role, content, name, tool_call_id,
// finish_reason and tool_calls (maps of id, name, arguments). It returns nil
// for other event names.
func eventMessage(name string, body any) map[string]any {
	var role string
	switch name {
	case loupe.EventSystemMessage:
		role = "system"
	case loupe.EventUserMessage:
		role = "user"
	case loupe.EventAssistantMessage, loupe.EventChoice:
		role = "assistant"
	case loupe.EventToolMessage:
		role = "tool"
	default:
		return nil
	}
	if s, ok := body.(string); ok {
		if d, ok := maybeJSON(s); ok {
			body = d
		} else {
			body = map[string]any{"content": s}
		}
	}
	b, _ := body.(map[string]any)
	if b == nil {
		b = map[string]any{}
	}
	out := map[string]any{"role": role}
	src := b
	if name == loupe.EventChoice {
		if m, ok := b["message"].(map[string]any); ok {
			src = m
		}
		if fr := str(b["finish_reason"]); fr != "" {
			out["finish_reason"] = normalizeFinishReason(fr)
		}
	}
	if r := str(src["role"]); r != "" {
		out["role"] = r
	}
	if c, ok := src["content"]; ok && c != nil {
		out["content"] = contentText(c)
	}
	if n := str(src["name"]); n != "" {
		out["name"] = n
	}
	if id := firstStr(src, "tool_call_id", "id"); id != "" && name == loupe.EventToolMessage {
		out["tool_call_id"] = id
	}
	if calls, ok := src["tool_calls"].([]any); ok {
		tcs := make([]any, 0, len(calls))
		for _, c := range calls {
			if cm, ok := c.(map[string]any); ok {
				tc := toolCallOf(cm)
				tcs = append(tcs, map[string]any{"id": tc.ID, "name": tc.Name, "arguments": tc.Arguments})
			}
		}
		out["tool_calls"] = tcs
	}
	return out
}

// canonicalMessage converts a canonical message map (see eventMessage) to a
// Message, as loupe.Span.AttachEvent does.
func canonicalMessage(m map[string]any) loupe.Message {
	msg := loupe.Message{
		Role:         str(m["role"]),
		Content:      str(m["content"]),
		Name:         str(m["name"]),
		ToolCallID:   str(m["tool_call_id"]),
		FinishReason: str(m["finish_reason"]),
	}
	if calls, ok := m["tool_calls"].([]any); ok {
		for _, c := range calls {
			if cm, ok := c.(map[string]any); ok {
				msg.ToolCalls = append(msg.ToolCalls, loupe.ToolCall{ID: str(cm["id"]), Name: str(cm["name"]), Arguments: str(cm["arguments"])})
			}
		}
	}
	return msg
}
