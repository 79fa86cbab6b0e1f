package otlp_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loupehq/loupe"
	benchwl "github.com/loupehq/loupe/bench/workload"
	"github.com/loupehq/loupe/internal/otlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/google/go-cmp/cmp"
)

// Wire-format builders for hand-made bodies.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func fLen(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func fStr(num protowire.Number, s string) []byte { return fLen(num, []byte(s)) }

func fVar(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func fI64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func fI32(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}

func fGroup(num protowire.Number, body []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.StartGroupType)
	b = append(b, body...)
	return protowire.AppendTag(b, num, protowire.EndGroupType)
}

// inSpan wraps span fields into a request holding that one span.
func inSpan(fields ...[]byte) []byte {
	return fLen(1, fLen(2, fLen(2, cat(fields...))))
}

// unknowns is one unknown field of every wire type.
func unknowns(num protowire.Number) []byte {
	return cat(fVar(num, 300), fI64(num+1, 7), fStr(num+2, "x"), fGroup(num+3, fVar(1, 1)), fI32(num+4, 9))
}

// nestedArrays returns an AnyValue body nesting n ArrayValues around a string.
func nestedArrays(n int) []byte {
	v := fStr(1, "leaf")
	for range n {
		v = fLen(5, fLen(1, v)) // AnyValue.array_value -> ArrayValue.values
	}
	return v
}

// protoDiff diffs the text forms of two messages (cmp.Diff on deeply
// nested messages is very slow).
func protoDiff(want, got proto.Message) string {
	o := prototext.MarshalOptions{Multiline: true}
	return cmp.Diff(o.Format(want), o.Format(got))
}

// oneSpan is the request inSpan encodes.
func oneSpan(s *tracepb.Span) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{s}}},
	}}}
}

// decodeRef is the reference: proto.Unmarshal as DecodeTraces used to
// call it, with the hand decoder's nesting bound.
func decodeRef(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	err := proto.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: otlp.MaxPBDepth}.Unmarshal(body, req)
	return req, err
}

// checkSameAsProto fails t unless DecodeTraces and proto.Unmarshal agree on
// body. It returns DecodeTraces' result.
func checkSameAsProto(t *testing.T, body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	t.Helper()
	got, err := otlp.DecodeTraces(body, otlp.Protobuf)
	want, werr := decodeRef(body)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("DecodeTraces error %v, proto.Unmarshal error %v", err, werr)
	case err != nil:
		if got != nil {
			t.Errorf("DecodeTraces returned a request with error %v", err)
		}
		if !errors.Is(err, loupe.ErrInvalid) {
			t.Errorf("DecodeTraces error %v does not wrap loupe.ErrInvalid", err)
		}
	case !proto.Equal(got, want):
		t.Fatalf("DecodeTraces differs from proto.Unmarshal (-proto +hand):\n%s", protoDiff(want, got))
	}
	return got, err
}

func workloadBodies(tb testing.TB, n int) [][]byte {
	tb.Helper()
	g := benchwl.New(1)
	start := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	var out [][]byte
	for i := range n {
		b, err := proto.Marshal(g.Request(10, start.Add(time.Duration(i)*time.Second)))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// fixtureBodies returns the protobuf encoding of the JSON fixtures and of the
// support-agent request.
func fixtureBodies(tb testing.TB) [][]byte {
	tb.Helper()
	pb, err := proto.Marshal(supportAgentRequest(1))
	if err != nil {
		tb.Fatal(err)
	}
	out := [][]byte{pb}
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		js, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		req, err := otlp.DecodeTraces(js, otlp.JSON)
		if err != nil {
			continue // a logs fixture
		}
		b, err := proto.Marshal(req)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestDecodeTracesProtobufMatchesProto(t *testing.T) {
	bodies := append(fixtureBodies(t), workloadBodies(t, 3)...)
	full := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{
			Attributes: attrs("service.name", "svc"), DroppedAttributesCount: 2,
			EntityRefs: []*commonpb.EntityRef{{SchemaUrl: "s", Type: "service", IdKeys: []string{"a", "b"}, DescriptionKeys: []string{"c"}}},
		},
		SchemaUrl: "https://opentelemetry.io/schemas/1.30.0",
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope:     &commonpb.InstrumentationScope{Name: "n", Version: "v", Attributes: attrs("k", 1), DroppedAttributesCount: 3},
			SchemaUrl: "scope-schema",
			Spans: []*tracepb.Span{{
				TraceId: tid(1), SpanId: sid(2), ParentSpanId: sid(3), TraceState: "a=b", Flags: 0x301, Name: "s",
				Kind: tracepb.Span_SPAN_KIND_CLIENT, StartTimeUnixNano: t0, EndTimeUnixNano: t0 + 5,
				Attributes: []*commonpb.KeyValue{
					kv("s", sv("x")), kv("i", iv(-5)), kv("d", dv(1.5)),
					kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
					kv("y", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, 1}}}),
					kv("e", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{}}}),
					kv("x", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: 4}}),
					kv("a", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{sv("p"), iv(2), {}}}}}),
					kv("m", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: attrs("k1", "v1", "k2", 2)}}}),
					{Key: "", KeyStrindex: 7}, {Key: "nil"},
				},
				DroppedAttributesCount: 1, DroppedEventsCount: 2, DroppedLinksCount: 3,
				Events: []*tracepb.Span_Event{{TimeUnixNano: t0 + 1, Name: "ev", Attributes: attrs("ek", "ev"), DroppedAttributesCount: 4}, {}},
				Links:  []*tracepb.Span_Link{{TraceId: tid(9), SpanId: sid(9), TraceState: "c=d", Attributes: attrs("lk", 1), DroppedAttributesCount: 5, Flags: 1}},
				Status: &tracepb.Status{Message: "boom", Code: tracepb.Status_STATUS_CODE_ERROR},
			}, {}},
		}, {}},
	}, {}}}
	b, err := proto.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	bodies = append(bodies, b)
	for i, body := range bodies {
		got, err := checkSameAsProto(t, body)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if i == len(bodies)-1 && !proto.Equal(got, full) {
			t.Errorf("every-field request (-want +got):\n%s", protoDiff(full, got))
		}
	}
}

