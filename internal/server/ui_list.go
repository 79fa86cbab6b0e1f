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
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// uiSinceChoices are the time range picker's presets; "custom" uses from
// and to.
var uiSinceChoices = [...]string{"15m", "1h", "6h", "24h", "7d"}

// uiQuickFilter is one of the list's quick filters: a select whose choice
// is ANDed to the filter as field = "value".
type uiQuickFilter struct {
	Param string // query-string parameter
	Label string
	Field string // filter field name
}

// uiQuickFilters are the list's quick filters, status first.
var uiQuickFilters = [...]uiQuickFilter{
	{"status", "Status", "trace.status"},
	{"prompt", "Prompt version", "prompt.version_id"},
	{"model", "Model", "model"},
	{"tenant", "Tenant", "tenant"},
	{"route", "Route", "route"},
	{"env", "Environment", "environment"},
}

// uiListState is the whole state of the list page, as held by the URL.
type uiListState struct {
	Since  string // a uiSinceChoices entry, "custom", or ""
	From   string // custom range, RFC 3339 or datetime-local
	To     string
	Q      string
	Quick  map[string]string // param -> value
	Sort   string
	Cursor string
	Live   bool
}

// uiListStateOf reads the list state from the query string.
func uiListStateOf(v url.Values) uiListState {
	s := uiListState{Since: v.Get("since"), From: v.Get("from"), To: v.Get("to"), Q: v.Get("q"),
		Sort: v.Get("sort"), Cursor: v.Get("cursor"), Live: v.Get("live") == "1", Quick: map[string]string{}}
	for _, qf := range uiQuickFilters {
		if val := v.Get(qf.Param); val != "" {
			s.Quick[qf.Param] = val
		}
	}
	if s.Since == "" && s.From == "" {
		s.Since = "1h"
	}
	return s
}

// values encodes the state as a query string; empty parts are left out.
func (s uiListState) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("since", s.Since)
	if s.Since == "custom" || s.Since == "" {
		set("from", s.From)
		set("to", s.To)
	}
	set("q", s.Q)
	for _, qf := range uiQuickFilters {
		set(qf.Param, s.Quick[qf.Param])
	}
	set("sort", s.Sort)
	set("cursor", s.Cursor)
	if s.Live {
		v.Set("live", "1")
	}
	return v
}

// href is the list URL of the state.
func (s uiListState) href() string {
	if e := s.values().Encode(); e != "" {
		return "/?" + e
	}
	return "/"
}

// rangeValues turns the UI's time range into the API's since/from/to:
// "custom" means from/to, and a datetime-local value (no zone) is UTC.
func uiRangeValues(since, from, to string) url.Values {
	v := url.Values{}
	if since != "" && since != "custom" {
		v.Set("since", since)
		return v
	}
	if from != "" {
		v.Set("from", uiTimeParam(from))
	}
	if to != "" {
		v.Set("to", uiTimeParam(to))
	}
	return v
}

// uiTimeParam accepts RFC 3339 or an <input type=datetime-local> value
// (taken as UTC) and returns RFC 3339, or s unchanged for timeRange to
// report.
func uiTimeParam(s string) string {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}

// uiFilter parses the filter box and ANDs the quick filters to it. A
// syntax error is a *query.Error positioned in q.
func uiFilter(q string, quick map[string]string) (query.Expr, error) {
	e, err := query.Parse(q)
	if err != nil {
		return nil, err
	}
	for _, qf := range uiQuickFilters {
		val, ok := quick[qf.Param]
		if !ok {
			continue
		}
		f, err := query.ParseField(qf.Field)
		if err != nil {
			return nil, fmt.Errorf("quick filter %s: %w", qf.Param, err)
		}
		if f.Type == query.Enum {
			val = strings.ToLower(val)
		}
		c := &query.Cmp{Field: f, Op: query.OpEq, Value: query.Value{Kind: query.StringValue, Str: val}}
		if e == nil {
			e = c
		} else {
			e = &query.And{L: e, R: c}
		}
	}
	return e, nil
}

// uiFilterError is a filter error shown under the search box with a caret.
type uiFilterError struct {
	Message string
	// Before, At and After split the filter around the error position.
	Before, At, After string
	// Caret is Before's width in spaces followed by ^.
	Caret string
}

