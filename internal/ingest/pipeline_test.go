package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeWriter is a loupe.SpanWriter recording every Write call. WriteFn, if
// set, decides the result.
type fakeWriter struct {
	WriteFn func(ctx context.Context, batches []loupe.Batch) error

	mu    sync.Mutex
	calls [][]int // spans per batch, per call
	names []string
}

func (w *fakeWriter) Write(ctx context.Context, batches []loupe.Batch) error {
	var sizes []int
	var names []string
	for _, b := range batches {
		sizes = append(sizes, b.Len())
		for _, s := range b.Spans {
			names = append(names, s.Name)
		}
	}
	w.mu.Lock()
	w.calls = append(w.calls, sizes)
	w.mu.Unlock()
	if w.WriteFn != nil {
		if err := w.WriteFn(ctx, batches); err != nil {
			return err
		}
	}
	w.mu.Lock()
	w.names = append(w.names, names...)
	w.mu.Unlock()
	return nil
}

// Calls returns the batch sizes of every Write call so far.
func (w *fakeWriter) Calls() [][]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// Written returns the names of the spans of successful writes.
func (w *fakeWriter) Written() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.names)
}

// gate makes the first n Write calls block until release is closed.
func gate(n int) (fn func(context.Context, []loupe.Batch) error, release func()) {
	ch := make(chan struct{})
	var mu sync.Mutex
	return func(ctx context.Context, _ []loupe.Batch) error {
		mu.Lock()
		n--
		block := n >= 0
		mu.Unlock()
		if block {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}, sync.OnceFunc(func() { close(ch) })
}

func batch(name string, spans int) loupe.Batch {
	b := loupe.Batch{}
	for i := range spans {
		b.Spans = append(b.Spans, loupe.Span{Name: fmt.Sprintf("%s/%d", name, i)})
	}
	return b
}

func newPipeline(t *testing.T, w loupe.SpanWriter, opts ingest.Options) *ingest.Pipeline {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	p := ingest.New(w, opts)
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return p
}

// submitAsync runs Submit in a goroutine and returns its result channel.
func submitAsync(ctx context.Context, p *ingest.Pipeline, b loupe.Batch) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Submit(ctx, b) }()
	return ch
}

func TestSubmit(t *testing.T) {
	t.Run("AckOnlyAfterWrite", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			w := &fakeWriter{WriteFn: fn}
			p := newPipeline(t, w, ingest.Options{})
			res := submitAsync(t.Context(), p, batch("a", 3))
			synctest.Wait()
			select {
			case err := <-res:
				t.Fatalf("Submit returned %v before Write returned", err)
			default:
			}
			if got, want := len(w.Calls()), 1; got != want {
				t.Fatalf("Write calls = %d, want %d", got, want)
			}
			if got, want := p.QueueLen(), 3; got != want {
				t.Errorf("QueueLen() during write = %d, want %d", got, want)
			}
			release()
			if err := <-res; err != nil {
				t.Fatalf("Submit() = %v, want nil", err)
			}
			if got := p.QueueLen(); got != 0 {
				t.Errorf("QueueLen() after write = %d, want 0", got)
			}
		})
	})

	t.Run("EmptyBatch", func(t *testing.T) {
		w := &fakeWriter{}
		p := newPipeline(t, w, ingest.Options{})
		if err := p.Submit(t.Context(), loupe.Batch{}); err != nil {
			t.Fatalf("Submit(empty) = %v, want nil", err)
		}
		if got := len(w.Calls()); got != 0 {
			t.Errorf("Write calls = %d, want 0", got)
		}
	})

	t.Run("Events", func(t *testing.T) {
		w := &fakeWriter{}
		p := newPipeline(t, w, ingest.Options{})
		b := loupe.Batch{Events: make([]loupe.SpanEvent, 4)}
		if err := p.Submit(t.Context(), b); err != nil {
			t.Fatalf("Submit() = %v, want nil", err)
		}
		if got, want := w.Calls(), [][]int{{4}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("Write calls = %v, want %v", got, want)
		}
	})
}

