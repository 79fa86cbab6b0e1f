package duckdb

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Full-text search over payloads. Payload bodies live outside DuckDB, so
// the write path indexes their words: per Write call and project, one
// fts_blocks row lists the indexed span ids, and one fts_postings row per
// distinct (word hash, side) lists the ordinals of the spans holding it.
//
// Words are maximal runs of letters and digits, lowercased, at least
// minTokenLen bytes, not in the stopword list, at most maxTokensPerSide
// distinct per span and side; a word is its 64-bit FNV-1a hash.
//
// Precision: input contains "refund delayed" matches the spans whose input
// side holds every word of the phrase (any order, anywhere), as whole
// words, case-insensitively; it does not check adjacency or match parts of
// words ("refund" does not match "refunds"). Hash collisions (64-bit) are
// negligible. Sides: input = input messages, input value, tool arguments,
// retrieval query; output = output messages, output value, tool result;
// payload = those plus document texts and events.

const (
	minTokenLen      = 2
	maxTokenLen      = 64
	maxTokensPerSide = 1024
	// ftsMaxSpans bounds the candidate spans of one full-text condition;
	// beyond it the newest blocks win and the answer carries a note.
	ftsMaxSpans = 200_000
)

// Sides of the payload text.
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

// tokenizer splits text into word hashes, reusing its scratch space.
type tokenizer struct {
	word []byte
}

// appendTokens appends the hashes of the words of s to dst.
func (z *tokenizer) appendTokens(dst []uint64, s string) []uint64 {
	w := z.word[:0]
	flush := func() {
		if len(w) >= minTokenLen && len(w) <= maxTokenLen && !isStopword(string(w)) {
			dst = append(dst, fnv64(w))
		}
		w = w[:0]
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				w = append(w, c)
			case 'A' <= c && c <= 'Z':
				w = append(w, c+'a'-'A')
			default:
				flush()
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			w = utf8.AppendRune(w, unicode.ToLower(r))
		} else {
			flush()
		}
	}
	flush()
	z.word = w
	return dst
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// posting is one (token, side) posting list under construction.
type posting struct {
	token uint64
	side  int8
	last  int64 // last ordinal appended, -1 for none
	buf   []byte
}

// ftsBlock is the index of one project's spans of one Write call.
type ftsBlock struct {
	project            string
	minStart, maxStart int64
	spans              []byte // span ids, 8 bytes each
	n                  int64
	postings           map[[2]uint64]*posting
	order              []*posting
}

// ftsBuilder builds the blocks of one Write call.
type ftsBuilder struct {
	z      tokenizer
	toks   []uint64
	cache  map[string][]uint64 // tokens of long strings seen in this call
	blocks map[string]*ftsBlock
	order  []*ftsBlock
}

func newFTSBuilder() *ftsBuilder {
	return &ftsBuilder{cache: map[string][]uint64{}, blocks: map[string]*ftsBlock{}}
}

// tokens appends the tokens of s, caching those of long, repeated strings
// (system prompts, retrieved documents).
func (b *ftsBuilder) tokens(dst []uint64, s string) []uint64 {
	if len(s) < 256 {
		return b.z.appendTokens(dst, s)
	}
	if t, ok := b.cache[s]; ok {
		return append(dst, t...)
	}
	n := len(dst)
	dst = b.z.appendTokens(dst, s)
	if len(b.cache) < 4096 {
		b.cache[s] = slices.Clone(dst[n:])
	}
	return dst
}

// sideTokens appends the tokens of the payload text on side.
func (b *ftsBuilder) sideTokens(dst []uint64, p *loupe.Payload, side int) []uint64 {
	msgs := func(ms []loupe.Message) {
		for i := range ms {
			m := &ms[i]
			dst = b.tokens(dst, m.Content)
			for _, tc := range m.ToolCalls {
				dst = b.tokens(dst, tc.Name)
				dst = b.tokens(dst, tc.Arguments)
			}
			for _, part := range m.Parts {
				if t, ok := part["content"].(string); ok {
					dst = b.tokens(dst, t)
				}
				if t, ok := part["text"].(string); ok {
					dst = b.tokens(dst, t)
				}
			}
		}
	}
	switch side {
	case sideInput:
		msgs(p.Input)
		dst = b.tokens(dst, p.InputValue)
		dst = b.tokens(dst, p.ToolArguments)
		dst = b.tokens(dst, p.Query)
	case sideOutput:
		msgs(p.Output)
		dst = b.tokens(dst, p.OutputValue)
		dst = b.tokens(dst, p.ToolResult)
	case sideOther:
		for _, d := range p.Documents {
			dst = b.tokens(dst, d.Content)
		}
		for _, e := range p.Events {
			dst = b.tokens(dst, e.Name)
			if t, ok := e.Body.(string); ok {
				dst = b.tokens(dst, t)
			}
			for _, v := range e.Attributes {
				if t, ok := v.(string); ok {
					dst = b.tokens(dst, t)
				}
			}
		}
	}
	return dst
}

