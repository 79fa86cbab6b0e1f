package sample

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupehq/loupe"
	benchwl "github.com/loupehq/loupe/bench/workload"
	"github.com/loupehq/loupe/internal/otlp"
)

// exact compares floats by their bits (NaN equals NaN, -0 differs from 0)
// and times by instant and location; cmp already tells nil from empty
// slices and maps and compares the dynamic types of any values.
var exact = cmp.Options{
	cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
}

// dynValues returns one value of every Go type the any fields hold, with
// the edge cases: NaN, ±Inf, -0, int64 extremes, nil versus empty lists and
// maps, empty and non-UTF-8 strings, nesting.
func dynValues() map[string]any {
	return map[string]any{
		"nil": nil, "false": false, "true": true,
		"int.min": int64(math.MinInt64), "int.max": int64(math.MaxInt64), "int.zero": int64(0), "int.neg": int64(-1),
		"float.nan": math.NaN(), "float.inf": math.Inf(1), "float.ninf": math.Inf(-1), "float.negzero": math.Copysign(0, -1),
		"float.zero": 0.0, "float.int": 2.0, "float.max": math.MaxFloat64, "float.tiny": math.SmallestNonzeroFloat64,
		"str.empty": "", "str.utf8": "héllo ✓ \u2028", "str.bad": "\xff\xfe\x00", "str.nantag": nanTag,
		"list.nil": []any(nil), "list.empty": []any{}, "map.nil": map[string]any(nil), "map.empty": map[string]any{},
		"list": []any{nil, int64(1), 1.5, "x", true, []any{[]any{}}, map[string]any{"k": math.NaN()}},
		"map":  map[string]any{"": "empty key", "n": map[string]any{"deeper": []any{int64(-7), math.Inf(-1)}}},
	}
}

// fillValue sets every field reachable from v (an addressable value) to a
// non-zero value, recursing through structs, pointers, slices (two
// elements), arrays and maps. Interface fields get dynValues. It fails on a
// kind it does not know, so a field of a new kind is noticed.
func fillValue(t testing.TB, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Unix(1_780_000_000+int64(*n)*3_601, int64(*n)*7_919_011%1_000_000_000).UTC()))
		return
	case reflect.TypeFor[any]():
		v.Set(reflect.ValueOf(dynValues()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-\xff-✓", *n))
	case reflect.Int64:
		v.SetInt([]int64{math.MinInt64, math.MaxInt64, -1, int64(*n)}[*n%4])
	case reflect.Float64:
		v.SetFloat([]float64{math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 0.1, float64(*n)}[*n%6])
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Array:
		for i := range v.Len() {
			fillValue(t, v.Index(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(t, v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValue(t, v.Index(i), n)
		}
	case reflect.Map:
		if v.Type() != reflect.TypeFor[map[string]any]() {
			t.Fatalf("fill: map type %v not handled", v.Type())
		}
		v.Set(reflect.ValueOf(dynValues()))
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				t.Fatalf("fill: unexported field %v.%s", v.Type(), v.Type().Field(i).Name)
			}
			fillValue(t, v.Field(i), n)
		}
	case reflect.Uint8:
		v.SetUint(uint64(*n%255 + 1))
	default:
		t.Fatalf("fill: kind %v (%v) not handled", v.Kind(), v.Type())
	}
}

// fields calls fn with every struct field reachable from v (through
// pointers, slices, arrays: the first element) and its path.
func fields(v reflect.Value, path string, fn func(path string, f reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fields(v.Elem(), path, fn)
		}
	case reflect.Slice, reflect.Array:
		if v.Len() > 0 && v.Type().Elem().Kind() != reflect.Uint8 {
			fields(v.Index(0), path+"[0]", fn)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			p := path + "." + v.Type().Field(i).Name
			fn(p, v.Field(i))
			fields(v.Field(i), p, fn)
		}
	}
}

func filledRecord(t testing.TB) *record {
	t.Helper()
	r := &record{Arrived: -1}
	n := 0
	fillValue(t, reflect.ValueOf(&r.Spans).Elem(), &n)
	fillValue(t, reflect.ValueOf(&r.Events).Elem(), &n)
	return r
}

