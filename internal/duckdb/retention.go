package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/segment"
)

// Retention says how long each class of a project's data is kept, counted
// from a span's start time (a trace's metadata: from its last span's end).
// A zero duration keeps that class forever.
//
// Payloads go before metadata: a span outliving its payload keeps every
// field, attribute and count, and reads back with Span.PayloadRemoved set.
// Held traces (Store.Hold) keep everything until released.
type Retention struct {
	// Payloads is how long payloads of traces without a failed span are kept.
	Payloads time.Duration
	// ErrorPayloads is how long payloads of traces with a failed span
	// (loupe.Span.Failed: trace status degraded or error) are kept; never
	// less than Payloads.
	ErrorPayloads time.Duration
	// Metadata is how long everything else is kept: span rows, trace
	// summaries, events; a trace is deleted whole once its last span ended
	// before the horizon.
	Metadata time.Duration
}

// Default retention horizons (issue #7): full payloads 7 days, error
// traces' payloads 30 days, metadata 90 days.
const (
	DefaultPayloadRetention      = 7 * 24 * time.Hour
	DefaultErrorPayloadRetention = 30 * 24 * time.Hour
	DefaultMetadataRetention     = 90 * 24 * time.Hour
)

// DefaultRetention returns the default horizons.
func DefaultRetention() Retention {
	return Retention{Payloads: DefaultPayloadRetention, ErrorPayloads: DefaultErrorPayloadRetention, Metadata: DefaultMetadataRetention}
}

// Validate reports a negative duration.
func (r Retention) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"payloads", r.Payloads}, {"error payloads", r.ErrorPayloads}, {"metadata", r.Metadata}} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s retention %v is negative (0 keeps forever)", loupe.ErrInvalid, f.name, f.d)
		}
	}
	return nil
}

// RetentionPolicy is the retention of every project: Default, except for
// the projects listed in Projects.
type RetentionPolicy struct {
	Default  Retention
	Projects map[string]Retention
}

// For returns the retention of project.
func (p *RetentionPolicy) For(project string) Retention {
	if r, ok := p.Projects[project]; ok {
		return r
	}
	return p.Default
}

