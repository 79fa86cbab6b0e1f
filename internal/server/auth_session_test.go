package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/server"
)

// TestAuthSession: the UI sign-in sets a signed session cookie that works
// like the key, ends when the key is revoked, and is not accepted
// cross-site for state-changing requests.
func TestAuthSession(t *testing.T) {
	e := newAuthEnv(t)
	signIn := func(t *testing.T, key, next string) *http.Response {
		t.Helper()
		form := url.Values{"key": {key}, "next": {next}}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", e.url+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := signIn(t, e.tokens["a-viewer"], "/traces/"+e.traceA+"?span=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/traces/"+e.traceA+"?span=1" {
		t.Fatalf("POST /login = %d to %q, want 303 to the next page", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "loupe_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Strict", cookie)
	}
	if strings.Contains(cookie.Value, e.tokens["a-viewer"][len("loupe_")+13:]) {
		t.Errorf("session cookie %q contains the key's secret", cookie.Value)
	}
	get := func(path string, c *http.Cookie) (int, string) {
		r := e.doResp(t, "no-header", "GET", path, "", nil, c)
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	status, body := get("/api/v1/traces/"+e.traceA, cookie)
	if status != 200 || strings.Contains(body, payloadA) || !strings.Contains(body, "payload_hidden") {
		t.Errorf("viewer session: trace a = %d, want 200 without payloads: %s", status, clip(body))
	}
	if status, _ := get("/api/v1/traces/"+e.traceB, cookie); status != 404 {
		t.Errorf("viewer session: trace b = %d, want 404", status)
	}
	forged := *cookie
	forged.Value = e.ids["a-admin"] + cookie.Value[12:]
	if status, _ := get("/api/v1/keys", &forged); status != 401 {
		t.Errorf("forged session (viewer -> admin id) = %d, want 401", status)
	}
	// Cross-site POST with the cookie is refused (CSRF), same-origin works.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", e.url+"/v1/traces", strings.NewReader(jsonTrace))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(cookie)
	if r, err := noRedirect.Do(req); err != nil || r.StatusCode != 403 {
		t.Errorf("cross-site POST with session = %v %v, want 403", r.StatusCode, err)
	} else {
		r.Body.Close()
	}
	for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"} {
		if r := signIn(t, e.tokens["a-viewer"], next); r.Header.Get("Location") != "/" {
			t.Errorf("POST /login next=%q redirects to %q, want /", next, r.Header.Get("Location"))
		}
	}
	if r := signIn(t, "loupe_nope", "/"); r.StatusCode != 401 {
		t.Errorf("POST /login with a bad key = %d, want 401", r.StatusCode)
	}
	if r := signIn(t, e.tokens["a-ingest"], "/"); r.StatusCode != 403 {
		t.Errorf("POST /login with an ingest key = %d, want 403", r.StatusCode)
	}
	// Browsers without a session are sent to /login with the page to return to.
	r := e.doResp(t, "no-header", "GET", "/traces/"+e.traceA+"?span=2", "", nil, nil)
	r.Body.Close()
	if loc := r.Header.Get("Location"); r.StatusCode != 303 || loc != "/login?next="+url.QueryEscape("/traces/"+e.traceA+"?span=2") {
		t.Errorf("GET /traces/x without session = %d to %q, want 303 to /login?next=...", r.StatusCode, loc)
	}
	if status, body := get("/login", nil); status != 200 || !strings.Contains(body, `name="key"`) {
		t.Errorf("GET /login = %d, want the sign-in form", status)
	}
	// Revoking the key ends the session.
	if _, err := e.keys.Revoke("a", e.ids["a-viewer"]); err != nil {
		t.Fatal(err)
	}
	if status, body := get("/api/v1/traces/"+e.traceA, cookie); status != 401 {
		t.Errorf("session of a revoked key = %d %s, want 401", status, clip(body))
	}
}

// TestAuthOptional: with AuthOptional and no key, the server serves
// everything as the local admin; once a key exists, it requires keys.
func TestAuthOptional(t *testing.T) {
	dir := t.TempDir()
	keys, err := auth.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, server.Options{Keys: keys, AuthOptional: true}, &fakeIngester{}, nil)
	if rec := post(h, "/v1/traces", "application/json", "", []byte(jsonTrace)); rec.Code != 200 {
		t.Fatalf("no keys: POST /v1/traces = %d %s, want 200", rec.Code, rec.Body)
	}
	if _, _, err := keys.Create("default", auth.RoleAdmin, ""); err != nil {
		t.Fatal(err)
	}
	if rec := post(h, "/v1/traces", "application/json", "", []byte(jsonTrace)); rec.Code != 401 {
		t.Errorf("after the first key: POST /v1/traces = %d, want 401", rec.Code)
	}
	if rec := get(h, "/healthz"); rec.Code != 200 {
		t.Errorf("GET /healthz = %d, want 200 (public)", rec.Code)
	}
}
