package duckdb

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"
)

// chunkAppender appends rows to one table through DuckDB's C appender by
// writing the values straight into the vectors of a data chunk: numbers
// and strings of up to 12 bytes (stored inline in DuckDB's string_t)
// without a C call, longer strings with one. duckdb-go's Appender boxes
// every value and makes a C call per text cell; on the spans table, with
// 27 text columns, that was a fifth of the serialized writer's time.
// Rows go into the transaction open on the connection when flush runs. A
// chunkAppender is not safe for concurrent use.
type chunkAppender struct {
	app   mapping.Appender
	chunk mapping.DataChunk
	types []mapping.Type // per column
	vecs  []mapping.Vector
	data  []unsafe.Pointer // per column: the vector's values
	valid []*uint64        // per column: the validity mask once writable, else nil
	n     int              // rows in the chunk
	cap   int              // rows a chunk holds
}

// stringInline is the longest string DuckDB keeps inside its 16-byte
// string_t (duckdb.h: duckdb_string_t): a uint32 length, then the bytes,
// zero-padded.
const stringInline = 12

// newChunkAppender makes an appender on table for the connection conn,
// whose columns must have exactly the types want, in order.
func newChunkAppender(conn mapping.Connection, table string, want []mapping.Type) (*chunkAppender, error) {
	a := &chunkAppender{cap: int(mapping.VectorSize())}
	if mapping.AppenderCreate(conn, "", table, &a.app) == mapping.StateError {
		err := errors.New(mapping.AppenderError(a.app))
		mapping.AppenderDestroy(&a.app)
		return nil, fmt.Errorf("create %s appender: %w", table, err)
	}
	n := int(mapping.AppenderColumnCount(a.app))
	lts := make([]mapping.LogicalType, n)
	a.types = make([]mapping.Type, n)
	for i := range lts {
		lts[i] = mapping.AppenderColumnType(a.app, mapping.IdxT(i))
		a.types[i] = mapping.GetTypeId(lts[i])
	}
	a.chunk = mapping.CreateDataChunk(lts)
	for i := range lts {
		mapping.DestroyLogicalType(&lts[i])
	}
	if !slices.Equal(a.types, want) {
		a.close()
		return nil, fmt.Errorf("create %s appender: the table's %d columns are not the %d the writer appends", table, n, len(want))
	}
	a.vecs = make([]mapping.Vector, n)
	a.data = make([]unsafe.Pointer, n)
	a.valid = make([]*uint64, n)
	a.reset()
	return a, nil
}

// reset empties the chunk and looks its vectors up again (a reset may
// move their buffers and drops the validity masks).
func (a *chunkAppender) reset() {
	mapping.DataChunkReset(a.chunk)
	for i := range a.vecs {
		a.vecs[i] = mapping.DataChunkGetVector(a.chunk, mapping.IdxT(i))
		a.data[i] = mapping.VectorGetData(a.vecs[i])
		a.valid[i] = nil
	}
	a.n = 0
}

// next starts a row, handing a full chunk to the appender first; the set
// methods then fill the row's cells, each exactly once (a value set after
// setNull stays NULL).
func (a *chunkAppender) next() error {
	if a.n == a.cap {
		if err := a.appendChunk(); err != nil {
			return err
		}
	}
	a.n++
	return nil
}

// appendChunk hands the chunk's rows to the appender.
func (a *chunkAppender) appendChunk() error {
	if a.n == 0 {
		return nil
	}
	mapping.DataChunkSetSize(a.chunk, mapping.IdxT(a.n))
	if mapping.AppendDataChunk(a.app, a.chunk) == mapping.StateError {
		return fmt.Errorf("append rows: %s", mapping.AppenderError(a.app))
	}
	a.reset()
	return nil
}

// row is the index of the row being filled.
func (a *chunkAppender) row() int { return a.n - 1 }

func (a *chunkAppender) setInt64(col int, v int64) {
	*(*int64)(unsafe.Add(a.data[col], a.row()*8)) = v
}

func (a *chunkAppender) setInt32(col int, v int32) {
	*(*int32)(unsafe.Add(a.data[col], a.row()*4)) = v
}

func (a *chunkAppender) setFloat64(col int, v float64) {
	*(*uint64)(unsafe.Add(a.data[col], a.row()*8)) = math.Float64bits(v)
}

// setString sets a text cell; s must be valid UTF-8 (text, JSON).
func (a *chunkAppender) setString(col int, s string) {
	if len(s) > stringInline {
		mapping.VectorAssignStringElement(a.vecs[col], mapping.IdxT(a.row()), s)
		return
	}
	p := (*[16]byte)(unsafe.Add(a.data[col], a.row()*16))
	*p = [16]byte{}
	*(*uint32)(unsafe.Pointer(&p[0])) = uint32(len(s))
	copy(p[4:], s)
}

// setBytes sets a text cell from b (valid UTF-8), or NULL when b is nil.
func (a *chunkAppender) setBytes(col int, b []byte) {
	if b == nil {
		a.setNull(col)
		return
	}
	a.setString(col, unsafe.String(unsafe.SliceData(b), len(b)))
}

// setNull sets the cell to NULL.
func (a *chunkAppender) setNull(col int) {
	m := a.valid[col]
	if m == nil {
		mapping.VectorEnsureValidityWritable(a.vecs[col])
		m = (*uint64)(mapping.VectorGetValidity(a.vecs[col]))
		a.valid[col] = m
	}
	r := a.row()
	w := (*uint64)(unsafe.Add(unsafe.Pointer(m), r/64*8))
	*w &^= 1 << (r % 64)
}

// flush hands every row to DuckDB, inside the open transaction.
func (a *chunkAppender) flush() error {
	if err := a.appendChunk(); err != nil {
		return err
	}
	if mapping.AppenderFlush(a.app) == mapping.StateError {
		return fmt.Errorf("flush appender: %s", mapping.AppenderError(a.app))
	}
	return nil
}

// clear drops the rows not flushed.
func (a *chunkAppender) clear() error {
	a.reset()
	if mapping.AppenderClear(a.app) == mapping.StateError {
		return fmt.Errorf("clear appender: %s", mapping.AppenderError(a.app))
	}
	return nil
}

// close drops the rows not flushed and releases the appender.
func (a *chunkAppender) close() {
	mapping.AppenderClear(a.app)
	mapping.AppenderDestroy(&a.app)
	mapping.DestroyDataChunk(&a.chunk)
}
