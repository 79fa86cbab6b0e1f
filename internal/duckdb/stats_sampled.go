package duckdb

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Statistics over sampled data.
//
// With sampling on, a kept trace (full or metadata-only) stands for
// Sample.Weight traces: 1/p, p being the probability that its rule kept it
// in any class. Statistics then use the Horvitz-Thompson estimator: a total
// (count, errors, tokens, cost) is the sum over kept items of weight ×
// value, and its variance, the trace keep decisions being independent
// Bernoulli draws (a hash of the trace id), is estimated by
// Σ w(w-1)·value²; the error bound reported is 1.96 standard deviations
// (95%). The error rate is the ratio of two such totals, its variance taken
// by linearisation: Σ w(w-1)(failed - rate)² / count². Percentiles are
// weighted (the smallest latency whose cumulative weight reaches p of the
// total) and have no bound.
//
// When a trace-level query groups and filters only by counter dimensions
// (prompt.version_id, model, tenant, route, environment), count, errors,
// error rate, tokens and cost are exact instead: the counters (every trace
// the sampler saw, before sampling) plus the traces stored with sampling
// off, which the counters never saw; the range is aligned to whole minutes.
// Only the percentiles are estimates then.

// statsSampling says how sampling shapes a stats query.
type statsSampling struct {
	on    bool   // some data in the range was sampled: weigh it
	exact bool   // count, errors, tokens and cost come from the counters
	where string // counters condition of the filter (exact only)
	args  []any
	w     window // the range aligned to whole minutes (exact only)
}

// statsSampling finds whether the range of q holds sampled data and whether
// its counted figures can come from the counters; for those it aligns w and
// iv to whole minutes.
func (s *Store) statsSampling(ctx context.Context, q query.StatsRequest, w *window, iv *time.Duration, notes *[]string) (statsSampling, error) {
	var smp statsSampling
	table := "trace_parts"
	if q.Level == "span" {
		table = "spans"
	}
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`
		WHERE project = ? AND start_ns >= ? AND start_ns < ? AND coalesce(sample_class, '') <> '')`,
		q.Project, w.from, w.to).Scan(&smp.on)
	if err != nil {
		return smp, fmt.Errorf("query sampling: %w", err)
	}
	if !smp.on {
		if smp.on, err = s.hasCounters(ctx, q.Project, *w); err != nil {
			return smp, err
		}
	}
	if !smp.on || q.Level == "span" {
		return smp, nil
	}
	for _, f := range q.By {
		if !query.CounterDimension(f) {
			return smp, nil
		}
	}
	where, args, ok := counterFilter(q.Filter)
	if !ok {
		return smp, nil
	}
	smp.exact, smp.where, smp.args = true, where, args
	*w = alignMinutes(*w, notes)
	*iv = minuteInterval(*iv, notes)
	smp.w = *w
	return smp, nil
}

// statAgg is one group and bucket of the weighted aggregates.
type statAgg struct {
	gvals  []string
	bucket int64
	// Weighted totals (estimates) and their variance terms Σ w(w-1)x².
	cnt, errs, in, out, cost      float64
	vCnt, vErr, vIn, vOut, vCost  float64
	q                             [3]float64 // weighted p50, p95, p99
	offCnt, offErr, offIn, offOut int64      // traces stored with sampling off: exact
	offCost                       float64
}

