// Package demo simulates a production LLM application, the reference
// support agent of DESIGN.md §1, instrumented with the loupe Go SDK. It
// produces realistic traces with realistic failures (a recovered tool
// error, parser repairs, empty retrievals, slow tools before model
// timeouts, a bad prompt release) and personal data for redaction to
// find. Latency is simulated with a virtual clock: span timestamps are
// computed, not slept, so thousands of traces take seconds.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	loupe "github.com/loupehq/loupe/sdk"
)

// Scenario names what happens in one simulated request.
type Scenario string

// Scenarios. Each run produces at least one trace of every scenario (the
// first traces cycle through them), then draws them at realistic rates.
const (
	// OK: the request succeeds on the first try.
	OK Scenario = "ok"
	// RefundDegraded: the refund tool fails with INVALID_ARGUMENT and a
	// second model call recovers (trace status degraded).
	RefundDegraded Scenario = "refund-degraded"
	// ParserRepair: the model's output fails validation and is repaired.
	ParserRepair Scenario = "parser-repair"
	// EmptyRetrieval: retrieval returns no documents.
	EmptyRetrieval Scenario = "empty-retrieval"
	// Timeout: a slow tool, then the model call times out (trace error).
	Timeout Scenario = "timeout"
	// BadPromptRelease: the prompt version released mid-run produces
	// output that never validates (trace error).
	BadPromptRelease Scenario = "bad-prompt-release"
)

// Scenarios lists every scenario.
var Scenarios = []Scenario{OK, RefundDegraded, ParserRepair, EmptyRetrieval, Timeout, BadPromptRelease}

// Options configures Run.
type Options struct {
	// Endpoint is the OTLP/HTTP endpoint of loupe; "" = http://127.0.0.1:4318.
	Endpoint string
	// Traces is how many traces to send; 0 = until ctx ends.
	Traces int
	// Rate is traces per second; 0 = as fast as possible.
	Rate float64
	// Seed makes the traffic reproducible; 0 = random.
	Seed uint64
	// Progress receives a progress line every second or so; nil = none.
	Progress io.Writer
	// SDK holds extra SDK options (APIKey, or an Exporter for tests); Run
	// sets the endpoint, service, redaction and queue fields itself.
	SDK loupe.Options
}

// Result is what Run sent.
type Result struct {
	Traces  int   // traces finished
	Spans   int64 // spans exported
	Dropped int64 // spans the SDK dropped (queue full or export failed)

	mu        sync.Mutex
	scenarios map[Scenario][]string
}

// TraceIDs returns the hex ids of the traces of scenario s, in order.
func (r *Result) TraceIDs(s Scenario) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.scenarios[s]...)
}

func (r *Result) record(s Scenario, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scenarios == nil {
		r.scenarios = make(map[Scenario][]string)
	}
	if len(r.scenarios[s]) < 1000 { // bounded: tests need a few per scenario
		r.scenarios[s] = append(r.scenarios[s], id)
	}
}

// demoSecret keys the demo's hashed user ids; a real application uses the
// server's secret.
const demoSecret = "loupe-demo-secret"

// Run sends demo traffic until opts.Traces are sent or ctx ends, then
// flushes. It returns what was sent; the error is nil when ctx ending
// stopped an endless run.
func Run(ctx context.Context, opts Options, logger *slog.Logger) (*Result, error) {
	so := opts.SDK
	so.Endpoint = opts.Endpoint
	so.Service = "support-agent"
	so.Environment = "production"
	so.DeploymentID = "support-agent@2026.06.3"
	so.RedactionSecret = []byte(demoSecret)
	so.QueueSize = 1 << 16
	so.BatchSize = 2048
	so.BatchTimeout = 200 * time.Millisecond
	// Generous: a busy server (a -race build on a loaded machine) may take
	// seconds per batch, and the demo would rather wait than drop. Still
	// shorter than the final flush, so drops are counted, not lost track of.
	so.ExportTimeout = 20 * time.Second
	so.Logger = logger
	tr, err := loupe.New(ctx, so)
	if err != nil {
		return nil, fmt.Errorf("demo tracer: %w", err)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := &generator{tr: tr, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	res := &Result{}

	start := time.Now()
	lastProgress := start
	progress := func(final bool) {
		if opts.Progress == nil {
			return
		}
		st := tr.Stats()
		total := "∞"
		if opts.Traces > 0 {
			total = fmt.Sprint(opts.Traces)
		}
		word := "sent"
		if final {
			word = "done"
		}
		fmt.Fprintf(opts.Progress, "demo: %s %d/%s traces, %d spans exported, %d dropped\n",
			word, res.Traces, total, st.Exported, st.Dropped)
	}
	var runErr error
	for i := 0; opts.Traces == 0 || i < opts.Traces; i++ {
		if ctx.Err() != nil {
			if opts.Traces > 0 {
				runErr = ctx.Err()
			}
			break
		}
		if opts.Rate > 0 {
			next := start.Add(time.Duration(float64(i) / opts.Rate * float64(time.Second)))
			if err := sleep(ctx, time.Until(next)); err != nil {
				continue // loop notices ctx
			}
		}
		// Backpressure of our own: the SDK drops rather than blocks, but
		// the demo would rather wait than lose traces.
		for tr.Stats().Queued > so.QueueSize/2 && ctx.Err() == nil {
			sleep(ctx, 5*time.Millisecond)
		}
		s := g.pick(i)
		id := g.trace(context.WithoutCancel(ctx), s, i)
		res.record(s, id)
		res.Traces++
		if now := time.Now(); now.Sub(lastProgress) >= time.Second {
			lastProgress = now
			progress(false)
		}
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("flush demo traces: %w", err))
	}
	st := tr.Stats()
	res.Spans, res.Dropped = st.Exported, st.Dropped
	progress(true)
	return res, runErr
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
