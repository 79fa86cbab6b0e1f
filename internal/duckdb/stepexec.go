package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// DuckDB's client thread busy-waits while a worker thread runs the task
// its statement is waiting for (duckdb/duckdb#22178: ExecuteInternal
// spins when ExecuteTask finds no task). The writer's COMMIT is one task;
// when the worker thread picks it up, the writer's thread spins for the
// whole commit, taking a core from the OTLP handlers. stepExec runs a
// statement one task at a time through the pending-result C API instead,
// and sleeps while no task is left for it.

// rawConn returns the C connection of a duckdb-go driver connection, or an
// error when the driver's layout is not the one this was written against
// (duckdb-go keeps it unexported; storetest and stepexec_test catch a
// change).
func rawConn(dc driver.Conn) (mapping.Connection, error) {
	c, ok := dc.(*duckdb.Conn)
	if !ok {
		return mapping.Connection{}, fmt.Errorf("unexpected driver connection %T", dc)
	}
	f := reflect.ValueOf(c).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[mapping.Connection]() {
		return mapping.Connection{}, errors.New("duckdb-go connection has no conn field of type mapping.Connection")
	}
	raw := *(*mapping.Connection)(unsafe.Pointer(f.UnsafeAddr()))
	if raw.Ptr == nil {
		return mapping.Connection{}, errors.New("duckdb-go connection is closed")
	}
	return raw, nil
}

// stepWait is how long stepExec sleeps when DuckDB's worker threads hold
// every task of its statement.
const stepWait = 50 * time.Microsecond

// stepExec runs query (no parameters, no result rows needed) on conn.
func stepExec(conn mapping.Connection, query string) error {
	var stmt mapping.PreparedStatement
	if mapping.Prepare(conn, query, &stmt) == mapping.StateError {
		err := errors.New(mapping.PrepareError(stmt))
		mapping.DestroyPrepare(&stmt)
		return err
	}
	defer mapping.DestroyPrepare(&stmt)
	var pend mapping.PendingResult
	if mapping.PendingPrepared(stmt, &pend) == mapping.StateError {
		err := errors.New(mapping.PendingError(pend))
		mapping.DestroyPending(&pend)
		return err
	}
	defer mapping.DestroyPending(&pend)
	for done := false; !done; {
		switch mapping.PendingExecuteTask(pend) {
		case mapping.PendingStateResultReady:
			done = true
		case mapping.PendingStateError:
			return errors.New(mapping.PendingError(pend))
		case mapping.PendingStateNoTasksAvailable:
			time.Sleep(stepWait)
		}
	}
	var res mapping.Result
	failed := mapping.ExecutePending(pend, &res) == mapping.StateError
	defer mapping.DestroyResult(&res)
	if failed {
		return errors.New(mapping.ResultError(&res))
	}
	return nil
}

// commit commits the transaction open on conn with stepExec. Should the
// driver's layout change, it falls back to ExecContext (and its spin);
// TestRawConn fails then.
func commit(conn driverConn) error {
	raw, err := rawConn(conn)
	if err != nil {
		_, err = conn.ExecContext(context.Background(), "COMMIT", nil)
		return err
	}
	return stepExec(raw, "COMMIT")
}
