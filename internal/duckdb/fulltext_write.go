package duckdb

import (
	"database/sql/driver"
	"fmt"
	"slices"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/loupehq/loupe"
)

// Full-text indexing is split like the rest of the write (prepare.go):
// Prepare tokenizes a batch's payload text into ftsParts with an indexer of
// its own (the same code that used to run on the writer), and the write
// merges the parts of all its batches into the blocks it appends, mapping
// each part's distinct words to block entries once. The blocks come out as
// before: per Write call and project, spans in batch order, at most
// ftsBlockSpans spans each (a block is cut before a part that would not
// fit).

// ftsPart is the full-text index of the payloads of one batch's spans of
// one project, at most ftsBlockSpans of them: block material waiting to be
// merged into the write's block of that project.
type ftsPart struct {
	project            string
	minStart, maxStart int64
	n                  int32    // spans
	spans              []byte   // their ids, 8 bytes big-endian each
	tokens             []uint64 // the part's distinct words, by local entry
	// pairs holds one entry<<32 | ordinal<<3 | side mask per distinct
	// (span, word) with a non-empty mask, in ordinal order; entry indexes
	// tokens, ordinal counts from 0 within the part.
	pairs []uint64
}

// fullText returns the full-text parts of the spans of b that have a
// payload: per project in first-seen order, cut every ftsBlockSpans spans.
func (pr *preparer) fullText(b *loupe.Batch) []*ftsPart {
	var projects []string
	for j := range b.Spans {
		sp := &b.Spans[j]
		if !sp.Payload.IsZero() && !slices.Contains(projects, sp.Project) {
			projects = append(projects, sp.Project)
		}
	}
	if len(projects) == 0 {
		return nil
	}
	ix, _ := pr.indexers.Get().(*ftsIndexer)
	if ix == nil {
		ix = newFTSIndexer()
	}
	defer pr.indexers.Put(ix)
	var parts []*ftsPart
	for _, project := range projects {
		open := false
		for j := range b.Spans {
			sp := &b.Spans[j]
			if sp.Payload.IsZero() || sp.Project != project {
				continue
			}
			if !open {
				ix.reset(project, sp.Start.UnixNano())
				open = true
			}
			ix.add(sp)
			if ix.n == ftsBlockSpans {
				parts = append(parts, ix.part(pr.reusedPart()))
				open = false
			}
		}
		if open {
			parts = append(parts, ix.part(pr.reusedPart()))
		}
	}
	ix.shrink()
	return parts
}

// part copies the current block out as an ftsPart, into p's arrays.
func (ix *ftsIndexer) part(p *ftsPart) *ftsPart {
	*p = ftsPart{
		project: ix.project, minStart: ix.minStart, maxStart: ix.maxStart, n: ix.n,
		spans:  append(p.spans[:0], ix.spans...),
		tokens: append(p.tokens[:0], ix.tokens...),
		pairs:  slices.Grow(p.pairs[:0], len(ix.pairs)),
	}
	for _, pr := range ix.pairs {
		if pr&7 != 0 {
			p.pairs = append(p.pairs, pr)
		}
	}
	return p
}

// reusedPart returns a part whose arrays a written batch released (see
// preparer.release), or a new one.
func (pr *preparer) reusedPart() *ftsPart {
	if p, ok := pr.parts.Get().(*ftsPart); ok {
		return p
	}
	return new(ftsPart)
}

// maxPooledPairs bounds the pairs of a part kept for reuse.
const maxPooledPairs = 1 << 20

// releaseParts recycles the arrays of parts, which must not be used
// afterwards.
func (pr *preparer) releaseParts(parts []*ftsPart) {
	for _, p := range parts {
		if cap(p.pairs) <= maxPooledPairs && cap(p.tokens) <= maxPooledPairs {
			*p = ftsPart{spans: p.spans[:0], tokens: p.tokens[:0], pairs: p.pairs[:0]}
			pr.parts.Put(p)
		}
	}
}

// merge adds part to the current block (started with reset for the part's
// project), after the spans already in it. The block must have room for
// the part's spans.
func (ix *ftsIndexer) merge(part *ftsPart) {
	base := uint64(ix.n)
	ix.n += part.n
	ix.minStart = min(ix.minStart, part.minStart)
	ix.maxStart = max(ix.maxStart, part.maxStart)
	ix.spans = append(ix.spans, part.spans...)
	remap := ix.remap[:0]
	for _, tok := range part.tokens {
		remap = append(remap, uint64(ix.entry(tok))<<32)
	}
	for _, pr := range part.pairs {
		ix.pairs = append(ix.pairs, remap[pr>>32]|(uint64(uint32(pr))+base<<3))
	}
	ix.remap = remap[:0]
}

// appendFullText appends the full-text blocks of a write on conn (inside
// the write transaction; see appendSearchRows): per project in first-seen
// order, the write's parts merged in order into blocks, reusing ix's tables.
func appendFullText(conn driver.Conn, ix *ftsIndexer, parts []*ftsPart) error {
	if len(parts) == 0 {
		return nil
	}
	var projects []string
	for _, p := range parts {
		if !slices.Contains(projects, p.project) {
			projects = append(projects, p.project)
		}
	}
	return withFTSAppenders(conn, func(blocks, postings *duckdb.Appender) error {
		return appendParts(ix, blocks, postings, projects, parts)
	})
}

// withFTSAppenders runs fn with appenders of fts_blocks and fts_postings on
// conn and flushes them; when fn fails, nothing it appended is written.
func withFTSAppenders(conn driver.Conn, fn func(blocks, postings *duckdb.Appender) error) (err error) {
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
	return fn(blocks, postings)
}

// appendParts merges parts into blocks per project, in order, and appends
// them.
func appendParts(ix *ftsIndexer, blocks, postings *duckdb.Appender, projects []string, parts []*ftsPart) error {
	for _, project := range projects {
		open := false
		for _, p := range parts {
			if p.project != project {
				continue
			}
			if open && int(ix.n)+int(p.n) > ftsBlockSpans {
				if err := ix.flush(blocks, postings); err != nil {
					return err
				}
				open = false
			}
			if !open {
				ix.reset(project, p.minStart)
				open = true
			}
			ix.merge(p)
		}
		if open {
			if err := ix.flush(blocks, postings); err != nil {
				return err
			}
		}
	}
	return nil
}
