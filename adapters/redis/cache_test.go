package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		fields []string
	}{
		{name: "defaults", cfg: DefaultConfig("redis://127.0.0.1:6379/0")},
		{name: "zero values mean defaults", cfg: Config{URL: "redis://localhost"}},
		{name: "missing url", cfg: Config{}, fields: []string{"url"}},
		{name: "bad scheme", cfg: Config{URL: "http://localhost"}, fields: []string{"url"}},
		{name: "glob in prefix", cfg: Config{URL: "redis://x", Prefix: "a*:"}, fields: []string{"prefix"}},
		{name: "negative durations", cfg: Config{URL: "redis://x", DefaultTTL: -1, CacheTTL: -1, Timeout: -1, ProbeInterval: -1, CacheBytes: -1},
			fields: []string{"cache_bytes", "cache_ttl", "default_ttl", "probe_interval", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.fields == nil {
				require.NoError(t, err)
				return
			}
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad config is a wiring mistake, not user input")
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			var got []string
			for _, f := range ce.Fields {
				got = append(got, f.Field)
			}
			assert.Equal(t, tt.fields, got)
		})
	}
}

func TestNewCacheRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := NewCache(context.Background(), Config{})
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
	_, err = NewRateLimiter(context.Background(), LimiterConfig{})
	require.ErrorAs(t, err, &ce)

	// A port nobody listens on (connection refused): both start degraded,
	// and their calls fail with ErrUnavailable behind the port.
	cfg := DefaultConfig("redis://127.0.0.1:1/0")
	c, err := NewCache(context.Background(), cfg, WithLogger(discardLogger()))
	require.NoError(t, err)
	defer c.Close()
	_, _, err = c.Get(context.Background(), "k")
	requireBehindThePort(t, err, ecolaura.ErrUnavailable)
	requireBehindThePort(t, c.Ping(context.Background()), ecolaura.ErrUnavailable)
	lim, err := NewRateLimiter(context.Background(), LimiterConfig{URL: cfg.URL}, WithLogger(discardLogger()))
	require.NoError(t, err)
	lim.Close()
}

// requireBehindThePort asserts err matches want (nil: any error) and
// exposes none of the client's types: they are not part of the SDK's API.
func requireBehindThePort(t *testing.T, err, want error) {
	t.Helper()
	require.Error(t, err)
	if want != nil {
		require.ErrorIs(t, err, want)
	}
	var re *rueidis.RedisError
	var ne net.Error
	var oe *net.OpError
	assert.False(t, errors.As(err, &re), "*rueidis.RedisError reachable in %v", err)
	assert.False(t, errors.As(err, &ne), "net.Error reachable in %v", err)
	assert.False(t, errors.As(err, &oe), "*net.OpError reachable in %v", err)
}

// TestReplyErrorsStayBehindThePort: a reply error of Redis (a key of the
// wrong type) is an error of the call, not an outage, with Redis's text and
// without rueidis's types.
func TestReplyErrorsStayBehindThePort(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	for _, csc := range []bool{true, false} {
		c := newTestCache(t, url, func(cfg *Config) { cfg.ClientSideCaching = csc })
		raw, err := rawClient(url)
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, raw.Do(ctx, raw.B().Hset().Key(c.Prefix()+"hash").FieldValue().FieldValue("f", "v").Build()).Error())
		raw.Close()
		_, _, err = c.Get(ctx, "hash")
		requireBehindThePort(t, err, nil)
		assert.NotErrorIs(t, err, ecolaura.ErrUnavailable, "a reply error is not an outage")
		assert.Contains(t, err.Error(), "WRONGTYPE", "Redis's text is kept")
		assert.True(t, c.Healthy())
		require.NoError(t, c.Delete(ctx, "hash"))
	}
}

func TestCacheKeysArePrefixed(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	c := newTestCache(t, url, nil)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "product:1", []byte("v"), time.Minute))
	_, err := c.Incr(ctx, "gen")
	require.NoError(t, err)

	raw, err := rawClient(url)
	require.NoError(t, err)
	defer raw.Close()
	keys, err := scanPrefix(ctx, raw, c.Prefix())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{c.Prefix() + "product:1", c.Prefix() + "gen"}, keys)

	pttl, err := raw.Do(ctx, raw.B().Pttl().Key(c.Prefix()+"product:1").Build()).AsInt64()
	require.NoError(t, err)
	assert.Greater(t, pttl, int64(0), "Set with a TTL expires in Redis")
	pttl, err = raw.Do(ctx, raw.B().Pttl().Key(c.Prefix()+"gen").Build()).AsInt64()
	require.NoError(t, err)
	assert.Equal(t, int64(-1), pttl, "a counter created by Incr does not expire")
}