// Validate reports the first invalid retention.
func (p *RetentionPolicy) Validate() error {
	if err := p.Default.Validate(); err != nil {
		return fmt.Errorf("default: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Projects)) {
		if err := p.Projects[name].Validate(); err != nil {
			return fmt.Errorf("project %q: %w", name, err)
		}
	}
	return nil
}

// RetentionReport counts what one EnforceRetention run removed.
type RetentionReport struct {
	// PayloadsStripped is the spans whose payload was dropped.
	PayloadsStripped int64
	// PayloadsMoved is the payloads that must stay (error or held traces)
	// copied out of a segment file before it was deleted.
	PayloadsMoved int64
	// SegmentsRemoved is the payload segment files deleted, and
	// SegmentBytesRemoved their bytes; PayloadBytesCopied is the bytes
	// the moved payloads took in the active segment.
	SegmentsRemoved     int
	SegmentBytesRemoved int64
	PayloadBytesCopied  int64
	// TracesDeleted and SpansDeleted count the metadata removed.
	TracesDeleted int64
	SpansDeleted  int64
	// FullTextBlocksDeleted is the full-text index blocks dropped because
	// none of their spans keeps a payload.
	FullTextBlocksDeleted int64
	// DecisionsDeleted and CounterRowsDeleted count the sampling rows
	// past the metadata horizon removed (retention_sampling.go).
	DecisionsDeleted   int64
	CounterRowsDeleted int64
	// DatabaseBytesBefore and DatabaseBytesAfter are the database file's
	// size around the run (after its CHECKPOINT).
	DatabaseBytesBefore, DatabaseBytesAfter int64
	// Duration is the run's wall time.
	Duration time.Duration
}

// Chunk sizes of one enforcement transaction: each holds the writer lock
// (Store.mu), so ingest waits at most for one chunk.
const (
	// retentionSegmentChunk is the bytes of a segment file whose spans one
	// transaction strips.
	retentionSegmentChunk = 8 << 20
	// retentionTraceChunk is the traces one transaction deletes.
	retentionTraceChunk = 2000
	// retentionBlockChunk is the full-text blocks one transaction checks.
	retentionBlockChunk = 64
	// retentionRotateAge is the age of the oldest payload of the active
	// segment past which a run seals it.
	retentionRotateAge = 24 * time.Hour
)

// cuts are one run's horizons as unix nanoseconds: data older than a cut
// goes; math.MinInt64 keeps everything.
type cuts struct {
	now      time.Time
	def      [3]int64
	projects map[string][3]int64
}

// Indexes into cuts' arrays.
const (
	cutPayload = iota
	cutError
	cutMetadata
)

func newCuts(p *RetentionPolicy, now time.Time) cuts {
	one := func(r Retention) [3]int64 {
		at := func(d time.Duration) int64 {
			if d <= 0 {
				return math.MinInt64
			}
			return now.Add(-d).UnixNano()
		}
		errs := r.ErrorPayloads
		if r.Payloads == 0 || (errs != 0 && errs < r.Payloads) {
			errs = r.Payloads // error payloads never go before the others
		}
		return [3]int64{at(r.Payloads), at(errs), at(r.Metadata)}
	}
	c := cuts{now: now, def: one(p.Default), projects: map[string][3]int64{}}
	for name, r := range p.Projects {
		c.projects[name] = one(r)
	}
	return c
}

// expr returns a SQL expression for cut i of the row's project (column
// col), appending its arguments to args.
func (c cuts) expr(i int, col string, args *[]any) string {
	if len(c.projects) == 0 {
		*args = append(*args, c.def[i])
		return "?::BIGINT"
	}
	var b strings.Builder
	b.WriteString("(CASE " + col)
	for _, name := range slices.Sorted(maps.Keys(c.projects)) {
		b.WriteString(" WHEN ? THEN ?::BIGINT")
		*args = append(*args, name, c.projects[name][i])
	}
	b.WriteString(" ELSE ?::BIGINT END)")
	*args = append(*args, c.def[i])
	return b.String()
}

// max returns the latest cut i of any project.
func (c cuts) max(i int) int64 {
	m := c.def[i]
	for _, p := range c.projects {
		m = max(m, p[i])
	}
	return m
}

// keepPayload returns a SQL condition, over the columns of spans, that
// holds when the row's payload must stay: it is younger than its
// project's payload horizon, or its trace is held, or its trace has a
// failed span and it is younger than the error horizon.
func (c cuts) keepPayload(args *[]any) string {
	pcut := c.expr(cutPayload, "spans.project", args)
	ecut := c.expr(cutError, "spans.project", args)
	return `(spans.start_ns >= ` + pcut + `
 OR EXISTS (SELECT 1 FROM retention_holds h WHERE h.project = spans.project AND h.trace_hi = spans.trace_hi AND h.trace_lo = spans.trace_lo)
 OR (spans.start_ns >= ` + ecut + ` AND EXISTS (SELECT 1 FROM trace_parts p WHERE p.project = spans.project
   AND p.trace_hi = spans.trace_hi AND p.trace_lo = spans.trace_lo AND p.error_count > 0)))`
}

// EnforceRetention applies the store's retention policy as of now: it
// strips the payloads past their horizon (deleting or rewriting the
// segment files that hold them, so their disk space is returned), deletes
// the traces past the metadata horizon, the full-text blocks left
// without payloads and the sampling decisions and counters past the
// metadata horizon, then checkpoints the database. Held traces keep
// everything. It works in bounded chunks, each one short transaction
// under the writer lock, so ingest waits at most for one chunk and
// queries never wait; a crash or error between chunks leaves a consistent
// store that the next run finishes. Concurrent calls run one at a time.
// It returns an error wrapping loupe.ErrClosed after Close.
func (s *Store) EnforceRetention(ctx context.Context, now time.Time) (RetentionReport, error) {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	var rep RetentionReport
	if s.closed.Load() {
		return rep, fmt.Errorf("enforce retention: %w", loupe.ErrClosed)
	}
	began := time.Now()
	c := newCuts(&s.retention, now)
	rep.DatabaseBytesBefore = fileSize(s.path)
	err := s.stripPayloads(ctx, c, &rep)
	if err == nil {
		err = s.deleteMetadata(ctx, c, &rep)
	}
	if err == nil {
		err = s.dropFullTextBlocks(ctx, c, &rep)
	}
	if err == nil {
		err = s.deleteSamplingRows(ctx, c, &rep)
	}
	if err == nil && (rep.SpansDeleted > 0 || rep.PayloadsStripped > 0 || rep.FullTextBlocksDeleted > 0 ||
		rep.DecisionsDeleted > 0 || rep.CounterRowsDeleted > 0) {
		// Fold the deletions into the database file, so that its freed
		// blocks are reused by new rows (and the file shrinks when they
		// are at its end).
		err = s.withWriteLock(func() error { return s.checkpoint(ctx) })
	}
	rep.DatabaseBytesAfter = fileSize(s.path)
	rep.Duration = time.Since(began)
	s.retMetrics.observe(&rep, err, now)
	if err != nil {
		return rep, fmt.Errorf("enforce retention: %w", err)
	}
	return rep, nil
}

// withWriteLock runs f under the writer lock, unless the store is closed.
func (s *Store) withWriteLock(f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return loupe.ErrClosed
	}
	return f()
}

