package duckdb

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe/internal/query"
)

func TestLargestGroups(t *testing.T) {
	type row struct {
		g      string
		bucket int64
		size   float64
	}
	key := func(r *row) ([]string, int64) { return []string{r.g}, r.bucket }
	size := func(r *row) float64 { return r.size }
	// groups returns n groups of two buckets each; group i has size i+1, so
	// the largest is the last one made.
	groups := func(n int) []row {
		var rows []row
		for i := range n {
			g := "g" + strconv.Itoa(i)
			rows = append(rows, row{g, 2, float64(i+1) / 2}, row{g, 1, float64(i+1) / 2})
		}
		return rows
	}
	tests := []struct {
		name      string
		rows      []row
		wantRows  int
		wantFirst row
		wantNotes []string
	}{
		{"Empty", nil, 0, row{}, nil},
		{"Few", groups(3), 6, row{"g2", 1, 1.5}, nil},
		{"AtCap", groups(query.MaxGroups), 2 * query.MaxGroups, row{"g" + strconv.Itoa(query.MaxGroups-1), 1, float64(query.MaxGroups) / 2}, nil},
		{"OverCap", groups(query.MaxGroups + 5), 2 * query.MaxGroups, row{"g" + strconv.Itoa(query.MaxGroups+4), 1, float64(query.MaxGroups+5) / 2},
			[]string{fmt.Sprintf("%d groups; only the %d largest are shown", query.MaxGroups+5, query.MaxGroups)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var notes []string
			got := largestGroups(tt.rows, key, size, &notes)
			if len(got) != tt.wantRows {
				t.Fatalf("largestGroups kept %d rows, want %d", len(got), tt.wantRows)
			}
			if len(got) > 0 && got[0] != tt.wantFirst {
				t.Errorf("first row = %+v, want %+v", got[0], tt.wantFirst)
			}
			if diff := cmp.Diff(tt.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			// The kept groups are the largest: every dropped group is
			// smaller than every kept one, and a group's rows stay together.
			kept := map[string]bool{}
			minKept := -1.0
			for _, r := range got {
				kept[r.g] = true
				if minKept < 0 || r.size < minKept {
					minKept = r.size
				}
			}
			if len(kept) > query.MaxGroups {
				t.Errorf("kept %d groups, want at most %d", len(kept), query.MaxGroups)
			}
			for _, r := range tt.rows {
				if !kept[r.g] && r.size >= minKept {
					t.Errorf("dropped group %s (size %v) while keeping one of size %v", r.g, r.size, minKept)
				}
			}
		})
	}
}

func TestGroupOf(t *testing.T) {
	if g := groupOf(nil, nil); g != nil {
		t.Errorf("groupOf(nil) = %v, want nil", g)
	}
	by := []query.Field{{Name: "tenant"}, {Name: "model"}}
	want := map[string]string{"tenant": "t1", "model": "m"}
	if diff := cmp.Diff(want, groupOf(by, []string{"t1", "m"})); diff != "" {
		t.Errorf("groupOf (-want +got):\n%s", diff)
	}
}
