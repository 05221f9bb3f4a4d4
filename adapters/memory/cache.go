package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Defaults of a [Cache].
const (
	// DefaultCacheEntries bounds the number of entries.
	DefaultCacheEntries = 100_000
	// DefaultCacheBytes bounds the memory the entries hold (64 MiB).
	DefaultCacheBytes = 64 << 20
)

// entryOverhead approximates the memory of one entry besides its key and
// value bytes: the map slot, the entry struct and the two slice and string
// headers.
const entryOverhead = 80

const cacheShards = 32

// CacheOption configures a [Cache].
type CacheOption func(*Cache)

// WithMaxEntries bounds the number of entries (default 100,000; values below
// 1 are ignored).
func WithMaxEntries(n int) CacheOption {
	return func(c *Cache) {
		if n > 0 {
			c.maxEntries = n
		}
	}
}

// WithMaxBytes bounds the memory the entries hold, counted as their key and
// value bytes plus a fixed overhead of 80 bytes each (default 64 MiB; values
// below 1 are ignored).
func WithMaxBytes(n int64) CacheOption {
	return func(c *Cache) {
		if n > 0 {
			c.maxBytes = n
		}
	}
}

// WithCacheClock sets the clock that decides expiry (default: the wall
// clock, time.Now).
func WithCacheClock(clk ports.Clock) CacheOption {
	return func(c *Cache) {
		if !ecolaura.IsNil(clk) { // nil, or a typed nil: the default
			c.clock = clk.Now
		}
	}
}

// CacheStats are a cache's counters.
type CacheStats struct {
	Hits      int64
	Misses    int64
	Evictions int64
	Entries   int
	// Bytes is the memory the entries hold, as the bound counts it.
	Bytes int64
}

type cacheEntry struct {
	val     []byte
	expires int64 // Unix nanoseconds; 0 = never
}

func cost(key string, val []byte) int64 { return int64(len(key) + len(val) + entryOverhead) }

type cacheShard struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

// Cache is the in-process cache of the product cache (it implements
// productcache.Cache, checked by productcache/cachetest): a sharded map with per-shard locks,
// TTLs checked against an injectable clock, and two bounds that always hold:
// a number of entries and a number of bytes (keys, values and a fixed
// overhead per entry). When a bound is exceeded Set evicts: an expired entry,
// else an entry with a TTL (the one expiring soonest among a few sampled),
// else a value without TTL; counters written by Incr are values like any
// other. A value larger than the byte bound is not kept (Set succeeds and
// the key is a miss, as if evicted at once). Values are copied in and out.
// Safe for concurrent use.
type Cache struct {
	maxEntries int
	perShard   int
	maxBytes   int64
	clock      func() time.Time
	seed       maphash.Seed
	shards     [cacheShards]cacheShard
	bytes      atomic.Int64
	next       atomic.Uint32 // the shard the next byte eviction starts at
	hits       atomic.Int64
	misses     atomic.Int64
	evictions  atomic.Int64
}

// NewCache returns an empty cache.
func NewCache(opts ...CacheOption) *Cache {
	c := &Cache{maxEntries: DefaultCacheEntries, maxBytes: DefaultCacheBytes, clock: time.Now, seed: maphash.MakeSeed()}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.perShard = max(1, (c.maxEntries+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i].entries = make(map[string]cacheEntry)
	}
	return c
}

func (c *Cache) shardIndex(key string) int { return int(maphash.String(c.seed, key) % cacheShards) }

func (c *Cache) now() int64 { return c.clock().UnixNano() }

func (e cacheEntry) live(now int64) bool { return e.expires == 0 || now < e.expires }

// remove deletes key from sh (whose lock is held) and gives its bytes back.
func (c *Cache) remove(sh *cacheShard, key string, e cacheEntry) {
	delete(sh.entries, key)
	c.bytes.Add(-cost(key, e.val))
}

// Get returns a copy of the value and true, or nil and false on a miss
// (including a key past its TTL).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	now := c.now()
	sh := &c.shards[c.shardIndex(key)]
	sh.mu.Lock()
	e, ok := sh.entries[key]
	if ok && !e.live(now) {
		c.remove(sh, key, e)
		ok = false
	}
	var out []byte
	if ok {
		out = append(make([]byte, 0, len(e.val)), e.val...)
	}
	sh.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return out, ok, nil
}

// GetMany returns copies of the values of the keys that are present.
func (c *Cache) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v, ok, _ := c.Get(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// expiry returns the expiry time of a value stored now for ttl.
func expiry(now int64, ttl time.Duration) int64 {
	if ttl > 0 && int64(ttl) <= math.MaxInt64-now {
		return now + int64(ttl) // a TTL beyond the year 2262 never expires
	}
	return 0
}

// Set stores a copy of value under key for ttl (ttl <= 0: until deleted or
// evicted), evicting other entries when a bound is exceeded.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c.put(key, value, ttl, false)
	return nil
}

