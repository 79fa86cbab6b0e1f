package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/loupehq/loupe/internal/otlp"
	"github.com/loupehq/loupe/internal/server"
	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Secrets planted in each project's payloads and names: a response to a
// caller of the other project (or to a viewer, for payloads) that contains
// one of them is a leak, whatever the endpoint.
const (
	payloadA = "refund secret-payload-of-project-a"
	payloadB = "refund secret-payload-of-project-b"
	serviceA = "svc-project-a"
	serviceB = "svc-project-b"
)

// authEnv is a real server (HTTP and gRPC) over a real duckdb store in a
// temporary directory, with keys and data for projects a and b.
type authEnv struct {
	url      string
	grpcAddr string
	keys     *auth.Keys
	dir      string
	tokens   map[string]string // caller name -> token
	ids      map[string]string // caller name -> key id
	traceA   string            // a trace of project a, with payloads
	traceB   string            // a trace of project b, with payloads
}

// newAuthEnv starts the servers and ingests one trace per project through
// the OTLP endpoint with each project's ingest key.
func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()
	store, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	pipe := ingest.New(store, ingest.Options{})
	keys, err := auth.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	audit := auth.OpenAudit(dir)
	reg := prometheus.NewRegistry()
	opts := server.Options{Logger: slog.New(slog.DiscardHandler), Keys: keys, Audit: audit, Registerer: reg, Gatherer: reg}
	norm := otlp.NewNormalizer(otlp.Options{})
	ts := httptest.NewServer(server.New(opts, norm, pipe, store))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := server.NewGRPC(opts, norm, pipe)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	t.Cleanup(func() {
		gs.GracefulStop()
		<-served
		ts.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pipe.Close(cctx); err != nil {
			t.Errorf("pipeline Close() = %v", err)
		}
		if err := store.Close(); err != nil {
			t.Errorf("store Close() = %v", err)
		}
		audit.Close()
	})

	e := &authEnv{url: ts.URL, grpcAddr: lis.Addr().String(), keys: keys, dir: dir,
		tokens: map[string]string{}, ids: map[string]string{}}
	for _, c := range []struct {
		name, project string
		role          auth.Role
	}{
		{"a-ingest", "a", auth.RoleIngest}, {"a-viewer", "a", auth.RoleViewer},
		{"a-debugger", "a", auth.RoleDebugger}, {"a-admin", "a", auth.RoleAdmin},
		{"a-revoked", "a", auth.RoleAdmin},
		{"b-ingest", "b", auth.RoleIngest}, {"b-viewer", "b", auth.RoleViewer},
		{"b-debugger", "b", auth.RoleDebugger}, {"b-admin", "b", auth.RoleAdmin},
	} {
		k, tok, err := keys.Create(c.project, c.role, c.name)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[c.name], e.ids[c.name] = tok, k.ID
	}
	if _, err := keys.Revoke("a", e.ids["a-revoked"]); err != nil {
		t.Fatal(err)
	}
	e.traceA = e.ingest(t, "a-ingest", serviceA, payloadA)
	e.traceB = e.ingest(t, "b-ingest", serviceB, payloadB)
	return e
}

// traceSeq makes every ingested trace id unique within a test binary.
var traceSeq atomic.Uint32

// ingest posts a fresh support trace as caller and returns its id. Its
// resource and span attributes claim project "b" (and "a"): the key's
// project must win.
func (e *authEnv) ingest(t *testing.T, caller, service, payload string) string {
	t.Helper()
	req, id := newRequest(service, payload)
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	status, body := e.do(t, caller, http.MethodPost, "/v1/traces", "application/x-protobuf", b)
	if status != http.StatusOK {
		t.Fatalf("ingest as %s: POST /v1/traces = %d %s", caller, status, body)
	}
	return id
}