func TestGroupCommit(t *testing.T) {
	tests := []struct {
		name     string
		maxBatch int
		want     [][]int // batch sizes per Write call
	}{
		{name: "AllQueuedInOneWrite", maxBatch: 0, want: [][]int{{1}, slices.Repeat([]int{1}, 49)}},
		{name: "SplitAtMaxBatchSpans", maxBatch: 20, want: [][]int{{1}, slices.Repeat([]int{1}, 20), slices.Repeat([]int{1}, 20), slices.Repeat([]int{1}, 9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fn, release := gate(1)
				w := &fakeWriter{WriteFn: fn}
				p := newPipeline(t, w, ingest.Options{MaxBatchSpans: tt.maxBatch})
				// The first batch occupies the writer; the next 49 queue
				// up behind it and must share as few writes as fit.
				results := []<-chan error{submitAsync(t.Context(), p, batch("first", 1))}
				synctest.Wait()
				for i := range 49 {
					results = append(results, submitAsync(t.Context(), p, batch(fmt.Sprint(i), 1)))
				}
				synctest.Wait()
				release()
				for _, r := range results {
					if err := <-r; err != nil {
						t.Fatalf("Submit() = %v, want nil", err)
					}
				}
				got := w.Calls()
				if !slices.EqualFunc(got, tt.want, slices.Equal) {
					t.Errorf("Write calls = %v, want %v", got, tt.want)
				}
				if got := len(w.Written()); got != 50 {
					t.Errorf("written spans = %d, want 50", got)
				}
			})
		})
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	// Without a gate: many real concurrent submitters must still share
	// writes, because the writer is slower than the submitters.
	w := &fakeWriter{WriteFn: func(context.Context, []loupe.Batch) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	}}
	p := newPipeline(t, w, ingest.Options{})
	const submitters, each = 16, 20
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for i := range each {
				if err := p.Submit(t.Context(), batch(fmt.Sprint(g, i), 2)); err != nil {
					t.Errorf("Submit() = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	calls := w.Calls()
	if got, want := len(w.Written()), submitters*each*2; got != want {
		t.Errorf("written spans = %d, want %d", got, want)
	}
	// 320 batches one at a time would take 320 writes; group commit must
	// take far fewer.
	if len(calls) > submitters*each/4 {
		t.Errorf("Write calls = %d for %d batches, want group commit (<= %d)", len(calls), submitters*each, submitters*each/4)
	}
}

func TestOverload(t *testing.T) {
	t.Run("ErrOverloadedAfterMaxWait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			w := &fakeWriter{WriteFn: fn}
			p := newPipeline(t, w, ingest.Options{QueueSpans: 10, MaxWait: 300 * time.Millisecond})
			first := submitAsync(t.Context(), p, batch("fill", 10))
			synctest.Wait()
			start := time.Now()
			err := p.Submit(t.Context(), batch("over", 1))
			if !errors.Is(err, loupe.ErrOverloaded) {
				t.Fatalf("Submit(full queue) = %v, want ErrOverloaded", err)
			}
			if got, want := time.Since(start), 300*time.Millisecond; got != want {
				t.Errorf("Submit waited %s, want %s", got, want)
			}
			release()
			if err := <-first; err != nil {
				t.Fatalf("Submit(first) = %v", err)
			}
			if got, want := w.Written(), 10; len(got) != want {
				t.Errorf("written = %d spans, want %d", len(got), want)
			}
		})
	})

	t.Run("WaitsForSpace", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			w := &fakeWriter{WriteFn: fn}
			p := newPipeline(t, w, ingest.Options{QueueSpans: 10, MaxWait: time.Second})
			first := submitAsync(t.Context(), p, batch("fill", 8))
			synctest.Wait()
			second := submitAsync(t.Context(), p, batch("wait", 5))
			synctest.Wait()
			if got, want := p.QueueLen(), 8; got != want {
				t.Errorf("QueueLen() = %d, want %d (second batch must wait)", got, want)
			}
			time.Sleep(500 * time.Millisecond) // fake time, within MaxWait
			release()
			if err := <-first; err != nil {
				t.Fatalf("Submit(first) = %v", err)
			}
			if err := <-second; err != nil {
				t.Fatalf("Submit(second) = %v, want nil once space frees", err)
			}
		})
	})

	t.Run("OversizedBatchIntoEmptyQueue", func(t *testing.T) {
		w := &fakeWriter{}
		p := newPipeline(t, w, ingest.Options{QueueSpans: 10, MaxBatchSpans: 5, MaxWait: time.Millisecond})
		if err := p.Submit(t.Context(), batch("big", 25)); err != nil {
			t.Fatalf("Submit(25 spans, capacity 10) = %v, want nil", err)
		}
		if got, want := w.Calls(), [][]int{{25}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("Write calls = %v, want %v", got, want)
		}
	})
}

