package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Counterer is implemented by stores that keep the exact pre-sampling
// counters of the tail sampler (optional on the reader, like Searcher).
type Counterer interface {
	Counters(ctx context.Context, q query.CountersRequest) (*loupe.Counters, error)
}

// counterDims lists the dimensions of GET /api/v1/counters.
const counterDims = "prompt.version_id, model, tenant, route, environment"

// handleCounters serves GET /api/v1/counters?by=DIM[,DIM]&since=24h&interval=1m:
// exact requests, errors, tokens and cost of every trace the sampler saw
// (kept or not), per group of dimensions and time bucket, as
// {"by":[...], "groups":[...], "notes":[...]}.
func handleCounters(log *slog.Logger, reader loupe.TraceReader) http.Handler {
	counterer, _ := reader.(Counterer)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if counterer == nil {
			writeAPIError(w, log, fmt.Errorf("%w: this store keeps no counters", errNoReader))
			return
		}
		q, notes, err := parseCounters(r, time.Now())
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		c, err := counterer.Counters(r.Context(), q)
		if err != nil {
			writeAPIError(w, log, fmt.Errorf("counters: %w", err))
			return
		}
		out := loupe.Counters{By: c.By, Rows: make([]loupe.CounterRow, 0, len(c.Rows)), Notes: mergeNotes(notes, c.Notes)}
		if out.By == nil {
			out.By = make([]string, 0, len(q.By))
			for _, f := range q.By {
				out.By = append(out.By, f.Name)
			}
		}
		for _, row := range c.Rows {
			if !row.Bucket.IsZero() {
				row.Bucket = row.Bucket.UTC()
			}
			row.ErrorRate, row.CostUSD = finiteOr0(row.ErrorRate), finiteOr0(row.CostUSD)
			out.Rows = append(out.Rows, row)
		}
		encode(w, log, http.StatusOK, out)
	})
}

// parseCounters turns the query string into a counters request.
func parseCounters(r *http.Request, now time.Time) (query.CountersRequest, []string, error) {
	v := r.URL.Query()
	q := query.CountersRequest{Project: principalOf(r.Context()).Project}
	var notes []string
	var err error
	if q.From, q.To, notes, err = timeRange(v, now, defaultStatsSince); err != nil {
		return q, nil, err
	}
	if q.By, err = parseFields(v["by"], "dimension", func(name string, f query.Field, err error) error {
		if err != nil || !query.CounterDimension(f) {
			return paramError("by", "%q is not a counter dimension; valid: %s", name, counterDims)
		}
		return nil
	}); err != nil {
		return q, nil, err
	}
	if s := v.Get("interval"); s != "" {
		d, err := ParseDuration(s)
		if err != nil || d <= 0 || d%time.Minute != 0 {
			return q, nil, paramError("interval", "%q is not a positive whole number of minutes (e.g. 1m, 1h)", s)
		}
		q.Interval = d
	}
	return q, notes, nil
}
