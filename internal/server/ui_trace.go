package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/loupehq/loupe"
)

// traceViewer is implemented by stores that read a trace in the pieces the
// trace view needs: its summary, the outline of its spans without
// attributes or payloads (fast for 100,000 spans), and one span in full.
// Each method returns an error wrapping loupe.ErrNotFound when the trace
// (or span) is not stored in project. Readers without it are served from
// TraceReader.Trace.
type traceViewer interface {
	TraceSummary(ctx context.Context, project string, id loupe.TraceID) (*loupe.TraceSummary, error)
	TraceOutline(ctx context.Context, project string, id loupe.TraceID) ([]loupe.SpanOutline, error)
	TraceSpan(ctx context.Context, project string, id loupe.TraceID, span loupe.SpanID) (*loupe.Span, error)
}

// traceView is the data of trace.html.
type traceView struct {
	Summary *loupe.TraceSummary
	// Tokens is input plus output tokens.
	Tokens int64
	// SessionURL links the trace's session page ("" without a session).
	SessionURL string
	// Payloads is false when the caller's role may not read payloads.
	Payloads bool
	// JSON is what trace.js reads from the page (traceBoot).
	JSON traceBoot
}

// traceBoot is the page data trace.js starts from.
type traceBoot struct {
	TraceID  string `json:"trace_id"`
	Span     string `json:"span"` // selected span id from ?span=, "" for none
	Payloads bool   `json:"payloads"`
	Spans    int64  `json:"span_count"`
}

// handleUITrace serves GET /traces/{id} (?span=ID selects a span): the
// trace header rendered on the server; the waterfall and the span details
// are drawn by trace.js from the outline and span endpoints.
func handleUITrace(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reader == nil {
			tmpl.renderError(w, r, log, errNoReader)
			return
		}
		id, err := loupe.ParseTraceID(r.PathValue("id"))
		if err != nil {
			tmpl.renderError(w, r, log, err)
			return
		}
		var span string
		if s := r.URL.Query().Get("span"); s != "" {
			sid, err := loupe.ParseSpanID(s)
			if err != nil {
				tmpl.renderError(w, r, log, err)
				return
			}
			span = sid.String()
		}
		pr := principalOf(r.Context())
		sum, err := traceSummary(r.Context(), reader, pr.Project, id)
		if err != nil {
			tmpl.renderError(w, r, log, err)
			return
		}
		v := traceView{Summary: sum, Tokens: sum.InputTokens + sum.OutputTokens, Payloads: pr.CanReadPayloads(),
			JSON: traceBoot{TraceID: id.String(), Span: span, Payloads: pr.CanReadPayloads(), Spans: sum.SpanCount}}
		if sum.SessionID != "" {
			v.SessionURL = "/sessions/" + url.PathEscape(sum.SessionID)
		}
		title := sum.Name
		if title == "" {
			title = "trace " + id.String()
		}
		tmpl.render(w, r, log, "trace.html", uiPage{Title: visibleText(title), Nav: "traces",
			Scripts: []string{"trace.js"}, Styles: []string{"trace.css"}, Data: v})
	})
}

// addUITraceRoutes registers the trace view's JSON data endpoints.
func addUITraceRoutes(mux *http.ServeMux, log *slog.Logger, reader loupe.TraceReader) {
	mux.Handle("GET /api/v1/traces/{id}/outline", handleTraceOutline(log, reader))
	mux.Handle("GET /api/v1/traces/{id}/spans/{span_id}", handleTraceSpan(log, reader))
}

// handleTraceOutline serves GET /api/v1/traces/{id}/outline: every span of
// the trace in a compact form (see writeOutline), without attributes or
// payloads.
func handleTraceOutline(log *slog.Logger, reader loupe.TraceReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := apiTraceID(w, r, log, reader)
		if !ok {
			return
		}
		spans, err := traceOutline(r.Context(), reader, principalOf(r.Context()).Project, id)
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		body := appendOutline(make([]byte, 0, 64*len(spans)+256), id, spans)
		w.Header().Set("Content-Type", contentTypeJSON)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})
}

// apiTraceID returns the {id} of a trace API request, or answers the error
// (no reader, a bad id) and returns false.
func apiTraceID(w http.ResponseWriter, r *http.Request, log *slog.Logger, reader loupe.TraceReader) (loupe.TraceID, bool) {
	if reader == nil {
		writeAPIError(w, log, errNoReader)
		return loupe.TraceID{}, false
	}
	id, err := loupe.ParseTraceID(r.PathValue("id"))
	if err != nil {
		writeAPIError(w, log, err)
		return loupe.TraceID{}, false
	}
	return id, true
}

