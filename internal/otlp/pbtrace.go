package otlp

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"

	"github.com/loupehq/loupe"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// This file decodes an OTLP ExportTraceServiceRequest protobuf by hand into
// the generated structs, about three times faster than proto.Unmarshal
// (reflection-driven, one allocation per message), the way VictoriaTraces
// does (lib/protoparser/opentelemetry/pb). Field numbers come from
// opentelemetry-proto v1.11.1 (go.opentelemetry.io/proto/otlp):
// collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
// common/v1/common.proto and resource/v1/resource.proto, as in the struct
// tags of the generated .pb.go files.
//
// The result equals what proto.UnmarshalOptions{DiscardUnknown: true,
// RecursionLimit: maxPBDepth} produces for every input (FuzzDecodeTracesProtobuf
// checks it against proto.Unmarshal), following the protobuf encoding spec
// (https://protobuf.dev/programming-guides/encoding/) as the Go runtime
// implements it:
//   - unknown fields are skipped (groups included) and not kept: nothing in
//     loupe reads unknown fields, and DecodeTraces always discarded them;
//   - a known field with another wire type than its own is an unknown field
//     (the Go runtime skips it too rather than failing);
//   - repeated fields append; the last value of a scalar field wins;
//   - an embedded message that appears twice is merged into the first;
//   - the AnyValue oneof takes the last member seen, merging a message member
//     into the one already held when it is of the same kind;
//   - truncated or overlong varints, lengths past the end, field number 0 or
//     above 2^29-1, wire types 6 and 7, and stray end-group tags are errors;
//   - a proto3 string field holding invalid UTF-8 is an error;
//   - messages nest at most maxPBDepth deep (the request itself counts 1).
//
// Messages are allocated in slabs per request (one backing array per
// message type, grown in chunks); a message first counts its repeated
// fields, then fills slices of exactly that size carved from a per-type
// pointer slab (fewer pointer writes, hence write barriers, than appending).
// A slab lives as long as any of its messages is referenced; the decoded
// request is dropped once normalized. Strings and byte fields are copied:
// nothing aliases the body. Short strings are shared within the request.

// maxPBDepth bounds message nesting (AnyValue holds arrays and key-value
// lists of AnyValues). The request is depth 1 and a span attribute's
// AnyValue depth 6, so 128 leaves about 60 levels of nested arrays, far more
// than any exporter sends, while keeping recursion on the goroutine stack
// shallow. proto.Unmarshal's default is 10000.
const maxPBDepth = 128

