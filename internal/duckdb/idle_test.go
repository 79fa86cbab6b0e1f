package duckdb

import (
	"path/filepath"
	"testing"
	"time"
)

// TestIdleCheckpoint writes enough rows for a WAL past
// idleCheckpointMinWAL and checks that a pause in writes folds it into the
// database file, and that it stays when idle checkpoints are off.
func TestIdleCheckpoint(t *testing.T) {
	pool, spans, _ := workloadPool(t, 1, 40)
	for _, tc := range []struct {
		name   string
		after  time.Duration
		folded bool
	}{
		{"on", 100 * time.Millisecond, true},
		{"off", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(t.Context(), Options{Dir: dir, IdleCheckpoint: tc.after})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Write(t.Context(), pool); err != nil {
				t.Fatal(err)
			}
			wal := filepath.Join(dir, FileName+".wal")
			if n := fileSize(wal); n < idleCheckpointMinWAL {
				t.Fatalf("WAL after the write: %d bytes, want at least %d", n, idleCheckpointMinWAL)
			}
			wait := 5 * time.Second // generous: the fold takes well under a second
			if !tc.folded {
				wait = time.Second
			}
			deadline := time.Now().Add(wait)
			for time.Now().Before(deadline) && fileSize(wal) >= idleCheckpointMinWAL {
				time.Sleep(50 * time.Millisecond)
			}
			if folded := fileSize(wal) < idleCheckpointMinWAL; folded != tc.folded {
				t.Fatalf("WAL %d bytes %s after the last write: folded %v, want %v", fileSize(wal), wait, folded, tc.folded)
			}
			if n := countRows(t, s); n != spans {
				t.Fatalf("%d span rows, want %d", n, spans)
			}
		})
	}
}