// inTx runs f in a transaction on a read-pool connection, under the writer
// lock, and commits it.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return s.withWriteLock(func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		if err := f(tx); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// segmentState is one sealed segment's span rows as the payload pass sees
// them.
type segmentState struct {
	total, fresh, drop int64
	maxOff             int64
}

// stripPayloads drops the payloads past their horizon, one sealed segment
// file at a time. A segment is handled once none of its payloads is
// younger than its payload horizon: the payloads that must stay (error
// and held traces) are copied to the active segment and their rows
// repointed, the others' rows marked stripped (payload_seg = 0), and the
// file is deleted. Segments no row points to (left by a failed write, or
// whose spans were all deleted) are deleted too.
func (s *Store) stripPayloads(ctx context.Context, c cuts, rep *RetentionReport) error {
	// Seal the active segment once it holds a payload over a day old (by
	// the run's clock), so that a store that never fills a segment still
	// drops payloads, at most about a day late. Under the writer lock,
	// like the listing: every write into a sealed segment has committed
	// its rows, so the states below see all of them.
	active := s.seg.Active()
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(start_ns) FROM spans WHERE payload_seg = ?`, active).Scan(&oldest); err != nil {
		return fmt.Errorf("query active segment: %w", err)
	}
	var sealed []segment.Info
	err := s.withWriteLock(func() error {
		if oldest.Valid && oldest.Int64 < c.now.Add(-retentionRotateAge).UnixNano() && s.seg.Active() == active {
			if err := s.seg.Rotate(); err != nil {
				return err
			}
		}
		var err error
		sealed, err = s.seg.Sealed()
		return err
	})
	if err != nil {
		return err
	}
	if len(sealed) == 0 {
		return nil
	}
	states, err := s.segmentStates(ctx, c, sealed[len(sealed)-1].Segment)
	if err != nil {
		return err
	}
	for _, info := range sealed {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, ok := states[info.Segment]
		switch {
		case !ok:
			// No row points into it.
		case st.fresh > 0 || st.drop == 0:
			continue // still young, or nothing to gain
		default:
			if err := s.stripSegment(ctx, c, info.Segment, st.maxOff, rep); err != nil {
				return fmt.Errorf("segment %d: %w", info.Segment, err)
			}
			var left int64
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM spans WHERE payload_seg = ?`, info.Segment).Scan(&left); err != nil {
				return fmt.Errorf("count rows of segment %d: %w", info.Segment, err)
			}
			if left > 0 {
				continue // held meanwhile: the next run moves it
			}
		}
		n, err := s.seg.Remove(info.Segment)
		if err != nil {
			return err
		}
		rep.SegmentsRemoved++
		rep.SegmentBytesRemoved += n
		s.logger.Debug("payload segment removed", "segment", info.Segment, "bytes", n)
	}
	return nil
}

