package redis

import (
	"context"
	"log/slog"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// outageTimeout is the call timeout of the outage tests, and failFastBound
// the most a call may take while Redis is down or hung. The bound checks the
// adapter's behaviour (a call must not hang for the seconds of a dial or TCP
// keep-alive timeout), not its speed, so it leaves room for a loaded machine.
const (
	outageTimeout = 300 * time.Millisecond
	failFastBound = 2 * time.Second
)

// TestStartsDegradedAndRecovers is issue 10 item 13: a Cache and a
// RateLimiter created while Redis is unreachable start in the unavailable
// state instead of failing (so serve and worker start), fail fast or limit
// per process meanwhile, and resume on their own once Redis is there.
func TestStartsDegradedAndRecovers(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	srv.kill() // the port is known and nobody listens on it
	logs := &logRecorder{}
	logger := slog.New(logs)
	ctx := context.Background()

	_, err := NewCache(ctx, Config{})
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce, "a bad configuration is still refused")
	cfg := DefaultConfig(srv.URL())
	cfg.Prefix = testPrefix(t, srv.URL())
	cfg.Timeout = outageTimeout
	cfg.ProbeInterval = 20 * time.Millisecond
	start := time.Now()
	cache := openCache(t, cfg, WithLogger(logger))
	lim := openLimiter(t, LimiterConfig{URL: srv.URL(), Prefix: cfg.Prefix, Timeout: outageTimeout, ProbeInterval: 20 * time.Millisecond}, WithLogger(logger))
	assert.Less(t, time.Since(start), 5*time.Second, "starting without Redis is bounded")
	assert.False(t, cache.Healthy())
	assert.False(t, lim.Healthy())
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "redis is unavailable", "redis cache"))
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "redis is unavailable", "redis rate limiter"))

	for range 5 {
		_, _, err := cache.Get(ctx, "k")
		require.ErrorIs(t, err, ecolaura.ErrUnavailable)
		d, err := lim.Allow(ctx, "ip", slow(3))
		require.NoError(t, err)
		assert.NotNil(t, d)
	}
	assert.Positive(t, lim.Stats().LocalDecisions, "the limiter decides per process meanwhile")
	assert.Zero(t, lim.Stats().RedisDecisions)

	srv.start()
	require.True(t, eventually(10*time.Second, func() bool {
		return cache.Set(ctx, "k", []byte("v"), time.Minute) == nil
	}), "the cache does not resume once Redis is there")
	v, ok, err := cache.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "v", string(v))
	assert.True(t, cache.Healthy())
	require.True(t, eventually(10*time.Second, func() bool {
		_, err := lim.Allow(ctx, "ip2", slow(3))
		return err == nil && lim.Stats().RedisDecisions > 0
	}), "the limiter does not return to Redis")
	assert.Equal(t, 1, logs.count(slog.LevelInfo, "reachable again", "redis cache"))
}

