package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loupehq/loupe"
)

// A trace list sorted by start time is read in time windows, from the
// newest (or, ascending, the oldest) end of the range, stopping once the
// page is full: a filtered search reads about limit / (share of matching
// traces) traces, not the whole range. A window is cheap to delimit because
// trace_parts and spans are appended in about start order, so DuckDB's
// zone maps skip the row groups of other times.
//
// Within a window [wf, wt), the per-trace rows t are the traces starting
// there:
//   - parts not marked cont whose trace has no cont part within traceSlack
//     (recent.go): the part is the whole trace, read as is;
//   - the traces that have a cont part: their parts within traceSlack of
//     the window, aggregated (traceAggSQL), kept when they start in it.
//
// Spans of those traces start at or after wf (a trace starts with its
// earliest span) and no later than the latest part end of the window, which
// bounds the span scan of a filter to the window plus the longest trace.

const (
	// firstWindow is the span of the first window.
	firstWindow = int64(time.Second)
	// oneWindowSpans is the most candidate spans for which a full-text
	// search reads its range as one window.
	oneWindowSpans = 4096
	// windowGrowth multiplies the span of each following window while
	// nothing matched; maxWindowGrowth bounds the growth estimated from
	// the matches. The estimate from a few matches overshoots when the
	// first window is sparse (the newest second of data, still filling):
	// at 10M spans, 4 matches in it sized the next window at 17.6 s where
	// 1.6 s held what was needed, and a window's scan grows with its span
	// (BENCHMARKS.md, fifth session: bound 64, 8, 4 gave filtered-search
	// p50 45, 44, 33 ms).
	windowGrowth    = 8
	maxWindowGrowth = 4
)

// pageQuery is one page query of a search, after the full-text lookups.
type pageQuery struct {
	project   string
	w         window
	filter    string
	fargs     []any
	uses      scopes
	hasFilter bool
	srt       sortSpec
	cur       *cursor
	limit     int
	// oneWindow reads the range in one window, whatever the sort.
	oneWindow bool
}

// singlePartSQL reads trace_parts rows (alias p) as whole traces, with the
// columns of traceAggSQL.
const singlePartSQL = `SELECT p.trace_hi, p.trace_lo, p.start_ns, p.end_ns - p.start_ns AS duration_ns, p.name,
	CASE WHEN p.root_failed THEN 'error' WHEN p.error_count > 0 THEN 'degraded' ELSE 'ok' END AS status,
	p.span_count, p.error_count, p.input_tokens, p.output_tokens, p.total_tokens, p.cost_usd,
	p.service, p.environment, p.tenant, p.session_id, p.prompt_name, p.prompt_version_id, p.model`

// multiParts is what a window knows of the traces within traceSlack of it
// that have several parts: those with a part starting in the window
// (their ids, as two parallel arrays), so that the page query aggregates
// only their parts. all is set instead when there are more than
// maxMultiTraces of them: the page query then finds them itself.
type multiParts struct {
	his, los []int64
	all      bool
}

// maxMultiTraces bounds the trace ids a window query carries inline.
const maxMultiTraces = 512

func (m *multiParts) any() bool { return m.all || len(m.his) > 0 }

// hiList returns the trace_hi values as an SQL list of integer literals
// (formatted here from int64s, never from input text), which DuckDB pushes
// into the scan of trace_parts as a filter: the scan then hands on the few
// parts of those traces instead of every part near the window.
func (m *multiParts) hiList() string {
	var b strings.Builder
	for i, h := range m.his {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(h, 10))
	}
	return b.String()
}