// add indexes the payload of sp.
func (b *ftsBuilder) add(sp *loupe.Span) {
	if sp.Payload.IsZero() {
		return
	}
	blk := b.blocks[sp.Project]
	start := sp.Start.UnixNano()
	if blk == nil {
		blk = &ftsBlock{project: text(sp.Project), minStart: start, maxStart: start, postings: map[[2]uint64]*posting{}}
		b.blocks[sp.Project] = blk
		b.order = append(b.order, blk)
	}
	blk.minStart = min(blk.minStart, start)
	blk.maxStart = max(blk.maxStart, start)
	ord := blk.n
	blk.n++
	blk.spans = binary.BigEndian.AppendUint64(blk.spans, uint64(spanKey(sp.SpanID)))
	for side := range numSides {
		b.toks = b.sideTokens(b.toks[:0], sp.Payload, side)
		distinct := 0
		for _, t := range b.toks {
			k := [2]uint64{t, uint64(side)}
			p := blk.postings[k]
			if p == nil {
				p = &posting{token: t, side: int8(side), last: -1}
				blk.postings[k] = p
				blk.order = append(blk.order, p)
			}
			if p.last == ord {
				continue
			}
			if distinct == maxTokensPerSide {
				break
			}
			distinct++
			p.buf = binary.AppendUvarint(p.buf, uint64(ord-p.last))
			p.last = ord
		}
	}
}

// appendFullText indexes the payloads of batches on conn (inside the write
// transaction; see appendSearchRows).
func appendFullText(conn driver.Conn, batches []loupe.Batch) error {
	b := newFTSBuilder()
	for i := range batches {
		for j := range batches[i].Spans {
			b.add(&batches[i].Spans[j])
		}
	}
	if len(b.order) == 0 {
		return nil
	}
	return b.flush(conn)
}

func (b *ftsBuilder) flush(conn driver.Conn) (err error) {
	blocks, err := duckdb.NewAppenderFromConn(conn, "", "fts_blocks")
	if err != nil {
		return fmt.Errorf("create fts_blocks appender: %w", err)
	}
	postings, err := duckdb.NewAppenderFromConn(conn, "", "fts_postings")
	if err != nil {
		blocks.Close()
		return fmt.Errorf("create fts_postings appender: %w", err)
	}
	defer func() {
		for _, a := range []*duckdb.Appender{blocks, postings} {
			if err != nil {
				a.Clear()
			}
			if cerr := a.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("flush full-text index: %w", cerr)
			}
		}
	}()
	var idb [8]byte
	for _, blk := range b.order {
		if _, err := rand.Read(idb[:]); err != nil {
			return fmt.Errorf("block id: %w", err)
		}
		id := int64(binary.BigEndian.Uint64(idb[:]) >> 1)
		if err := blocks.AppendRow(blk.project, id, blk.minStart, blk.maxStart, blk.spans); err != nil {
			return fmt.Errorf("append fts block: %w", err)
		}
		for _, p := range blk.order {
			if len(p.buf) == 0 {
				continue
			}
			if err := postings.AppendRow(blk.project, id, blk.minStart, blk.maxStart, int64(p.token), p.side, p.buf); err != nil {
				return fmt.Errorf("append fts posting: %w", err)
			}
		}
	}
	return nil
}

// fullText resolves full-text conditions of one query.
type fullText struct {
	s       *Store
	ctx     context.Context
	project string
	w       window
	notes   []string
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
	var sides []int8
	switch c.Field.Name {
	case "input":
		sides = []int8{sideInput}
	case "output":
		sides = []int8{sideOutput}
	default:
		sides = []int8{sideInput, sideOutput, sideOther}
	}
	ids, truncated, err := f.lookup(toks, sides)
	if err != nil {
		return "", nil, err
	}
	if truncated {
		f.notes = append(f.notes, fmt.Sprintf("%s contains %q matched more than %d spans; only the newest are searched",
			c.Field.Name, c.Value.Str, ftsMaxSpans))
	}
	if len(ids) == 0 {
		return "FALSE", nil, nil
	}
	return "(s.span_id IN (SELECT unnest(?::BIGINT[])))", []any{ids}, nil
}

