package duckdb

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/query"
)

// Sorted trace lists (query.Sort). A list is ordered by one summary value
// (a column of the per-trace row t, see traceAggSQL), then start time,
// then trace id, all in the sort's direction, and paged by keyset: the
// cursor holds the last row's sort value, start and id, and the next page
// asks for the rows strictly after that tuple. Traces written between
// pages therefore never shift or repeat rows; a trace whose summary changes
// between pages (a late part adds spans, tokens or duration) may move
// across the cursor, like any keyset over mutable values.
//
// Cost: newest or oldest first (start_time) walks the range in time
// windows and stops once the page is full (window.go). Any other sort
// orders every matching trace of the time range (a top-N over the range's
// trace rows): its cost grows with the traces in [From, To), not with the
// store.

// sortKind is how a sort value is scanned and encoded in a cursor.
type sortKind uint8

const (
	sortInt sortKind = iota
	sortFloat
	sortText
)

// sortSpec is a validated query.Sort.
type sortSpec struct {
	idx  byte   // index in query.SortFields
	expr string // SQL over the per-trace row
	kind sortKind
	asc  bool
}

// sortExpr maps query.SortFields to SQL over the per-trace row. status
// orders by severity (ok < degraded < error), so "-status" lists failures
// first.
func sortExpr(field string) (string, sortKind, bool) {
	switch field {
	case "start_time":
		return "start_ns", sortInt, true
	case "name":
		return "name", sortText, true
	case "status":
		return "(CASE status WHEN 'ok' THEN 0 WHEN 'degraded' THEN 1 ELSE 2 END)::BIGINT", sortInt, true
	case "duration_ms":
		return "duration_ns", sortInt, true
	case "span_count":
		return "span_count", sortInt, true
	case "total_tokens":
		return "(input_tokens + output_tokens)", sortInt, true
	case "cost_usd":
		return "cost_usd", sortFloat, true
	case "prompt_version_id":
		return "prompt_version_id", sortText, true
	case "model":
		return "model", sortText, true
	}
	return "", 0, false
}

// newSortSpec validates s.
func newSortSpec(s query.Sort) (sortSpec, error) {
	f := s.Field
	if f == "" {
		f = "start_time"
	}
	i := slices.Index(query.SortFields, f)
	expr, kind, ok := sortExpr(f)
	if i < 0 || !ok {
		return sortSpec{}, fmt.Errorf("%w: cannot sort by %q", loupe.ErrInvalid, s.Field)
	}
	return sortSpec{idx: byte(i), expr: expr, kind: kind, asc: s.Asc}, nil
}

// byStart reports whether the list is ordered by start time.
func (s sortSpec) byStart() bool { return query.SortFields[s.idx] == "start_time" }

// newestFirst reports whether s is the default order.
func (s sortSpec) newestFirst() bool { return s.byStart() && !s.asc }

func (s sortSpec) dir() string {
	if s.asc {
		return "ASC"
	}
	return "DESC"
}

// orderBy returns the ORDER BY list over the sort value sort_v.
func (s sortSpec) orderBy() string {
	d := s.dir()
	if s.byStart() {
		return "start_ns " + d + ", trace_hi " + d + ", trace_lo " + d
	}
	return "sort_v " + d + ", start_ns " + d + ", trace_hi " + d + ", trace_lo " + d
}

// after returns the keyset condition "strictly after c in the order of s"
// and its arguments.
func (s sortSpec) after(c cursor) (string, []any) {
	op := "<"
	if s.asc {
		op = ">"
	}
	cond := "(start_ns " + op + " ? OR (start_ns = ? AND (trace_hi " + op + " ? OR (trace_hi = ? AND trace_lo " + op + " ?))))"
	args := []any{c.start, c.start, c.hi, c.hi, c.lo}
	if s.byStart() {
		return cond, args
	}
	v := c.value()
	return "(sort_v " + op + " ? OR (sort_v = ? AND " + cond + "))", append([]any{v, v}, args...)
}

