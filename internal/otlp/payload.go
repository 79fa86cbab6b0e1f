package otlp

import (
	"slices"
	"strings"

	"github.com/loupehq/loupe"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Input/output precedence (SEMCONV §3.4 and §4.3): the first source that
// yields messages wins; every source is consumed so no message body stays
// in the attributes.

// messages fills the payload's messages from span attributes. Events
// (c.events) may fill them afterwards when the attributes had none.
func (c *spanCtx) messages() {
	p := &c.p
	// Langfuse explicit input/output: messages when shaped like them,
	// generic values otherwise (see genericIO).
	if v := c.val(kLfInput); v != nil {
		if d := structured(v); isMessageList(d) {
			c.take(kLfInput)
			p.Input = messagesOf(d, "user")
		}
	}
	if v := c.val(kLfOutput); v != nil {
		if d := structured(v); isMessageList(d) {
			c.take(kLfOutput)
			p.Output = messagesOf(d, "assistant")
		}
	}

	// OTel GenAI v1.37+.
	var sys []loupe.Message
	if v := c.take(kSystemInstructions); v != nil {
		sys = c.sc.systemFrom(v)
	}
	if v := c.take(kInputMessages); v != nil && len(p.Input) == 0 {
		p.Input = c.sc.messagesFrom(v, "user")
	}
	if len(sys) > 0 && (len(p.Input) == 0 || p.Input[0].Role != "system") {
		p.Input = append(sys, p.Input...)
	}
	if v := c.take(kOutputMessages); v != nil && len(p.Output) == 0 {
		p.Output = c.sc.messagesFrom(v, "assistant")
	}

	// OpenInference flattened messages.
	in := c.flatMessages(famInMsgs)
	out := c.flatMessages(famOutMsgs)
	// OpenLLMetry legacy flattened prompt/completion.
	if in2 := c.flatMessages(famPromptN); len(in) == 0 {
		in = in2
	}
	if out2 := c.flatMessages(famComplN); len(out) == 0 {
		out = out2
	}
	// Oldest OTel: gen_ai.prompt / gen_ai.completion JSON.
	if v := c.take(kGenAIPrompt); v != nil && len(in) == 0 {
		in = c.sc.messagesFrom(v, "user")
	}
	if v := c.take(kGenAICompletion); v != nil && len(out) == 0 {
		out = c.sc.messagesFrom(v, "assistant")
	}
	// Vercel AI SDK legacy.
	if v := c.take(kAIPromptMessages); v != nil && len(in) == 0 {
		in = c.sc.messagesFrom(v, "user")
	}
	if v := c.take(kAIPrompt); v != nil && len(in) == 0 {
		in = vercelPrompt(structured(v))
	}
	if m, ok := c.vercelResponse(); ok && len(out) == 0 {
		m.FinishReason = c.out.FinishReason
		out = []loupe.Message{m}
	}
	// OpenInference legacy completions API.
	if in2 := c.flatTexts(famLLMPrompts, "user"); len(in) == 0 {
		in = in2
	}
	if out2 := c.flatTexts(famLLMChoices, "assistant"); len(out) == 0 {
		out = out2
	}
	if len(p.Input) == 0 {
		p.Input = in
	}
	if len(p.Output) == 0 {
		p.Output = out
	}
}

// systemMessages converts gen_ai.system_instructions (a list of parts) to
// one system message.
func systemMessages(v any) []loupe.Message {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
		return []loupe.Message{{Role: "system", Content: x}}
	case []any:
		// A list of messages rather than parts: keep them.
		if isMessageList(x) {
			return messagesOf(x, "system")
		}
		m := loupe.Message{Role: "system"}
		texts := addParts(&m, x, nil)
		m.Content = strings.Join(texts, "\n")
		return []loupe.Message{m}
	case map[string]any:
		return []loupe.Message{messageOf(x, "system")}
	}
	return nil
}

