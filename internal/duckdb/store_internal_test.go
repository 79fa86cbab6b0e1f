package duckdb

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

func mustOpenInternal(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), Options{Dir: tb.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("Open() = %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func testSpan(trace, span byte) loupe.Span {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return loupe.Span{
		Project: "p", TraceID: loupe.TraceID{0: trace, 15: 1}, SpanID: loupe.SpanID{7: span},
		Name: "s", Kind: loupe.KindLLM, Status: loupe.StatusOK, Start: start, End: start.Add(time.Second),
		Attributes: map[string]any{"k": int64(1)},
		Payload:    &loupe.Payload{InputValue: "in"},
	}
}

func countRows(t *testing.T, s *Store) (n int) {
	t.Helper()
	for _, table := range []string{"spans", "span_events"} {
		var c int
		if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

// TestWriteAtomic checks that a write failing after its rows were appended
// leaves nothing behind in any table, and that the store keeps working.
func TestWriteAtomic(t *testing.T) {
	batch := func(trace byte) []loupe.Batch {
		return []loupe.Batch{
			{Spans: []loupe.Span{testSpan(trace, 1), testSpan(trace, 2)}},
			{Events: []loupe.SpanEvent{{Project: "p", TraceID: loupe.TraceID{0: trace, 15: 1}, SpanID: loupe.SpanID{7: 1}, Event: loupe.Event{Name: "e"}}}},
		}
	}
	t.Run("FailBeforeCommit", func(t *testing.T) {
		s := mustOpenInternal(t)
		injected := errors.New("injected")
		s.beforeCommit = func() error { return injected }
		if err := s.Write(t.Context(), batch(1)); !errors.Is(err, injected) {
			t.Fatalf("Write() = %v, want the injected error", err)
		}
		if n := countRows(t, s); n != 0 {
			t.Errorf("rows after failed write = %d, want 0", n)
		}
		var parts int
		if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM trace_parts`).Scan(&parts); err != nil {
			t.Fatal(err)
		}
		if parts != 0 {
			t.Errorf("trace_parts rows after failed write = %d, want 0", parts)
		}
		s.beforeCommit = nil
		if err := s.Write(t.Context(), batch(2)); err != nil {
			t.Fatalf("Write() after a failed write = %v", err)
		}
		if n := countRows(t, s); n != 3 {
			t.Errorf("rows after a good write = %d, want 3 (2 spans, 1 event)", n)
		}
		// The search rows too: the failed write's must not come along
		// with the next one.
		var blocks int
		if err := s.db.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM trace_parts),
			(SELECT count(*) FROM fts_blocks)`).Scan(&parts, &blocks); err != nil {
			t.Fatal(err)
		}
		if parts != 1 || blocks > 1 {
			t.Errorf("after a failed and a good write: %d trace_parts rows (want 1), %d full-text blocks (want at most 1)", parts, blocks)
		}
		if _, err := s.Trace(t.Context(), "p", loupe.TraceID{0: 1, 15: 1}); !errors.Is(err, loupe.ErrNotFound) {
			t.Errorf("Trace(failed write) = %v, want ErrNotFound", err)
		}
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		s := mustOpenInternal(t)
		ctx, cancel := context.WithCancel(t.Context())
		s.beforeCommit = func() error { cancel(); return nil }
		if err := s.Write(ctx, batch(1)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Write() = %v, want context.Canceled", err)
		}
		if n := countRows(t, s); n != 0 {
			t.Errorf("rows after canceled write = %d, want 0", n)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s := mustOpenInternal(t)
		bad := testSpan(1, 3)
		bad.SpanID = loupe.SpanID{}
		b := batch(1)
		b[0].Spans = append(b[0].Spans, bad)
		if err := s.Write(t.Context(), b); !errors.Is(err, loupe.ErrInvalid) {
			t.Fatalf("Write(zero span id) = %v, want ErrInvalid", err)
		}
		if n := countRows(t, s); n != 0 {
			t.Errorf("rows after invalid write = %d, want 0", n)
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		s := mustOpenInternal(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(t.Context(), batch(1)); !errors.Is(err, loupe.ErrClosed) {
			t.Errorf("Write() after Close = %v, want ErrClosed", err)
		}
		if _, err := s.Trace(t.Context(), "p", loupe.TraceID{0: 1, 15: 1}); !errors.Is(err, loupe.ErrClosed) {
			t.Errorf("Trace() after Close = %v, want ErrClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close() = %v, want nil", err)
		}
	})
}

// TestInvalidUTF8 checks that a span with invalid UTF-8 text is stored (with
// U+FFFD) instead of failing the whole group commit.
func TestInvalidUTF8(t *testing.T) {
	s := mustOpenInternal(t)
	sp := testSpan(1, 1)
	sp.Name = "bad\xffname"
	sp.Attributes = map[string]any{"k\xfe": "v\xff"}
	sp.Payload = &loupe.Payload{InputValue: "in\xff"}
	if err := s.Write(t.Context(), []loupe.Batch{{Spans: []loupe.Span{sp}}}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	got, err := s.Trace(t.Context(), "p", sp.TraceID)
	if err != nil {
		t.Fatal(err)
	}
	g := got.Spans[0]
	if g.Name != "bad\uFFFDname" || g.Attributes["k\uFFFD"] != "v\uFFFD" || g.Payload.InputValue != "in\uFFFD" {
		t.Errorf("Trace() = name %q attrs %v payload %q, want U+FFFD replacements", g.Name, g.Attributes, g.Payload.InputValue)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		s, err := Open(t.Context(), Options{Dir: dir})
		if err != nil {
			t.Fatalf("Open() = %v", err)
		}
		var n int
		if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		files, err := fs.Glob(migrationFS, "migrations/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(files) {
			t.Errorf("schema_migrations rows = %d, want %d (one per migration file)", n, len(files))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any // nil: same as in
	}{
		{"String", "a\"b\\c\n\t\x01é\u2028", nil},
		{"Int64", int64(-9007199254740993), nil},
		{"Int", 5, int64(5)},
		{"Float", 1.0, nil},
		{"FloatExp", 1e21, nil},
		{"FloatNeg", -0.5, nil},
		{"NaN", math.NaN(), "NaN"},
		{"Inf", math.Inf(-1), "-Inf"},
		{"Bool", false, nil},
		{"Nil", nil, nil},
		{"Nested", map[string]any{"a": []any{int64(1), 2.5, map[string]any{"b": nil}}}, nil},
		{"Other", []string{"x"}, []any{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendAny(nil, tt.in)
			if err != nil {
				t.Fatalf("appendAny(%v) = %v", tt.in, err)
			}
			var got any
			if err := decodeJSON(string(b), &got); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			got = fixNumbers(got)
			want := tt.want
			if want == nil {
				want = tt.in
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip of %s (-want +got):\n%s", b, diff)
			}
		})
	}
}

// FuzzAppendString checks that any string encodes to JSON that decodes to
// the same string (invalid UTF-8 aside).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\x00\x1f", "é€😀", "\xff\xfe", "\u2028<>&",
		"0123456789abcdef\"0123456789abcde\\0123456789abcd\x1f0123456789abcé0123456789ab\xff0123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := decodeJSON(string(b), &got); err != nil {
			t.Fatalf("appendString(%q) = %s: invalid JSON: %v", s, b, err)
		}
		// Each invalid byte becomes U+FFFD, as with encoding/json.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r) // RuneError for an invalid byte
			i += n
		}
		if got != want.String() {
			t.Errorf("appendString(%q) decodes to %q, want %q", s, got, want.String())
		}
	})
}

// TestCrashImage checks that an acknowledged write is in the files on disk
// without Close: it copies the database file and WAL of an open store (the
// state a kill -9 leaves) and opens the copy, which replays the WAL.
func TestCrashImage(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenInternal(t)
	sp := testSpan(1, 1)
	ev := loupe.SpanEvent{Project: "p", TraceID: sp.TraceID, SpanID: sp.SpanID, Event: loupe.Event{Name: "e", Time: sp.Start}}
	if err := s.Write(t.Context(), []loupe.Batch{{Spans: []loupe.Span{sp}, Events: []loupe.SpanEvent{ev}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, PayloadDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileName, FileName + ".wal", filepath.Join(PayloadDir, "00000001.seg")} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(s.path), name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open(crash image) = %v", err)
	}
	defer c.Close()
	got, err := c.Trace(t.Context(), "p", sp.TraceID)
	if err != nil {
		t.Fatalf("Trace() on crash image = %v", err)
	}
	want := sp
	want.Payload = &loupe.Payload{InputValue: "in", Events: []loupe.Event{ev.Event}}
	if diff := cmp.Diff([]loupe.Span{want}, got.Spans); diff != "" {
		t.Errorf("crash image trace (-want +got):\n%s", diff)
	}
}
