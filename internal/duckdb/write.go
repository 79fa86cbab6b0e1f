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
		if s.w, err = newWriter(conn); err != nil {
			s.w = nil
			return err
		}
	}
	w := s.w
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
		w.boxes.reset()
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
	spans  *duckdb.Appender
	events *duckdb.Appender

	row     []driver.Value // one row's values, reused
	boxes   rowBoxes       // the boxes of the previous span row's values
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

func newWriter(conn driver.Conn) (*writer, error) {
	w := &writer{conn: conn, row: make([]driver.Value, 0, 48)}
	var err error
	if w.spans, err = duckdb.NewAppenderFromConn(conn, "", "spans"); err != nil {
		return nil, fmt.Errorf("create spans appender: %w", err)
	}
	if w.events, err = duckdb.NewAppenderFromConn(conn, "", "span_events"); err != nil {
		w.close()
		return nil, fmt.Errorf("create span_events appender: %w", err)
	}
	return w, nil
}

// flush hands every appended row to DuckDB (inside the open transaction).
func (w *writer) flush() error {
	for _, a := range []*duckdb.Appender{w.spans, w.events} {
		if err := a.Flush(); err != nil {
			return fmt.Errorf("flush appender: %w", err)
		}
	}
	return nil
}

// close discards unflushed rows and releases the appenders.
func (w *writer) close() error {
	var errs []error
	for _, a := range []*duckdb.Appender{w.spans, w.events} {
		if a != nil {
			// Clear first so that Close does not flush rows of a failed write.
			errs = append(errs, a.Clear(), a.Close())
		}
	}
	return errors.Join(errs...)
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
	hi, lo := traceHalves(s.TraceID)
	sid := spanKey(s.SpanID)
	start := s.Start.UnixNano()
	end := s.End.UnixNano()
	var params, docs, attrs, res driver.Value // nil is SQL NULL
	if c.params != nil {
		params = c.params
	}
	if c.docs != nil {
		docs = c.docs
	}
	if c.attrs != nil {
		attrs = c.attrs
	}
	if c.res != nil {
		res = c.res
	}
	var pseg, poff, pidx driver.Value // NULL without a payload
	if ref != nil {
		pseg, poff, pidx = int32(ref.Segment), int64(ref.Offset), int32(ref.Index)
	}

	x := &w.boxes // cells equal to the row above reuse its boxes (write_boxes.go)
	w.row = append(w.row[:0],
		x.str(0, text(s.Project)), x.int(0, hi), x.int(1, lo), sid, spanKey(s.ParentSpanID),
		x.str(1, text(s.Name)), x.str(2, string(s.Kind)), x.str(3, text(s.OTelKind)),
		start, end, end-start,
		x.str(4, string(s.Status)), x.str(5, text(s.StatusMessage)), x.str(6, text(s.ErrorType)),
		x.str(7, text(s.Service)), x.str(8, text(s.Environment)), x.str(9, text(s.DeploymentID)), x.str(10, text(s.Tenant)),
		x.str(11, text(s.Route)), x.str(12, text(s.SessionID)), x.str(13, text(s.UserID)),
		x.str(14, text(s.PromptName)), x.str(15, text(s.PromptVersionID)), x.str(16, text(s.ReleaseLabel)),
		x.str(17, text(s.Provider)), x.str(18, text(s.RequestModel)), x.str(19, text(s.ResponseModel)),
		s.Usage.Input, s.Usage.CacheRead, s.Usage.CacheWrite, s.Usage.Output, s.Usage.Reasoning, s.Usage.Total(),
		s.CostUSD, x.str(20, text(s.CostSource)), x.str(21, text(s.FinishReason)),
		x.str(22, text(s.ToolName)), x.str(23, text(s.RetrievalIndex)), s.RetrievalCount,
		params, docs, attrs, pseg, poff, pidx, res,
		x.str(24, string(s.Sample.Class)), x.float(2, sampleWeight(s.Sample)), x.str(25, text(s.Sample.Rule)),
	)
	if err := w.spans.AppendRow(w.row...); err != nil {
		return fmt.Errorf("append span %s: %w", s.SpanID, err)
	}
	return nil
}

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
