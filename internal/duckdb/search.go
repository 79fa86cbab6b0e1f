package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// traceSlack widens the scans around a query's time range: a trace belongs
// to the range by its start (its earliest span), and its other spans and
// parts, which may start a little earlier (parts written later with early
// spans) or later, are found within this margin. Spans further than that
// from the range are not seen by a search.
const traceSlack = 5 * time.Minute

// appendSearchRows appends the search side rows of batches (trace_parts and
// the full-text index, see migrations/0003_search.sql) on conn. The write
// path must call it inside its transaction, after appending the spans and
// before COMMIT, so that spans and their search rows commit together.
func (s *Store) appendSearchRows(ctx context.Context, conn driver.Conn, batches []loupe.Batch, parts []*ftsPart) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := appendTraceParts(conn, batches, s.recent); err != nil {
		return err
	}
	if s.fts.off {
		return nil
	}
	if s.fts.ix == nil {
		s.fts.ix = newFTSIndexer()
	}
	return appendFullText(conn, s.fts.ix, parts)
}

// part accumulates one trace's trace_parts row.
type part struct {
	project                    string
	hi, lo                     int64
	start, end                 int64
	hasRoot, rootFailed        bool
	name                       string
	nameRank                   rank
	spans, errors              int64
	in, out, total             int64
	cost                       float64
	service, env, tenant       firstValue
	session, prompt, promptVer firstValue
	model                      loupe.ModelChoice // loupe.TraceModel of the part's spans
	sample                     loupe.Sample      // the first span's
}

// rank orders spans for "first non-empty, root first": roots before other
// spans, then earlier starts.
type rank struct {
	set   bool
	root  bool
	start int64
}

func (r rank) before(o rank) bool {
	if !o.set {
		return true
	}
	if r.root != o.root {
		return r.root
	}
	return r.start < o.start
}

type firstValue struct {
	v string
	r rank
}

func (f *firstValue) offer(v string, r rank) {
	if v != "" && r.before(f.r) {
		f.v, f.r = v, r
	}
}

type partKey struct {
	project string
	id      loupe.TraceID
}

// buildTraceParts returns one part per (project, trace) of batches, in
// first-seen order.
func buildTraceParts(batches []loupe.Batch) []*part {
	index := map[partKey]*part{}
	var parts []*part
	for i := range batches {
		for j := range batches[i].Spans {
			sp := &batches[i].Spans[j]
			k := partKey{sp.Project, sp.TraceID}
			p := index[k]
			start, end := sp.Start.UnixNano(), sp.End.UnixNano()
			if p == nil {
				hi, lo := traceHalves(sp.TraceID)
				p = &part{project: text(sp.Project), hi: hi, lo: lo, start: start, end: end, sample: sp.Sample}
				index[k] = p
				parts = append(parts, p)
			}
			p.start = min(p.start, start)
			p.end = max(p.end, end)
			r := rank{set: true, root: sp.IsRoot(), start: start}
			failed := sp.Failed()
			if r.root {
				p.hasRoot = true
				p.rootFailed = p.rootFailed || failed
			}
			if r.before(p.nameRank) {
				p.name, p.nameRank = text(sp.Name), r
			}
			p.spans++
			if failed {
				p.errors++
			}
			p.in += sp.Usage.Input
			p.out += sp.Usage.Output
			p.total += sp.Usage.Total()
			p.cost += sp.CostUSD
			p.service.offer(sp.Service, r)
			p.env.offer(sp.Environment, r)
			p.tenant.offer(sp.Tenant, r)
			p.session.offer(sp.SessionID, r)
			p.prompt.offer(sp.PromptName, r)
			p.promptVer.offer(sp.PromptVersionID, r)
			p.model.Offer(sp)
		}
	}
	return parts
}

// appendTraceParts appends one trace_parts row per trace of batches; recent
// decides their cont column.
func appendTraceParts(conn driver.Conn, batches []loupe.Batch, recent *recentTraces) (err error) {
	parts := buildTraceParts(batches)
	if len(parts) == 0 {
		return nil
	}
	a, err := duckdb.NewAppenderFromConn(conn, "", "trace_parts")
	if err != nil {
		return fmt.Errorf("create trace_parts appender: %w", err)
	}
	defer func() {
		if err != nil {
			a.Clear()
		}
		if cerr := a.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("flush trace_parts: %w", cerr)
		}
	}()
	row := make([]driver.Value, 0, 25)
	for _, p := range parts {
		row = append(row[:0], p.project, p.hi, p.lo, p.start, p.end, p.hasRoot, p.rootFailed, p.name,
			p.spans, p.errors, p.in, p.out, p.total, p.cost,
			text(p.service.v), text(p.env.v), text(p.tenant.v), text(p.session.v),
			text(p.prompt.v), text(p.promptVer.v), text(p.model.Model), modelStart(p.model),
			string(p.sample.Class), sampleWeight(p.sample),
			recent.cont(p.project, p.hi, p.lo, p.start, p.end))
		if err := a.AppendRow(row...); err != nil {
			return fmt.Errorf("append trace part: %w", err)
		}
	}
	return nil
}

