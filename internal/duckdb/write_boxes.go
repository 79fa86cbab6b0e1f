package duckdb

import (
	"database/sql/driver"
	"math"
)

// A span row is ~50 driver.Values, and putting a string, or an int64 or
// float64 that does not fit a byte, into an interface allocates. Most of
// a span's strings (project, service, environment, session, user, tenant,
// kind, status, models) and its trace id are those of the span before it,
// which the writer appends just before (a request's spans come trace by
// trace), so rowBoxes keeps the previous row's boxes and a cell equal to
// the one above reuses its box. The values appended are the same; only
// the allocations go.

// rowBoxes holds the boxed cells of the previous span row, by the index
// the caller gives each cell; an index is used for one type only.
type rowBoxes struct {
	strs [spanStrCells]struct {
		s string
		v driver.Value
	}
	nums [spanNumCells]struct {
		bits uint64
		v    driver.Value
	}
}

// Cells of a span row that rowBoxes keeps.
const (
	spanStrCells = 26 // the text columns of appendSpan
	spanNumCells = 3  // trace_hi, trace_lo, sample_weight
)

// str returns s boxed, reusing the box of cell i if it holds s.
func (r *rowBoxes) str(i int, s string) driver.Value {
	c := &r.strs[i]
	if c.v == nil || c.s != s {
		c.s, c.v = s, s
	}
	return c.v
}

// int returns n boxed, reusing the box of cell i if it holds n.
func (r *rowBoxes) int(i int, n int64) driver.Value {
	c := &r.nums[i]
	if c.v == nil || c.bits != uint64(n) {
		c.bits, c.v = uint64(n), n
	}
	return c.v
}

// float returns f boxed, reusing the box of cell i if it holds f (the
// same bits).
func (r *rowBoxes) float(i int, f float64) driver.Value {
	c := &r.nums[i]
	if c.v == nil || c.bits != math.Float64bits(f) {
		c.bits, c.v = math.Float64bits(f), f
	}
	return c.v
}

// reset drops every box (so that the rows of a finished write are not
// kept alive through their strings).
func (r *rowBoxes) reset() { *r = rowBoxes{} }
