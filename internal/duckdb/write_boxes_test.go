package duckdb

import (
	"database/sql/driver"
	"math"
	"strings"
	"testing"
)

// TestRowBoxes checks that every cell boxes the value it is given, whether
// its box is reused or not, and that a repeat reuses the box (no
// allocation), which is what rowBoxes is for.
func TestRowBoxes(t *testing.T) {
	var r rowBoxes
	heap := strings.Repeat("ab", 3) // not a constant: its box allocates
	strs := []string{"", "a", "a", heap, "ababab", "b", "", "b"}
	for i, s := range strs {
		if got := r.str(3, s); got != driver.Value(s) {
			t.Errorf("str #%d: %#v, want %q", i, got, s)
		}
	}
	for i, n := range []int64{0, 1 << 40, 1 << 40, -1, 0, math.MaxInt64} {
		if got := r.int(1, n); got != driver.Value(n) {
			t.Errorf("int #%d: %#v, want %d", i, got, n)
		}
	}
	nan := math.NaN()
	for i, f := range []float64{1, 1, 0.5, math.Copysign(0, -1), 0, nan, nan} {
		got, ok := r.float(2, f).(float64)
		if !ok || math.Float64bits(got) != math.Float64bits(f) {
			t.Errorf("float #%d: %#v, want %v (bits %x)", i, got, f, math.Float64bits(f))
		}
	}
	r.str(0, heap)
	r.int(0, 1<<50)
	if n := testing.AllocsPerRun(100, func() { r.str(0, heap); r.int(0, 1<<50) }); n != 0 {
		t.Errorf("repeated cells allocate %v times, want 0", n)
	}
	alt := strings.Repeat("cd", 3)
	if n := testing.AllocsPerRun(100, func() { r.str(0, heap); r.str(0, alt) }); n == 0 {
		t.Errorf("changing cells do not allocate: the test cannot tell reuse from boxing")
	}
	r.reset()
	if r.strs[0].v != nil || r.nums[0].v != nil {
		t.Errorf("reset kept boxes")
	}
}