func TestCacheBasics(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	for _, csc := range []bool{true, false} {
		t.Run(fmt.Sprintf("client-side caching %v", csc), func(t *testing.T) {
			t.Parallel()
			c := newTestCache(t, url, func(cfg *Config) { cfg.ClientSideCaching = csc })
			ctx := context.Background()

			v, ok, err := c.Get(ctx, "missing")
			require.NoError(t, err)
			assert.False(t, ok)
			assert.Nil(t, v)

			in := []byte("hello")
			require.NoError(t, c.Set(ctx, "k", in, 0))
			in[0] = 'X' // the cache copied it
			for range 3 {
				got, ok, err := c.Get(ctx, "k")
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, "hello", string(got))
				got[0] = 'Y' // must not corrupt the client-side copy
			}

			require.NoError(t, c.Set(ctx, "other", []byte("2"), time.Minute))
			for range 2 {
				m, err := c.GetMany(ctx, []string{"k", "missing", "other"})
				require.NoError(t, err)
				assert.Equal(t, map[string][]byte{"k": []byte("hello"), "other": []byte("2")}, m)
				m["k"][0] = 'Z'
			}
			m, err := c.GetMany(ctx, nil)
			require.NoError(t, err)
			assert.Empty(t, m)

			require.NoError(t, c.Delete(ctx, "k", "missing", "other"))
			require.NoError(t, c.Delete(ctx))
			_, ok, err = c.Get(ctx, "k")
			require.NoError(t, err)
			assert.False(t, ok)

			require.NoError(t, c.Set(ctx, "text", []byte("abc"), 0))
			_, err = c.Incr(ctx, "text")
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
			assert.True(t, c.Healthy(), "a reply error is not an outage")
			require.NoError(t, c.Delete(ctx, "text"))

			st := c.Stats()
			assert.True(t, st.Healthy)
			assert.Zero(t, st.Errors)
			if csc {
				assert.Positive(t, st.LocalHits)
			} else {
				assert.Zero(t, st.LocalHits)
			}
		})
	}
}

func TestCacheExpiry(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	c := newTestCache(t, url, nil)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "short", []byte("v"), 30*time.Millisecond))
	_, ok, err := c.Get(ctx, "short") // now cached client-side, capped by the key's PTTL
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, eventually(5*time.Second, func() bool {
		_, ok, err := c.Get(ctx, "short")
		return err == nil && !ok
	}), "a key past its TTL is a miss, also client-side")
}

// TestClientSideCachingServesFromMemory counts the GETs Redis executes (INFO
// commandstats on a private server, so nothing else interferes): with
// client-side caching a hot key costs one GET in total; without, one per Get.
func TestClientSideCachingServesFromMemory(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	raw, err := rawClient(srv.URL())
	require.NoError(t, err)
	defer raw.Close()
	ctx := context.Background()

	tests := []struct {
		name      string
		csc       bool
		wantGets  int64 // GET commands for 1 + 100 Gets
		wantLocal uint64
	}{
		{name: "on", csc: true, wantGets: 1, wantLocal: 100},
		{name: "off", csc: false, wantGets: 101, wantLocal: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCache(t, srv.URL(), func(cfg *Config) { cfg.ClientSideCaching = tt.csc })
			require.NoError(t, c.Set(ctx, "hot", []byte("product list"), time.Minute))
			require.NoError(t, c.Set(ctx, "hot2", []byte("product"), time.Minute))

			before := commandCalls(t, raw)
			for range 101 {
				v, ok, err := c.Get(ctx, "hot")
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, "product list", string(v))
			}
			after := commandCalls(t, raw)
			assert.Equal(t, tt.wantGets, after["get"]-before["get"], "GET commands executed by Redis")
			assert.Equal(t, tt.wantLocal, c.Stats().LocalHits)

			if tt.csc {
				// GetMany: "hot" is already in memory, "hot2" costs one GET, then none.
				before = commandCalls(t, raw)
				for range 10 {
					m, err := c.GetMany(ctx, []string{"hot", "hot2"})
					require.NoError(t, err)
					require.Len(t, m, 2)
				}
				after = commandCalls(t, raw)
				assert.Equal(t, int64(1), after["get"]-before["get"])
				assert.Zero(t, after["mget"]-before["mget"])
			}
		})
	}
}