// cursor is the position after the last trace of a page: its sort value
// (for sorts other than start_time), start and trace id.
type cursor struct {
	sort       byte // index in query.SortFields
	asc        bool
	kind       sortKind
	i          int64
	f          float64
	s          string
	start      int64
	hi, lo     int64
	legacyForm bool // newest first: encoded as the 24-byte form
}

func (c cursor) value() any {
	switch c.kind {
	case sortFloat:
		return c.f
	case sortText:
		return c.s
	}
	return c.i
}

// String encodes c. Newest first keeps the original 24 bytes (start, hi,
// lo); every other sort adds a header (field index, direction) and the
// sort value: 8 bytes for numbers, the text's bytes for text.
func (c cursor) String() string {
	b := make([]byte, 0, 26+8+len(c.s))
	if !c.legacyForm {
		asc := byte(0)
		if c.asc {
			asc = 1
		}
		b = append(b, c.sort+1, asc) // +1: never a valid legacy length
	}
	b = binary.BigEndian.AppendUint64(b, uint64(c.start))
	b = binary.BigEndian.AppendUint64(b, uint64(c.hi))
	b = binary.BigEndian.AppendUint64(b, uint64(c.lo))
	if !c.legacyForm && query.SortFields[c.sort] != "start_time" {
		switch c.kind {
		case sortInt:
			b = binary.BigEndian.AppendUint64(b, uint64(c.i))
		case sortFloat:
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(c.f))
		case sortText:
			b = append(b, c.s...)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// errCursorSort answers a cursor made by a list in another order.
var errCursorSort = fmt.Errorf("%w: cursor does not match sort", loupe.ErrInvalid)

// parseCursor decodes a cursor for a list ordered by s.
func parseCursor(str string, s sortSpec) (cursor, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(str)
	malformed := fmt.Errorf("%w: malformed cursor", loupe.ErrInvalid)
	// Only the canonical encoding (the decoder skips newlines).
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != str {
		return cursor{}, malformed
	}
	c := cursor{sort: s.idx, asc: s.asc, kind: s.kind}
	if len(b) == 24 {
		if !s.newestFirst() {
			return cursor{}, errCursorSort
		}
		c.legacyForm = true
	} else {
		if len(b) < 26 || int(b[0]) < 1 || int(b[0]) > len(query.SortFields) || b[1] > 1 {
			return cursor{}, malformed
		}
		if b[0]-1 != s.idx || (b[1] == 1) != s.asc || s.newestFirst() {
			return cursor{}, errCursorSort
		}
		b = b[2:]
	}
	c.start = int64(binary.BigEndian.Uint64(b[0:]))
	c.hi = int64(binary.BigEndian.Uint64(b[8:]))
	c.lo = int64(binary.BigEndian.Uint64(b[16:]))
	rest := b[24:]
	if c.legacyForm || s.byStart() {
		if len(rest) != 0 {
			return cursor{}, malformed
		}
		return c, nil
	}
	switch s.kind {
	case sortInt, sortFloat:
		if len(rest) != 8 {
			return cursor{}, malformed
		}
		u := binary.BigEndian.Uint64(rest)
		c.i, c.f = int64(u), math.Float64frombits(u)
	case sortText:
		if !utf8.Valid(rest) {
			return cursor{}, malformed
		}
		c.s = string(rest)
	}
	return c, nil
}

// cursorAt returns the cursor of a row of a list ordered by s.
func (s sortSpec) cursorAt(start, hi, lo int64, v any) cursor {
	c := cursor{sort: s.idx, asc: s.asc, kind: s.kind, start: start, hi: hi, lo: lo, legacyForm: s.newestFirst()}
	switch x := v.(type) {
	case int64:
		c.i = x
	case int32:
		c.i = int64(x)
	case float64:
		c.f = x
	case string:
		c.s = x
	}
	return c
}
