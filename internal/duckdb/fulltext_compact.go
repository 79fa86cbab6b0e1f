package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loupehq/loupe"
)

// Full-text compaction. Every Write makes one block per project (see
// fulltext.go), a few hundred spans under real load, so a large store holds
// tens of thousands of blocks, and a word that occurs nowhere still costs a
// postings row read per block. A background pass merges runs of small
// blocks into blocks of up to ftsCompactSpans spans.
//
// Policy, per project, blocks in block_id order: a block is small when it
// holds fewer than ftsCompactSpans/4 spans; the oldest run of consecutive
// small blocks whose spans sum to at least ftsCompactSpans is merged,
// taking blocks from its start while the sum stays within ftsCompactSpans
// (so a merged block holds more than 3/4 of it and is never small), and
// that repeats while such runs exist. The newest blocks stay small until
// enough accumulates behind them.
//
// A merge decodes the run's postings rows into ftsParts, merges them in
// block order into one block (ftsIndexer.merge offsets each part's
// ordinals by the spans before it) and replaces the run in one DuckDB
// transaction: the old fts_blocks and fts_postings rows are deleted and
// the merged rows inserted under the run's largest block_id (ids grow with
// write time; queries order blocks by max_start, then block_id). The merged
// block records the run's blocks as its sub-blocks (fts_blocks.subs, a
// merged block's own sub-blocks offset by the spans before it), so that
// queries still walk and stop at the granularity of the original blocks. A failed
// merge rolls back whole and is retried by a later pass, so index entries
// are never lost or doubled. Readers resolve one query's full-text
// conditions in one transaction (fullText.tx), so that a merge committing
// meanwhile cannot pair an old block's ordinals with the merged block's
// spans.
//
// Merges hold Store.retMu: retention lists candidate blocks outside its
// delete transactions and deletes them by block_id, which after a merge
// would name the merged block (it keeps one of the old ids) and could drop
// the index of spans that still have their payloads.

const (
	// ftsCompactSpans bounds the spans of a merged block. 16,384 spans
	// keep a merge's working set small (the merged block's pairs, about 8
	// bytes per distinct word per span, a few tens of MB with the
	// workload's payloads) and the spans blob a query reads for every
	// block it matches in at 128 KiB, while 10M spans fit in about 700
	// blocks, so a word found nowhere reads about 700 postings rows
	// instead of one per Write call.
	ftsCompactSpans = 1 << 14
	// ftsCompactEvery is the slow ticker of the background pass (writes
	// wake it too).
	ftsCompactEvery = time.Minute
	// ftsCompactGap is the least time between two background passes, so
	// that a stream of small writes wakes at most one pass a second.
	ftsCompactGap = time.Second
)

// ftsCompactor is the Store's full-text compaction state.
type ftsCompactor struct {
	wake chan struct{} // buffered (1): a write committed
	stop context.CancelFunc
	wg   sync.WaitGroup

	// mu serializes passes (the background one and compactFullText
	// calls); Close takes it to wait for a pass in progress.
	mu sync.Mutex
	ix *ftsIndexer // the merge's indexer; not the writer's
	// from holds, per project, the block id from which on a pass lists
	// blocks: earlier blocks are large, or small runs that can no longer
	// grow (new blocks get larger ids), or already merged.
	from    map[string]int64
	part    ftsPart  // decode scratch
	subs    []ftsSub // the merged block's sub-blocks
	subBlob []byte   // their encoding
	rowBuf  []ftsRow // scratch: the merged block's postings rows
	metrics *compactMetrics
}

// compactMetrics are the compaction Prometheus collectors.
type compactMetrics struct {
	merged prometheus.Counter
	passes *prometheus.CounterVec
}

func newCompactMetrics() *compactMetrics {
	return &compactMetrics{
		merged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loupe_fulltext_blocks_compacted_total",
			Help: "Full-text index blocks merged into larger blocks by compaction.",
		}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loupe_fulltext_compaction_passes_total",
			Help: "Full-text compaction passes by result (ok, error).",
		}, []string{"result"}),
	}
}

// register registers the collectors on reg (nil: none).
func (m *compactMetrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.merged, m.passes} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register full-text compaction metrics: %w", err)
		}
	}
	return nil
}

