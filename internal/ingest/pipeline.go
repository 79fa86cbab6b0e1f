// Package ingest is the pipeline between the receivers (OTLP/HTTP, OTLP/gRPC)
// and a loupe.SpanWriter: a bounded queue counted in spans, one writer
// goroutine that group-commits queued batches, and backpressure that answers
// loupe.ErrOverloaded instead of growing memory.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/loupehq/loupe"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero values of Options.
const (
	DefaultQueueSpans    = 200_000
	DefaultMaxBatchSpans = 20_000
	DefaultMaxWait       = time.Second
)

// Options configures a Pipeline. The zero value means the defaults.
type Options struct {
	// QueueSpans is the capacity of the queue in spans plus events, queued
	// or being written. It bounds the memory the pipeline holds. 0 means
	// DefaultQueueSpans.
	QueueSpans int
	// MaxBatchSpans is the most spans plus events handed to one
	// SpanWriter.Write call (group commit). A single larger batch is still
	// written, alone. 0 means DefaultMaxBatchSpans.
	MaxBatchSpans int
	// MaxWait is how long Submit waits for queue space before it returns
	// loupe.ErrOverloaded. 0 means DefaultMaxWait.
	MaxWait time.Duration
	// Logger receives write failures; nil discards.
	Logger *slog.Logger
	// Registerer, if non-nil, receives the pipeline's metrics.
	Registerer prometheus.Registerer
}

// Pipeline queues batches in front of a loupe.SpanWriter. Its one writer
// goroutine takes as many queued batches as fit in MaxBatchSpans, writes them
// with one Write call and then wakes each submitter with the result, so a
// Submit that returns nil means the batch is durable.
//
// A failed Write is retried once: a group of several batches is retried one
// batch at a time (so one batch the store rejects does not fail the others),
// a single batch is retried as is. This relies on SpanWriter.Write storing
// nothing when it fails (the DuckDB store commits atomically); a writer that
// may store part of a failed write would see those spans duplicated.
//
// When the SpanWriter is also a Preparer, Submit prepares each batch in
// the caller's goroutine before queueing it, and the writer goroutine writes
// the prepared batches (WritePrepared), so the per-span work of a write is
// spread over the submitters instead of serialized.
//
// A Pipeline is safe for concurrent use. Close must be called to stop its
// goroutine.
type Pipeline struct {
	w        loupe.SpanWriter
	log      *slog.Logger
	capacity int           // spans+events; immutable
	maxBatch int           // spans+events per Write; immutable
	maxWait  time.Duration // immutable
	m        *metrics
	prep     Preparer // w as a Preparer; nil when it is not one

	ctx    context.Context    // cancelled when Close gives up waiting; passed to Write
	cancel context.CancelFunc // cancels ctx
	done   chan struct{}      // closed when the writer goroutine returns
	wake   chan struct{}      // capacity 1; signals the writer that work or Close arrived

	mu sync.Mutex
	// used is the number of spans+events reserved by queued and in-flight
	// requests; never above capacity except for one oversized batch
	// admitted into an empty queue.
	used   int
	queue  []*request    // FIFO of requests not yet taken by the writer
	space  chan struct{} // closed (and replaced) whenever used decreases
	closed bool          // Submit refuses new batches

	// Scratch of the writer goroutine (store).
	batches []loupe.Batch
	preps   []any
}

// request is one submitted batch waiting for its write.
type request struct {
	batch loupe.Batch
	n     int        // batch.Len(), the reservation
	prep  any        // the prepared batch when the writer is a Preparer
	done  chan error // capacity 1; receives the write result
}

// New returns a pipeline writing to w and starts its writer goroutine.
func New(w loupe.SpanWriter, opts Options) *Pipeline {
	if opts.QueueSpans <= 0 {
		opts.QueueSpans = DefaultQueueSpans
	}
	if opts.MaxBatchSpans <= 0 {
		opts.MaxBatchSpans = DefaultMaxBatchSpans
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		w:        w,
		log:      opts.Logger.With("component", "ingest"),
		capacity: opts.QueueSpans,
		maxBatch: opts.MaxBatchSpans,
		maxWait:  opts.MaxWait,
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		space:    make(chan struct{}),
	}
	p.m = newMetrics(opts.Registerer, p)
	p.prep, _ = w.(Preparer)
	go p.run()
	return p
}

// Submit enqueues b and blocks until it is durable, then returns nil. It
// returns an error wrapping loupe.ErrOverloaded when the queue stays full for
// MaxWait, ctx.Err() when ctx ends first, loupe.ErrClosed after Close, the
// Preparer's error (wrapped) when it rejects b, or the write error
// (wrapped) if the write failed.
//
// The pipeline reads b until Submit returns, and, if Submit returned
// ctx.Err() while b was being written, until that write ends; callers must
// not modify b's spans in that time. A batch whose ctx ends while it is still
// queued is removed and never written.
func (p *Pipeline) Submit(ctx context.Context, b loupe.Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	prep, err := p.prepare(b)
	if err != nil {
		return fmt.Errorf("submit batch: %w", err)
	}
	req := &request{batch: b, n: n, prep: prep, done: make(chan error, 1)}
	if err := p.enqueue(ctx, req); err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// A batch still queued is withdrawn and never written. One the
		// writer already took may yet be stored; a client that retries
		// after this error may then store it twice (at-least-once).
		p.dequeue(req)
		return ctx.Err()
	}
}

