package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/loupehq/loupe"
)

// Preparing a write. Write holds the store's one writer connection for the
// whole transaction, so everything it does is serialized. The per-span work
// that needs neither the connection nor the store's state (validation, the
// JSON of the params, documents, attributes and resource columns, the
// payload records of the segment log, and tokenizing the payload text for
// the full-text index) is done by Prepare instead, which the
// ingest pipeline calls in each submitter's goroutine, concurrently with
// other submitters and with the write in progress (internal/ingest.Preparer).
// Write itself prepares its batches first and then writes them, so there is
// one write path.

// prepared is a batch made ready for the write transaction by Prepare.
// It is immutable once built, so a failed write can be retried with it.
type prepared struct {
	// batch is the batch as stored: applySampleClasses applied (no spans of
	// dropped traces, no payloads of metadata-only spans). Its span slice
	// may be the caller's; it is never modified.
	batch loupe.Batch
	// cols holds the encoded columns of batch.Spans[i] at i.
	cols []spanCols
	// records holds the payload records (JSON of loupe.Payload) of the
	// spans that have a payload, in span order.
	records [][]byte
	// fts is the full-text index of the payloads (fulltext_write.go).
	fts []*ftsPart
	// buf holds every encoded value (cols and records are slices of it);
	// it goes back to the preparer's pool once the batch is written.
	buf *[]byte
}

// preparer holds the scratch space that Prepare calls recycle; its zero
// value is ready to use, and it is safe for concurrent use.
type preparer struct {
	// bufs recycles the encoding buffers of prepared batches (*[]byte): a
	// request's values take hundreds of kilobytes (payload JSON), and
	// allocating them afresh per request showed up as GC and page-fault
	// time.
	bufs sync.Pool
	// indexers recycles the full-text indexers (*ftsIndexer).
	indexers sync.Pool
	// parts recycles the full-text parts of written batches (*ftsPart):
	// their arrays are most of a request's allocations.
	parts sync.Pool
	// memos recycles the jsonWriter memos of the payloads
	// (map[string][2]int, cleared).
	memos sync.Pool
}

// maxPooledBuf is the largest buffer kept for reuse.
const maxPooledBuf = 4 << 20

// release recycles the buffer of p, which must not be used afterwards.
func (pr *preparer) release(p *prepared) {
	pr.releaseParts(p.fts)
	if p.buf == nil {
		*p = prepared{}
		return
	}
	if cap(*p.buf) <= maxPooledBuf {
		*p.buf = (*p.buf)[:0]
		pr.bufs.Put(p.buf)
	}
	*p = prepared{}
}

// spanCols are one span's values that Prepare encodes: the JSON columns
// (nil is SQL NULL) and whether the span has a payload record.
type spanCols struct {
	params, docs, attrs, res []byte
	hasPayload               bool
}

// len returns the spans, events, decisions and counts of p: what makes a
// write of it non-empty.
func (p *prepared) len() int {
	b := &p.batch
	return b.Len() + len(b.Decisions) + len(b.Counts)
}

// Prepare checks b and encodes what the write of its spans needs without
// the writer connection, and returns the result for WritePrepared. It is
// safe for concurrent use, also with Write and WritePrepared, and does not
// modify b; the result refers to b's spans, which must not change until it
// is written. Spans that fail loupe.Span.Validate, and bad sampling verdicts
// or counts, return an error wrapping loupe.ErrInvalid.
func (s *Store) Prepare(b loupe.Batch) (any, error) {
	p, err := s.prep.prepare(b)
	if err != nil {
		return nil, fmt.Errorf("prepare spans: %w", err)
	}
	return p, nil
}

// WritePrepared writes batches returned by Prepare, as Write writes
// batches: all of them in one transaction, nil only once durable, nothing
// stored on error. A failed call may be retried with the same batches; after
// a call that returned nil the batches are spent (their buffers are reused)
// and must not be passed again. Batches of another type return an error
// wrapping loupe.ErrInvalid.
func (s *Store) WritePrepared(ctx context.Context, batches []any) error {
	ps := make([]*prepared, len(batches))
	for i, b := range batches {
		p, ok := b.(*prepared)
		if !ok {
			return fmt.Errorf("write spans: %w: batch %d of type %T is not from Prepare", loupe.ErrInvalid, i, b)
		}
		ps[i] = p
	}
	return s.writePrepared(ctx, ps)
}

