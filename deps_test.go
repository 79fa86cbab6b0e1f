package loupe_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection enforces the layout rules of STYLE.md §2: the root
// package is stdlib-only, adapters do not know each other, and the pipeline
// never imports a storage backend.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/loupehq/loupe"
	tests := []struct {
		pkg    string
		banned []string // import path prefixes
		allow  []string // exceptions to banned: leaf packages of the standard library only
		stdlib bool     // only the standard library and the root package
	}{
		{pkg: mod, stdlib: true},
		{pkg: mod + "/internal/atomicfile", stdlib: true},
		{pkg: mod + "/internal/otlp", banned: []string{mod + "/internal/duckdb", mod + "/internal/server", mod + "/internal/ingest", mod + "/internal/pricing", "github.com/duckdb"}},
		{pkg: mod + "/internal/auth", banned: []string{mod + "/internal/", "github.com/duckdb", "google.golang.org/grpc"}, allow: []string{mod + "/internal/atomicfile"}},
		{pkg: mod + "/internal/pricing", banned: []string{mod + "/internal/", "github.com/duckdb", "google.golang.org/grpc"}},
		{pkg: mod + "/internal/ingest", banned: []string{mod + "/internal/duckdb", mod + "/internal/server", mod + "/internal/otlp", "github.com/duckdb"}},
		{pkg: mod + "/internal/duckdb", banned: []string{mod + "/internal/server", mod + "/internal/ingest", mod + "/internal/otlp", "google.golang.org/grpc"}},
		{pkg: mod + "/internal/redact", banned: []string{mod + "/internal/duckdb", mod + "/internal/server", mod + "/internal/ingest", mod + "/internal/otlp", "github.com/duckdb", "google.golang.org/grpc"}},
		{pkg: mod + "/internal/server", banned: []string{mod + "/internal/duckdb", "github.com/duckdb"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.pkg, mod+"/"), func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list %s: %v", tt.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == tt.pkg || (tt.stdlib && dep == mod) || slices.Contains(tt.allow, dep) {
					continue
				}
				if tt.stdlib {
					t.Errorf("%s imports non-standard package %s", tt.pkg, dep)
				}
				for _, b := range tt.banned {
					if strings.HasPrefix(dep, b) {
						t.Errorf("%s imports %s (banned: %s)", tt.pkg, dep, b)
					}
				}
			}
		})
	}
}
