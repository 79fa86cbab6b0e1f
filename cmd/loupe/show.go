package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/loupehq/loupe"
)

// runShow is `loupe show TRACE_ID`: the trace's timeline (DESIGN.md §1).
func runShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg clientConfig
	fs := newClientFlags("show", "loupe show [flags] TRACE_ID",
		"Print a trace as a timeline: offsets from the trace start, the span tree, status,\n"+
			"latency and key attributes (prompt version, model, tokens, retrieved documents,\n"+
			"tool errors). Errors are highlighted on a terminal (unless NO_COLOR is set).", &cfg)
	pos, err := parseClientFlags(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{message: fmt.Sprintf("show takes one trace id, got %d arguments", len(pos)), hint: "loupe show 4f1c9a27e0b34d1e8a1f00c2b7d9e301"}
	}
	id, err := loupe.ParseTraceID(strings.TrimSpace(pos[0]))
	if err != nil {
		return &usageError{message: fmt.Sprintf("show: %v", err), hint: "loupe traces (lists trace ids)"}
	}
	body, err := newAPIClient(cfg).get(ctx, "/api/v1/traces/"+id.String(), nil)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return printJSON(stdout, body)
	}
	var tr showTrace
	if err := json.Unmarshal(body, &tr); err != nil {
		return fmt.Errorf("decode trace %s: %w", id, err)
	}
	_, err = io.WriteString(stdout, renderTimeline(&tr, colorOutput(stdout, getenv)))
	return err
}

// showTrace is the part of the API's trace JSON the timeline prints.
type showTrace struct {
	TraceID    string     `json:"trace_id"`
	Status     string     `json:"status"`
	StartTime  time.Time  `json:"start_time"`
	DurationMs float64    `json:"duration_ms"`
	Spans      []showSpan `json:"spans"`
}

