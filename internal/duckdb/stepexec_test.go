package duckdb

import (
	"context"
	"strings"
	"testing"
)

// TestRawConn guards the one place that reaches into duckdb-go's
// unexported connection (stepexec.go): when a driver upgrade moves it,
// commit would silently go back to the spinning path.
func TestRawConn(t *testing.T) {
	s := mustOpenInternal(t)
	conn, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		_, err := rawConn(dc.(driverConn))
		return err
	})
	if err != nil {
		t.Fatalf("rawConn: %v", err)
	}
}

func TestCommit(t *testing.T) {
	s := mustOpenInternal(t)
	ctx := t.Context()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE step_t (x BIGINT)`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM step_t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	withConn := func(f func(c driverConn) error) error {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error { return f(dc.(driverConn)) })
	}
	exec := func(c driverConn, q string) {
		t.Helper()
		if _, err := c.ExecContext(context.Background(), q, nil); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	t.Run("OK", func(t *testing.T) {
		err := withConn(func(c driverConn) error {
			exec(c, "BEGIN TRANSACTION")
			exec(c, "INSERT INTO step_t SELECT range FROM range(100000)")
			return commit(c)
		})
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		if got, want := count(), 100000; got != want {
			t.Errorf("rows after commit = %d, want %d", got, want)
		}
	})
	t.Run("ErrNoTransaction", func(t *testing.T) {
		err := withConn(commit)
		if err == nil || !strings.Contains(err.Error(), "transaction") {
			t.Errorf("commit without a transaction: err = %v, want DuckDB's no-transaction error", err)
		}
	})
	t.Run("ErrStatement", func(t *testing.T) {
		err := withConn(func(c driverConn) error {
			raw, err := rawConn(c)
			if err != nil {
				return err
			}
			return stepExec(raw, "INSERT INTO no_such_table VALUES (1)")
		})
		if err == nil || !strings.Contains(err.Error(), "no_such_table") {
			t.Errorf("stepExec of a bad statement: err = %v, want one naming no_such_table", err)
		}
	})
	t.Run("ErrConflictRollsBack", func(t *testing.T) {
		// A failed COMMIT must report the error and leave nothing behind.
		before := count()
		err := withConn(func(c driverConn) error {
			exec(c, "BEGIN TRANSACTION")
			exec(c, "INSERT INTO step_t VALUES (1)")
			// A second connection alters the table under the open
			// transaction: its COMMIT must fail.
			if _, err := s.db.ExecContext(ctx, `ALTER TABLE step_t ADD COLUMN y BIGINT`); err != nil {
				return err
			}
			return commit(c)
		})
		if err == nil || !strings.Contains(err.Error(), "conflict") {
			t.Fatalf("commit over a conflicting schema change: err = %v, want DuckDB's transaction conflict", err)
		}
		if got := count(); got != before {
			t.Errorf("rows after failed commit = %d, want %d", got, before)
		}
	})
}
