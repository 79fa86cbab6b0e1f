package auth_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)} }

func mustOpen(t *testing.T, dir string, c *clock) *auth.Keys {
	t.Helper()
	k, err := auth.OpenKeys(dir, c.now)
	if err != nil {
		t.Fatalf("OpenKeys(%s) = %v", dir, err)
	}
	return k
}

func mustCreate(t *testing.T, k *auth.Keys, project string, role auth.Role) (auth.Key, string) {
	t.Helper()
	key, token, err := k.Create(project, role, "test "+string(role))
	if err != nil {
		t.Fatalf("Create(%q, %q) = %v", project, role, err)
	}
	return key, token
}

func TestKeysCreateAuthenticate(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	k := mustOpen(t, dir, c)
	key, token := mustCreate(t, k, "acme", auth.RoleDebugger)
	if !strings.HasPrefix(token, "loupe_"+key.ID+"_") || len(token) != len("loupe_")+12+1+64 {
		t.Errorf("token = %q, want loupe_%s_<64 hex>", token, key.ID)
	}
	got, err := k.Authenticate(token)
	if err != nil {
		t.Fatalf("Authenticate(token) = %v", err)
	}
	if want := (auth.Principal{KeyID: key.ID, Project: "acme", Role: auth.RoleDebugger}); got.Principal() != want {
		t.Errorf("Authenticate(token).Principal() = %+v, want %+v", got.Principal(), want)
	}

	// The file holds the hash, never the token or its secret.
	b, err := os.ReadFile(filepath.Join(dir, auth.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	secret := token[strings.LastIndex(token, "_")+1:]
	if strings.Contains(string(b), secret) {
		t.Errorf("keys.json contains the secret:\n%s", b)
	}
	if !strings.Contains(string(b), key.Hash) || key.Hash == "" {
		t.Errorf("keys.json does not contain the hash %q", key.Hash)
	}
	if fi, _ := os.Stat(filepath.Join(dir, auth.KeysFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("keys.json mode = %v, want 0600", fi.Mode().Perm())
	}

	// A second store on the same file (another process) knows the key.
	k2 := mustOpen(t, dir, c)
	if _, err := k2.Authenticate(token); err != nil {
		t.Errorf("second store: Authenticate(token) = %v", err)
	}

	wrong := []struct{ name, token string }{
		{"Empty", ""},
		{"WrongSecret", token[:len(token)-1] + flip(token[len(token)-1])},
		{"WrongID", "loupe_" + flipAll(key.ID) + token[len("loupe_")+12:]},
		{"Uppercase", strings.ToUpper(token)},
		{"Truncated", token[:len(token)-2]},
		{"Extended", token + "00"},
		{"NoPrefix", strings.TrimPrefix(token, "loupe_")},
		{"SQLish", "loupe_' OR 1=1 --"},
	}
	for _, tt := range wrong {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Authenticate(tt.token); !errors.Is(err, auth.ErrUnknownKey) && !errors.Is(err, auth.ErrMalformedKey) {
				t.Errorf("Authenticate(%q) = %v, want ErrUnknownKey or ErrMalformedKey", tt.token, err)
			}
		})
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func flipAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		b.WriteString(flip(s[i]))
	}
	return b.String()
}

func TestKeysRevoke(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	k := mustOpen(t, dir, c)
	key, token := mustCreate(t, k, "acme", auth.RoleViewer)
	other, otherToken := mustCreate(t, k, "beta", auth.RoleAdmin)

	if _, err := k.Revoke("beta", key.ID); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("Revoke(other project) = %v, want ErrNotFound", err)
	}
	if _, err := k.Revoke("acme", "ffffffffffff"); !errors.Is(err, loupe.ErrNotFound) {
		t.Errorf("Revoke(unknown) = %v, want ErrNotFound", err)
	}
	// Positive control: the key works until revoked.
	if _, err := k.Authenticate(token); err != nil {
		t.Fatalf("Authenticate before revoke = %v", err)
	}
	rk, err := k.Revoke("acme", key.ID)
	if err != nil || rk.RevokedAt == nil {
		t.Fatalf("Revoke = %+v, %v; want a revoked key", rk, err)
	}
	if _, err := k.Authenticate(token); !errors.Is(err, auth.ErrUnknownKey) {
		t.Errorf("Authenticate after revoke = %v, want ErrUnknownKey", err)
	}
	if _, err := k.Authenticate(otherToken); err != nil {
		t.Errorf("other key after revoke = %v, want it still valid", err)
	}
	if all, active := k.Count(); all != 2 || active != 1 {
		t.Errorf("Count() = %d, %d; want 2, 1", all, active)
	}
	list, _ := k.List("acme")
	if len(list) != 1 || list[0].ID != key.ID || list[0].Active() {
		t.Errorf("List(acme) = %+v, want the revoked key only", list)
	}
	_ = other
}

// TestKeysReload: a key created or revoked by another process (loupe keys
// --data while the server runs) is seen by the server's store.
func TestKeysReload(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	server := mustOpen(t, dir, c)
	cli := mustOpen(t, dir, c)

	key, token := mustCreate(t, cli, "acme", auth.RoleAdmin)
	// A miss re-reads the file at once.
	if _, err := server.Authenticate(token); err != nil {
		t.Fatalf("server store: Authenticate(new key) = %v", err)
	}
	if _, err := cli.Revoke("", key.ID); err != nil {
		t.Fatal(err)
	}
	// A hit is re-checked at most once a second.
	c.add(1100 * time.Millisecond)
	if _, err := server.Authenticate(token); !errors.Is(err, auth.ErrUnknownKey) {
		t.Errorf("server store after offline revoke = %v, want ErrUnknownKey", err)
	}
}

