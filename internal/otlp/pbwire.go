package otlp

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Wire-level helpers and allocators of the hand-written protobuf decoder
// (pbtrace.go): https://protobuf.dev/programming-guides/encoding/.

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

// countField counts the length-delimited fields numbered f of message m,
// to size their slice. It stops at the first malformed field; the decoding
// pass reports it.
func countField(m []byte, f protowire.Number) (count int) {
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
			if num == f {
				count++
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
