package productcache

import (
	"context"
	"time"
)

// Cache is the storage the product cache keeps its entries, fences and
// generation in, declared here by its consumer (the core never uses a
// cache directly). The memory adapter's Cache and the Redis adapter's Cache
// implement it; the conformance suite is package cachetest, beside this one.
//
// Semantics (checked by cachetest.Cache): values are copied in and out; a key
// past its TTL is a miss; Set with ttl <= 0 keeps the value until deleted or
// evicted; Incr on a missing key starts from 0 and the key does not expire.
// A cache may evict any key at any time (a bounded cache must), so callers
// treat every key, counters included, as an optimisation that can vanish.
// Implementations that share a backend between processes (Redis) make a
// Set, SetMany, AddMany, Delete or Incr visible to every process's next Get.
type Cache interface {
	// Get returns the value and true, or nil and false on a miss.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// GetMany returns the values of the keys that are present.
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetMany stores every value under its key for ttl, in one round trip
	// where the backend has round trips. It is not atomic: after an error
	// some of the keys may have been stored.
	SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error
	// AddMany stores each value under its key for ttl only where the key is
	// absent (set-if-not-exists, each key atomically on its own), in one
	// round trip where the backend has round trips, and returns the keys it
	// stored; the other keys keep their values.
	AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error)
	// Delete removes the keys; missing keys are ignored.
	Delete(ctx context.Context, keys ...string) error
	// Incr atomically adds one to the integer stored at key and returns the
	// new value.
	Incr(ctx context.Context, key string) (int64, error)
}
