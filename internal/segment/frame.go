package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk format, version 1. A segment file is a sequence of frames and
// nothing else:
//
//	offset size field
//	0      4    magic "LPF\x00"
//	4      2    format version (1), little endian like every field
//	6      2    codec: 1 = zstd
//	8      4    compressed body length C
//	12     4    raw (decompressed) body length R
//	16     4    record count N
//	20     4    CRC-32C (Castagnoli) of the C body bytes
//	24     4    CRC-32C of header bytes 0..23
//	28     C    body: zstd of N × (uvarint record length, record bytes)
//
// The header CRC lets recovery tell a torn header from a frame whose
// lengths are to be trusted; the body CRC detects a torn or corrupt body.
// A reader refuses any other version, so a later format can change the
// layout behind a new version number.
const (
	headerSize    = 28
	formatVersion = 1
	codecZstd     = 1

	// maxRawBytes bounds a frame's decompressed size, so that a corrupt
	// (but CRC-valid) or hostile header cannot make a reader allocate
	// without limit. Append never writes bigger frames.
	maxRawBytes = 256 << 20
)

var magic = [4]byte{'L', 'P', 'F', 0}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a frame that fails validation.
var errCorrupt = errors.New("corrupt frame")

// header is a frame header.
type header struct {
	compressed uint32 // body bytes on disk
	raw        uint32 // body bytes decompressed
	count      uint32 // records
	crc        uint32 // CRC-32C of the compressed body
}

func (h *header) put(b []byte) {
	copy(b[0:4], magic[:])
	binary.LittleEndian.PutUint16(b[4:], formatVersion)
	binary.LittleEndian.PutUint16(b[6:], codecZstd)
	binary.LittleEndian.PutUint32(b[8:], h.compressed)
	binary.LittleEndian.PutUint32(b[12:], h.raw)
	binary.LittleEndian.PutUint32(b[16:], h.count)
	binary.LittleEndian.PutUint32(b[20:], h.crc)
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
}

// parseHeader validates and decodes a frame header.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: short header (%d bytes)", errCorrupt, len(b))
	}
	if [4]byte(b[0:4]) != magic {
		return header{}, fmt.Errorf("%w: bad magic %q", errCorrupt, b[0:4])
	}
	if got, want := binary.LittleEndian.Uint32(b[24:]), crc32.Checksum(b[:24], castagnoli); got != want {
		return header{}, fmt.Errorf("%w: header checksum %08x, want %08x", errCorrupt, got, want)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != formatVersion {
		return header{}, fmt.Errorf("%w: unsupported format version %d", errCorrupt, v)
	}
	if c := binary.LittleEndian.Uint16(b[6:]); c != codecZstd {
		return header{}, fmt.Errorf("%w: unknown codec %d", errCorrupt, c)
	}
	h := header{
		compressed: binary.LittleEndian.Uint32(b[8:]),
		raw:        binary.LittleEndian.Uint32(b[12:]),
		count:      binary.LittleEndian.Uint32(b[16:]),
		crc:        binary.LittleEndian.Uint32(b[20:]),
	}
	if h.raw > maxRawBytes {
		return header{}, fmt.Errorf("%w: raw length %d over %d", errCorrupt, h.raw, maxRawBytes)
	}
	if uint64(h.count) > uint64(h.raw) { // every record takes at least its length byte
		return header{}, fmt.Errorf("%w: %d records in %d bytes", errCorrupt, h.count, h.raw)
	}
	return h, nil
}

// checkBody verifies the compressed body against the header.
func (h *header) checkBody(body []byte) error {
	if len(body) != int(h.compressed) {
		return fmt.Errorf("%w: body is %d bytes, want %d", errCorrupt, len(body), h.compressed)
	}
	if got := crc32.Checksum(body, castagnoli); got != h.crc {
		return fmt.Errorf("%w: body checksum %08x, want %08x", errCorrupt, got, h.crc)
	}
	return nil
}

// splitRecords returns the start and end offsets of the count records in
// raw, a decompressed body, appended to offs as pairs.
func splitRecords(raw []byte, count uint32, offs []uint32) ([]uint32, error) {
	pos := 0
	for i := uint32(0); i < count; i++ {
		n, k := binary.Uvarint(raw[pos:])
		if k <= 0 {
			return nil, fmt.Errorf("%w: bad length of record %d", errCorrupt, i)
		}
		pos += k
		if n > uint64(len(raw)-pos) {
			return nil, fmt.Errorf("%w: record %d overruns the frame", errCorrupt, i)
		}
		offs = append(offs, uint32(pos), uint32(pos+int(n)))
		pos += int(n)
	}
	if pos != len(raw) {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(raw)-pos)
	}
	return offs, nil
}
