package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Stats aggregates the traces (Level "trace", the default: each trace once,
// with its duration, total tokens and cost, failing when its status is not
// ok) or the spans (Level "span": each matching span with its own values)
// of q.Project matching q.Filter in [q.From, q.To), grouped by q.By and,
// with q.Interval, bucketed by start time. At trace level a group value is
// the trace's: for the summary fields (service, environment, tenant,
// session.id, prompt.name, prompt.version_id, model) as in
// loupe.TraceSummary, for other fields the first non-empty value among its
// spans by start time. Percentiles are interpolated (quantile_cont), in
// milliseconds. More than query.MaxBuckets buckets widen the interval and
// more than query.MaxGroups groups keep the largest, both with a note.
// Rows are ordered by group size (descending), group values, then bucket.
func (s *Store) Stats(ctx context.Context, q query.StatsRequest) (*loupe.Stats, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("stats: %w", loupe.ErrClosed)
	}
	st, err := s.stats(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

// summaryColumn returns the t column holding a span field's trace-level
// value, when the trace summary has it.
func summaryColumn(f query.Field) (string, bool) {
	if f.Scope != query.SpanScope {
		return "", false
	}
	switch f.Column {
	case "service", "environment", "tenant", "session_id", "prompt_name", "prompt_version_id", "model":
		return "t." + f.Column, true
	}
	return "", false
}

// spanValueSQL returns a span's value of f as VARCHAR (” when absent).
func spanValueSQL(f query.Field, args *[]any) (string, error) {
	switch f.Scope {
	case query.SpanScope:
		if f.Column == "model" {
			return "CASE WHEN s.response_model <> '' THEN s.response_model ELSE s.request_model END", nil
		}
		col, ok := spanColumn(f.Column)
		if !ok {
			return "", fmt.Errorf("%w: cannot group by %s", loupe.ErrInvalid, f.Name)
		}
		return "CAST(" + col + " AS VARCHAR)", nil
	case query.AttrScope:
		*args = append(*args, jsonPointer(f.Name))
		return "coalesce(json_extract_string(" + attrColumn(f.Name) + ", ?), '')", nil
	}
	return "", fmt.Errorf("%w: cannot group by %s", loupe.ErrInvalid, f.Name)
}

func (s *Store) stats(ctx context.Context, q query.StatsRequest) (*loupe.Stats, error) {
	st := &loupe.Stats{Level: q.Level, Rows: []loupe.StatsRow{}}
	if st.Level == "" {
		st.Level = "trace"
	}
	if st.Level != "trace" && st.Level != "span" {
		return nil, fmt.Errorf("%w: level %q: want trace or span", loupe.ErrInvalid, q.Level)
	}
	if len(q.By) > 8 {
		return nil, fmt.Errorf("%w: at most 8 group-by fields", loupe.ErrInvalid)
	}
	for _, f := range q.By {
		st.By = append(st.By, f.Name)
		if f.Scope == query.TextScope {
			return nil, fmt.Errorf("%w: cannot group by the full-text field %s", loupe.ErrInvalid, f.Name)
		}
	}
	w, err := checkRange(q.From, q.To, &st.Notes)
	if err != nil {
		return nil, err
	}
	iv := q.Interval
	if iv < 0 {
		return nil, fmt.Errorf("%w: negative interval", loupe.ErrInvalid)
	}
	if iv > 0 {
		span := time.Duration(w.to - w.from)
		if n := (span + iv - 1) / iv; n > query.MaxBuckets {
			iv = (span + query.MaxBuckets - 1) / query.MaxBuckets
			iv = iv.Round(time.Second)
			if iv*query.MaxBuckets < span {
				iv += time.Second
			}
			st.Notes = append(st.Notes, fmt.Sprintf("interval widened to %s (at most %d buckets)", iv, query.MaxBuckets))
		}
	}

	smp, err := s.statsSampling(ctx, q, &w, &iv, &st.Notes)
	if err != nil {
		return nil, err
	}

	ft := &fullText{s: s, ctx: ctx, project: q.Project, w: w}
	filter, fargs, usesTrace, err := compileFilter(q.Filter, ft.match)
	ft.close()
	if err != nil {
		return nil, err
	}
	st.Notes = append(st.Notes, ft.notes...)
	if filter == falseSQL && !ft.partial && !smp.on {
		// Nothing matches: no rows (sampled stats keep their path, which
		// adds its notes).
		return st, nil
	}

	// base: one row per counted item with its group values g0..gN, bucket
	// start, latency in ms, failed flag, tokens and cost.
	var (
		with  string
		base  string
		bargs []any
		gcols []string
	)
	for i := range q.By {
		gcols = append(gcols, "g"+strconv.Itoa(i))
	}
	bucket := func(col string) string {
		if iv == 0 {
			return "0::BIGINT"
		}
		n := strconv.FormatInt(int64(iv), 10)
		return "(" + col + " - ((" + col + " % " + n + ") + " + n + ") % " + n + ")"
	}
	if st.Level == "trace" {
		p := tracePlan(q.Project, w, filter, fargs, usesTrace, q.Filter != nil)
		ctes := p.ctes
		bargs = p.args
		var sel []string
		// Trace values of fields the summary lacks come from the spans.
		var spanVals []string
		var spanArgs []any
		for i, f := range q.By {
			if col, ok := summaryColumn(f); ok {
				sel = append(sel, col+" AS "+gcols[i])
				continue
			}
			if f.Scope == query.TraceScope {
				if f.Column == "trace_id" {
					return nil, fmt.Errorf("%w: cannot group by trace.id", loupe.ErrInvalid)
				}
				col, ok := traceColumn(f.Column)
				if !ok {
					return nil, fmt.Errorf("%w: cannot group by %s", loupe.ErrInvalid, f.Name)
				}
				sel = append(sel, "CAST("+col+" AS VARCHAR) AS "+gcols[i])
				continue
			}
			v, err := spanValueSQL(f, &spanArgs)
			if err != nil {
				return nil, err
			}
			spanVals = append(spanVals, "coalesce(arg_min("+v+", s.start_ns) FILTER (WHERE "+v+" <> ''), '') AS "+gcols[i])
			if f.Scope == query.AttrScope {
				spanArgs = append(spanArgs, spanArgs[len(spanArgs)-1]) // v appears twice
			}
			sel = append(sel, "v."+gcols[i])
		}
		from := "t"
		if len(spanVals) > 0 {
			lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
			ctes = append(ctes, `v AS (SELECT s.trace_hi, s.trace_lo, `+strings.Join(spanVals, ", ")+`
				FROM spans s SEMI JOIN t ON s.trace_hi = t.trace_hi AND s.trace_lo = t.trace_lo
				WHERE s.project = ? AND s.start_ns >= ? AND s.start_ns < ? GROUP BY s.trace_hi, s.trace_lo)`)
			bargs = append(bargs, spanArgs...)
			bargs = append(bargs, q.Project, lo, hi)
			from = "t JOIN v ON t.trace_hi = v.trace_hi AND t.trace_lo = v.trace_lo"
		}
		sel = append(sel, bucket("t.start_ns")+" AS bucket", "t.duration_ns / 1e6 AS ms",
			"(t.status <> 'ok')::BIGINT AS failed", "t.input_tokens AS in_tok",
			"t.output_tokens AS out_tok", "t.cost_usd AS cost",
			"t.sample_weight AS w", "(t.sample_class = '')::BIGINT AS off")
		with = "WITH " + strings.Join(ctes, ",\n") + ",\n"
		base = "base AS (SELECT " + strings.Join(sel, ", ") + " FROM " + from + ")"
	} else {
		var ctes []string
		from := "spans s"
		if usesTrace {
			lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
			ctes = append(ctes, "t AS ("+fmt.Sprintf(traceAggSQL,
				`trace_parts WHERE project = ? AND start_ns >= ? AND start_ns < ?`)+")")
			// Spans starting in the window whose trace starts before it still
			// need their trace's values: widen the traces' start range.
			bargs = append(bargs, q.Project, lo, hi, lo, w.to)
			from = "spans s JOIN t ON s.trace_hi = t.trace_hi AND s.trace_lo = t.trace_lo"
		}
		var sel []string
		for i, f := range q.By {
			if f.Scope == query.TraceScope {
				return nil, fmt.Errorf("%w: group spans by span fields or attributes, not %s", loupe.ErrInvalid, f.Name)
			}
			v, err := spanValueSQL(f, &bargs)
			if err != nil {
				return nil, err
			}
			sel = append(sel, v+" AS "+gcols[i])
		}
		sel = append(sel, bucket("s.start_ns")+" AS bucket", "s.duration_ns / 1e6 AS ms",
			"(s.status = 'error' OR s.error_type <> '')::BIGINT AS failed", "s.input_tokens AS in_tok",
			"s.output_tokens AS out_tok", "s.cost_usd AS cost",
			"coalesce(s.sample_weight, 1) AS w", "(coalesce(s.sample_class, '') = '')::BIGINT AS off")
		if len(ctes) > 0 {
			with = "WITH " + strings.Join(ctes, ",\n") + ",\n"
		} else {
			with = "WITH "
		}
		base = "base AS (SELECT " + strings.Join(sel, ", ") + " FROM " + from +
			" WHERE s.project = ? AND s.start_ns >= ? AND s.start_ns < ? AND " + filter + ")"
		bargs = append(bargs, q.Project, w.from, w.to)
		bargs = append(bargs, fargs...)
	}

	if smp.on {
		return s.sampledStats(ctx, st, q, smp, with+base, bargs, iv)
	}

	var b strings.Builder
	b.WriteString(with)
	b.WriteString(base)
	args := bargs
	gl := strings.Join(gcols, ", ")
	if len(gcols) > 0 {
		// The MaxGroups largest groups; ngroups counts them all.
		b.WriteString(",\ntop AS (SELECT " + gl + ", count(*) AS gc, count(*) OVER () AS ngroups FROM base GROUP BY " + gl +
			" ORDER BY gc DESC, " + gl + " LIMIT ?)")
		args = append(args, query.MaxGroups)
	}
	b.WriteString("\nSELECT ")
	if len(gcols) > 0 {
		b.WriteString(gl + ", any_value(top.gc), any_value(top.ngroups), ")
	} else {
		b.WriteString("0, 0, ")
	}
	b.WriteString(`bucket, count(*), sum(failed)::BIGINT, quantile_cont(ms, [0.5, 0.95, 0.99]) AS q,
	sum(in_tok)::BIGINT, sum(out_tok)::BIGINT, sum(cost) FROM base`)
	if len(gcols) > 0 {
		b.WriteString(" JOIN top USING (" + gl + ")")
	}
	b.WriteString(" GROUP BY ")
	if len(gcols) > 0 {
		b.WriteString(gl + ", ")
	}
	b.WriteString("bucket ORDER BY ")
	if len(gcols) > 0 {
		b.WriteString("any_value(top.gc) DESC, " + gl + ", ")
	}
	b.WriteString("bucket")

	rows, err := s.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("query stats: %w", err)
	}
	defer rows.Close()
	var ngroups int64
	for rows.Next() {
		var (
			r         loupe.StatsRow
			gvals     = make([]string, len(gcols))
			dest      []any
			gc, ng    int64
			bk        int64
			quantiles []any
		)
		for i := range gvals {
			dest = append(dest, &gvals[i])
		}
		dest = append(dest, &gc, &ng, &bk, &r.Count, &r.Errors, &quantiles, &r.InputTokens, &r.OutputTokens, &r.CostUSD)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan stats: %w", err)
		}
		ngroups = ng
		r.Group = groupOf(q.By, gvals)
		if iv > 0 {
			r.Bucket = time.Unix(0, bk).UTC()
		}
		if r.Count > 0 {
			r.ErrorRate = float64(r.Errors) / float64(r.Count)
		}
		for i, p := range []*float64{&r.P50Ms, &r.P95Ms, &r.P99Ms} {
			if i < len(quantiles) {
				if f, ok := quantiles[i].(float64); ok {
					*p = f
				}
			}
		}
		st.Rows = append(st.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	if ngroups > query.MaxGroups {
		st.Notes = append(st.Notes, fmt.Sprintf("%d groups; only the %d largest are shown", ngroups, query.MaxGroups))
	}
	return st, nil
}
