package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"golang.org/x/sync/singleflight"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Cache is the product cache's storage (productcache.Cache, checked by
// productcache/cachetest) on Redis with optional client-side caching. It is
// safe for concurrent use. Create it with [NewCache]; Close it when done.
//
// Coherence: a Set, Delete or Incr through this Cache is seen by its own next
// Get (the write returns only after Redis's invalidation of any cached copy
// has been applied, see write), and by other processes' next Get once their
// invalidation message has arrived.
type Cache struct {
	client rueidis.Client
	cfg    Config
	health *health
	group  singleflight.Group

	hits      atomic.Uint64
	misses    atomic.Uint64
	localHits atomic.Uint64
	loads     atomic.Uint64
}

// Stats are the counters of a Cache since it was created.
type Stats struct {
	// Hits and Misses count keys found and not found by Get, GetMany and GetOrLoad.
	Hits, Misses uint64
	// LocalHits counts the hits and misses answered from process memory
	// (client-side cache) with no Redis round trip.
	LocalHits uint64
	// Errors counts calls that failed because Redis was unreachable, slow or
	// marked down (Rejected of them without being tried).
	Errors, Rejected uint64
	// Outages counts transitions from healthy to unavailable.
	Outages uint64
	// Loads counts GetOrLoad load calls (after singleflight deduplication).
	Loads uint64
	// Healthy is false while Redis is considered unavailable.
	Healthy bool
}

// NewCache connects to Redis and returns a Cache. ctx bounds the initial
// connection check. It returns an *ecolaura.ConfigError for a bad cfg
// (or for client-side caching against a server without RESP3 tracking).
// When Redis cannot be reached the Cache starts in the unavailable state
// (logged once, as for an outage at run time): its calls fail fast with
// ecolaura.ErrUnavailable, so callers read their store, until a probe
// (one call per ProbeInterval) finds Redis back. Call Ping to insist on a
// reachable Redis.
func NewCache(ctx context.Context, cfg Config, opts ...Option) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redis cache config: %w", err)
	}
	cfg = cfg.withDefaults()
	o := buildOptions(opts)
	if err := o.bad.ConfigErr(); err != nil {
		return nil, fmt.Errorf("redis cache config: %w", err)
	}
	opt, err := clientOption(cfg.URL, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("redis cache config: %w", ecolaura.Misconfigured("url", "%v", err))
	}
	opt.DisableCache = !cfg.ClientSideCaching
	opt.CacheSizeEachConn = cfg.CacheBytes
	client, err := rueidis.NewClient(opt)
	if errors.Is(err, rueidis.ErrNoCache) {
		if client != nil {
			client.Close()
		}
		return nil, fmt.Errorf("redis cache config: %w", ecolaura.Misconfigured("client_side_caching",
			"the server does not support RESP3 client tracking (Redis 6+); turn client-side caching off"))
	}
	if client == nil {
		return nil, unavailable("connect to redis", err)
	}
	client = traced(client, o.tracer)
	c := &Cache{
		client: client,
		cfg:    cfg,
		health: &health{what: "cache", fallback: "cache calls fail fast (callers read the store)",
			log: o.logger.With(slog.String("prefix", cfg.Prefix)), probeEvery: cfg.ProbeInterval},
	}
	if err == nil {
		err = ping(ctx, client, cfg.Timeout)
	}
	if err != nil {
		c.health.fail(fmt.Errorf("at start: %w", err)) // degraded until a probe succeeds
	}
	return c, nil
}

// Close releases the connection. Calls after Close return an error wrapping
// ecolaura.ErrUnavailable.
func (c *Cache) Close() {
	if c.health.closing.Swap(true) {
		return
	}
	c.client.Close()
}

// Healthy reports whether Redis is considered reachable.
func (c *Cache) Healthy() bool { return !c.health.down.Load() }

// Ping checks that Redis answers within the configured timeout.
func (c *Cache) Ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := c.client.Do(cctx, c.client.B().Ping().Build()).Error(); err != nil {
		return c.failure(ctx, "ping", err)
	}
	c.health.ok()
	return nil
}

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		LocalHits: c.localHits.Load(),
		Errors:    c.health.errors.Load(),
		Rejected:  c.health.rejected.Load(),
		Outages:   c.health.outages.Load(),
		Loads:     c.loads.Load(),
		Healthy:   c.Healthy(),
	}
}

