package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/loupehq/loupe"
)

// Reads of the web UI's trace view: a trace's summary, the outline of its
// spans (no attributes, no payloads: a 100,000-span trace stays fast), and
// one span in full, on demand.
const (
	// selectOutline reads only the outline columns of the trace's spans,
	// within the trace's bounds (see selectTraceBounds).
	selectOutline = `SELECT span_id, parent_span_id, name, kind, start_ns, end_ns, status, error_type,
	CASE WHEN response_model <> '' THEN response_model ELSE request_model END,
	tool_name, total_tokens, cost_usd
FROM spans WHERE trace_hi = ? AND trace_lo = ? AND project = ? AND start_ns BETWEEN ? AND ?`

	// selectSpanEvents reads the separately-arrived events of one span.
	selectSpanEvents = `SELECT body FROM span_events
WHERE trace_hi = ? AND trace_lo = ? AND project = ? AND span_id = ? ORDER BY time_ns, rowid`
)

// TraceSummary returns the summary of one trace (as in a trace list),
// aggregated from its parts without reading its spans. It returns an error
// wrapping loupe.ErrNotFound when the trace has no span.
func (s *Store) TraceSummary(ctx context.Context, project string, id loupe.TraceID) (*loupe.TraceSummary, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("read trace summary %s: %w", id, loupe.ErrClosed)
	}
	hi, lo := traceHalves(id)
	q := fmt.Sprintf(traceAggSQL, `(SELECT * FROM trace_parts WHERE trace_hi = ? AND trace_lo = ? AND project = ?)`)
	var (
		t          loupe.TraceSummary
		rhi, rlo   int64
		start, dur int64
		status     string
		total      int64
		weight     float64 // sample_weight and sample_class: not shown here
		class      string
	)
	err := s.db.QueryRowContext(ctx, q, hi, lo, project, int64(math.MinInt64), int64(math.MaxInt64)).Scan(
		&rhi, &rlo, &start, &dur, &t.Name, &status, &t.SpanCount, &t.ErrorCount, &t.InputTokens,
		&t.OutputTokens, &total, &t.CostUSD, &t.Service, &t.Environment, &t.Tenant, &t.SessionID,
		&t.PromptName, &t.PromptVersionID, &t.Model, &weight, &class)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("read trace summary %s: %w", id, loupe.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read trace summary %s: %w", id, err)
	}
	t.Project = project
	t.TraceID = id
	t.Start = time.Unix(0, start).UTC()
	t.Duration = float64(dur) / 1e6
	t.Status = loupe.TraceStatus(status)
	return &t, nil
}

// TraceOutline returns the outline of every span of the trace, ordered by
// start time then span id (as Trace orders spans). It reads no attribute,
// event or payload. It returns an error wrapping loupe.ErrNotFound when the
// trace has no span.
func (s *Store) TraceOutline(ctx context.Context, project string, id loupe.TraceID) ([]loupe.SpanOutline, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("read trace outline %s: %w", id, loupe.ErrClosed)
	}
	out, err := s.traceOutline(ctx, project, id)
	if err != nil {
		return nil, fmt.Errorf("read trace outline %s: %w", id, err)
	}
	return out, nil
}

func (s *Store) traceOutline(ctx context.Context, project string, id loupe.TraceID) ([]loupe.SpanOutline, error) {
	hi, lo := traceHalves(id)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // read-only
	from, to, ok, err := traceBounds(ctx, tx, project, hi, lo)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, selectOutline, hi, lo, project, from, to)
	if err != nil {
		return nil, fmt.Errorf("query outline: %w", err)
	}
	defer rows.Close()
	var out []loupe.SpanOutline
	// Spans of one trace repeat a few names, kinds and models: share one
	// string per value instead of one allocation per row.
	intern := map[string]string{}
	in := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	for rows.Next() {
		var (
			o                         loupe.SpanOutline
			sid, parent, start, end   int64
			name, kind, status, etype string
			model, tool               string
		)
		if err := rows.Scan(&sid, &parent, &name, &kind, &start, &end, &status, &etype, &model, &tool,
			&o.Tokens, &o.CostUSD); err != nil {
			return nil, fmt.Errorf("scan outline: %w", err)
		}
		o.SpanID, o.ParentSpanID = spanIDOf(sid), spanIDOf(parent)
		o.Name, o.Kind, o.Status = in(name), loupe.Kind(in(kind)), loupe.Status(in(status))
		o.ErrorType, o.Model, o.ToolName = in(etype), in(model), in(tool)
		o.Start, o.End = time.Unix(0, start).UTC(), time.Unix(0, end).UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outline: %w", err)
	}
	if len(out) == 0 {
		return nil, loupe.ErrNotFound
	}
	slices.SortStableFunc(out, func(a, b loupe.SpanOutline) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return slices.Compare(a.SpanID[:], b.SpanID[:])
	})
	return out, nil
}

// traceBounds returns the time range of a trace's spans from its parts; ok
// is false when the trace has none.
func traceBounds(ctx context.Context, tx *sql.Tx, project string, hi, lo int64) (from, to int64, ok bool, err error) {
	var f, t sql.NullInt64
	if err := tx.QueryRowContext(ctx, selectTraceBounds, hi, lo, project).Scan(&f, &t); err != nil {
		return 0, 0, false, fmt.Errorf("query trace bounds: %w", err)
	}
	if !f.Valid {
		return 0, 0, false, loupe.ErrNotFound
	}
	return f.Int64, t.Int64, true, nil
}

// TraceSpan returns one span of a trace in full: canonical fields,
// attributes, payload and joined events, as Trace returns it. When the span
// id was stored more than once, the earliest copy is returned. It returns an
// error wrapping loupe.ErrNotFound when the trace has no such span.
func (s *Store) TraceSpan(ctx context.Context, project string, id loupe.TraceID, spanID loupe.SpanID) (*loupe.Span, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("read span %s/%s: %w", id, spanID, loupe.ErrClosed)
	}
	sp, err := s.traceSpan(ctx, project, id, spanID)
	if err != nil {
		return nil, fmt.Errorf("read span %s/%s: %w", id, spanID, err)
	}
	return sp, nil
}

func (s *Store) traceSpan(ctx context.Context, project string, id loupe.TraceID, spanID loupe.SpanID) (*loupe.Span, error) {
	hi, lo := traceHalves(id)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // read-only
	from, to, _, err := traceBounds(ctx, tx, project, hi, lo)
	if err != nil {
		return nil, err
	}
	spans, refs, err := s.scanSpans(ctx, tx, selectTraceSpans+` AND span_id = ?`, project, id, hi, lo, project, from, to, spanKey(spanID))
	if err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return nil, loupe.ErrNotFound
	}
	first := 0
	for i := range spans {
		if spans[i].Start.Before(spans[first].Start) {
			first = i
		}
	}
	var ref []spanRef
	for _, r := range refs {
		if r.span == first {
			ref = append(ref, spanRef{0, r.ref})
		}
	}
	sp := []loupe.Span{spans[first]}
	if err := s.readPayloads(sp, ref); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, selectSpanEvents, hi, lo, project, spanKey(spanID))
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		var e loupe.Event
		if err := decodeEvent(body, &e); err != nil {
			return nil, fmt.Errorf("decode event of span %s: %w", spanID, err)
		}
		sp[0].AttachEvent(e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return &sp[0], nil
}
