package query_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// FuzzParse checks that Parse never panics, that every error is a
// positioned *query.Error wrapping loupe.ErrInvalid, and that an accepted
// filter reprints to a canonical form that parses back to the same tree and
// prints the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`prompt.version_id = "prv_2026_06_03_17" and status = error and duration > 2s`,
		`kind = tool and tool.name = "create_refund" and error.type = "INVALID_ARGUMENT"`,
		`tenant in ("t1","t2") and model ~ "gpt-4.1*" and cost > 0.01`,
		`input contains "refund"`,
		`trace.status = degraded or trace.duration > 5s and not trace.cost > $0.10`,
		`"my key" = 1 and attr.x != true and http.route !~ '/a*' and attr.n <= -1.5e3`,
		`(a.b = 1 or (c.d = 2)) and not not x.y contains "\u00e9\n\"'"`,
		`start >= 2026-06-03T17:00:00+02:00 and trace.id = 4f1c9a27e0b34f1c9a27e0b34f1c9a27`,
		`input_tokens not in (1, 2) and output not contains x`,
		`status = error; drop table spans --`,
		"tenant = \"\x00\xff\"",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := query.Parse(src)
		if err != nil {
			var qe *query.Error
			if !errors.As(err, &qe) || !errors.Is(err, loupe.ErrInvalid) {
				t.Fatalf("Parse(%q) error %v (%T), want *query.Error wrapping ErrInvalid", src, err, err)
			}
			if qe.Pos < 0 || qe.Pos > len(src) {
				t.Fatalf("Parse(%q) error position %d outside the input", src, qe.Pos)
			}
			return
		}
		if e == nil {
			return
		}
		s := e.String()
		if len(s) > query.MaxLength {
			// Canonical names and quoting can make the reprint longer
			// than the limit (env=x becomes environment = "x").
			return
		}
		again, err := query.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but reparsing %q: %v", src, s, err)
		}
		if diff := cmp.Diff(e, again, ignorePos); diff != "" {
			t.Fatalf("Parse(%q) reprinted as %q parses differently (-first +second):\n%s", src, s, diff)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("Parse(%q) reprints as %q, then as %q", src, s, s2)
		}
	})
}