// Prefix returns the key prefix in use.
func (c *Cache) Prefix() string { return c.cfg.Prefix }

// Get returns a copy of the value under key and true, or nil and false on a
// miss. With client-side caching a repeated Get is answered from memory. It
// returns an error wrapping ecolaura.ErrUnavailable when Redis is
// unreachable or slower than the timeout.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := c.admit(); err != nil {
		return nil, false, fmt.Errorf("redis cache get %q: %w", key, err)
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	cmd := c.client.B().Get().Key(c.cfg.Prefix + key)
	var resp rueidis.RedisResult
	if c.cfg.ClientSideCaching {
		resp = c.client.DoCache(cctx, cmd.Cache(), c.cfg.CacheTTL)
	} else {
		resp = c.client.Do(cctx, cmd.Build())
	}
	cancel()
	if resp.IsCacheHit() {
		c.localHits.Add(1)
	}
	s, err := resp.ToString()
	switch {
	case err == nil:
		c.health.ok()
		c.hits.Add(1)
		return []byte(s), true, nil // copy: s may be shared with the client-side cache
	case rueidis.IsRedisNil(err):
		c.health.ok()
		c.misses.Add(1)
		return nil, false, nil
	default:
		return nil, false, c.failure(ctx, fmt.Sprintf("get %q", key), err)
	}
}

// GetMany returns copies of the values of the keys that are present. With
// client-side caching the keys cached in memory cost no round trip and the
// others are fetched in one pipeline. Errors as for Get.
func (c *Cache) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if err := c.admit(); err != nil {
		return nil, fmt.Errorf("redis cache get %d keys: %w", len(keys), err)
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var resps []rueidis.RedisResult
	if c.cfg.ClientSideCaching {
		multi := make([]rueidis.CacheableTTL, len(keys))
		for i, k := range keys {
			multi[i] = rueidis.CT(c.client.B().Get().Key(c.cfg.Prefix+k).Cache(), c.cfg.CacheTTL)
		}
		resps = c.client.DoMultiCache(cctx, multi...)
	} else {
		prefixed := make([]string, len(keys))
		for i, k := range keys {
			prefixed[i] = c.cfg.Prefix + k
		}
		msgs, err := c.client.Do(cctx, c.client.B().Mget().Key(prefixed...).Build()).ToArray()
		if err != nil {
			return nil, c.failure(ctx, fmt.Sprintf("get %d keys", len(keys)), err)
		}
		for i := range msgs {
			s, err := msgs[i].ToString()
			if err == nil {
				out[keys[i]] = []byte(s)
			} else if !rueidis.IsRedisNil(err) {
				return nil, c.failure(ctx, fmt.Sprintf("get %q", keys[i]), err)
			}
		}
		c.health.ok()
		c.count(len(out), len(keys)-len(out))
		return out, nil
	}
	for i, resp := range resps {
		if resp.IsCacheHit() {
			c.localHits.Add(1)
		}
		s, err := resp.ToString()
		switch {
		case err == nil:
			out[keys[i]] = []byte(s)
		case rueidis.IsRedisNil(err):
		default:
			return nil, c.failure(ctx, fmt.Sprintf("get %q", keys[i]), err)
		}
	}
	c.health.ok()
	c.count(len(out), len(keys)-len(out))
	return out, nil
}

func (c *Cache) count(hits, misses int) {
	c.hits.Add(uint64(hits))
	c.misses.Add(uint64(misses))
}

// Set stores a copy of value under key; ttl <= 0 stores it without expiry.
// Errors as for Get.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := c.write(ctx, fmt.Sprintf("set %q", key), c.setCmd(key, value, ttl, false))
	return err
}

