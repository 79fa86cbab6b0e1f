package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/otlp"
	"github.com/loupehq/loupe/internal/server"
)

// runCLI runs loupe in-process with an empty environment and checks the
// exit code.
func runCLI(t *testing.T, wantCode int, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	if got := code(err); got != wantCode {
		t.Fatalf("loupe %s: exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, err, wantCode, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// createKey runs `loupe keys create` offline and returns the token.
func createKey(t *testing.T, dir, project, role string) string {
	t.Helper()
	out, _ := runCLI(t, 0, "keys", "create", "--data", dir, "--project", project, "--role", role, "--name", "test")
	token := strings.TrimSpace(out)
	if !strings.HasPrefix(token, "loupe_") || strings.Contains(token, "\n") {
		t.Fatalf("keys create printed %q, want the token alone", out)
	}
	return token
}

func TestKeysOffline(t *testing.T) {
	dir := t.TempDir()
	token := createKey(t, dir, "acme", "admin")
	id := token[len("loupe_") : len("loupe_")+12]

	out, _ := runCLI(t, 0, "keys", "list", "--data", dir)
	if !strings.Contains(out, "ID") || !strings.Contains(out, id) || !strings.Contains(out, "acme") || !strings.Contains(out, "admin") {
		t.Errorf("keys list = %q, want the key", out)
	}
	if strings.Contains(out, token[len(token)-64:]) {
		t.Errorf("keys list shows the secret: %q", out)
	}

	out, _ = runCLI(t, 0, "keys", "create", "--data", dir, "--project", "beta", "--role", "viewer", "--json")
	var created struct {
		Key   auth.KeyInfo `json:"key"`
		Token string       `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Key.Project != "beta" || !strings.HasPrefix(created.Token, "loupe_") {
		t.Errorf("keys create --json = %q (%v), want key and token", out, err)
	}

	out, _ = runCLI(t, 0, "keys", "list", "--data", dir, "--project", "beta", "--json")
	var listed struct {
		Keys []auth.KeyInfo `json:"keys"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed.Keys) != 1 || listed.Keys[0].Project != "beta" {
		t.Errorf("keys list --project beta --json = %q (%v), want beta's key only", out, err)
	}

	out, _ = runCLI(t, 0, "keys", "revoke", "--data", dir, id)
	if !strings.Contains(out, "revoked key "+id) {
		t.Errorf("keys revoke = %q", out)
	}
	k, err := auth.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Authenticate(token); err == nil {
		t.Error("revoked key still authenticates")
	}
	out, _ = runCLI(t, 0, "keys", "list", "--data", dir)
	if line := lineWith(out, id); strings.HasSuffix(strings.TrimSpace(line), " -") {
		t.Errorf("keys list after revoke: %q, want a revocation time", line)
	}

	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"NoStore", []string{"keys", "list"}, 2, "give --key"},
		{"NoSubcommand", []string{"keys"}, 2, "no subcommand"},
		{"UnknownSubcommand", []string{"keys", "rotate", "--data", dir}, 2, "unknown subcommand"},
		{"NoRole", []string{"keys", "create", "--data", dir, "--project", "acme"}, 2, "--role is required"},
		{"BadRole", []string{"keys", "create", "--data", dir, "--project", "acme", "--role", "root"}, 2, "unknown role"},
		{"NoProject", []string{"keys", "create", "--data", dir, "--role", "admin"}, 2, "--project is required"},
		{"BadProject", []string{"keys", "create", "--data", dir, "--project", "A'; DROP", "--role", "admin"}, 1, "project"},
		{"RevokeUnknown", []string{"keys", "revoke", "--data", dir, "ffffffffffff"}, 1, "not found"},
		{"RevokeNoID", []string{"keys", "revoke", "--data", dir}, 2, "one key id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr := runCLI(t, tt.wantCode, tt.args...)
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("loupe %s: stderr %q, want it to contain %q", strings.Join(tt.args, " "), stderr, tt.wantErr)
			}
		})
	}
}

