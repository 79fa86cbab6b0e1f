package loupe

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Stats counts what happened to ended spans.
type Stats struct {
	Exported int64 // spans the exporter accepted
	Dropped  int64 // spans dropped: queue full, export failed, or after shutdown
	Queued   int   // spans waiting for export now
}

// processor is a bounded batching span processor. OnEnd never blocks: when
// the queue is full the span is dropped and counted. One goroutine, owned
// by the processor and stopped by Shutdown, exports batches.
type processor struct {
	exp           sdktrace.SpanExporter
	queue         chan sdktrace.ReadOnlySpan
	batchSize     int
	batchTimeout  time.Duration
	exportTimeout time.Duration
	logger        *slog.Logger

	flush    chan chan struct{} // ForceFlush requests
	stop     chan struct{}      // closed by Shutdown
	done     chan struct{}      // closed when the goroutine returns
	stopOnce sync.Once

	exported atomic.Int64
	dropped  atomic.Int64
	closed   atomic.Bool
	lastWarn atomic.Int64 // unix nanos of the last drop warning
}

func newProcessor(exp sdktrace.SpanExporter, o Options) *processor {
	p := &processor{
		exp:           exp,
		queue:         make(chan sdktrace.ReadOnlySpan, o.QueueSize),
		batchSize:     o.BatchSize,
		batchTimeout:  o.BatchTimeout,
		exportTimeout: o.ExportTimeout,
		logger:        o.Logger,
		flush:         make(chan chan struct{}),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
	}
	go p.run()
	return p
}

func (p *processor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd enqueues s, or drops it when the queue is full or shut down.
func (p *processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.closed.Load() {
		p.drop(1, "tracer shut down")
		return
	}
	select {
	case p.queue <- s:
	default:
		p.drop(1, "export queue full")
	}
}

// drop counts n dropped spans and warns at most once every 10s.
func (p *processor) drop(n int, why string) {
	total := p.dropped.Add(int64(n))
	if p.logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := p.lastWarn.Load()
	if now-last < int64(10*time.Second) || !p.lastWarn.CompareAndSwap(last, now) {
		return
	}
	p.logger.Warn("loupe: spans dropped", "reason", why, "dropped_total", total)
}

func (p *processor) run() {
	defer close(p.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, p.batchSize)
	timer := time.NewTimer(p.batchTimeout)
	defer timer.Stop()
	export := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.exportTimeout)
		err := p.exp.ExportSpans(ctx, batch)
		cancel()
		if err != nil {
			p.drop(len(batch), "export failed: "+err.Error())
		} else {
			p.exported.Add(int64(len(batch)))
		}
		clear(batch)
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case s := <-p.queue:
				batch = append(batch, s)
				if len(batch) == p.batchSize {
					export()
				}
			default:
				export()
				return
			}
		}
	}
	for {
		select {
		case s := <-p.queue:
			batch = append(batch, s)
			if len(batch) == p.batchSize {
				export()
			}
		case <-timer.C:
			export()
			timer.Reset(p.batchTimeout)
		case ack := <-p.flush:
			drain()
			close(ack)
		case <-p.stop:
			drain()
			return
		}
	}
}

// ForceFlush exports everything queued so far; ctx bounds the wait.
func (p *processor) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case p.flush <- ack:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown stops accepting spans, exports what is queued and shuts the
// exporter down; ctx bounds the wait (spans still queued when it ends are
// dropped and counted).
func (p *processor) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.closed.Store(true)
		close(p.stop)
	})
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if serr := p.exp.Shutdown(ctx); serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		// The goroutine may still be exporting; it ends when its export
		// times out (exportTimeout). Count what it will never send.
		p.drop(len(p.queue), "shutdown deadline")
	}
	return err
}

func (p *processor) stats() Stats {
	return Stats{Exported: p.exported.Load(), Dropped: p.dropped.Load(), Queued: len(p.queue)}
}