// traceAggSQL aggregates the trace_parts rows of FROM-clause source (which
// must expose the trace_parts columns) into one row per trace, named as the
// trace.* fields' columns plus the summary fields.
const traceAggSQL = `SELECT trace_hi, trace_lo,
	min(start_ns) AS start_ns,
	max(end_ns) - min(start_ns) AS duration_ns,
	coalesce(arg_min(name, start_ns) FILTER (WHERE has_root), arg_min(name, start_ns)) AS name,
	CASE WHEN bool_or(root_failed) THEN 'error' WHEN sum(error_count) > 0 THEN 'degraded' ELSE 'ok' END AS status,
	sum(span_count)::BIGINT AS span_count,
	sum(error_count)::BIGINT AS error_count,
	sum(input_tokens)::BIGINT AS input_tokens,
	sum(output_tokens)::BIGINT AS output_tokens,
	sum(total_tokens)::BIGINT AS total_tokens,
	sum(cost_usd) AS cost_usd,
	` + firstCols + `
	` + modelCol + `
	coalesce(max(sample_weight), 1) AS sample_weight,
	coalesce(max(sample_class), '') AS sample_class
FROM %s
GROUP BY trace_hi, trace_lo
HAVING min(start_ns) >= ? AND min(start_ns) < ?`

// modelCol merges the parts' models as loupe.ModelChoice.Merge does: the
// smallest (start, model) pair among non-empty models, so the summary's
// model is loupe.TraceModel of all the trace's spans.
const modelCol = `coalesce((min({'s': model_start_ns, 'm': model}) FILTER (WHERE model <> '')).m, '') AS model,`

// modelStart is the model_start_ns of a part: 0 when it has no model.
func modelStart(c loupe.ModelChoice) int64 {
	if c.Model == "" {
		return 0
	}
	return c.Start.UnixNano()
}

// firstCols picks the root part's value, else the earliest non-empty one.
const firstCols = `coalesce(arg_min(service, start_ns) FILTER (WHERE has_root AND service <> ''), arg_min(service, start_ns) FILTER (WHERE service <> ''), '') AS service,
	coalesce(arg_min(environment, start_ns) FILTER (WHERE has_root AND environment <> ''), arg_min(environment, start_ns) FILTER (WHERE environment <> ''), '') AS environment,
	coalesce(arg_min(tenant, start_ns) FILTER (WHERE has_root AND tenant <> ''), arg_min(tenant, start_ns) FILTER (WHERE tenant <> ''), '') AS tenant,
	coalesce(arg_min(session_id, start_ns) FILTER (WHERE has_root AND session_id <> ''), arg_min(session_id, start_ns) FILTER (WHERE session_id <> ''), '') AS session_id,
	coalesce(arg_min(prompt_name, start_ns) FILTER (WHERE has_root AND prompt_name <> ''), arg_min(prompt_name, start_ns) FILTER (WHERE prompt_name <> ''), '') AS prompt_name,
	coalesce(arg_min(prompt_version_id, start_ns) FILTER (WHERE has_root AND prompt_version_id <> ''), arg_min(prompt_version_id, start_ns) FILTER (WHERE prompt_version_id <> ''), '') AS prompt_version_id,`

// window is a validated time range in unix nanoseconds, [from, to).
type window struct{ from, to int64 }

// checkRange validates and clamps a request's time range.
func checkRange(from, to time.Time, notes *[]string) (window, error) {
	if from.IsZero() || to.IsZero() {
		return window{}, fmt.Errorf("%w: a time range (from and to) is required", loupe.ErrInvalid)
	}
	if !to.After(from) {
		return window{}, fmt.Errorf("%w: time range is empty: to must be after from", loupe.ErrInvalid)
	}
	if to.Sub(from) > query.MaxRange {
		from = to.Add(-query.MaxRange)
		*notes = append(*notes, fmt.Sprintf("time range clamped to the last %s before to (from %s)",
			query.MaxRange, from.UTC().Format(time.RFC3339)))
	}
	return window{from.UnixNano(), to.UnixNano()}, nil
}