func lineWith(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return line
		}
	}
	return ""
}

// TestKeysAPI: with --key, loupe keys uses the server's API, confined to the
// admin key's project.
func TestKeysAPI(t *testing.T) {
	dir := t.TempDir()
	admin := createKey(t, dir, "acme", "admin")
	other := createKey(t, dir, "beta", "admin")
	keys, err := auth.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Options{Keys: keys, Logger: slog.New(slog.DiscardHandler)}, otlp.NewNormalizer(otlp.Options{}), storageOff{}, nil)
	ts := httptest.NewServer(h)
	defer ts.Close()
	api := func(wantCode int, key string, args ...string) (string, string) {
		t.Helper()
		return runCLI(t, wantCode, append(args, "--endpoint", ts.URL, "--key", key)...)
	}

	out, _ := api(0, admin, "keys", "create", "--role", "viewer", "--name", "grafana")
	viewer := strings.TrimSpace(out)
	if _, err := keys.Authenticate(viewer); err != nil {
		t.Fatalf("key created through the API does not authenticate: %v", err)
	}
	out, _ = api(0, admin, "keys", "list")
	if strings.Contains(out, "beta") || !strings.Contains(out, "grafana") {
		t.Errorf("keys list via API = %q, want acme's keys only", out)
	}
	_, stderr := api(1, admin, "keys", "create", "--project", "beta", "--role", "admin")
	if !strings.Contains(stderr, "HTTP 403") || !strings.Contains(stderr, "loupe keys create --data") {
		t.Errorf("creating a key of another project: %q, want 403 naming the offline bootstrap", stderr)
	}
	_, stderr = api(1, viewer, "keys", "list")
	if !strings.Contains(stderr, "HTTP 403") {
		t.Errorf("keys list with a viewer key: %q, want 403", stderr)
	}
	otherID := other[len("loupe_") : len("loupe_")+12]
	_, stderr = api(1, admin, "keys", "revoke", otherID)
	if !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("revoking beta's key as acme's admin: %q, want 404", stderr)
	}
	viewerID := viewer[len("loupe_") : len("loupe_")+12]
	api(0, admin, "keys", "revoke", viewerID)
	if _, err := keys.Authenticate(viewer); err == nil {
		t.Error("key revoked through the API still authenticates")
	}
	_, stderr = api(1, "loupe_nope", "keys", "list")
	if !strings.Contains(stderr, "HTTP 401") {
		t.Errorf("keys list with a bad key: %q, want 401", stderr)
	}
}

// TestServeRefusesWithoutKeys: a non-loopback address without keys, or
// --auth on without keys, stops loupe serve before it opens anything.
func TestServeRefusesWithoutKeys(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"AllInterfaces", []string{"--addr", "0.0.0.0:0"}, "refusing to serve on 0.0.0.0:0 without API keys: create one with `loupe keys create --data"},
		{"EmptyHost", []string{"--addr", ":0"}, "refusing to serve on :0 without API keys"},
		{"GRPCExposed", []string{"--addr", "127.0.0.1:0", "--grpc-addr", "0.0.0.0:0"}, "refusing to serve on 0.0.0.0:0"},
		{"AuthOff", []string{"--addr", "0.0.0.0:0", "--auth", "off"}, "without API keys (--auth off)"},
		{"AuthOnNoKeys", []string{"--addr", "127.0.0.1:0", "--auth", "on"}, "--auth on but"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--data", dir}, tt.args...)
			_, stderr := runCLI(t, 1, args...)
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("loupe %s: stderr %q, want %q", strings.Join(args, " "), stderr, tt.wantErr)
			}
		})
	}
	t.Run("RevokedOnly", func(t *testing.T) {
		dir := t.TempDir()
		token := createKey(t, dir, "acme", "admin")
		runCLI(t, 0, "keys", "revoke", "--data", dir, token[6:18])
		_, stderr := runCLI(t, 1, "serve", "--addr", "0.0.0.0:0", "--grpc-addr", "127.0.0.1:0", "--data", dir)
		if !strings.Contains(stderr, "refusing to serve") {
			t.Errorf("serve with only a revoked key: %q, want a refusal", stderr)
		}
	})
}