// Field numbers by message (trace.proto, common.proto, resource.proto).
const (
	// ExportTraceServiceRequest
	fReqResourceSpans = 1 // repeated ResourceSpans resource_spans

	// ResourceSpans
	fRSResource   = 1 // Resource resource
	fRSScopeSpans = 2 // repeated ScopeSpans scope_spans
	fRSSchemaURL  = 3 // string schema_url

	// ScopeSpans
	fSSScope     = 1 // InstrumentationScope scope
	fSSSpans     = 2 // repeated Span spans
	fSSSchemaURL = 3 // string schema_url

	// Span
	fSpanTraceID        = 1  // bytes trace_id
	fSpanSpanID         = 2  // bytes span_id
	fSpanTraceState     = 3  // string trace_state
	fSpanParentSpanID   = 4  // bytes parent_span_id
	fSpanName           = 5  // string name
	fSpanKind           = 6  // SpanKind kind (varint)
	fSpanStart          = 7  // fixed64 start_time_unix_nano
	fSpanEnd            = 8  // fixed64 end_time_unix_nano
	fSpanAttributes     = 9  // repeated KeyValue attributes
	fSpanDroppedAttrs   = 10 // uint32 dropped_attributes_count
	fSpanEvents         = 11 // repeated Event events
	fSpanDroppedEvents  = 12 // uint32 dropped_events_count
	fSpanLinks          = 13 // repeated Link links
	fSpanDroppedLinks   = 14 // uint32 dropped_links_count
	fSpanStatus         = 15 // Status status
	fSpanFlags          = 16 // fixed32 flags
	fEventTime          = 1  // Span.Event: fixed64 time_unix_nano
	fEventName          = 2  // Span.Event: string name
	fEventAttributes    = 3  // Span.Event: repeated KeyValue attributes
	fEventDroppedAttrs  = 4  // Span.Event: uint32 dropped_attributes_count
	fLinkTraceID        = 1  // Span.Link: bytes trace_id
	fLinkSpanID         = 2  // Span.Link: bytes span_id
	fLinkTraceState     = 3  // Span.Link: string trace_state
	fLinkAttributes     = 4  // Span.Link: repeated KeyValue attributes
	fLinkDroppedAttrs   = 5  // Span.Link: uint32 dropped_attributes_count
	fLinkFlags          = 6  // Span.Link: fixed32 flags
	fStatusMessage      = 2  // Status: string message (1 is reserved)
	fStatusCode         = 3  // Status: StatusCode code (varint)
	fScopeName          = 1  // InstrumentationScope: string name
	fScopeVersion       = 2  // InstrumentationScope: string version
	fScopeAttributes    = 3  // InstrumentationScope: repeated KeyValue attributes
	fScopeDroppedAttrs  = 4  // InstrumentationScope: uint32 dropped_attributes_count
	fResAttributes      = 1  // Resource: repeated KeyValue attributes
	fResDroppedAttrs    = 2  // Resource: uint32 dropped_attributes_count
	fResEntityRefs      = 3  // Resource: repeated EntityRef entity_refs
	fEntitySchemaURL    = 1  // EntityRef: string schema_url
	fEntityType         = 2  // EntityRef: string type
	fEntityIDKeys       = 3  // EntityRef: repeated string id_keys
	fEntityDescKeys     = 4  // EntityRef: repeated string description_keys
	fKVKey              = 1  // KeyValue: string key
	fKVValue            = 2  // KeyValue: AnyValue value
	fKVKeyStrindex      = 3  // KeyValue: int32 key_strindex
	fAnyString          = 1  // AnyValue oneof: string string_value
	fAnyBool            = 2  // AnyValue oneof: bool bool_value
	fAnyInt             = 3  // AnyValue oneof: int64 int_value
	fAnyDouble          = 4  // AnyValue oneof: double double_value
	fAnyArray           = 5  // AnyValue oneof: ArrayValue array_value
	fAnyKvlist          = 6  // AnyValue oneof: KeyValueList kvlist_value
	fAnyBytes           = 7  // AnyValue oneof: bytes bytes_value
	fAnyStringStrindex  = 8  // AnyValue oneof: int32 string_value_strindex
	fArrayValues        = 1  // ArrayValue: repeated AnyValue values
	fKeyValueListValues = 1  // KeyValueList: repeated KeyValue values
)

// decodeTracesProtobuf decodes an ExportTraceServiceRequest. Errors wrap
// loupe.ErrInvalid and name the message and field at fault.
func decodeTracesProtobuf(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := UnmarshalTraces(body, req); err != nil {
		return nil, err
	}
	return req, nil
}

// UnmarshalTraces decodes the protobuf ExportTraceServiceRequest body into
// req, which should be empty (fields already set are merged with, as
// proto.Merge would). It is the decoder DecodeTraces uses for Protobuf,
// for callers that own the message, such as a gRPC codec. The request
// copies what it keeps from body. Errors wrap loupe.ErrInvalid and name the
// message and field at fault; after an error req is partly filled.
func UnmarshalTraces(body []byte, req *coltracepb.ExportTraceServiceRequest) error {
	d := pbDecoder{}
	d.sizeFor(len(body))
	if err := d.request(body, req); err != nil {
		return fmt.Errorf("%w: protobuf: %v", loupe.ErrInvalid, err)
	}
	return nil
}

// pbError is a decoding error: what went wrong in which field.
type pbError struct {
	msg   string // message type, e.g. "Span"
	field protowire.Number
	what  string
}

func (e *pbError) Error() string {
	if e.field == 0 {
		return fmt.Sprintf("%s: %s", e.msg, e.what)
	}
	return fmt.Sprintf("%s field %d: %s", e.msg, e.field, e.what)
}

func errAt(msg string, field protowire.Number, what string) error {
	return &pbError{msg: msg, field: field, what: what}
}

// slab hands out pointers into chunks of T, so that a request's messages of
// one type take a few allocations instead of one each. Chunks are never
// appended to past their capacity (that would move the messages). The first
// chunk is sized from the body (sizeFor); later ones are a quarter of it, so
// a small underestimate wastes little.
type slab[T any] struct {
	buf  []T
	next int // size of the next chunk
}

