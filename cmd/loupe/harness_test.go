package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// binDir holds the loupe binary the end-to-end tests build once (TestMain
// creates and removes it).
var binDir string

// build is the one build of the binary shared by every end-to-end test.
var build struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loupe-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// loupeBinary builds the loupe binary on first use (with -race when the
// tests run with it) and returns its path. End-to-end tests are skipped
// with -short.
func loupeBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the loupe binary")
	}
	build.once.Do(func() {
		path := filepath.Join(binDir, "loupe")
		args := []string{"build", "-o", path}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.CommandContext(context.Background(), "go", append(args, ".")...).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		build.path = path
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// loupeProc is a running `loupe serve` subprocess.
type loupeProc struct {
	t        *testing.T
	cmd      *exec.Cmd
	log      *logWriter
	baseURL  string // http://host:port of the HTTP listener
	grpcAddr string // host:port of the gRPC listener
	done     chan struct{}
	waitErr  error // set before done closes
}

// startLoupe starts `loupe serve` on free loopback ports with the given
// extra flags, waits until /healthz answers and stops the process (with
// SIGKILL) when the test ends, if the test has not stopped it.
func startLoupe(t *testing.T, flags ...string) *loupeProc {
	t.Helper()
	bin := loupeBinary(t)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"}, flags...)
	// Not CommandContext: tests stop the process themselves (SIGKILL or SIGTERM).
	cmd := exec.Command(bin, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "LOUPE_") })
	p := &loupeProc{t: t, cmd: cmd, log: newLogWriter(), done: make(chan struct{})}
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start loupe: %v", err)
	}
	go func() { // owned by p: ends when the process exits; Cleanup waits for it
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("loupe %s output:\n%s", strings.Join(args, " "), p.log.String())
		}
	})

	select {
	case addrs := <-p.log.listening:
		p.baseURL, p.grpcAddr = "http://"+addrs[0], addrs[1]
	case <-p.done:
		t.Fatalf("loupe exited before listening: %v\n%s", p.waitErr, p.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("loupe did not log msg=listening within 60s:\n%s", p.log.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.baseURL+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz never answered 200 (last: %v, %v)", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to die.
func (p *loupeProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill loupe: %v", err)
	}
	<-p.done
}

// terminate sends SIGTERM and returns the exit error (nil for exit 0). It
// fails the test if the process takes longer than timeout to exit.
func (p *loupeProc) terminate(timeout time.Duration) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM loupe: %v", err)
	}
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(timeout):
		p.t.Fatalf("loupe did not exit within %v of SIGTERM", timeout)
		return nil
	}
}

// logWriter collects the process output and reports the addresses of the
// first `msg=listening` log line.
type logWriter struct {
	listening chan [2]string // receives {http, grpc} once

	mu   sync.Mutex
	buf  bytes.Buffer
	seen bool // listening line found
}

func newLogWriter() *logWriter { return &logWriter{listening: make(chan [2]string, 1)} }

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen {
		return len(p), nil
	}
	for line := range strings.Lines(w.buf.String()) {
		if !strings.HasSuffix(line, "\n") || !strings.Contains(line, " msg=listening ") {
			continue
		}
		var addrs [2]string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "http="); ok {
				addrs[0] = v
			}
			if v, ok := strings.CutPrefix(f, "grpc="); ok {
				addrs[1] = v
			}
		}
		w.seen = true
		w.listening <- addrs
		break
	}
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// gzipped returns b compressed with gzip.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// post sends body to url with the content type and, when not empty, the
// content encoding; it returns the status and the response body.
func post(ctx context.Context, client *http.Client, url, contentType, contentEncoding string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp.StatusCode, rb, err
}

// postProto sends an OTLP/HTTP protobuf request to path (/v1/traces or /v1/logs).
func (p *loupeProc) postProto(ctx context.Context, path string, m proto.Message) (int, []byte) {
	p.t.Helper()
	body, err := proto.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	status, rb, err := post(ctx, http.DefaultClient, p.baseURL+path, "application/x-protobuf", "", body)
	if err != nil {
		p.t.Fatalf("POST %s: %v", path, err)
	}
	return status, rb
}

// apiTrace is the JSON of GET /api/v1/traces/{id}, the fields tests check.
type apiTrace struct {
	TraceID    string    `json:"trace_id"`
	Project    string    `json:"project"`
	Status     string    `json:"status"`
	DurationMs float64   `json:"duration_ms"`
	Spans      []apiSpan `json:"spans"`
}

type apiSpan struct {
	SpanID        string         `json:"span_id"`
	ParentSpanID  string         `json:"parent_span_id"`
	Name          string         `json:"name"`
	Kind          string         `json:"kind"`
	Status        string         `json:"status"`
	Service       string         `json:"service"`
	Environment   string         `json:"environment"`
	SessionID     string         `json:"session_id"`
	Provider      string         `json:"provider"`
	RequestModel  string         `json:"request_model"`
	ResponseModel string         `json:"response_model"`
	InputTokens   int64          `json:"input_tokens"`
	OutputTokens  int64          `json:"output_tokens"`
	TotalTokens   int64          `json:"total_tokens"`
	CostUSD       float64        `json:"cost_usd"`
	CostSource    string         `json:"cost_source"`
	ToolName      string         `json:"tool_name"`
	Attributes    map[string]any `json:"attributes"`
	Payload       *struct {
		Input []apiMessage `json:"input"`
	} `json:"payload"`
}

type apiMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// spanIDs returns the trace's span ids, sorted.
func (tr *apiTrace) spanIDs() []string {
	ids := make([]string, 0, len(tr.Spans))
	for _, s := range tr.Spans {
		ids = append(ids, s.SpanID)
	}
	slices.Sort(ids)
	return ids
}

// span returns the span with the id, or nil.
func (tr *apiTrace) span(id string) *apiSpan {
	for i := range tr.Spans {
		if tr.Spans[i].SpanID == id {
			return &tr.Spans[i]
		}
	}
	return nil
}

// trace reads a trace through the JSON API. It returns the HTTP status and,
// for 200, the decoded trace.
func (p *loupeProc) trace(ctx context.Context, client *http.Client, id string) (int, *apiTrace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/api/v1/traces/"+id, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, err
	}
	var tr apiTrace
	if err := json.Unmarshal(body, &tr); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("decode trace %s: %w", id, err)
	}
	return resp.StatusCode, &tr, nil
}

// mustTrace reads a trace that must exist.
func (p *loupeProc) mustTrace(ctx context.Context, id string) *apiTrace {
	p.t.Helper()
	status, tr, err := p.trace(ctx, http.DefaultClient, id)
	if err != nil || status != http.StatusOK {
		p.t.Fatalf("GET /api/v1/traces/%s = %d, %v; want 200", id, status, err)
	}
	return tr
}

// metrics scrapes /metrics and returns the value of every sample without
// labels, by metric name.
func (p *loupeProc) metrics(ctx context.Context) map[string]float64 {
	p.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		p.t.Fatalf("GET /metrics = %d, %v", resp.StatusCode, err)
	}
	m := make(map[string]float64)
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		var name string
		var v float64
		if _, err := fmt.Sscan(line, &name, &v); err == nil {
			m[name] = v
		}
	}
	return m
}

// errorsAs is errors.As for a target type, for brevity in checks.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
