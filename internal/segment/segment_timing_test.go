package segment

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/bench/workload"
	"github.com/loupehq/loupe/internal/otlp"
)

// payloadRecords returns the payload JSON of the spans of nreq standard
// workload requests (bench/workload, normalized by internal/otlp), as
// encoding/json writes loupe.Payload.
func payloadRecords(tb testing.TB, nreq int) [][]byte {
	tb.Helper()
	g := workload.New(1)
	norm := otlp.NewNormalizer(otlp.Options{})
	start := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	var out [][]byte
	for i := range nreq {
		spans, _ := norm.Traces(loupe.DefaultProject, g.Request(10, start.Add(time.Duration(i)*time.Second)), nil)
		for j := range spans {
			if spans[j].Payload.IsZero() {
				continue
			}
			b, err := json.Marshal(spans[j].Payload)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// BenchmarkAppend measures Append of one group commit's payloads (40
// standard-workload requests, 4,800 spans) per level: MB/s of raw payload
// JSON (fdatasync included), and the compression ratio raw/disk.
//
//	go test -run='^$' -bench=Append -benchtime=50x ./internal/segment
func BenchmarkAppend(b *testing.B) {
	recs := payloadRecords(b, 40)
	raw := 0
	for _, r := range recs {
		raw += len(r)
	}
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		for _, frame := range []int{1 << 20, DefaultFrameBytes, 16 << 20} {
			b.Run(fmt.Sprintf("%s/frame=%dMiB", level, frame>>20), func(b *testing.B) {
				l := mustOpen(b, b.TempDir(), Options{Level: level, FrameBytes: frame})
				b.SetBytes(int64(raw))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := l.Append(recs); err != nil {
						b.Fatal(err)
					}
				}
				size, _ := l.Size()
				b.ReportMetric(float64(raw)*float64(b.N)/float64(size), "ratio")
				b.ReportMetric(float64(len(recs)), "records/op")
			})
		}
	}
}

// BenchmarkRead measures a cold Read of the payloads of one trace (12
// records of one frame, cache disabled).
//
//	go test -run='^$' -bench=Read -benchtime=200x ./internal/segment
func BenchmarkRead(b *testing.B) {
	recs := payloadRecords(b, 40)
	for _, frame := range []int{1 << 20, DefaultFrameBytes, 16 << 20} {
		b.Run(fmt.Sprintf("frame=%dMiB", frame>>20), func(b *testing.B) {
			l := mustOpen(b, b.TempDir(), Options{FrameBytes: frame, CacheBytes: 1})
			refs, err := l.Append(recs)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				j := (i * 131) % (len(refs) - 8)
				if _, err := l.Read(refs[j : j+8]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