// spanDetailJSON is the API form of one span for the detail panel: the
// span as in GET /api/v1/traces/{id}, plus whether its payload was hidden.
type spanDetailJSON struct {
	spanJSON
	// PayloadHidden is true when the span has a payload the caller's role
	// may not read.
	PayloadHidden bool `json:"payload_hidden,omitempty"`
}

// handleTraceSpan serves GET /api/v1/traces/{id}/spans/{span_id}: one span
// with its attributes and, when the caller may read payloads, its payload.
func handleTraceSpan(log *slog.Logger, reader loupe.TraceReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := apiTraceID(w, r, log, reader)
		if !ok {
			return
		}
		sid, err := loupe.ParseSpanID(r.PathValue("span_id"))
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		pr := principalOf(r.Context())
		sp, err := traceSpan(r.Context(), reader, pr.Project, id, sid)
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		j := spanDetailJSON{spanJSON: newSpanJSON(sp)}
		if !pr.CanReadPayloads() {
			// The guard already dropped it (guard.go); say so.
			j.Payload, j.PayloadHidden = nil, true
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, log, http.StatusOK, j)
	})
}

// traceSummary reads a trace's summary through the reader's traceViewer,
// else from the whole trace.
func traceSummary(ctx context.Context, reader loupe.TraceReader, project string, id loupe.TraceID) (*loupe.TraceSummary, error) {
	if v, ok := reader.(traceViewer); ok {
		return notFound(v.TraceSummary(ctx, project, id))(id)
	}
	tr, err := notFound(reader.Trace(ctx, project, id))(id)
	if err != nil {
		return nil, err
	}
	return summaryOf(tr), nil
}

// traceOutline reads a trace's outline through the reader's traceViewer,
// else from the whole trace.
func traceOutline(ctx context.Context, reader loupe.TraceReader, project string, id loupe.TraceID) ([]loupe.SpanOutline, error) {
	if v, ok := reader.(traceViewer); ok {
		return notFound(v.TraceOutline(ctx, project, id))(id)
	}
	tr, err := notFound(reader.Trace(ctx, project, id))(id)
	if err != nil {
		return nil, err
	}
	out := make([]loupe.SpanOutline, len(tr.Spans))
	for i := range tr.Spans {
		out[i] = loupe.OutlineOf(&tr.Spans[i])
	}
	return out, nil
}

// traceSpan reads one span through the reader's traceViewer, else from the
// whole trace.
func traceSpan(ctx context.Context, reader loupe.TraceReader, project string, id loupe.TraceID, sid loupe.SpanID) (*loupe.Span, error) {
	if v, ok := reader.(traceViewer); ok {
		sp, err := v.TraceSpan(ctx, project, id, sid)
		if errors.Is(err, loupe.ErrNotFound) {
			err = fmt.Errorf("span %s of trace %s %w", sid, id, loupe.ErrNotFound)
		}
		return sp, err
	}
	tr, err := notFound(reader.Trace(ctx, project, id))(id)
	if err != nil {
		return nil, err
	}
	for i := range tr.Spans {
		if tr.Spans[i].SpanID == sid {
			return &tr.Spans[i], nil
		}
	}
	return nil, fmt.Errorf("span %s of trace %s %w", sid, id, loupe.ErrNotFound)
}

// notFound rewords a store's not-found error for the client ("trace ID not
// found"), keeping other errors as they are.
func notFound[T any](v T, err error) func(loupe.TraceID) (T, error) {
	return func(id loupe.TraceID) (T, error) {
		if errors.Is(err, loupe.ErrNotFound) {
			err = fmt.Errorf("trace %s %w", id, loupe.ErrNotFound)
		}
		return v, err
	}
}

// summaryOf summarizes a whole trace as a trace list does: the root's name,
// totals, and the first non-empty values, root first.
func summaryOf(tr *loupe.Trace) *loupe.TraceSummary {
	start, end := tr.Bounds()
	s := &loupe.TraceSummary{Project: tr.Project, TraceID: tr.TraceID, Start: start.UTC(),
		Duration: ms(end.Sub(start)), Status: tr.Status(), SpanCount: int64(len(tr.Spans))}
	spans := make([]*loupe.Span, 0, len(tr.Spans))
	if root := tr.Root(); root != nil {
		spans = append(spans, root)
		s.Name = root.Name
	}
	for i := range tr.Spans {
		sp := &tr.Spans[i]
		if s.Name == "" {
			s.Name = sp.Name
		}
		spans = append(spans, sp)
		s.InputTokens += sp.Usage.Input
		s.OutputTokens += sp.Usage.Output
		s.CostUSD += sp.CostUSD
		if sp.Failed() {
			s.ErrorCount++
		}
	}
	first := func(f func(*loupe.Span) string) string {
		for _, sp := range spans {
			if v := f(sp); v != "" {
				return v
			}
		}
		return ""
	}
	s.Service = first(func(sp *loupe.Span) string { return sp.Service })
	s.Environment = first(func(sp *loupe.Span) string { return sp.Environment })
	s.Tenant = first(func(sp *loupe.Span) string { return sp.Tenant })
	s.SessionID = first(func(sp *loupe.Span) string { return sp.SessionID })
	s.PromptName = first(func(sp *loupe.Span) string { return sp.PromptName })
	s.PromptVersionID = first(func(sp *loupe.Span) string { return sp.PromptVersionID })
	for i := range tr.Spans { // earliest model call's model
		sp := &tr.Spans[i]
		if m := loupe.OutlineOf(sp).Model; m != "" && sp.Kind == loupe.KindLLM {
			s.Model = m
			break
		}
	}
	return s
}

