package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Full-text search over payloads. Payload bodies live outside DuckDB, so
// the write path indexes their words in the same transaction as the spans
// (migrations/0003_search.sql): per Write call and project, one fts_blocks
// row lists the indexed span ids (a block holds at most ftsBlockSpans
// spans; more make several blocks), and a few fts_postings rows hold, for
// every distinct word of the block, the ordinals of the spans holding it and
// on which sides. Each postings row covers a contiguous range of word hashes
// [tok_lo, tok_hi] of one block (rows are cut at about ftsRowBytes), so a
// lookup reads one small row per block and word.
//
// Words are maximal runs of letters and digits, lowercased, at least
// minTokenLen bytes, not in the stopword list, at most maxTokensPerSide
// distinct per span and side; a word is a 64-bit hash of its bytes
// (wordHash).
//
// Precision: input contains "refund delayed" matches the spans whose input
// side holds every word of the phrase (any order, anywhere), as whole
// words, case-insensitively; it does not check adjacency or match parts of
// words ("refund" does not match "refunds"). Hash collisions (64-bit) are
// negligible. Sides: input = input messages, input value, tool arguments,
// retrieval query; output = output messages, output value, tool result;
// payload = those plus document texts and events.
//
// Indexing cost: the workload, like real traffic, repeats long strings
// (system prompts, retrieved documents, earlier turns of a conversation), so
// within a block every distinct string is tokenized once: its list of
// distinct words, resolved to the block's word table, is cached under the
// string's 64-bit maphash (with its length; a collision, about 2^-64 per
// pair of strings, would index one string's words for the other). Spans
// then only mark the words of each string in flat arrays.
//
// Queries walk the blocks newest first, a compacted block as the blocks it
// merged (sub-blocks, fulltext_subs.go; see fullText.lookup), and stop once
// they hold enough candidate spans for a page; the caller then narrows the
// search to the part of the time range the walk covered, and deepens when
// the page comes out short.

const (
	minTokenLen      = 2
	maxTokenLen      = 64
	maxTokensPerSide = 1024
	// ftsMaxSpans bounds the candidate spans of one full-text condition;
	// beyond it the newest blocks win and the answer carries a note.
	ftsMaxSpans = 200_000
	// ftsBlockSpans bounds the spans of one block (ordinals fit in 28 bits
	// of a posting entry with room to spare).
	ftsBlockSpans = 1 << 16
	// ftsRowBytes is the size at which a postings row is cut: a lookup
	// reads one such row per block and word.
	ftsRowBytes = 4 << 10
	// ftsFormat is the version byte that starts every postings blob.
	ftsFormat = 1
	// ftsCacheMin is the shortest string whose tokens are cached.
	ftsCacheMin = 24
)

// Sides of the payload text, as bits of a posting entry's side mask.
const (
	sideInput = iota
	sideOutput
	sideOther
	numSides
)

func isStopword(w string) bool {
	switch w {
	case "the", "and", "of", "to", "in", "is", "it", "on", "for", "or", "an", "be", "at", "as", "by",
		"if", "no", "not", "with", "this", "that", "are", "was", "you", "your", "from":
		return true
	}
	return false
}

// tokenizer splits text into word hashes.
type tokenizer struct{}

// wordHasher hashes one word's lowercased bytes as they stream in: they are
// packed 8 to a 64-bit chunk, and chunks are mixed with one multiply each,
// so that the per-byte work is a shift and an or.
type wordHasher struct {
	h, acc uint64
	k, n   int // bytes in acc, bytes in the word
}

const (
	hashK1 = 0x9E3779B97F4A7C15
	hashK2 = 0xC2B2AE3D27D4EB4F
)

func (w *wordHasher) add(c byte) {
	w.acc |= uint64(c) << (8 * w.k)
	w.n++
	if w.k++; w.k == 8 {
		w.h = bits.RotateLeft64((w.h^w.acc)*hashK1, 29) * hashK2
		w.acc, w.k = 0, 0
	}
}

