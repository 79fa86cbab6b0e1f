package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Sessions pages: sizes and defaults.
const (
	// uiSessionsPerPage is how many sessions /sessions shows per page.
	uiSessionsPerPage = 100
	// uiSessionTraces is how many traces /sessions/{id} shows per page.
	uiSessionTraces = 50
	// uiSessionReaders bounds the concurrent trace reads of a session page.
	uiSessionReaders = 4
	// uiSessionSince is a session page's default time range.
	uiSessionSince = "7d"
)

// uiSessionRow is one session of the sessions list.
type uiSessionRow struct {
	ID        string
	Href      string // the session's page
	Count     int64
	Errors    int64
	ErrorRate float64
	P50Ms     float64
	Tokens    int64
	CostUSD   float64
}

// uiSessionsData is sessions.html's data.
type uiSessionsData struct {
	Since     string
	SinceOpts []uiOption
	Q         string
	Sessions  []uiSessionRow
	Total     int
	NoSession *uiSessionRow // traces without a session id
	PrevHref  string
	NextHref  string
	Notes     []string
	Error     string
}

// handleUISessions serves GET /sessions?since=24h&q=FILTER&page=N: the
// sessions in the time range with their trace counts, errors, tokens and
// cost, most traces first.
func handleUISessions(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	searcher, _ := reader.(Searcher)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if searcher == nil {
			tmpl.renderError(w, r, log, errNoSearcher)
			return
		}
		v := r.URL.Query()
		d := uiSessionsData{Since: cmp.Or(v.Get("since"), "24h"), Q: v.Get("q")}
		d.SinceOpts = uiSinceOptions(d.Since, false) // no custom range here
		pageNo, _ := strconv.Atoi(v.Get("page"))
		pageNo = max(pageNo, 0)

		api := url.Values{"since": {d.Since}, "by": {"session.id"}, "level": {"trace"}, "q": {d.Q}}
		req := uiAPIRequest(r, "/api/v1/stats", api)
		q, notes, err := parseStats(req, time.Now())
		var st *loupe.Stats
		if err == nil {
			st, err = searcher.Stats(r.Context(), q)
		}
		status := http.StatusOK
		if err != nil {
			if !errors.Is(err, loupe.ErrInvalid) {
				tmpl.renderError(w, r, log, fmt.Errorf("session stats: %w", err))
				return
			}
			d.Error, status = err.Error(), http.StatusBadRequest
		}
		if st != nil {
			s := newStatsJSON(st, q, notes)
			d.Notes = s.Notes
			for _, row := range s.Rows {
				sr := uiSessionRow{ID: row.Group["session.id"], Count: row.Count, Errors: row.Errors, ErrorRate: row.ErrorRate,
					P50Ms: row.P50Ms, Tokens: row.InputTokens + row.OutputTokens, CostUSD: row.CostUSD}
				sr.Href = "/sessions/" + url.PathEscape(sr.ID) + "?" + url.Values{"since": {d.Since}}.Encode()
				if sr.ID == "" {
					d.NoSession = &sr
					continue
				}
				d.Sessions = append(d.Sessions, sr)
			}
			slices.SortFunc(d.Sessions, func(a, b uiSessionRow) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.ID, b.ID))
			})
			d.Total = len(d.Sessions)
			lo := min(pageNo*uiSessionsPerPage, len(d.Sessions))
			hi := min(lo+uiSessionsPerPage, len(d.Sessions))
			link := func(p int) string {
				lv := url.Values{"since": {d.Since}}
				if d.Q != "" {
					lv.Set("q", d.Q)
				}
				if p > 0 {
					lv.Set("page", strconv.Itoa(p))
				}
				return "/sessions?" + lv.Encode()
			}
			if pageNo > 0 {
				d.PrevHref = link(pageNo - 1)
			}
			if hi < len(d.Sessions) {
				d.NextHref = link(pageNo + 1)
			}
			d.Sessions = d.Sessions[lo:hi]
		}
		tmpl.renderStatus(w, r, log, status, "sessions.html", uiPage{Title: "Sessions", Nav: "sessions", Data: d})
	})
}

// uiTurn is one trace of a session, as a conversation turn.
type uiTurn struct {
	Trace loupe.TraceSummary
	// Input and Answer are the user's message and the final answer; empty
	// when payloads are hidden or the trace has none.
	Input, Answer string
	// ReadError says why the trace's payload could not be read.
	ReadError string
}

// uiSessionData is session.html's data.
type uiSessionData struct {
	ID           string
	Since        string
	Turns        []uiTurn
	CanPayloads  bool
	NextHref     string
	FirstHref    string
	Notes        []string
	TotalMs      float64
	TotalTokens  int64
	TotalCostUSD float64
	Errors       int
}