// TestOutageAndRecovery kills a private redis-server under a Cache and a
// RateLimiter, checks that they degrade (cache calls fail fast, the limiter
// limits per process, each logs the outage once), restarts the server on the
// same port and checks that both resume on their own, client-side caching
// included.
func TestOutageAndRecovery(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	logs := &logRecorder{}
	logger := slog.New(logs)
	ctx := context.Background()

	cfg := DefaultConfig(srv.URL())
	cfg.Prefix = testPrefix(t, srv.URL())
	cfg.Timeout = outageTimeout
	cache := openCache(t, cfg, WithLogger(logger))
	lim := openLimiter(t, LimiterConfig{URL: srv.URL(), Prefix: cfg.Prefix, Timeout: outageTimeout}, WithLogger(logger))

	// Healthy: cached reads are local, limits are decided by Redis.
	require.NoError(t, cache.Set(ctx, "product:1", []byte("price 10"), time.Minute))
	for range 2 {
		v, ok, err := cache.Get(ctx, "product:1")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "price 10", string(v))
	}
	require.Positive(t, cache.Stats().LocalHits)
	d, err := lim.Allow(ctx, "before", slow(3))
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.Equal(t, uint64(1), lim.Stats().RedisDecisions)

	srv.kill()

	// The client notices the closed connection (and drops its client-side
	// cache with it) asynchronously; wait for the first error.
	require.True(t, eventually(5*time.Second, func() bool {
		_, _, err := cache.Get(ctx, "product:1")
		return err != nil
	}), "Get keeps succeeding with Redis killed")

	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, _, err := cache.Get(ctx, "product:1"); return err }},
		{"GetMany", func() error { _, err := cache.GetMany(ctx, []string{"product:1", "product:2"}); return err }},
		{"Set", func() error { return cache.Set(ctx, "product:1", []byte("price 11"), time.Minute) }},
		{"SetMany", func() error { return cache.SetMany(ctx, map[string][]byte{"a": nil, "b": nil}, time.Minute) }},
		{"AddMany", func() error { _, err := cache.AddMany(ctx, map[string][]byte{"a": nil}, time.Minute); return err }},
		{"Delete", func() error { return cache.Delete(ctx, "product:1") }},
		{"Incr", func() error { _, err := cache.Incr(ctx, "gen"); return err }},
		{"Ping", func() error { return cache.Ping(ctx) }},
	}
	for round := range 10 {
		for _, c := range calls {
			start := time.Now()
			err := c.call()
			elapsed := time.Since(start)
			requireBehindThePort(t, err, ecolaura.ErrUnavailable)
			assert.Less(t, elapsed, failFastBound, "%s, round %d, took %v", c.name, round, elapsed)
		}
	}
	// The store still serves: GetOrLoad loads despite the cache error.
	v, err := cache.GetOrLoad(ctx, "product:9", time.Minute, func(context.Context) ([]byte, error) {
		return []byte("from the store"), nil
	})
	require.NoError(t, err)
	assert.Equal(t, "from the store", string(v))

	st := cache.Stats()
	assert.False(t, st.Healthy)
	assert.False(t, cache.Healthy())
	assert.Equal(t, uint64(1), st.Outages)
	assert.GreaterOrEqual(t, st.Errors, uint64(len(calls)*10))
	assert.Positive(t, st.Rejected, "most calls are rejected without trying while Redis is down")

	// The limiter falls back to per-process limits, and still limits.
	for i := range 5 {
		start := time.Now()
		d, err := lim.Allow(ctx, "during", slow(3))
		require.NoError(t, err)
		assert.Equal(t, i < 3, d.Allowed, "request %d", i)
		assert.Less(t, time.Since(start), failFastBound)
	}
	lst := lim.Stats()
	assert.False(t, lst.Healthy)
	assert.Equal(t, uint64(5), lst.LocalDecisions)
	assert.Equal(t, uint64(1), lst.RedisDecisions)

	// Logged once per component, however many calls failed.
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "redis is unavailable", "redis cache"))
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "redis is unavailable", "redis rate limiter"))

	// Redis comes back on the same port; the same clients resume.
	srv.start()
	require.True(t, eventually(10*time.Second, func() bool {
		return cache.Set(ctx, "product:1", []byte("price 12"), time.Minute) == nil
	}), "cache did not resume after Redis came back")
	local := cache.Stats().LocalHits
	for range 2 {
		v, ok, err := cache.Get(ctx, "product:1")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "price 12", string(v))
	}
	assert.Greater(t, cache.Stats().LocalHits, local, "client-side caching resumed")
	assert.True(t, cache.Healthy())

	require.True(t, eventually(10*time.Second, func() bool {
		_, err := lim.Allow(ctx, "after", slow(3))
		return err == nil && lim.Stats().RedisDecisions > 1
	}), "rate limiter did not return to Redis")
	assert.True(t, lim.Healthy())
	// Back on Redis, the limit is shared again: a second limiter sees the
	// first one's requests.
	other := openLimiter(t, LimiterConfig{URL: srv.URL(), Prefix: cfg.Prefix})
	for range 2 {
		_, err := lim.Allow(ctx, "after", slow(3))
		require.NoError(t, err)
	}
	d, err = other.Allow(ctx, "after", slow(3))
	require.NoError(t, err)
	assert.False(t, d.Allowed, "three requests already passed through the first limiter")

	assert.Equal(t, 1, logs.count(slog.LevelInfo, "reachable again", "redis cache"))
	assert.Equal(t, 1, logs.count(slog.LevelInfo, "reachable again", "redis rate limiter"))
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "redis is unavailable", "redis cache"))
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "redis is unavailable", "redis rate limiter"))
	assert.Equal(t, uint64(1), cache.Stats().Outages, "no relapse after recovery")
	assert.Equal(t, uint64(1), lim.Stats().Outages, "no relapse after recovery")

	require.NoError(t, cache.Delete(ctx, "product:1", "product:9"))
}

// TestHungRedisFailsFast freezes a private redis-server (SIGSTOP): the TCP
// connection stays open but nothing answers. Calls must still return within
// the bound, and everything resumes after SIGCONT.
func TestHungRedisFailsFast(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	ctx := context.Background()
	cfg := DefaultConfig(srv.URL())
	cfg.Prefix = testPrefix(t, srv.URL())
	cfg.Timeout = outageTimeout
	cache := openCache(t, cfg)
	lim := openLimiter(t, LimiterConfig{URL: srv.URL(), Prefix: cfg.Prefix, Timeout: outageTimeout})
	require.NoError(t, cache.Set(ctx, "k", []byte("v"), time.Minute))

	proc := srv.process()
	require.NoError(t, proc.Signal(syscall.SIGSTOP))
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = proc.Signal(syscall.SIGCONT)
		}
	})

	for i := range 5 {
		start := time.Now()
		_, err := cache.Incr(ctx, "n"+strconv.Itoa(i))
		require.ErrorIs(t, err, ecolaura.ErrUnavailable)
		assert.Less(t, time.Since(start), failFastBound)

		start = time.Now()
		d, err := lim.Allow(ctx, "hung", slow(2))
		require.NoError(t, err)
		assert.Equal(t, i < 2, d.Allowed, "fallback limits, request %d", i)
		assert.Less(t, time.Since(start), failFastBound)
	}
	assert.False(t, cache.Healthy())
	assert.False(t, lim.Healthy())

	require.NoError(t, proc.Signal(syscall.SIGCONT))
	resumed = true
	require.True(t, eventually(10*time.Second, func() bool {
		v, ok, err := cache.Get(ctx, "k")
		return err == nil && ok && string(v) == "v"
	}), "cache did not resume after SIGCONT")
	require.True(t, eventually(10*time.Second, func() bool {
		_, err := lim.Allow(ctx, "after", slow(2))
		return err == nil && lim.Healthy()
	}), "limiter did not resume after SIGCONT")
	// Writes that timed out may still have reached Redis; clear them.
	require.NoError(t, cache.Delete(ctx, "k", "n0", "n1", "n2", "n3", "n4"))
}