// vercelPrompt converts Vercel's ai.prompt ({system?, prompt?, messages?}).
func vercelPrompt(v any) []loupe.Message {
	m, ok := v.(map[string]any)
	if !ok {
		return messagesOf(v, "user")
	}
	var out []loupe.Message
	if s := str(m["system"]); s != "" {
		out = append(out, loupe.Message{Role: "system", Content: s})
	}
	if ms, ok := m["messages"]; ok && ms != nil {
		out = append(out, messagesOf(ms, "user")...)
	}
	if pr, ok := m["prompt"]; ok && pr != nil {
		out = append(out, messagesOf(pr, "user")...)
	}
	return out
}

// vercelResponse builds the assistant message of a Vercel legacy span.
func (c *spanCtx) vercelResponse() (loupe.Message, bool) {
	txt := c.take(kAIRespText)
	calls := c.take(kAIRespToolCalls)
	obj := c.take(kAIRespObject)
	reasoning := c.take(kAIRespReasoning)
	if r := c.take(kAIRespReasoningText); reasoning == nil {
		reasoning = r
	}
	if txt == nil && calls == nil && obj == nil && reasoning == nil {
		return loupe.Message{}, false
	}
	m := loupe.Message{Role: "assistant"}
	if txt != nil {
		m.Content = valueText(txt)
	} else if obj != nil {
		m.Content = valueText(obj)
	}
	if reasoning != nil {
		m.Parts = append(m.Parts, map[string]any{"type": "reasoning", "content": valueText(reasoning)})
	}
	if calls != nil {
		if l, ok := structured(calls).([]any); ok {
			for _, e := range l {
				if cm, ok := e.(map[string]any); ok {
					m.ToolCalls = append(m.ToolCalls, toolCallOf(cm))
				}
			}
		}
	}
	return m, true
}

// indexed is one attribute of a flattened list: key prefix.N.rest.
type indexed struct {
	n    int
	rest string
	v    *commonpb.AnyValue
}

// splitIndex splits "N.rest" (or "N") into N and rest.
func splitIndex(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n > 1<<20 {
			return 0, "", false
		}
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 {
		return 0, "", false
	}
	if i == len(s) {
		return n, "", true
	}
	if s[i] != '.' {
		return 0, "", false
	}
	return n, s[i+1:], true
}

// family collects the attributes of family f, sorted by index (stable, so
// gaps and any order are tolerated).
func (c *spanCtx) family(f attrKey) []indexed {
	if c.sl.fam[f-numKeys] == 0 {
		return nil
	}
	prefix := famPrefix(f)
	out := c.sc.idx[:0]
	for i, kv := range c.attrs {
		if c.keys[i] != f {
			continue
		}
		n, rest, ok := splitIndex(kv.GetKey()[len(prefix):])
		if !ok {
			continue
		}
		out = append(out, indexed{n: n, rest: rest, v: kv.GetValue()})
	}
	slices.SortStableFunc(out, func(a, b indexed) int { return a.n - b.n })
	c.sc.idx = out[:0]
	return out
}

// groups calls fn for each run of entries sharing an index.
func groups(entries []indexed, fn func(n int, g []indexed)) {
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].n == entries[i].n {
			j++
		}
		fn(entries[i].n, entries[i:j])
		i = j
	}
}

