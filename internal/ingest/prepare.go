package ingest

import (
	"context"

	"github.com/loupehq/loupe"
)

// Preparer is an optional interface of the loupe.SpanWriter given to New.
// The pipeline has one writer goroutine, so the work of a write is
// serialized; a writer that implements Preparer moves the part of it that
// needs no shared state (validation, encoding) into Prepare, which Submit
// calls in the submitter's goroutine, concurrently with other submitters
// and with the write in progress. The writer goroutine then hands the
// prepared batches to WritePrepared instead of the batches to Write.
type Preparer interface {
	// Prepare checks b and returns its prepared form. It is called
	// concurrently, must not modify b, and may refer to b's spans in its
	// result (the pipeline keeps b unchanged until the result is written).
	// An error rejects b alone: Submit returns it wrapped and nothing of b
	// is written.
	Prepare(b loupe.Batch) (any, error)
	// WritePrepared stores the prepared batches like loupe.SpanWriter.Write:
	// nil only once all of them are durable, nothing stored on error. It
	// may be called again with the same prepared batches after an error.
	WritePrepared(ctx context.Context, prepared []any) error
}

// prepare runs the writer's Prepare on b, if it has one.
func (p *Pipeline) prepare(b loupe.Batch) (any, error) {
	if p.prep == nil {
		return nil, nil
	}
	return p.prep.Prepare(b)
}

// store writes the batches of group with one call: WritePrepared when the
// writer is a Preparer, else Write. It runs on the writer goroutine.
func (p *Pipeline) store(group []*request) error {
	if p.prep != nil {
		preps := p.preps[:0]
		for _, r := range group {
			preps = append(preps, r.prep)
		}
		err := p.prep.WritePrepared(p.ctx, preps)
		clear(preps) // drop references to the prepared batches
		p.preps = preps[:0]
		return err
	}
	batches := p.batches[:0]
	for _, r := range group {
		batches = append(batches, r.batch)
	}
	err := p.w.Write(p.ctx, batches)
	clear(batches) // drop references to the spans
	p.batches = batches[:0]
	return err
}