// lookup returns the span ids of the project's blocks overlapping the
// window whose given sides hold every token.
func (f *fullText) lookup(toks []uint64, sides []int8) (ids []int64, truncated bool, err error) {
	ctx := f.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	args := make([]int64, len(toks))
	for i, t := range toks {
		args[i] = int64(t)
	}
	sideArgs := make([]int64, len(sides))
	for i, s := range sides {
		sideArgs[i] = int64(s)
	}
	lo, hi := f.w.from-int64(traceSlack), f.w.to+int64(traceSlack)
	rows, err := f.s.db.QueryContext(ctx, `SELECT block_id, max_start, token, side, postings FROM fts_postings
WHERE project = ? AND max_start >= ? AND min_start < ? AND token IN (SELECT unnest(?::BIGINT[]))
AND side IN (SELECT unnest(?::BIGINT[]))`, f.project, lo, hi, args, sideArgs)
	if err != nil {
		return nil, false, fmt.Errorf("query full-text postings: %w", err)
	}
	defer rows.Close()
	type blockHits struct {
		id, maxStart int64
		lists        map[[2]int64][]byte // (token, side) -> postings
	}
	byBlock := map[int64]*blockHits{}
	for rows.Next() {
		var (
			id, maxStart, tok int64
			side              int8
			buf               []byte
		)
		if err := rows.Scan(&id, &maxStart, &tok, &side, &buf); err != nil {
			return nil, false, fmt.Errorf("scan full-text posting: %w", err)
		}
		bh := byBlock[id]
		if bh == nil {
			bh = &blockHits{id: id, maxStart: maxStart, lists: map[[2]int64][]byte{}}
			byBlock[id] = bh
		}
		bh.lists[[2]int64{tok, int64(side)}] = buf
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read full-text postings: %w", err)
	}
	blocks := make([]*blockHits, 0, len(byBlock))
	for _, bh := range byBlock {
		blocks = append(blocks, bh)
	}
	slices.SortFunc(blocks, func(a, b *blockHits) int { return -cmpInt(a.maxStart, b.maxStart) })

	ords := map[int64][]int64{} // block -> matching ordinals
	var need []int64
	total := 0
	for _, bh := range blocks {
		var match []int64
		for _, side := range sides {
			var cur []int64
			for i, t := range args {
				buf, ok := bh.lists[[2]int64{t, int64(side)}]
				if !ok {
					cur = nil
					break
				}
				l := decodePostings(buf)
				if i == 0 {
					cur = l
				} else {
					cur = intersect(cur, l)
				}
				if len(cur) == 0 {
					break
				}
			}
			match = union(match, cur)
		}
		if len(match) == 0 {
			continue
		}
		if total+len(match) > ftsMaxSpans {
			truncated = true
			break
		}
		total += len(match)
		ords[bh.id] = match
		need = append(need, bh.id)
	}
	if len(need) == 0 {
		return nil, truncated, nil
	}
	brows, err := f.s.db.QueryContext(ctx, `SELECT block_id, spans FROM fts_blocks
WHERE project = ? AND block_id IN (SELECT unnest(?::BIGINT[]))`, f.project, need)
	if err != nil {
		return nil, false, fmt.Errorf("query full-text blocks: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var (
			id    int64
			spans []byte
		)
		if err := brows.Scan(&id, &spans); err != nil {
			return nil, false, fmt.Errorf("scan full-text block: %w", err)
		}
		for _, o := range ords[id] {
			if int(o+1)*8 <= len(spans) {
				ids = append(ids, int64(binary.BigEndian.Uint64(spans[o*8:])))
			}
		}
		delete(ords, id) // a block id seen twice (never, barring a 63-bit collision) counts once
	}
	if err := brows.Err(); err != nil {
		return nil, false, fmt.Errorf("read full-text blocks: %w", err)
	}
	return ids, truncated, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decodePostings decodes uvarint deltas into ascending ordinals; a corrupt
// tail is ignored.
func decodePostings(buf []byte) []int64 {
	out := make([]int64, 0, len(buf))
	prev := int64(-1)
	for len(buf) > 0 {
		d, n := binary.Uvarint(buf)
		if n <= 0 {
			break
		}
		buf = buf[n:]
		prev += int64(d)
		out = append(out, prev)
	}
	return out
}

func intersect(a, b []int64) []int64 {
	out := a[:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func union(a, b []int64) []int64 {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
