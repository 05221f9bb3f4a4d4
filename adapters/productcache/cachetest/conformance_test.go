package cachetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/adapters/productcache/cachetest"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// The adapters implement the contract the product cache declares without
// importing it (adapters do not import each other): checked here.
var (
	_ productcache.Cache = (*memory.Cache)(nil)
	_ productcache.Cache = (*redis.Cache)(nil)
)

func TestMemory(t *testing.T) {
	cachetest.Cache(t, func(*testing.T) productcache.Cache { return memory.NewCache() })
}

// TestRedis runs the suite on the shared Redis, with and without
// client-side caching, each under a fresh prefix that holds no key at the
// end (the suite deletes every key it made).
func TestRedis(t *testing.T) {
	url := testenv.RedisURL()
	for _, tc := range []struct {
		name string
		csc  bool
	}{{"ClientSideCaching", true}, {"RoundTrips", false}} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testenv.RedisPrefix()
			t.Cleanup(func() { require.Zero(t, deletePrefix(t, url, prefix), "keys left under the suite's prefix") })
			cachetest.Cache(t, func(t *testing.T) productcache.Cache {
				cfg := redis.DefaultConfig(url)
				cfg.Prefix, cfg.ClientSideCaching, cfg.Timeout = prefix, tc.csc, 2*time.Second
				c, err := redis.NewCache(t.Context(), cfg)
				if errors.Is(err, ecolaura.ErrUnavailable) {
					testenv.Unavailable(t, "Redis", err)
				}
				require.NoError(t, err)
				t.Cleanup(c.Close)
				return c
			})
		})
	}
}

// deletePrefix deletes every key under prefix and returns how many there
// were.
func deletePrefix(t *testing.T, url, prefix string) int {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	require.NoError(t, err)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		require.NoError(t, err)
		if len(e.Elements) > 0 {
			n += len(e.Elements)
			require.NoError(t, c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error())
		}
		if cursor = e.Cursor; cursor == 0 {
			return n
		}
	}
}
