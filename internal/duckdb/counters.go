package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Exact counters (migrations/0005_sampling.sql): increments written by the
// tail sampler with each batch, one per minute and combination of
// dimensions, taken before sampling. They are summed at query time, so a
// query reads minutes, not traces. A trace counts under one value of each
// dimension (the sampler's: first non-empty value among its spans, root
// first), so a filter on a dimension selects the traces counted under that
// value, where a trace search selects traces with some span holding it.

// counterAgg is one group and bucket of summed counters.
type counterAgg struct {
	gvals  []string
	bucket int64
	loupe.CounterRow
}

// alignMinutes widens w to whole minutes, the counters' resolution, with a
// note when it changed.
func alignMinutes(w window, notes *[]string) window {
	m := int64(time.Minute)
	from := w.from - ((w.from%m)+m)%m
	to := w.to
	if r := ((to % m) + m) % m; r != 0 {
		to += m - r
	}
	if from != w.from || to != w.to {
		*notes = append(*notes, fmt.Sprintf("exact counters have minute resolution: range aligned to %s - %s",
			time.Unix(0, from).UTC().Format(time.RFC3339), time.Unix(0, to).UTC().Format(time.RFC3339)))
	}
	return window{from, to}
}

// minuteInterval rounds a positive interval up to whole minutes, with a
// note when it changed.
func minuteInterval(iv time.Duration, notes *[]string) time.Duration {
	if iv <= 0 || iv%time.Minute == 0 {
		return iv
	}
	r := (iv + time.Minute - 1) / time.Minute * time.Minute
	*notes = append(*notes, fmt.Sprintf("interval %s rounded up to %s (exact counters have minute resolution)", iv, r))
	return r
}

// counterFilter compiles a filter made only of conditions on counter
// dimensions joined by and (=, !=, in, not in, ~, !~ on strings) into a
// condition on the counters table; ok is false for any other filter.
func counterFilter(e query.Expr) (sql string, args []any, ok bool) {
	if e == nil {
		return "TRUE", nil, true
	}
	switch e := e.(type) {
	case *query.And:
		l, largs, ok := counterFilter(e.L)
		if !ok {
			return "", nil, false
		}
		r, rargs, ok := counterFilter(e.R)
		if !ok {
			return "", nil, false
		}
		return "(" + l + " AND " + r + ")", append(largs, rargs...), true
	case *query.Cmp:
		if !query.CounterDimension(e.Field) {
			return "", nil, false
		}
		col := e.Field.Column
		switch e.Op {
		case query.OpEq, query.OpNe:
			if e.Value.Kind != query.StringValue {
				return "", nil, false
			}
			op := "="
			if e.Op == query.OpNe {
				op = "<>"
			}
			return col + " " + op + " ?", []any{e.Value.Str}, true
		case query.OpIn, query.OpNotIn:
			var ph []string
			for _, v := range e.Value.List {
				if v.Kind != query.StringValue {
					return "", nil, false
				}
				ph = append(ph, "?")
				args = append(args, v.Str)
			}
			op := " IN ("
			if e.Op == query.OpNotIn {
				op = " NOT IN ("
			}
			return col + op + strings.Join(ph, ", ") + ")", args, true
		case query.OpMatch, query.OpNotMatch:
			if e.Value.Kind != query.StringValue {
				return "", nil, false
			}
			op := " LIKE "
			if e.Op == query.OpNotMatch {
				op = " NOT LIKE "
			}
			return "(" + col + op + `? ESCAPE '\')`, []any{query.GlobLike(e.Value.Str)}, true
		}
	}
	return "", nil, false
}

// counterRows sums the counters of project in w (whole minutes) matching
// where, grouped by the dimensions by and by bucket (iv a whole number of
// minutes, 0 for none), largest groups first.
func (s *Store) counterRows(ctx context.Context, project string, w window, by []query.Field, where string, wargs []any, iv time.Duration) ([]counterAgg, error) {
	var gcols []string
	for i, f := range by {
		if !query.CounterDimension(f) {
			return nil, fmt.Errorf("%w: no counters by %s", loupe.ErrInvalid, f.Name)
		}
		gcols = append(gcols, f.Column+" AS g"+strconv.Itoa(i))
	}
	bucket := "0::BIGINT"
	if iv > 0 {
		n := strconv.FormatInt(int64(iv), 10)
		bucket = "(minute_ns - ((minute_ns % " + n + ") + " + n + ") % " + n + ")"
	}
	sel := append(slices.Clone(gcols), bucket+" AS bucket")
	var group []string
	for i := range by {
		group = append(group, "g"+strconv.Itoa(i))
	}
	group = append(group, "bucket")
	q := "SELECT " + strings.Join(sel, ", ") + `, sum(requests)::BIGINT, sum(errors)::BIGINT,
	sum(input_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, sum(cache_write_tokens)::BIGINT,
	sum(output_tokens)::BIGINT, sum(reasoning_tokens)::BIGINT, sum(cost_usd)
FROM counters WHERE project = ? AND minute_ns >= ? AND minute_ns < ? AND ` + where + `
GROUP BY ` + strings.Join(group, ", ") + ` ORDER BY ` + strings.Join(group, ", ")
	args := append([]any{project, w.from, w.to}, wargs...)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query counters: %w", err)
	}
	defer rows.Close()
	var out []counterAgg
	for rows.Next() {
		a := counterAgg{gvals: make([]string, len(by))}
		var dest []any
		for i := range a.gvals {
			dest = append(dest, &a.gvals[i])
		}
		r := &a.CounterRow
		dest = append(dest, &a.bucket, &r.Requests, &r.Errors, &r.InputTokens, &r.CacheReadTokens,
			&r.CacheWriteTokens, &r.OutputTokens, &r.ReasoningTokens, &r.CostUSD)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan counters: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	return out, nil
}