// newRequest returns a recent support trace with a unique id.
func newRequest(service, payload string) (*coltracepb.ExportTraceServiceRequest, string) {
	req := supportTrace(5)
	tid := make([]byte, 16)
	copy(tid, []byte("authtest-trace"))
	n := traceSeq.Add(1)
	tid[14], tid[15] = byte(n>>8), byte(n)
	start := uint64(time.Now().Add(-10 * time.Minute).UnixNano())
	rs := req.ResourceSpans[0]
	for _, a := range rs.Resource.Attributes {
		if a.Key == "service.name" {
			a.Value = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: service}}
		}
	}
	rs.Resource.Attributes = append(rs.Resource.Attributes, kv("loupe.project", "b"), kv("project", "b"), kv("project.name", "a"))
	for i, s := range rs.ScopeSpans[0].Spans {
		s.TraceId = tid
		s.StartTimeUnixNano, s.EndTimeUnixNano = start+uint64(i)*1e6, start+uint64(i)*1e6+5e5
		if i == 0 {
			s.EndTimeUnixNano = start + 10e6
		}
		s.Attributes = append(s.Attributes, kv("project", "b"), kv("input.value", payload))
		for _, a := range s.Attributes {
			if a.Key == "gen_ai.input.messages" {
				a.Value = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{
					StringValue: `[{"role":"user","content":"` + payload + `"}]`}}
			}
		}
	}
	return req, hex.EncodeToString(tid)
}

// authHeaders are the Authorization values of callers that are not keys.
var authHeaders = map[string]string{
	"bearer-empty":     "Bearer",
	"bearer-space":     "Bearer ",
	"basic":            "Basic x",
	"two-words":        "bearer  two words",
	"very-long":        "Bearer loupe_" + strings.Repeat("a", 100<<10),
	"non-ascii":        "Bearer loupe_ключ_🔑",
	"garbage-token":    "Bearer loupe_000000000000_0000000000000000000000000000000000000000000000000000000000000000",
	"sql-token":        "Bearer ' OR 1=1 --",
	"no-header":        "",
	"key-no-scheme":    "<a-admin>", // a valid key without "Bearer "
	"revoked-bearer":   "Bearer <a-revoked>",
	"bearer-lowercase": "bearer <a-viewer>", // RFC 7235: the scheme is case-insensitive
}

// header returns the Authorization header of caller.
func (e *authEnv) header(caller string) string {
	if tok, ok := e.tokens[caller]; ok {
		return "Bearer " + tok
	}
	h := authHeaders[caller]
	for name, tok := range e.tokens {
		h = strings.ReplaceAll(h, "<"+name+">", tok)
	}
	return h
}

