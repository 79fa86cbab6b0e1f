package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// handleSearch serves GET /api/v1/traces?q=FILTER&since=1h&from=&to=&limit=50&sort=-duration_ms&cursor=C:
// one page of trace summaries, newest first unless sort says otherwise, as
// {"traces":[...],"next":"...","notes":[...]}.
func handleSearch(log *slog.Logger, reader loupe.TraceReader) http.Handler {
	searcher, _ := reader.(Searcher)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if searcher == nil {
			writeAPIError(w, log, errNoSearcher)
			return
		}
		q, notes, err := parseSearch(r, time.Now())
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		page, err := searcher.SearchTraces(r.Context(), q)
		if err != nil {
			writeAPIError(w, log, fmt.Errorf("search traces: %w", err))
			return
		}
		encode(w, log, http.StatusOK, newPageJSON(page, notes))
	})
}

// parseSearch turns the query string into a search request, with notes on
// what was clamped.
func parseSearch(r *http.Request, now time.Time) (query.TraceSearch, []string, error) {
	v := r.URL.Query()
	q := query.TraceSearch{Project: principalOf(r.Context()).Project, Limit: query.DefaultLimit, Cursor: v.Get("cursor")}
	var err error
	if q.Sort, err = query.ParseSort(v.Get("sort")); err != nil {
		return q, nil, paramError("sort", "%v", err)
	}
	if q.Filter, err = parseFilter(v); err != nil {
		return q, nil, err
	}
	var notes []string
	if q.From, q.To, notes, err = timeRange(v, now, defaultSearchSince); err != nil {
		return q, nil, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return q, nil, paramError("limit", "%q is not a positive integer", s)
		}
		if n > query.MaxLimit {
			notes = append(notes, fmt.Sprintf("limit %d is above the maximum of %d; returned at most %d traces", n, query.MaxLimit, query.MaxLimit))
			n = query.MaxLimit
		}
		q.Limit = n
	}
	return q, notes, nil
}

// newPageJSON prepares a page for the API: UTC times, finite numbers, an
// empty list rather than null, and the server's notes before the store's.
func newPageJSON(page *loupe.TracePage, notes []string) loupe.TracePage {
	out := loupe.TracePage{Traces: make([]loupe.TraceSummary, 0, len(page.Traces)), Next: page.Next,
		Notes: mergeNotes(notes, page.Notes)}
	for _, s := range page.Traces {
		s.Start = s.Start.UTC()
		s.Duration = finiteOr0(s.Duration)
		s.CostUSD = finiteOr0(s.CostUSD)
		out.Traces = append(out.Traces, s)
	}
	return out
}