func newUIFilterError(q string, qe *query.Error) *uiFilterError {
	pos := min(max(qe.Pos, 0), len(q))
	for pos > 0 && pos < len(q) && !utf8.RuneStart(q[pos]) {
		pos--
	}
	fe := &uiFilterError{Message: qe.Error(), Before: q[:pos]}
	if pos < len(q) {
		// Mark the word at the position (at least one character).
		_, n := utf8.DecodeRuneInString(q[pos:])
		end := pos + n
		if !strings.ContainsRune(` ()"`, rune(q[pos])) {
			for end < len(q) && !strings.ContainsRune(" \t\n()\"", rune(q[end])) {
				end++
			}
		}
		fe.At, fe.After = q[pos:end], q[end:]
	}
	fe.Caret = strings.Repeat(" ", utf8.RuneCountInString(visibleText(fe.Before))) + "^"
	return fe
}

// uiOption is one choice of a select.
type uiOption struct {
	Value, Label string
	Selected     bool
}

// uiSelect is a quick filter as the template draws it.
type uiSelect struct {
	Param, Label string
	Options      []uiOption
}

// uiColumn is a sortable column header.
type uiColumn struct {
	Label string
	Href  string // the list sorted by this column ("" when not sortable)
	Arrow string // ▲ or ▼ on the current sort column
	Num   bool   // right-aligned
}

// uiListData is list.html's data.
type uiListData struct {
	State       uiListState
	SinceOpts   []uiOption
	Quick       []uiSelect
	Columns     []uiColumn
	Traces      []loupe.TraceSummary
	NextHref    string
	FirstHref   string
	LiveHref    string
	Notes       []string
	FilterError *uiFilterError
	Error       string
	// Live is the JSON the live-mode script reads: the API query to poll.
	Live uiLiveData
}

// uiLiveData tells list.js what to poll.
type uiLiveData struct {
	On    bool   `json:"on"`
	API   string `json:"api"` // /api/v1/traces?... with the effective filter
	Since string `json:"since"`
	Sort  string `json:"sort"`
}

// uiListColumns are the list's columns and their sort fields.
var uiListColumns = [...]struct {
	label, sort string
	num         bool
}{
	{"Time", "start_time", false}, {"Name", "name", false}, {"Status", "status", false},
	{"Latency", "duration_ms", true}, {"Spans", "span_count", true}, {"Tokens", "total_tokens", true},
	{"Cost", "cost_usd", true}, {"Prompt version", "prompt_version_id", false}, {"Model", "model", false},
	{"Tenant", "", false},
}

// handleUIList serves GET /: the traces list (see uiListState for the
// parameters).
func handleUIList(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	searcher, _ := reader.(Searcher)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if searcher == nil {
			tmpl.renderError(w, r, log, errNoSearcher)
			return
		}
		st := uiListStateOf(r.URL.Query())
		d := uiListData{State: st}
		d.SinceOpts = uiSinceOptions(st.Since, true)
		d.Columns = uiColumns(st)
		d.LiveHref = st.toggleLive().href()
		status := http.StatusOK

		// The API's request, from the UI's state.
		api := uiRangeValues(st.Since, st.From, st.To)
		api.Set("sort", st.Sort)
		api.Set("cursor", st.Cursor)
		req := uiAPIRequest(r, "/api/v1/traces", api)
		q, notes, err := parseSearch(req, time.Now())
		if err == nil {
			q.Filter, err = uiFilter(st.Q, st.Quick)
		}
		var page *loupe.TracePage
		if err == nil {
			var wg sync.WaitGroup
			wg.Go(func() { d.Quick = uiQuickSelects(r.Context(), log, searcher, q.Project, q.From, q.To, st.Quick) })
			page, err = searcher.SearchTraces(r.Context(), q)
			wg.Wait()
		} else {
			d.Quick = uiQuickSelects(r.Context(), log, searcher, principalOf(r.Context()).Project, time.Now().Add(-time.Hour), time.Now(), st.Quick)
		}
		if qe, ok := errors.AsType[*query.Error](err); ok {
			d.FilterError = newUIFilterError(st.Q, qe)
			status = http.StatusBadRequest
		} else if err != nil {
			if !errors.Is(err, loupe.ErrInvalid) {
				tmpl.renderError(w, r, log, fmt.Errorf("search traces: %w", err))
				return
			}
			d.Error = err.Error()
			status = http.StatusBadRequest
		}
		if page != nil {
			p := newPageJSON(page, notes)
			d.Traces, d.Notes = p.Traces, p.Notes
			if p.Next != "" {
				next := st
				next.Cursor = p.Next
				d.NextHref = next.href()
			}
			if st.Cursor != "" {
				first := st
				first.Cursor = ""
				d.FirstHref = first.href()
			}
			if q.Filter != nil {
				api.Set("q", q.Filter.String())
			}
			api.Del("cursor")
			if st.Sort == "" {
				api.Del("sort")
			}
			d.Live = uiLiveData{On: st.Live, API: "/api/v1/traces?" + api.Encode(), Since: st.Since, Sort: st.Sort}
		}
		tmpl.renderStatus(w, r, log, status, "list.html", uiPage{Title: "Traces", Nav: "traces", Scripts: []string{"list.js"}, Data: d})
	})
}