// enqueue reserves room for req and appends it to the queue, waiting at most
// maxWait for room.
func (p *Pipeline) enqueue(ctx context.Context, req *request) error {
	var timer *time.Timer
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return fmt.Errorf("submit batch: %w", loupe.ErrClosed)
		}
		// An oversized batch is admitted only into an empty queue, so it
		// can never wait forever and memory stays bounded by the larger
		// of capacity and one batch.
		if p.used+req.n <= p.capacity || p.used == 0 {
			p.used += req.n
			p.queue = append(p.queue, req)
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		space := p.space
		p.mu.Unlock()

		if timer == nil {
			timer = time.NewTimer(p.maxWait)
			defer timer.Stop()
		}
		select {
		case <-space:
		case <-timer.C:
			p.m.overloaded.Inc()
			return fmt.Errorf("%w: ingest queue full (%d spans) for %s", loupe.ErrOverloaded, p.capacity, p.maxWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// dequeue removes req from the queue if the writer has not taken it yet.
func (p *Pipeline) dequeue(req *request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.queue, req); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
		p.releaseLocked(req.n)
	}
}

// releaseLocked returns n spans of room and wakes the waiting submitters.
func (p *Pipeline) releaseLocked(n int) {
	p.used -= n
	close(p.space)
	p.space = make(chan struct{})
}

// run is the writer goroutine: it drains the queue in groups until Close.
func (p *Pipeline) run() {
	defer close(p.done)
	var group []*request
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
		}
		if len(p.queue) == 0 { // closed and drained
			p.mu.Unlock()
			return
		}
		var n int
		group, n = p.takeLocked(group[:0])
		p.mu.Unlock()

		p.writeGroup(group, n)
		clear(group)

		p.mu.Lock()
		p.releaseLocked(n)
		p.mu.Unlock()
	}
}

// takeLocked moves the longest queue prefix that fits in maxBatch (at least
// one request) into group and returns it with its span count.
func (p *Pipeline) takeLocked(group []*request) ([]*request, int) {
	n, k := 0, 0
	for k < len(p.queue) && (k == 0 || n+p.queue[k].n <= p.maxBatch) {
		n += p.queue[k].n
		k++
	}
	group = append(group, p.queue[:k]...)
	// Shift rather than reslice so the backing array does not grow
	// forever and taken requests are not kept alive.
	rest := copy(p.queue, p.queue[k:])
	clear(p.queue[rest:])
	p.queue = p.queue[:rest]
	return group, n
}

// writeGroup writes the group's batches with one Write call, retries once
// (see Pipeline), and delivers each request its result.
func (p *Pipeline) writeGroup(group []*request, n int) {
	if p.ctx.Err() != nil { // Close gave up waiting: fail fast
		p.deliver(group, loupe.ErrClosed)
		return
	}
	err := p.write(group, n)
	if err == nil || !retryable(err) {
		p.deliver(group, err)
		return
	}
	if len(group) == 1 {
		err = p.write(group, n)
		p.logFailure(err, 1, n)
		p.deliver(group, err)
		return
	}
	failed, failedSpans := 0, 0
	for i, r := range group {
		rerr := p.write(group[i:i+1], r.n)
		if rerr != nil {
			failed++
			failedSpans += r.n
			err = rerr
		}
		p.deliver(group[i:i+1], rerr)
	}
	if failed > 0 {
		p.logFailure(err, failed, failedSpans)
	}
}

// write stores the group's batches with one call (store) and records
// metrics.
func (p *Pipeline) write(group []*request, n int) error {
	start := time.Now()
	err := p.store(group)
	p.m.flushSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		p.m.writeErrors.Inc()
		return err
	}
	p.m.flushSpans.Observe(float64(n))
	for _, r := range group {
		p.m.writtenSpans.Add(float64(len(r.batch.Spans)))
		p.m.writtenEvents.Add(float64(len(r.batch.Events)))
	}
	return nil
}

func (p *Pipeline) logFailure(err error, batches, spans int) {
	if err == nil {
		return
	}
	p.log.Error("write failed", "batches", batches, "spans", spans, "err", err)
}

// deliver wakes the submitters of group with err (nil on success).
func (p *Pipeline) deliver(group []*request, err error) {
	if err != nil {
		err = fmt.Errorf("write spans: %w", err)
	}
	for _, r := range group {
		r.done <- err // capacity 1, never blocks
	}
}

// retryable reports whether a failed write is worth one more attempt: not
// when the pipeline is being torn down.
func retryable(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		!errors.Is(err, loupe.ErrClosed)
}

// Close stops accepting batches (Submit returns loupe.ErrClosed), writes
// every batch already queued and waits for the writer goroutine. If ctx ends
// first, Close cancels the write in progress, so the remaining batches fail
// with the SpanWriter's context error, waits for the goroutine to return and
// returns ctx.Err(). Close is idempotent.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	select {
	case <-p.done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return fmt.Errorf("close ingest pipeline: %w", ctx.Err())
	}
}

// QueueLen returns the number of spans plus events queued or being written.
func (p *Pipeline) QueueLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}