// windowPlan builds the CTE t (one row per trace starting in w that
// matches the filter) for q, whose span scan ends before spansTo.
func windowPlan(q *pageQuery, w window, spansTo int64, mp multiParts) plan {
	lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
	var p plan
	spansWhere := `s.project = ? AND s.start_ns >= ? AND s.start_ns < ? AND ` + q.filter
	// Span-only filters find their traces first, and read only those
	// traces' parts.
	restrict := ""
	if q.hasFilter && q.uses.span && !q.uses.trace {
		p.ctes = append(p.ctes, `hits AS (SELECT DISTINCT s.trace_hi, s.trace_lo FROM spans s WHERE `+spansWhere+`)`)
		p.args = append(p.args, q.project, w.from, spansTo)
		p.args = append(p.args, q.fargs...)
		restrict = ` SEMI JOIN hits h ON p.trace_hi = h.trace_hi AND p.trace_lo = h.trace_lo`
	}
	if mp.any() {
		// m: the traces whose parts are aggregated.
		inList := ""
		if mp.all {
			p.ctes = append(p.ctes, `m AS (SELECT DISTINCT trace_hi, trace_lo FROM trace_parts WHERE project = ? AND cont AND start_ns >= ? AND start_ns < ?)`)
			p.args = append(p.args, q.project, lo, hi)
		} else {
			p.ctes = append(p.ctes, `m AS (SELECT unnest(?::BIGINT[]) AS trace_hi, unnest(?::BIGINT[]) AS trace_lo)`)
			p.args = append(p.args, mp.his, mp.los)
			inList = ` AND p.trace_hi IN (` + mp.hiList() + `)`
		}
		p.ctes = append(p.ctes, `t0 AS (`+partsRowsSQL(restrict, inList)+`)`)
		p.args = append(p.args, partsRowsArgs(q.project, w)...)
	} else {
		// No trace near the window has a second part: every part is a
		// whole trace.
		p.ctes = append(p.ctes, `t0 AS (`+singlePartSQL+` FROM trace_parts p`+restrict+`
			WHERE p.project = ? AND p.start_ns >= ? AND p.start_ns < ?)`)
		p.args = append(p.args, q.project, w.from, w.to)
	}
	switch {
	case !q.hasFilter || restrict != "":
		p.ctes = append(p.ctes, `t AS (SELECT * FROM t0)`)
	case !q.uses.span:
		// The filter holds alike for every span of a trace.
		p.ctes = append(p.ctes, `t AS (SELECT t.* FROM t0 t WHERE `+q.filter+`)`)
		p.args = append(p.args, q.fargs...)
	default:
		p.ctes = append(p.ctes, `hits AS (SELECT DISTINCT s.trace_hi, s.trace_lo FROM spans s
			JOIN t0 t ON s.trace_hi = t.trace_hi AND s.trace_lo = t.trace_lo WHERE `+spansWhere+`)`,
			`t AS (SELECT t0.* FROM t0 SEMI JOIN hits h ON t0.trace_hi = h.trace_hi AND t0.trace_lo = h.trace_lo)`)
		p.args = append(p.args, q.project, w.from, spansTo)
		p.args = append(p.args, q.fargs...)
	}
	return p
}

