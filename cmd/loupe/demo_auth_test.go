package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
)

// TestServeDemoWithKeys: when the data directory holds keys (so requests
// need one), `loupe serve --demo` still fills the default project: its
// in-process feeder authenticates with an in-memory credential. A viewer
// key of the default project sees the demo traces; the credential is never
// written to the log or the key file.
func TestServeDemoWithKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	data := filepath.Join(t.TempDir(), "data")
	keys, err := auth.OpenKeys(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := keys.Create(loupe.DefaultProject, auth.RoleViewer, "viewer")
	if err != nil {
		t.Fatal(err)
	}
	p := startLoupe(t, "--data", data, "--demo")
	if !strings.Contains(p.log.String(), "API keys required") {
		t.Fatalf("server does not require keys; the test proves nothing:\n%s", p.log.String())
	}

	list := func(token string) (int, []json.RawMessage) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.baseURL+"/api/v1/traces?since=1h&limit=5", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Traces []json.RawMessage `json:"traces"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		return resp.StatusCode, page.Traces
	}
	if code, _ := list(""); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/traces without a key = %d, want 401 (keys required)", code)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, traces := list(viewer)
		if code != http.StatusOK {
			t.Fatalf("GET /api/v1/traces with a viewer key = %d, want 200", code)
		}
		if len(traces) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo trace visible to a viewer of %s within 60s", loupe.DefaultProject)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := p.terminate(30 * time.Second); err != nil {
		t.Errorf("loupe serve --demo exit: %v, want 0", err)
	}
	log := p.log.String()
	if strings.Contains(log, "loupe-internal_") {
		t.Errorf("the demo's internal credential appears in the log")
	}
	// (Not "401": hex trace ids in the log may contain it.)
	if strings.Contains(log, "Unauthorized") || strings.Contains(log, "unauthenticated") {
		t.Errorf("the demo feeder was refused:\n%s", log)
	}
	all, _ := keys.Count()
	if all != 1 {
		t.Errorf("key file holds %d keys after serve --demo, want 1 (no key created for the demo)", all)
	}
}