func TestContextCancel(t *testing.T) {
	t.Run("WhileQueued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			w := &fakeWriter{WriteFn: fn}
			p := newPipeline(t, w, ingest.Options{})
			first := submitAsync(t.Context(), p, batch("first", 1))
			synctest.Wait()
			ctx, cancel := context.WithCancel(t.Context())
			second := submitAsync(ctx, p, batch("cancelled", 2))
			synctest.Wait()
			if got, want := p.QueueLen(), 3; got != want {
				t.Fatalf("QueueLen() = %d, want %d", got, want)
			}
			cancel()
			if err := <-second; !errors.Is(err, context.Canceled) {
				t.Fatalf("Submit(cancelled) = %v, want context.Canceled", err)
			}
			if got, want := p.QueueLen(), 1; got != want {
				t.Errorf("QueueLen() after cancel = %d, want %d", got, want)
			}
			release()
			if err := <-first; err != nil {
				t.Fatalf("Submit(first) = %v", err)
			}
			synctest.Wait()
			if got, want := w.Written(), []string{"first/0"}; !slices.Equal(got, want) {
				t.Errorf("written = %v, want %v (a cancelled queued batch is never written)", got, want)
			}
		})
	})

	t.Run("WhileWaitingForSpace", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			defer release()
			w := &fakeWriter{WriteFn: fn}
			p := newPipeline(t, w, ingest.Options{QueueSpans: 1, MaxWait: time.Hour})
			first := submitAsync(t.Context(), p, batch("first", 1))
			synctest.Wait()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if err := p.Submit(ctx, batch("second", 1)); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Submit() = %v, want context.DeadlineExceeded", err)
			}
			release()
			<-first
		})
	})

	t.Run("AlreadyDone", func(t *testing.T) {
		w := &fakeWriter{}
		p := newPipeline(t, w, ingest.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p.Submit(ctx, batch("x", 1)); !errors.Is(err, context.Canceled) {
			t.Errorf("Submit(done ctx) = %v, want context.Canceled", err)
		}
	})
}

func TestWriteError(t *testing.T) {
	t.Run("PropagatesAfterOneRetry", func(t *testing.T) {
		errDisk := errors.New("disk full")
		w := &fakeWriter{WriteFn: func(context.Context, []loupe.Batch) error { return errDisk }}
		p := newPipeline(t, w, ingest.Options{})
		err := p.Submit(t.Context(), batch("a", 2))
		if !errors.Is(err, errDisk) {
			t.Fatalf("Submit() = %v, want it to wrap %v", err, errDisk)
		}
		if got, want := len(w.Calls()), 2; got != want {
			t.Errorf("Write calls = %d, want %d (one retry)", got, want)
		}
	})

	t.Run("TransientErrorRetried", func(t *testing.T) {
		w := &fakeWriter{}
		// The first call fails, the retry succeeds.
		calls := 0
		w.WriteFn = func(context.Context, []loupe.Batch) error {
			calls++
			if calls == 1 {
				return errors.New("transient")
			}
			return nil
		}
		p := newPipeline(t, w, ingest.Options{})
		if err := p.Submit(t.Context(), batch("a", 2)); err != nil {
			t.Fatalf("Submit() = %v, want nil after a successful retry", err)
		}
		if got, want := w.Written(), []string{"a/0", "a/1"}; !slices.Equal(got, want) {
			t.Errorf("written = %v, want %v", got, want)
		}
	})

	t.Run("PoisonBatchIsolated", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			w := &fakeWriter{}
			w.WriteFn = func(ctx context.Context, batches []loupe.Batch) error {
				if err := fn(ctx, batches); err != nil {
					return err
				}
				for _, b := range batches {
					for _, s := range b.Spans {
						if s.Name == "bad/0" {
							return fmt.Errorf("%w: span bad/0", loupe.ErrInvalid)
						}
					}
				}
				return nil
			}
			p := newPipeline(t, w, ingest.Options{})
			first := submitAsync(t.Context(), p, batch("first", 1))
			synctest.Wait()
			good1 := submitAsync(t.Context(), p, batch("good1", 1))
			synctest.Wait()
			bad := submitAsync(t.Context(), p, batch("bad", 1))
			synctest.Wait()
			good2 := submitAsync(t.Context(), p, batch("good2", 1))
			synctest.Wait()
			release()
			for name, ch := range map[string]<-chan error{"first": first, "good1": good1, "good2": good2} {
				if err := <-ch; err != nil {
					t.Errorf("Submit(%s) = %v, want nil", name, err)
				}
			}
			if err := <-bad; !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("Submit(bad) = %v, want ErrInvalid", err)
			}
			got := w.Written()
			slices.Sort(got)
			if want := []string{"first/0", "good1/0", "good2/0"}; !slices.Equal(got, want) {
				t.Errorf("written = %v, want %v", got, want)
			}
		})
	})
}

