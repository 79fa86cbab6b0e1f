package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/segment"
)

// Write stores every span and event of batches, and their sampling
// decisions and counts (sample.go): it appends the payloads to
// the segment log (fsynced), then the rows in one DuckDB transaction, and
// returns nil only after DuckDB committed it, which writes and fsyncs the
// WAL, so the rows survive a crash. On error nothing is stored. Spans that
// fail loupe.Span.Validate reject the whole call with loupe.ErrInvalid
// before anything is written, as do bad sampling verdicts or counts
// (checkSampling). Metadata-only spans (loupe.SampleMetadata) are stored
// without their payload, spans of dropped traces not at all. A payload with nothing in it
// (loupe.Payload.IsZero) is stored as none and reads back nil. Write calls
// are serialized; it returns loupe.ErrClosed after Close. Write is Prepare
// of every batch followed by WritePrepared (prepare.go).
func (s *Store) Write(ctx context.Context, batches []loupe.Batch) error {
	ps := make([]*prepared, 0, len(batches))
	for i := range batches {
		p, err := s.prep.prepare(batches[i])
		if err != nil {
			return fmt.Errorf("write spans: %w", err)
		}
		ps = append(ps, p)
	}
	return s.writePrepared(ctx, ps)
}

// writePrepared writes ps in one transaction (see Write).
func (s *Store) writePrepared(ctx context.Context, ps []*prepared) error {
	n := 0
	for _, p := range ps {
		n += p.len()
	}
	if n == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return fmt.Errorf("write spans: %w", loupe.ErrClosed)
	}
	err := s.wconn.Raw(func(dc any) error {
		conn, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return s.writeLocked(ctx, conn, ps)
	})
	if err != nil {
		return fmt.Errorf("write %d spans and events: %w", n, err)
	}
	for _, p := range ps {
		s.prep.release(p) // written: nothing refers to its buffer any more
	}
	s.wakeCompaction()
	s.wroteIdle()
	return nil
}

// driverConn is what the writer needs of the DuckDB driver connection.
type driverConn interface {
	driver.Conn
	driver.ExecerContext
}

