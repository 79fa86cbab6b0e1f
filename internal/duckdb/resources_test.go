package duckdb

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// resourceSpan is testSpan(trace, 1) with resource attribute host = host.
func resourceSpan(trace byte, host string) loupe.Span {
	sp := testSpan(trace, 1)
	sp.Attributes = map[string]any{"k": int64(1), "resource.host.name": host}
	return sp
}

func TestResources(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(ctx, Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write := func(s *Store, sp loupe.Span) error {
		return s.Write(ctx, []loupe.Batch{{Spans: []loupe.Span{sp}}})
	}
	hostOf := func(s *Store, trace byte) any {
		t.Helper()
		tr, err := s.Trace(ctx, "p", resourceSpan(trace, "").TraceID)
		if err != nil {
			t.Fatalf("Trace(%d) = %v", trace, err)
		}
		return tr.Spans[0].Attributes["resource.host.name"]
	}
	count := func(s *Store, q string) int {
		t.Helper()
		var n int
		if err := s.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	search := func(s *Store, host string) []loupe.TraceID {
		t.Helper()
		f, err := query.Parse(`resource.host.name = "` + host + `"`)
		if err != nil {
			t.Fatal(err)
		}
		start := resourceSpan(1, "").Start
		page, err := s.SearchTraces(ctx, query.TraceSearch{Project: "p", Filter: f, From: start.Add(-1e12), To: start.Add(1e12), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []loupe.TraceID
		for _, tr := range page.Traces {
			ids = append(ids, tr.TraceID)
		}
		return ids
	}

	s := open()
	// A write that fails must not leave its new resource remembered: the
	// next span with it would point at a row that was never stored.
	s.beforeCommit = func() error { return errors.New("injected") }
	if err := write(s, resourceSpan(1, "pod-1")); err == nil {
		t.Fatal("write with a failing commit succeeded")
	}
	s.beforeCommit = nil
	for trace, host := range map[byte]string{1: "pod-1", 2: "pod-1", 3: "pod-2"} {
		if err := write(s, resourceSpan(trace, host)); err != nil {
			t.Fatal(err)
		}
	}
	// Past the bound, a new resource is kept inline.
	s.res.max = s.res.n
	if err := write(s, resourceSpan(4, "pod-3")); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		for trace, want := range map[byte]string{1: "pod-1", 2: "pod-1", 3: "pod-2", 4: "pod-3"} {
			if got := hostOf(s, trace); got != want {
				t.Errorf("trace %d: resource.host.name = %v, want %q", trace, got, want)
			}
		}
		if diff := cmp.Diff([]loupe.TraceID{resourceSpan(3, "").TraceID}, search(s, "pod-2")); diff != "" {
			t.Errorf("search pod-2 (stored once) (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]loupe.TraceID{resourceSpan(4, "").TraceID}, search(s, "pod-3")); diff != "" {
			t.Errorf("search pod-3 (inline) (-want +got):\n%s", diff)
		}
	}
	check(s)
	if got, want := count(s, `SELECT count(*) FROM resources`), 2; got != want {
		t.Errorf("resources rows = %d, want %d (pod-1 and pod-2 once each)", got, want)
	}
	if got, want := count(s, `SELECT count(*) FROM spans WHERE resource IS NOT NULL`), 1; got != want {
		t.Errorf("spans with an inline resource = %d, want %d", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// After a reopen the stored resources are known: no second row.
	s = open()
	defer s.Close()
	check(s)
	if err := write(s, resourceSpan(5, "pod-2")); err != nil {
		t.Fatal(err)
	}
	if got := hostOf(s, 5); got != "pod-2" {
		t.Errorf("trace 5 after reopen: resource.host.name = %v, want pod-2", got)
	}
	if got, want := count(s, `SELECT count(*) FROM resources`), 2; got != want {
		t.Errorf("resources rows after reopen = %d, want %d", got, want)
	}
}