func newFTSCompactor() *ftsCompactor {
	return &ftsCompactor{wake: make(chan struct{}, 1), from: map[string]int64{}, metrics: newCompactMetrics()}
}

// startCompaction starts the background pass, woken by writes
// (wakeCompaction) and by a slow ticker. The Store owns the goroutine;
// stopCompaction (Close) stops it and waits.
func (s *Store) startCompaction() {
	c := s.compact
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Go(func() {
		tick := time.NewTicker(ftsCompactEvery)
		defer tick.Stop()
		gap := time.NewTimer(0)
		defer gap.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
			case <-tick.C:
			}
			s.compactAndLog(ctx)
			gap.Reset(ftsCompactGap)
			select {
			case <-ctx.Done():
				return
			case <-gap.C:
			}
		}
	})
}

// stopCompaction stops the background pass, if any, and waits for it.
// It is idempotent.
func (s *Store) stopCompaction() {
	if s.compact.stop != nil {
		s.compact.stop()
	}
	s.compact.wg.Wait()
}

// wakeCompaction asks the background pass to run; it never blocks.
func (s *Store) wakeCompaction() {
	select {
	case s.compact.wake <- struct{}{}:
	default:
	}
}

// compactAndLog runs one pass; its error is handled here (the next pass
// retries).
func (s *Store) compactAndLog(ctx context.Context) {
	n, err := s.compactFullText(ctx)
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, loupe.ErrClosed)):
	case err != nil:
		s.logger.Debug("full-text compaction failed, retrying at the next pass", "blocks_merged", n, "err", err)
	case n > 0:
		s.logger.Debug("full-text blocks compacted", "blocks_merged", n)
	}
}

// ftsCompactLimit returns the most spans of a merged block.
func (s *Store) ftsCompactLimit() int {
	if s.ftsCompactCap > 0 {
		return s.ftsCompactCap
	}
	return ftsCompactSpans
}

// compactFullText runs one compaction pass over every project (see the
// policy above) and returns the number of old blocks merged away. Tests
// and benchmarks call it directly for a deterministic store.
func (s *Store) compactFullText(ctx context.Context) (merged int, err error) {
	c := s.compact
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		c.metrics.merged.Add(float64(merged))
		if err != nil {
			c.metrics.passes.WithLabelValues("error").Inc()
		} else {
			c.metrics.passes.WithLabelValues("ok").Inc()
		}
	}()
	if s.closed.Load() {
		return 0, loupe.ErrClosed
	}
	projects, err := s.ftsProjects(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range projects {
		n, err := s.compactProject(ctx, p)
		merged += n
		if err != nil {
			return merged, fmt.Errorf("compact full-text index of project %q: %w", p, err)
		}
	}
	return merged, nil
}

