package otlp

import (
	"fmt"

	"github.com/loupehq/loupe"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// This file decodes an OTLP ExportTraceServiceRequest protobuf by hand into
// the generated structs, about twice as fast as proto.Unmarshal
// (reflection-driven, one allocation per message), the way VictoriaTraces
// does (lib/protoparser/opentelemetry/pb). pbcommon.go decodes the
// common.proto messages, pbwire.go holds the wire-level helpers and the
// allocators. Field numbers come from
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
	n := countField(b, fResAttributes)
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
	n := countField(b, fScopeAttributes)
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
	n := countField(b, fEventAttributes)
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
	n := countField(b, fLinkAttributes)
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