// TestKeysEndToEnd runs the real binary with keys: OTLP and the CLI need
// them, each key sees its project, and an offline revocation reaches the
// running server.
func TestKeysEndToEnd(t *testing.T) {
	dir := t.TempDir()
	admin := createKey(t, dir, "acme", "admin")
	p := startLoupe(t, "--data", dir)
	ctx := t.Context()

	out, _ := runCLI(t, 0, "keys", "create", "--endpoint", p.baseURL, "--key", admin, "--role", "ingest")
	ingestKey := strings.TrimSpace(out)
	out, _ = runCLI(t, 0, "keys", "create", "--endpoint", p.baseURL, "--key", admin, "--role", "viewer")
	viewer := strings.TrimSpace(out)
	other := createKey(t, dir, "beta", "viewer") // offline, while the server runs

	rs, sent := supportTrace(3, time.Now().Add(-time.Minute))
	body, err := proto.Marshal(tracesRequest(rs))
	if err != nil {
		t.Fatal(err)
	}
	postAs := func(key string) int {
		req, _ := http.NewRequestWithContext(ctx, "POST", p.baseURL+"/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := postAs(""); got != 401 {
		t.Errorf("POST /v1/traces without a key = %d, want 401", got)
	}
	if got := postAs(viewer); got != 403 {
		t.Errorf("POST /v1/traces with a viewer key = %d, want 403", got)
	}
	if got := postAs(ingestKey); got != 200 {
		t.Fatalf("POST /v1/traces with the ingest key = %d, want 200", got)
	}

	out, _ = p.cli(t, 0, "traces", "--key", viewer, "--since", "1h")
	if !strings.Contains(out, sent.TraceID[:12]) {
		t.Errorf("loupe traces --key viewer = %q, want the trace", out)
	}
	out, _ = p.cli(t, 0, "traces", "--key", other, "--since", "1h")
	if strings.Contains(out, sent.TraceID[:12]) {
		t.Errorf("loupe traces --key (beta) = %q, shows acme's trace", out)
	}
	_, stderr := p.cli(t, 1, "show", sent.TraceID, "--key", other)
	if !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("loupe show as beta: %q, want 404", stderr)
	}
	_, stderr = p.cli(t, 1, "traces")
	if !strings.Contains(stderr, "missing Authorization header") {
		t.Errorf("loupe traces without --key: %q, want 401 naming the problem", stderr)
	}
	p.cli(t, 0, "show", sent.TraceID, "--key", viewer)

	// Revoke the viewer key offline; the server sees it within a second.
	runCLI(t, 0, "keys", "revoke", "--data", dir, viewer[6:18])
	deadline := time.Now().Add(5 * time.Second)
	for {
		var so, se bytes.Buffer
		err := run(ctx, []string{"traces", "--endpoint", p.baseURL, "--key", viewer}, func(string) string { return "" }, strings.NewReader(""), &so, &se)
		if err != nil && strings.Contains(se.String(), "unknown or revoked key") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still works after 5s: %v %s", err, se.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeRefusesEndToEnd: the binary exits with the refusal on an
// exposed address without keys (it refuses before listening).
func TestServeRefusesEndToEnd(t *testing.T) {
	bin := loupeBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "0.0.0.0:0", "--grpc-addr", "127.0.0.1:0", "--data", t.TempDir())
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if ee, ok := errorsAs[*exec.ExitError](err); !ok || ee.ExitCode() != 1 {
		t.Fatalf("serve on 0.0.0.0 without keys: %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "refusing to serve on 0.0.0.0:0 without API keys") {
		t.Errorf("output %q, want the refusal", out)
	}
}
