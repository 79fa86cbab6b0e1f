package segment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRemoveRotate(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 1}) // one segment per Append
	var refs []Ref
	for _, rec := range []string{"one", "two", "three"} {
		r, err := l.Append([][]byte{[]byte(rec)})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r[0])
	}
	if got := l.Active(); got != 3 {
		t.Fatalf("Active() = %d, want 3", got)
	}
	sealed, err := l.Sealed()
	if err != nil {
		t.Fatal(err)
	}
	var nums []uint32
	for _, s := range sealed {
		nums = append(nums, s.Segment)
	}
	if diff := cmp.Diff([]uint32{1, 2}, nums); diff != "" {
		t.Errorf("Sealed() mismatch (-want +got):\n%s", diff)
	}

	t.Run("RemoveActive", func(t *testing.T) {
		if _, err := l.Remove(3); err == nil {
			t.Error("Remove(active) = nil, want an error")
		}
	})
	t.Run("Remove", func(t *testing.T) {
		// Cache a frame of segment 1, so that Remove must drop it too.
		if _, err := l.Read(refs[:1]); err != nil {
			t.Fatal(err)
		}
		before, _ := l.Size()
		n, err := l.Remove(1)
		if err != nil || n <= 0 {
			t.Fatalf("Remove(1) = %d, %v, want its bytes", n, err)
		}
		after, _ := l.Size()
		if before-after != n {
			t.Errorf("Size() fell by %d, want %d", before-after, n)
		}
		if _, err := os.Stat(filepath.Join(dir, segmentName(1))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("segment file 1 still exists: %v", err)
		}
		if _, err := l.Read(refs[:1]); !errors.Is(err, ErrNoSegment) {
			t.Errorf("Read(removed) = %v, want ErrNoSegment", err)
		}
		if l.Has(1) || !l.Has(2) {
			t.Errorf("Has(1), Has(2) = %v, %v, want false, true", l.Has(1), l.Has(2))
		}
		if got, err := l.Read(refs[1:]); err != nil || string(got[0]) != "two" || string(got[1]) != "three" {
			t.Errorf("Read(kept) = %q, %v", got, err)
		}
		if n, err := l.Remove(1); n != 0 || err != nil {
			t.Errorf("Remove(1) again = %d, %v, want 0, nil", n, err)
		}
	})
	t.Run("Rotate", func(t *testing.T) {
		if err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
		if got := l.Active(); got != 4 {
			t.Errorf("Active() after Rotate = %d, want 4", got)
		}
		if err := l.Rotate(); err != nil { // empty active segment: no-op
			t.Fatal(err)
		}
		if got := l.Active(); got != 4 {
			t.Errorf("Active() after a second Rotate = %d, want 4 (empty segment kept)", got)
		}
		r, err := l.Append([][]byte{[]byte("four")})
		if err != nil || r[0].Segment != 4 {
			t.Errorf("Append after Rotate = %v, %v, want segment 4", r, err)
		}
	})
}
