package redact

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// Texts that repeat across spans (system prompts, policy snippets,
// few-shot examples) are most of the standard workload's bytes: about half
// of them are long strings already seen in the last 100 requests. The
// clean cache remembers long texts in which the scanner found nothing, so a
// repeat costs a hash and a compare instead of a scan.
//
// Safety rests on exact equality, not on the hash: a slot holds a copy of
// the whole text, and a hit needs the texts to be equal byte for byte. A
// cache belongs to one compiled redactor, so a rule change starts empty.
const (
	cleanSlots    = 4096    // direct-mapped slots
	cleanMinBytes = 256     // shorter texts scan faster than they hash
	cleanMaxBytes = 8 << 10 // bounds the cache to 32 MiB (a few MiB with typical texts)
)

// cleanCache is a direct-mapped set of texts known to need no redaction.
// It is safe for concurrent use; a racing store just replaces a slot.
type cleanCache struct {
	seed  maphash.Seed
	slots [cleanSlots]atomic.Pointer[string]
}

func newCleanCache() *cleanCache { return &cleanCache{seed: maphash.MakeSeed()} }

// lookup reports whether s is known clean, and its slot for store.
func (c *cleanCache) lookup(s string) (*atomic.Pointer[string], bool) {
	slot := &c.slots[maphash.String(c.seed, s)%cleanSlots]
	p := slot.Load()
	return slot, p != nil && *p == s
}

// store remembers s (a copy: s may point into a large request buffer that
// the cache must not keep alive) as clean in slot.
func store(slot *atomic.Pointer[string], s string) {
	cp := strings.Clone(s)
	slot.Store(&cp)
}
