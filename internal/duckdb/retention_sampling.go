package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// retentionRowChunk is the sampling-table rows (decisions, counter
// increments) one retention transaction deletes.
const retentionRowChunk = 20_000

// deleteSamplingRows applies the metadata horizon to the sampler's tables
// (migrations/0005_sampling.sql), which otherwise grow by a row per decided
// trace and a few per minute forever:
//   - sample_decisions: a decision older than its project's metadata horizon
//     goes, unless its trace is held or still has metadata (deleteMetadata
//     runs first, so a remaining trace_parts row means the trace is kept,
//     and a sampler must keep knowing it decided it). Dropped traces have no
//     metadata: their decision goes at the horizon.
//   - counters: a minute goes once all of it is older than the horizon.
//
// Like the other passes it deletes a bounded chunk per transaction under
// the writer lock, so ingest waits at most for one chunk.
func (s *Store) deleteSamplingRows(ctx context.Context, c cuts, rep *RetentionReport) error {
	if c.max(cutMetadata) == math.MinInt64 {
		return nil
	}
	n, err := s.deleteChunked(ctx, func(args *[]any) string {
		mcut := c.expr(cutMetadata, "d.project", args)
		return `SELECT d.rowid FROM sample_decisions d WHERE d.decided_ns < ` + mcut + `
AND NOT EXISTS (SELECT 1 FROM retention_holds h
  WHERE h.project = d.project AND h.trace_hi = d.trace_hi AND h.trace_lo = d.trace_lo)
AND NOT EXISTS (SELECT 1 FROM trace_parts p
  WHERE p.project = d.project AND p.trace_hi = d.trace_hi AND p.trace_lo = d.trace_lo)`
	}, "sample_decisions")
	rep.DecisionsDeleted += n
	if err != nil {
		return err
	}
	n, err = s.deleteChunked(ctx, func(args *[]any) string {
		mcut := c.expr(cutMetadata, "k.project", args)
		*args = append(*args, int64(time.Minute))
		return `SELECT k.rowid FROM counters k WHERE k.minute_ns <= ` + mcut + ` - ?`
	}, "counters")
	rep.CounterRowsDeleted += n
	return err
}

// deleteChunked deletes from table the rows whose rowid the query built by
// sel returns, retentionRowChunk rows per transaction, until none is left.
// It returns the rows deleted.
func (s *Store) deleteChunked(ctx context.Context, sel func(args *[]any) string, table string) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var k int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var args []any
			q := `DELETE FROM ` + table + ` WHERE rowid IN (` + sel(&args) + ` LIMIT ?)`
			res, err := tx.ExecContext(ctx, q, append(args, retentionRowChunk)...)
			if err != nil {
				return fmt.Errorf("delete expired %s: %w", table, err)
			}
			k, err = res.RowsAffected()
			if err != nil {
				return fmt.Errorf("delete expired %s: %w", table, err)
			}
			return nil
		})
		total += k
		if err != nil || k < retentionRowChunk {
			return total, err
		}
	}
}
