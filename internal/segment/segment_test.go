package segment

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupehq/loupe"
)

func mustOpen(tb testing.TB, dir string, opts Options) *Log {
	tb.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("Close() = %v", err)
		}
	})
	return l
}

// testRecords returns n records of varied sizes (empty ones included),
// prose-like so that they compress.
func testRecords(seed uint64, n int) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"refund", "order", "policy", "the", "customer", "within", "days", "{\"role\":\"user\"}", "é€"}
	out := make([][]byte, n)
	for i := range out {
		var b bytes.Buffer
		for range r.IntN(400) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		out[i] = b.Bytes()
	}
	return out
}

func mustAppend(tb testing.TB, l *Log, recs [][]byte) []Ref {
	tb.Helper()
	refs, err := l.Append(recs)
	if err != nil {
		tb.Fatalf("Append(%d records) = %v", len(recs), err)
	}
	if len(refs) != len(recs) {
		tb.Fatalf("Append(%d records) returned %d refs", len(recs), len(refs))
	}
	return refs
}

func checkRead(tb testing.TB, l *Log, refs []Ref, want [][]byte) {
	tb.Helper()
	got, err := l.Read(refs)
	if err != nil {
		tb.Fatalf("Read(%d refs) = %v", len(refs), err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(bytes.Equal)); diff != "" {
		tb.Errorf("Read() (-want +got):\n%s", diff)
	}
}

// dirSize returns the bytes of the .seg files in dir.
func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			tb.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestAppendRead(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"Defaults", Options{}},
		{"SmallFrames", Options{FrameBytes: 2000}},                    // many frames per Append
		{"Rotation", Options{FrameBytes: 3000, SegmentBytes: 10_000}}, // many segments
		{"NoCache", Options{CacheBytes: 1}},                           // every read decompresses
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var refs []Ref
			var want [][]byte
			for i := range 10 {
				recs := testRecords(uint64(i), 1+i*7)
				refs = append(refs, mustAppend(t, l, recs)...)
				want = append(want, recs...)
			}
			checkRead(t, l, refs, want)
			// Reverse order, duplicates, a subset.
			sub := []Ref{refs[len(refs)-1], refs[0], refs[3], refs[0]}
			checkRead(t, l, sub, [][]byte{want[len(want)-1], want[0], want[3], want[0]})
			if got, _ := l.Size(); got != dirSize(t, dir) {
				t.Errorf("Size() = %d, want the files' %d", got, dirSize(t, dir))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			l = mustOpen(t, dir, tt.opts)
			checkRead(t, l, refs, want)
			more := testRecords(99, 5)
			moreRefs := mustAppend(t, l, more)
			checkRead(t, l, append(refs, moreRefs...), append(want, more...))
			if got, _ := l.Size(); got != dirSize(t, dir) {
				t.Errorf("Size() after reopen = %d, want the files' %d", got, dirSize(t, dir))
			}
		})
	}
	t.Run("RotationMakesSegments", func(t *testing.T) {
		dir := t.TempDir()
		l := mustOpen(t, dir, Options{SegmentBytes: 1000})
		for i := range 5 {
			mustAppend(t, l, testRecords(uint64(i), 20))
		}
		names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		if len(names) != 5 {
			t.Errorf("segment files = %v, want 5", names)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		l := mustOpen(t, t.TempDir(), Options{})
		refs, err := l.Append(nil)
		if err != nil || refs != nil {
			t.Errorf("Append(nil) = %v, %v; want nil, nil", refs, err)
		}
		if got, _ := l.Size(); got != 0 {
			t.Errorf("Size() = %d, want 0", got)
		}
	})
}

// TestCompression checks that records of one Append are compressed
// together: a repeated 4 KB text costs about once per frame.
func TestCompression(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	shared := testRecords(7, 1)[0]
	var recs [][]byte
	raw := 0
	for i := range 200 {
		recs = append(recs, fmt.Appendf(bytes.Clone(shared), " unique %d", i))
		raw += len(recs[i])
	}
	mustAppend(t, l, recs)
	got, _ := l.Size()
	if got*20 > int64(raw) {
		t.Errorf("Size() = %d for %d raw bytes of repeated text, want under 1/20", got, raw)
	}
}