// flatMessages rebuilds OpenInference (llm.input_messages.N.message.*) and
// OpenLLMetry (gen_ai.prompt.N.*) flattened messages.
func (c *spanCtx) flatMessages(f attrKey) []loupe.Message {
	entries := c.family(f)
	if len(entries) == 0 {
		return nil
	}
	defRole := "user"
	if f == famOutMsgs || f == famComplN {
		defRole = "assistant"
	}
	var out []loupe.Message
	groups(entries, func(_ int, g []indexed) {
		m := loupe.Message{}
		var contents, calls []indexed
		for _, e := range g {
			rest := strings.TrimPrefix(e.rest, "message.")
			switch rest {
			case "role":
				m.Role = valueText(e.v)
			case "content":
				m.Content = valueText(e.v)
			case "name":
				m.Name = valueText(e.v)
			case "tool_call_id":
				m.ToolCallID = valueText(e.v)
			case "finish_reason":
				m.FinishReason = normalizeFinishReason(valueText(e.v))
			case "refusal":
				m.Parts = append(m.Parts, map[string]any{"type": "refusal", "content": valueText(e.v)})
			default:
				if r, ok := strings.CutPrefix(rest, "contents."); ok {
					if n, sub, ok := splitIndex(r); ok {
						contents = append(contents, indexed{n: n, rest: strings.TrimPrefix(sub, "message_content."), v: e.v})
					}
				} else if r, ok := strings.CutPrefix(rest, "tool_calls."); ok {
					if n, sub, ok := splitIndex(r); ok {
						calls = append(calls, indexed{n: n, rest: strings.TrimPrefix(sub, "tool_call."), v: e.v})
					}
				}
			}
		}
		if len(contents) > 0 {
			slices.SortStableFunc(contents, func(a, b indexed) int { return a.n - b.n })
			var texts []string
			if m.Content != "" {
				texts = append(texts, m.Content)
			}
			groups(contents, func(_ int, cg []indexed) {
				part := map[string]any{}
				for _, e := range cg {
					part[e.rest] = anyValue(e.v)
				}
				t := str(part["type"])
				if t == "text" || (t == "" && part["text"] != nil) {
					texts = append(texts, str(part["text"]))
					return
				}
				m.Parts = append(m.Parts, part)
			})
			m.Content = strings.Join(texts, "\n")
		}
		if len(calls) > 0 {
			slices.SortStableFunc(calls, func(a, b indexed) int { return a.n - b.n })
			groups(calls, func(_ int, cg []indexed) {
				var tc loupe.ToolCall
				for _, e := range cg {
					switch e.rest {
					case "id":
						tc.ID = valueText(e.v)
					case "name", "function.name":
						tc.Name = valueText(e.v)
					case "arguments", "function.arguments":
						tc.Arguments = valueText(e.v)
					}
				}
				m.ToolCalls = append(m.ToolCalls, tc)
			})
		}
		if m.Role == "" {
			m.Role = defRole
		}
		out = append(out, m)
	})
	return out
}

// flatTexts rebuilds llm.prompts.N.prompt.text / llm.choices.N.completion.text.
func (c *spanCtx) flatTexts(f attrKey, role string) []loupe.Message {
	var out []loupe.Message
	groups(c.family(f), func(_ int, g []indexed) {
		for _, e := range g {
			if strings.HasSuffix(e.rest, "text") || e.rest == "" {
				out = append(out, loupe.Message{Role: role, Content: valueText(e.v)})
				return
			}
		}
	})
	return out
}