// setCmd builds SET key value [NX] [PX ttl].
func (c *Cache) setCmd(key string, value []byte, ttl time.Duration, onlyNew bool) rueidis.Completed {
	// string(value) copies: a call that times out may still be written later.
	b := c.client.B().Set().Key(c.cfg.Prefix + key).Value(string(value))
	if ttl <= 0 {
		if onlyNew {
			return b.Nx().Build()
		}
		return b.Build()
	}
	ms := int64((ttl + time.Millisecond - 1) / time.Millisecond)
	if onlyNew {
		return b.Nx().PxMilliseconds(ms).Build()
	}
	return b.PxMilliseconds(ms).Build()
}

// SetMany stores a copy of every value under its key for ttl (ttl <= 0:
// without expiry) in one pipeline: one round trip. Errors as for Get.
func (c *Cache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error {
	if len(values) == 0 {
		return nil
	}
	cmds := make(rueidis.Commands, 0, len(values))
	for k, v := range values {
		cmds = append(cmds, c.setCmd(k, v, ttl, false))
	}
	_, err := c.writeMany(ctx, fmt.Sprintf("set %d keys", len(values)), cmds)
	return err
}

// AddMany stores each value whose key is absent (SET NX) for ttl in one
// pipeline and returns the keys it stored. Errors as for Get.
func (c *Cache) AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(values))
	cmds := make(rueidis.Commands, 0, len(values))
	for k, v := range values {
		keys = append(keys, k)
		cmds = append(cmds, c.setCmd(k, v, ttl, true))
	}
	resps, err := c.writeMany(ctx, fmt.Sprintf("add %d keys", len(values)), cmds)
	if err != nil {
		return nil, err
	}
	var added []string
	for i, r := range resps {
		if r.Error() == nil { // OK; a key that exists answers nil
			added = append(added, keys[i])
		}
	}
	return added, nil
}

// Delete removes the keys; missing keys are ignored. Errors as for Get.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	prefixed := make([]string, len(keys))
	for i, k := range keys {
		prefixed[i] = c.cfg.Prefix + k
	}
	_, err := c.write(ctx, fmt.Sprintf("delete %d keys", len(keys)), c.client.B().Del().Key(prefixed...).Build())
	return err
}

// Incr atomically adds one to the integer under key (a missing key counts
// as 0 and is created without expiry) and returns the new value. It returns
// an *ecolaura.ValidationError when the key holds something that is not a
// 64-bit integer, otherwise errors as for Get.
func (c *Cache) Incr(ctx context.Context, key string) (int64, error) {
	resp, err := c.write(ctx, fmt.Sprintf("incr %q", key), c.client.B().Incr().Key(c.cfg.Prefix+key).Build())
	if err != nil {
		return 0, err
	}
	n, err := resp.AsInt64()
	if err != nil {
		return 0, fmt.Errorf("redis cache incr %q: %v", key, err)
	}
	return n, nil
}

// write sends cmd (see writeMany) and returns its result.
func (c *Cache) write(ctx context.Context, op string, cmd rueidis.Completed) (rueidis.RedisResult, error) {
	resps, err := c.writeMany(ctx, op, rueidis.Commands{cmd})
	if len(resps) == 0 {
		return rueidis.RedisResult{}, err
	}
	return resps[0], err
}

