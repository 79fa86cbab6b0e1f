package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzReadFrame feeds arbitrary bytes to the frame reader and to recovery's
// scan: neither may panic or allocate beyond the format's bounds, a frame
// that reads must hold exactly its header's record count, and scan must stop
// at a frame boundary that readFrame accepts.
func FuzzReadFrame(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := l.Append(testRecords(1, 5)); err != nil {
		f.Fatal(err)
	}
	if _, err := l.Append([][]byte{{}, []byte("x")}); err != nil {
		f.Fatal(err)
	}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	seg, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg)
	f.Add(seg[:headerSize])
	f.Add(seg[:len(seg)-1])
	f.Add([]byte{})
	f.Add([]byte("LPF\x00\x01\x00\x01\x00"))
	flipped := bytes.Clone(seg)
	flipped[headerSize+3] ^= 0xff
	f.Add(flipped)

	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxRawBytes),
		zstd.WithDecodeAllCapLimit(true), zstd.IgnoreChecksum(true), zstd.WithDecoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(dec.Close)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		if fr, err := readFrame(r, 0, dec); err == nil {
			h, _ := parseHeader(data)
			if got := uint32(len(fr.offs) / 2); got != h.count {
				t.Errorf("frame has %d records, header says %d", got, h.count)
			}
			for i := range h.count {
				if _, ok := fr.record(i); !ok {
					t.Errorf("record %d of %d missing", i, h.count)
				}
			}
		}
		end, _ := scan(r, int64(len(data)))
		if end < 0 || end > int64(len(data)) {
			t.Fatalf("scan() = %d, outside [0, %d]", end, len(data))
		}
		if end > 0 {
			// The prefix scan accepts is a sequence of whole frames.
			if again, err := scan(bytes.NewReader(data[:end]), end); err != nil || again != end {
				t.Errorf("scan(valid prefix of %d bytes) = %d, %v", end, again, err)
			}
		}
	})
}
