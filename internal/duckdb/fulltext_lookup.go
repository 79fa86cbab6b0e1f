package duckdb

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// loadBlocks lists the project's blocks that may hold spans of the range
// and their sub-blocks (fulltext_subs.go) that may, newest first.
func (f *fullText) loadBlocks(ctx context.Context) error {
	if f.loaded {
		return nil
	}
	to := f.w.to
	if f.before != 0 && f.before < to {
		to = f.before
	}
	lo, hi := f.w.from-int64(traceSlack), to+int64(traceSlack)
	tx, err := f.snapshot(ctx)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT block_id, min_start, max_start, subs FROM fts_blocks
WHERE project = ? AND max_start >= ? AND min_start < ?`, f.project, lo, hi)
	if err != nil {
		return fmt.Errorf("query full-text blocks: %w", err)
	}
	defer rows.Close()
	var (
		subs []ftsSub
		blob []byte
	)
	for rows.Next() {
		var b ftsBlockRef
		if err := rows.Scan(&b.id, &b.minStart, &b.maxStart, &blob); err != nil {
			return fmt.Errorf("scan full-text block: %w", err)
		}
		k := len(f.blocks)
		f.blocks = append(f.blocks, b)
		subs = blockSubs(subs[:0], blob, 0, 0, b.minStart, b.maxStart)
		for i, s := range subs {
			end := int32(ftsBlockSpans) // the last sub-block runs to the end
			if i+1 < len(subs) {
				end = subs[i+1].first
			}
			// A sub-block outside the range holds none of its spans.
			if s.maxStart >= lo && s.minStart < hi {
				f.subs = append(f.subs, ftsSubRef{block: k, lo: s.first, hi: end, minStart: s.minStart, maxStart: s.maxStart})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read full-text blocks: %w", err)
	}
	slices.SortFunc(f.subs, func(a, b ftsSubRef) int {
		if c := cmp.Compare(b.maxStart, a.maxStart); c != 0 {
			return c
		}
		if c := cmp.Compare(f.blocks[b.block].id, f.blocks[a.block].id); c != 0 {
			return c
		}
		return cmp.Compare(b.lo, a.lo)
	})
	f.loaded = true
	return nil
}

// lookup returns the ids of the spans of the range's sub-blocks that hold
// every token on one of sides (a mask). It walks the sub-blocks newest
// first and stops early once it holds f.want spans or would exceed
// ftsLimit (truncated); covered is then the start from which on the answer
// is complete, the max start + 1 of the first sub-block not walked (every
// span starting at or after it is in a walked sub-block), else
// math.MinInt64.
//
// Postings are read per block, in growing chunks of the blocks the walk
// reaches next; a block's matches are computed once and split by ordinal
// range among its sub-blocks, of which only those walked contribute ids.
func (f *fullText) lookup(toks []uint64, sides uint32) (ids []int64, truncated bool, covered int64, err error) {
	ctx := f.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	covered = math.MinInt64
	if err := f.loadBlocks(ctx); err != nil {
		return nil, false, 0, err
	}
	tx, err := f.snapshot(ctx)
	if err != nil {
		return nil, false, 0, err
	}
	var cond strings.Builder
	var targs []any
	for i, t := range toks {
		if i > 0 {
			cond.WriteString(" OR ")
		}
		cond.WriteString("(tok_lo <= ? AND tok_hi >= ?)")
		targs = append(targs, int64(t), int64(t))
	}
	q := `SELECT block_id, postings FROM fts_postings WHERE block_id BETWEEN ? AND ?
AND block_id IN (SELECT unnest(?::BIGINT[])) AND (` + cond.String() + `)`

	var (
		fetched = make([]bool, len(f.blocks))
		matches = make([][]uint32, len(f.blocks)) // per block: matching ordinals, ascending
		picked  = make([][]uint32, len(f.blocks)) // per block: the ordinals of walked sub-blocks
		index   = make(map[int64]int, len(f.blocks))
		blobs   = map[int64][][]byte{}
		total   int
		chunk   = 2
		cur     []uint32
		next    []uint32
	)
	for k, b := range f.blocks {
		index[b.id] = k
	}
	// fetch reads the postings of the first chunk blocks not read yet in
	// walk order from sub-block i on, and computes their matches.
	fetch := func(i int) error {
		var bids []int64
		var ks []int
		for _, sb := range f.subs[i:] {
			if len(bids) == chunk {
				break
			}
			if !fetched[sb.block] {
				fetched[sb.block] = true
				bids = append(bids, f.blocks[sb.block].id)
				ks = append(ks, sb.block)
			}
		}
		chunk *= 2
		clear(blobs)
		args := append([]any{slices.Min(bids), slices.Max(bids), bids}, targs...)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("query full-text postings: %w", err)
		}
		for rows.Next() {
			var (
				id   int64
				blob []byte
			)
			if err := rows.Scan(&id, &blob); err != nil {
				rows.Close()
				return fmt.Errorf("scan full-text postings: %w", err)
			}
			if blob, err = openPostings(f.s.ftsDec, blob, nil); err != nil {
				rows.Close()
				return fmt.Errorf("full-text postings of block %d: %w", id, err)
			}
			blobs[id] = append(blobs[id], blob)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("read full-text postings: %w", err)
		}
		for _, k := range ks {
			rs := blobs[f.blocks[k].id]
			cur = cur[:0]
			for ti, t := range toks {
				var list []byte
				found := false
				for _, r := range rs {
					if list, found = postingsOf(r, t); found {
						break
					}
				}
				if !found {
					cur = cur[:0]
					break
				}
				if ti == 0 {
					cur = decodePostings(cur, list)
				} else {
					next = decodePostings(next[:0], list)
					cur = intersect(cur, next)
				}
				if len(cur) == 0 {
					break
				}
			}
			var m []uint32
			for _, x := range cur {
				if x&sides != 0 {
					m = append(m, x>>3)
				}
			}
			matches[k] = m
		}
		return nil
	}
walk:
	for i, sb := range f.subs {
		if !fetched[sb.block] {
			if err := fetch(i); err != nil {
				return nil, false, 0, err
			}
		}
		all := matches[sb.block]
		a, _ := slices.BinarySearch(all, uint32(sb.lo))
		b, _ := slices.BinarySearch(all, uint32(sb.hi))
		m := all[a:b]
		if len(m) == 0 {
			continue
		}
		if total+len(m) > f.s.ftsLimit() {
			truncated = true
			covered = sb.maxStart + 1
			break walk
		}
		total += len(m)
		picked[sb.block] = append(picked[sb.block], m...)
		if f.want > 0 && total >= f.want && i+1 < len(f.subs) {
			covered = f.subs[i+1].maxStart + 1
			break walk
		}
	}
	var need []int64
	for k, p := range picked {
		if len(p) > 0 {
			need = append(need, f.blocks[k].id)
		}
	}
	if len(need) == 0 {
		return nil, truncated, covered, nil
	}
	lo, hi := slices.Min(need), slices.Max(need)
	brows, err := tx.QueryContext(ctx, `SELECT block_id, spans FROM fts_blocks
WHERE project = ? AND block_id BETWEEN ? AND ? AND block_id IN (SELECT unnest(?::BIGINT[]))`, f.project, lo, hi, need)
	if err != nil {
		return nil, false, 0, fmt.Errorf("query full-text blocks: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var (
			id    int64
			spans []byte
		)
		if err := brows.Scan(&id, &spans); err != nil {
			return nil, false, 0, fmt.Errorf("scan full-text block: %w", err)
		}
		k, ok := index[id]
		if !ok {
			continue
		}
		for _, o := range picked[k] {
			if int(o+1)*8 <= len(spans) {
				ids = append(ids, int64(binary.BigEndian.Uint64(spans[o*8:])))
			}
		}
		picked[k] = nil // a block id seen twice counts once
	}
	if err := brows.Err(); err != nil {
		return nil, false, 0, fmt.Errorf("read full-text blocks: %w", err)
	}
	return ids, truncated, covered, nil
}