// TestReadYourOwnWrites: with client-side caching, a write through a Cache
// is seen by that Cache's very next Get, every time (no window for a stale
// client-side copy while the invalidation message is in flight).
func TestReadYourOwnWrites(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	c := newTestCache(t, url, nil)
	ctx := context.Background()

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			counter := fmt.Sprintf("gen:%d", g)
			key := fmt.Sprintf("product:%d", g)
			for i := 1; i <= 100; i++ {
				_, _, err := c.Get(ctx, counter) // cache the old value
				if !assert.NoError(t, err) {
					return
				}
				n, err := c.Incr(ctx, counter)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, int64(i), n)
				v, ok, err := c.Get(ctx, counter)
				if !assert.NoError(t, err) || !assert.True(t, ok) {
					return
				}
				assert.Equal(t, strconv.Itoa(i), string(v), "Get after Incr")

				want := []byte("price " + strconv.Itoa(i))
				require.NoError(t, c.Set(ctx, key, want, time.Minute))
				v, ok, err = c.Get(ctx, key)
				if assert.NoError(t, err) && assert.True(t, ok) {
					assert.Equal(t, string(want), string(v), "Get after Set")
				}
				m, err := c.GetMany(ctx, []string{key})
				if assert.NoError(t, err) {
					assert.Equal(t, string(want), string(m[key]), "GetMany after Set")
				}
				require.NoError(t, c.Delete(ctx, key))
				_, ok, err = c.Get(ctx, key)
				if assert.NoError(t, err) {
					assert.False(t, ok, "Get after Delete")
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, c.Delete(ctx, "gen:0", "gen:1", "gen:2", "gen:3"))
}

// TestInvalidationAcrossClients: two Caches (two server replicas) on one
// Redis and prefix. A has the key in its client-side cache; a Set, Incr or
// Delete through B reaches A's next Get within 100 ms (the invalidation
// message's trip).
func TestInvalidationAcrossClients(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	a := newTestCache(t, url, nil)
	cfgB := DefaultConfig(url)
	cfgB.Prefix = a.Prefix()
	cfgB.Timeout = testTimeout
	b := openCache(t, cfgB)
	ctx := context.Background()
	const bound = 100 * time.Millisecond

	// warm caches the key in A and proves it is served from A's memory.
	warm := func(t *testing.T, key, want string) {
		t.Helper()
		local := a.Stats().LocalHits
		for range 2 {
			v, ok, err := a.Get(ctx, key)
			require.NoError(t, err)
			require.Equal(t, want != "", ok)
			require.Equal(t, want, string(v))
		}
		require.Greater(t, a.Stats().LocalHits, local, "A serves the key from memory")
	}
	seenByA := func(key, want string) func() bool {
		return func() bool {
			v, ok, err := a.Get(ctx, key)
			return err == nil && ok == (want != "") && string(v) == want
		}
	}

	tests := []struct {
		name   string
		before string // value A caches first ("" = missing)
		write  func(t *testing.T, key string)
		after  string
	}{
		{name: "set", before: "price 10", after: "price 12",
			write: func(t *testing.T, key string) { require.NoError(t, b.Set(ctx, key, []byte("price 12"), time.Minute)) }},
		{name: "set of a cached miss", before: "", after: "new",
			write: func(t *testing.T, key string) { require.NoError(t, b.Set(ctx, key, []byte("new"), time.Minute)) }},
		{name: "delete", before: "stock 3", after: "",
			write: func(t *testing.T, key string) { require.NoError(t, b.Delete(ctx, key)) }},
		{name: "incr", before: "41", after: "42",
			write: func(t *testing.T, key string) {
				n, err := b.Incr(ctx, key)
				require.NoError(t, err)
				require.Equal(t, int64(42), n)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "k:" + tt.name
			if tt.before != "" {
				require.NoError(t, b.Set(ctx, key, []byte(tt.before), 0))
			}
			warm(t, key, tt.before)
			tt.write(t, key)
			start := time.Now()
			assert.True(t, eventually(bound, seenByA(key, tt.after)),
				"A still sees the old value %v after B's write", time.Since(start))
			require.NoError(t, b.Delete(ctx, key))
		})
	}
}

func TestGetOrLoadComputesOncePerProcess(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	c := newTestCache(t, url, nil)
	ctx := context.Background()

	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		<-release
		return []byte("computed"), nil
	}
	const callers = 50
	results := make([][]byte, callers)
	var started, done sync.WaitGroup
	for i := range callers {
		started.Add(1)
		done.Go(func() {
			started.Done()
			v, err := c.GetOrLoad(ctx, "list:eco", time.Minute, load)
			assert.NoError(t, err)
			results[i] = v
		})
	}
	started.Wait()
	close(release)
	done.Wait()

	// Callers that arrived after the load finished found the value in the
	// cache, so exactly one load ran whatever the interleaving.
	assert.Equal(t, int32(1), loads.Load())
	assert.Equal(t, uint64(1), c.Stats().Loads)
	for i := range results {
		require.Equal(t, "computed", string(results[i]))
	}
	results[0][0] = 'X'
	assert.Equal(t, "computed", string(results[1]), "each caller has its own copy")

	v, ok, err := c.Get(ctx, "list:eco")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "computed", string(v))
	require.NoError(t, c.Delete(ctx, "list:eco"))
}

func TestGetOrLoadErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	c := newTestCache(t, url, nil)
	ctx := context.Background()
	boom := errors.New("store down")
	_, err := c.GetOrLoad(ctx, "p", 0, func(context.Context) ([]byte, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	_, ok, err := c.Get(ctx, "p")
	require.NoError(t, err)
	assert.False(t, ok)

	v, err := c.GetOrLoad(ctx, "p", 0, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	require.NoError(t, err)
	assert.Equal(t, "ok", string(v))

	raw, err := rawClient(url)
	require.NoError(t, err)
	defer raw.Close()
	pttl, err := raw.Do(ctx, raw.B().Pttl().Key(c.Prefix()+"p").Build()).AsInt64()
	require.NoError(t, err)
	assert.InDelta(t, DefaultTTL.Milliseconds(), pttl, float64(time.Minute.Milliseconds()), "ttl 0 means DefaultTTL")
	require.NoError(t, c.Delete(ctx, "p"))
}

func TestCallsAfterCloseFail(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	c := newTestCache(t, url, nil)
	c.Close()
	c.Close() // idempotent
	_, _, err := c.Get(context.Background(), "k")
	require.ErrorIs(t, err, ecolaura.ErrUnavailable)
	require.ErrorIs(t, c.Set(context.Background(), "k", nil, 0), ecolaura.ErrUnavailable)
	assert.True(t, c.Healthy(), "closing is not an outage")
}

// TestFlushDeletesTheCacheKeysOnly is the operation behind `ecolaura cache
// flush` (issue 10 item 18): every key of the cache's prefix goes, over
// several SCAN pages; the rate limiter's keys under the same prefix and
// other prefixes' keys stay.
func TestFlushDeletesTheCacheKeysOnly(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	ctx := context.Background()
	c := newTestCache(t, url, nil)
	other := newTestCache(t, url, nil) // another shop on the same Redis
	lim := openLimiter(t, LimiterConfig{URL: url, Prefix: c.Prefix()})
	const n = 2500
	values := make(map[string][]byte, n)
	for i := range n {
		values[fmt.Sprintf("product:%d", i)] = []byte("v")
	}
	require.NoError(t, c.SetMany(ctx, values, time.Hour))
	require.NoError(t, other.Set(ctx, "product:1", []byte("theirs"), time.Hour))
	_, err := lim.Allow(ctx, "203.0.113.7", slow(3))
	require.NoError(t, err)
	v, ok, err := c.Get(ctx, "product:7") // a client-side cached copy
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v", string(v))

	deleted, err := c.Flush(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, deleted)
	got, err := c.GetMany(ctx, []string{"product:0", "product:7", fmt.Sprintf("product:%d", n-1)})
	require.NoError(t, err)
	assert.Empty(t, got, "flushed keys are gone, client-side copies included")
	v, ok, err = other.Get(ctx, "product:1")
	require.NoError(t, err)
	assert.True(t, ok, "another prefix's keys stay")
	assert.Equal(t, "theirs", string(v))
	raw, err := rawClient(url)
	require.NoError(t, err)
	defer raw.Close()
	exists, err := raw.Do(ctx, raw.B().Exists().Key(c.Prefix()+"ratelimit:203.0.113.7").Build()).AsInt64()
	require.NoError(t, err)
	assert.Equal(t, int64(1), exists, "the rate limiter's keys stay")
}

// typedNilClock is a ports.Clock whose nil pointer is a typed nil.
type typedNilClock struct{}

func (*typedNilClock) Now() time.Time { return time.Now() }

// TestTypedNilClockIsAConfigError is the QA report's item 12 for the Redis
// adapter: a typed nil clock passed the option and would panic at first
// use; the constructors refuse it (before connecting).
func TestTypedNilClockIsAConfigError(t *testing.T) {
	ctx := context.Background()
	_, err := NewCache(ctx, DefaultConfig("redis://127.0.0.1:1/0"), WithClock((*typedNilClock)(nil)))
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Contains(t, err.Error(), "clock")
	_, err = NewRateLimiter(ctx, LimiterConfig{URL: "redis://127.0.0.1:1/0"}, WithClock((*typedNilClock)(nil)))
	require.ErrorAs(t, err, &ce)
}
