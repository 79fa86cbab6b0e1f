package sample

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

// FuzzDecodeRecord decodes arbitrary bytes as a pending-log record: never a
// panic, and a record that decodes re-encodes (binary) to one that decodes
// to the same spans and events. Times compare as instants: a JSON record
// may carry a zone offset the binary format reads back in UTC.
func FuzzDecodeRecord(f *testing.F) {
	spans := workloadBatch(f, 5, 1)
	arrived := time.Date(2026, 6, 3, 17, 0, 1, 0, time.UTC)
	seeds := []*record{
		{Arrived: arrived.UnixNano(), Spans: spans},
		{Arrived: arrived.UnixNano(), Spans: spans[:2]},
		{Arrived: -1, Events: []loupe.SpanEvent{{Event: loupe.Event{Name: "e", Body: dynValues()}}}},
		{Spans: []loupe.Span{{Attributes: dynValues(), Payload: &loupe.Payload{Input: []loupe.Message{{Role: "user", Content: "hi"}}}}}},
		{},
	}
	for _, r := range seeds {
		b, err := appendRecord(nil, time.Unix(0, r.Arrived), r.Spans, r.Events)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	j, err := encodeRecordJSON(arrived, spans[:2], nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(j)
	golden, err := os.ReadFile("testdata/record-v0.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte{formatBinary, 0, 0, 2, 0})
	floats := cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRecord(body)
		if err != nil {
			return
		}
		b, err := appendRecord(nil, time.Unix(0, r.Arrived), r.Spans, r.Events)
		if err != nil {
			t.Fatalf("re-encoding a decoded record: %v", err)
		}
		r2, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("decoding a re-encoded record: %v", err)
		}
		if !cmp.Equal(r, r2, floats) {
			t.Fatalf("round trip (-decoded +re-decoded):\n%s", cmp.Diff(r, r2, floats))
		}
	})
}
