package duckdb_test

import (
	"log/slog"
	"testing"

	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/storetest"
)

// mustOpen opens a store in dir and closes it when the test ends.
func mustOpen(tb testing.TB, dir string) *duckdb.Store {
	tb.Helper()
	s, err := duckdb.Open(tb.Context(), duckdb.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("Open(%s) = %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close() = %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	open := func(t *testing.T) storetest.Store { return mustOpen(t, t.TempDir()) }
	storetest.Run(t, open)

	dirs := map[storetest.Store]string{}
	storetest.RunReopen(t,
		func(t *testing.T) storetest.Store {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			dirs[s] = dir
			return s
		},
		func(t *testing.T, old storetest.Store) storetest.Store {
			if err := old.(*duckdb.Store).Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			return mustOpen(t, dirs[old])
		})
}