// prepare builds the prepared form of b (see Prepare).
func (pr *preparer) prepare(b loupe.Batch) (*prepared, error) {
	for j := range b.Spans {
		if err := b.Spans[j].Validate(); err != nil {
			return nil, err
		}
	}
	one := []loupe.Batch{b}
	if err := checkSampling(one); err != nil {
		return nil, err
	}
	b = applySampleClasses(one)[0]
	p := &prepared{batch: b, cols: make([]spanCols, len(b.Spans))}
	// Every value goes to one buffer, sliced once it stops growing.
	type bounds struct{ params, docs, attrs, res, payload [2]int }
	pbuf, _ := pr.bufs.Get().(*[]byte)
	if pbuf == nil {
		pbuf = new([]byte)
	}
	var (
		buf  = (*pbuf)[:0]
		offs = make([]bounds, len(b.Spans))
		kvs  []attr
		err  error
	)
	mark := func(r *[2]int, start int) { *r = [2]int{start, len(buf)} }
	memo, _ := pr.memos.Get().(map[string][2]int) // the payloads' long strings in buf
	if memo == nil {
		memo = make(map[string][2]int)
	}
	defer func() {
		clear(memo) // do not pin the batch's strings
		pr.memos.Put(memo)
	}()
	for i := range b.Spans {
		sp := &b.Spans[i]
		o := &offs[i]
		if !sp.Params.IsZero() {
			n := len(buf)
			buf = appendParams(buf, &sp.Params)
			mark(&o.params, n)
		}
		if len(sp.Documents) > 0 {
			n := len(buf)
			buf = appendDocuments(buf, sp.Documents)
			mark(&o.docs, n)
		}
		if len(sp.Attributes) > 0 {
			// Sorted keys put the resource.* keys in one run: they go to
			// the resource column, the rest to attributes. The entries
			// are taken in one pass over the map, so encoding them looks
			// no key up.
			kvs = kvs[:0]
			for k, v := range sp.Attributes {
				kvs = append(kvs, attr{k, v})
			}
			sortAttrs(kvs)
			lo, _ := slices.BinarySearchFunc(kvs, resourcePrefix, func(a attr, t string) int { return strings.Compare(a.k, t) })
			hi := lo
			for hi < len(kvs) && strings.HasPrefix(kvs[hi].k, resourcePrefix) {
				hi++
			}
			if hi > lo {
				n := len(buf)
				if buf, err = appendAttrs(buf, kvs[lo:hi], nil); err != nil {
					return nil, fmt.Errorf("span %s resource: %w", sp.SpanID, err)
				}
				mark(&o.res, n)
			}
			if lo > 0 || hi < len(kvs) {
				n := len(buf)
				if buf, err = appendAttrs(buf, kvs[:lo], kvs[hi:]); err != nil {
					return nil, fmt.Errorf("span %s attributes: %w", sp.SpanID, err)
				}
				mark(&o.attrs, n)
			}
			clear(kvs) // do not pin the values
		}
		if !sp.Payload.IsZero() {
			n := len(buf)
			if buf, err = appendPayload(buf, sp.Payload, memo); err != nil {
				return nil, fmt.Errorf("span %s payload: %w", sp.SpanID, err)
			}
			mark(&o.payload, n)
			p.cols[i].hasPayload = true
		}
	}
	*pbuf = buf
	p.buf = pbuf
	p.fts = pr.fullText(&p.batch)
	slice := func(r [2]int) []byte {
		if r[1] == 0 {
			return nil // SQL NULL: nothing was encoded (every value is at least "{}")
		}
		return buf[r[0]:r[1]:r[1]]
	}
	for i := range p.cols {
		c, o := &p.cols[i], &offs[i]
		c.params, c.docs, c.attrs, c.res = slice(o.params), slice(o.docs), slice(o.attrs), slice(o.res)
		if c.hasPayload {
			p.records = append(p.records, slice(o.payload))
		}
	}
	return p, nil
}
