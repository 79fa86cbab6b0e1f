package pricing

import (
	"hash/maphash"
	"strings"
	"sync"
)

// cacheShards spreads lookups over independent locks so parallel ingest
// workers rarely contend.
const cacheShards = 16

// cacheKey is the (provider, model) pair exactly as spans carry it.
type cacheKey struct{ provider, model string }

// lookupCache memoizes match results, including misses (nil), per
// (provider, model). It is bounded: a shard that reaches its capacity is
// emptied before the next insert, so a flood of distinct model names costs
// re-matching, never unbounded memory. Safe for concurrent use.
type lookupCache struct {
	seed     maphash.Seed
	perShard int // capacity of each shard; > 0
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[cacheKey]*entry // guarded by mu; nil value = no price known
}

func newLookupCache(capacity int) *lookupCache {
	c := &lookupCache{seed: maphash.MakeSeed(), perShard: max(capacity/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]*entry)
	}
	return c
}

func (c *lookupCache) shard(k cacheKey) *cacheShard {
	return &c.shards[maphash.String(c.seed, k.model)%cacheShards]
}

// get returns the cached result for k and whether there was one.
func (c *lookupCache) get(k cacheKey) (*entry, bool) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	return e, ok
}

// put stores e (which may be nil) for k. The key strings are cloned so the
// cache never pins the memory of the request they were decoded from.
func (c *lookupCache) put(k cacheKey, e *entry) {
	k = cacheKey{strings.Clone(k.provider), strings.Clone(k.model)}
	s := c.shard(k)
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		clear(s.m)
	}
	s.m[k] = e
	s.mu.Unlock()
}

// len returns the number of cached keys.
func (c *lookupCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