// plan is a compiled filter with the SQL that selects matching traces.
type plan struct {
	ctes []string // WITH entries
	args []any
}

// traceRows returns CTEs whose last, named name, holds one row per trace
// starting in w, with the columns of traceAggSQL: parts not marked cont
// whose trace has no cont part within traceSlack are whole traces, read as
// they are; only the traces with a cont part are aggregated from their
// parts (see window.go). Aggregating every part by trace id instead cost
// most of a 24-hour statistics query at 10M spans.
func traceRows(project string, w window, name string) ([]string, []any) {
	lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
	ctes := []string{
		`m AS (SELECT DISTINCT trace_hi, trace_lo FROM trace_parts WHERE project = ? AND cont AND start_ns >= ? AND start_ns < ?)`,
		name + ` AS (` + partsRowsSQL("", "") + `)`,
	}
	return ctes, append([]any{project, lo, hi}, partsRowsArgs(project, w)...)
}

// partsRowsSQL is the body of traceRows' per-trace CTE, given a CTE m of
// the traces with several parts: their parts aggregated, every other part
// in w as it is. restrict (a join on the parts, alias p) and inList (a
// condition on them) narrow both halves alike; its arguments are
// partsRowsArgs.
func partsRowsSQL(restrict, inList string) string {
	return singlePartSQL + `, coalesce(p.sample_weight, 1) AS sample_weight, coalesce(p.sample_class, '') AS sample_class
			FROM trace_parts p ANTI JOIN m ON p.trace_hi = m.trace_hi AND p.trace_lo = m.trace_lo` + restrict + `
			WHERE p.project = ? AND NOT p.cont AND p.start_ns >= ? AND p.start_ns < ?
			UNION ALL BY NAME
			` + fmt.Sprintf(traceAggSQL, `(SELECT p.* FROM trace_parts p SEMI JOIN m ON p.trace_hi = m.trace_hi AND p.trace_lo = m.trace_lo`+restrict+`
				WHERE p.project = ? AND p.start_ns >= ? AND p.start_ns < ?`+inList+`) p`)
}

// partsRowsArgs are the arguments of partsRowsSQL.
func partsRowsArgs(project string, w window) []any {
	return []any{project, w.from, w.to, project, w.from - int64(traceSlack), w.to + int64(traceSlack), w.from, w.to}
}

// tracePlan builds the CTEs t (one aggregate row per trace starting in w,
// restricted to traces with a span satisfying the filter when there is
// one) for project and filter. filter is the compiled span-row expression.
func tracePlan(project string, w window, filter string, fargs []any, usesTrace, hasFilter bool) plan {
	lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
	var p plan
	spansWhere := `s.project = ? AND s.start_ns >= ? AND s.start_ns < ? AND ` + filter
	switch {
	case !hasFilter:
		p.ctes, p.args = traceRows(project, w, "t")
	case !usesTrace:
		p.ctes = append(p.ctes, `hits AS (SELECT DISTINCT s.trace_hi, s.trace_lo FROM spans s WHERE `+spansWhere+`)`)
		p.args = append(p.args, project, lo, hi)
		p.args = append(p.args, fargs...)
		p.ctes = append(p.ctes, "t AS ("+fmt.Sprintf(traceAggSQL,
			`(SELECT p.* FROM trace_parts p SEMI JOIN hits h ON p.trace_hi = h.trace_hi AND p.trace_lo = h.trace_lo
			WHERE p.project = ? AND p.start_ns >= ? AND p.start_ns < ?) p`)+")")
		p.args = append(p.args, project, lo, hi, w.from, w.to)
	default:
		p.ctes, p.args = traceRows(project, w, "tall")
		p.ctes = append(p.ctes, `hits AS (SELECT DISTINCT s.trace_hi, s.trace_lo FROM spans s
			JOIN tall t ON s.trace_hi = t.trace_hi AND s.trace_lo = t.trace_lo WHERE `+spansWhere+`)`)
		p.args = append(p.args, project, lo, hi)
		p.args = append(p.args, fargs...)
		p.ctes = append(p.ctes, `t AS (SELECT tall.* FROM tall SEMI JOIN hits h ON tall.trace_hi = h.trace_hi AND tall.trace_lo = h.trace_lo)`)
	}
	return p
}