func (s *slab[T]) new() *T {
	if len(s.buf) == cap(s.buf) {
		n := max(s.next, 8)
		s.buf = make([]T, 0, n)
		s.next = max(n/4, 8)
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// ptrs hands out the slices of repeated message fields: a message counts
// its elements first (countFields), then appends them to a slice of exactly
// that capacity carved from a shared chunk, writing each pointer once.
type ptrs[T any] struct {
	buf  []*T
	next int // size of the next chunk
}

// carve returns dst with room for n more elements: a fresh carving when dst
// is nil, else dst grown (a merged message's second occurrence).
func (p *ptrs[T]) carve(dst []*T, n int) []*T {
	if n <= 0 {
		return dst
	}
	if dst != nil {
		return slices.Grow(dst, n)
	}
	if cap(p.buf)-len(p.buf) < n {
		c := max(p.next, n, 16)
		p.buf = make([]*T, 0, c)
		p.next = max(c/4, 16)
	}
	l := len(p.buf)
	p.buf = p.buf[:l+n]
	return p.buf[l : l : l+n]
}

// open returns a slice to append a list's elements to: dst itself when it
// already holds elements (a merged message), else an empty slice over the
// rest of the current chunk. Only lists that never nest in one another may
// share a ptrs through open and commit (spans' attributes, spans, ...).
func (p *ptrs[T]) open(dst []*T) []*T {
	if dst != nil {
		return dst
	}
	if cap(p.buf)-len(p.buf) < 32 {
		c := max(p.next, 32)
		p.buf = make([]*T, 0, c)
		p.next = max(c/4, 32)
	}
	return p.buf[len(p.buf):len(p.buf)]
}

// commit ends a list open returned: if its elements still lie in the chunk
// they are claimed, and the list's capacity is capped so that appending to
// it later cannot overwrite the next list.
func (p *ptrs[T]) commit(list []*T) []*T {
	n := len(list)
	if n == 0 {
		return list
	}
	if l := len(p.buf); l < cap(p.buf) && &list[0] == &p.buf[l : l+1][0] {
		p.buf = p.buf[:l+n]
		return list[:n:n]
	}
	// The list outgrew the chunk (append moved it) or was a merged one.
	p.next = max(p.next, 4*n)
	p.buf = p.buf[:cap(p.buf)] // start a new chunk at the next open
	return list[:n:n]
}

// countFields counts the length-delimited fields numbered f1, f2 and f3
// of message m, to size their slices. It stops at the first malformed
// field; the decoding pass reports it.
func countFields(m []byte, f1, f2, f3 protowire.Number) (n1, n2, n3 int) {
	for len(m) > 0 {
		var num protowire.Number
		var typ protowire.Type
		if c := m[0]; c < 0x80 {
			num, typ = protowire.Number(c>>3), protowire.Type(c&7)
			m = m[1:]
		} else {
			var n int
			if num, typ, n = tag(m); n < 0 {
				return
			}
			m = m[n:]
		}
		var n int
		if typ == wLen {
			if len(m) > 0 && m[0] < 0x80 {
				n = 1 + int(m[0])
			} else {
				l, k := protowire.ConsumeVarint(m)
				if k < 0 {
					return
				}
				n = k + int(min(l, uint64(len(m))))
			}
			switch num {
			case f1:
				n1++
			case f2:
				n2++
			case f3:
				n3++
			}
		} else if n = protowire.ConsumeFieldValue(num, typ, m); n < 0 {
			return
		}
		if n > len(m) {
			return
		}
		m = m[n:]
	}
	return
}

// pbDecoder holds one request's slabs.
type pbDecoder struct {
	resourceSpans slab[tracepb.ResourceSpans]
	scopeSpans    slab[tracepb.ScopeSpans]
	spans         slab[tracepb.Span]
	events        slab[tracepb.Span_Event]
	links         slab[tracepb.Span_Link]
	statuses      slab[tracepb.Status]
	kvs           slab[commonpb.KeyValue]
	anys          slab[commonpb.AnyValue]
	strVals       slab[commonpb.AnyValue_StringValue]
	intVals       slab[commonpb.AnyValue_IntValue]
	bytes         []byte // backing array of byte fields (ids)
	interned      [1 << internBits]string

	rsPtrs    ptrs[tracepb.ResourceSpans]
	ssPtrs    ptrs[tracepb.ScopeSpans]
	spanPtrs  ptrs[tracepb.Span]
	eventPtrs ptrs[tracepb.Span_Event]
	linkPtrs  ptrs[tracepb.Span_Link]
	kvPtrs    ptrs[commonpb.KeyValue] // through carve
	// spanAttrPtrs holds spans' attributes (through open and commit).
	spanAttrPtrs ptrs[commonpb.KeyValue]
	anyPtrs      ptrs[commonpb.AnyValue]
}

// sizeFor picks the first chunk sizes from the body size: the standard
// workload has about one span per 1.5 KB and one attribute per 185 bytes,
// so a typical request fits in the first chunk of each type.
func (d *pbDecoder) sizeFor(n int) {
	spans := min(max(n/1400, 8), 1<<12)
	kvs := min(max(n/160, 16), 1<<14)
	d.spans.next = spans
	d.spanPtrs.next = spans
	d.statuses.next = spans
	d.kvs.next = kvs
	d.spanAttrPtrs.next = kvs
	d.anys.next = kvs
	d.strVals.next = kvs
	d.intVals.next = kvs / 4
	d.events.next = spans / 4
}

// copyBytes copies a bytes field; empty is nil, as proto3 decodes it.
func (d *pbDecoder) copyBytes(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	if cap(d.bytes)-len(d.bytes) < len(v) {
		if len(v) > 256 {
			return append([]byte(nil), v...)
		}
		d.bytes = make([]byte, 0, 4096)
	}
	l := len(d.bytes)
	d.bytes = append(d.bytes, v...)
	return d.bytes[l : l+len(v) : l+len(v)]
}

// tag reads a field tag. n < 0 means an error (reported by the caller).
func tag(b []byte) (protowire.Number, protowire.Type, int) {
	var v uint64
	var n int
	if b[0] < 0x80 {
		v, n = uint64(b[0]), 1
	} else if len(b) >= 2 && b[1] < 0x80 {
		v, n = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
	} else {
		v, n = protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, 0, -1
		}
	}
	if num := v >> 3; num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		return 0, 0, -2
	}
	return protowire.Number(v >> 3), protowire.Type(v & 7), n
}

