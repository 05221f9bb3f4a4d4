package redis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reportCommands reports how many commands Redis executed per operation
// (INFO commandstats delta on a private server, INFO itself excluded).
func reportCommands(b *testing.B, before, after map[string]int64) {
	var n int64
	for cmd, calls := range after {
		if cmd != "info" {
			n += calls - before[cmd]
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "redis-cmds/op")
}

// BenchmarkHotGet reads one hot key (a 2 KiB product-list page) through a
// Cache with and without client-side caching, against the cost of one bare
// round trip (PING) and of a mutex-guarded map in the process.
//
//	go test -run=^$ -bench=HotGet -benchtime=2s ./adapters/redis/
func BenchmarkHotGet(b *testing.B) {
	srv := startPrivateRedis(b)
	raw, err := rawClient(srv.URL())
	require.NoError(b, err)
	b.Cleanup(raw.Close)
	ctx := context.Background()
	value := make([]byte, 2048)

	for _, mode := range []struct {
		name string
		csc  bool
	}{{"client-side-cache", true}, {"no-client-side-cache", false}} {
		c := newTestCache(b, srv.URL(), func(cfg *Config) { cfg.ClientSideCaching = mode.csc })
		require.NoError(b, c.Set(ctx, "products:list:eco", value, time.Hour))
		_, _, err := c.Get(ctx, "products:list:eco") // warm
		require.NoError(b, err)

		b.Run(mode.name, func(b *testing.B) {
			before := commandCalls(b, raw)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := c.Get(ctx, "products:list:eco"); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			b.StopTimer()
			reportCommands(b, before, commandCalls(b, raw))
		})
		b.Run(mode.name+"-parallel", func(b *testing.B) {
			before := commandCalls(b, raw)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok, err := c.Get(ctx, "products:list:eco"); err != nil || !ok {
						b.Error(ok, err)
						return
					}
				}
			})
			b.StopTimer()
			reportCommands(b, before, commandCalls(b, raw))
		})
	}

	b.Run("round-trip-ping", func(b *testing.B) {
		before := commandCalls(b, raw)
		for b.Loop() {
			if err := raw.Do(ctx, raw.B().Ping().Build()).Error(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportCommands(b, before, commandCalls(b, raw))
	})

	b.Run("process-map-baseline", func(b *testing.B) {
		var mu sync.RWMutex
		m := map[string][]byte{"products:list:eco": value}
		b.ReportAllocs()
		for b.Loop() {
			mu.RLock()
			v, ok := m["products:list:eco"]
			out := append([]byte(nil), v...)
			mu.RUnlock()
			if !ok || len(out) != len(value) {
				b.Fatal("missing")
			}
		}
	})
}

// BenchmarkRateLimiterAllow: one decision by the Lua script in Redis vs the
// per-process fallback.
//
//	go test -run=^$ -bench=RateLimiterAllow -benchtime=2s ./adapters/redis/
func BenchmarkRateLimiterAllow(b *testing.B) {
	srv := startPrivateRedis(b)
	raw, err := rawClient(srv.URL())
	require.NoError(b, err)
	b.Cleanup(raw.Close)
	l := openLimiter(b, LimiterConfig{URL: srv.URL(), Prefix: testPrefix(b, srv.URL())})
	ctx := context.Background()
	limit := slow(1 << 30)

	b.Run("redis-gcra-script", func(b *testing.B) {
		before := commandCalls(b, raw)
		for b.Loop() {
			if _, err := l.Allow(ctx, "bench", limit); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportCommands(b, before, commandCalls(b, raw))
	})
	b.Run("local-fallback", func(b *testing.B) {
		g, err := limit.GCRA()
		require.NoError(b, err)
		for b.Loop() {
			l.local.AllowGCRA("bench", g)
		}
	})
}

// BenchmarkCallDeadline measures what bounding one client-side cache hit by
// the call timeout costs: Get's DoCache with the parent context (no
// deadline, the floor), with context.WithTimeout (what the cache does), and
// with the lazy-deadline context the adapter used before (it created the
// timer only when rueidis asked for Done, but panicked when Err or Done was
// called after the call; kept here only for this comparison).
//
//	go test -run=^$ -bench=CallDeadline -benchtime=2s -count=3 ./adapters/redis/
func BenchmarkCallDeadline(b *testing.B) {
	srv := startPrivateRedis(b)
	c := newTestCache(b, srv.URL(), nil)
	ctx := context.Background()
	require.NoError(b, c.Set(ctx, "products:list:eco", make([]byte, 2048), time.Hour))
	key := c.cfg.Prefix + "products:list:eco"
	hit := func(b *testing.B, cctx context.Context) {
		if resp := c.client.DoCache(cctx, c.client.B().Get().Key(key).Cache(), c.cfg.CacheTTL); !resp.IsCacheHit() {
			b.Error("not a client-side cache hit", resp.Error())
		}
	}
	// Warm: the first call fetches the key and caches it in the process.
	require.NoError(b, c.client.DoCache(ctx, c.client.B().Get().Key(key).Cache(), c.cfg.CacheTTL).Error())
	b.Run("no-deadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hit(b, ctx)
		}
	})
	b.Run("context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			hit(b, cctx)
			cancel()
		}
	})
	b.Run("lazy-deadline-removed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cctx := newLazyDeadlineCtx(ctx, c.cfg.Timeout)
			hit(b, cctx)
			cctx.release()
		}
	})
	b.Run("context.WithTimeout-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
				hit(b, cctx)
				cancel()
			}
		})
	})
	b.Run("lazy-deadline-removed-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cctx := newLazyDeadlineCtx(ctx, c.cfg.Timeout)
				hit(b, cctx)
				cctx.release()
			}
		})
	})
}

// lazyDeadlineCtx is the hand-written context the cache used before
// context.WithTimeout, verbatim, for BenchmarkCallDeadline only. Its Err and
// Done dereference nil after release when the call never asked for Done
// (TestCallContextsStayValidAfterTheCall).
type lazyDeadlineCtx struct {
	context.Context
	deadline time.Time

	once   sync.Once
	inner  context.Context
	cancel context.CancelFunc
}

func newLazyDeadlineCtx(parent context.Context, timeout time.Duration) *lazyDeadlineCtx {
	return &lazyDeadlineCtx{Context: parent, deadline: time.Now().Add(timeout)}
}

func (c *lazyDeadlineCtx) init() {
	c.once.Do(func() { c.inner, c.cancel = context.WithDeadline(c.Context, c.deadline) })
}

func (c *lazyDeadlineCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lazyDeadlineCtx) Done() <-chan struct{} {
	c.init()
	return c.inner.Done()
}

func (c *lazyDeadlineCtx) Err() error {
	c.init()
	return c.inner.Err()
}

func (c *lazyDeadlineCtx) release() {
	c.once.Do(func() {})
	if c.cancel != nil {
		c.cancel()
	}
}
