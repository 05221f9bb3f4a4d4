package ratelimittest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/httpapi/ratelimittest"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// The adapters implement the contract the HTTP adapter declares without
// importing it (adapters do not import each other): checked here.
var (
	_ httpapi.RateLimiter = (*memory.RateLimiter)(nil)
	_ httpapi.RateLimiter = (*redis.RateLimiter)(nil)
)

func TestMemory(t *testing.T) {
	ratelimittest.RateLimiter(t, func(*testing.T) httpapi.RateLimiter { return memory.NewRateLimiter() })
}

// TestRedis runs the suite on the shared Redis (under a fresh prefix whose
// keys are deleted at the end), and on the per-process fallback a Redis
// limiter decides with once it has been closed (the same fallback that
// decides while Redis is unavailable; the Redis adapter's outage tests
// check the switch).
func TestRedis(t *testing.T) {
	url := testenv.RedisURL()
	open := func(t *testing.T) *redis.RateLimiter {
		prefix := testenv.RedisPrefix()
		t.Cleanup(func() { deletePrefix(t, url, prefix) })
		l, err := redis.NewRateLimiter(t.Context(), redis.LimiterConfig{URL: url, Prefix: prefix, Timeout: 2 * time.Second})
		if errors.Is(err, ecolaura.ErrUnavailable) {
			testenv.Unavailable(t, "Redis", err)
		}
		require.NoError(t, err)
		t.Cleanup(l.Close)
		return l
	}
	t.Run("Redis", func(t *testing.T) {
		ratelimittest.RateLimiter(t, func(t *testing.T) httpapi.RateLimiter {
			l := open(t)
			t.Cleanup(func() {
				st := l.Stats()
				require.Positive(t, st.RedisDecisions)
				require.Zero(t, st.LocalDecisions, "every decision was Redis's")
			})
			return l
		})
	})
	t.Run("PerProcessFallback", func(t *testing.T) {
		ratelimittest.RateLimiter(t, func(t *testing.T) httpapi.RateLimiter {
			l := open(t)
			l.Close()
			t.Cleanup(func() {
				st := l.Stats()
				require.Zero(t, st.RedisDecisions)
				require.Positive(t, st.LocalDecisions, "every decision was the fallback's")
			})
			return l
		})
	})
}

// deletePrefix deletes every key under prefix.
func deletePrefix(t *testing.T, url, prefix string) {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	require.NoError(t, err)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		require.NoError(t, err)
		if len(e.Elements) > 0 {
			require.NoError(t, c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error())
		}
		if cursor = e.Cursor; cursor == 0 {
			return
		}
	}
}
