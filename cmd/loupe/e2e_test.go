package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// ingestLoad is the result of driving a server with concurrent OTLP/HTTP
// clients until it is stopped.
type ingestLoad struct {
	acked      []sentTrace // traces acknowledged with 200
	ackedSpans int
	refused    map[int]int // non-200 statuses and their counts
	// inflightAtStop counts requests started before the server was stopped
	// that had not returned when it was; cutOff counts those of them that
	// ended in a transport error (the stop cut them off).
	inflightAtStop int64
	cutOff         int64
}

// driveIngest runs clients that each send one protobuf trace of 2..12 spans
// per request, as fast as they can, until enough traces are acknowledged
// and minDuration has passed (or maxDuration). It then calls stop while the
// clients are still sending, waits for them and returns what was acked.
func driveIngest(t *testing.T, p *loupeProc, clients, minAcked int, minDuration, maxDuration time.Duration, stop func()) *ingestLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true},
	}
	defer client.CloseIdleConnections()

	var (
		stopped  atomic.Bool
		inflight atomic.Int64
		cutOff   atomic.Int64
		mu       sync.Mutex
		load     = &ingestLoad{refused: make(map[int]int)}
	)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for !stopped.Load() && ctx.Err() == nil {
				rs, sent := supportTrace(2+rand.IntN(11), time.Now().Add(-time.Minute))
				body, err := proto.Marshal(tracesRequest(rs))
				if err != nil {
					t.Error(err)
					return
				}
				before := !stopped.Load()
				inflight.Add(1)
				status, _, err := post(ctx, client, p.baseURL+"/v1/traces", "application/x-protobuf", "", body)
				inflight.Add(-1)
				mu.Lock()
				switch {
				case err != nil:
					if before && ctx.Err() == nil {
						cutOff.Add(1)
					}
				case status == http.StatusOK:
					load.acked = append(load.acked, sent)
					load.ackedSpans += len(sent.SpanIDs)
				default:
					load.refused[status]++
				}
				mu.Unlock()
			}
		})
	}

	start := time.Now()
	for {
		mu.Lock()
		n := len(load.acked)
		mu.Unlock()
		elapsed := time.Since(start)
		if (n >= minAcked && elapsed >= minDuration) || elapsed >= maxDuration {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped.Store(true)
	load.inflightAtStop = inflight.Load()
	stop()
	wg.Wait()
	load.cutOff = cutOff.Load()
	t.Logf("%d clients: %d traces (%d spans) acked in %v; refused %v; %d requests in flight at stop, %d cut off",
		clients, len(load.acked), load.ackedSpans, time.Since(start).Round(time.Millisecond), load.refused, load.inflightAtStop, load.cutOff)
	return load
}

// checkAllStored reads every trace through the API of p and reports the
// ones missing or missing spans.
func checkAllStored(t *testing.T, p *loupeProc, traces []sentTrace) {
	t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		mu       sync.Mutex
		problems []string
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(traces); i = int(next.Add(1)) - 1 {
				want := traces[i]
				status, tr, err := p.trace(t.Context(), client, want.TraceID)
				var problem string
				switch {
				case err != nil || status != http.StatusOK:
					problem = fmt.Sprintf("trace %s (%d spans): GET = %d, %v; want 200", want.TraceID, len(want.SpanIDs), status, err)
				default:
					wantIDs := slices.Sorted(slices.Values(want.SpanIDs))
					if diff := cmp.Diff(wantIDs, tr.spanIDs()); diff != "" {
						problem = fmt.Sprintf("trace %s span ids mismatch (-want +got):\n%s", want.TraceID, diff)
					}
				}
				if problem != "" {
					mu.Lock()
					problems = append(problems, problem)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("read back %d traces in %v", len(traces), time.Since(start).Round(time.Millisecond))
	for i, p := range problems {
		if i == 10 {
			t.Errorf("... and %d more", len(problems)-10)
			break
		}
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Errorf("%d of %d acknowledged traces not fully stored", len(problems), len(traces))
	}
}

// TestKill9Durability is the durability promise: every request answered
// 200 survives a SIGKILL that lands in the middle of ingest.
func TestKill9Durability(t *testing.T) {
	dir := t.TempDir()
	p := startLoupe(t, "--data", dir)

	load := driveIngest(t, p, 8, 300, time.Second, 20*time.Second, p.kill)

	if ee, ok := errorsAs[*exec.ExitError](p.waitErr); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("loupe exit = %v, want killed by SIGKILL", p.waitErr)
	}
	if len(load.acked) <= 50 {
		t.Fatalf("only %d traces acked before the kill, want > 50 for a meaningful test", len(load.acked))
	}
	if load.inflightAtStop == 0 || load.cutOff == 0 {
		t.Fatalf("kill landed with %d requests in flight, %d cut off; want the kill to interrupt ingest", load.inflightAtStop, load.cutOff)
	}

	restart := time.Now()
	p2 := startLoupe(t, "--data", dir)
	t.Logf("restart after kill -9 ready in %v", time.Since(restart).Round(time.Millisecond))
	checkAllStored(t, p2, load.acked)
}

// TestGracefulShutdown: SIGTERM during ingest exits 0 after storing
// everything acknowledged.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	p := startLoupe(t, "--data", dir)

	var exitErr error
	load := driveIngest(t, p, 4, 100, 500*time.Millisecond, 20*time.Second, func() {
		exitErr = p.terminate(30 * time.Second)
	})
	if exitErr != nil {
		t.Fatalf("loupe exit after SIGTERM = %v, want exit status 0", exitErr)
	}
	if len(load.acked) == 0 {
		t.Fatal("no trace acked before SIGTERM")
	}
	if log := p.log.String(); !strings.Contains(log, "msg=\"shutting down\"") || !strings.Contains(log, "msg=stopped") {
		t.Errorf("log lacks the shutting down ... stopped sequence:\n%s", log)
	}

	p2 := startLoupe(t, "--data", dir)
	checkAllStored(t, p2, load.acked)
}