// ftsProjects lists the projects that have full-text blocks.
func (s *Store) ftsProjects(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT project FROM fts_blocks ORDER BY project`)
	if err != nil {
		return nil, fmt.Errorf("list full-text projects: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("scan full-text project: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read full-text projects: %w", err)
	}
	return out, nil
}

// blockSize is one block's id and span count.
type blockSize struct {
	id int64
	n  int
}

// compactProject merges the project's eligible runs, oldest first.
func (s *Store) compactProject(ctx context.Context, project string) (merged int, err error) {
	c := s.compact
	from := c.from[project]
	rows, err := s.db.QueryContext(ctx, `SELECT block_id, octet_length(spans) // 8 FROM fts_blocks
WHERE project = ? AND block_id >= ? ORDER BY block_id`, project, from)
	if err != nil {
		return 0, fmt.Errorf("list blocks: %w", err)
	}
	var blocks []blockSize
	for rows.Next() {
		var b blockSize
		if err := rows.Scan(&b.id, &b.n); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan block: %w", err)
		}
		blocks = append(blocks, b)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return 0, fmt.Errorf("read blocks: %w", err)
	}
	limit := s.ftsCompactLimit()
	small := limit / 4
	for i := 0; i < len(blocks); {
		if blocks[i].n >= small {
			from = blocks[i].id + 1
			i++
			continue
		}
		j, total := i, 0
		for j < len(blocks) && blocks[j].n < small {
			total += blocks[j].n
			j++
		}
		k := i
		for total >= limit {
			if err := ctx.Err(); err != nil {
				c.from[project] = blocks[k].id
				return merged, err
			}
			e, sum := k, 0
			for e < j && sum+blocks[e].n <= limit {
				sum += blocks[e].n
				e++
			}
			if err := s.mergeBlocks(ctx, project, blocks[k:e]); err != nil {
				c.from[project] = blocks[k].id
				return merged, err
			}
			merged += e - k
			total -= sum
			k = e
		}
		if j == len(blocks) && k < j {
			// The newest run may still grow: look at it again next time.
			from = blocks[k].id
		} else {
			from = blocks[j-1].id + 1
		}
		i = j
	}
	c.from[project] = from
	return merged, nil
}

// errBlocksChanged reports that a run's blocks changed since the pass
// listed them (retention deleted some); the next pass lists them again.
var errBlocksChanged = errors.New("full-text blocks changed since listed")

// mergeBlocks replaces the blocks of run (consecutive, ascending ids) by
// one block under the run's largest id, in one transaction on a
// connection of its own.
func (s *Store) mergeBlocks(ctx context.Context, project string, run []blockSize) error {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if s.closed.Load() {
		return loupe.ErrClosed
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open compaction connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		dconn, ok := dc.(driverQueryConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return s.mergeBlocksTx(ctx, dconn, project, run)
	})
}

// driverQueryConn is what a merge needs of the DuckDB driver connection.
type driverQueryConn interface {
	driverConn
	driver.QueryerContext
}

func (s *Store) mergeBlocksTx(ctx context.Context, conn driverQueryConn, project string, run []blockSize) (err error) {
	c := s.compact
	ids := make([]int64, len(run))
	for i, b := range run {
		ids[i] = b.id
	}
	lo, hi := ids[0], ids[len(ids)-1]
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION", nil); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := conn.ExecContext(context.Background(), "ROLLBACK", nil); rbErr != nil {
				s.logger.Debug("full-text compaction rollback", "err", rbErr)
			}
		}
	}()
	// The run's blocks as this transaction sees them.
	type block struct {
		minStart, maxStart int64
		spans, subs        []byte
	}
	blocks := make(map[int64]*block, len(run))
	err = queryEach(ctx, conn, `SELECT block_id, min_start, max_start, spans, subs FROM fts_blocks
WHERE project = ? AND block_id BETWEEN ? AND ? AND block_id IN (SELECT unnest(?::BIGINT[]))`,
		[]any{project, lo, hi, ids}, func(v []driver.Value) error {
			id, _ := v[0].(int64)
			mn, _ := v[1].(int64)
			mx, _ := v[2].(int64)
			sp, _ := v[3].([]byte)
			sb, _ := v[4].([]byte)
			blocks[id] = &block{mn, mx, sp, sb}
			return nil
		})
	if err != nil {
		return fmt.Errorf("read blocks: %w", err)
	}
	for _, b := range run {
		if bl := blocks[b.id]; bl == nil || len(bl.spans) != 8*b.n {
			return errBlocksChanged
		}
	}
	postings := make(map[int64][][]byte, len(run))
	err = queryEach(ctx, conn, `SELECT block_id, postings FROM fts_postings
WHERE block_id BETWEEN ? AND ? AND block_id IN (SELECT unnest(?::BIGINT[])) ORDER BY block_id, tok_lo`,
		[]any{lo, hi, ids}, func(v []driver.Value) error {
			id, _ := v[0].(int64)
			p, _ := v[1].([]byte)
			raw, err := openPostings(s.ftsDec, p, nil)
			if err != nil {
				return fmt.Errorf("block %d: %w", id, err)
			}
			postings[id] = append(postings[id], raw)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read postings: %w", err)
	}
	if c.ix == nil {
		c.ix = newFTSIndexer()
	}
	ix := c.ix
	ix.reset(project, blocks[lo].minStart)
	p := &c.part
	// The merged block's sub-blocks: each block's own (a block the write
	// path made is one), offset by the spans merged before it.
	c.subs = c.subs[:0]
	for _, b := range run {
		bl := blocks[b.id]
		c.subs = blockSubs(c.subs, bl.subs, int32(b.n), ix.n, bl.minStart, bl.maxStart)
		if err := decodeBlock(p, postings[b.id], int32(b.n)); err != nil {
			return fmt.Errorf("decode block %d: %w", b.id, err)
		}
		p.project, p.minStart, p.maxStart, p.n, p.spans = project, bl.minStart, bl.maxStart, int32(b.n), bl.spans
		ix.merge(p)
	}
	p.spans = nil
	clear(postings)
	// Old rows first: the merged block reuses the id hi.
	for _, table := range []string{"fts_postings", "fts_blocks"} {
		if _, err := conn.ExecContext(ctx, `DELETE FROM `+table+` WHERE block_id BETWEEN ? AND ? AND block_id IN (SELECT unnest(?::BIGINT[]))`,
			namedValues([]any{lo, hi, ids})); err != nil {
			return fmt.Errorf("delete from %s: %w", table, err)
		}
	}
	if err := c.appendMerged(conn, hi); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Like the writer's, COMMIT is not interruptible: a commit that
	// reports an error after being durable would be retried on stale ids.
	if err := commit(conn); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// appendMerged appends the indexer's block under id.
func (c *ftsCompactor) appendMerged(conn driver.Conn, id int64) error {
	ix := c.ix
	return withFTSAppenders(conn, func(blocks, postings *duckdb.Appender) error {
		c.subBlob = appendSubs(c.subBlob[:0], c.subs)
		if err := blocks.AppendRow(text(ix.project), id, ix.minStart, ix.maxStart, ix.spans, c.subBlob); err != nil {
			return fmt.Errorf("append merged block: %w", err)
		}
		c.rowBuf = ix.rows(c.rowBuf[:0])
		defer clear(c.rowBuf) // do not pin the blob buffer's old arrays
		for _, r := range c.rowBuf {
			if err := postings.AppendRow(id, r.tokLo, r.tokHi, r.blob); err != nil {
				return fmt.Errorf("append merged postings: %w", err)
			}
		}
		return nil
	})
}

// decodeBlock fills p.tokens and p.pairs from a block's postings rows
// (ascending tok_lo) of a block of n spans. Pairs come grouped by token,
// each token's ordinals ascending, which is what ftsIndexer.merge and
// rows need. Unlike lookups, which skip what they cannot read, it fails on
// anything malformed: a merge must not drop index entries.
func decodeBlock(p *ftsPart, rows [][]byte, n int32) error {
	p.tokens, p.pairs = p.tokens[:0], p.pairs[:0]
	prevTok, first := int64(0), true
	for _, blob := range rows {
		if len(blob) < 1 || blob[0] != ftsFormat {
			return errors.New("bad postings format")
		}
		cnt, k := binary.Uvarint(blob[1:])
		if k <= 0 || cnt > uint64(len(blob)) {
			return errors.New("bad postings token count")
		}
		dir := blob[1+k:]
		c := int(cnt)
		if len(dir) < c*12 {
			return io.ErrUnexpectedEOF
		}
		ends, data := dir[c*8:c*12], dir[c*12:]
		begin := uint32(0)
		for i := range c {
			tok := binary.LittleEndian.Uint64(dir[i*8:])
			if !first && int64(tok) <= prevTok {
				return errors.New("postings tokens out of order")
			}
			prevTok, first = int64(tok), false
			end := binary.LittleEndian.Uint32(ends[i*4:])
			if end < begin || int(end) > len(data) {
				return errors.New("bad postings offsets")
			}
			e := uint64(len(p.tokens)) << 32
			p.tokens = append(p.tokens, tok)
			prev := int64(-1)
			for list := data[begin:end]; len(list) > 0; {
				v, m := binary.Uvarint(list)
				if m <= 0 {
					return errors.New("bad posting")
				}
				list = list[m:]
				ord := prev + 1 + int64(v>>3)
				if ord >= int64(n) {
					return fmt.Errorf("posting ordinal %d beyond %d spans", ord, n)
				}
				if v&7 != 0 {
					p.pairs = append(p.pairs, e|uint64(ord)<<3|v&7)
				}
				prev = ord
			}
			begin = end
		}
	}
	return nil
}

func namedValues(args []any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// queryEach runs q on conn and calls f with each row's values.
func queryEach(ctx context.Context, conn driver.QueryerContext, q string, args []any, f func([]driver.Value) error) error {
	rows, err := conn.QueryContext(ctx, q, namedValues(args))
	if err != nil {
		return err
	}
	defer rows.Close()
	v := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(v); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := f(v); err != nil {
			return err
		}
	}
}