// events converts span events: exceptions set the error fields, message
// events become messages, db.query.result events documents, and everything
// is kept in Payload.Events except what became messages or documents.
func (c *spanCtx) events(s *tracepb.Span) {
	p := &c.p
	haveIn, haveOut := len(p.Input) > 0, len(p.Output) > 0
	for _, e := range s.GetEvents() {
		name := e.GetName()
		ev := loupe.Event{Time: unixNano(e.GetTimeUnixNano()), Name: name}
		if len(e.GetAttributes()) > 0 {
			ev.Attributes = make(map[string]any, len(e.GetAttributes()))
			for _, kv := range e.GetAttributes() {
				ev.Attributes[kv.GetKey()] = anyValue(kv.GetValue())
			}
		}
		switch name {
		case "exception":
			if c.out.ErrorType == "" {
				c.out.ErrorType = str(ev.Attributes["exception.type"])
			}
			if c.out.StatusMessage == "" {
				c.out.StatusMessage = str(ev.Attributes["exception.message"])
			}
		case loupe.EventSystemMessage, loupe.EventUserMessage, loupe.EventAssistantMessage, loupe.EventToolMessage, loupe.EventChoice:
			if (name == loupe.EventChoice && !haveOut) || (name != loupe.EventChoice && !haveIn) {
				m := canonicalMessage(eventMessage(name, eventBody(ev.Attributes)))
				if name == loupe.EventChoice {
					p.Output = append(p.Output, m)
				} else {
					p.Input = append(p.Input, m)
				}
				continue
			}
		case "gen_ai.content.prompt":
			if !haveIn {
				if v, ok := ev.Attributes["gen_ai.prompt"]; ok {
					p.Input = append(p.Input, messagesOf(v, "user")...)
					continue
				}
			}
		case "gen_ai.content.completion":
			if !haveOut {
				if v, ok := ev.Attributes["gen_ai.completion"]; ok {
					p.Output = append(p.Output, messagesOf(v, "assistant")...)
					continue
				}
			}
		case "gen_ai.client.inference.operation.details":
			used := false
			if !haveIn {
				sys := systemMessages(decoded(ev.Attributes["gen_ai.system_instructions"]))
				if v, ok := ev.Attributes["gen_ai.input.messages"]; ok {
					p.Input = append(sys, messagesOf(v, "user")...)
					used = true
				}
			}
			if !haveOut {
				if v, ok := ev.Attributes["gen_ai.output.messages"]; ok {
					p.Output = messagesOf(v, "assistant")
					used = true
				}
			}
			if used {
				continue
			}
		case "db.query.result":
			c.eventDocs = append(c.eventDocs, ev.Attributes)
			continue
		}
		p.Events = append(p.Events, ev)
	}
	if c.out.FinishReason == "" && len(p.Output) > 0 {
		c.out.FinishReason = p.Output[0].FinishReason
	}
}

// decoded decodes a JSON string value.
func decoded(v any) any {
	if s, ok := v.(string); ok {
		if d, ok := maybeJSON(s); ok {
			return d
		}
	}
	return v
}

// eventBody builds a message event's body from span event attributes (span
// events have no body): the JSON of gen_ai.event.content when present, else
// the attributes themselves.
func eventBody(attrs map[string]any) any {
	if v, ok := attrs["gen_ai.event.content"]; ok {
		return decoded(v)
	}
	b := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if k != "gen_ai.system" && k != "gen_ai.provider.name" {
			b[k] = decoded(v)
		}
	}
	return b
}

// genericIO fills generic inputs and outputs, routed by kind: tool spans'
// to the tool arguments and result, retrieval spans' input to the query.
func (c *spanCtx) genericIO() {
	p := &c.p
	kind := c.out.Kind
	put := func(k attrKey, input bool) {
		if c.sl.used[k] { // already consumed as messages
			return
		}
		v := c.take(k)
		if v == nil {
			return
		}
		s := valueText(v)
		var dst *string
		switch {
		case input && kind == loupe.KindTool:
			dst = &p.ToolArguments
		case input && kind == loupe.KindRetrieval:
			dst = &p.Query
		case !input && kind == loupe.KindTool:
			dst = &p.ToolResult
		case input:
			dst = &p.InputValue
		default:
			dst = &p.OutputValue
		}
		if *dst == "" {
			*dst = s
		}
	}
	put(kLfInput, true) // not consumed by messages(): not message-shaped
	put(kLfOutput, false)
	put(kInputValue, true)
	put(kOutputValue, false)
	put(kTLInput, true)
	put(kTLOutput, false)
	put(kLfTraceInput, true)
	put(kLfTraceOutput, false)
	// Embedding inputs (vectors are dropped: large and of no use here).
	if es := c.family(famEmbeddings); len(es) > 0 && p.InputValue == "" {
		var texts []any
		for _, e := range es {
			if strings.HasSuffix(e.rest, ".text") {
				texts = append(texts, valueText(e.v))
			}
		}
		if len(texts) > 0 {
			p.InputValue = text(texts)
		}
	}
}