// sum returns the word's hash (murmur3's finalizer over the mixed chunks
// and the length).
func (w *wordHasher) sum() uint64 {
	h := bits.RotateLeft64((w.h^w.acc)*hashK1, 29)*hashK2 ^ uint64(w.n)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// wordHash returns the token of a lowercased word.
func wordHash(b []byte) uint64 {
	var w wordHasher
	for _, c := range b {
		w.add(c)
	}
	return w.sum()
}

// ftsIndexer builds the full-text rows of a Write call, one block at a
// time. Its tables are reset, not freed, between blocks.
type ftsIndexer struct {
	z    tokenizer
	seed maphash.Seed
	toks []uint64 // scratch: tokens of one string

	// The current block.
	project            string
	minStart, maxStart int64
	spans              []byte // span ids, 8 bytes big-endian each
	n                  int32  // spans in the block
	lastID             int64  // the previous block's id

	// The block's words: an open-addressing table from token to entry+1,
	// and per entry its token, the last ordinal that holds it and that
	// ordinal's index in pairs.
	slots  []uint32
	shift  uint
	tokens []uint64
	last   []int32
	pos    []int32
	stamp  []uint32 // string seq that last listed the entry (dedupe)
	seq    uint32
	// pairs holds one entry<<32 | ordinal<<3 | side mask per distinct
	// (span, word), in ordinal order.
	pairs []uint64
	sideN [numSides]int // distinct words of the current span per side

	// String cache: open-addressing table from maphash to ref+1; a ref's
	// distinct entries are arena[off : off+cnt].
	cslots []uint32
	cshift uint
	crefs  []cacheRef
	arena  []uint32

	// Flush scratch.
	order  []uint32
	start  []uint32
	sorted []uint32
	dir    []uint64 // tokens of the current row
	ends   []uint32 // their end offsets in post
	post   []byte
	blob   []byte
	bounds []rowBounds
	rowBuf []ftsRow
	// zblob holds the compressed rows; enc compresses them (created on
	// first use; when that fails, encErr is kept and rows are stored
	// uncompressed).
	zblob  []byte
	enc    *zstd.Encoder
	encErr error
	remap  []uint64 // merge scratch: a part's entries as block entries << 32
}

type cacheRef struct {
	hash     uint64
	n        int // the string's length
	off, cnt uint32
}

func newFTSIndexer() *ftsIndexer {
	return &ftsIndexer{seed: maphash.MakeSeed()}
}

// tableShift is the shift that maps a 64-bit hash to a table of 2^bits slots.
func tableShift(size int) uint { return uint(64 - bitsLen(size-1)) }

func bitsLen(x int) int {
	n := 0
	for ; x > 0; x >>= 1 {
		n++
	}
	return n
}

const fibMul = 0x9E3779B97F4A7C15

// reset starts a new block for project.
func (ix *ftsIndexer) reset(project string, start int64) {
	ix.project = project
	ix.minStart, ix.maxStart = start, start
	ix.spans = ix.spans[:0]
	ix.n = 0
	if ix.slots == nil {
		ix.slots = make([]uint32, 1<<12)
		ix.shift = tableShift(len(ix.slots))
		ix.cslots = make([]uint32, 1<<10)
		ix.cshift = tableShift(len(ix.cslots))
	} else {
		clear(ix.slots)
		clear(ix.cslots)
	}
	ix.tokens, ix.last, ix.pos, ix.stamp = ix.tokens[:0], ix.last[:0], ix.pos[:0], ix.stamp[:0]
	ix.pairs = ix.pairs[:0]
	ix.crefs, ix.arena = ix.crefs[:0], ix.arena[:0]
}

// entry returns the block's entry of token, adding it if new.
func (ix *ftsIndexer) entry(tok uint64) uint32 {
	mask := uint64(len(ix.slots) - 1)
	for i := (tok * fibMul) >> ix.shift; ; i = (i + 1) & mask {
		s := ix.slots[i]
		if s == 0 {
			e := uint32(len(ix.tokens))
			ix.tokens = append(ix.tokens, tok)
			ix.last = append(ix.last, -1)
			ix.pos = append(ix.pos, 0)
			ix.stamp = append(ix.stamp, 0)
			ix.slots[i] = e + 1
			if 2*len(ix.tokens) > len(ix.slots) {
				ix.growWords()
			}
			return e
		}
		if ix.tokens[s-1] == tok {
			return s - 1
		}
	}
}

func (ix *ftsIndexer) growWords() {
	ix.slots = make([]uint32, 2*len(ix.slots))
	ix.shift = tableShift(len(ix.slots))
	mask := uint64(len(ix.slots) - 1)
	for e, tok := range ix.tokens {
		i := (tok * fibMul) >> ix.shift
		for ix.slots[i] != 0 {
			i = (i + 1) & mask
		}
		ix.slots[i] = uint32(e) + 1
	}
}

// mark records that the current span (ordinal ord) holds entry e on side;
// it reports false once the side has maxTokensPerSide distinct words.
func (ix *ftsIndexer) mark(e uint32, ord int32, side int) bool {
	if ix.last[e] != ord {
		ix.last[e] = ord
		ix.pos[e] = int32(len(ix.pairs))
		ix.pairs = append(ix.pairs, uint64(e)<<32|uint64(ord)<<3)
	}
	p := &ix.pairs[ix.pos[e]]
	bit := uint64(1) << side
	if *p&bit == 0 {
		if ix.sideN[side] == maxTokensPerSide {
			return false
		}
		ix.sideN[side]++
		*p |= bit
	}
	return true
}

// text marks the words of s on side for span ord.
func (ix *ftsIndexer) text(s string, ord int32, side int) {
	if s == "" || ix.sideN[side] == maxTokensPerSide {
		return
	}
	if len(s) < ftsCacheMin {
		ix.toks = ix.z.appendTokens(ix.toks[:0], s)
		for _, t := range ix.toks {
			if !ix.mark(ix.entry(t), ord, side) {
				return
			}
		}
		return
	}
	for _, e := range ix.cached(s) {
		if !ix.mark(e, ord, side) {
			return
		}
	}
}

// cached returns the distinct entries of the words of s, in order of first
// occurrence, tokenizing s only the first time the block sees it. The
// result is valid until the next call.
func (ix *ftsIndexer) cached(s string) []uint32 {
	h := maphash.String(ix.seed, s)
	mask := uint64(len(ix.cslots) - 1)
	i := (h * fibMul) >> ix.cshift
	for ; ; i = (i + 1) & mask {
		c := ix.cslots[i]
		if c == 0 {
			break
		}
		if r := &ix.crefs[c-1]; r.hash == h && r.n == len(s) {
			return ix.arena[r.off : r.off+r.cnt]
		}
	}
	ix.seq++
	if ix.seq == 0 { // wrapped: old stamps could match again
		clear(ix.stamp)
		ix.seq = 1
	}
	ix.toks = ix.z.appendTokens(ix.toks[:0], s)
	off := uint32(len(ix.arena))
	for _, t := range ix.toks {
		e := ix.entry(t)
		if ix.stamp[e] != ix.seq {
			ix.stamp[e] = ix.seq
			ix.arena = append(ix.arena, e)
		}
	}
	ix.crefs = append(ix.crefs, cacheRef{hash: h, n: len(s), off: off, cnt: uint32(len(ix.arena)) - off})
	ix.cslots[i] = uint32(len(ix.crefs))
	if 2*len(ix.crefs) > len(ix.cslots) {
		ix.growCache()
	}
	return ix.arena[off:]
}

func (ix *ftsIndexer) growCache() {
	ix.cslots = make([]uint32, 2*len(ix.cslots))
	ix.cshift = tableShift(len(ix.cslots))
	mask := uint64(len(ix.cslots) - 1)
	for r := range ix.crefs {
		i := (ix.crefs[r].hash * fibMul) >> ix.cshift
		for ix.cslots[i] != 0 {
			i = (i + 1) & mask
		}
		ix.cslots[i] = uint32(r) + 1
	}
}

// messages marks the text of ms on side.
func (ix *ftsIndexer) messages(ms []loupe.Message, ord int32, side int) {
	for i := range ms {
		m := &ms[i]
		ix.text(m.Content, ord, side)
		for _, tc := range m.ToolCalls {
			ix.text(tc.Name, ord, side)
			ix.text(tc.Arguments, ord, side)
		}
		for _, part := range m.Parts {
			if t, ok := part["content"].(string); ok {
				ix.text(t, ord, side)
			}
			if t, ok := part["text"].(string); ok {
				ix.text(t, ord, side)
			}
		}
	}
}

// add indexes the payload of sp into the current block.
func (ix *ftsIndexer) add(sp *loupe.Span) {
	start := sp.Start.UnixNano()
	ix.minStart = min(ix.minStart, start)
	ix.maxStart = max(ix.maxStart, start)
	ord := ix.n
	ix.n++
	ix.spans = binary.BigEndian.AppendUint64(ix.spans, uint64(spanKey(sp.SpanID)))
	ix.sideN = [numSides]int{}
	p := sp.Payload
	ix.messages(p.Input, ord, sideInput)
	ix.text(p.InputValue, ord, sideInput)
	ix.text(p.ToolArguments, ord, sideInput)
	ix.text(p.Query, ord, sideInput)
	ix.messages(p.Output, ord, sideOutput)
	ix.text(p.OutputValue, ord, sideOutput)
	ix.text(p.ToolResult, ord, sideOutput)
	for _, d := range p.Documents {
		ix.text(d.Content, ord, sideOther)
	}
	for _, e := range p.Events {
		ix.text(e.Name, ord, sideOther)
		if t, ok := e.Body.(string); ok {
			ix.text(t, ord, sideOther)
		}
		for _, v := range e.Attributes {
			if t, ok := v.(string); ok {
				ix.text(t, ord, sideOther)
			}
		}
	}
}

// ftsRow is one fts_postings row.
type ftsRow struct {
	tokLo, tokHi int64
	blob         []byte
}

// rows returns the current block's postings rows, sorted by token (as
// int64, the column's order), each covering [tokLo, tokHi]. Their blobs
// share one buffer, valid until the next call.
func (ix *ftsIndexer) rows(dst []ftsRow) []ftsRow {
	n := len(ix.tokens)
	ix.order = ix.order[:0]
	for e := range n {
		ix.order = append(ix.order, uint32(e))
	}
	slices.SortFunc(ix.order, func(a, b uint32) int { return cmp.Compare(int64(ix.tokens[a]), int64(ix.tokens[b])) })
	// Counting sort of the pairs by entry rank, stable in ordinal order.
	ix.start = slices.Grow(ix.start[:0], n)[:n]
	clear(ix.start)
	for _, p := range ix.pairs {
		if p&7 != 0 {
			ix.start[p>>32]++
		}
	}
	total := uint32(0)
	for _, e := range ix.order {
		c := ix.start[e]
		ix.start[e] = total
		total += c
	}
	ix.sorted = slices.Grow(ix.sorted[:0], int(total))[:total]
	for _, p := range ix.pairs {
		if p&7 != 0 {
			e := p >> 32
			ix.sorted[ix.start[e]] = uint32(p)
			ix.start[e]++
		}
	}
	// start[e] is now the end of e's pairs; entries in rank order own
	// consecutive ranges of sorted.
	ix.blob = ix.blob[:0]
	ix.bounds = ix.bounds[:0]
	ix.dir, ix.ends, ix.post = ix.dir[:0], ix.ends[:0], ix.post[:0]
	emit := func() {
		if len(ix.dir) == 0 {
			return
		}
		off := len(ix.blob)
		b := append(ix.blob, ftsFormat)
		b = binary.AppendUvarint(b, uint64(len(ix.dir)))
		for _, t := range ix.dir {
			b = binary.LittleEndian.AppendUint64(b, t)
		}
		for _, e := range ix.ends {
			b = binary.LittleEndian.AppendUint32(b, e)
		}
		b = append(b, ix.post...)
		ix.blob = b
		ix.bounds = append(ix.bounds, rowBounds{int64(ix.dir[0]), int64(ix.dir[len(ix.dir)-1]), off, len(b)})
		ix.dir, ix.ends, ix.post = ix.dir[:0], ix.ends[:0], ix.post[:0]
	}
	pos := uint32(0)
	for _, e := range ix.order {
		end := ix.start[e]
		if end == pos {
			continue
		}
		prev := int64(-1)
		for _, x := range ix.sorted[pos:end] {
			ord := int64(x >> 3)
			ix.post = binary.AppendUvarint(ix.post, uint64(ord-prev-1)<<3|uint64(x&7))
			prev = ord
		}
		pos = end
		ix.dir = append(ix.dir, ix.tokens[e])
		ix.ends = append(ix.ends, uint32(len(ix.post)))
		if len(ix.post) >= ftsRowBytes {
			emit()
		}
	}
	emit()
	// Compress every row into the second buffer (fulltext_zstd.go), then
	// slice it into rows now that it no longer moves.
	if ix.enc == nil {
		ix.enc, ix.encErr = newPostingsEncoder()
	}
	ix.zblob = ix.zblob[:0]
	for i, bd := range ix.bounds {
		off := len(ix.zblob)
		if ix.encErr != nil {
			ix.zblob = append(ix.zblob, ix.blob[bd.off:bd.end]...) // stored as format 1
		} else {
			ix.zblob = compressPostings(ix.enc, ix.zblob, ix.blob[bd.off:bd.end])
		}
		ix.bounds[i].off, ix.bounds[i].end = off, len(ix.zblob)
	}
	for _, bd := range ix.bounds {
		dst = append(dst, ftsRow{tokLo: bd.lo, tokHi: bd.hi, blob: ix.zblob[bd.off:bd.end:bd.end]})
	}
	return dst
}

type rowBounds struct {
	lo, hi   int64
	off, end int
}

// flush appends the current block's rows.
func (ix *ftsIndexer) flush(blocks, postings *duckdb.Appender) error {
	// Block ids grow with time (nanoseconds at write), so that a block's
	// postings rows sit in id order and zone maps prune by id range.
	id := max(time.Now().UnixNano(), ix.lastID+1)
	ix.lastID = id
	// subs NULL: one sub-block (migrations/0008_fts_subs.sql).
	if err := blocks.AppendRow(text(ix.project), id, ix.minStart, ix.maxStart, ix.spans, nil); err != nil {
		return fmt.Errorf("append fts block: %w", err)
	}
	ix.rowBuf = ix.rows(ix.rowBuf[:0])
	for _, r := range ix.rowBuf {
		if err := postings.AppendRow(id, r.tokLo, r.tokHi, r.blob); err != nil {
			return fmt.Errorf("append fts postings: %w", err)
		}
	}
	clear(ix.rowBuf) // do not pin the blob buffer's old arrays
	ix.shrink()
	return nil
}

// shrink drops scratch space grown by an unusually large block.
func (ix *ftsIndexer) shrink() {
	const maxKeep = 1 << 22
	if cap(ix.blob) > 16*maxKeep || cap(ix.zblob) > 16*maxKeep || cap(ix.pairs) > maxKeep || len(ix.slots) > maxKeep || len(ix.arena) > maxKeep {
		seed, last, enc, encErr := ix.seed, ix.lastID, ix.enc, ix.encErr
		*ix = ftsIndexer{seed: seed, lastID: last, enc: enc, encErr: encErr}
	}
}

// postingsOf returns the encoded posting list of tok in a postings blob,
// and false when the blob does not hold tok or is malformed.
func postingsOf(blob []byte, tok uint64) ([]byte, bool) {
	if len(blob) < 1 || blob[0] != ftsFormat {
		return nil, false
	}
	cnt, n := binary.Uvarint(blob[1:])
	if n <= 0 || cnt > uint64(len(blob)) {
		return nil, false
	}
	dir := blob[1+n:]
	c := int(cnt)
	if len(dir) < c*12 {
		return nil, false
	}
	data := dir[c*12:]
	key := int64(tok)
	lo, hi := 0, c
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int64(binary.LittleEndian.Uint64(dir[m*8:])) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == c || binary.LittleEndian.Uint64(dir[lo*8:]) != tok {
		return nil, false
	}
	ends := dir[c*8:]
	end := binary.LittleEndian.Uint32(ends[lo*4:])
	begin := uint32(0)
	if lo > 0 {
		begin = binary.LittleEndian.Uint32(ends[(lo-1)*4:])
	}
	if begin > end || int(end) > len(data) {
		return nil, false
	}
	return data[begin:end], true
}

// decodePostings appends the entries of an encoded posting list to dst as
// ordinal<<3 | side mask, ascending; a corrupt tail is ignored.
func decodePostings(dst []uint32, buf []byte) []uint32 {
	prev := int64(-1)
	for len(buf) > 0 {
		v, n := binary.Uvarint(buf)
		if n <= 0 {
			break
		}
		buf = buf[n:]
		ord := prev + 1 + int64(v>>3)
		if ord >= ftsBlockSpans {
			break
		}
		dst = append(dst, uint32(ord)<<3|uint32(v&7))
		prev = ord
	}
	return dst
}

// intersect keeps the ordinals of a also in b, with their masks ANDed, and
// drops those whose mask becomes empty.
func intersect(a, b []uint32) []uint32 {
	out := a[:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i]>>3, b[j]>>3
		switch {
		case x < y:
			i++
		case x > y:
			j++
		default:
			if m := a[i] & b[j] & 7; m != 0 {
				out = append(out, x<<3|m)
			}
			i++
			j++
		}
	}
	return out
}