// toggleLive returns the state with live mode flipped (and no cursor:
// live mode shows the newest traces).
func (s uiListState) toggleLive() uiListState {
	s.Live = !s.Live
	s.Cursor = ""
	return s
}

// uiSinceOptions lists the time range presets with the current one
// selected, and a "custom range" entry when withCustom (the list page).
func uiSinceOptions(cur string, withCustom bool) []uiOption {
	opts := make([]uiOption, 0, len(uiSinceChoices)+1)
	for _, c := range uiSinceChoices {
		opts = append(opts, uiOption{Value: c, Label: "last " + c, Selected: c == cur})
	}
	custom := cur == "custom" || cur == ""
	if !custom && !slices.Contains(uiSinceChoices[:], cur) {
		// A since the presets do not offer (e.g. 3h from a shared link).
		opts = append(opts, uiOption{Value: cur, Label: "last " + cur, Selected: true})
	}
	if !withCustom {
		return opts
	}
	return append(opts, uiOption{Value: "custom", Label: "custom range", Selected: custom})
}

// uiColumns builds the sortable headers: clicking the current column
// flips its direction; another column sorts descending first (ascending
// for text columns).
func uiColumns(st uiListState) []uiColumn {
	cur, err := query.ParseSort(st.Sort)
	if err != nil {
		cur = query.Sort{}
	}
	if cur.Field == "" {
		cur.Field = "start_time"
	}
	cols := make([]uiColumn, 0, len(uiListColumns))
	for _, c := range uiListColumns {
		col := uiColumn{Label: c.label, Num: c.num}
		if c.sort != "" {
			next := st
			next.Cursor = ""
			asc := !c.num && c.sort != "start_time"
			if c.sort == cur.Field {
				asc = !cur.Asc
				col.Arrow = "▼"
				if cur.Asc {
					col.Arrow = "▲"
				}
			}
			next.Sort = c.sort
			if !asc {
				next.Sort = "-" + c.sort
			}
			if next.Sort == "-start_time" {
				next.Sort = ""
			}
			col.Href = next.href()
		}
		cols = append(cols, col)
	}
	return cols
}

// uiQuickOptionsMax bounds each quick filter's options.
const uiQuickOptionsMax = 25

// uiQuickSelects fills the quick filters' options with the most frequent
// values in the time range (the status filter's are fixed). A failed
// lookup leaves only the current choice; the page still renders.
func uiQuickSelects(ctx context.Context, log *slog.Logger, s Searcher, project string, from, to time.Time, cur map[string]string) []uiSelect {
	sels := make([]uiSelect, len(uiQuickFilters))
	var wg sync.WaitGroup
	for i, qf := range uiQuickFilters {
		sels[i] = uiSelect{Param: qf.Param, Label: qf.Label}
		if qf.Param == "status" {
			sels[i].Options = []uiOption{{Value: "ok", Label: "ok"}, {Value: "degraded", Label: "degraded"}, {Value: "error", Label: "error"}}
			continue
		}
		wg.Go(func() {
			f, err := query.ParseField(qf.Field)
			if err != nil {
				return
			}
			st, err := s.Stats(ctx, query.StatsRequest{Project: project, From: from, To: to, By: []query.Field{f}, Level: "trace"})
			if err != nil {
				log.Warn("ui: quick filter values", "field", qf.Field, "err", err)
				return
			}
			rows := slices.Clone(st.Rows)
			slices.SortFunc(rows, func(a, b loupe.StatsRow) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Group[f.Name], b.Group[f.Name]))
			})
			for _, row := range rows {
				v := row.Group[f.Name]
				if v == "" {
					continue
				}
				if len(sels[i].Options) == uiQuickOptionsMax {
					break
				}
				sels[i].Options = append(sels[i].Options, uiOption{Value: v, Label: fmt.Sprintf("%s (%d)", v, row.Count)})
			}
		})
	}
	wg.Wait()
	for i := range sels {
		c := cur[sels[i].Param]
		if c == "" {
			continue
		}
		found := false
		for j := range sels[i].Options {
			if sels[i].Options[j].Value == c {
				sels[i].Options[j].Selected, found = true, true
			}
		}
		if !found {
			sels[i].Options = append(sels[i].Options, uiOption{Value: c, Label: c, Selected: true})
		}
	}
	return sels
}