// next reads the tag of a message's next field. Each decoding function loops:
//
//	for len(b) > 0 { num, typ, err := next(&b, msg) ... }
//
// next consumes the tag; the caller consumes the value or calls skip. The
// one-byte tags of fields 1 to 15 take the inlined fast path.
func next(b *[]byte, msg string) (protowire.Number, protowire.Type, error) {
	if bb := *b; bb[0] < 0x80 && bb[0] >= 8 {
		*b = bb[1:]
		return protowire.Number(bb[0] >> 3), protowire.Type(bb[0] & 7), nil
	}
	return nextSlow(b, msg)
}

func nextSlow(b *[]byte, msg string) (protowire.Number, protowire.Type, error) {
	num, typ, n := tag(*b)
	switch n {
	case -1:
		return 0, 0, errAt(msg, 0, "truncated or overlong tag")
	case -2:
		return 0, 0, errAt(msg, 0, "invalid field number")
	}
	*b = (*b)[n:]
	return num, typ, nil
}

// skip consumes an unknown field's value (or a known field's sent with
// another wire type, which proto treats as unknown).
func skip(b *[]byte, msg string, num protowire.Number, typ protowire.Type) error {
	n := protowire.ConsumeFieldValue(num, typ, *b)
	if n < 0 {
		return errAt(msg, num, fmt.Sprintf("unknown field: %v", protowire.ParseError(n)))
	}
	*b = (*b)[n:]
	return nil
}

// readBytes reads a length-delimited value; lengths under 128 take the
// inlined fast path.
func readBytes(b *[]byte, msg string, num protowire.Number) ([]byte, error) {
	if bb := *b; len(bb) > 0 && bb[0] < 0x80 && int(bb[0]) < len(bb) {
		l := int(bb[0]) + 1
		*b = bb[l:]
		return bb[1:l], nil
	}
	return readBytesSlow(b, msg, num)
}

func readBytesSlow(b *[]byte, msg string, num protowire.Number) ([]byte, error) {
	v, n := protowire.ConsumeBytes(*b)
	if n < 0 {
		return nil, errAt(msg, num, "truncated length-delimited value")
	}
	*b = (*b)[n:]
	return v, nil
}

