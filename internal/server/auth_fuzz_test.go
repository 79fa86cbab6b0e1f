package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupehq/loupe/internal/auth"
	"github.com/loupehq/loupe/internal/server"
)

// FuzzAuthorization sends arbitrary Authorization headers (untrusted
// input) through the middleware: no panic, and every header but the valid
// key's is refused with 401.
func FuzzAuthorization(f *testing.F) {
	keys, err := auth.OpenKeys(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	_, token, err := keys.Create("acme", auth.RoleViewer, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	h := newHandler(f, server.Options{Keys: keys}, &fakeIngester{}, nil)
	for _, s := range []string{"Bearer " + token, "bearer " + token, "Bearer", "Basic x", "bearer  two words", "Bearer ' OR 1=1 --", "Bearer loupe_ключ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		valid := len(header) == len("Bearer ")+len(token) && strings.EqualFold(header[:7], "Bearer ") && header[7:] == token
		// A valid key reaches the handler (501: this server has no reader).
		if got := rec.Code; valid != (got != http.StatusUnauthorized) {
			t.Fatalf("Authorization %q = %d, valid key: %v", header, got, valid)
		}
	})
}
