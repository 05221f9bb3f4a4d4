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

// DefaultCacheEntries is the default bound of a [Cache].
const DefaultCacheEntries = 100_000

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

// WithCacheClock sets the clock that decides expiry (default: the wall
// clock, time.Now).
func WithCacheClock(clk ports.Clock) CacheOption {
	return func(c *Cache) {
		if clk != nil {
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
}

type cacheEntry struct {
	val     []byte
	expires int64 // Unix nanoseconds; 0 = never
	counter bool  // written by Incr: never evicted
}

type cacheShard struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

// Cache is the in-process [ports.Cache]: a sharded map with per-shard locks,
// TTLs checked against an injectable clock, and a size bound. When a shard
// is full, Set evicts an expired entry, else an entry with a TTL (the one
// expiring soonest among a few sampled), else a value without TTL; counters
// written by Incr are never evicted, so a cache holding only counters can
// exceed the bound. Values are copied in and out. Safe for concurrent use.
type Cache struct {
	maxEntries int
	perShard   int
	clock      func() time.Time
	seed       maphash.Seed
	shards     [cacheShards]cacheShard
	hits       atomic.Int64
	misses     atomic.Int64
	evictions  atomic.Int64
}

var _ ports.Cache = (*Cache)(nil)

// NewCache returns an empty cache.
func NewCache(opts ...CacheOption) *Cache {
	c := &Cache{maxEntries: DefaultCacheEntries, clock: time.Now, seed: maphash.MakeSeed()}
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

func (c *Cache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

func (c *Cache) now() int64 { return c.clock().UnixNano() }

func (e cacheEntry) live(now int64) bool { return e.expires == 0 || now < e.expires }

// Get returns a copy of the value and true, or nil and false on a miss
// (including a key past its TTL).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	now := c.now()
	sh := c.shard(key)
	sh.mu.Lock()
	e, ok := sh.entries[key]
	if ok && !e.live(now) {
		delete(sh.entries, key)
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

// Set stores a copy of value under key for ttl (ttl <= 0: until deleted or
// evicted), evicting another entry when the shard is full.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	now := c.now()
	e := cacheEntry{val: append(make([]byte, 0, len(value)), value...)}
	if ttl > 0 && int64(ttl) <= math.MaxInt64-now {
		e.expires = now + int64(ttl) // a TTL beyond the year 2262 never expires
	}
	sh := c.shard(key)
	sh.mu.Lock()
	if _, exists := sh.entries[key]; !exists && len(sh.entries) >= c.perShard {
		c.evict(sh, now)
	}
	sh.entries[key] = e
	sh.mu.Unlock()
	return nil
}

// evictSample is how many entries with a TTL eviction compares.
const evictSample = 8

// evict removes one entry of a full shard; sh.mu is held. Map iteration
// starts at a random place, which makes the sample random.
func (c *Cache) evict(sh *cacheShard, now int64) {
	var (
		victim, plain string
		soonest       int64
		found, haveP  bool
		seen          int
	)
	for k, e := range sh.entries {
		switch {
		case e.expires != 0 && !e.live(now):
			victim, found = k, true
			seen = evictSample // expired: take it
		case e.expires != 0:
			if !found || e.expires < soonest {
				victim, soonest, found = k, e.expires, true
			}
			seen++
		case !e.counter && !haveP:
			plain, haveP = k, true
		}
		if seen >= evictSample {
			break
		}
	}
	switch {
	case found:
		delete(sh.entries, victim)
	case haveP:
		delete(sh.entries, plain)
	default:
		return // only counters: keep them all
	}
	c.evictions.Add(1)
}

// Delete removes the keys; missing keys are ignored.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		sh := c.shard(k)
		sh.mu.Lock()
		delete(sh.entries, k)
		sh.mu.Unlock()
	}
	return nil
}

// Incr atomically adds one to the integer stored at key and returns the new
// value. A missing (or expired) key starts from 0 and does not expire; an
// existing key keeps its TTL. The key becomes a counter that eviction never
// removes. Errors: *ValidationError (ErrInvalid) when the stored value is
// not a decimal integer or would overflow.
func (c *Cache) Incr(ctx context.Context, key string) (int64, error) {
	now := c.now()
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[key]
	var n int64
	if ok && e.live(now) {
		v, err := strconv.ParseInt(string(e.val), 10, 64)
		if err != nil || v == 1<<63-1 {
			return 0, fmt.Errorf("memory: incr %q: %w", key, ecolaura.Invalid("value", "is not an integer or out of range"))
		}
		n = v
	} else {
		e = cacheEntry{}
	}
	n++
	e.val = strconv.AppendInt(nil, n, 10)
	e.counter = true
	sh.entries[key] = e
	return n, nil
}

// Stats returns the hit, miss and eviction counters and the number of
// entries (expired ones not yet removed included).
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		st.Entries += len(sh.entries)
		sh.mu.Unlock()
	}
	return st
}