func TestDecodeTracesProtobufEdgeCases(t *testing.T) {
	status := func(st *tracepb.Status) *coltracepb.ExportTraceServiceRequest {
		return oneSpan(&tracepb.Span{Status: st})
	}
	withAttrs := func(a ...*commonpb.KeyValue) *coltracepb.ExportTraceServiceRequest {
		return oneSpan(&tracepb.Span{Attributes: a})
	}
	deep := func(n int) *commonpb.AnyValue {
		v := sv("leaf")
		for range n {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
		}
		return v
	}
	// A span attribute's AnyValue is at depth 6; each array adds 2 levels.
	fits := (otlp.MaxPBDepth - 6) / 2
	tests := []struct {
		name    string
		body    []byte
		want    *coltracepb.ExportTraceServiceRequest // nil: an error
		wantErr string
	}{
		{name: "empty", body: nil, want: &coltracepb.ExportTraceServiceRequest{}},
		{name: "status twice is merged", body: inSpan(fLen(15, fStr(2, "m")), fLen(15, fVar(3, 2))),
			want: status(&tracepb.Status{Message: "m", Code: tracepb.Status_STATUS_CODE_ERROR})},
		{name: "resource twice is merged", body: fLen(1, cat(fLen(1, cat(fLen(1, fStr(1, "a")), fVar(2, 1))), fLen(1, cat(fLen(1, fStr(1, "b")), fVar(2, 5))))),
			want: &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{Resource: &resourcepb.Resource{
				Attributes: []*commonpb.KeyValue{{Key: "a"}, {Key: "b"}}, DroppedAttributesCount: 5}}}}},
		{name: "key value's value twice is merged", body: inSpan(fLen(9, cat(fStr(1, "k"), fLen(2, fStr(1, "v")), fLen(2, nil)))),
			want: withAttrs(kv("k", sv("v")))},
		{name: "last scalar wins", body: inSpan(fStr(5, "a"), fVar(6, 1), fStr(5, "b"), fVar(6, 3)),
			want: oneSpan(&tracepb.Span{Name: "b", Kind: tracepb.Span_SPAN_KIND_CLIENT})},
		{name: "oneof last wins", body: inSpan(fLen(9, cat(fStr(1, "k"), fLen(2, cat(fStr(1, "s"), fVar(3, 7)))))),
			want: withAttrs(kv("k", iv(7)))},
		{name: "oneof array twice is merged", body: inSpan(fLen(9, fLen(2, cat(fLen(5, fLen(1, fStr(1, "a"))), fLen(5, fLen(1, fStr(1, "b"))))))),
			want: withAttrs(&commonpb.KeyValue{Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{sv("a"), sv("b")}}}}})},
		{name: "oneof array replaced after another member", body: inSpan(fLen(9, fLen(2, cat(fLen(5, fLen(1, fStr(1, "a"))), fStr(1, "s"), fLen(5, fLen(1, fStr(1, "b"))))))),
			want: withAttrs(&commonpb.KeyValue{Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{sv("b")}}}}})},
		{name: "unknown fields of every wire type are skipped",
			body: cat(unknowns(100), fLen(1, cat(unknowns(100), fLen(2, cat(unknowns(100), fLen(2, cat(unknowns(100), fStr(5, "s"), unknowns(200),
				fLen(9, cat(unknowns(100), fStr(1, "k"), fLen(2, cat(unknowns(100), fStr(1, "v"))))), fLen(15, unknowns(100))))))))),
			want: oneSpan(&tracepb.Span{Name: "s", Attributes: attrs("k", "v"), Status: &tracepb.Status{}})},
		{name: "wire type mismatch is an unknown field", body: inSpan(fVar(5, 1), fStr(7, "x"), fStr(2, "id")),
			want: oneSpan(&tracepb.Span{SpanId: []byte("id")})},
		{name: "bad utf-8 in bytes is fine", body: inSpan(fLen(1, []byte{0xff})), want: oneSpan(&tracepb.Span{TraceId: []byte{0xff}})},
		{name: fmt.Sprintf("nesting %d arrays fits", fits), body: inSpan(fLen(9, fLen(2, nestedArrays(fits)))),
			want: withAttrs(&commonpb.KeyValue{Value: deep(fits)})},
		{name: "nesting too deep", body: inSpan(fLen(9, fLen(2, nestedArrays(fits+1)))), wantErr: "nested deeper than"},
		{name: "bad utf-8 in span name", body: inSpan(fLen(5, []byte{'a', 0xff})), wantErr: "Span field 5: string is not valid UTF-8"},
		{name: "bad utf-8 in key", body: inSpan(fLen(9, fLen(1, []byte{0xc3}))), wantErr: "KeyValue field 1: string is not valid UTF-8"},
		{name: "bad utf-8 in string value", body: inSpan(fLen(9, fLen(2, fLen(1, []byte{0xed, 0xa0, 0x80})))), wantErr: "not valid UTF-8"},
		{name: "bad utf-8 in entity id key", body: fLen(1, fLen(1, fLen(3, fLen(3, []byte{0xff})))), wantErr: "EntityRef field 3"},
		{name: "truncated tag", body: []byte{0x0a, 0x01, 0x80}, wantErr: "ResourceSpans: truncated or overlong tag"},
		{name: "truncated varint", body: inSpan([]byte{0x30, 0x80}), wantErr: "Span field 6: truncated or overlong varint"},
		{name: "overlong varint", body: inSpan([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), wantErr: "Span field 6"},
		{name: "truncated length", body: []byte{0x0a, 0x10, 0x0a}, wantErr: "ExportTraceServiceRequest field 1: truncated"},
		{name: "truncated fixed64", body: inSpan([]byte{0x39, 1, 2, 3}), wantErr: "Span field 7: truncated fixed64"},
		{name: "truncated unknown", body: inSpan([]byte{0xa1, 0x06, 1}), wantErr: "Span field 100: unknown field"},
		{name: "field number 0", body: []byte{0x02, 0x00}, wantErr: "invalid field number"},
		{name: "wire type 7", body: []byte{0x0f}, wantErr: "unknown field"},
		{name: "stray end group", body: inSpan([]byte{0x0c}), wantErr: "Span field 1: unknown field"},
		{name: "unterminated group", body: inSpan(protowire.AppendTag(nil, 100, protowire.StartGroupType)), wantErr: "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkSameAsProto(t, tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeTraces(%x) error = %v, want one containing %q", tt.body, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeTraces(%x) error = %v", tt.body, err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("DecodeTraces(%x) (-want +got):\n%s", tt.body, protoDiff(tt.want, got))
			}
		})
	}
}

