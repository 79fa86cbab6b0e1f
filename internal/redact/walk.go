package redact

import (
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/loupehq/loupe"
	sdkredact "github.com/loupehq/loupe/sdk/redact"
)

// Attributes the engine records on each redacted span (and on each
// separately-arrived event): how many values were redacted, and by which
// rules, never the values. The SDK records the same keys when it redacts
// before export; the server adds its counts to the SDK's.
const (
	AttrCount = "loupe.redaction.count" // int64: values redacted
	AttrRules = "loupe.redaction.rules" // "rule:n,...", e.g. "email:2,card:1"
)

// bigInt is the smallest integer attribute value scanned as text: below it
// an integer cannot be a phone, card or account number.
const bigInt = 10_000_000

// walker redacts the strings of one span with one redactor, counting.
type walker struct {
	r     *sdkredact.Redactor
	clean *cleanCache
	c     sdkredact.Counts
	kb    []byte // scratch for nested attribute keys
}

func (w *walker) reset(c compiled) {
	w.r, w.clean = c.r, c.clean
	w.c = sdkredact.Counts{}
}

func (w *walker) text(s *string) {
	if *s != "" {
		*s = w.scan(*s)
	}
}

// scan is Redactor.Text through the clean-text cache.
func (w *walker) scan(s string) string {
	if len(s) < cleanMinBytes || len(s) > cleanMaxBytes {
		return w.r.Text(s, &w.c)
	}
	slot, clean := w.clean.lookup(s)
	if clean {
		return s
	}
	out := w.r.Text(s, &w.c)
	if out == s {
		store(slot, s)
	}
	return out
}

// attr is Redactor.Attr, through the clean-text cache when only the
// scanner applies to key.
func (w *walker) attr(key, v string) (string, bool) {
	if len(v) < cleanMinBytes || w.r.KeyRuled(key) {
		return w.r.Attr(key, v, &w.c)
	}
	return w.scan(v), false
}

// span redacts every string a span carries: its name, status message,
// error type and other canonical strings (ids that must stay joinable, the
// user id, are keyed-hashed), every attribute (resource attributes
// included), the params' stop sequences and every part of the payload.
// Trace, span and document ids are kept: they are random or the
// producer's own keys, and joins depend on them.
func (w *walker) span(s *loupe.Span) {
	for _, p := range [...]*string{&s.Name, &s.StatusMessage, &s.ErrorType, &s.Service, &s.Environment,
		&s.DeploymentID, &s.Tenant, &s.Route, &s.SessionID, &s.PromptName, &s.PromptVersionID,
		&s.ReleaseLabel, &s.Provider, &s.RequestModel, &s.ResponseModel, &s.CostSource,
		&s.FinishReason, &s.ToolName, &s.RetrievalIndex,
		&s.Params.ResponseFormat, &s.Params.ToolChoice} {
		w.text(p)
	}
	if s.UserID != "" {
		// The user id column takes the user.id attribute's rules: hashed by
		// default, so it stays joinable across traces.
		if v, drop := w.r.Attr("user.id", s.UserID, &w.c); drop {
			s.UserID = ""
		} else {
			s.UserID = v
		}
	}
	for i := range s.Params.StopSequences {
		w.text(&s.Params.StopSequences[i])
	}
	w.attrs(s.Attributes, "")
	if s.Payload != nil {
		w.payload(s.Payload)
	}
}

func (w *walker) payload(p *loupe.Payload) {
	w.messages(p.Input)
	w.messages(p.Output)
	w.text(&p.ToolArguments)
	w.text(&p.ToolResult)
	w.text(&p.Query)
	w.text(&p.InputValue)
	w.text(&p.OutputValue)
	for i := range p.Documents {
		d := &p.Documents[i]
		w.text(&d.Content)
		w.text(&d.Metadata)
	}
	for i := range p.Events {
		w.event(&p.Events[i])
	}
}

func (w *walker) messages(ms []loupe.Message) {
	for i := range ms {
		m := &ms[i]
		w.text(&m.Content)
		w.text(&m.Name)
		for _, part := range m.Parts {
			w.anyText(part)
		}
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			w.text(&tc.Name)
			w.text(&tc.Arguments)
		}
	}
}

