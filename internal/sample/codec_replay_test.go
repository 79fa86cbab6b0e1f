package sample_test

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loupehq/loupe"
)

// TestSamplerReplaysJSONLog: a pending log written by a version before the
// binary records (testdata/record-v0.json framed as its log file) replays
// after an upgrade: the trace is decided and written with its values'
// types, and new records (binary) go to a new file beside it.
func TestSamplerReplaysJSONLog(t *testing.T) {
	body, err := os.ReadFile("testdata/record-v0.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pending"), 0o755); err != nil {
		t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	frame = binary.BigEndian.AppendUint32(frame, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	if err := os.WriteFile(filepath.Join(dir, "pending", "00000001.pending"), append(frame, body...), 0o644); err != nil {
		t.Fatal(err)
	}
	st := newMemStore()
	clk := &clock{t: time.Date(2026, 6, 3, 18, 0, 0, 0, time.UTC)} // past the trace's timeout
	s := openSampler(t, dir, st, clk, keepAll(t))
	defer closeSampler(t, s)
	ctx := t.Context()
	if err := s.Submit(ctx, loupe.Batch{Spans: makeTrace(1, clk.Now(), false, "", "v1")}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if err := s.Decide(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.spans) != 2 {
		t.Fatalf("%d traces written, want 2 (the replayed one and the new one)", len(st.spans))
	}
	for id, spans := range st.spans {
		if id == traceID(1) {
			continue
		}
		if len(spans) != 12 {
			t.Errorf("replayed trace %s: %d spans written, want 12", id, len(spans))
		}
		for _, sp := range spans {
			if v, ok := sp.Attributes["x.f"]; ok && v != 2.0 {
				t.Errorf("x.f = %#v, want float64 2", v)
			}
		}
	}
	if st.events != 1 {
		t.Errorf("%d events written, want 1", st.events)
	}
}
