package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSamplingKill9: with tail sampling on, kill -9 while traces await
// their decisions; after the restart every acknowledged trace is decided
// and stored once (the policy keeps every trace in full, so "kept" is
// every acked trace), with no duplicate span.
func TestSamplingKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	dir := t.TempDir()
	policy := filepath.Join(dir, "keep-all.yaml")
	if err := os.WriteFile(policy, []byte("version: 1\nrules:\n  - name: everything\n    when: always\n    rate: 1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	flags := []string{"--data", data, "--sampling", policy, "--sampling-grace", "2s"}
	p := startLoupe(t, flags...)
	load := driveIngest(t, p, 4, 200, time.Second, 20*time.Second, p.kill)
	if len(load.acked) <= 50 {
		t.Fatalf("only %d traces acked before the kill, want > 50", len(load.acked))
	}
	// Traces acked in the last 2s before the kill awaited their decision.
	p2 := startLoupe(t, flags...)
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for _, tr := range load.acked {
		for {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p2.baseURL+"/api/v1/sampling/decisions/"+tr.TraceID, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var ex struct {
				State string `json:"state"`
			}
			json.NewDecoder(resp.Body).Decode(&ex)
			resp.Body.Close()
			if ex.State == "decided" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("trace %s: state %q 30s after the restart, want decided", tr.TraceID, ex.State)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	checkAllStored(t, p2, load.acked)
	// The sampler's metrics are served: the replayed traces were decided
	// by this process, and none is left pending.
	m := p2.metrics(t.Context())
	if m["loupe_sampling_decision_lag_seconds_count"] == 0 {
		t.Errorf("loupe_sampling_decision_lag_seconds_count = 0 after deciding replayed traces; metrics: %v", m)
	}
	if v, ok := m["loupe_sampling_pending_traces"]; !ok || v != 0 {
		t.Errorf("loupe_sampling_pending_traces = %v (present %v), want 0", v, ok)
	}
	if _, ok := m["loupe_sampling_pending_log_bytes"]; !ok {
		t.Errorf("loupe_sampling_pending_log_bytes not served")
	}
	// The kill must have caught traces awaiting decisions, or this test
	// proves nothing about the pending log.
	if !strings.Contains(p2.log.String(), "sampling log replayed") {
		t.Errorf("restart replayed no pending trace; the kill landed with nothing awaiting a decision")
	}
}