// segmentStates returns, per segment up to last that rows point into,
// how many rows do, how many are younger than their payload horizon and
// how many may be dropped.
func (s *Store) segmentStates(ctx context.Context, c cuts, last uint32) (map[uint32]segmentState, error) {
	var args []any
	pcut := c.expr(cutPayload, "spans.project", &args)
	keep := c.keepPayload(&args)
	args = append(args, last)
	rows, err := s.db.QueryContext(ctx, `SELECT payload_seg, count(*),
  count(*) FILTER (WHERE spans.start_ns >= `+pcut+`),
  count(*) FILTER (WHERE NOT `+keep+`),
  max(payload_off)
FROM spans WHERE payload_seg BETWEEN 1 AND ? GROUP BY payload_seg`, args...)
	if err != nil {
		return nil, fmt.Errorf("query segment states: %w", err)
	}
	defer rows.Close()
	out := map[uint32]segmentState{}
	for rows.Next() {
		var (
			n  int64
			st segmentState
		)
		if err := rows.Scan(&n, &st.total, &st.fresh, &st.drop, &st.maxOff); err != nil {
			return nil, fmt.Errorf("scan segment state: %w", err)
		}
		out[uint32(n)] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read segment states: %w", err)
	}
	return out, nil
}

// stripSegment moves the payloads of segment n that must stay and marks the
// others stripped, one chunk of the file's frames per transaction.
func (s *Store) stripSegment(ctx context.Context, c cuts, n uint32, maxOff int64, rep *RetentionReport) error {
	for lo := int64(0); lo <= maxOff; lo += retentionSegmentChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := lo + retentionSegmentChunk
		// Copy the payloads that stay before taking the writer lock: the
		// reads and the fsync'ed append are the slow part. A trace held
		// after this query is not stripped below (keep is checked again);
		// it stays in the segment, which is then kept for the next run.
		var args []any
		keep := c.keepPayload(&args)
		args = append(args, n, lo, hi)
		moved, err := s.copyPayloads(ctx, `SELECT payload_off, payload_idx FROM spans
WHERE `+keep+` AND payload_seg = ? AND payload_off >= ? AND payload_off < ?`, args, n, rep)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if len(moved.oldOff) > 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE spans SET payload_seg = m.nseg::INTEGER, payload_off = m.noff, payload_idx = m.nidx::INTEGER
FROM (SELECT unnest(?::BIGINT[]) AS ooff, unnest(?::BIGINT[]) AS oidx, unnest(?::BIGINT[]) AS nseg,
             unnest(?::BIGINT[]) AS noff, unnest(?::BIGINT[]) AS nidx) m
WHERE spans.payload_seg = ? AND spans.payload_off = m.ooff AND spans.payload_idx = m.oidx`,
					moved.oldOff, moved.oldIdx, moved.newSeg, moved.newOff, moved.newIdx, n); err != nil {
					return fmt.Errorf("repoint moved payloads: %w", err)
				}
			}
			var args []any
			keep := c.keepPayload(&args)
			args = append(args, n, lo, hi)
			res, err := tx.ExecContext(ctx, `UPDATE spans SET payload_seg = 0, payload_off = NULL, payload_idx = NULL
WHERE NOT `+keep+` AND payload_seg = ? AND payload_off >= ? AND payload_off < ?`, args...)
			if err != nil {
				return fmt.Errorf("strip payloads: %w", err)
			}
			k, _ := res.RowsAffected()
			rep.PayloadsStripped += k
			return nil
		})
		if err != nil {
			return err
		}
		rep.PayloadsMoved += int64(len(moved.oldOff))
	}
	return nil
}

// movedPayloads are the old and new locations of copied payloads.
type movedPayloads struct {
	oldOff, oldIdx, newSeg, newOff, newIdx []int64
}

// copyPayloads appends the payloads of segment n at the (offset, index)
// pairs the query returns to the log, durably, and returns where they went.
func (s *Store) copyPayloads(ctx context.Context, q string, args []any, n uint32, rep *RetentionReport) (movedPayloads, error) {
	var m movedPayloads
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return m, fmt.Errorf("query payloads to keep: %w", err)
	}
	var refs []segment.Ref
	for rows.Next() {
		var off, idx int64
		if err := rows.Scan(&off, &idx); err != nil {
			rows.Close()
			return m, fmt.Errorf("scan payload to keep: %w", err)
		}
		refs = append(refs, segment.Ref{Segment: n, Offset: uint64(off), Index: uint32(idx)})
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return m, fmt.Errorf("read payloads to keep: %w", err)
	}
	if len(refs) == 0 {
		return m, nil
	}
	recs, err := s.seg.Read(refs)
	if err != nil {
		return m, fmt.Errorf("read payloads to keep: %w", err)
	}
	before, _ := s.seg.Size()
	nrefs, err := s.seg.Append(recs)
	if err != nil {
		return m, fmt.Errorf("copy payloads to keep: %w", err)
	}
	after, _ := s.seg.Size()
	rep.PayloadBytesCopied += max(0, after-before) // about: concurrent writes may add theirs
	for i, r := range refs {
		m.oldOff = append(m.oldOff, int64(r.Offset))
		m.oldIdx = append(m.oldIdx, int64(r.Index))
		m.newSeg = append(m.newSeg, int64(nrefs[i].Segment))
		m.newOff = append(m.newOff, int64(nrefs[i].Offset))
		m.newIdx = append(m.newIdx, int64(nrefs[i].Index))
	}
	return m, nil
}

// deleteMetadata deletes the traces whose last span ended before their
// project's metadata horizon and that are not held: span rows, events and
// summaries, a chunk of traces per transaction.
func (s *Store) deleteMetadata(ctx context.Context, c cuts, rep *RetentionReport) error {
	maxCut := c.max(cutMetadata)
	if maxCut == math.MinInt64 {
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var done bool
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var args []any
			mcut := c.expr(cutMetadata, "p.project", &args)
			args = append([]any{maxCut}, args...)
			args = append(args, retentionTraceChunk)
			rows, err := tx.QueryContext(ctx, `SELECT p.project, p.trace_hi, p.trace_lo FROM trace_parts p
WHERE p.start_ns < ? AND NOT EXISTS (SELECT 1 FROM retention_holds h
  WHERE h.project = p.project AND h.trace_hi = p.trace_hi AND h.trace_lo = p.trace_lo)
GROUP BY p.project, p.trace_hi, p.trace_lo
HAVING max(p.end_ns) < `+mcut+`
LIMIT ?`, args...)
			if err != nil {
				return fmt.Errorf("query expired traces: %w", err)
			}
			byProject := map[string]*[2][]int64{} // project -> trace_hi, trace_lo
			count := 0
			for rows.Next() {
				var (
					p      string
					hi, lo int64
				)
				if err := rows.Scan(&p, &hi, &lo); err != nil {
					rows.Close()
					return fmt.Errorf("scan expired trace: %w", err)
				}
				ids := byProject[p]
				if ids == nil {
					ids = new([2][]int64)
					byProject[p] = ids
				}
				ids[0], ids[1] = append(ids[0], hi), append(ids[1], lo)
				count++
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("read expired traces: %w", err)
			}
			if count == 0 {
				done = true
				return nil
			}
			// DELETE ... USING cannot bind array parameters in this DuckDB
			// version; a row-value IN can.
			const in = ` WHERE project = ? AND (trace_hi, trace_lo) IN (SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]))`
			for project, ids := range byProject {
				res, err := tx.ExecContext(ctx, `DELETE FROM spans`+in+` AND start_ns < ?`, project, ids[0], ids[1], maxCut)
				if err != nil {
					return fmt.Errorf("delete spans: %w", err)
				}
				k, _ := res.RowsAffected()
				rep.SpansDeleted += k
				if _, err := tx.ExecContext(ctx, `DELETE FROM span_events`+in, project, ids[0], ids[1]); err != nil {
					return fmt.Errorf("delete events: %w", err)
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM trace_parts`+in, project, ids[0], ids[1]); err != nil {
					return fmt.Errorf("delete trace summaries: %w", err)
				}
			}
			rep.TracesDeleted += int64(count)
			done = count < retentionTraceChunk
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// dropFullTextBlocks deletes the full-text blocks older than their
// project's payload horizon none of whose spans still has a payload
// (stripped or deleted). Blocks that still index a kept payload stay;
// queries ignore their stripped spans (fulltext.go matches only spans
// with a payload).
func (s *Store) dropFullTextBlocks(ctx context.Context, c cuts, rep *RetentionReport) error {
	var args []any
	pcut := c.expr(cutPayload, "project", &args)
	rows, err := s.db.QueryContext(ctx, `SELECT block_id, project, min_start, max_start, spans FROM fts_blocks
WHERE max_start < `+pcut+` ORDER BY block_id`, args...)
	if err != nil {
		return fmt.Errorf("query old full-text blocks: %w", err)
	}
	type block struct {
		id, minStart, maxStart int64
		project                string
		spans                  []int64
	}
	var blocks []block
	for rows.Next() {
		var (
			b    block
			blob []byte
		)
		if err := rows.Scan(&b.id, &b.project, &b.minStart, &b.maxStart, &blob); err != nil {
			rows.Close()
			return fmt.Errorf("scan full-text block: %w", err)
		}
		b.spans = make([]int64, len(blob)/8)
		for i := range b.spans {
			b.spans[i] = int64(uint64(blob[8*i])<<56 | uint64(blob[8*i+1])<<48 | uint64(blob[8*i+2])<<40 |
				uint64(blob[8*i+3])<<32 | uint64(blob[8*i+4])<<24 | uint64(blob[8*i+5])<<16 |
				uint64(blob[8*i+6])<<8 | uint64(blob[8*i+7]))
		}
		blocks = append(blocks, b)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("read full-text blocks: %w", err)
	}
	for len(blocks) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := blocks[:min(len(blocks), retentionBlockChunk)]
		blocks = blocks[len(chunk):]
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var drop []int64
			for _, b := range chunk {
				var live bool
				if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM spans
WHERE project = ? AND start_ns BETWEEN ? AND ? AND payload_seg > 0 AND span_id IN (SELECT unnest(?::BIGINT[])))`,
					b.project, b.minStart, b.maxStart, b.spans).Scan(&live); err != nil {
					return fmt.Errorf("check full-text block %d: %w", b.id, err)
				}
				if !live {
					drop = append(drop, b.id)
				}
			}
			if len(drop) == 0 {
				return nil
			}
			for _, table := range []string{"fts_postings", "fts_blocks"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE block_id IN (SELECT unnest(?::BIGINT[]))`, drop); err != nil {
					return fmt.Errorf("delete from %s: %w", table, err)
				}
			}
			rep.FullTextBlocksDeleted += int64(len(drop))
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Hold keeps every span and payload of the trace, whatever the retention
// policy, until Release(project, id, reason). Holding a trace twice for the
// same reason is one hold. It returns an error wrapping loupe.ErrNotFound
// when the trace has no span, loupe.ErrInvalid for an empty or overlong
// reason, and loupe.ErrClosed after Close. Payloads stripped before the
// hold are not restored.
func (s *Store) Hold(ctx context.Context, project string, id loupe.TraceID, reason string) error {
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("hold trace %s: %w", id, err)
	}
	hi, lo := traceHalves(id)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM trace_parts WHERE trace_hi = ? AND trace_lo = ? AND project = ?`,
			hi, lo, project).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return loupe.ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO retention_holds
SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM retention_holds
  WHERE project = ? AND trace_hi = ? AND trace_lo = ? AND reason = ?)`,
			project, hi, lo, reason, s.now().UnixNano(), project, hi, lo, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("hold trace %s: %w", id, err)
	}
	return nil
}

