package ports

import (
	"context"
	"time"
)

// Cache stores byte values under string keys with a time to live.
//
// Semantics (checked by porttest.Cache): values are copied in and out; a key
// past its TTL is a miss; Set with ttl <= 0 keeps the value until deleted;
// Incr on a missing key starts from 0 and the key does not expire; a cache
// may evict keys with a TTL at any time, so callers must treat it as an
// optimisation. Implementations that share a backend between processes
// (Redis) make a Delete or Incr visible to every process's next Get.
type Cache interface {
	// Get returns the value and true, or nil and false on a miss.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// GetMany returns the values of the keys that are present.
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes the keys; missing keys are ignored.
	Delete(ctx context.Context, keys ...string) error
	// Incr atomically adds one to the integer stored at key and returns the
	// new value.
	Incr(ctx context.Context, key string) (int64, error)
}
