package duckdb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"time"
)

// Most traces arrive in one Write (one trace_parts row), and a trace list
// can then read a part as the trace's summary without aggregating parts by
// trace id, which at 10M spans costs most of a filtered search. The write
// path marks every part that is not the first one written for its trace
// (trace_parts.cont, migrations/0005_trace_parts_cont.sql); a search reads
// the parts of the traces that have a cont part through the aggregation and
// every other part as is (window.go).
//
// recentTraces remembers which traces have parts, so that the writer can
// set cont, without a query: a Bloom filter per minute of part start time,
// for the newest recentBuckets minutes. A false positive only sends a
// single-part trace down the aggregation path; a false negative would list
// a trace twice, so every answer that cannot be exact is "cont": a part
// whose start range, widened by traceSlack, reaches minutes that are not
// remembered (older than the window, or before the store was opened, whose
// parts were never seen) is marked cont.

const (
	// recentBucketNs is the start-time span of one filter.
	recentBucketNs = int64(time.Minute)
	// recentBuckets is the filters kept: traceSlack on both sides of a
	// part plus margin.
	recentBuckets = 16
	// recentBits is the size of one filter: 1 MiB. At 100k spans/s
	// (about 500k traces a minute) a lookup over the 11 minutes a part's
	// slack spans has a false positive rate around 2%.
	recentBits = 1 << 23
	// recentAhead bounds how far ahead of the wall clock a part may start
	// and still move the window forward (a far-future clock would otherwise
	// push every current part out of it).
	recentAhead = int64(10 * time.Minute)
)

// recentTraces is owned by the writer (Store.mu).
type recentTraces struct {
	seed maphash.Seed
	// floor is the first bucket from which on every part written since
	// open was seen: a part reaching below it may have a partner written
	// before the store was opened.
	floor int64
	top   int64 // newest bucket of a part's start; minBucket before the first add
	// ahead is the oldest bucket of a part that started too far ahead of
	// the clock to be remembered; maxBucket when none.
	ahead   int64
	buckets map[int64][]uint64
	now     func() time.Time
}

const (
	minBucket = -1 << 62
	maxBucket = 1 << 62
)

// newRecentTraces returns the filter of a store whose parts start at most
// at maxStart (unix ns), or hold no parts (empty).
func newRecentTraces(maxStart int64, empty bool) *recentTraces {
	r := &recentTraces{seed: maphash.MakeSeed(), floor: minBucket, top: minBucket, ahead: maxBucket,
		buckets: map[int64][]uint64{}, now: time.Now}
	if !empty {
		r.floor = bucketOf(maxStart) + 1
	}
	return r
}

// bucketOf returns the minute of ns (floor division).
func bucketOf(ns int64) int64 {
	b := ns / recentBucketNs
	if ns%recentBucketNs < 0 {
		b--
	}
	return b
}

func (r *recentTraces) hashes(project string, hi, lo int64) (uint64, uint64) {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(project)
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(hi))
	binary.LittleEndian.PutUint64(b[8:], uint64(lo))
	h.Write(b[:])
	a := h.Sum64()
	return a, (a>>32 | a<<32) | 1
}

// recentK is the hash functions per key.
const recentK = 4

func bloomHas(f []uint64, a, b uint64) bool {
	for i := range uint64(recentK) {
		bit := (a + i*b) % recentBits
		if f[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func bloomAdd(f []uint64, a, b uint64) {
	for i := range uint64(recentK) {
		bit := (a + i*b) % recentBits
		f[bit/64] |= 1 << (bit % 64)
	}
}

// cont reports whether an earlier-written part of the trace may start
// within traceSlack of [start, end] (unix ns: the new part's earliest span
// start and latest span end), then records the new part by its start.
func (r *recentTraces) cont(project string, hi, lo, start, end int64) bool {
	own := bucketOf(start)
	if start <= r.now().UnixNano()+recentAhead && own > r.top {
		r.top = own
		for k := range r.buckets {
			if k <= r.top-recentBuckets {
				delete(r.buckets, k)
			}
		}
	}
	oldest := max(r.floor, r.top-recentBuckets+1)
	first, last := bucketOf(start-int64(traceSlack)), bucketOf(end+int64(traceSlack))
	a, b := r.hashes(project, hi, lo)
	// Buckets above top hold nothing (every part at or below the clock
	// limit moved top up to its own bucket), except the unremembered ones
	// from ahead on.
	cont := first < oldest || last >= r.ahead
	for k := max(first, oldest); !cont && k <= min(last, r.top); k++ {
		if f := r.buckets[k]; f != nil && bloomHas(f, a, b) {
			cont = true
		}
	}
	switch {
	case own > r.top:
		r.ahead = min(r.ahead, own)
		cont = true
	case own < oldest:
		// Partners reach own, below oldest: they are marked cont by the
		// range check.
		cont = true
	default:
		f := r.buckets[own]
		if f == nil {
			f = make([]uint64, recentBits/64)
			r.buckets[own] = f
		}
		bloomAdd(f, a, b)
	}
	return cont
}

// openRecent returns the filter for the parts stored in db.
func openRecent(ctx context.Context, db *sql.DB) (*recentTraces, error) {
	var maxStart sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(start_ns) FROM trace_parts`).Scan(&maxStart); err != nil {
		return nil, fmt.Errorf("read newest trace part: %w", err)
	}
	return newRecentTraces(maxStart.Int64, !maxStart.Valid), nil
}
