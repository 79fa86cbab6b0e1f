package sample_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/sample"
)

// bigTrace is makeTrace with a payload of about kib KiB on its LLM span.
func bigTrace(n int, start time.Time, kib int) []loupe.Span {
	spans := makeTrace(n, start, false, "", "v1")
	spans[0].Payload = &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: strings.Repeat("x", kib<<10)}}}
	return spans
}

func openBounded(t *testing.T, dir string, st *memStore, clk *clock, maxBytes int64) *sample.Sampler {
	t.Helper()
	s, err := sample.New(t.Context(), sample.Options{
		Dir: dir, Policy: sample.Production(), Next: st, Store: st, Now: clk.Now,
		Grace: 5 * time.Second, Timeout: 60 * time.Second, Tick: time.Hour,
		MaxSpans: 1 << 30, MaxBytes: maxBytes, MaxWait: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// traceBytes is the sampler's estimate of one bigTrace(kib).
func traceBytes(t *testing.T, kib int) int64 {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s := openBounded(t, t.TempDir(), newMemStore(), clk, 0)
	defer closeSampler(t, s)
	if err := s.Submit(t.Context(), loupe.Batch{Spans: bigTrace(1, clk.Now(), kib)}); err != nil {
		t.Fatal(err)
	}
	return s.Stats().Bytes
}

func TestSamplerBytes(t *testing.T) {
	t.Run("PayloadCounted", func(t *testing.T) {
		small, big := traceBytes(t, 1), traceBytes(t, 64)
		if small <= 1<<10 || big-small < 63<<10 {
			t.Errorf("estimated bytes = %d (1 KiB payload), %d (64 KiB payload); want > 1 KiB and a difference >= 63 KiB", small, big)
		}
	})

	one := traceBytes(t, 16)
	t.Run("Overloaded", func(t *testing.T) {
		tests := []struct {
			name     string
			maxBytes int64
			wantErr  error
		}{
			{"UnderLimit", 10 * one, nil},
			{"AtLimit", 2*one + one/2, loupe.ErrOverloaded},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newMemStore()
				st.fail = errors.New("disk full") // nothing is released
				clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
				s := openBounded(t, t.TempDir(), st, clk, tt.maxBytes)
				defer closeSampler(t, s)
				for i := range 2 {
					if err := s.Submit(t.Context(), loupe.Batch{Spans: bigTrace(i, clk.Now(), 16)}); err != nil {
						t.Fatalf("Submit %d: %v", i, err)
					}
				}
				err := s.Submit(t.Context(), loupe.Batch{Spans: bigTrace(2, clk.Now(), 16)})
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("third Submit with MaxBytes %d (trace %d bytes) = %v, want %v", tt.maxBytes, one, err, tt.wantErr)
				}
				if err != nil && !strings.Contains(err.Error(), "bytes") {
					t.Errorf("error %q does not name the byte limit", err)
				}
			})
		}
	})

	t.Run("EarlyPastThreeQuarters", func(t *testing.T) {
		tests := []struct {
			name      string
			traces    int // submitted, of MaxBytes = 10 traces
			wantEarly bool
		}{
			{"UnderThreeQuarters", 7, false},
			{"OverThreeQuarters", 8, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newMemStore()
				clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
				max := 10*one + one/2
				s := openBounded(t, t.TempDir(), st, clk, max)
				defer closeSampler(t, s)
				for i := range tt.traces {
					if err := s.Submit(t.Context(), loupe.Batch{Spans: bigTrace(i, clk.Now(), 16)}); err != nil {
						t.Fatalf("Submit %d: %v", i, err)
					}
					clk.Add(time.Millisecond) // an order of arrival
				}
				if err := s.Decide(t.Context()); err != nil { // within the grace period
					t.Fatal(err)
				}
				st2 := s.Stats()
				if got := st2.Early > 0; got != tt.wantEarly {
					t.Fatalf("decided early = %d with %d traces held, want early %v", st2.Early, tt.traces, tt.wantEarly)
				}
				if !tt.wantEarly {
					return
				}
				if st2.Bytes > max/2 {
					t.Errorf("bytes held after early decisions = %d, want <= %d", st2.Bytes, max/2)
				}
				// The oldest went first.
				if _, ok := st.decisions[traceID(0)]; !ok {
					t.Errorf("oldest trace not decided early")
				}
				if _, ok := st.decisions[traceID(tt.traces-1)]; ok {
					t.Errorf("newest trace decided early")
				}
			})
		}
	})

	// ExactAccounting drives every path that adds or releases held bytes
	// (new traces, separately arriving events, late spans and events of a
	// decided trace, a rootless trace decided at its timeout, a restart
	// replaying a trace the store already partly holds, a drain) and
	// checks that the bytes return to exactly 0 once all is decided.
	t.Run("ExactAccounting", func(t *testing.T) {
		dir := t.TempDir()
		st := newMemStore()
		clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		ctx := t.Context()
		s := openBounded(t, dir, st, clk, 0)
		event := func(n int, span byte) loupe.SpanEvent {
			return loupe.SpanEvent{Project: loupe.DefaultProject, TraceID: traceID(n),
				SpanID: loupe.SpanID{span, byte(n)}, Event: loupe.Event{Time: clk.Now(), Name: "gen_ai.choice",
					Body: map[string]any{"content": strings.Repeat("y", 500)}, Attributes: map[string]any{"k": "v", "n": int64(1)}}}
		}
		for i := range 20 {
			b := loupe.Batch{Spans: bigTrace(i, clk.Now(), 2)}
			if i%2 == 0 {
				b.Events = []loupe.SpanEvent{event(i, 2)}
			}
			if err := s.Submit(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		rootless := bigTrace(100, clk.Now(), 2)[:2]
		if err := s.Submit(ctx, loupe.Batch{Spans: rootless}); err != nil {
			t.Fatal(err)
		}
		if s.Stats().Bytes <= 20*2<<10 {
			t.Fatalf("bytes held = %d, want more than the payloads", s.Stats().Bytes)
		}
		clk.Add(6 * time.Second)
		if err := s.Decide(ctx); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats(); got.Traces != 1 || got.Bytes <= 0 {
			t.Fatalf("after the grace: %+v, want the rootless trace held", got)
		}
		// Late spans and events of decided traces.
		late := bigTrace(3, clk.Now(), 2)[0]
		late.SpanID = loupe.SpanID{9, 9}
		if err := s.Submit(ctx, loupe.Batch{Spans: []loupe.Span{late}, Events: []loupe.SpanEvent{event(4, 2)}}); err != nil {
			t.Fatal(err)
		}
		clk.Add(55 * time.Second) // the rootless trace's timeout
		if err := s.Decide(ctx); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats(); got.Bytes != 0 || got.Pending != 0 || got.Traces != 0 {
			t.Fatalf("after all decisions: %+v, want 0 bytes, 0 spans, 0 traces", got)
		}

		// A restart replays a trace the store already decided and holds in
		// part (the unstored rest is written as late), next to a new one.
		part := bigTrace(200, clk.Now(), 4)
		if err := s.Submit(ctx, loupe.Batch{Spans: append(part, bigTrace(201, clk.Now(), 4)...)}); err != nil {
			t.Fatal(err)
		}
		full := s.Stats().Bytes
		closeSampler(t, s)
		st.mu.Lock()
		st.decisions[traceID(200)] = loupe.Decision{Project: loupe.DefaultProject, TraceID: traceID(200),
			Sample: loupe.Sample{Class: loupe.SampleFull, Rule: "errors", Weight: 1}, Decided: clk.Now()}
		st.spans[traceID(200)] = part[2:] // the root only
		st.mu.Unlock()
		s = openBounded(t, dir, st, clk, 0)
		if got := s.Stats().Bytes; got <= 0 || got >= full {
			t.Errorf("bytes after replay = %d, want in (0, %d): the stored root is not held", got, full)
		}
		if _, err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats(); got.Bytes != 0 || got.Pending != 0 {
			t.Fatalf("after replay and drain: %+v, want 0 bytes and spans", got)
		}
		if got := len(st.spans[traceID(200)]); got != 3 {
			t.Errorf("replayed trace: %d spans stored, want 3", got)
		}
		closeSampler(t, s)
	})
}

// TestSamplerDrain checks that a drain at shutdown decides every trace
// whose root arrived, keeps rootless ones in the pending log, and that a
// clean stop then leaves no decided bytes on disk.
func TestSamplerDrain(t *testing.T) {
	tests := []struct {
		name      string
		drain     bool
		rootless  bool
		wantFiles bool // pending-log files left after Close
		wantLeft  int  // traces left by the drain
	}{
		{"NoDrainKeepsLog", false, false, true, 0},
		{"DrainEmptiesLog", true, false, false, 0},
		{"DrainKeepsRootless", true, true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st := newMemStore()
			clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
			ctx := t.Context()
			s := openBounded(t, dir, st, clk, 0)
			for i := range 10 {
				if err := s.Submit(ctx, loupe.Batch{Spans: bigTrace(i, clk.Now(), 1)}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.rootless {
				if err := s.Submit(ctx, loupe.Batch{Spans: bigTrace(50, clk.Now(), 1)[:2]}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.drain {
				left, err := s.Drain(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if left.Traces != tt.wantLeft {
					t.Errorf("Drain left %d traces, want %d", left.Traces, tt.wantLeft)
				}
				if got := len(st.decisions); got != 10 {
					t.Errorf("decisions after Drain = %d, want 10", got)
				}
			}
			closeSampler(t, s)
			files, _ := filepath.Glob(filepath.Join(dir, "pending", "*.pending"))
			if got := len(files) > 0; got != tt.wantFiles {
				t.Fatalf("pending-log files after Close = %v, want some: %v", files, tt.wantFiles)
			}
			// After a restart everything is decided once and the log is
			// reclaimed at the next clean stop.
			clk.Add(61 * time.Second)
			s = openBounded(t, dir, st, clk, 0)
			if err := s.Decide(ctx); err != nil {
				t.Fatal(err)
			}
			want := 10
			if tt.rootless {
				want++
			}
			if got := len(st.decisions); got != want {
				t.Errorf("decisions after restart = %d, want %d", got, want)
			}
			closeSampler(t, s)
			if files, _ := filepath.Glob(filepath.Join(dir, "pending", "*.pending")); len(files) != 0 {
				t.Errorf("pending-log files after everything is decided and a clean stop = %v, want none", files)
			}
		})
	}
}