// windowBounds returns the exclusive end of the span scan of the traces
// starting in w, the traces within traceSlack of w with several parts that
// matter to w, and false when no trace part starts in w.
//
// Spans of a trace lie within its parts' [start, end], so the scan ends
// after the latest end among the parts starting in w and all parts of the
// several-part traces that have a part in w (those may have parts up to
// traceSlack later); a trace with one part has it in w.
func (s *Store) windowBounds(ctx context.Context, project string, w window) (spansTo int64, mp multiParts, ok bool, err error) {
	lo, hi := w.from-int64(traceSlack), w.to+int64(traceSlack)
	var (
		maxEnd sql.NullInt64
		multi  bool
	)
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT max(end_ns) FROM trace_parts WHERE project = ? AND start_ns >= ? AND start_ns < ?),
		EXISTS (SELECT 1 FROM trace_parts WHERE project = ? AND cont AND start_ns >= ? AND start_ns < ?)`,
		project, w.from, w.to, project, lo, hi).Scan(&maxEnd, &multi)
	if err != nil {
		return 0, mp, false, fmt.Errorf("query window bounds: %w", err)
	}
	if !maxEnd.Valid {
		// No part starts in w, so no trace does.
		return 0, mp, false, nil
	}
	spansTo = max(maxEnd.Int64+1, w.to)
	if !multi {
		return spansTo, mp, true, nil
	}
	// The several-part traces that have a part starting in w (most
	// "several-part" marks near a window are the filter's false positives
	// of single-part traces elsewhere).
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT c.trace_hi, c.trace_lo FROM trace_parts c
		SEMI JOIN (SELECT trace_hi, trace_lo FROM trace_parts WHERE project = ? AND start_ns >= ? AND start_ns < ?) p
			ON c.trace_hi = p.trace_hi AND c.trace_lo = p.trace_lo
		WHERE c.project = ? AND c.cont AND c.start_ns >= ? AND c.start_ns < ?
		LIMIT ?`, project, w.from, w.to, project, lo, hi, s.multiLimit()+1)
	if err != nil {
		return 0, mp, false, fmt.Errorf("query window traces with several parts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, l int64
		if err := rows.Scan(&h, &l); err != nil {
			return 0, mp, false, fmt.Errorf("scan window trace with several parts: %w", err)
		}
		mp.his, mp.los = append(mp.his, h), append(mp.los, l)
	}
	if err := rows.Err(); err != nil {
		return 0, mp, false, fmt.Errorf("read window traces with several parts: %w", err)
	}
	switch {
	case len(mp.his) > s.multiLimit():
		// Too many to name: the page query finds them, and the span
		// scan covers every part they may have.
		return w.to + int64(traceSlack), multiParts{all: true}, true, nil
	case len(mp.his) == 0:
		return spansTo, mp, true, nil
	}
	var mEnd sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT max(p.end_ns) FROM trace_parts p
		SEMI JOIN (SELECT unnest(?::BIGINT[]) AS trace_hi, unnest(?::BIGINT[]) AS trace_lo) m
			ON p.trace_hi = m.trace_hi AND p.trace_lo = m.trace_lo
		WHERE p.project = ? AND p.start_ns >= ? AND p.start_ns < ? AND p.trace_hi IN (`+mp.hiList()+`)`,
		mp.his, mp.los, project, lo, hi).Scan(&mEnd)
	if err != nil {
		return 0, mp, false, fmt.Errorf("query window trace ends: %w", err)
	}
	if mEnd.Valid {
		spansTo = max(spansTo, mEnd.Int64+1)
	}
	return spansTo, mp, true, nil
}

// tracePage returns at most q.limit traces after q.cur in the order of
// q.srt, and the cursor of the next page ("" when none). Sorts by start
// time walk windows from the sort's end of the range; other sorts read the
// range as one window.
func (s *Store) tracePage(ctx context.Context, q pageQuery) ([]loupe.TraceSummary, string, error) {
	s.tracePages.Add(1)
	traces := []loupe.TraceSummary{}
	var last cursor
	w := q.w
	if q.cur != nil && q.srt.byStart() {
		// Keyset: the rest of the list starts at or beyond the cursor.
		if q.srt.asc {
			w.from = max(w.from, q.cur.start)
		} else {
			w.to = min(w.to, q.cur.start+1)
		}
	}
	if q.hasFilter && q.uses.span && !q.uses.trace && !q.oneWindow && w.from < w.to {
		// A span-only filter that no span satisfies would walk every
		// window; one scan that stops at the first match settles it.
		found, err := s.anySpan(ctx, &q, w)
		if err != nil || !found {
			return traces, "", err
		}
	}
	span, covered := firstWindow, int64(0)
	for w.from < w.to {
		win := w
		if q.srt.byStart() && !q.oneWindow {
			if q.srt.asc {
				win.to = w.from + min(span, w.to-w.from)
				w.from = win.to
			} else {
				win.from = w.to - min(span, w.to-w.from)
				w.to = win.from
			}
		} else {
			w.from = w.to
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		spansTo, mp, ok, err := s.windowBounds(ctx, q.project, win)
		if err != nil {
			return nil, "", err
		}
		if ok {
			got, err := s.windowRows(ctx, &q, win, spansTo, mp, q.limit+1-len(traces))
			if err != nil {
				return nil, "", err
			}
			for _, r := range got {
				if len(traces) == q.limit {
					return traces, last.String(), nil
				}
				traces = append(traces, r.t)
				last = r.c
			}
		} else if q.srt.byStart() && !q.oneWindow && w.from < w.to {
			// Nothing starts in win: skip the gap to the next part's start
			// instead of growing windows through it (since=24h over a
			// store idle for the last hours).
			next, found, err := s.nextPartStart(ctx, q.project, w, q.srt.asc)
			if err != nil {
				return nil, "", err
			}
			if !found {
				break
			}
			if q.srt.asc {
				w.from = max(w.from, next)
			} else {
				w.to = min(w.to, next+1)
			}
			continue
		}
		// Size the next window for the rest of the page at the rate seen
		// so far (with a margin), growing at least windowGrowth-fold
		// while nothing matched.
		covered += win.to - win.from
		if n := len(traces); n > 0 {
			need := float64(q.limit + 1 - n)
			span = min(max(int64(float64(covered)*need/float64(n)*1.5), firstWindow), span*maxWindowGrowth)
		} else {
			span *= windowGrowth
		}
	}
	return traces, "", nil
}

// nextPartStart returns the start of the newest part starting in w (the
// oldest when asc), and false when none does.
func (s *Store) nextPartStart(ctx context.Context, project string, w window, asc bool) (int64, bool, error) {
	agg := "max"
	if asc {
		agg = "min"
	}
	var next sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT `+agg+`(start_ns) FROM trace_parts WHERE project = ? AND start_ns >= ? AND start_ns < ?`,
		project, w.from, w.to).Scan(&next); err != nil {
		return 0, false, fmt.Errorf("query next trace start: %w", err)
	}
	return next.Int64, next.Valid, nil
}