type showSpan struct {
	SpanID           string    `json:"span_id"`
	ParentSpanID     string    `json:"parent_span_id"`
	Name             string    `json:"name"`
	Kind             string    `json:"kind"`
	StartTime        time.Time `json:"start_time"`
	DurationMs       float64   `json:"duration_ms"`
	Status           string    `json:"status"`
	StatusMessage    string    `json:"status_message"`
	ErrorType        string    `json:"error_type"`
	Environment      string    `json:"environment"`
	Tenant           string    `json:"tenant"`
	PromptName       string    `json:"prompt_name"`
	PromptVersionID  string    `json:"prompt_version_id"`
	ReleaseLabel     string    `json:"release_label"`
	RequestModel     string    `json:"request_model"`
	ResponseModel    string    `json:"response_model"`
	InputTokens      int64     `json:"input_tokens"`
	CacheReadTokens  int64     `json:"cache_read_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	ReasoningTokens  int64     `json:"reasoning_tokens"`
	TotalTokens      int64     `json:"total_tokens"`
	CostUSD          float64   `json:"cost_usd"`
	FinishReason     string    `json:"finish_reason"`
	RetrievalIndex   string    `json:"retrieval_index"`
	RetrievalCount   int64     `json:"retrieval_count"`
	Documents        []struct {
		ID    string   `json:"id"`
		Score *float64 `json:"score"`
	} `json:"documents"`
	Payload *struct {
		Query string `json:"query"`
	} `json:"payload"`
}

func (s *showSpan) failed() bool { return s.Status == string(loupe.StatusError) }

func (s *showSpan) model() string { return cmp.Or(s.RequestModel, s.ResponseModel) }

// ANSI escapes of the timeline's colours.
const (
	ansiRed   = "\x1b[31m"
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

// Timeline layout, as in DESIGN.md §1: the offset column is at least
// minOffsetWidth digits wide, and span names are padded so that the status
// column starts nameWidth columns after the first-level names.
const (
	minOffsetWidth = 4
	nameWidth      = 40
	maxDocs        = 3
)

// timeline renders one trace; color adds ANSI colours.
type timeline struct {
	b        strings.Builder
	color    bool
	start    time.Time
	offW     int // width of the offset number
	children map[string][]*showSpan
	seen     map[string]bool
	model    string // the header's model; llm lines name theirs when it differs
}

func (t *timeline) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// renderTimeline prints tr like the reference trace of DESIGN.md §1: a
// header with the root span, environment, tenant, duration and status; a
// line with the prompt, model, tokens and cost; then one line per span
// under the root (offset from the trace start, tree, name, status, latency,
// key attributes) with sub-lines for retrieved documents and error
// messages.
func renderTimeline(tr *showTrace, color bool) string {
	t := &timeline{color: color, start: tr.StartTime, children: make(map[string][]*showSpan), seen: make(map[string]bool)}
	spans := make([]*showSpan, len(tr.Spans))
	byID := make(map[string]*showSpan, len(tr.Spans))
	for i := range tr.Spans {
		spans[i] = &tr.Spans[i]
		byID[spans[i].SpanID] = spans[i]
	}
	slices.SortStableFunc(spans, func(a, b *showSpan) int {
		return cmp.Or(a.StartTime.Compare(b.StartTime), strings.Compare(a.SpanID, b.SpanID))
	})
	var roots []*showSpan
	maxOff := int64(0)
	for _, s := range spans {
		if p := s.ParentSpanID; p != "" && p != s.SpanID && byID[p] != nil {
			t.children[p] = append(t.children[p], s)
		} else {
			roots = append(roots, s)
		}
		maxOff = max(maxOff, t.ms(s.StartTime.Sub(t.start)))
	}
	// Spans in a parent cycle are reachable from no root: the earliest of
	// each cycle becomes a root too.
	reached := make(map[string]bool, len(spans))
	var reach func(s *showSpan)
	reach = func(s *showSpan) {
		if reached[s.SpanID] {
			return
		}
		reached[s.SpanID] = true
		for _, c := range t.children[s.SpanID] {
			reach(c)
		}
	}
	for _, r := range roots {
		reach(r)
	}
	for _, s := range spans {
		if !reached[s.SpanID] {
			roots = append(roots, s)
			reach(s)
		}
	}
	t.offW = max(minOffsetWidth, len(group(maxOff)))

	var root *showSpan
	if len(roots) > 0 {
		root = roots[0]
		t.seen[root.SpanID] = true
	}
	t.header(tr, root, spans)

	// The root is the header; its children and any other roots (spans
	// whose parent is missing) are the first level of the tree.
	var top []*showSpan
	if root != nil {
		top = append(top, t.children[root.SpanID]...)
		top = append(top, roots[1:]...)
		slices.SortStableFunc(top, func(a, b *showSpan) int {
			return cmp.Or(a.StartTime.Compare(b.StartTime), strings.Compare(a.SpanID, b.SpanID))
		})
	}
	t.level(top, "")
	return t.b.String()
}

func (t *timeline) ms(d time.Duration) int64 {
	return int64(math.Round(float64(d) / float64(time.Millisecond)))
}

func msRound(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return int64(math.Round(f))
}

// header writes the two header lines.
func (t *timeline) header(tr *showTrace, root *showSpan, spans []*showSpan) {
	var env, tenant, name string
	if root != nil {
		name, env, tenant = root.Name, root.Environment, root.Tenant
	}
	var prompt *showSpan
	var tokens int64
	var cost float64
	for _, s := range spans {
		env, tenant = cmp.Or(env, s.Environment), cmp.Or(tenant, s.Tenant)
		if s.PromptVersionID != "" && (prompt == nil || s.Kind == string(loupe.KindPrompt) && prompt.Kind != string(loupe.KindPrompt)) {
			prompt = s
		}
		if t.model == "" && s.Kind == string(loupe.KindLLM) {
			t.model = s.model()
		}
		tokens += s.TotalTokens
		cost += s.CostUSD
	}
	id := tr.TraceID
	if len(id) > 12 {
		id = id[:12]
	}
	status := strings.ToUpper(cmp.Or(tr.Status, "ok"))
	if tr.Status != string(loupe.TraceOK) {
		status = t.paint(ansiRed, status)
	}
	parts := []string{"trace " + oneLine(id) + "  " + cmp.Or(oneLine(name), "(no root span)")}
	for _, p := range []string{oneLine(env), oneLine(tenant), group(msRound(tr.DurationMs)) + " ms", status} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	t.b.WriteString(strings.Join(parts, "   "))
	t.b.WriteByte('\n')

	parts = parts[:0]
	if prompt != nil {
		p := "prompt " + prompt.PromptVersionID
		if prompt.PromptName != "" {
			p = "prompt " + prompt.PromptName + " @ " + prompt.PromptVersionID
		}
		if prompt.ReleaseLabel != "" {
			p += " (" + prompt.ReleaseLabel + ")"
		}
		parts = append(parts, p)
	}
	if t.model != "" {
		parts = append(parts, "model "+t.model)
	}
	parts = append(parts, group(tokens)+" tok", money(cost))
	t.b.WriteString(strings.Join(parts, "   "))
	t.b.WriteByte('\n')
	// The root is not a line of the tree; its own failure goes here.
	if root != nil && root.failed() {
		line := t.paint(ansiRed, "error "+cmp.Or(oneLine(root.ErrorType), "error"))
		if msg := oneLine(root.StatusMessage); msg != "" {
			line += "   " + msg
		}
		t.b.WriteString(line)
		t.b.WriteByte('\n')
	}
}

// level writes spans (siblings, in order) under the tree prefix, then their
// children.
func (t *timeline) level(spans []*showSpan, prefix string) {
	for i, s := range spans {
		t.seen[s.SpanID] = true
		last := i == len(spans)-1
		branch, cont := "├─ ", "│  "
		if last {
			branch, cont = "└─ ", "   "
		}
		t.line(s, prefix, branch, cont)
		var kids []*showSpan
		for _, c := range t.children[s.SpanID] {
			if !t.seen[c.SpanID] {
				kids = append(kids, c)
			}
		}
		t.level(kids, prefix+cont)
	}
}

// line writes one span's line and its sub-lines.
func (t *timeline) line(s *showSpan, prefix, branch, cont string) {
	b := &t.b
	fmt.Fprintf(b, "%*s ms ", t.offW, group(t.ms(s.StartTime.Sub(t.start))))
	b.WriteString(t.paint(ansiDim, prefix+branch))
	// The status column sits nameWidth after the first-level names.
	name := oneLine(s.Name)
	pad := nameWidth - runeLen(prefix) - runeLen(name)
	b.WriteString(name)
	if pad < 2 {
		pad = 2
	}
	b.WriteString(strings.Repeat(" ", pad))
	if s.failed() {
		b.WriteString(t.paint(ansiRed, "ERROR"))
	} else {
		b.WriteString("ok   ")
	}
	fmt.Fprintf(b, " %3s ms", group(msRound(s.DurationMs)))

	var attrs []string
	var subs [][2]string // sub-lines: left part, part at the status column
	switch loupe.Kind(s.Kind) {
	case loupe.KindPrompt:
		if p := strings.TrimSpace(s.PromptName + " " + s.PromptVersionID); p != "" {
			attrs = append(attrs, p)
		}
	case loupe.KindRetrieval:
		if s.RetrievalIndex != "" {
			attrs = append(attrs, "index="+s.RetrievalIndex)
		}
		query := ""
		if s.Payload != nil && s.Payload.Query != "" {
			query = "query=" + quoteShort(s.Payload.Query)
		}
		if len(s.Documents) > 0 || query != "" || s.RetrievalCount == 0 {
			subs = append(subs, [2]string{t.docs(s), query})
		}
	case loupe.KindLLM, loupe.KindEmbedding:
		in := s.InputTokens + s.CacheReadTokens + s.CacheWriteTokens
		out := s.OutputTokens + s.ReasoningTokens
		switch {
		case out > 0:
			attrs = append(attrs, group(in)+"→"+group(out)+" tok")
		case in > 0:
			attrs = append(attrs, group(in)+" tok")
		}
		if s.FinishReason != "" {
			attrs = append(attrs, s.FinishReason)
		}
		if m := s.model(); m != "" && m != t.model {
			attrs = append(attrs, "model "+m)
		}
	}
	if s.failed() {
		attrs = append(attrs, t.paint(ansiRed, cmp.Or(oneLine(s.ErrorType), "error")))
		if msg := oneLine(s.StatusMessage); msg != "" {
			subs = append(subs, [2]string{msg, ""})
		}
	}
	if len(attrs) > 0 {
		b.WriteString("  ")
		b.WriteString(strings.Join(attrs, "  "))
	}
	b.WriteByte('\n')

	// Sub-lines hang from the span's tree column, as in DESIGN.md §1.
	for _, sub := range subs {
		lead := strings.Repeat(" ", t.offW+3) + t.paint(ansiDim, prefix+cont+"└─ ")
		b.WriteString(lead)
		b.WriteString(sub[0])
		if sub[1] != "" {
			// Align the second part with the status column.
			pad := nameWidth - runeLen(prefix) - 2 - runeLen(sub[0])
			b.WriteString(strings.Repeat(" ", max(pad, 2)))
			b.WriteString(sub[1])
		}
		b.WriteByte('\n')
	}
}

// docs describes a retrieval's documents: docs doc_102 0.91, doc_087 0.84.
func (t *timeline) docs(s *showSpan) string {
	if len(s.Documents) == 0 {
		if s.RetrievalCount > 0 {
			return fmt.Sprintf("docs %d (ids not recorded)", s.RetrievalCount)
		}
		return "docs none"
	}
	var parts []string
	for i, d := range s.Documents {
		if i == maxDocs {
			parts = append(parts, fmt.Sprintf("+%d more", len(s.Documents)-maxDocs))
			break
		}
		p := cmp.Or(d.ID, "?")
		if d.Score != nil && !math.IsNaN(*d.Score) && !math.IsInf(*d.Score, 0) {
			p += fmt.Sprintf(" %.2f", *d.Score)
		}
		parts = append(parts, p)
	}
	return "docs " + strings.Join(parts, ", ")
}

// quoteShort quotes s on one line, cut to 60 characters.
func quoteShort(s string) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// oneLine collapses whitespace runs (newlines included) into single spaces
// and drops control characters, so that producer text cannot break the
// layout or send escape sequences to the terminal.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func runeLen(s string) int { return len([]rune(s)) }