// do sends a request as caller and returns the status and body; it does
// not follow redirects.
func (e *authEnv) do(t *testing.T, caller, method, path, contentType string, body []byte) (int, string) {
	t.Helper()
	resp := e.doResp(t, caller, method, path, contentType, body, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

func (e *authEnv) doResp(t *testing.T, caller, method, path, contentType string, body []byte, cookie *http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if h := e.header(caller); h != "" {
		req.Header.Set("Authorization", h)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// project and role of each key caller; "" for the rest.
func callerProject(c string) string {
	if c == "bearer-lowercase" {
		return "a"
	}
	if p, _, ok := strings.Cut(c, "-"); ok && (p == "a" || p == "b") && c != "a-revoked" {
		return p
	}
	return ""
}

func callerRole(c string) auth.Role {
	if c == "bearer-lowercase" {
		return auth.RoleViewer
	}
	if callerProject(c) == "" {
		return ""
	}
	_, r, _ := strings.Cut(c, "-")
	return auth.Role(r)
}

// need is what an endpoint requires.
type need int

const (
	needWrite need = iota
	needRead
	needPayloads
	needAdmin
)

func (n need) allows(r auth.Role) bool {
	p := auth.Principal{Role: r}
	switch n {
	case needWrite:
		return p.CanWrite()
	case needRead:
		return p.CanRead()
	case needPayloads:
		return p.CanReadPayloads()
	}
	return p.CanAdmin()
}

// endpoint is one row of the matrix.
type endpoint struct {
	name        string
	method      string
	path        func(e *authEnv) string
	contentType string
	body        func(t *testing.T) []byte
	need        need
	ui          bool  // a UI page: unauthenticated browsers are redirected
	okStatus    []int // statuses of an allowed call (404: the route is not built yet)
	// check inspects an allowed call's body (project is the caller's).
	check func(t *testing.T, e *authEnv, caller, project, body string)
}

func fixed(p string) func(*authEnv) string { return func(*authEnv) string { return p } }

func endpoints() []endpoint {
	protoTrace := func(t *testing.T) []byte {
		req, _ := newRequest("svc-matrix", "matrix")
		b, _ := proto.Marshal(req)
		return b
	}
	return []endpoint{
		{name: "OTLPTracesProto", method: "POST", path: fixed("/v1/traces"), contentType: "application/x-protobuf", body: protoTrace, need: needWrite, okStatus: []int{200}},
		{name: "OTLPTracesJSON", method: "POST", path: fixed("/v1/traces"), contentType: "application/json",
			body: func(*testing.T) []byte { return []byte(jsonTrace) }, need: needWrite, okStatus: []int{200}},
		{name: "OTLPLogs", method: "POST", path: fixed("/v1/logs"), contentType: "application/json",
			body: func(*testing.T) []byte { return []byte(`{"resourceLogs":[]}`) }, need: needWrite, okStatus: []int{200}},
		{name: "TraceA", method: "GET", path: func(e *authEnv) string { return "/api/v1/traces/" + e.traceA }, need: needRead,
			okStatus: []int{200, 404}, check: checkTraceA},
		{name: "Search", method: "GET", path: fixed("/api/v1/traces?since=2h"), need: needRead, okStatus: []int{200}, check: checkSearch},
		{name: "Stats", method: "GET", path: fixed("/api/v1/stats?since=2h&by=service"), need: needRead, okStatus: []int{200}, check: checkStats},
		{name: "FullText", method: "GET", path: fixed("/api/v1/traces?since=2h&q=" + url.QueryEscape(`input contains "refund"`)), need: needPayloads,
			okStatus: []int{200}, check: checkSearch},
		{name: "FullTextStats", method: "GET", path: fixed("/api/v1/stats?since=2h&by=service&q=" + url.QueryEscape(`not (payload contains "zzz")`)), need: needPayloads,
			okStatus: []int{200}, check: checkStats},
		{name: "ListKeys", method: "GET", path: fixed("/api/v1/keys"), need: needAdmin, okStatus: []int{200}, check: checkKeys},
		{name: "CreateKey", method: "POST", path: fixed("/api/v1/keys"), contentType: "application/json",
			body: func(*testing.T) []byte { return []byte(`{"role":"viewer","name":"matrix"}`) }, need: needAdmin, okStatus: []int{201}, check: checkCreated},
		{name: "Audit", method: "GET", path: fixed("/api/v1/audit?since=1h"), need: needAdmin, okStatus: []int{200}, check: checkAudit},
		{name: "Metrics", method: "GET", path: fixed("/metrics"), need: needAdmin, okStatus: []int{200}},
		{name: "UIHome", method: "GET", path: fixed("/"), need: needRead, ui: true, okStatus: []int{200, 404}},
		{name: "UITrace", method: "GET", path: func(e *authEnv) string { return "/traces/" + e.traceA }, need: needRead, ui: true, okStatus: []int{200, 404}},
	}
}

func checkTraceA(t *testing.T, e *authEnv, caller, project, body string) {
	t.Helper()
	if project == "b" {
		if !strings.Contains(body, "not found") {
			t.Errorf("%s read project a's trace: %s", caller, clip(body))
		}
		return
	}
	var tr struct {
		Project string `json:"project"`
		Spans   []struct {
			Payload       json.RawMessage `json:"payload"`
			PayloadHidden bool            `json:"payload_hidden"`
		} `json:"spans"`
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil || len(tr.Spans) != 5 || tr.Project != "a" {
		t.Fatalf("%s: trace a = %v, %s; want 5 spans of project a", caller, err, clip(body))
	}
	payloads := 0
	for _, s := range tr.Spans {
		if s.Payload != nil {
			payloads++
		}
		if hidden := callerRole(caller) == auth.RoleViewer; s.PayloadHidden != hidden {
			t.Errorf("%s: payload_hidden = %v, want %v", caller, s.PayloadHidden, hidden)
		}
	}
	if wantSome := callerRole(caller) != auth.RoleViewer; (payloads > 0) != wantSome {
		t.Errorf("%s: %d spans with payload, want payloads: %v", caller, payloads, wantSome)
	}
}

func checkSearch(t *testing.T, e *authEnv, caller, project, body string) {
	t.Helper()
	own, other := e.traceA, e.traceB
	if project == "b" {
		own, other = other, own
	}
	if !strings.Contains(body, own) || strings.Contains(body, other) {
		t.Errorf("%s: search = %s; want %s and not %s", caller, clip(body), own, other)
	}
}

func checkStats(t *testing.T, e *authEnv, caller, project, body string) {
	t.Helper()
	own, other := serviceA, serviceB
	if project == "b" {
		own, other = other, own
	}
	if !strings.Contains(body, own) || strings.Contains(body, other) {
		t.Errorf("%s: stats = %s; want %s and not %s", caller, clip(body), own, other)
	}
}

func checkKeys(t *testing.T, e *authEnv, caller, project, body string) {
	t.Helper()
	var out struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Keys) == 0 {
		t.Fatalf("%s: keys = %v, %s", caller, err, clip(body))
	}
	for _, k := range out.Keys {
		if k["project"] != project {
			t.Errorf("%s: listed key of project %v", caller, k["project"])
		}
		if _, ok := k["hash"]; ok {
			t.Errorf("%s: key list shows hashes: %s", caller, clip(body))
		}
	}
}

func checkCreated(t *testing.T, e *authEnv, caller, project, body string) {
	t.Helper()
	var out struct {
		Key   struct{ Project, Role string } `json:"key"`
		Token string                         `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Key.Project != project || !strings.HasPrefix(out.Token, "loupe_") {
		t.Errorf("%s: created %s, %v; want a key of project %s with its token", caller, clip(body), err, project)
	}
}

func checkAudit(t *testing.T, e *authEnv, caller, project, body string) {
	t.Helper()
	var out struct {
		Entries []auth.AuditEntry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%s: audit = %v, %s", caller, err, clip(body))
	}
	for _, en := range out.Entries {
		if en.Project != project {
			t.Errorf("%s: audit shows an entry of project %s", caller, en.Project)
		}
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// callers is every row of the matrix: the keys of a and b, a revoked key,
// no header and malformed headers.
func (e *authEnv) callers() []string {
	var cs []string
	for c := range e.tokens {
		cs = append(cs, c)
	}
	for c := range authHeaders {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

// TestAuthMatrix runs every caller against every endpoint of the real
// server and checks the status, that allowed calls see their own
// project's data only, and that no response to a caller leaks a secret it
// may not see.
func TestAuthMatrix(t *testing.T) {
	e := newAuthEnv(t)
	for _, ep := range endpoints() {
		for _, caller := range e.callers() {
			t.Run(ep.name+"/"+caller, func(t *testing.T) {
				var body []byte
				if ep.body != nil {
					body = ep.body(t)
				}
				path := ep.path(e)
				status, got := e.do(t, caller, ep.method, path, ep.contentType, body)
				project, role := callerProject(caller), callerRole(caller)
				switch {
				case project == "" && ep.ui && caller == "no-header":
					if status != http.StatusSeeOther {
						t.Errorf("%s %s without credentials = %d, want 303 to /login", ep.method, path, status)
					}
				case project == "":
					if status != http.StatusUnauthorized {
						t.Errorf("%s %s as %s = %d %s, want 401", ep.method, path, caller, status, clip(got))
					}
					if !ep.ui && !strings.HasPrefix(path, "/v1/") && !strings.Contains(got, "unauthenticated") {
						t.Errorf("%s %s as %s: body %s, want it to name the problem", ep.method, path, caller, clip(got))
					}
				case !ep.need.allows(role):
					if status != http.StatusForbidden {
						t.Errorf("%s %s as %s = %d %s, want 403", ep.method, path, caller, status, clip(got))
					}
				default:
					if !slices.Contains(ep.okStatus, status) {
						t.Fatalf("%s %s as %s = %d %s, want %v", ep.method, path, caller, status, clip(got), ep.okStatus)
					}
					if ep.check != nil && (status != http.StatusNotFound || ep.name == "TraceA") {
						ep.check(t, e, caller, project, got)
					}
				}
				checkNoLeak(t, caller, project, role, got, "")
			})
		}
	}
}

// checkNoLeak fails when a response carries another project's data, or
// payload text the caller may not read.
// echo is the request's own hostile input, which error messages may quote.
func checkNoLeak(t *testing.T, caller, project string, role auth.Role, body, echo string) {
	t.Helper()
	forbidden := []string{payloadA, payloadB, serviceA, serviceB}
	switch project {
	case "a":
		forbidden = []string{payloadB, serviceB}
		if !(auth.Principal{Role: role}).CanReadPayloads() {
			forbidden = append(forbidden, payloadA)
		}
	case "b":
		forbidden = []string{payloadA, serviceA}
		if !(auth.Principal{Role: role}).CanReadPayloads() {
			forbidden = append(forbidden, payloadB)
		}
	}
	for _, s := range forbidden {
		if strings.Contains(body, s) && !strings.Contains(echo, s) {
			t.Errorf("response to %s contains %q: %s", caller, s, clip(body))
		}
	}
}

// TestAuthLeakCheckControl is the positive control of checkNoLeak and the
// isolation checks: the planted secrets are really in the store and
// reachable by their own project's debugger.
func TestAuthLeakCheckControl(t *testing.T) {
	e := newAuthEnv(t)
	for _, c := range []struct{ caller, trace, secret string }{
		{"a-debugger", e.traceA, payloadA}, {"b-debugger", e.traceB, payloadB},
	} {
		status, body := e.do(t, c.caller, "GET", "/api/v1/traces/"+c.trace, "", nil)
		if status != 200 || !strings.Contains(body, c.secret) {
			t.Errorf("%s reading its own trace = %d, secret present: %v", c.caller, status, strings.Contains(body, c.secret))
		}
	}
	// The same trace id asked by the other project is a 404, like an
	// unknown one (existence is not leaked).
	status, body := e.do(t, "b-admin", "GET", "/api/v1/traces/"+e.traceA, "", nil)
	status2, body2 := e.do(t, "b-admin", "GET", "/api/v1/traces/0123456789abcdef0123456789abcdef", "", nil)
	if status != 404 || status2 != 404 {
		t.Errorf("b-admin: a's trace = %d %s, unknown trace = %d %s; want both 404", status, body, status2, body2)
	}
}

// TestAuthIngestProjectFromKey: spans land in the key's project, whatever
// the request's resource attributes claim.
func TestAuthIngestProjectFromKey(t *testing.T) {
	e := newAuthEnv(t)
	// e.traceA was sent with loupe.project=b, project=b resource attributes.
	status, body := e.do(t, "a-viewer", "GET", "/api/v1/traces/"+e.traceA, "", nil)
	if status != 200 || !strings.Contains(body, `"project":"a"`) {
		t.Errorf("a-viewer: trace a = %d %s; want 200 in project a", status, clip(body))
	}
	if status, _ := e.do(t, "b-viewer", "GET", "/api/v1/traces/"+e.traceA, "", nil); status != 404 {
		t.Errorf("b-viewer: trace a = %d, want 404", status)
	}
}

// TestAuthRevokeViaAPI: a revoked key fails at once; another project's
// admin cannot revoke a's keys.
func TestAuthRevokeViaAPI(t *testing.T) {
	e := newAuthEnv(t)
	id := e.ids["a-viewer"]
	if status, body := e.do(t, "b-admin", "DELETE", "/api/v1/keys/"+id, "", nil); status != 404 {
		t.Errorf("b-admin revoking a's key = %d %s, want 404", status, body)
	}
	if status, _ := e.do(t, "a-viewer", "GET", "/api/v1/traces?since=1h", "", nil); status != 200 {
		t.Fatalf("a-viewer before revoke = %d, want 200 (control)", status)
	}
	if status, body := e.do(t, "a-debugger", "DELETE", "/api/v1/keys/"+id, "", nil); status != 403 {
		t.Errorf("a-debugger revoking = %d %s, want 403", status, body)
	}
	if status, body := e.do(t, "a-admin", "DELETE", "/api/v1/keys/"+id, "", nil); status != 200 || !strings.Contains(body, "revoked_at") {
		t.Fatalf("a-admin revoking = %d %s, want 200", status, body)
	}
	if status, body := e.do(t, "a-viewer", "GET", "/api/v1/traces?since=1h", "", nil); status != 401 || !strings.Contains(body, "unknown or revoked key") {
		t.Errorf("a-viewer after revoke = %d %s, want 401 unknown or revoked key", status, body)
	}
	// Admin of a cannot create keys for project b.
	status, body := e.do(t, "a-admin", "POST", "/api/v1/keys", "application/json", []byte(`{"project":"b","role":"admin"}`))
	if status != 403 {
		t.Errorf("a-admin creating a key of b = %d %s, want 403", status, body)
	}
	status, body = e.do(t, "a-admin", "POST", "/api/v1/keys", "application/json", []byte(`{"role":"root"}`))
	if status != 400 {
		t.Errorf("create with role root = %d %s, want 400", status, body)
	}
}

// TestAuthAudit: payload reads by debugger and admin keys are logged, a
// viewer's metadata read is not, and each project's admin sees its own.
func TestAuthAudit(t *testing.T) {
	e := newAuthEnv(t)
	for _, c := range []struct{ caller, trace string }{
		{"a-viewer", e.traceA}, {"a-debugger", e.traceA}, {"b-debugger", e.traceB}, {"a-admin", e.traceA},
	} {
		if status, _ := e.do(t, c.caller, "GET", "/api/v1/traces/"+c.trace, "", nil); status != 200 {
			t.Fatalf("%s: GET trace = %d", c.caller, status)
		}
	}
	b, err := os.ReadFile(filepath.Join(e.dir, auth.AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	var entries []auth.AuditEntry
	for line := range strings.Lines(string(b)) {
		var en auth.AuditEntry
		if err := json.Unmarshal([]byte(line), &en); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		entries = append(entries, en)
	}
	var got []string
	for _, en := range entries {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", en.KeyID, en.Project, en.Role, en.TraceID, en.Endpoint))
		if en.Remote == "" || en.Time.IsZero() {
			t.Errorf("audit entry %+v lacks time or remote address", en)
		}
	}
	want := []string{
		fmt.Sprintf("%s a debugger %s GET /api/v1/traces/%s", e.ids["a-debugger"], e.traceA, e.traceA),
		fmt.Sprintf("%s b debugger %s GET /api/v1/traces/%s", e.ids["b-debugger"], e.traceB, e.traceB),
		fmt.Sprintf("%s a admin %s GET /api/v1/traces/%s", e.ids["a-admin"], e.traceA, e.traceA),
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	status, body := e.do(t, "a-admin", "GET", "/api/v1/audit?since=1h", "", nil)
	if status != 200 || strings.Count(body, `"trace_id"`) != 2 || strings.Contains(body, e.traceB) {
		t.Errorf("a-admin audit = %d %s; want a's 2 entries", status, body)
	}
	status, body = e.do(t, "a-admin", "GET", "/api/v1/audit?since=yesterday", "", nil)
	if status != 400 {
		t.Errorf("audit?since=yesterday = %d %s, want 400", status, body)
	}
	_, metrics := e.do(t, "a-admin", "GET", "/metrics", "", nil)
	if !strings.Contains(metrics, `loupe_audit_payload_reads_total{role="debugger"} 2`) {
		t.Errorf("metrics lack loupe_audit_payload_reads_total{role=\"debugger\"} 2")
	}
}

// TestAuthGRPC runs the callers against the gRPC TraceService.
func TestAuthGRPC(t *testing.T) {
	e := newAuthEnv(t)
	conn, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := coltracepb.NewTraceServiceClient(conn)
	for _, caller := range e.callers() {
		if caller == "very-long" || caller == "non-ascii" {
			continue // grpc-go refuses to send these (header limit, non-printable metadata)
		}
		t.Run(caller, func(t *testing.T) {
			ctx := t.Context()
			if h := e.header(caller); h != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", h)
			}
			req, id := newRequest("svc-grpc-"+caller, "grpc")
			_, err := client.Export(ctx, req)
			project, role := callerProject(caller), callerRole(caller)
			want := codes.OK
			switch {
			case project == "":
				want = codes.Unauthenticated
			case !(auth.Principal{Role: role}).CanWrite():
				want = codes.PermissionDenied
			}
			if got := status.Code(err); got != want {
				t.Fatalf("Export as %s = %v, want %v", caller, err, want)
			}
			if want != codes.OK {
				return
			}
			// Landed in the key's project only.
			reader := map[string]string{"a": "a-viewer", "b": "b-viewer"}
			other := map[string]string{"a": "b-viewer", "b": "a-viewer"}
			if st, _ := e.do(t, reader[project], "GET", "/api/v1/traces/"+id, "", nil); st != 200 {
				t.Errorf("trace written by %s: own project reads %d, want 200", caller, st)
			}
			if st, _ := e.do(t, other[project], "GET", "/api/v1/traces/"+id, "", nil); st != 404 {
				t.Errorf("trace written by %s: other project reads %d, want 404", caller, st)
			}
		})
	}
}