// writeLocked runs the write transaction on the writer connection.
func (s *Store) writeLocked(ctx context.Context, conn driverConn, ps []*prepared) (err error) {
	if s.w == nil || s.w.conn != conn {
		if s.w != nil {
			s.w.close()
		}
		if s.w, err = newWriter(conn, &s.res); err != nil {
			s.w = nil
			return err
		}
	}
	w := s.w
	defer func() { s.res.done(err == nil) }()
	// Payloads first: a span row must never point at payload bytes that
	// are not durable yet.
	refs, err := w.appendPayloads(s.seg, ps)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION", nil); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		// The appenders may hold rows of the failed transaction; drop them
		// with the transaction and start afresh next time. A failed COMMIT
		// has already rolled back, so ROLLBACK may fail: the write's own
		// error is the one returned, cleanup trouble is only logged.
		_, rbErr := conn.ExecContext(context.Background(), "ROLLBACK", nil)
		if cerr := errors.Join(w.close(), rbErr); cerr != nil {
			s.logger.Debug("write cleanup", "err", cerr)
		}
		s.w = nil
	}()
	batches, parts := w.batches[:0], w.parts[:0]
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := &p.batch
		batches = append(batches, *b)
		parts = append(parts, p.fts...)
		for j := range b.Spans {
			c := &p.cols[j]
			var ref *segment.Ref
			if c.hasPayload {
				ref, refs = &refs[0], refs[1:]
			}
			if err := w.appendSpan(&b.Spans[j], c, ref); err != nil {
				return err
			}
		}
		for j := range b.Events {
			if err := w.appendEvent(&b.Events[j]); err != nil {
				return err
			}
		}
	}
	defer func() {
		clear(batches) // do not pin the spans
		clear(parts)
		w.batches, w.parts = batches[:0], parts[:0]
	}()
	if cap(w.buf) > 1<<20 {
		w.buf = nil // do not keep one huge event's scratch space forever
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := s.appendSearchRows(ctx, conn, batches, parts); err != nil {
		return err
	}
	if err := appendSampling(conn, batches); err != nil {
		return err
	}
	if err := s.res.appendPending(conn); err != nil {
		return err
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// COMMIT is not interruptible by ctx: an interrupted commit could be
	// durable and still report an error, and the caller would write the
	// spans twice.
	if err := commit(conn); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// writer holds the appenders of the writer connection, reused across
// writes, and the scratch space of one row and of one write's payloads.
type writer struct {
	conn   driver.Conn
	res    *resourceSet // the store's, guarded by its mu
	spans  *chunkAppender
	events *duckdb.Appender

	row     []driver.Value // one event row's values, reused
	buf     []byte         // JSON scratch of one event, reused
	recs    [][]byte       // the payload records of one write
	batches []loupe.Batch  // the batches of one write
	parts   []*ftsPart     // their full-text parts
}

// resourcePrefix marks the resource attributes in loupe.Span.Attributes;
// they are stored in the resource column (migrations/0004_resource.sql).
const resourcePrefix = "resource."

// appendPayloads appends the payload records of ps (in order) to the
// segment log as one group commit and returns their refs in the same order.
func (w *writer) appendPayloads(seg *segment.Log, ps []*prepared) ([]segment.Ref, error) {
	recs := w.recs[:0]
	for _, p := range ps {
		recs = append(recs, p.records...)
	}
	refs, err := seg.Append(recs)
	clear(recs) // do not pin the prepared batches
	w.recs = recs[:0]
	if err != nil {
		return nil, fmt.Errorf("append payloads: %w", err)
	}
	return refs, nil
}

func newWriter(conn driverConn, res *resourceSet) (*writer, error) {
	raw, err := rawConn(conn)
	if err != nil {
		return nil, fmt.Errorf("create spans appender: %w", err)
	}
	w := &writer{conn: conn, res: res, row: make([]driver.Value, 0, 8)}
	if w.spans, err = newChunkAppender(raw, "spans", spanTypes); err != nil {
		return nil, err
	}
	if w.events, err = duckdb.NewAppenderFromConn(conn, "", "span_events"); err != nil {
		w.close()
		return nil, fmt.Errorf("create span_events appender: %w", err)
	}
	return w, nil
}

// flush hands every appended row to DuckDB (inside the open transaction).
func (w *writer) flush() error {
	if err := w.spans.flush(); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	if err := w.events.Flush(); err != nil {
		return fmt.Errorf("flush events: %w", err)
	}
	return nil
}

// close discards unflushed rows and releases the appenders.
func (w *writer) close() error {
	if w.spans != nil {
		w.spans.close()
	}
	if w.events != nil {
		// Clear first so that Close does not flush rows of a failed write.
		return errors.Join(w.events.Clear(), w.events.Close())
	}
	return nil
}

// traceHalves returns the trace id's columns trace_hi and trace_lo.
func traceHalves(id loupe.TraceID) (hi, lo int64) {
	return int64(binary.BigEndian.Uint64(id[:8])), int64(binary.BigEndian.Uint64(id[8:]))
}

// spanKey returns the span id's column value; 0 for the zero id.
func spanKey(id loupe.SpanID) int64 { return int64(binary.BigEndian.Uint64(id[:])) }

func spanIDOf(k int64) (id loupe.SpanID) {
	binary.BigEndian.PutUint64(id[:], uint64(k))
	return id
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// text returns s made valid UTF-8: DuckDB turns invalid VARCHARs into NULL,
// which a NOT NULL column would reject, failing the whole group commit.
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// appendSpan appends s, whose encoded columns are c and whose payload is
// at ref (nil: none).
func (w *writer) appendSpan(s *loupe.Span, c *spanCols, ref *segment.Ref) error {
	a := w.spans
	if err := a.next(); err != nil {
		return fmt.Errorf("append span %s: %w", s.SpanID, err)
	}
	hi, lo := traceHalves(s.TraceID)
	start, end := s.Start.UnixNano(), s.End.UnixNano()
	col := 0
	str := func(v string) { a.setString(col, v); col++ }
	i64 := func(v int64) { a.setInt64(col, v); col++ }
	str(text(s.Project))
	i64(hi)
	i64(lo)
	i64(spanKey(s.SpanID))
	i64(spanKey(s.ParentSpanID))
	str(text(s.Name))
	str(string(s.Kind))
	str(text(s.OTelKind))
	i64(start)
	i64(end)
	i64(end - start)
	str(string(s.Status))
	for _, v := range [...]string{s.StatusMessage, s.ErrorType, s.Service, s.Environment, s.DeploymentID,
		s.Tenant, s.Route, s.SessionID, s.UserID, s.PromptName, s.PromptVersionID, s.ReleaseLabel,
		s.Provider, s.RequestModel, s.ResponseModel} {
		str(text(v))
	}
	u := &s.Usage
	for _, v := range [...]int64{u.Input, u.CacheRead, u.CacheWrite, u.Output, u.Reasoning, u.Total()} {
		i64(v)
	}
	a.setFloat64(col, s.CostUSD)
	col++
	str(text(s.CostSource))
	str(text(s.FinishReason))
	str(text(s.ToolName))
	str(text(s.RetrievalIndex))
	i64(s.RetrievalCount)
	for _, v := range [...][]byte{c.params, c.docs, c.attrs} { // nil is SQL NULL
		a.setBytes(col, v)
		col++
	}
	if ref != nil {
		a.setInt32(col, int32(ref.Segment))
		a.setInt64(col+1, int64(ref.Offset))
		a.setInt32(col+2, int32(ref.Index))
	} else { // no payload
		a.setNull(col)
		a.setNull(col + 1)
		a.setNull(col + 2)
	}
	col += 3
	// The resource: none, or its id (resources.go), or inline.
	if id, ok := w.res.id(s.Project, c.res); ok {
		a.setNull(col)
		a.setInt64(col+4, id)
	} else {
		a.setBytes(col, c.res) // NULL when none
		a.setNull(col + 4)
	}
	col++
	str(string(s.Sample.Class))
	a.setFloat64(col, sampleWeight(s.Sample))
	col++
	str(text(s.Sample.Rule))
	return nil
}

// spanTypes are the types of the spans table's columns, in order
// (migrations 0001, 0004, 0005, 0009); appendSpan fills them in this order.
var spanTypes = func() []mapping.Type {
	const v, b, i, d = mapping.TypeVarchar, mapping.TypeBigInt, mapping.TypeInteger, mapping.TypeDouble
	return []mapping.Type{
		v, b, b, b, b, v, v, v, // project, trace_hi, trace_lo, span_id, parent_span_id, name, kind, otel_kind
		b, b, b, // start_ns, end_ns, duration_ns
		v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, // status … response_model
		b, b, b, b, b, b, d, // tokens, cost_usd
		v, v, v, v, b, // cost_source, finish_reason, tool_name, retrieval_index, retrieval_count
		v, v, v, // params, documents, attributes
		i, b, i, // payload_seg, payload_off, payload_idx
		v,       // resource
		v, d, v, // sample_class, sample_weight, sample_rule
		b, // resource_id (migration 0009)
	}
}()

// appendEvent appends one separately-arrived event.
func (w *writer) appendEvent(e *loupe.SpanEvent) error {
	hi, lo := traceHalves(e.TraceID)
	buf, err := appendEvent(w.buf[:0], &e.Event)
	if err != nil {
		return fmt.Errorf("event of span %s: %w", e.SpanID, err)
	}
	w.buf = buf
	w.row = append(w.row[:0], text(e.Project), hi, lo, spanKey(e.SpanID), unixNanos(e.Event.Time), buf)
	if err := w.events.AppendRow(w.row...); err != nil {
		return fmt.Errorf("append event of span %s: %w", e.SpanID, err)
	}
	return nil
}
