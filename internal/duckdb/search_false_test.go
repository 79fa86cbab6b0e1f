package duckdb

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe/internal/query"
)

// TestCompileFoldsFalse checks that a full-text condition that matched
// nothing folds: x AND FALSE is FALSE (without x's arguments), x OR FALSE
// is x.
func TestCompileFoldsFalse(t *testing.T) {
	// The matcher finds nothing for "absent".
	text := func(c *query.Cmp) (string, []any, error) {
		if c.Value.Str == "absent" {
			return falseSQL, nil, nil
		}
		return "(s.span_id IN (SELECT unnest(?::BIGINT[])))", []any{[]int64{int64(len(c.Value.Str))}}, nil
	}
	tests := []struct{ filter, same string }{
		{`input contains "absent"`, ""},
		{`input contains "absent" and status = ok`, ""},
		{`tenant = "t" and input contains "absent"`, ""},
		{`tenant = "t" and (input contains "absent" and model ~ "gpt*")`, ""},
		{`trace.duration > 1s and input contains "absent"`, ""},
		{`input contains "absent" or input contains "absent"`, ""},
		{`input contains "absent" or tenant = "t"`, `tenant = "t"`},
		{`tenant = "t" or input contains "absent"`, `tenant = "t"`},
		{`(tenant = "t" and input contains "absent") or input contains "xy"`, `input contains "xy"`},
		{`env = "prod" and (input contains "absent" or tenant in ("a", "b"))`, `env = "prod" and tenant in ("a", "b")`},
		{`not input contains "absent"`, "-"}, // not folded
	}
	compile := func(f string) (string, []any) {
		t.Helper()
		e, err := query.Parse(f)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", f, err)
		}
		sql, args, _, err := compileFilterScopes(e, text)
		if err != nil {
			t.Fatalf("compile(%q) = %v", f, err)
		}
		if n := strings.Count(sql, "?"); n != len(args) {
			t.Errorf("compile(%q) = %q with %d placeholders and %d arguments", f, sql, n, len(args))
		}
		return sql, args
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			sql, args := compile(tt.filter)
			switch tt.same {
			case "":
				if sql != falseSQL || len(args) != 0 {
					t.Errorf("compile(%q) = %q, %v; want %q, no arguments", tt.filter, sql, args, falseSQL)
				}
			case "-":
				if sql == falseSQL {
					t.Errorf("compile(%q) = %q; want it not folded", tt.filter, sql)
				}
			default:
				wsql, wargs := compile(tt.same)
				if sql != wsql || !cmp.Equal(args, wargs) {
					t.Errorf("compile(%q) = %q, %v; want %q, %v (as %q)", tt.filter, sql, args, wsql, wargs, tt.same)
				}
			}
		})
	}
}

// TestSearchFalseShortCircuit checks that a search or stats request whose
// filter folds to FALSE answers as before without walking windows.
func TestSearchFalseShortCircuit(t *testing.T) {
	s := openSearch(t)
	s.stopCompaction()
	writeSubFixture(t, s, 30)
	from, to := t0.Add(-time.Hour), t0.Add(100*time.Hour)
	search := func(t *testing.T, filter string) ([][]uint64, []string, int64) {
		t.Helper()
		n := s.tracePages.Load()
		q := query.TraceSearch{Project: "p", Filter: mustParseT(t, filter), From: from, To: to, Limit: 5}
		var pages [][]uint64
		var notes []string
		for {
			page, err := s.SearchTraces(t.Context(), q)
			if err != nil {
				t.Fatalf("SearchTraces(%s) = %v", filter, err)
			}
			var ids []uint64
			for _, tr := range page.Traces {
				ids = append(ids, traceN(tr.TraceID))
			}
			pages, notes = append(pages, ids), append(notes, page.Notes...)
			if page.Next == "" {
				return pages, notes, s.tracePages.Load() - n
			}
			q.Cursor = page.Next
		}
	}
	// "not not" does not fold: the answer the short cut must keep, and a
	// positive control that the counter sees tracePage.
	wantPages, wantNotes, walks := search(t, `not (not input contains "zyzzogeton")`)
	if walks == 0 {
		t.Fatal("control: an unfolded filter did not enter tracePage")
	}
	for _, f := range []string{
		`input contains "zyzzogeton"`,
		`input contains "zyzzogeton" and status = ok`,
		`status = ok and input contains "zyzzogeton"`,
		`trace.duration > 1ms and input contains "zyzzogeton"`,
	} {
		t.Run(f, func(t *testing.T) {
			pages, notes, walks := search(t, f)
			if diff := cmp.Diff(wantPages, pages); diff != "" {
				t.Errorf("pages (-unfolded +folded):\n%s", diff)
			}
			if diff := cmp.Diff(wantNotes, notes); diff != "" {
				t.Errorf("notes (-unfolded +folded):\n%s", diff)
			}
			if walks != 0 {
				t.Errorf("tracePage entered %d times for a filter that matches nothing", walks)
			}
		})
	}
	// Folded to FALSE too, but the lookup of "common" stopped early
	// (partial): conservatively, the search keeps its rounds.
	t.Run("partial lookup", func(t *testing.T) {
		pages, notes, _ := search(t, `input contains "common" and input contains "zyzzogeton"`)
		if diff := cmp.Diff(wantPages, pages); diff != "" {
			t.Errorf("pages (-unfolded +folded):\n%s", diff)
		}
		if diff := cmp.Diff(wantNotes, notes); diff != "" {
			t.Errorf("notes (-unfolded +folded):\n%s", diff)
		}
	})
	t.Run("or folds to the other side", func(t *testing.T) {
		want, _, _ := search(t, `input contains "rare"`)
		got, _, walks := search(t, `input contains "zyzzogeton" or input contains "rare"`)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages (-rare +absent or rare):\n%s", diff)
		}
		if walks == 0 {
			t.Error("a filter that matches traces did not enter tracePage")
		}
	})
	t.Run("stats", func(t *testing.T) {
		for _, level := range []string{"trace", "span"} {
			stats := func(f string) any {
				st, err := s.Stats(t.Context(), query.StatsRequest{Project: "p", Filter: mustParseT(t, f), From: from, To: to,
					Level: level, Interval: time.Hour})
				if err != nil {
					t.Fatalf("Stats(%s) = %v", f, err)
				}
				return st
			}
			want := stats(`not (not input contains "zyzzogeton")`)
			if diff := cmp.Diff(want, stats(`input contains "zyzzogeton" and status = ok`)); diff != "" {
				t.Errorf("level %s: stats (-unfolded +folded):\n%s", level, diff)
			}
		}
	})
	// A lookup cut at ftsLimit before any match is not complete: its
	// FALSE holds only for the newest spans, so the search keeps its
	// walk and its truncation note.
	t.Run("truncated", func(t *testing.T) {
		s.ftsCap = 3 // every write holds 5 spans with "common"
		defer func() { s.ftsCap = 0 }()
		pages, notes, walks := search(t, `input contains "common"`)
		if walks == 0 {
			t.Error("a truncated empty lookup skipped the search")
		}
		if len(pages) != 1 || len(pages[0]) != 0 {
			t.Errorf("pages %v, want one empty page", pages)
		}
		if len(notes) == 0 || !strings.Contains(notes[0], "matched more than 3 spans") {
			t.Errorf("notes %q, want the truncation note", notes)
		}
	})
}
