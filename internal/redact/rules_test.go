package redact_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe/internal/redact"
	sdkredact "github.com/loupehq/loupe/sdk/redact"
)

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name, src string
		lines     []int
		reason    string
	}{
		{"bad regex", "disable phone\ncustom x mask ([a-z]\n", []int{2}, "bad regex"},
		{"unknown directive", "frob\n", []int{1}, `unknown directive "frob"`},
		{"unknown rule in section", "[project a]\n\ndisable nope\n", []int{3}, `unknown rule "nope"`},
		{"bad header", "[projekt a]\n", []int{1}, "want [project NAME]"},
		{"header without bracket", "[project a\n", []int{1}, "missing ']'"},
		{"bad project name", "[project a/b]\n", []int{1}, "project name"},
		{"duplicate section", "[project a]\n[project a]\n", []int{2}, "appears twice"},
		{"duplicate custom across base and section", "custom r mask x1\n[project a]\ncustom r mask x2\n", []int{3}, "defined twice"},
		{"bad key action", "key user.id shred\n", []int{1}, "unknown action"},
		{"empty-matching regex", "custom e mask a*\n", []int{1}, "matches the empty string"},
		{"several", "frob\n[project a]\nkey x shred\n[project b]\ncustom y mask (\n", []int{1, 3, 5}, ""},
		{"base error reported once", "frob\n[project a]\n[project b]\n", []int{1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redact.ParseRules([]byte(tt.src))
			var re *redact.RulesError
			if !errors.As(err, &re) {
				t.Fatalf("ParseRules(%q) = %v, want a *RulesError", tt.src, err)
			}
			if diff := cmp.Diff(tt.lines, re.Lines()); diff != "" {
				t.Errorf("ParseRules(%q) lines (-want +got):\n%s\nerror: %v", tt.src, diff, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("ParseRules(%q) = %v, want the reason %q", tt.src, err, tt.reason)
			}
		})
	}
}

func TestParseRulesSections(t *testing.T) {
	src := "# base\ndisable phone\n\n[project acme]\nenable phone\nenable ip\n[project beta]\nkey x drop\n"
	r, err := redact.ParseRules([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(r.Source()), src; got != want {
		t.Errorf("Source() = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"acme", "beta"}, r.Projects()); diff != "" {
		t.Errorf("Projects() (-want +got):\n%s", diff)
	}
	tests := []struct {
		project string
		want    sdkredact.Config
	}{
		{"", sdkredact.Config{Disable: []sdkredact.Rule{"phone"}}},
		{"unknown", sdkredact.Config{Disable: []sdkredact.Rule{"phone"}}},
		{"acme", sdkredact.Config{Disable: []sdkredact.Rule{}, EnableIP: true}},
		{"beta", sdkredact.Config{Disable: []sdkredact.Rule{"phone"}, Keys: []sdkredact.KeyRule{{Key: "x", Action: "drop"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, r.Config(tt.project)); diff != "" {
				t.Errorf("Config(%q) (-want +got):\n%s", tt.project, diff)
			}
		})
	}
	if got, want := string(r.ProjectSource("beta")), "# base\ndisable phone\n\n[project beta]\nkey x drop\n"; got != want {
		t.Errorf("ProjectSource(beta) = %q, want %q", got, want)
	}
	r2, err := r.WithSection("acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"beta"}, r2.Projects()); diff != "" {
		t.Errorf("after removing acme, Projects() (-want +got):\n%s", diff)
	}
	if _, err := r.WithSection("a b", []string{"enable ip"}); err == nil {
		t.Error("WithSection with a bad project name succeeded")
	}
}

func TestParseSectionRefusesHeaders(t *testing.T) {
	_, err := redact.ParseSection([]byte("enable ip\n[project other]\n"))
	var re *redact.RulesError
	if !errors.As(err, &re) || fmt.Sprint(re.Lines()) != "[2]" {
		t.Fatalf("ParseSection with a header = %v, want a RulesError at line 2", err)
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s1, err := redact.LoadSecret("", data)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(data, redact.SecretFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode = %v, want 0600", fi.Mode().Perm())
	}
	if len(s1) != 64 {
		t.Errorf("generated secret is %d bytes, want 64 hex digits", len(s1))
	}
	s2, err := redact.LoadSecret("", data)
	if err != nil || string(s2) != string(s1) {
		t.Errorf("second LoadSecret = %q, %v; want the first secret again", s2, err)
	}
	other, _ := redact.LoadSecret("", filepath.Join(dir, "other"))
	if string(other) == string(s1) {
		t.Error("two data directories got the same secret")
	}

	file := filepath.Join(dir, "secret")
	os.WriteFile(file, []byte("  0123456789abcdef0123\n"), 0o600)
	if got, err := redact.LoadSecret(file, data); err != nil || string(got) != "0123456789abcdef0123" {
		t.Errorf("LoadSecret(file) = %q, %v; want the trimmed file content", got, err)
	}
	os.WriteFile(file, []byte("short\n"), 0o600)
	if _, err := redact.LoadSecret(file, data); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("LoadSecret(short file) = %v, want an error asking for 16 bytes", err)
	}
}