// Release removes the trace's hold for reason; once it has no hold left,
// retention applies to it again. Releasing a hold that does not exist does
// nothing. It returns loupe.ErrClosed after Close.
func (s *Store) Release(ctx context.Context, project string, id loupe.TraceID, reason string) error {
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("release trace %s: %w", id, err)
	}
	hi, lo := traceHalves(id)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM retention_holds WHERE project = ? AND trace_hi = ? AND trace_lo = ? AND reason = ?`,
			project, hi, lo, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("release trace %s: %w", id, err)
	}
	return nil
}

// Holds returns the reasons the trace is held for, sorted.
func (s *Store) Holds(ctx context.Context, project string, id loupe.TraceID) ([]string, error) {
	hi, lo := traceHalves(id)
	rows, err := s.db.QueryContext(ctx, `SELECT reason FROM retention_holds
WHERE project = ? AND trace_hi = ? AND trace_lo = ? ORDER BY reason`, project, hi, lo)
	if err != nil {
		return nil, fmt.Errorf("query holds of %s: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("scan hold: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	return out, nil
}

// MaxHoldReason bounds a hold's reason in bytes.
const MaxHoldReason = 200

func checkReason(r string) error {
	switch {
	case r == "":
		return fmt.Errorf("%w: empty hold reason", loupe.ErrInvalid)
	case len(r) > MaxHoldReason:
		return fmt.Errorf("%w: hold reason exceeds %d bytes", loupe.ErrInvalid, MaxHoldReason)
	}
	return nil
}

// fileSize returns the size of the file at path, 0 if it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