// handleUISession serves GET /sessions/{id}?since=7d&cursor=C: the
// session's traces in start order, with the user's input and the final
// answer of each when the caller may read payloads.
func handleUISession(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	searcher, _ := reader.(Searcher)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if searcher == nil {
			tmpl.renderError(w, r, log, errNoSearcher)
			return
		}
		id := r.PathValue("id")
		if id == "" || len(id) > 512 {
			tmpl.renderError(w, r, log, fmt.Errorf("session id: must be 1 to 512 bytes: %w", loupe.ErrInvalid))
			return
		}
		v := r.URL.Query()
		p := principalOf(r.Context())
		d := uiSessionData{ID: id, Since: cmp.Or(v.Get("since"), uiSessionSince), CanPayloads: p.CanReadPayloads()}
		api := url.Values{"since": {d.Since}, "sort": {"start_time"}, "cursor": {v.Get("cursor")},
			"limit": {strconv.Itoa(uiSessionTraces)}}
		req := uiAPIRequest(r, "/api/v1/traces", api)
		q, notes, err := parseSearch(req, time.Now())
		if err != nil {
			tmpl.renderError(w, r, log, err)
			return
		}
		f, err := query.ParseField("session.id")
		if err != nil {
			tmpl.renderError(w, r, log, err)
			return
		}
		q.Filter = &query.Cmp{Field: f, Op: query.OpEq, Value: query.Value{Kind: query.StringValue, Str: id}}
		page, err := searcher.SearchTraces(r.Context(), q)
		if err != nil {
			tmpl.renderError(w, r, log, fmt.Errorf("session traces: %w", err))
			return
		}
		pj := newPageJSON(page, notes)
		// Conversation order, whatever order the store returned the page in.
		slices.SortStableFunc(pj.Traces, func(a, b loupe.TraceSummary) int { return a.Start.Compare(b.Start) })
		d.Notes = pj.Notes
		d.Turns = make([]uiTurn, len(pj.Traces))
		for i, t := range pj.Traces {
			d.Turns[i].Trace = t
			d.TotalMs += t.Duration
			d.TotalTokens += t.InputTokens + t.OutputTokens
			d.TotalCostUSD += t.CostUSD
			if t.Status != loupe.TraceOK {
				d.Errors++
			}
		}
		if d.CanPayloads {
			uiReadTurns(r.Context(), log, reader, p.Project, d.Turns)
		}
		if len(d.Turns) == 0 && v.Get("cursor") == "" {
			tmpl.renderError(w, r, log, fmt.Errorf("no traces of session %q in the last %s: %w", id, d.Since, loupe.ErrNotFound))
			return
		}
		base := "/sessions/" + url.PathEscape(id)
		if pj.Next != "" {
			d.NextHref = base + "?" + url.Values{"since": {d.Since}, "cursor": {pj.Next}}.Encode()
		}
		if v.Get("cursor") != "" {
			d.FirstHref = base + "?" + url.Values{"since": {d.Since}}.Encode()
		}
		tmpl.render(w, r, log, "session.html", uiPage{Title: "Session " + id, Nav: "sessions", Data: d})
	})
}

// uiReadTurns reads each turn's trace (a few at a time) for the user's
// input and the final answer.
func uiReadTurns(ctx context.Context, log *slog.Logger, reader loupe.TraceReader, project string, turns []uiTurn) {
	sem := make(chan struct{}, uiSessionReaders)
	var wg sync.WaitGroup
	for i := range turns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			tr, err := reader.Trace(ctx, project, turns[i].Trace.TraceID)
			if err != nil {
				log.Warn("ui: session trace", "trace", turns[i].Trace.TraceID.String(), "err", err)
				turns[i].ReadError = "could not read this trace"
				return
			}
			turns[i].Input, turns[i].Answer = conversationTurn(tr.Spans)
		})
	}
	wg.Wait()
}

// conversationTurn finds what the user asked and what they were answered in
// a trace: the root's generic input and output when set, else the last
// user message of the first model call and the last output message of the
// last model call.
func conversationTurn(spans []loupe.Span) (input, answer string) {
	order := make([]*loupe.Span, 0, len(spans))
	for i := range spans {
		order = append(order, &spans[i])
	}
	slices.SortStableFunc(order, func(a, b *loupe.Span) int { return a.Start.Compare(b.Start) })
	for _, s := range order {
		if s.IsRoot() && s.Payload != nil {
			input, answer = s.Payload.InputValue, s.Payload.OutputValue
			break
		}
	}
	if input == "" {
		for _, s := range order {
			if s.Kind != loupe.KindLLM || s.Payload == nil {
				continue
			}
			if m := lastRole(s.Payload.Input, "user"); m != "" {
				input = m
				break
			}
		}
	}
	if answer == "" {
		for _, s := range slices.Backward(order) {
			if s.Kind != loupe.KindLLM || s.Payload == nil || len(s.Payload.Output) == 0 {
				continue
			}
			if c := s.Payload.Output[len(s.Payload.Output)-1].Content; c != "" {
				answer = c
				break
			}
		}
	}
	return input, answer
}

// lastRole returns the content of the last message with the role.
func lastRole(msgs []loupe.Message, role string) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == role && msgs[i].Content != "" {
			return msgs[i].Content
		}
	}
	return ""
}