func (p plan) with() string { return "WITH " + strings.Join(p.ctes, ",\n") + "\n" }

// SearchTraces returns one page of the traces of q.Project that start in
// [q.From, q.To) and match q.Filter (see query.TraceSearch and compile.go
// for the semantics), in the order of q.Sort (default newest first by
// (start, trace id); see sort.go). Paging is by keyset: the cursor holds
// the last trace's (sort value, start, id), so traces that arrive between
// pages never shift or repeat rows of later pages. A limit above
// query.MaxLimit or a range above query.MaxRange is clamped, with a note.
// Bad filters, ranges, sorts and cursors (including a cursor made with
// another sort) return errors wrapping loupe.ErrInvalid.
func (s *Store) SearchTraces(ctx context.Context, q query.TraceSearch) (*loupe.TracePage, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("search traces: %w", loupe.ErrClosed)
	}
	page, err := s.searchTraces(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("search traces: %w", err)
	}
	return page, nil
}

func (s *Store) searchTraces(ctx context.Context, q query.TraceSearch) (*loupe.TracePage, error) {
	page := &loupe.TracePage{Traces: []loupe.TraceSummary{}}
	w, err := checkRange(q.From, q.To, &page.Notes)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = query.DefaultLimit
	case limit > query.MaxLimit:
		limit = query.MaxLimit
		page.Notes = append(page.Notes, fmt.Sprintf("limit clamped to %d", query.MaxLimit))
	}
	srt, err := newSortSpec(q.Sort)
	if err != nil {
		return nil, err
	}
	var cur *cursor
	if q.Cursor != "" {
		c, err := parseCursor(q.Cursor, srt)
		if err != nil {
			return nil, err
		}
		cur = &c
	}
	// Full-text conditions look the newest index blocks up first: ask for
	// a few pages' worth of candidate spans, search the part of the range
	// the lookups covered, and deepen while the page comes out short. Each
	// round asks for 4 times the candidates: the spans of the newest
	// traces often start seconds after their traces, so the first round
	// can cover no trace start at all, and 8-fold steps bound 52k span ids
	// into the last round's queries where 13k did (10M spans, "refund":
	// p50 179 ms against 88 ms).
	want := 16 * (limit + 1)
	for {
		// Each round's lookups read one snapshot (fullText.tx), so they
		// list the blocks afresh.
		ft := &fullText{s: s, ctx: ctx, project: q.Project, w: w, want: want}
		if cur != nil && srt.newestFirst() {
			ft.before = cur.start + 1
		}
		filter, fargs, uses, err := compileFilterScopes(q.Filter, ft.match)
		ft.close()
		if err != nil {
			return nil, err
		}
		if filter == falseSQL && !ft.partial {
			// No span of the range matches (see falseSQL): walking
			// the windows would only confirm it.
			page.Notes = append(page.Notes, ft.notes...)
			return page, nil
		}
		ww := w
		if ft.partial && !srt.newestFirst() {
			// Only newest first can use a partial lookup: any other order
			// needs every candidate of the range.
			if want != 0 {
				if want *= 4; want > s.ftsLimit() {
					want = 0
				}
				continue
			}
		} else if ft.partial {
			// Every span starting at or after ft.covered was looked up
			// (blocks are visited by max start, newest first), so the
			// traces starting there are complete.
			ww.from = max(w.from, ft.covered)
		}
		final := !ft.partial || want == 0
		if ww.from < ww.to {
			// A filter of only full-text conditions with few candidate
			// spans reads its few traces in one go: walking windows would
			// only add queries.
			one := q.Filter != nil && uses.textOnly && ft.maxIDs <= oneWindowSpans
			traces, next, err := s.tracePage(ctx, pageQuery{project: q.Project, w: ww, filter: filter, fargs: fargs, uses: uses,
				hasFilter: q.Filter != nil, srt: srt, cur: cur, limit: limit, oneWindow: one})
			if err != nil {
				return nil, err
			}
			if final || next != "" {
				page.Traces, page.Next = traces, next
				page.Notes = append(page.Notes, ft.notes...)
				return page, nil
			}
		} else if final {
			page.Notes = append(page.Notes, ft.notes...)
			return page, nil
		}
		if want *= 4; want > s.ftsLimit() {
			want = 0
		}
	}
}

func traceIDOf(hi, lo int64) (id loupe.TraceID) {
	binary.BigEndian.PutUint64(id[:8], uint64(hi))
	binary.BigEndian.PutUint64(id[8:], uint64(lo))
	return id
}