// estimatedAll lists every figure of a row estimated from samples.
var estimatedAll = []string{"count", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms", "input_tokens", "output_tokens", "cost_usd"}

// sampledStats runs a stats query over sampled data: base is the WITH
// clause ending in the base CTE (columns g0..gN, bucket, ms, failed,
// in_tok, out_tok, cost, w, off) and bargs its arguments.
func (s *Store) sampledStats(ctx context.Context, st *loupe.Stats, q query.StatsRequest, smp statsSampling,
	base string, bargs []any, iv time.Duration) (*loupe.Stats, error) {
	var gcols []string
	for i := range q.By {
		gcols = append(gcols, "g"+strconv.Itoa(i))
	}
	part := strings.Join(append(append([]string(nil), gcols...), "bucket"), ", ")
	sql := base + `,
wq AS (SELECT *, sum(w) OVER (PARTITION BY ` + part + ` ORDER BY ms ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cw,
	sum(w) OVER (PARTITION BY ` + part + `) AS tw FROM base)
SELECT ` + part + `, sum(w), sum(w * failed),
	coalesce(min(ms) FILTER (WHERE cw >= 0.5 * tw), 0), coalesce(min(ms) FILTER (WHERE cw >= 0.95 * tw), 0),
	coalesce(min(ms) FILTER (WHERE cw >= 0.99 * tw), 0),
	sum(w * in_tok), sum(w * out_tok), sum(w * cost),
	sum(w * (w - 1)), sum(w * (w - 1) * failed), sum(w * (w - 1) * in_tok * in_tok),
	sum(w * (w - 1) * out_tok * out_tok), sum(w * (w - 1) * cost * cost),
	sum(off)::BIGINT, sum(off * failed)::BIGINT, sum(off * in_tok)::BIGINT, sum(off * out_tok)::BIGINT, sum(off * cost)
FROM wq GROUP BY ` + part
	rows, err := s.db.QueryContext(ctx, sql, bargs...)
	if err != nil {
		return nil, fmt.Errorf("query stats: %w", err)
	}
	defer rows.Close()
	var aggs []statAgg
	for rows.Next() {
		a := statAgg{gvals: make([]string, len(gcols))}
		var dest []any
		for i := range a.gvals {
			dest = append(dest, &a.gvals[i])
		}
		dest = append(dest, &a.bucket, &a.cnt, &a.errs, &a.q[0], &a.q[1], &a.q[2], &a.in, &a.out, &a.cost,
			&a.vCnt, &a.vErr, &a.vIn, &a.vOut, &a.vCost, &a.offCnt, &a.offErr, &a.offIn, &a.offOut, &a.offCost)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan stats: %w", err)
		}
		aggs = append(aggs, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}

	type row struct {
		gvals  []string
		bucket int64
		size   float64
		r      loupe.StatsRow
	}
	var out []row
	if smp.exact {
		counts, err := s.counterRows(ctx, q.Project, smp.w, q.By, smp.where, smp.args, iv)
		if err != nil {
			return nil, err
		}
		index := map[string]int{}
		key := func(g []string, b int64) string { return strings.Join(g, "\x00") + "\x00" + strconv.FormatInt(b, 10) }
		for i := range aggs {
			index[key(aggs[i].gvals, aggs[i].bucket)] = i
		}
		seen := make([]bool, len(aggs))
		add := func(g []string, b int64, c loupe.CounterRow, a *statAgg) {
			r := loupe.StatsRow{Count: c.Requests, Errors: c.Errors, InputTokens: c.InputTokens,
				OutputTokens: c.OutputTokens, CostUSD: c.CostUSD}
			if a != nil {
				r.Count += a.offCnt
				r.Errors += a.offErr
				r.InputTokens += a.offIn
				r.OutputTokens += a.offOut
				r.CostUSD += a.offCost
				r.P50Ms, r.P95Ms, r.P99Ms = a.q[0], a.q[1], a.q[2]
			}
			if c.Requests > 0 {
				r.Estimated = []string{"p50_ms", "p95_ms", "p99_ms"}
			}
			if r.Count > 0 {
				r.ErrorRate = float64(r.Errors) / float64(r.Count)
			}
			out = append(out, row{g, b, float64(r.Count), r})
		}
		for _, c := range counts {
			i, ok := index[key(c.gvals, c.bucket)]
			var a *statAgg
			if ok {
				a, seen[i] = &aggs[i], true
			}
			add(c.gvals, c.bucket, c.CounterRow, a)
		}
		for i := range aggs {
			if !seen[i] {
				add(aggs[i].gvals, aggs[i].bucket, loupe.CounterRow{}, &aggs[i])
			}
		}
	} else {
		for _, a := range aggs {
			r := loupe.StatsRow{Count: int64(math.Round(a.cnt)), Errors: int64(math.Round(a.errs)),
				P50Ms: a.q[0], P95Ms: a.q[1], P99Ms: a.q[2],
				InputTokens: int64(math.Round(a.in)), OutputTokens: int64(math.Round(a.out)), CostUSD: a.cost}
			if a.cnt > 0 {
				r.ErrorRate = a.errs / a.cnt
			}
			if a.cnt != float64(a.offCnt) { // some item was sampled
				r.Estimated = estimatedAll
				bound := func(v float64) float64 { return 1.96 * math.Sqrt(max(v, 0)) }
				rate := 0.0
				if a.cnt > 0 {
					rate = a.errs / a.cnt
				}
				r.ErrorBounds = map[string]float64{
					"count": bound(a.vCnt), "errors": bound(a.vErr),
					"input_tokens": bound(a.vIn), "output_tokens": bound(a.vOut), "cost_usd": bound(a.vCost),
				}
				if a.cnt > 0 {
					r.ErrorBounds["error_rate"] = bound(a.vErr*(1-2*rate)+rate*rate*a.vCnt) / a.cnt
				}
			}
			out = append(out, row{a.gvals, a.bucket, a.cnt, r})
		}
	}

	out = largestGroups(out, func(r *row) ([]string, int64) { return r.gvals, r.bucket },
		func(r *row) float64 { return r.size }, &st.Notes)
	for _, o := range out {
		r := o.r
		r.Group = groupOf(q.By, o.gvals)
		if iv > 0 {
			r.Bucket = time.Unix(0, o.bucket).UTC()
		}
		st.Rows = append(st.Rows, r)
	}
	if smp.exact {
		st.Notes = append(st.Notes, "sampling on: count, errors, tokens and cost are exact (pre-sampling counters); percentiles are estimates from kept traces")
	} else {
		st.Notes = append(st.Notes, "sampling on: figures are estimates from kept traces weighted by their sample weight; error_bounds give 95% intervals")
	}
	return st, nil
}