// anySpan reports whether a span of a trace that may start in w satisfies
// the span-only filter of q.
func (s *Store) anySpan(ctx context.Context, q *pageQuery, w window) (bool, error) {
	args := append([]any{q.project, w.from, w.to + int64(traceSlack)}, q.fargs...)
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM spans s WHERE s.project = ? AND s.start_ns >= ? AND s.start_ns < ? AND `+
		q.filter+` LIMIT 1`, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("query matching span: %w", err)
	}
	return true, nil
}

// row is one trace of a page and its cursor.
type row struct {
	t loupe.TraceSummary
	c cursor
}

// windowRows runs the page query over one window: at most n traces after
// q.cur, in the order of q.srt.
func (s *Store) windowRows(ctx context.Context, q *pageQuery, w window, spansTo int64, mp multiParts, n int) ([]row, error) {
	p := windowPlan(q, w, spansTo, mp)
	var b strings.Builder
	b.WriteString(p.with())
	b.WriteString(`SELECT * FROM (SELECT trace_hi, trace_lo, start_ns, duration_ns, name, status, span_count, service,
	environment, tenant, session_id, prompt_name, prompt_version_id, model, input_tokens, output_tokens,
	cost_usd, error_count, ` + q.srt.expr + ` AS sort_v FROM t)`)
	args := p.args
	if q.cur != nil {
		cond, cargs := q.srt.after(*q.cur)
		b.WriteString(" WHERE " + cond)
		args = append(args, cargs...)
	}
	b.WriteString(" ORDER BY " + q.srt.orderBy() + " LIMIT ?")
	args = append(args, n)

	rows, err := s.db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("query traces: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var (
			t          loupe.TraceSummary
			hi, lo     int64
			start, dur int64
			status     string
			sortV      any
		)
		if err := rows.Scan(&hi, &lo, &start, &dur, &t.Name, &status, &t.SpanCount, &t.Service,
			&t.Environment, &t.Tenant, &t.SessionID, &t.PromptName, &t.PromptVersionID, &t.Model,
			&t.InputTokens, &t.OutputTokens, &t.CostUSD, &t.ErrorCount, &sortV); err != nil {
			return nil, fmt.Errorf("scan trace: %w", err)
		}
		t.Project = q.project
		t.TraceID = traceIDOf(hi, lo)
		t.Start = time.Unix(0, start).UTC()
		t.Duration = float64(dur) / 1e6
		t.Status = loupe.TraceStatus(status)
		out = append(out, row{t, q.srt.cursorAt(start, hi, lo, sortV)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read traces: %w", err)
	}
	return out, nil
}