// ftsBlockRef is one fts_blocks row's position.
type ftsBlockRef struct{ id, minStart, maxStart int64 }

// ftsSubRef is one sub-block of the range: the spans of ordinals [lo, hi)
// of fullText.blocks[block], starting in [minStart, maxStart].
type ftsSubRef struct {
	block              int
	lo, hi             int32
	minStart, maxStart int64
}

// fullText resolves the full-text conditions of one query.
type fullText struct {
	s       *Store
	ctx     context.Context
	project string
	w       window
	// before, when nonzero, is an exclusive upper bound on the start of
	// the traces the query can return (a cursor's), below w.to.
	before int64
	// want > 0 lets each lookup stop, newest blocks first, once it holds
	// that many candidate spans; 0 looks the whole range up.
	want int
	// partial reports that some condition's candidates are complete only
	// for spans starting at or after covered.
	partial bool
	covered int64
	blocks  []ftsBlockRef // the range's blocks
	// subs are the range's sub-blocks, newest first: by max start
	// descending, then block id descending, then ordinal descending.
	subs   []ftsSubRef
	loaded bool
	notes  []string
	// maxIDs is the most candidate spans of one condition.
	maxIDs int
	// tx is the read transaction of every lookup (begun by the first),
	// so that they all see one snapshot: a full-text compaction
	// (fulltext_compact.go) committing between two reads could otherwise
	// map an old block's ordinals onto the merged block's spans. close
	// ends it; blocks is only valid within it.
	tx *sql.Tx
}

