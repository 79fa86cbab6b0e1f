package segment

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/loupehq/loupe"
)

// ErrNoSegment is wrapped by Read for a ref into a segment file that does
// not exist (never written, or removed by Remove).
var ErrNoSegment = errors.New("no such segment")

// Info describes one segment file.
type Info struct {
	Segment uint32
	Bytes   int64
}

// Sealed returns the segment files that Append no longer writes to (every
// one but the active segment), oldest first. Every Append into a sealed
// segment has returned: its refs are final.
func (l *Log) Sealed() ([]Info, error) {
	l.mu.Lock()
	active := l.activeSeg
	l.mu.Unlock()
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var out []Info
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil || n == 0 || uint32(n) >= active {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("stat segment: %w", err)
		}
		out = append(out, Info{Segment: uint32(n), Bytes: fi.Size()})
	}
	slices.SortFunc(out, func(a, b Info) int { return int(a.Segment) - int(b.Segment) })
	return out, nil
}

// Has reports whether segment n exists.
func (l *Log) Has(n uint32) bool {
	l.fmu.RLock()
	f := l.files[n]
	l.fmu.RUnlock()
	if f != nil {
		return true
	}
	_, err := os.Stat(filepath.Join(l.dir, segmentName(n)))
	return err == nil
}

// Remove deletes sealed segment n and returns the bytes it held; its space
// is returned to the file system at once (its handle is closed, and its
// cached frames dropped). Reads in progress finish first; later reads of
// its refs fail with ErrNoSegment. Removing the active segment is an
// error; removing a missing one returns 0 and no error.
func (l *Log) Remove(n uint32) (int64, error) {
	l.mu.Lock()
	active := l.activeSeg
	l.mu.Unlock()
	if n == 0 || n >= active {
		return 0, fmt.Errorf("remove segment %d: not sealed (active %d)", n, active)
	}
	l.fmu.Lock()
	defer l.fmu.Unlock()
	if l.closed {
		return 0, fmt.Errorf("remove segment %d: log closed", n)
	}
	if f := l.files[n]; f != nil {
		f.Close()
		delete(l.files, n)
	}
	l.cache.dropSegment(n)
	path := filepath.Join(l.dir, segmentName(n))
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove segment %d: %w", n, err)
	}
	if err := os.Remove(path); err != nil {
		return 0, fmt.Errorf("remove segment %d: %w", n, err)
	}
	if err := syncDir(l.dir); err != nil {
		return 0, fmt.Errorf("remove segment %d: %w", n, err)
	}
	l.size.Add(-fi.Size())
	return fi.Size(), nil
}

// dropSegment forgets the cached frames of segment n.
func (c *frameCache) dropSegment(n uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.frames[:0]
	for _, f := range c.frames {
		if f.key.seg == n {
			c.bytes -= int64(len(f.raw))
			continue
		}
		kept = append(kept, f)
	}
	clear(c.frames[len(kept):])
	c.frames = kept
}

// Active returns the number of the segment Append writes to.
func (l *Log) Active() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.activeSeg
}

// Rotate seals the active segment, unless it is empty: later Appends go to
// a new one. Retention uses it so that the payloads of a store that never
// fills a segment can still be dropped file by file.
func (l *Log) Rotate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed() {
		return fmt.Errorf("rotate segment: %w", loupe.ErrClosed)
	}
	if l.activeSize == 0 {
		return nil
	}
	if err := l.create(l.activeSeg + 1); err != nil {
		return fmt.Errorf("rotate segment: %w", err)
	}
	return nil
}