// documents fills Documents and Payload.Documents from the first source
// that has any (SEMCONV §4.5).
func (c *spanCtx) documents() {
	var docs []docEntry
	if v := c.take(kRetrievalDocs); v != nil {
		docs = c.sc.docsFrom(v)
	}
	if d := c.flatDocs(famDocs); len(docs) == 0 {
		docs = d
	}
	if d := c.flatDocs(famRerankDocs); len(docs) == 0 {
		docs = d
	}
	if v := c.take(kRetrievalResults); v != nil && len(docs) == 0 {
		docs = c.sc.docsFrom(v)
	}
	if v := c.take(kRetrievalDocIDs); v != nil && len(docs) == 0 {
		for _, id := range stringList(structured(v)) {
			docs = append(docs, docEntry{doc: loupe.Document{ID: id}})
		}
	}
	if len(docs) == 0 {
		for _, a := range c.eventDocs {
			m := make(map[string]any, len(a))
			for k, v := range a {
				m[strings.TrimPrefix(k, "db.query.result.")] = v
			}
			docs = append(docs, docOf(m))
		}
	} else {
		for _, a := range c.eventDocs { // not used: keep as events
			c.p.Events = append(c.p.Events, loupe.Event{Name: "db.query.result", Attributes: a})
		}
	}
	if len(docs) == 0 {
		return
	}
	c.out.RetrievalCount = int64(len(docs))
	c.out.Documents = make([]loupe.Document, len(docs))
	hasText := false
	for i, d := range docs {
		c.out.Documents[i] = d.doc
		hasText = hasText || d.text.Content != "" || d.text.Metadata != ""
	}
	if hasText {
		c.p.Documents = make([]loupe.DocumentText, len(docs))
		for i, d := range docs {
			c.p.Documents[i] = d.text
			c.p.Documents[i].ID = d.doc.ID
		}
	}
}

type docEntry struct {
	doc  loupe.Document
	text loupe.DocumentText
}

func docsFromList(v any) []docEntry {
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]docEntry, 0, len(l))
	for _, e := range l {
		switch x := e.(type) {
		case map[string]any:
			out = append(out, docOf(x))
		case string:
			out = append(out, docEntry{doc: loupe.Document{ID: x}})
		}
	}
	return out
}

// docOf converts one document map ({id|document_id, score, tokens,
// content|text|document, metadata}).
func docOf(m map[string]any) docEntry {
	var d docEntry
	d.doc.ID = firstStr(m, "id", "document_id", "doc_id")
	if s, ok := toFloat(m["score"]); ok {
		d.doc.Score = ref(s)
	} else if dist, ok := toFloat(m["distance"]); ok {
		_ = dist // a distance is not a score; keep it in the metadata
	}
	d.doc.Tokens, _ = toInt(m["tokens"])
	if v := firstOf(m, "content", "text", "document", "page_content"); v != nil {
		d.text.Content = text(v)
	}
	meta := m["metadata"]
	if dist, ok := m["distance"]; ok && d.doc.Score == nil {
		mm, _ := decoded(meta).(map[string]any)
		if mm == nil {
			mm = map[string]any{}
		}
		mm["distance"] = dist
		meta = mm
	}
	if meta != nil {
		d.text.Metadata = text(meta)
	}
	return d
}

// flatDocs rebuilds retrieval.documents.N.document.* entries.
func (c *spanCtx) flatDocs(f attrKey) []docEntry {
	var out []docEntry
	groups(c.family(f), func(_ int, g []indexed) {
		m := make(map[string]any, len(g))
		for _, e := range g {
			m[strings.TrimPrefix(e.rest, "document.")] = anyValue(e.v)
		}
		out = append(out, docOf(m))
	})
	return out
}
