package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/ingest"
)

// preparedBatch is fakePreparer's prepared form: the batch's first span
// name, prefixed so that a raw batch cannot pass for it.
type preparedBatch string

// fakePreparer is a loupe.SpanWriter and ingest.Preparer. Write fails the
// test: a Preparer is only written to with WritePrepared.
type fakePreparer struct {
	t *testing.T
	// PrepareFn, if set, runs first in Prepare; an error rejects the batch.
	PrepareFn func(b loupe.Batch) error
	// WriteFn, if set, decides the result of WritePrepared.
	WriteFn func(ctx context.Context) error

	mu    sync.Mutex
	calls [][]string // prepared batches per WritePrepared call
}

func (w *fakePreparer) Write(context.Context, []loupe.Batch) error {
	w.t.Error("Write called on a Preparer")
	return errors.New("unexpected Write")
}

func (w *fakePreparer) Prepare(b loupe.Batch) (any, error) {
	if w.PrepareFn != nil {
		if err := w.PrepareFn(b); err != nil {
			return nil, err
		}
	}
	return preparedBatch("prepared:" + b.Spans[0].Name), nil
}

func (w *fakePreparer) WritePrepared(ctx context.Context, prepared []any) error {
	var names []string
	for _, p := range prepared {
		pb, ok := p.(preparedBatch)
		if !ok {
			w.t.Errorf("WritePrepared got %T, want a prepared batch", p)
		}
		names = append(names, string(pb))
	}
	w.mu.Lock()
	w.calls = append(w.calls, names)
	w.mu.Unlock()
	if w.WriteFn != nil {
		return w.WriteFn(ctx)
	}
	return nil
}

func (w *fakePreparer) Calls() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

func TestPreparer(t *testing.T) {
	t.Run("WritesPrepared", func(t *testing.T) {
		w := &fakePreparer{t: t}
		p := newPipeline(t, w, ingest.Options{})
		if err := p.Submit(t.Context(), batch("a", 2)); err != nil {
			t.Fatalf("Submit() = %v", err)
		}
		want := [][]string{{"prepared:a/0"}}
		if diff := cmp.Diff(want, w.Calls()); diff != "" {
			t.Errorf("WritePrepared calls (-want +got):\n%s", diff)
		}
	})
	t.Run("PrepareWhileWriting", func(t *testing.T) {
		// The second batch is prepared while the first one's write is
		// blocked: preparing happens in Submit, not on the writer.
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			w := &fakePreparer{t: t, WriteFn: func(ctx context.Context) error {
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}
			var mu sync.Mutex
			var prepared []string
			w.PrepareFn = func(b loupe.Batch) error {
				mu.Lock()
				prepared = append(prepared, b.Spans[0].Name)
				mu.Unlock()
				return nil
			}
			p := newPipeline(t, w, ingest.Options{})
			first := submitAsync(t.Context(), p, batch("a", 1))
			synctest.Wait() // the first write has started and blocks
			second := submitAsync(t.Context(), p, batch("b", 1))
			synctest.Wait()
			mu.Lock()
			got := slices.Clone(prepared)
			mu.Unlock()
			if want := []string{"a/0", "b/0"}; !slices.Equal(got, want) {
				t.Errorf("prepared while the first write blocks = %v, want %v", got, want)
			}
			close(release)
			for _, ch := range []<-chan error{first, second} {
				if err := <-ch; err != nil {
					t.Errorf("Submit() = %v", err)
				}
			}
		})
	})
	t.Run("PrepareErrorRejectsBatchAlone", func(t *testing.T) {
		w := &fakePreparer{t: t, PrepareFn: func(b loupe.Batch) error {
			if b.Spans[0].Name == "bad/0" {
				return fmt.Errorf("%w: bad span", loupe.ErrInvalid)
			}
			return nil
		}}
		p := newPipeline(t, w, ingest.Options{QueueSpans: 10})
		if err := p.Submit(t.Context(), batch("bad", 1)); !errors.Is(err, loupe.ErrInvalid) {
			t.Errorf("Submit(bad) = %v, want ErrInvalid", err)
		}
		if got := p.QueueLen(); got != 0 {
			t.Errorf("QueueLen() after a rejected batch = %d, want 0", got)
		}
		if err := p.Submit(t.Context(), batch("good", 1)); err != nil {
			t.Errorf("Submit(good) = %v", err)
		}
		want := [][]string{{"prepared:good/0"}}
		if diff := cmp.Diff(want, w.Calls()); diff != "" {
			t.Errorf("WritePrepared calls (-want +got):\n%s", diff)
		}
	})
	t.Run("RetryOneByOne", func(t *testing.T) {
		// The first call (the whole group) fails; the retry writes each
		// prepared batch on its own, and only "bad" fails again.
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			call := 0 // WritePrepared calls run on the one writer goroutine
			w := &fakePreparer{t: t}
			w.WriteFn = func(ctx context.Context) error {
				call++
				switch call {
				case 1:
					<-release // hold the writer so that the next three group up
					return nil
				case 2:
					return errors.New("group failed")
				}
				if last := w.Calls()[call-1]; len(last) == 1 && last[0] == "prepared:bad/0" {
					return errors.New("bad batch")
				}
				return nil
			}
			p := newPipeline(t, w, ingest.Options{})
			first := submitAsync(t.Context(), p, batch("first", 1))
			synctest.Wait()
			results := map[string]<-chan error{}
			for _, name := range []string{"x", "bad", "y"} {
				results[name] = submitAsync(t.Context(), p, batch(name, 1))
				synctest.Wait() // queued in this order
			}
			close(release)
			if err := <-first; err != nil {
				t.Errorf("Submit(first) = %v", err)
			}
			for name, ch := range results {
				err := <-ch
				if (err != nil) != (name == "bad") {
					t.Errorf("Submit(%s) = %v", name, err)
				}
			}
			want := [][]string{
				{"prepared:first/0"},
				{"prepared:x/0", "prepared:bad/0", "prepared:y/0"},
				{"prepared:x/0"}, {"prepared:bad/0"}, {"prepared:y/0"},
			}
			if diff := cmp.Diff(want, w.Calls()); diff != "" {
				t.Errorf("WritePrepared calls (-want +got):\n%s", diff)
			}
		})
	})
}