func TestKeysCreateInvalid(t *testing.T) {
	k := mustOpen(t, t.TempDir(), newClock())
	tests := []struct {
		name, project string
		role          auth.Role
		keyName       string
	}{
		{"EmptyProject", "", auth.RoleAdmin, ""},
		{"UpperProject", "Acme", auth.RoleAdmin, ""},
		{"QuoteProject", `a"b`, auth.RoleAdmin, ""},
		{"SQLProject", "a' or 1=1 --", auth.RoleAdmin, ""},
		{"LongProject", strings.Repeat("a", 64), auth.RoleAdmin, ""},
		{"DashFirst", "-a", auth.RoleAdmin, ""},
		{"BadRole", "acme", auth.Role("root"), ""},
		{"LongName", "acme", auth.RoleAdmin, strings.Repeat("x", auth.MaxNameLen+1)},
		{"ControlName", "acme", auth.RoleAdmin, "a\x00b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := k.Create(tt.project, tt.role, tt.keyName); !errors.Is(err, loupe.ErrInvalid) {
				t.Errorf("Create(%q, %q, %q) = %v, want ErrInvalid", tt.project, tt.role, tt.keyName, err)
			}
		})
	}
	// Positive control: the longest valid project name is accepted.
	if _, _, err := k.Create(strings.Repeat("a", 63), auth.RoleAdmin, "ok"); err != nil {
		t.Errorf("Create(63 a's) = %v, want nil", err)
	}
}

func TestKeysCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, auth.KeysFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.OpenKeys(dir, nil); err == nil || !strings.Contains(err.Error(), "Possible solutions") {
		t.Errorf("OpenKeys(corrupt) = %v, want an error naming a fix", err)
	}
}

func TestSession(t *testing.T) {
	c := newClock()
	k := mustOpen(t, t.TempDir(), c)
	key, _ := mustCreate(t, k, "acme", auth.RoleViewer)
	other, _ := mustCreate(t, k, "acme", auth.RoleAdmin)
	v, err := k.NewSession(key.ID, c.now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Session(v); err != nil || got.ID != key.ID {
		t.Fatalf("Session(valid) = %+v, %v; want key %s", got, err, key.ID)
	}
	// Promote the session to another key by swapping the id: the HMAC fails.
	forged := other.ID + v[len(key.ID):]
	bad := []struct{ name, value string }{
		{"Empty", ""},
		{"Forged", forged},
		{"TamperedExpiry", strings.Replace(v, ".", ".9", 1)},
		{"NoMAC", v[:strings.LastIndex(v, ".")]},
		{"Garbage", "x.y.z"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Session(tt.value); !errors.Is(err, auth.ErrBadSession) {
				t.Errorf("Session(%q) = %v, want ErrBadSession", tt.value, err)
			}
		})
	}
	t.Run("Expired", func(t *testing.T) {
		c.add(2 * time.Hour)
		defer c.add(-2 * time.Hour)
		if _, err := k.Session(v); !errors.Is(err, auth.ErrBadSession) {
			t.Errorf("Session(expired) = %v, want ErrBadSession", err)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		if _, err := k.Revoke("acme", key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Session(v); !errors.Is(err, auth.ErrBadSession) {
			t.Errorf("Session(revoked key) = %v, want ErrBadSession", err)
		}
		if _, err := k.NewSession(key.ID, c.now().Add(time.Hour)); err == nil {
			t.Error("NewSession(revoked key) = nil error, want one")
		}
	})
}

func TestAudit(t *testing.T) {
	dir := t.TempDir()
	a := auth.OpenAudit(dir)
	defer a.Close()
	t0 := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	for i, p := range []string{"acme", "beta", "acme"} {
		e := auth.AuditEntry{Time: t0.Add(time.Duration(i) * time.Minute), KeyID: "k", Project: p, Role: auth.RoleDebugger, TraceID: "t", Endpoint: "GET /x"}
		if err := a.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Read("acme", t0)
	if err != nil || len(got) != 2 || got[0].Project != "acme" || got[1].Time != t0.Add(2*time.Minute) {
		t.Errorf("Read(acme) = %+v, %v; want acme's 2 entries", got, err)
	}
	if got, _ := a.Read("acme", t0.Add(time.Minute)); len(got) != 1 {
		t.Errorf("Read(acme, since 1m) = %d entries, want 1", len(got))
	}
	if got, _ := auth.OpenAudit(t.TempDir()).Read("acme", t0); got == nil || len(got) != 0 {
		t.Errorf("Read(no file) = %v, want an empty list", got)
	}
}

// BenchmarkAuthenticate is the per-request cost of checking a bearer key.
func BenchmarkAuthenticate(b *testing.B) {
	k, err := auth.OpenKeys(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	_, token, err := k.Create("acme", auth.RoleIngest, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Authenticate(token); err != nil {
			b.Fatal(err)
		}
	}
}