func TestClose(t *testing.T) {
	t.Run("FlushesQueued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, release := gate(1)
			w := &fakeWriter{WriteFn: fn}
			p := ingest.New(w, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
			var results []<-chan error
			for i := range 5 {
				results = append(results, submitAsync(t.Context(), p, batch(fmt.Sprint(i), 3)))
				synctest.Wait()
			}
			closed := make(chan error, 1)
			go func() { closed <- p.Close(t.Context()) }()
			synctest.Wait()
			if err := p.Submit(t.Context(), batch("late", 1)); !errors.Is(err, loupe.ErrClosed) {
				t.Errorf("Submit after Close = %v, want ErrClosed", err)
			}
			release()
			if err := <-closed; err != nil {
				t.Fatalf("Close() = %v, want nil", err)
			}
			for _, r := range results {
				if err := <-r; err != nil {
					t.Errorf("Submit() = %v, want nil (queued batches are flushed)", err)
				}
			}
			if got, want := len(w.Written()), 15; got != want {
				t.Errorf("written = %d spans, want %d", got, want)
			}
			if err := p.Close(t.Context()); err != nil {
				t.Errorf("second Close() = %v, want nil", err)
			}
		})
	})

	t.Run("CtxBoundsTheWait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fn, _ := gate(100) // never released: only ctx ends the writes
			w := &fakeWriter{WriteFn: fn}
			p := ingest.New(w, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
			first := submitAsync(t.Context(), p, batch("first", 1))
			synctest.Wait()
			second := submitAsync(t.Context(), p, batch("second", 1))
			synctest.Wait()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close() = %v, want DeadlineExceeded", err)
			}
			if err := <-first; err == nil {
				t.Errorf("Submit(in flight at Close timeout) = nil, want an error")
			}
			if err := <-second; !errors.Is(err, loupe.ErrClosed) {
				t.Errorf("Submit(queued at Close timeout) = %v, want ErrClosed", err)
			}
		})
	})
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := &fakeWriter{}
	p := newPipeline(t, w, ingest.Options{QueueSpans: 100, Registerer: reg})
	if err := p.Submit(t.Context(), loupe.Batch{Spans: make([]loupe.Span, 3), Events: make([]loupe.SpanEvent, 2)}); err != nil {
		t.Fatalf("Submit() = %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			got[mf.GetName()] = m.Counter.GetValue()
		case m.Gauge != nil:
			got[mf.GetName()] = m.Gauge.GetValue()
		case m.Histogram != nil:
			got[mf.GetName()] = float64(m.Histogram.GetSampleCount())
		}
	}
	want := map[string]float64{
		"loupe_ingest_queue_spans":          0,
		"loupe_ingest_queue_capacity_spans": 100,
		"loupe_ingest_flush_seconds":        1,
		"loupe_ingest_flush_spans":          1,
		"loupe_ingest_written_spans_total":  3,
		"loupe_ingest_written_events_total": 2,
		"loupe_ingest_write_errors_total":   0,
		"loupe_ingest_overloaded_total":     0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("metric %s = %v (present %t), want %v", name, g, ok, v)
		}
	}
}

func BenchmarkSubmit(b *testing.B) {
	w := &noopWriter{}
	p := ingest.New(w, ingest.Options{Logger: slog.New(slog.DiscardHandler)})
	defer p.Close(context.Background())
	bt := loupe.Batch{Spans: make([]loupe.Span, 12)}
	b.ReportAllocs()
	b.SetParallelism(32) // many HTTP requests in flight, like a real server
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := p.Submit(ctx, bt); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*len(bt.Spans))/b.Elapsed().Seconds(), "spans/s")
}

type noopWriter struct{}

func (noopWriter) Write(context.Context, []loupe.Batch) error { return nil }