// hasCounters reports whether project has counters in w.
func (s *Store) hasCounters(ctx context.Context, project string, w window) (bool, error) {
	var ok bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM counters WHERE project = ? AND minute_ns >= ? AND minute_ns < ?)`,
		project, w.from, w.to).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("query counters: %w", err)
	}
	return ok, nil
}

// Counters returns the exact pre-sampling counters of q.Project in
// [q.From, q.To) widened to whole minutes, grouped by q.By (counter
// dimensions only) and bucketed by q.Interval (rounded up to whole
// minutes), groups with the most requests first, with notes on any
// adjustment. Only traces that went through the tail sampler are counted:
// with sampling off (all) there are no counters. Bad requests return
// errors wrapping loupe.ErrInvalid; loupe.ErrClosed after Close.
func (s *Store) Counters(ctx context.Context, q query.CountersRequest) (*loupe.Counters, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("counters: %w", loupe.ErrClosed)
	}
	c, err := s.counters(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	return c, nil
}

func (s *Store) counters(ctx context.Context, q query.CountersRequest) (*loupe.Counters, error) {
	c := &loupe.Counters{Rows: []loupe.CounterRow{}}
	for i, f := range q.By {
		if !query.CounterDimension(f) {
			return nil, fmt.Errorf("%w: no counters by %s (dimensions: prompt.version_id, model, tenant, route, environment)", loupe.ErrInvalid, f.Name)
		}
		if slices.Contains(q.By[:i], f) {
			return nil, fmt.Errorf("%w: dimension %s given twice", loupe.ErrInvalid, f.Name)
		}
		c.By = append(c.By, f.Name)
	}
	w, err := checkRange(q.From, q.To, &c.Notes)
	if err != nil {
		return nil, err
	}
	w = alignMinutes(w, &c.Notes)
	if q.Interval < 0 {
		return nil, fmt.Errorf("%w: negative interval", loupe.ErrInvalid)
	}
	iv := minuteInterval(q.Interval, &c.Notes)
	if iv > 0 {
		if span := time.Duration(w.to - w.from); (span+iv-1)/iv > query.MaxBuckets {
			iv = (span + query.MaxBuckets - 1) / query.MaxBuckets
			iv = (iv + time.Minute - 1) / time.Minute * time.Minute
			c.Notes = append(c.Notes, fmt.Sprintf("interval widened to %s (at most %d buckets)", iv, query.MaxBuckets))
		}
	}
	aggs, err := s.counterRows(ctx, q.Project, w, q.By, "TRUE", nil, iv)
	if err != nil {
		return nil, err
	}
	aggs = largestGroups(aggs, func(a *counterAgg) ([]string, int64) { return a.gvals, a.bucket },
		func(a *counterAgg) float64 { return float64(a.Requests) }, &c.Notes)
	for _, a := range aggs {
		r := a.CounterRow
		r.Group = groupOf(q.By, a.gvals)
		if iv > 0 {
			r.Bucket = time.Unix(0, a.bucket).UTC()
		}
		if r.Requests > 0 {
			r.ErrorRate = float64(r.Errors) / float64(r.Requests)
		}
		c.Rows = append(c.Rows, r)
	}
	return c, nil
}

// orderByGroupSize sorts rows by their group's total size (descending),
// then group values, then bucket, keeping a group's rows together.
func orderByGroupSize[T any](rows []T, key func(*T) (gvals []string, bucket int64), size func(*T) float64) {
	totals := map[string]float64{}
	for i := range rows {
		g, _ := key(&rows[i])
		totals[strings.Join(g, "\x00")] += size(&rows[i])
	}
	slices.SortStableFunc(rows, func(a, b T) int {
		ga, ba := key(&a)
		gb, bb := key(&b)
		ka, kb := strings.Join(ga, "\x00"), strings.Join(gb, "\x00")
		if ta, tb := totals[ka], totals[kb]; ta != tb {
			if ta > tb {
				return -1
			}
			return 1
		}
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		switch {
		case ba < bb:
			return -1
		case ba > bb:
			return 1
		}
		return 0
	})
}

// largestGroups orders rows as orderByGroupSize does and keeps the rows of
// the query.MaxGroups largest groups, with a note when it drops any.
func largestGroups[T any](rows []T, key func(*T) (gvals []string, bucket int64), size func(*T) float64, notes *[]string) []T {
	orderByGroupSize(rows, key, size)
	ngroups, keep, prev := 0, len(rows), ""
	for i := range rows {
		g, _ := key(&rows[i])
		if k := strings.Join(g, "\x00"); i == 0 || k != prev {
			ngroups++
			prev = k
		}
		if ngroups == query.MaxGroups+1 && keep == len(rows) {
			keep = i
		}
	}
	if ngroups > query.MaxGroups {
		*notes = append(*notes, fmt.Sprintf("%d groups; only the %d largest are shown", ngroups, query.MaxGroups))
	}
	return rows[:keep]
}

// groupOf maps the names of the fields by to a row's group values; nil
// when the query does not group.
func groupOf(by []query.Field, gvals []string) map[string]string {
	if len(by) == 0 {
		return nil
	}
	g := make(map[string]string, len(by))
	for i, f := range by {
		g[f.Name] = gvals[i]
	}
	return g
}