// readString reads a string field, checking that it is UTF-8 as proto3
// requires.
func (d *pbDecoder) readString(b *[]byte, msg string, num protowire.Number) (string, error) {
	v, err := readBytes(b, msg, num)
	if err != nil {
		return "", err
	}
	if len(v) <= maxInterned {
		if len(v) == 0 {
			return "", nil
		}
		// A hit was valid UTF-8 when it was stored.
		slot := &d.interned[internSlot(v)]
		if *slot == string(v) {
			return *slot, nil
		}
		if !utf8.Valid(v) {
			return "", errAt(msg, num, "string is not valid UTF-8")
		}
		*slot = string(v)
		return *slot, nil
	}
	if !utf8.Valid(v) {
		return "", errAt(msg, num, "string is not valid UTF-8")
	}
	return string(v), nil
}

// Short strings (attribute keys, models, names, enum-like values) repeat
// across a request's spans; the decoder copies each once per request and
// shares the copy. The table is per request, so it retains nothing.
const (
	maxInterned = 128
	internBits  = 10
)

// internSlot hashes a short non-empty string to its interning slot;
// collisions only cost a copy.
func internSlot(v []byte) uint {
	n := len(v)
	var x uint64
	if n >= 8 {
		x = binary.LittleEndian.Uint64(v) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(v[n-8:]), 31)
	} else {
		for _, c := range v {
			x = x<<8 | uint64(c)
		}
	}
	x = (x ^ uint64(n)) * 0x9e3779b97f4a7c15
	return uint(x >> (64 - internBits))
}

// readVarint reads a varint; one-byte values take the inlined fast path.
func readVarint(b *[]byte, msg string, num protowire.Number) (uint64, error) {
	if bb := *b; len(bb) > 0 && bb[0] < 0x80 {
		*b = bb[1:]
		return uint64(bb[0]), nil
	}
	return readVarintSlow(b, msg, num)
}

func readVarintSlow(b *[]byte, msg string, num protowire.Number) (uint64, error) {
	v, n := protowire.ConsumeVarint(*b)
	if n < 0 {
		return 0, errAt(msg, num, "truncated or overlong varint")
	}
	*b = (*b)[n:]
	return v, nil
}

func readFixed64(b *[]byte, msg string, num protowire.Number) (uint64, error) {
	v, n := protowire.ConsumeFixed64(*b)
	if n < 0 {
		return 0, errAt(msg, num, "truncated fixed64")
	}
	*b = (*b)[n:]
	return v, nil
}

func readFixed32(b *[]byte, msg string, num protowire.Number) (uint32, error) {
	v, n := protowire.ConsumeFixed32(*b)
	if n < 0 {
		return 0, errAt(msg, num, "truncated fixed32")
	}
	*b = (*b)[n:]
	return v, nil
}

func tooDeep(msg string) error {
	return errAt(msg, 0, fmt.Sprintf("messages nested deeper than %d", maxPBDepth))
}

// Wire types, shorter.
const (
	wVarint = protowire.VarintType
	wI64    = protowire.Fixed64Type
	wLen    = protowire.BytesType
	wI32    = protowire.Fixed32Type
)

func (d *pbDecoder) request(b []byte, req *coltracepb.ExportTraceServiceRequest) error {
	const msg = "ExportTraceServiceRequest"
	list := d.rsPtrs.open(req.ResourceSpans)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		if num == fReqResourceSpans && typ == wLen {
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			rs := d.resourceSpans.new()
			if err := d.resourceSpansMsg(v, rs); err != nil {
				return err
			}
			list = append(list, rs)
			continue
		}
		if err := skip(&b, msg, num, typ); err != nil {
			return err
		}
	}
	req.ResourceSpans = d.rsPtrs.commit(list)
	return nil
}

// resourceSpansMsg decodes a ResourceSpans (depth 2).
func (d *pbDecoder) resourceSpansMsg(b []byte, rs *tracepb.ResourceSpans) error {
	const msg = "ResourceSpans"
	list := d.ssPtrs.open(rs.ScopeSpans)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fRSResource && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			if rs.Resource == nil {
				rs.Resource = &resourcepb.Resource{}
			}
			if err := d.resource(v, rs.Resource); err != nil {
				return err
			}
		case num == fRSScopeSpans && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			ss := d.scopeSpans.new()
			if err := d.scopeSpansMsg(v, ss); err != nil {
				return err
			}
			list = append(list, ss)
		case num == fRSSchemaURL && typ == wLen:
			if rs.SchemaUrl, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	rs.ScopeSpans = d.ssPtrs.commit(list)
	return nil
}