// writeMany sends cmds in one pipeline and returns their results (a reply
// of nil, as SET NX gives for an existing key, is not an error). With
// client-side caching it pipelines a PING behind them on the same
// connection: Redis sends the invalidation of a key this connection has
// cached after the write's reply, so once the PING's reply is in, the
// client has dropped its stale copy and the next Get is fresh.
func (c *Cache) writeMany(ctx context.Context, op string, cmds rueidis.Commands) ([]rueidis.RedisResult, error) {
	if err := c.admit(); err != nil {
		return nil, fmt.Errorf("redis cache %s: %w", op, err)
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	n := len(cmds)
	if c.cfg.ClientSideCaching {
		cmds = append(cmds, c.client.B().Ping().Build())
	}
	resps := c.client.DoMulti(cctx, cmds...)
	for _, resp := range resps { // the PING's failure too: the invalidation's outcome is unknown
		err := resp.Error()
		if err == nil || rueidis.IsRedisNil(err) {
			continue
		}
		if re, ok := rueidis.IsRedisErr(err); ok && !unavailableReply(re) {
			c.health.ok()
			return resps[:n], fmt.Errorf("redis cache %s: %w", op, ecolaura.Invalid("value", "%s", re.Error()))
		}
		return resps[:n], c.failure(ctx, op, err)
	}
	c.health.ok()
	return resps[:n], nil
}

// Flush deletes every key this Cache can have stored: every key under its
// prefix except a RateLimiter's ("<prefix>ratelimit:..."), which share the
// prefix. It walks the keyspace with SCAN and deletes in batches with
// UNLINK, so Redis is never blocked, and returns how many keys it deleted.
// Other processes' client-side copies are invalidated by Redis. Use it after
// the database changed behind the caches' back (a manual fix, a restore).
// Errors: ecolaura.ErrUnavailable.
func (c *Cache) Flush(ctx context.Context) (int, error) {
	if err := c.admit(); err != nil {
		return 0, fmt.Errorf("redis cache flush: %w", err)
	}
	keep := c.cfg.Prefix + limiterNamespace
	deleted := 0
	var cursor uint64
	for {
		cctx, cancel := context.WithTimeout(ctx, max(c.cfg.Timeout, time.Second))
		e, err := c.client.Do(cctx, c.client.B().Scan().Cursor(cursor).Match(c.cfg.Prefix+"*").Count(1000).Build()).AsScanEntry()
		if err == nil {
			var keys []string
			for _, k := range e.Elements {
				if !strings.HasPrefix(k, keep) {
					keys = append(keys, k)
				}
			}
			if len(keys) > 0 {
				if err = c.client.Do(cctx, c.client.B().Unlink().Key(keys...).Build()).Error(); err == nil {
					deleted += len(keys)
				}
			}
		}
		cancel()
		if err != nil {
			return deleted, c.failure(ctx, "flush", err)
		}
		if e.Cursor == 0 {
			c.health.ok()
			return deleted, nil
		}
		cursor = e.Cursor
	}
}

// GetOrLoad returns the value under key; on a miss (or when Redis is
// unavailable) it calls load, stores its result for ttl (ttl == 0 means
// Config.DefaultTTL, ttl < 0 no expiry) and returns it. Concurrent misses
// for one key in this process share one load call (singleflight); each
// caller gets its own copy. load runs with the first caller's context values
// but not its cancellation; a caller whose ctx ends stops waiting. load's
// error is returned unchanged and nothing is stored; cache errors are never
// returned (they only count in Stats).
func (c *Cache) GetOrLoad(ctx context.Context, key string, ttl time.Duration, load func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	if v, ok, err := c.Get(ctx, key); err == nil && ok {
		return v, nil
	}
	if ttl == 0 {
		ttl = c.cfg.DefaultTTL
	}
	ch := c.group.DoChan(key, func() (any, error) {
		lctx := context.WithoutCancel(ctx)
		// A load that finished just before this one started may have stored it.
		if v, ok, err := c.Get(lctx, key); err == nil && ok {
			return v, nil
		}
		c.loads.Add(1)
		v, err := load(lctx)
		if err != nil {
			return nil, err
		}
		_ = c.Set(lctx, key, v, ttl) // failures are counted; the value is still good
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		v := r.Val.([]byte)
		if r.Shared {
			v = append([]byte(nil), v...)
		}
		return v, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("redis cache load %q: %w", key, ctx.Err())
	}
}

func (c *Cache) admit() error {
	if c.health.closing.Load() {
		return errClosed
	}
	if !c.health.admit() {
		return fmt.Errorf("%w: %w", ecolaura.ErrUnavailable, errRejected)
	}
	return nil
}

// failure turns a call's error into the adapter's error and records
// availability.
func (c *Cache) failure(parent context.Context, op string, err error) error {
	if c.health.closing.Load() {
		return fmt.Errorf("redis cache %s: %w", op, errClosed)
	}
	if c.health.observe(parent, err) {
		return unavailable("redis cache "+op, err)
	}
	return failed(parent, "redis cache "+op, err)
}