// TestDecodeTracesProtobufOwnsMemory checks that the decoded request does
// not alias the body (the server reuses body buffers) and that appending to
// a decoded slice does not clobber a neighbour carved from the same slab.
func TestDecodeTracesProtobufOwnsMemory(t *testing.T) {
	body := workloadBodies(t, 1)[0]
	req, err := otlp.DecodeTraces(body, otlp.Protobuf)
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(req)
	for i := range body {
		body[i] = 0xff
	}
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans
	_ = append(spans[0].Attributes, kv("extra", sv("x")))
	_ = append(spans[0].TraceId, 0xee)
	if !proto.Equal(req, want) {
		t.Errorf("request changed with the body or a neighbour's append (-want +got):\n%s", protoDiff(want, req))
	}
}

// FuzzDecodeTracesProtobuf checks the hand decoder against proto.Unmarshal:
// for any body both fail, or both succeed with equal requests.
func FuzzDecodeTracesProtobuf(f *testing.F) {
	for _, b := range fixtureBodies(f) {
		f.Add(b)
	}
	for _, b := range workloadBodies(f, 2) {
		f.Add(b)
	}
	js, err := protojson.Marshal(supportAgentRequest(2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(js) // not protobuf at all
	f.Add(inSpan(fLen(15, fStr(2, "m")), fLen(15, fVar(3, 2))))
	f.Add(fLen(1, cat(fLen(1, fLen(1, fStr(1, "a"))), fLen(1, fLen(1, fStr(1, "b"))))))
	f.Add(cat(unknowns(100), inSpan(unknowns(100), fLen(9, cat(fStr(1, "k"), unknowns(50), fLen(2, unknowns(20)))))))
	f.Add(inSpan(fVar(5, 1), fStr(7, "x")))
	f.Add(inSpan([]byte{0x30, 0x80}))
	f.Add(inSpan(fLen(5, []byte{0xff})))
	f.Add(inSpan(fLen(9, fLen(2, nestedArrays(70)))))
	f.Add(inSpan(fLen(9, fLen(2, cat(fLen(5, fLen(1, fStr(1, "a"))), fStr(1, "s"), fLen(6, fLen(1, fStr(1, "k"))), fLen(6, nil))))))
	f.Add(inSpan(fLen(11, cat(fI64(1, 5), fLen(3, fStr(1, "k")))), fLen(13, cat(fStr(1, "t"), fI32(6, 1), fLen(4, nil)))))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameAsProto(t, body)
	})
}