func roundTrip(t *testing.T, r *record) *record {
	t.Helper()
	b, err := appendRecord(nil, time.Unix(0, r.Arrived), r.Spans, r.Events)
	if err != nil {
		t.Fatalf("appendRecord: %v", err)
	}
	if b[0] != formatBinary {
		t.Fatalf("record starts with 0x%02x, want the binary format byte", b[0])
	}
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatalf("decodeRecord: %v", err)
	}
	return got
}

// TestRecordEveryField fills every field of loupe.Span and loupe.SpanEvent,
// nested types included, by reflection and requires an exact round trip: a
// field added to any of them that the codec does not write reads back zero
// and fails the test.
func TestRecordEveryField(t *testing.T) {
	r := filledRecord(t)
	// The filler reached every field: none is zero.
	nfields := 0
	fields(reflect.ValueOf(r).Elem(), "record", func(path string, f reflect.Value) {
		nfields++
		if f.IsZero() && (f.Kind() != reflect.Float64 || math.Float64bits(f.Float()) == 0) { // -0 counts as set
			t.Errorf("%s is zero after fill", path)
		}
	})
	if nfields < 80 {
		t.Fatalf("visited %d fields, want at least 80 (Span, Params, Usage, Document, Payload, Message, ToolCall, DocumentText, Event, Sample, SpanEvent)", nfields)
	}
	got := roundTrip(t, r)
	if diff := cmp.Diff(r, got, exact); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}

	// Positive control: the comparison notices the loss of any single
	// field (a codec that skipped it would read it back zero).
	fields(reflect.ValueOf(got).Elem(), "record", func(path string, f reflect.Value) {
		saved := reflect.New(f.Type()).Elem()
		saved.Set(f)
		f.Set(reflect.Zero(f.Type()))
		if cmp.Equal(r, got, exact) {
			t.Errorf("control: zeroing %s goes unnoticed", path)
		}
		f.Set(saved)
	})
}

