package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// handleStats serves GET /api/v1/stats?by=FIELD[,FIELD]&q=FILTER&since=24h&interval=1h&level=trace|span:
// count, error rate, latency percentiles, tokens and cost per group and
// time bucket, as {"level":..., "by":[...], "groups":[...], "notes":[...]}.
func handleStats(log *slog.Logger, reader loupe.TraceReader) http.Handler {
	searcher, _ := reader.(Searcher)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if searcher == nil {
			writeAPIError(w, log, errNoSearcher)
			return
		}
		q, notes, err := parseStats(r, time.Now())
		if err != nil {
			writeAPIError(w, log, err)
			return
		}
		st, err := searcher.Stats(r.Context(), q)
		if err != nil {
			writeAPIError(w, log, fmt.Errorf("stats: %w", err))
			return
		}
		encode(w, log, http.StatusOK, newStatsJSON(st, q, notes))
	})
}

// parseStats turns the query string into a stats request, with notes on
// what was clamped.
func parseStats(r *http.Request, now time.Time) (query.StatsRequest, []string, error) {
	v := r.URL.Query()
	q := query.StatsRequest{Project: principalOf(r.Context()).Project, Level: "trace"}
	var err error
	if q.Filter, err = parseFilter(v); err != nil {
		return q, nil, err
	}
	var notes []string
	if q.From, q.To, notes, err = timeRange(v, now, defaultStatsSince); err != nil {
		return q, nil, err
	}
	if q.By, err = parseBy(v["by"]); err != nil {
		return q, nil, err
	}
	switch l := v.Get("level"); l {
	case "", "trace":
	case "span":
		q.Level = "span"
	default:
		return q, nil, paramError("level", "%q is not trace or span", l)
	}
	if s := v.Get("interval"); s != "" {
		d, err := ParseDuration(s)
		if err != nil || d <= 0 {
			return q, nil, paramError("interval", "%q is not a positive duration (e.g. 1m, 1h, 1d)", s)
		}
		if minD := minInterval(q.To.Sub(q.From)); d < minD {
			notes = append(notes, fmt.Sprintf("interval %s gives more than %d buckets over %s; used %s",
				s, query.MaxBuckets, FormatDuration(q.To.Sub(q.From)), FormatDuration(minD)))
			d = minD
		}
		q.Interval = d
	}
	return q, notes, nil
}

// parseBy resolves by= (comma-separated, possibly repeated) into fields.
// Groupable fields are the string and enum span and trace fields and any
// attribute key.
func parseBy(vals []string) ([]query.Field, error) {
	fs, err := parseFields(vals, "field", func(name string, f query.Field, err error) error {
		if err != nil {
			return paramError("by", "unknown field %q; valid fields: %s, or attr.KEY for an attribute", name, strings.Join(groupableFields(), ", "))
		}
		if !groupable(f) {
			return paramError("by", "cannot group by %s (a %s field); valid fields: %s, or attr.KEY for an attribute", f.Name, f.Type, strings.Join(groupableFields(), ", "))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(fs) > maxByFields {
		return nil, paramError("by", "%d fields, at most %d", len(fs), maxByFields)
	}
	return fs, nil
}

// parseFields resolves by= values (comma-separated, possibly repeated) into
// distinct fields. check sees each name with its query.ParseField result
// and returns the error refusing it, or nil; what names a repeated field in
// its error ("field", "dimension").
func parseFields(vals []string, what string, check func(name string, f query.Field, err error) error) ([]query.Field, error) {
	var fs []query.Field
	for _, v := range vals {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			f, err := query.ParseField(name)
			if err := check(name, f, err); err != nil {
				return nil, err
			}
			if slices.Contains(fs, f) {
				return nil, paramError("by", "%s %s is given twice", what, f)
			}
			fs = append(fs, f)
		}
	}
	return fs, nil
}

func groupable(f query.Field) bool {
	switch f.Scope {
	case query.AttrScope:
		return true
	case query.SpanScope, query.TraceScope:
		return f.Type == query.String || f.Type == query.Enum
	}
	return false
}

// groupableFields lists the known fields stats can group by.
func groupableFields() []string {
	var names []string
	for _, f := range query.Fields() {
		if groupable(f) {
			names = append(names, f.Name)
		}
	}
	return names
}

// minInterval returns the smallest nice interval (1s, 5s, ..., 1h, ...,
// 7d) that splits span into at most query.MaxBuckets buckets.
func minInterval(span time.Duration) time.Duration {
	nice := [...]time.Duration{
		time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour,
	}
	need := (span + query.MaxBuckets - 1) / query.MaxBuckets
	for _, d := range nice {
		if d >= need {
			return d
		}
	}
	return need.Round(time.Hour) + time.Hour
}

// newStatsJSON prepares statistics for the API: the request's level and
// canonical by names when the store left them out, UTC buckets, finite
// numbers, an empty list rather than null, and the server's notes first.
func newStatsJSON(st *loupe.Stats, q query.StatsRequest, notes []string) loupe.Stats {
	out := loupe.Stats{Level: st.Level, By: st.By, Rows: make([]loupe.StatsRow, 0, len(st.Rows)), Notes: mergeNotes(notes, st.Notes)}
	if out.Level == "" {
		out.Level = q.Level
	}
	if out.By == nil {
		out.By = make([]string, 0, len(q.By))
		for _, f := range q.By {
			out.By = append(out.By, f.String())
		}
	}
	for _, row := range st.Rows {
		if !row.Bucket.IsZero() {
			row.Bucket = row.Bucket.UTC()
		}
		row.ErrorRate = finiteOr0(row.ErrorRate)
		row.P50Ms, row.P95Ms, row.P99Ms = finiteOr0(row.P50Ms), finiteOr0(row.P95Ms), finiteOr0(row.P99Ms)
		row.CostUSD = finiteOr0(row.CostUSD)
		if row.ErrorBounds != nil {
			bounds := make(map[string]float64, len(row.ErrorBounds))
			for k, b := range row.ErrorBounds {
				bounds[k] = finiteOr0(b)
			}
			row.ErrorBounds = bounds
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}
