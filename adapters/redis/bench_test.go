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
		g, err := gcraParams(limit)
		require.NoError(b, err)
		for b.Loop() {
			l.local.allow("bench", g)
		}
	})
}
