package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/server"
)

// TestInternalCredential: with keys required, the in-process client's
// internal credential writes spans as its principal (project and role),
// and nothing more; a server not handed the credential refuses its token.
func TestInternalCredential(t *testing.T) {
	keys, err := auth.OpenKeys(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := keys.Create("a", auth.RoleAdmin, "someone"); err != nil {
		t.Fatal(err)
	}
	internal, err := auth.NewInternal(auth.Principal{KeyID: "internal:demo", Project: loupe.DefaultProject, Role: auth.RoleIngest})
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.NewInternal(auth.Principal{KeyID: "internal:other", Project: loupe.DefaultProject, Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	body := mustMarshal(t, supportTrace(1))
	do := func(h http.Handler, method, path, token string, body []byte) int {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if body != nil {
			req.Header.Set("Content-Type", "application/x-protobuf")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	tests := []struct {
		name         string
		internal     *auth.Internal
		method, path string
		token        string
		want         int
		wantSpans    bool
	}{
		{"WritesAsItsPrincipal", internal, http.MethodPost, "/v1/traces", internal.Token(), http.StatusOK, true},
		{"MayNotRead", internal, http.MethodGet, "/api/v1/traces?since=1h", internal.Token(), http.StatusForbidden, false},
		{"MayNotScrapeMetrics", internal, http.MethodGet, "/metrics", internal.Token(), http.StatusForbidden, false},
		{"OtherInternalToken", internal, http.MethodPost, "/v1/traces", other.Token(), http.StatusUnauthorized, false},
		{"NotHandedToServer", nil, http.MethodPost, "/v1/traces", internal.Token(), http.StatusUnauthorized, false},
		{"NoCredentials", internal, http.MethodPost, "/v1/traces", "", http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &fakeIngester{}
			h := newHandler(t, server.Options{Keys: keys, Internal: tt.internal}, in, &fakeReader{})
			var b []byte
			if tt.method == http.MethodPost {
				b = body
			}
			if got := do(h, tt.method, tt.path, tt.token, b); got != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, got, tt.want)
			}
			spans := in.Spans()
			if (len(spans) > 0) != tt.wantSpans {
				t.Fatalf("%d spans submitted, want some: %v", len(spans), tt.wantSpans)
			}
			for _, sp := range spans {
				if sp.Project != loupe.DefaultProject {
					t.Errorf("span %s in project %q, want %q", sp.Name, sp.Project, loupe.DefaultProject)
				}
			}
		})
	}
}
