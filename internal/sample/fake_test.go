package sample_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/sample"
)

// memStore is an in-memory store and next stage: it records written
// batches and answers decision and trace lookups from them.
type memStore struct {
	mu        sync.Mutex
	spans     map[loupe.TraceID][]loupe.Span
	events    int
	decisions map[loupe.TraceID]loupe.Decision
	counts    []loupe.Count
	writes    int
	fail      error // returned by Submit while set
}

func newMemStore() *memStore {
	return &memStore{spans: make(map[loupe.TraceID][]loupe.Span), decisions: make(map[loupe.TraceID]loupe.Decision)}
}

func (m *memStore) Submit(_ context.Context, b loupe.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	for _, s := range b.Spans {
		m.spans[s.TraceID] = append(m.spans[s.TraceID], s)
	}
	m.events += len(b.Events)
	for _, d := range b.Decisions {
		if _, dup := m.decisions[d.TraceID]; dup {
			return fmt.Errorf("trace %s decided twice", d.TraceID)
		}
		m.decisions[d.TraceID] = d
	}
	m.counts = append(m.counts, b.Counts...)
	return nil
}

func (m *memStore) Decisions(_ context.Context, _ string, ids []loupe.TraceID) (map[loupe.TraceID]loupe.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[loupe.TraceID]loupe.Decision)
	for _, id := range ids {
		if d, ok := m.decisions[id]; ok {
			out[id] = d
		}
	}
	return out, nil
}

func (m *memStore) Trace(_ context.Context, _ string, id loupe.TraceID) (*loupe.Trace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sp, ok := m.spans[id]
	if !ok {
		return nil, loupe.ErrNotFound
	}
	return &loupe.Trace{TraceID: id, Spans: append([]loupe.Span(nil), sp...)}, nil
}

func (m *memStore) total() (requests, errors, input int64, cost float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.counts {
		requests += c.Requests
		errors += c.Errors
		input += c.InputTokens
		cost += c.CostUSD
	}
	return
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// traceID returns a deterministic trace id for n.
func traceID(n int) loupe.TraceID {
	var id loupe.TraceID
	for i := range 8 {
		id[i] = byte(n >> (8 * i))
	}
	id[15] = 1
	return id
}

// makeTrace returns a root and two children; failed makes the tool fail.
func makeTrace(n int, start time.Time, failed bool, label, version string) []loupe.Span {
	id := traceID(n)
	root := loupe.SpanID{1, byte(n), byte(n >> 8), byte(n >> 16)}
	mk := func(k byte, parent loupe.SpanID, kind loupe.Kind) loupe.Span {
		return loupe.Span{
			Project: loupe.DefaultProject, TraceID: id, SpanID: loupe.SpanID{k, byte(n), byte(n >> 8), byte(n >> 16)},
			ParentSpanID: parent, Name: string(kind), Kind: kind, Start: start, End: start.Add(100 * time.Millisecond),
			Status: loupe.StatusOK, Tenant: "t1", Environment: "production", ReleaseLabel: label, PromptVersionID: version,
		}
	}
	r := mk(1, loupe.SpanID{}, loupe.KindRequest)
	llm := mk(2, root, loupe.KindLLM)
	llm.RequestModel = "gpt-4.1-mini"
	llm.Usage = loupe.Usage{Input: 100, Output: 10}
	llm.CostUSD = 0.001
	llm.Payload = &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "refund please"}}}
	tool := mk(3, root, loupe.KindTool)
	tool.Attributes = map[string]any{"n": int64(3), "f": 1.0}
	if failed {
		tool.Status = loupe.StatusError
		tool.ErrorType = "INVALID_ARGUMENT"
	}
	return []loupe.Span{llm, tool, r}
}

func openSampler(t *testing.T, dir string, st *memStore, clk *clock, pol *sample.Policy) *sample.Sampler {
	t.Helper()
	s, err := sample.New(t.Context(), sample.Options{
		Dir: dir, Policy: pol, Next: st, Store: st, Now: clk.Now,
		Grace: 5 * time.Second, Timeout: 60 * time.Second, Tick: time.Hour,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}