// appendOutline appends the outline JSON of a trace to b:
//
//	{"trace_id": ID, "start_ns": T0, "end_ns": T1,
//	 "fields": [...names of the row columns...],
//	 "strings": [...distinct names, kinds, statuses, error types, models, tools...],
//	 "spans": [[span_id, parent, name, kind, start, duration, status, error_type, model, tool, tokens, cost_usd], ...]}
//
// Rows are in the order of spans (start time, then span id). parent is the
// row index of the span's parent (-1 for a root or a parent not stored);
// name, kind, status, error_type, model and tool index "strings"; start is
// nanoseconds after start_ns, duration in nanoseconds. A span id stored
// twice keeps its first row as the parent of its children.
func appendOutline(b []byte, id loupe.TraceID, spans []loupe.SpanOutline) []byte {
	var t0, t1 int64
	for i := range spans {
		s, e := spans[i].Start.UnixNano(), spans[i].End.UnixNano()
		if i == 0 || s < t0 {
			t0 = s
		}
		if i == 0 || e > t1 {
			t1 = e
		}
	}
	index := make(map[loupe.SpanID]int, len(spans))
	for i := range spans {
		if _, ok := index[spans[i].SpanID]; !ok {
			index[spans[i].SpanID] = i
		}
	}
	strs := map[string]int{"": 0}
	list := []string{""}
	str := func(s string) int {
		if i, ok := strs[s]; ok {
			return i
		}
		strs[s] = len(list)
		list = append(list, s)
		return len(list) - 1
	}
	rows := make([]byte, 0, 64*len(spans))
	for i := range spans {
		s := &spans[i]
		parent := -1
		if !s.ParentSpanID.IsZero() {
			if p, ok := index[s.ParentSpanID]; ok && p != i {
				parent = p
			}
		}
		if i > 0 {
			rows = append(rows, ',')
		}
		rows = append(rows, `["`...)
		rows = append(rows, s.SpanID.String()...)
		rows = append(rows, `",`...)
		rows = strconv.AppendInt(rows, int64(parent), 10)
		for _, v := range []string{s.Name, string(s.Kind)} {
			rows = append(rows, ',')
			rows = strconv.AppendInt(rows, int64(str(v)), 10)
		}
		rows = append(rows, ',')
		rows = strconv.AppendInt(rows, s.Start.UnixNano()-t0, 10)
		rows = append(rows, ',')
		rows = strconv.AppendInt(rows, max(0, s.End.UnixNano()-s.Start.UnixNano()), 10)
		for _, v := range []string{string(s.Status), s.ErrorType, s.Model, s.ToolName} {
			rows = append(rows, ',')
			rows = strconv.AppendInt(rows, int64(str(v)), 10)
		}
		rows = append(rows, ',')
		rows = strconv.AppendInt(rows, s.Tokens, 10)
		rows = append(rows, ',')
		cost := s.CostUSD
		if math.IsNaN(cost) || math.IsInf(cost, 0) {
			cost = 0
		}
		rows = strconv.AppendFloat(rows, cost, 'g', -1, 64)
		rows = append(rows, ']')
	}
	b = append(b, `{"trace_id":"`...)
	b = append(b, id.String()...)
	b = append(b, `","start_ns":`...)
	b = strconv.AppendInt(b, t0, 10)
	b = append(b, `,"end_ns":`...)
	b = strconv.AppendInt(b, t1, 10)
	b = append(b, `,"fields":["span_id","parent","name","kind","start","duration","status","error_type","model","tool","tokens","cost_usd"],"strings":`...)
	names, _ := json.Marshal(list) // []string always marshals
	b = append(b, names...)
	b = append(b, `,"spans":[`...)
	b = append(b, rows...)
	return append(b, "]}"...)
}