// TestRecoverTail damages the end of the last segment as a crash or a bad
// disk would, reopens, and checks that every frame before the damage reads
// back, the damaged frame is gone, and appends continue after it.
func TestRecoverTail(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte, lastFrame int) []byte
	}{
		{"TornBody", func(b []byte, last int) []byte { return b[:len(b)-3] }},
		{"TornHeader", func(b []byte, last int) []byte { return b[:last+10] }},
		{"OnlyHeaderStart", func(b []byte, last int) []byte { return b[:last+1] }},
		{"FlippedBodyByte", func(b []byte, last int) []byte { b[len(b)-1] ^= 0x40; return b }},
		{"FlippedHeaderByte", func(b []byte, last int) []byte { b[last+9] ^= 1; return b }},
		{"BadMagic", func(b []byte, last int) []byte { b[last] = 'X'; return b }},
		{"Zeros", func(b []byte, last int) []byte { return append(b[:last], make([]byte, 4096)...) }},
		{"GarbageAfter", func(b []byte, last int) []byte { return append(b, "garbage"...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			first := testRecords(1, 30)
			firstRefs := mustAppend(t, l, first)
			second := testRecords(2, 30)
			secondRefs := mustAppend(t, l, second)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, segmentName(1))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			last := int(secondRefs[0].Offset)
			b = tt.damage(b, last)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}

			l = mustOpen(t, dir, Options{})
			checkRead(t, l, firstRefs, first)
			keepsSecond := tt.name == "GarbageAfter"
			if _, err := l.Read(secondRefs[:1]); (err == nil) != keepsSecond {
				t.Errorf("Read(damaged frame) error = %v, want error: %v", err, !keepsSecond)
			}
			if size, _ := l.Size(); !keepsSecond && size != int64(last) {
				t.Errorf("Size() after recovery = %d, want %d (the end of the last good frame)", size, last)
			}
			third := testRecords(3, 10)
			thirdRefs := mustAppend(t, l, third)
			checkRead(t, l, append(firstRefs, thirdRefs...), append(first, third...))
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := mustOpen(t, dir, Options{})
			checkRead(t, l2, append(firstRefs, thirdRefs...), append(first, third...))
		})
	}
}

func TestReadBadRef(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	refs := mustAppend(t, l, testRecords(1, 3))
	tests := []struct {
		name string
		ref  Ref
	}{
		{"NoSegment", Ref{Segment: 9, Offset: 0}},
		{"NoFrame", Ref{Segment: 1, Offset: 5}},
		{"PastEnd", Ref{Segment: 1, Offset: 1 << 30}},
		{"NoIndex", Ref{Segment: 1, Offset: refs[0].Offset, Index: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := l.Read([]Ref{tt.ref}); err == nil {
				t.Errorf("Read(%+v) = %q, want an error", tt.ref, got)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	l, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	refs := mustAppend(t, l, testRecords(1, 2))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(testRecords(2, 1)); !errors.Is(err, loupe.ErrClosed) {
		t.Errorf("Append() after Close = %v, want ErrClosed", err)
	}
	l.cache.clear()
	if _, err := l.Read(refs); !errors.Is(err, loupe.ErrClosed) {
		t.Errorf("Read() after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
}

// TestConcurrentReadAppend reads acknowledged records while the writer
// appends and rotates (run with -race).
func TestConcurrentReadAppend(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{SegmentBytes: 20_000, FrameBytes: 5000, CacheFrames: 2})
	type ack struct {
		refs []Ref
		recs [][]byte
	}
	acks := make(chan ack, 64)
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen []ack
			for a := range acks {
				seen = append(seen, a)
				old := seen[(len(seen)*7+r)%len(seen)]
				for _, a := range []ack{a, old} {
					got, err := l.Read(a.refs)
					if err != nil {
						t.Errorf("Read() = %v", err)
						return
					}
					for i := range got {
						if !bytes.Equal(got[i], a.recs[i]) {
							t.Errorf("Read(%+v) = %d bytes, want %d", a.refs[i], len(got[i]), len(a.recs[i]))
						}
					}
				}
			}
		}()
	}
	for i := range 40 {
		recs := testRecords(uint64(i), 5)
		refs := mustAppend(t, l, recs)
		for range 4 {
			acks <- ack{refs, recs}
		}
	}
	close(acks)
	wg.Wait()
}
