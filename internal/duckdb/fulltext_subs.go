package duckdb

import (
	"encoding/binary"
	"errors"
)

// Sub-blocks. A merged full-text block holds the spans of many small
// blocks, and a lookup that stopped at the first blocks holding enough
// candidates would, block by block, take every match of a merged block
// (thousands of spans for a common word). So compaction keeps, with the
// merged block, the ordinal range and start range of each block it merged
// (fts_blocks.subs, migrations/0008_fts_subs.sql), and lookups walk those
// sub-blocks as they walked the small blocks (fullText.lookup).

// ftsSubsFormat is the version byte that starts every subs blob.
const ftsSubsFormat = 1

// ftsSub is one sub-block of a full-text block: the spans from ordinal
// first to the next sub-block's first (the last one to the end of the
// block), all starting in [minStart, maxStart].
type ftsSub struct {
	first              int32
	minStart, maxStart int64
}

// appendSubs appends the encoding of subs (first ordinals ascending, the
// first one 0) to dst.
func appendSubs(dst []byte, subs []ftsSub) []byte {
	dst = append(dst, ftsSubsFormat)
	dst = binary.AppendUvarint(dst, uint64(len(subs)))
	prevFirst, prevMin := int32(0), int64(0)
	for _, s := range subs {
		dst = binary.AppendUvarint(dst, uint64(s.first-prevFirst))
		dst = binary.AppendVarint(dst, s.minStart-prevMin)
		dst = binary.AppendUvarint(dst, uint64(s.maxStart-s.minStart))
		prevFirst, prevMin = s.first, s.minStart
	}
	return dst
}

var errBadSubs = errors.New("malformed full-text sub-blocks")

// decodeSubs appends the sub-blocks of a subs blob to dst. It fails unless
// there is at least one, the first starts at ordinal 0, the others at
// growing ordinals below n (the block's spans; n <= 0 skips that check),
// each minStart <= maxStart, and nothing follows.
func decodeSubs(dst []ftsSub, b []byte, n int32) ([]ftsSub, error) {
	if len(b) < 1 || b[0] != ftsSubsFormat {
		return dst, errBadSubs
	}
	b = b[1:]
	k, m := binary.Uvarint(b)
	// Every sub-block takes at least 3 bytes.
	if m <= 0 || k == 0 || k > uint64(len(b))/3 || k > ftsBlockSpans {
		return dst, errBadSubs
	}
	b = b[m:]
	first, minStart := int64(0), int64(0)
	for i := range int(k) {
		d, m1 := binary.Uvarint(b)
		if m1 <= 0 {
			return dst, errBadSubs
		}
		b = b[m1:]
		dm, m2 := binary.Varint(b)
		if m2 <= 0 {
			return dst, errBadSubs
		}
		b = b[m2:]
		span, m3 := binary.Uvarint(b)
		if m3 <= 0 || span > 1<<62 {
			return dst, errBadSubs
		}
		b = b[m3:]
		if (i == 0 && d != 0) || (i > 0 && d == 0) || d >= ftsBlockSpans {
			return dst, errBadSubs
		}
		first += int64(d)
		if first >= ftsBlockSpans || (n > 0 && first >= int64(n)) {
			return dst, errBadSubs
		}
		minStart += dm
		maxStart := minStart + int64(span)
		if maxStart < minStart { // overflow
			return dst, errBadSubs
		}
		dst = append(dst, ftsSub{first: int32(first), minStart: minStart, maxStart: maxStart})
	}
	if len(b) != 0 {
		return dst, errBadSubs
	}
	return dst, nil
}

// blockSubs appends the sub-blocks of a block of n spans starting in
// [minStart, maxStart], whose subs column is blob (nil: none), offset by
// base ordinals, to dst. A blob it cannot read counts as one sub-block
// covering the whole block: coarser, never wrong.
func blockSubs(dst []ftsSub, blob []byte, n, base int32, minStart, maxStart int64) []ftsSub {
	if blob != nil {
		k := len(dst)
		var err error
		if dst, err = decodeSubs(dst, blob, n); err == nil {
			for i := k; i < len(dst); i++ {
				dst[i].first += base
			}
			return dst
		}
		dst = dst[:k]
	}
	return append(dst, ftsSub{first: base, minStart: minStart, maxStart: maxStart})
}
