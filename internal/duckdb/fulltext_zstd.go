package duckdb

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Postings rows are stored compressed: a blob that starts with
// ftsFormatZstd is that byte and one zstd frame of a format-1 blob
// (migrations/0003_search.sql). Posting lists are runs of small varints
// and their token directories share high bits, so zstd's fastest level
// keeps about 15% of the bytes (measured on the 10M-span benchmark data:
// 24.4 MB of sampled rows to 3.7 MB); a lookup decompresses the one row
// per block that may hold its word, a few KiB. Rows written before
// compression (format 1) are read as they are.
const ftsFormatZstd = 2

// ftsMaxRawRow bounds a decompressed postings row (a corrupt or hostile
// frame cannot make a lookup allocate more).
const ftsMaxRawRow = 64 << 20

// newPostingsEncoder returns the encoder of an indexer's postings rows.
func newPostingsEncoder() (*zstd.Encoder, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, fmt.Errorf("postings encoder: %w", err)
	}
	return enc, nil
}

// newPostingsDecoder returns a decoder for openPostings; its DecodeAll is
// safe for concurrent use.
func newPostingsDecoder() (*zstd.Decoder, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(4), zstd.WithDecoderMaxMemory(ftsMaxRawRow))
	if err != nil {
		return nil, fmt.Errorf("postings decoder: %w", err)
	}
	return dec, nil
}

// compressPostings appends the stored form of the format-1 blob raw to dst.
func compressPostings(enc *zstd.Encoder, dst, raw []byte) []byte {
	dst = append(dst, ftsFormatZstd)
	return enc.EncodeAll(raw, dst)
}

// errPostingsFormat reports a postings blob of no known format.
var errPostingsFormat = errors.New("unknown postings format")

// openPostings returns the format-1 form of a stored postings blob,
// decompressing it into buf's storage when it is compressed.
func openPostings(dec *zstd.Decoder, blob, buf []byte) ([]byte, error) {
	if len(blob) == 0 {
		return nil, errPostingsFormat
	}
	switch blob[0] {
	case ftsFormat:
		return blob, nil
	case ftsFormatZstd:
		raw, err := dec.DecodeAll(blob[1:], buf[:0])
		if err != nil {
			return nil, fmt.Errorf("decompress postings: %w", err)
		}
		if len(raw) == 0 || raw[0] != ftsFormat {
			return nil, errPostingsFormat
		}
		return raw, nil
	}
	return nil, errPostingsFormat
}
