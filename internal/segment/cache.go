package segment

import "sync"

// frameKey identifies a frame: its segment and byte offset.
type frameKey struct {
	seg uint32
	off uint64
}

// frame is a decompressed frame. Immutable once built, so that readers can
// share it.
type frame struct {
	key  frameKey
	raw  []byte   // decompressed body
	offs []uint32 // start and end of each record in raw
}

func (f *frame) record(i uint32) ([]byte, bool) {
	if uint64(i) >= uint64(len(f.offs)/2) {
		return nil, false
	}
	return f.raw[f.offs[2*i]:f.offs[2*i+1]], true
}

// frameCache is a small LRU of decompressed frames, bounded in frames and
// in bytes. A frame larger than the byte bound is not cached.
type frameCache struct {
	maxFrames int
	maxBytes  int64

	mu     sync.Mutex
	frames []*frame // least recently used first
	bytes  int64
}

func (c *frameCache) get(k frameKey) *frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.frames {
		if f.key == k {
			// Move to the back (most recently used).
			copy(c.frames[i:], c.frames[i+1:])
			c.frames[len(c.frames)-1] = f
			return f
		}
	}
	return nil
}

func (c *frameCache) put(f *frame) {
	n := int64(len(f.raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxFrames == 0 || n > c.maxBytes {
		return
	}
	for _, g := range c.frames {
		if g.key == f.key {
			return // another reader cached it first
		}
	}
	for len(c.frames) > 0 && (len(c.frames) >= c.maxFrames || c.bytes+n > c.maxBytes) {
		c.bytes -= int64(len(c.frames[0].raw))
		c.frames[0] = nil
		c.frames = c.frames[1:]
	}
	c.frames = append(c.frames, f)
	c.bytes += n
}

func (c *frameCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames, c.bytes = nil, 0
}