// resource decodes a Resource (depth 3).
func (d *pbDecoder) resource(b []byte, r *resourcepb.Resource) error {
	const msg = "Resource"
	n, _, _ := countFields(b, fResAttributes, 0, 0)
	attrs := d.kvPtrs.carve(r.Attributes, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fResAttributes && typ == wLen:
			kv, err := d.keyValueField(&b, msg, num, 4)
			if err != nil {
				return err
			}
			attrs = append(attrs, kv)
		case num == fResDroppedAttrs && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			r.DroppedAttributesCount = uint32(v)
		case num == fResEntityRefs && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			e := &commonpb.EntityRef{}
			if err := d.entityRef(v, e); err != nil {
				return err
			}
			r.EntityRefs = append(r.EntityRefs, e)
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	r.Attributes = attrs
	return nil
}

// entityRef decodes an EntityRef (depth 4, no nested messages).
func (d *pbDecoder) entityRef(b []byte, e *commonpb.EntityRef) error {
	const msg = "EntityRef"
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		if typ != wLen || num < fEntitySchemaURL || num > fEntityDescKeys {
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
			continue
		}
		s, err := d.readString(&b, msg, num)
		if err != nil {
			return err
		}
		switch num {
		case fEntitySchemaURL:
			e.SchemaUrl = s
		case fEntityType:
			e.Type = s
		case fEntityIDKeys:
			e.IdKeys = append(e.IdKeys, s)
		case fEntityDescKeys:
			e.DescriptionKeys = append(e.DescriptionKeys, s)
		}
	}
	return nil
}

// scopeSpansMsg decodes a ScopeSpans (depth 3).
func (d *pbDecoder) scopeSpansMsg(b []byte, ss *tracepb.ScopeSpans) error {
	const msg = "ScopeSpans"
	list := d.spanPtrs.open(ss.Spans)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fSSSpans && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			s := d.spans.new()
			if err := d.span(v, s); err != nil {
				return err
			}
			list = append(list, s)
		case num == fSSScope && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			if ss.Scope == nil {
				ss.Scope = &commonpb.InstrumentationScope{}
			}
			if err := d.scope(v, ss.Scope); err != nil {
				return err
			}
		case num == fSSSchemaURL && typ == wLen:
			if ss.SchemaUrl, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	ss.Spans = d.spanPtrs.commit(list)
	return nil
}

// scope decodes an InstrumentationScope (depth 4).
func (d *pbDecoder) scope(b []byte, s *commonpb.InstrumentationScope) error {
	const msg = "InstrumentationScope"
	n, _, _ := countFields(b, fScopeAttributes, 0, 0)
	attrs := d.kvPtrs.carve(s.Attributes, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fScopeName && typ == wLen:
			if s.Name, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fScopeVersion && typ == wLen:
			if s.Version, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fScopeAttributes && typ == wLen:
			kv, err := d.keyValueField(&b, msg, num, 5)
			if err != nil {
				return err
			}
			attrs = append(attrs, kv)
		case num == fScopeDroppedAttrs && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			s.DroppedAttributesCount = uint32(v)
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	s.Attributes = attrs
	return nil
}

// span decodes a Span (depth 4).
func (d *pbDecoder) span(b []byte, s *tracepb.Span) error {
	const msg = "Span"
	attrs := d.spanAttrPtrs.open(s.Attributes)
	events := d.eventPtrs.open(s.Events)
	links := d.linkPtrs.open(s.Links)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch typ {
		case wLen:
			switch num {
			case fSpanAttributes:
				kv, err := d.keyValueField(&b, msg, num, 5)
				if err != nil {
					return err
				}
				attrs = append(attrs, kv)
				continue
			case fSpanTraceID, fSpanSpanID, fSpanParentSpanID:
				v, err := readBytes(&b, msg, num)
				if err != nil {
					return err
				}
				switch num {
				case fSpanTraceID:
					s.TraceId = d.copyBytes(v)
				case fSpanSpanID:
					s.SpanId = d.copyBytes(v)
				default:
					s.ParentSpanId = d.copyBytes(v)
				}
				continue
			case fSpanName:
				if s.Name, err = d.readString(&b, msg, num); err != nil {
					return err
				}
				continue
			case fSpanTraceState:
				if s.TraceState, err = d.readString(&b, msg, num); err != nil {
					return err
				}
				continue
			case fSpanEvents:
				v, err := readBytes(&b, msg, num)
				if err != nil {
					return err
				}
				e := d.events.new()
				if err := d.event(v, e); err != nil {
					return err
				}
				events = append(events, e)
				continue
			case fSpanLinks:
				v, err := readBytes(&b, msg, num)
				if err != nil {
					return err
				}
				l := d.links.new()
				if err := d.link(v, l); err != nil {
					return err
				}
				links = append(links, l)
				continue
			case fSpanStatus:
				v, err := readBytes(&b, msg, num)
				if err != nil {
					return err
				}
				if s.Status == nil {
					s.Status = d.statuses.new()
				}
				if err := d.status(v, s.Status); err != nil {
					return err
				}
				continue
			}
		case wI64:
			switch num {
			case fSpanStart:
				if s.StartTimeUnixNano, err = readFixed64(&b, msg, num); err != nil {
					return err
				}
				continue
			case fSpanEnd:
				if s.EndTimeUnixNano, err = readFixed64(&b, msg, num); err != nil {
					return err
				}
				continue
			}
		case wVarint:
			switch num {
			case fSpanKind, fSpanDroppedAttrs, fSpanDroppedEvents, fSpanDroppedLinks:
				v, err := readVarint(&b, msg, num)
				if err != nil {
					return err
				}
				switch num {
				case fSpanKind:
					s.Kind = tracepb.Span_SpanKind(int32(v))
				case fSpanDroppedAttrs:
					s.DroppedAttributesCount = uint32(v)
				case fSpanDroppedEvents:
					s.DroppedEventsCount = uint32(v)
				default:
					s.DroppedLinksCount = uint32(v)
				}
				continue
			}
		case wI32:
			if num == fSpanFlags {
				if s.Flags, err = readFixed32(&b, msg, num); err != nil {
					return err
				}
				continue
			}
		}
		if err := skip(&b, msg, num, typ); err != nil {
			return err
		}
	}
	s.Attributes = d.spanAttrPtrs.commit(attrs)
	s.Events = d.eventPtrs.commit(events)
	s.Links = d.linkPtrs.commit(links)
	return nil
}

