package workload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// BodiesOptions configures NewBodies. Zero values mean the defaults.
type BodiesOptions struct {
	// Seed makes the content deterministic.
	Seed uint64
	// Variants is the number of distinct pre-marshaled requests; 0 = 64.
	Variants int
	// TracesPerBody is the number of traces per request; 0 = 10.
	TracesPerBody int
	// IDSalt is mixed into every trace id, so separate runs against one
	// store do not repeat trace ids (pass e.g. the start time); ids are
	// distinct within a run whatever its value.
	IDSalt uint64
}

// Bodies serves OTLP/HTTP protobuf request bodies (ExportTraceServiceRequest)
// of the standard workload fast enough for a load generator: it marshals a
// pool of distinct requests once, and per body copies one and rewrites in
// place the low 8 bytes of every trace id (a bijection of a run-wide trace
// counter, so ids never repeat within a run) and every timestamp (shifted so
// that the traces end just before the send). Both are fixed-width fields, so
// the rewrite never changes the layout.
//
// Bodies is safe for concurrent use.
type Bodies struct {
	variants      []variant
	tracesPerBody int
	salt          uint64
	next          atomic.Uint64 // bodies handed out
}

// variant is one pre-marshaled request and where to patch it.
type variant struct {
	body  []byte
	spans int
	// traceIDs[i] lists the offsets of trace i's 16-byte trace id.
	traceIDs [][]int
	// times lists the offsets of fixed64 timestamps (span start and end, event times).
	times []int
	// end is the latest end time in the body (Unix ns).
	end uint64
}

// NewBodies generates and marshals the pool. It panics if the generator's
// own output cannot be marshaled or indexed (a bug in this package).
func NewBodies(opts BodiesOptions) *Bodies {
	if opts.Variants <= 0 {
		opts.Variants = 64
	}
	if opts.TracesPerBody <= 0 {
		opts.TracesPerBody = 10
	}
	g := New(opts.Seed)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &Bodies{
		variants:      make([]variant, opts.Variants),
		tracesPerBody: opts.TracesPerBody,
		salt:          mix(opts.IDSalt ^ opts.Seed*traceIDSalt),
	}
	for i := range b.variants {
		req := g.Request(opts.TracesPerBody, base)
		body, err := proto.Marshal(req)
		if err != nil {
			panic(fmt.Sprintf("workload: marshal request: %v", err))
		}
		v, err := index(body)
		if err != nil {
			panic(fmt.Sprintf("workload: index request: %v", err))
		}
		if len(v.traceIDs) != opts.TracesPerBody {
			panic(fmt.Sprintf("workload: indexed %d traces, want %d", len(v.traceIDs), opts.TracesPerBody))
		}
		b.variants[i] = v
	}
	return b
}

// TracesPerBody reports the number of traces in every body.
func (b *Bodies) TracesPerBody() int { return b.tracesPerBody }

// Next writes the next body into dst (reusing its capacity) and returns it
// with its span count. Its traces end shortly before now.
func (b *Bodies) Next(dst []byte, now time.Time) (body []byte, spans int) {
	n := b.next.Add(1) - 1
	v := &b.variants[n%uint64(len(b.variants))]
	dst = append(dst[:0], v.body...)

	first := n * uint64(b.tracesPerBody)
	for i, offs := range v.traceIDs {
		lo := mix(first + uint64(i) + b.salt)
		for _, off := range offs {
			binary.BigEndian.PutUint64(dst[off+8:], lo)
		}
	}
	// Shift so that the body's last span ends 1 ms before now.
	delta := uint64(now.UnixNano()) - uint64(time.Millisecond) - v.end
	for _, off := range v.times {
		binary.LittleEndian.PutUint64(dst[off:], binary.LittleEndian.Uint64(dst[off:])+delta)
	}
	return dst, v.spans
}

// OTLP field numbers (opentelemetry/proto/collector/trace/v1 and trace/v1).
const (
	fieldResourceSpans = 1 // ExportTraceServiceRequest.resource_spans
	fieldScopeSpans    = 2 // ResourceSpans.scope_spans
	fieldSpans         = 2 // ScopeSpans.spans
	fieldTraceID       = 1 // Span.trace_id
	fieldStart         = 7 // Span.start_time_unix_nano (fixed64)
	fieldEnd           = 8 // Span.end_time_unix_nano (fixed64)
	fieldEvents        = 11
	fieldEventTime     = 1 // Span.Event.time_unix_nano (fixed64)
)

var errWire = errors.New("malformed protobuf")

// index walks a marshaled ExportTraceServiceRequest and records the offsets
// of trace ids and timestamps.
func index(body []byte) (variant, error) {
	v := variant{body: body}
	traces := map[[16]byte]int{}
	err := eachField(body, 0, func(num protowire.Number, typ protowire.Type, off int, val []byte) error {
		if num != fieldResourceSpans || typ != protowire.BytesType {
			return nil
		}
		return eachField(body[:off+len(val)], off, func(num protowire.Number, typ protowire.Type, off int, val []byte) error {
			if num != fieldScopeSpans || typ != protowire.BytesType {
				return nil
			}
			return eachField(body[:off+len(val)], off, func(num protowire.Number, typ protowire.Type, off int, val []byte) error {
				if num != fieldSpans || typ != protowire.BytesType {
					return nil
				}
				v.spans++
				return eachField(body[:off+len(val)], off, func(num protowire.Number, typ protowire.Type, off int, val []byte) error {
					switch {
					case num == fieldTraceID && typ == protowire.BytesType:
						if len(val) != 16 {
							return fmt.Errorf("%w: trace id of %d bytes", errWire, len(val))
						}
						id := [16]byte(val)
						i, ok := traces[id]
						if !ok {
							i = len(v.traceIDs)
							traces[id] = i
							v.traceIDs = append(v.traceIDs, nil)
						}
						v.traceIDs[i] = append(v.traceIDs[i], off)
					case (num == fieldStart || num == fieldEnd) && typ == protowire.Fixed64Type:
						v.times = append(v.times, off)
						if t := binary.LittleEndian.Uint64(val); num == fieldEnd && t > v.end {
							v.end = t
						}
					case num == fieldEvents && typ == protowire.BytesType:
						return eachField(body[:off+len(val)], off, func(num protowire.Number, typ protowire.Type, off int, _ []byte) error {
							if num == fieldEventTime && typ == protowire.Fixed64Type {
								v.times = append(v.times, off)
							}
							return nil
						})
					}
					return nil
				})
			})
		})
	})
	return v, err
}

// eachField calls fn for every field of the message b[start:], with the
// absolute offset of the field's value (after tag and length).
func eachField(b []byte, start int, fn func(num protowire.Number, typ protowire.Type, off int, val []byte) error) error {
	for pos := start; pos < len(b); {
		num, typ, n := protowire.ConsumeTag(b[pos:])
		if n < 0 {
			return fmt.Errorf("%w: tag at %d", errWire, pos)
		}
		pos += n
		var val []byte
		off := pos
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b[pos:])
			if m < 0 {
				return fmt.Errorf("%w: bytes at %d", errWire, pos)
			}
			off = pos + m - len(v)
			val, n = v, m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b[pos:])
			if n < 0 {
				return fmt.Errorf("%w: value at %d", errWire, pos)
			}
			val = b[pos : pos+n]
		}
		if err := fn(num, typ, off, val); err != nil {
			return err
		}
		pos += n
	}
	return nil
}
