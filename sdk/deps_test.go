package loupe_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps checks that an application importing the SDK inherits no server
// code: nothing from the root loupe module, and no storage or metrics
// server libraries.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		switch {
		case strings.HasPrefix(dep, "github.com/loupehq/loupe") && !strings.HasPrefix(dep, "github.com/loupehq/loupe/sdk"),
			strings.Contains(dep, "duckdb"), strings.Contains(dep, "clickhouse"), strings.Contains(dep, "prometheus"):
			t.Errorf("the SDK depends on %s", dep)
		}
	}
}