// event redacts an event's name, body (every string in it, as text) and
// attributes (with the key rules).
func (w *walker) event(ev *loupe.Event) {
	w.text(&ev.Name)
	if nv, ok := w.anyText(ev.Body); ok {
		ev.Body = nv
	}
	w.attrs(ev.Attributes, "")
}

// attrs redacts an attribute map in place with the key rules; a nested
// map's keys are joined to prefix with '.' ("http.request.header" +
// "cookie"). Values a key rule drops are deleted.
func (w *walker) attrs(m map[string]any, prefix string) {
	for k, v := range m {
		if prefix == "" && (k == AttrCount || k == AttrRules) {
			continue
		}
		key := k
		mark := len(w.kb)
		if prefix != "" {
			// The nested key is built in w.kb and not copied: Attr only
			// looks it up, and it is not used after this iteration.
			w.kb = append(append(append(w.kb, prefix...), '.'), k...)
			key = unsafe.String(&w.kb[mark], len(w.kb)-mark)
		}
		nv, drop := w.value(key, v)
		w.kb = w.kb[:mark]
		if drop {
			delete(m, k)
			continue
		}
		if nv != nil {
			m[k] = nv
		}
	}
}

// value redacts one attribute value; it returns the replacement (nil when
// unchanged or changed in place) or drop.
func (w *walker) value(key string, v any) (any, bool) {
	switch v := v.(type) {
	case string:
		out, drop := w.attr(key, v)
		if drop {
			return nil, true
		}
		if out != v {
			return out, false
		}
	case []any:
		for i, x := range v {
			nx, drop := w.value(key, x)
			if drop {
				return nil, true
			}
			if nx != nil {
				v[i] = nx
			}
		}
	case map[string]any:
		w.attrs(v, key)
	case int64:
		if (v >= bigInt || v <= -bigInt) || w.r.KeyRuled(key) {
			return w.scalar(key, strconv.FormatInt(v, 10))
		}
	case float64, bool:
		if w.r.KeyRuled(key) {
			return w.scalar(key, anyString(v))
		}
	}
	return nil, false
}

// scalar redacts the text form s of a number or bool; a changed value
// becomes a string.
func (w *walker) scalar(key, s string) (any, bool) {
	out, drop := w.r.Attr(key, s, &w.c)
	if drop {
		return nil, true
	}
	if out != s {
		return out, false
	}
	return nil, false
}

func anyString(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// anyText redacts every string inside v (a log body, a message part) as
// text, without key rules; maps and slices are changed in place. It
// returns the new value of a changed string (boxing only then: the clean
// path allocates nothing) and whether it changed.
func (w *walker) anyText(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		if out := w.scan(x); out != x {
			return out, true
		}
	case []any:
		for i := range x {
			if nv, ok := w.anyText(x[i]); ok {
				x[i] = nv
			}
		}
	case map[string]any:
		for k, e := range x {
			if nv, ok := w.anyText(e); ok {
				x[k] = nv
			}
		}
	}
	return v, false
}

// record adds c to the redaction attributes of attrs (creating the map if
// nil) and returns attrs.
func record(attrs map[string]any, c *sdkredact.Counts) map[string]any {
	if attrs == nil {
		attrs = make(map[string]any, 2)
	}
	n := int64(c.Total())
	if prev, ok := attrs[AttrCount].(int64); ok && prev > 0 {
		n += prev
	}
	attrs[AttrCount] = n
	prev, _ := attrs[AttrRules].(string)
	attrs[AttrRules] = mergeRules(prev, c)
	return attrs
}

// mergeRules adds c to prev, a "rule:n,..." list: prev's rules keep their
// order, new ones follow in c's order.
func mergeRules(prev string, c *sdkredact.Counts) string {
	add := c.String()
	if prev == "" {
		return add
	}
	type pair struct {
		rule string
		n    int
	}
	var pairs []pair
	parse := func(s string) {
		for item := range strings.SplitSeq(s, ",") {
			i := strings.LastIndexByte(item, ':')
			if i <= 0 {
				continue
			}
			n, err := strconv.Atoi(item[i+1:])
			if err != nil || n < 0 {
				continue
			}
			rule := item[:i]
			if j := slices.IndexFunc(pairs, func(p pair) bool { return p.rule == rule }); j >= 0 {
				pairs[j].n += n
			} else {
				pairs = append(pairs, pair{rule, n})
			}
		}
	}
	parse(prev)
	parse(add)
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.rule)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.n))
	}
	return b.String()
}
