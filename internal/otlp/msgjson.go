package otlp

import (
	"strings"

	"github.com/loupehq/loupe"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// The direct message path: message JSON carried in attribute strings (a
// list of OTel GenAI / OpenAI messages, or a list of system-instruction
// parts) is parsed straight into loupe.Message values, without the generic
// value tree of parseJSON. It knows the common shapes only; on anything else
// (another shape, a part kept as sent, a duplicate key, invalid JSON) it
// gives up and the caller takes the generic path (messagesOf(structured(v))),
// so the output is always the generic path's. FuzzMessagesDirect checks that
// the two agree.

// msgParser parses message JSON directly; buf and texts are scratch reused
// across calls.
type msgParser struct {
	jsonParser
	buf   []byte   // canonical JSON being built (rawText)
	texts []string // texts of the message being built
}

// field is one member of a JSON object: the decoded string when the value
// is a JSON string, else its raw text.
type field struct {
	set   bool
	isStr bool
	s     string // decoded value, when isStr
	raw   string // raw JSON text, when !isStr
}

// null reports whether the generic map would hold nil for the member
// (absent or null).
func (f *field) null() bool { return !f.set || (!f.isStr && f.raw == "null") }

// str is str(m[k]) of the generic path.
func (f *field) str() string {
	switch {
	case f.isStr:
		return f.s
	case !f.set:
		return ""
	}
	switch f.raw[0] {
	case '{', '[', 'n':
		return ""
	}
	v, _ := parseJSON(f.raw)
	return str(v)
}

// text is text(m[k]) of the generic path.
func (f *field) text(mp *msgParser) string {
	switch {
	case f.isStr:
		return f.s
	case !f.set:
		return ""
	}
	return mp.rawText(f.raw)
}

// read reads the value at p.i into f; false when the value is invalid or
// the member is repeated (the generic map keeps the last one: not worth
// mirroring).
func (mp *msgParser) read(f *field, depth int) bool {
	if f.set {
		return false
	}
	if depth > maxJSONDepth {
		return false
	}
	p := &mp.jsonParser
	p.skip()
	f.set = true
	if p.i < len(p.s) && p.s[p.i] == '"' {
		s, ok := p.strRaw()
		f.isStr, f.s = true, s
		return ok
	}
	start := p.i
	if !p.skipValue(depth) {
		return false
	}
	f.raw = p.s[start:p.i]
	return true
}

// members calls fn for each member of the object at p.i (p.i at '{'),
// members' values being at depth; fn must consume the value. It mirrors
// jsonParser.object's grammar.
func (mp *msgParser) members(depth int, fn func(key string) bool) bool {
	p := &mp.jsonParser
	p.i++ // {
	if p.closes('}') {
		return true
	}
	for {
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return false
		}
		k, ok := p.strRaw()
		if !ok {
			return false
		}
		if !p.colon() {
			return false
		}
		if !fn(k) {
			return false
		}
		more, ok := p.sep('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// elements calls fn for each element of the array at p.i (p.i at '['),
// elements being at depth; fn must consume the element (p.i at its first
// non-space byte). It mirrors jsonParser.array's grammar.
func (mp *msgParser) elements(depth int, fn func() bool) bool {
	p := &mp.jsonParser
	p.i++ // [
	if p.closes(']') {
		return true
	}
	for {
		if depth > maxJSONDepth {
			return false
		}
		p.skip()
		if p.i >= len(p.s) || !fn() {
			return false
		}
		more, ok := p.sep(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// at reports whether the next non-space byte is c, leaving p.i there.
func (mp *msgParser) at(c byte) bool {
	mp.skip()
	return mp.i < len(mp.s) && mp.s[mp.i] == c
}

// end reports whether only spaces are left.
func (mp *msgParser) end() bool {
	mp.skip()
	return mp.i == len(mp.s)
}

// messagesFrom is messagesOf(structured(v), defRole), taking the direct
// path when v is a string holding a JSON list.
func (sc *scratch) messagesFrom(v *commonpb.AnyValue, defRole string) []loupe.Message {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		if ms, ok := sc.mp.messages(s.StringValue, defRole); ok {
			return ms
		}
	}
	return messagesOf(structured(v), defRole)
}

// systemFrom is systemMessages(structured(v)), taking the direct path when
// v is a string holding a JSON list of parts.
func (sc *scratch) systemFrom(v *commonpb.AnyValue) []loupe.Message {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		if ms, ok := sc.mp.system(s.StringValue); ok {
			return ms
		}
	}
	return systemMessages(structured(v))
}

// messages parses a JSON list of messages (messagesOf of the parsed list).
func (mp *msgParser) messages(s, defRole string) ([]loupe.Message, bool) {
	mp.jsonParser = jsonParser{s: s}
	if !mp.at('[') {
		return nil, false
	}
	out := make([]loupe.Message, 0, 4)
	ok := mp.elements(1, func() bool {
		switch mp.s[mp.i] {
		case '{':
			m, ok := mp.message(1, defRole)
			out = append(out, m)
			return ok
		case '"':
			s, ok := mp.strRaw()
			out = append(out, loupe.Message{Role: defRole, Content: s})
			return ok
		}
		return mp.skipValue(1)
	})
	if !ok || !mp.end() {
		return nil, false
	}
	return out, true
}

// system parses gen_ai.system_instructions given as a JSON list of parts
// (systemMessages of the parsed list).
func (mp *msgParser) system(s string) ([]loupe.Message, bool) {
	mp.jsonParser = jsonParser{s: s}
	if !mp.at('[') {
		return nil, false
	}
	var acc partsAcc
	mp.texts = mp.texts[:0]
	n, withRole := 0, 0
	ok := mp.elements(1, func() bool {
		n++
		return mp.part(1, &acc, &withRole)
	})
	if !ok || !mp.end() || (n > 0 && withRole == n) {
		return nil, false // invalid, or a list of messages (isMessageList)
	}
	m := loupe.Message{Role: "system", ToolCalls: acc.calls, ToolCallID: acc.callID}
	m.Content = strings.Join(mp.texts, "\n")
	return []loupe.Message{m}, true
}

// partsAcc accumulates what addParts folds into a message, other than
// texts (mp.texts).
type partsAcc struct {
	calls  []loupe.ToolCall
	callID string // the last tool result's id
}

// parts parses the part list at p.i (addParts).
func (mp *msgParser) parts(depth int, acc *partsAcc) bool {
	return mp.elements(depth+1, func() bool { return mp.part(depth+1, acc, nil) })
}

// part parses one element of a part list at depth (one iteration of
// addParts). withRole, when not nil, counts objects with a string role.
func (mp *msgParser) part(depth int, acc *partsAcc, withRole *int) bool {
	switch mp.s[mp.i] {
	case '"':
		s, ok := mp.strRaw()
		mp.texts = append(mp.texts, s)
		return ok
	case '{':
	default:
		return mp.skipValue(depth)
	}
	var f partFields
	if !mp.members(depth+1, func(k string) bool { return f.read(mp, k, depth+1) }) {
		return false
	}
	if withRole != nil && f.role.isStr {
		*withRole++
	}
	switch f.typ.str() {
	case "text", "input_text", "output_text", "":
		t := f.content.str()
		if t == "" {
			t = f.text.str()
		}
		if t == "" && f.typ.null() {
			return false // kept as sent in Parts
		}
		mp.texts = append(mp.texts, t)
	case "tool_call", "tool-call", "tool_use", "function_call":
		acc.calls = append(acc.calls, f.toolCall(mp))
	case "tool_call_response", "tool-result", "tool_result", "function_call_output":
		if id := f.id.str(); id != "" {
			acc.callID = id
		}
		v := &f.response
		if !v.set {
			v = &f.content
		}
		if v.set {
			if !v.isStr && (v.raw[0] == '[' || (v.raw[0] == '{' && mayWrap(v.raw))) {
				return false // part lists and wrapped results: generic path
			}
			mp.texts = append(mp.texts, v.text(mp))
		}
	default:
		return false // kept as sent in Parts
	}
	return true
}

// partFields are the members of a part or tool call object the direct path
// reads.
type partFields struct {
	typ, content, text, id, name, arguments, response, role field
}

// read reads member k; false for members only the generic path handles.
func (f *partFields) read(mp *msgParser, k string, depth int) bool {
	var dst *field
	switch k {
	case "type":
		dst = &f.typ
	case "content":
		dst = &f.content
	case "text":
		dst = &f.text
	case "id":
		dst = &f.id
	case "name":
		dst = &f.name
	case "arguments":
		dst = &f.arguments
	case "response":
		dst = &f.response
	case "role":
		dst = &f.role
	case "toolCallId", "call_id", "toolName", "args", "input", "function", "tool_use_id", "result", "output":
		return false
	default:
		return mp.skipValue(depth)
	}
	return mp.read(dst, depth)
}

// toolCall is toolCallOf of the object (which has none of the members read
// rejects).
func (f *partFields) toolCall(mp *msgParser) loupe.ToolCall {
	tc := loupe.ToolCall{ID: f.id.str(), Name: f.name.str()}
	if !f.arguments.null() {
		tc.Arguments = f.arguments.text(mp)
	}
	return tc
}

// message parses one message object at depth (messageOf).
func (mp *msgParser) message(depth int, defRole string) (loupe.Message, bool) {
	var (
		role, name, callID, callID2, id, finish, finish2, refusal, content field
		partsSeen, contentSeen, callsSeen                                  bool
		fromParts, fromContent                                             partsAcc
		calls                                                              []loupe.ToolCall
	)
	mp.texts = mp.texts[:0]
	vd := depth + 1
	ok := mp.members(vd, func(k string) bool {
		switch k {
		case "role":
			return mp.read(&role, vd)
		case "name":
			return mp.read(&name, vd)
		case "tool_call_id":
			return mp.read(&callID, vd)
		case "toolCallId":
			return mp.read(&callID2, vd)
		case "id":
			return mp.read(&id, vd)
		case "finish_reason":
			return mp.read(&finish, vd)
		case "finishReason":
			return mp.read(&finish2, vd)
		case "refusal":
			return mp.read(&refusal, vd)
		case "parts":
			if partsSeen || contentSeen {
				return false // repeated, or after content: texts would be out of order
			}
			partsSeen = true
			if !mp.at('[') {
				return mp.skipValue(vd)
			}
			return mp.parts(vd, &fromParts)
		case "content":
			if contentSeen {
				return false
			}
			contentSeen = true
			switch {
			case mp.at('['):
				return mp.parts(vd, &fromContent)
			case mp.at('{'):
				return mp.part(vd, &fromContent, nil)
			}
			return mp.read(&content, vd)
		case "tool_calls":
			if callsSeen {
				return false
			}
			callsSeen = true
			if !mp.at('[') {
				return mp.skipValue(vd)
			}
			return mp.elements(vd+1, func() bool {
				if mp.s[mp.i] != '{' {
					return mp.skipValue(vd + 1)
				}
				var f partFields
				if !mp.members(vd+2, func(k string) bool { return f.read(mp, k, vd+2) }) {
					return false
				}
				calls = append(calls, f.toolCall(mp))
				return true
			})
		}
		return mp.skipValue(vd)
	})
	if !ok {
		return loupe.Message{}, false
	}
	msg := loupe.Message{Role: role.str()}
	if msg.Role == "" {
		msg.Role = defRole
	}
	msg.Name = name.str()
	for _, f := range []*field{&callID, &callID2, &id} {
		if msg.ToolCallID = f.str(); msg.ToolCallID != "" {
			break
		}
	}
	if msg.Role != "tool" && callID.null() && callID2.null() {
		msg.ToolCallID = ""
	}
	fr := finish.str()
	if fr == "" {
		fr = finish2.str()
	}
	msg.FinishReason = normalizeFinishReason(fr)
	if content.set && !content.null() {
		mp.texts = append(mp.texts, content.text(mp))
	}
	if fromParts.callID != "" {
		msg.ToolCallID = fromParts.callID
	}
	if fromContent.callID != "" {
		msg.ToolCallID = fromContent.callID
	}
	msg.ToolCalls = append(fromParts.calls, fromContent.calls...)
	msg.ToolCalls = append(msg.ToolCalls, calls...)
	if refusal.isStr && refusal.s != "" {
		msg.Parts = append(msg.Parts, map[string]any{"type": "refusal", "content": refusal.s})
	}
	msg.Content = strings.Join(mp.texts, "\n")
	return msg, true
}

// mayWrap reports whether the object raw (valid JSON) may be a Vercel
// result wrapper ({"type": ..., "value": ...}): all its keys are "type" or
// "value", and "value" is one. Such objects take the generic path.
func mayWrap(raw string) bool {
	p := jsonParser{s: raw}
	p.i++ // {
	hasValue := false
	for {
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return hasValue
		}
		k, _ := p.strRaw()
		switch k {
		case "value":
			hasValue = true
		case "type":
		default:
			return false
		}
		p.skip()
		p.i++ // :
		p.skipValue(1)
		p.skip()
		p.i++ // , or }
	}
}
