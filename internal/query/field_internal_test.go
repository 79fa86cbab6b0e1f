package query

import (
	"strings"
	"testing"
)

// TestNameLists keeps the name lists used by Fields and suggestions in step
// with lookupKnown.
func TestNameLists(t *testing.T) {
	for _, n := range strings.Fields(fieldNames) {
		if f, ok := lookupKnown(n); !ok || f.Name != n {
			t.Errorf("lookupKnown(%q) = %+v, %v; want the field itself", n, f, ok)
		}
	}
	for _, n := range strings.Fields(aliasNames) {
		if f, ok := lookupKnown(n); !ok || f.Name == n {
			t.Errorf("lookupKnown(%q) = %+v, %v; want another canonical field", n, f, ok)
		}
	}
}
