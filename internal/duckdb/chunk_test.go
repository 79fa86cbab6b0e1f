package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/duckdb/duckdb-go/v2/mapping"
	"github.com/google/go-cmp/cmp"
)

// TestChunkAppender writes rows of every cell kind the writer uses across
// several chunks (NULLs, strings at and around the 12-byte inline limit,
// multi-byte text) and reads them back exactly.
func TestChunkAppender(t *testing.T) {
	s := mustOpenInternal(t)
	ctx := t.Context()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE chunk_t (s VARCHAR, b BIGINT, i INTEGER, d DOUBLE, n VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	types := []mapping.Type{mapping.TypeVarchar, mapping.TypeBigInt, mapping.TypeInteger, mapping.TypeDouble, mapping.TypeVarchar}
	type row struct {
		S string
		B int64
		I sql.NullInt32
		D float64
		N sql.NullString
	}
	texts := []string{"", "a", "twelve bytes", "thirteen byte", "héllo wörld €", strings.Repeat("long text ", 40)}
	var want []row
	const rows = 5000 // over two chunks
	for k := range rows {
		r := row{S: texts[k%len(texts)] + fmt.Sprint(k%7), B: int64(k) * math.MaxInt32, D: float64(k) / 3}
		if k%3 != 0 {
			r.I = sql.NullInt32{Int32: int32(-k), Valid: true}
		}
		if k%5 == 0 {
			r.N = sql.NullString{String: texts[k%len(texts)], Valid: true}
		}
		want = append(want, r)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c := dc.(driverConn)
		raw, err := rawConn(c)
		if err != nil {
			return err
		}
		if _, err := newChunkAppender(raw, "chunk_t", types[:4]); err == nil {
			return fmt.Errorf("newChunkAppender with the wrong column types succeeded")
		}
		a, err := newChunkAppender(raw, "chunk_t", types)
		if err != nil {
			return err
		}
		defer a.close()
		// Rows cleared before the transaction are never written.
		for range 3000 {
			if err := a.next(); err != nil {
				return err
			}
			a.setString(0, "dropped")
			a.setInt64(1, -1)
			a.setNull(2)
			a.setFloat64(3, -1)
			a.setNull(4)
		}
		if err := a.clear(); err != nil {
			return err
		}
		if _, err := c.ExecContext(context.Background(), "BEGIN TRANSACTION", nil); err != nil {
			return err
		}
		for _, r := range want {
			if err := a.next(); err != nil {
				return err
			}
			a.setString(0, r.S)
			a.setInt64(1, r.B)
			if r.I.Valid {
				a.setInt32(2, r.I.Int32)
			} else {
				a.setNull(2)
			}
			a.setFloat64(3, r.D)
			if r.N.Valid {
				a.setBytes(4, []byte(r.N.String))
			} else {
				a.setBytes(4, nil)
			}
		}
		if err := a.flush(); err != nil {
			return err
		}
		return commit(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.db.QueryContext(ctx, `SELECT s, b, i, d, n FROM chunk_t ORDER BY b`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var got []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.S, &r.B, &r.I, &r.D, &r.N); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows read back (-want +got):\n%s", diff)
	}
}