// event decodes a Span.Event (depth 5).
func (d *pbDecoder) event(b []byte, e *tracepb.Span_Event) error {
	const msg = "Span.Event"
	n, _, _ := countFields(b, fEventAttributes, 0, 0)
	attrs := d.kvPtrs.carve(e.Attributes, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fEventAttributes && typ == wLen:
			kv, err := d.keyValueField(&b, msg, num, 6)
			if err != nil {
				return err
			}
			attrs = append(attrs, kv)
		case num == fEventTime && typ == wI64:
			if e.TimeUnixNano, err = readFixed64(&b, msg, num); err != nil {
				return err
			}
		case num == fEventName && typ == wLen:
			if e.Name, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fEventDroppedAttrs && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			e.DroppedAttributesCount = uint32(v)
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	e.Attributes = attrs
	return nil
}

// link decodes a Span.Link (depth 5).
func (d *pbDecoder) link(b []byte, l *tracepb.Span_Link) error {
	const msg = "Span.Link"
	n, _, _ := countFields(b, fLinkAttributes, 0, 0)
	attrs := d.kvPtrs.carve(l.Attributes, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fLinkAttributes && typ == wLen:
			kv, err := d.keyValueField(&b, msg, num, 6)
			if err != nil {
				return err
			}
			attrs = append(attrs, kv)
		case (num == fLinkTraceID || num == fLinkSpanID) && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			if num == fLinkTraceID {
				l.TraceId = d.copyBytes(v)
			} else {
				l.SpanId = d.copyBytes(v)
			}
		case num == fLinkTraceState && typ == wLen:
			if l.TraceState, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fLinkDroppedAttrs && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			l.DroppedAttributesCount = uint32(v)
		case num == fLinkFlags && typ == wI32:
			if l.Flags, err = readFixed32(&b, msg, num); err != nil {
				return err
			}
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	l.Attributes = attrs
	return nil
}

// status decodes a Status (depth 5, no nested messages).
func (d *pbDecoder) status(b []byte, s *tracepb.Status) error {
	const msg = "Status"
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fStatusMessage && typ == wLen:
			if s.Message, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fStatusCode && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			s.Code = tracepb.Status_StatusCode(int32(v))
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyValueField decodes the KeyValue at depth that is the value of field
// num of msg.
func (d *pbDecoder) keyValueField(b *[]byte, msg string, num protowire.Number, depth int) (*commonpb.KeyValue, error) {
	v, err := readBytes(b, msg, num)
	if err != nil {
		return nil, err
	}
	kv := d.kvs.new()
	if err := d.keyValue(v, kv, depth); err != nil {
		return nil, err
	}
	return kv, nil
}

// keyValue decodes a KeyValue at the given depth.
func (d *pbDecoder) keyValue(b []byte, kv *commonpb.KeyValue, depth int) error {
	const msg = "KeyValue"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fKVKey && typ == wLen:
			if kv.Key, err = d.readString(&b, msg, num); err != nil {
				return err
			}
		case num == fKVValue && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			if kv.Value == nil {
				kv.Value = d.anys.new()
			}
			if err := d.anyValue(v, kv.Value, depth+1); err != nil {
				return err
			}
		case num == fKVKeyStrindex && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			kv.KeyStrindex = int32(v)
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// anyValue decodes an AnyValue at the given depth. The oneof keeps the last
// member; a message member (array, key-value list) seen again while it is
// the current one is merged, as proto does.
func (d *pbDecoder) anyValue(b []byte, a *commonpb.AnyValue, depth int) error {
	const msg = "AnyValue"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		switch {
		case num == fAnyString && typ == wLen:
			s, err := d.readString(&b, msg, num)
			if err != nil {
				return err
			}
			w := d.strVals.new()
			w.StringValue = s
			a.Value = w
		case num == fAnyInt && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			w := d.intVals.new()
			w.IntValue = int64(v)
			a.Value = w
		case num == fAnyBool && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			a.Value = &commonpb.AnyValue_BoolValue{BoolValue: v != 0}
		case num == fAnyDouble && typ == wI64:
			v, err := readFixed64(&b, msg, num)
			if err != nil {
				return err
			}
			a.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: math.Float64frombits(v)}
		case num == fAnyBytes && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			// proto gives a oneof bytes member a non-nil slice even when empty.
			a.Value = &commonpb.AnyValue_BytesValue{BytesValue: append([]byte{}, v...)}
		case num == fAnyStringStrindex && typ == wVarint:
			v, err := readVarint(&b, msg, num)
			if err != nil {
				return err
			}
			a.Value = &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: int32(v)}
		case num == fAnyArray && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			w, ok := a.Value.(*commonpb.AnyValue_ArrayValue)
			if !ok {
				w = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}
			}
			if err := d.arrayValue(v, w.ArrayValue, depth+1); err != nil {
				return err
			}
			a.Value = w
		case num == fAnyKvlist && typ == wLen:
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			w, ok := a.Value.(*commonpb.AnyValue_KvlistValue)
			if !ok {
				w = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}
			}
			if err := d.keyValueList(v, w.KvlistValue, depth+1); err != nil {
				return err
			}
			a.Value = w
		default:
			if err := skip(&b, msg, num, typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// arrayValue decodes an ArrayValue at the given depth.
func (d *pbDecoder) arrayValue(b []byte, arr *commonpb.ArrayValue, depth int) error {
	const msg = "ArrayValue"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	n, _, _ := countFields(b, fArrayValues, 0, 0)
	values := d.anyPtrs.carve(arr.Values, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		if num == fArrayValues && typ == wLen {
			v, err := readBytes(&b, msg, num)
			if err != nil {
				return err
			}
			a := d.anys.new()
			if err := d.anyValue(v, a, depth+1); err != nil {
				return err
			}
			values = append(values, a)
			continue
		}
		if err := skip(&b, msg, num, typ); err != nil {
			return err
		}
	}
	arr.Values = values
	return nil
}

// keyValueList decodes a KeyValueList at the given depth.
func (d *pbDecoder) keyValueList(b []byte, l *commonpb.KeyValueList, depth int) error {
	const msg = "KeyValueList"
	if depth > maxPBDepth {
		return tooDeep(msg)
	}
	n, _, _ := countFields(b, fKeyValueListValues, 0, 0)
	values := d.kvPtrs.carve(l.Values, n)
	for len(b) > 0 {
		num, typ, err := next(&b, msg)
		if err != nil {
			return err
		}
		if num == fKeyValueListValues && typ == wLen {
			kv, err := d.keyValueField(&b, msg, num, depth+1)
			if err != nil {
				return err
			}
			values = append(values, kv)
			continue
		}
		if err := skip(&b, msg, num, typ); err != nil {
			return err
		}
	}
	l.Values = values
	return nil
}
