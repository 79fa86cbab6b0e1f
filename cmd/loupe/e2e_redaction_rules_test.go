package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sendName ingests a one-span trace named name and returns the name the
// API shows for it.
func sendName(t *testing.T, p *loupeProc, name string) string {
	t.Helper()
	rs, sent := supportTrace(1, time.Now().Add(-time.Minute))
	rs.ScopeSpans[0].Spans[0].Name = name
	if status, rb := p.postProto(t.Context(), "/v1/traces", tracesRequest(rs)); status != http.StatusOK {
		t.Fatalf("POST /v1/traces = %d %s", status, rb)
	}
	return p.mustTrace(t.Context(), sent.TraceID).Spans[0].Name
}

func rulesRequest(ctx context.Context, t *testing.T, p *loupeProc, method, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, p.baseURL+"/api/v1/redaction/rules", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRedactionRulesEndToEnd(t *testing.T) {
	bin := loupeBinary(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")

	// A bad file is refused at startup, naming the line and the reason.
	os.WriteFile(rules, []byte("disable phone\n[project default]\ncustom order mask ORD-[0-9]{4}(\n"), 0o600)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--data", filepath.Join(dir, "data0"), "--redaction-rules", rules).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("line 3")) || !bytes.Contains(out, []byte("bad regex")) {
		t.Fatalf("serve with a bad rules file = %v\n%s\nwant a failure naming line 3 and the bad regex", err, out)
	}

	const text = "order ORD-2026-000123 for bob@example.com"
	os.WriteFile(rules, []byte("# acme rules\n[project default]\ncustom order mask ORD-[0-9]{4}-[0-9]{6}\n"), 0o600)
	p := startLoupe(t, "--data", filepath.Join(dir, "data"), "--redaction-rules", rules)
	if got, want := sendName(t, p, text), "order [REDACTED:custom:order] for [REDACTED:email]"; got != want {
		t.Fatalf("name = %q, want %q", got, want)
	}

	// SIGHUP with a bad file: logged with the line, previous rules stay.
	os.WriteFile(rules, []byte("disable email\nfrobnicate\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.log.String(), "redaction rules not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload error logged after SIGHUP:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.log.String(), "line 2") {
		t.Errorf("reload error does not name line 2:\n%s", p.log.String())
	}
	if got, want := sendName(t, p, text), "order [REDACTED:custom:order] for [REDACTED:email]"; got != want {
		t.Errorf("after a refused reload, name = %q, want %q (previous rules)", got, want)
	}

	// SIGHUP with a good file applies it.
	os.WriteFile(rules, []byte("disable email\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(p.log.String(), "redaction rules reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged after SIGHUP:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := sendName(t, p, text); got != text {
		t.Errorf("after reload (email off, no custom rule), name = %q, want %q", got, text)
	}

	// PUT: a bad body is 400 with the line; a good one applies and is saved.
	if code, body := rulesRequest(t.Context(), t, p, http.MethodPut, "enable email\ncustom x mask (\n"); code != http.StatusBadRequest || !strings.Contains(body, "line 2") {
		t.Errorf("PUT bad rules = %d %s, want 400 naming line 2", code, body)
	}
	if got := sendName(t, p, text); got != text {
		t.Errorf("after a refused PUT, name = %q, want %q", got, text)
	}
	if code, body := rulesRequest(t.Context(), t, p, http.MethodPut, "enable email\n"); code != http.StatusOK || body != "disable email\n[project default]\nenable email\n" {
		t.Errorf("PUT good rules = %d %q", code, body)
	}
	if got, want := sendName(t, p, text), "order ORD-2026-000123 for [REDACTED:email]"; got != want {
		t.Errorf("after PUT, name = %q, want %q", got, want)
	}
	if saved, _ := os.ReadFile(rules); string(saved) != "disable email\n[project default]\nenable email\n" {
		t.Errorf("rules file after PUT = %q", saved)
	}
	if code, body := rulesRequest(t.Context(), t, p, http.MethodGet, ""); code != http.StatusOK || !strings.Contains(body, "enable email") {
		t.Errorf("GET rules = %d %q", code, body)
	}

	// The generated secret is reused across restarts: hashed user ids join.
	rs, sent := supportTrace(1, time.Now().Add(-time.Minute))
	p.postProto(t.Context(), "/v1/traces", tracesRequest(rs))
	before := p.mustTrace(t.Context(), sent.TraceID)
	if err := p.terminate(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	p2 := startLoupe(t, "--data", filepath.Join(dir, "data"), "--redaction-rules", rules)
	rs2, sent2 := supportTrace(1, time.Now().Add(-time.Minute))
	p2.postProto(t.Context(), "/v1/traces", tracesRequest(rs2))
	after := p2.mustTrace(t.Context(), sent2.TraceID)
	u1, u2 := userID(t, p2, before.TraceID), userID(t, p2, after.TraceID)
	if !strings.HasPrefix(u1, "hmac:") || u1 != u2 {
		t.Errorf("user_id before and after restart = %q, %q; want one hmac: value", u1, u2)
	}
}

// userID returns the root span's user_id of a stored trace.
func userID(t *testing.T, p *loupeProc, traceID string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.baseURL+"/api/v1/traces/"+traceID, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	i := bytes.Index(b, []byte(`"user_id":"`))
	if i < 0 {
		t.Fatalf("trace %s has no user_id: %s", traceID, b)
	}
	rest := b[i+len(`"user_id":"`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}