// snapshot returns f's read transaction, beginning it on first use.
func (f *fullText) snapshot(ctx context.Context) (*sql.Tx, error) {
	if f.tx == nil {
		tx, err := f.s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("begin full-text read: %w", err)
		}
		f.tx = tx
	}
	return f.tx, nil
}

// close ends f's read transaction, if any. Call it once the conditions
// are compiled: holding it during the rest of the query would take a
// second pooled connection per query.
func (f *fullText) close() {
	if f.tx != nil {
		f.tx.Rollback() // read-only: nothing to keep
		f.tx = nil
	}
}

// match implements textMatcher: it looks the phrase's words up in the
// index and returns a condition on the candidate span ids.
func (f *fullText) match(c *query.Cmp) (string, []any, error) {
	var z tokenizer
	toks := z.appendTokens(nil, c.Value.Str)
	slices.Sort(toks)
	toks = slices.Compact(toks)
	if len(toks) == 0 {
		return "", nil, posErr(c.Value.P, "full-text search needs a word of at least 2 letters or digits that is not a stopword")
	}
	var sides uint32
	switch c.Field.Name {
	case "input":
		sides = 1 << sideInput
	case "output":
		sides = 1 << sideOutput
	default:
		sides = 1<<sideInput | 1<<sideOutput | 1<<sideOther
	}
	ids, truncated, covered, err := f.lookup(toks, sides)
	if err != nil {
		return "", nil, err
	}
	if covered != math.MinInt64 {
		if !f.partial || covered > f.covered {
			f.covered = covered
		}
		f.partial = true
	}
	if truncated {
		f.notes = append(f.notes, fmt.Sprintf("%s contains %q matched more than %d spans; only the newest are searched",
			c.Field.Name, c.Value.Str, f.s.ftsLimit()))
	}
	f.maxIDs = max(f.maxIDs, len(ids))
	if len(ids) == 0 {
		// Exactly falseSQL: compile.go folds it, and a search whose
		// lookups were all complete skips a filter folded to it.
		return falseSQL, nil, nil
	}
	// payload_seg > 0: a span whose payload retention stripped (0) is not
	// found by text that is no longer stored.
	return "(s.span_id IN (SELECT unnest(?::BIGINT[])) AND s.payload_seg > 0)", []any{ids}, nil
}

// ftsState is the Store's full-text write state, guarded by Store.mu.
type ftsState struct {
	ix  *ftsIndexer // nil until the first write
	off bool        // tests only: skip indexing, to measure its cost
}
