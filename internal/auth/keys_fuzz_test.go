package auth_test

import (
	"testing"
	"time"

	"github.com/loupehq/loupe/internal/auth"
)

// FuzzAuthenticate feeds arbitrary bearer tokens and session cookie values
// (untrusted input) to the key store: no panic, and nothing but the real
// token and a session made for the key authenticates.
func FuzzAuthenticate(f *testing.F) {
	c := newClock()
	k, err := auth.OpenKeys(f.TempDir(), c.now)
	if err != nil {
		f.Fatal(err)
	}
	key, token, err := k.Create("acme", auth.RoleAdmin, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	session, err := k.NewSession(key.ID, c.now().Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(token, session)
	f.Add(token[:len(token)-1]+"x", session[:len(session)-1])
	f.Add("loupe_"+key.ID+"_", key.ID+".9999999999.")
	f.Add("' OR 1=1 --", "..")
	f.Add("loupe_ключ_🔑", "\x00.\x00.\x00")
	f.Fuzz(func(t *testing.T, tok, sess string) {
		if got, err := k.Authenticate(tok); err == nil && (tok != token || got.ID != key.ID) {
			t.Fatalf("Authenticate(%q) = key %s, want an error", tok, got.ID)
		}
		if got, err := k.Session(sess); err == nil && (sess != session || got.ID != key.ID) {
			t.Fatalf("Session(%q) = key %s, want an error", sess, got.ID)
		}
	})
}
