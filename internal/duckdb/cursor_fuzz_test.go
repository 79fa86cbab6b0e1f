package duckdb

import (
	"testing"

	"github.com/loupehq/loupe/internal/query"
)

// FuzzParseCursor feeds arbitrary cursors (client input) to parseCursor
// under every sort: no panic, and a cursor it accepts encodes back to
// itself.
func FuzzParseCursor(f *testing.F) {
	var sorts []sortSpec
	for _, field := range query.SortFields {
		for _, asc := range []bool{false, true} {
			s, err := newSortSpec(query.Sort{Field: field, Asc: asc})
			if err != nil {
				f.Fatal(err)
			}
			sorts = append(sorts, s)
		}
	}
	for _, s := range sorts {
		f.Add(s.cursorAt(1780506183919000000, -5, 7, int64(42)).String())
		f.Add(s.cursorAt(1, 2, 3, 0.25).String())
		f.Add(s.cursorAt(1, 2, 3, "prv_2026_06_03_17").String())
	}
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, in string) {
		for _, s := range sorts {
			c, err := parseCursor(in, s)
			if err != nil {
				continue
			}
			if out := c.String(); out != in {
				t.Errorf("parseCursor(%q) with sort %d/%v encodes back to %q", in, s.idx, s.asc, out)
			}
		}
	})
}
