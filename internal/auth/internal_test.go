package auth_test

import (
	"strings"
	"testing"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/auth"
)

func TestInternal(t *testing.T) {
	p := auth.Principal{KeyID: "internal:demo", Project: loupe.DefaultProject, Role: auth.RoleIngest}
	a, err := auth.NewInternal(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.NewInternal(p)
	if err != nil {
		t.Fatal(err)
	}
	if a.Token() == b.Token() {
		t.Fatalf("two internal credentials share a token")
	}
	var none *auth.Internal
	tests := []struct {
		name  string
		c     *auth.Internal
		token string
		ok    bool
	}{
		{"OwnToken", a, a.Token(), true},
		{"OtherToken", a, b.Token(), false},
		{"Empty", a, "", false},
		{"Prefix", a, a.Token()[:len(a.Token())-1], false},
		{"Longer", a, a.Token() + "0", false},
		{"Nil", none, a.Token(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.c.Authenticate(tt.token)
			if ok != tt.ok {
				t.Fatalf("Authenticate = _, %v; want %v", ok, tt.ok)
			}
			if ok && got != p {
				t.Errorf("Authenticate = %+v, want %+v", got, p)
			}
		})
	}
	if !strings.HasPrefix(a.Token(), "loupe-internal_") {
		t.Errorf("token %q does not start with loupe-internal_", a.Token())
	}
}