// SetMany stores a copy of every value under its key for ttl.
func (c *Cache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error {
	for k, v := range values {
		c.put(k, v, ttl, false)
	}
	return nil
}

// AddMany stores a copy of each value whose key is absent (or expired) for
// ttl and returns the keys it stored.
func (c *Cache) AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error) {
	var added []string
	for k, v := range values {
		if c.put(k, v, ttl, true) {
			added = append(added, k)
		}
	}
	return added, nil
}

// put stores value under key (only when the key is absent if onlyNew) and
// reports whether it did. A value too large for the byte bound replaces
// the key's value by nothing: the key becomes a miss.
func (c *Cache) put(key string, value []byte, ttl time.Duration, onlyNew bool) bool {
	now := c.now()
	i := c.shardIndex(key)
	sh := &c.shards[i]
	sh.mu.Lock()
	old, exists := sh.entries[key]
	if exists && !old.live(now) {
		c.remove(sh, key, old)
		exists = false
	}
	if onlyNew && exists {
		sh.mu.Unlock()
		return false
	}
	if cost(key, value) > c.maxBytes {
		if exists {
			c.remove(sh, key, old)
		}
		sh.mu.Unlock()
		return onlyNew // "stored" and evicted at once
	}
	e := cacheEntry{val: append(make([]byte, 0, len(value)), value...), expires: expiry(now, ttl)}
	if exists {
		c.bytes.Add(-cost(key, old.val))
	} else if len(sh.entries) >= c.perShard {
		c.evict(sh, now, key)
	}
	sh.entries[key] = e
	c.bytes.Add(cost(key, e.val))
	sh.mu.Unlock()
	if c.bytes.Load() > c.maxBytes {
		c.shrink(i, key)
	}
	return true
}

// shrink evicts entries, one shard at a time starting after the shard that
// grew, until the byte bound holds again. keep is never evicted (the value
// just stored), unless it alone is left.
func (c *Cache) shrink(grew int, keep string) {
	now := c.now()
	start := int(c.next.Add(1)) + grew
	for idle := 0; c.bytes.Load() > c.maxBytes && idle < cacheShards; {
		sh := &c.shards[start%cacheShards]
		start++
		sh.mu.Lock()
		if c.evict(sh, now, keep) {
			idle = 0
		} else {
			idle++
		}
		sh.mu.Unlock()
	}
}

// evictSample is how many entries with a TTL eviction compares.
const evictSample = 8

// evict removes one entry of sh (whose lock is held) other than keep and
// reports whether it did. Map iteration starts at a random place, which
// makes the sample random.
func (c *Cache) evict(sh *cacheShard, now int64, keep string) bool {
	var (
		victim, plain string
		soonest       int64
		found, haveP  bool
		seen          int
	)
	for k, e := range sh.entries {
		if k == keep {
			continue
		}
		switch {
		case e.expires != 0 && !e.live(now):
			victim, found = k, true
			seen = evictSample // expired: take it
		case e.expires != 0:
			if !found || e.expires < soonest {
				victim, soonest, found = k, e.expires, true
			}
			seen++
		case !haveP:
			plain, haveP = k, true
		}
		if seen >= evictSample {
			break
		}
	}
	switch {
	case found:
	case haveP:
		victim = plain
	default:
		return false
	}
	c.remove(sh, victim, sh.entries[victim])
	c.evictions.Add(1)
	return true
}

// Delete removes the keys; missing keys are ignored.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		sh := &c.shards[c.shardIndex(k)]
		sh.mu.Lock()
		if e, ok := sh.entries[k]; ok {
			c.remove(sh, k, e)
		}
		sh.mu.Unlock()
	}
	return nil
}

// Incr atomically adds one to the integer stored at key and returns the new
// value. A missing (or expired) key starts from 0 and does not expire; an
// existing key keeps its TTL. A counter is a value like any other: the
// bounds may evict it, after which it starts from 0 again. Errors:
// *ValidationError (ErrInvalid) when the stored value is not a decimal
// integer or would overflow.
func (c *Cache) Incr(ctx context.Context, key string) (int64, error) {
	now := c.now()
	i := c.shardIndex(key)
	sh := &c.shards[i]
	sh.mu.Lock()
	e, ok := sh.entries[key]
	var n int64
	if ok && e.live(now) {
		v, err := strconv.ParseInt(string(e.val), 10, 64)
		if err != nil || v == 1<<63-1 {
			sh.mu.Unlock()
			return 0, fmt.Errorf("memory: incr %q: %w", key, ecolaura.Invalid("value", "is not an integer or out of range"))
		}
		n = v
		c.remove(sh, key, e)
	} else {
		if ok {
			c.remove(sh, key, e)
		}
		e = cacheEntry{}
		if len(sh.entries) >= c.perShard {
			c.evict(sh, now, key)
		}
	}
	n++
	e.val = strconv.AppendInt(nil, n, 10)
	sh.entries[key] = e
	c.bytes.Add(cost(key, e.val))
	sh.mu.Unlock()
	if c.bytes.Load() > c.maxBytes {
		c.shrink(i, key)
	}
	return n, nil
}

// Stats returns the hit, miss and eviction counters, the number of entries
// and the bytes they hold (expired ones not yet removed included).
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Bytes: c.bytes.Load()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		st.Entries += len(sh.entries)
		sh.mu.Unlock()
	}
	return st
}