// TestRecordValues round-trips each dynamic value in every place an any
// can be: span attributes, message parts, payload event bodies and
// attributes, span event bodies and attributes.
func TestRecordValues(t *testing.T) {
	// Controls: the comparison tells apart what the codec must keep apart.
	for _, c := range []struct{ a, b any }{
		{0.0, math.Copysign(0, -1)}, {[]any{}, []any(nil)}, {map[string]any{}, map[string]any(nil)},
		{int64(2), 2.0}, {nil, []any(nil)}, {time.Unix(0, 0).UTC(), time.Unix(0, 0)},
	} {
		if cmp.Diff(c.a, c.b, exact) == "" {
			t.Fatalf("control: %#v and %#v compare equal", c.a, c.b)
		}
	}
	start := time.Date(2026, 6, 3, 17, 0, 0, 123, time.UTC)
	for k, v := range dynValues() {
		t.Run(k, func(t *testing.T) {
			attrs := map[string]any{k: v}
			ev := loupe.Event{Time: start, Name: "e", Body: v, Attributes: attrs}
			r := &record{Arrived: start.UnixNano(),
				Spans: []loupe.Span{{Attributes: attrs, Payload: &loupe.Payload{
					Input:  []loupe.Message{{Role: "user", Parts: []map[string]any{attrs}}},
					Events: []loupe.Event{ev}}}},
				Events: []loupe.SpanEvent{{Event: ev}},
			}
			got := roundTrip(t, r)
			if diff := cmp.Diff(r, got, exact); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordNilAndEmpty: nil and empty slices and maps stay apart at every
// level, and the zero time and zero span round-trip.
func TestRecordNilAndEmpty(t *testing.T) {
	tests := []struct {
		name string
		r    *record
	}{
		{"NilEverything", &record{}},
		{"EmptyTop", &record{Spans: []loupe.Span{}, Events: []loupe.SpanEvent{}}},
		{"ZeroSpan", &record{Spans: []loupe.Span{{}}, Events: []loupe.SpanEvent{{}}}},
		{"EmptyNested", &record{Spans: []loupe.Span{{
			Documents: []loupe.Document{}, Attributes: map[string]any{},
			Params: loupe.Params{StopSequences: []string{}},
			Payload: &loupe.Payload{Input: []loupe.Message{{Parts: []map[string]any{}, ToolCalls: []loupe.ToolCall{}}},
				Output: []loupe.Message{}, Documents: []loupe.DocumentText{}, Events: []loupe.Event{}},
		}}}},
		{"NilPart", &record{Spans: []loupe.Span{{Payload: &loupe.Payload{Input: []loupe.Message{{Parts: []map[string]any{nil, {}}}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, tt.r)
			if diff := cmp.Diff(tt.r, got, exact); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordOtherGoTypes: a value of a Go type outside the normalizer's
// (as tests or future code might put in attributes) is kept as JSON and
// reads back as the JSON records read it.
func TestRecordOtherGoTypes(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"Int", 7, int64(7)},
		{"Float32", float32(1.5), 1.5},
		{"Strings", []string{"a", "b"}, []any{"a", "b"}},
		{"StringMap", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"Struct", struct{ A int }{3}, map[string]any{"A": int64(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &record{Spans: []loupe.Span{{Attributes: map[string]any{"v": tt.in}}}}
			got := roundTrip(t, r)
			if diff := cmp.Diff(tt.want, got.Spans[0].Attributes["v"], exact); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := appendRecord(nil, time.Time{}, []loupe.Span{{Attributes: map[string]any{"c": make(chan int)}}}, nil); err == nil {
		t.Error("encoding a channel value: no error")
	}
}

// nested returns a list value nested depth lists deep.
func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}

func TestRecordDepth(t *testing.T) {
	ok := &record{Spans: []loupe.Span{{Attributes: map[string]any{"deep": nested(maxValueDepth)}}}}
	got := roundTrip(t, ok)
	v, depth := got.Spans[0].Attributes["deep"], 0
	for {
		l, isList := v.([]any)
		if !isList || len(l) != 1 {
			break
		}
		v, depth = l[0], depth+1
	}
	if depth != maxValueDepth || v != "leaf" {
		t.Errorf("round trip at the depth limit: %d lists then %#v, want %d then \"leaf\"", depth, v, maxValueDepth)
	}
	if _, err := appendRecord(nil, time.Time{}, []loupe.Span{{Attributes: map[string]any{"deep": nested(maxValueDepth + 1)}}}, nil); err == nil {
		t.Error("encoding a value past the depth limit: no error")
	}
	// A crafted record nested far deeper fails to decode without
	// exhausting the stack.
	var b []byte
	b = append(b, formatBinary, 0, 0, 2) // arrived 0, no spans, one event
	b = append(b, 0)                     // project ""
	b = append(b, make([]byte, 24)...)
	b = append(b, 0, 0, 0) // time 0s 0ns, name ""
	for range 1_000_000 {
		b = append(b, tagList, 2)
	}
	b = append(b, tagNil, 0)
	if _, err := decodeRecord(b); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("decoding 1e6 nested lists: err = %v, want nested too deeply", err)
	}
}

// workloadBatch returns one standard-workload request (10 traces of ~12
// spans) normalized as the server does.
func workloadBatch(tb testing.TB, seed uint64, traces int) []loupe.Span {
	tb.Helper()
	req := benchwl.New(seed).Request(traces, time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC))
	ss, rej := otlp.NewNormalizer(otlp.Options{}).Traces(loupe.DefaultProject, req, nil)
	if rej.Count > 0 {
		tb.Fatalf("normalizer rejected %d spans: %s", rej.Count, rej.Message)
	}
	return ss
}

// TestRecordCorrupt: every truncation and many single-byte changes of a
// valid record decode to an error or a record, never a panic; the
// truncations are all errors.
func TestRecordCorrupt(t *testing.T) {
	spans := workloadBatch(t, 3, 1)
	b, err := appendRecord(nil, time.Unix(5, 0), spans[:3], []loupe.SpanEvent{{Event: loupe.Event{Body: dynValues()}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRecord(b); err != nil {
		t.Fatalf("control: the intact record: %v", err)
	}
	for n := range len(b) {
		if _, err := decodeRecord(b[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
	if _, err := decodeRecord(append(bytes.Clone(b), 0)); err == nil {
		t.Error("a trailing byte: no error")
	}
	c := bytes.Clone(b)
	for i := range c {
		for _, x := range []byte{0xff, 0x80, 0x01} {
			old := c[i]
			c[i] ^= x
			_, _ = decodeRecord(c) // must not panic
			c[i] = old
		}
	}
	for _, bad := range [][]byte{nil, {}, {0x02}, {'['}, {formatBinary}} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("decodeRecord(%q): no error", bad)
		}
	}
}

// TestRecordHugeLengths: a length claiming more elements than the bytes
// left is an error before anything is allocated for it.
func TestRecordHugeLengths(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"Spans", append([]byte{formatBinary, 0}, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"SpansOneTooMany", append([]byte{formatBinary, 0, 3}, make([]byte, minSpanBytes)...)},
		{"Events", []byte{formatBinary, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"String", []byte{formatBinary, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decodeRecord(tt.b)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<16 {
				t.Errorf("allocated %d bytes decoding %d", d, len(tt.b))
			}
		})
	}
}

// TestRecordJSONCompat: a record written by the previous version (JSON,
// testdata/record-v0.json, produced by its encodeRecord from a workload
// trace plus floats, NaN and ±Inf in attributes and an event) still
// decodes, with its values' Go types, and re-encodes in the binary format
// to the same record.
func TestRecordJSONCompat(t *testing.T) {
	body, err := os.ReadFile("testdata/record-v0.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRecord(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Spans) != 12 || len(r.Events) != 1 {
		t.Fatalf("%d spans, %d events; want 12, 1", len(r.Spans), len(r.Events))
	}
	attrs := r.Spans[0].Attributes
	if f, ok := attrs["x.nan"].(float64); !ok || !math.IsNaN(f) {
		t.Errorf("x.nan = %#v, want NaN", attrs["x.nan"])
	}
	if diff := cmp.Diff(map[string]any{"x.f": 2.0, "x.inf": math.Inf(-1),
		"x.list": []any{int64(1), 1.5, "a", true, nil, map[string]any{"k": []any{}}}},
		map[string]any{"x.f": attrs["x.f"], "x.inf": attrs["x.inf"], "x.list": attrs["x.list"]}, exact); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	wantEv := loupe.Event{Time: time.Date(2026, 6, 3, 17, 0, 0, 1e6, time.UTC), Name: "gen_ai.choice",
		Body:       map[string]any{"role": "assistant", "score": 0.25, "n": int64(-3)},
		Attributes: map[string]any{"a": math.Inf(1), "b": int64(math.MaxInt64)}}
	if diff := cmp.Diff(wantEv, r.Events[0].Event, exact); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if got := roundTrip(t, r); !cmp.Equal(r, got, exact) {
		t.Errorf("binary re-encoding of the JSON record (-json +binary):\n%s", cmp.Diff(r, got, exact))
	}
}

// TestRecordJSONAndBinaryAgree: on standard-workload batches, the previous
// JSON codec and the binary one read back the same spans up to what JSON
// lost (nil versus empty), so a replay gives the sampler and the store
// what it gave them before.
func TestRecordJSONAndBinaryAgree(t *testing.T) {
	spans := workloadBatch(t, 11, 10)
	arrived := time.Date(2026, 6, 3, 17, 0, 1, 0, time.UTC)
	jb, err := encodeRecordJSON(arrived, spans, nil)
	if err != nil {
		t.Fatal(err)
	}
	jr, err := decodeRecord(jb)
	if err != nil {
		t.Fatal(err)
	}
	br := roundTrip(t, &record{Arrived: arrived.UnixNano(), Spans: spans})
	if diff := cmp.Diff(spans, br.Spans, exact); diff != "" {
		t.Fatalf("binary round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(jr, br, exact, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("json vs binary (-json +binary):\n%s", diff)
	}
}
