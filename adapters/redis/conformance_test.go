package redis

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// TestCacheConformance runs the port's conformance suite on the shared Redis,
// with and without client-side caching, each under its own prefix whose keys
// are deleted (and checked gone) at the end.
func TestCacheConformance(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	for _, tc := range []struct {
		name string
		csc  bool
	}{
		{"ClientSideCaching", true},
		{"RoundTrips", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			porttest.Cache(t, func(t *testing.T) ports.Cache {
				return newTestCache(t, url, func(cfg *Config) {
					cfg.ClientSideCaching = tc.csc
				})
			})
		})
	}
}

// TestRateLimiterConformance runs the port's suite on Redis, and on the
// per-process fallback of a RateLimiter whose Redis has been killed.
func TestRateLimiterConformance(t *testing.T) {
	t.Parallel()
	t.Run("Redis", func(t *testing.T) {
		t.Parallel()
		url := sharedRedis(t)
		porttest.RateLimiter(t, func(t *testing.T) ports.RateLimiter {
			return newTestLimiter(t, url)
		})
	})
	t.Run("FallbackWhileRedisIsDown", func(t *testing.T) {
		t.Parallel()
		srv := startPrivateRedis(t)
		porttest.RateLimiter(t, func(t *testing.T) ports.RateLimiter {
			// No key survives the kill, so the prefix needs no clean-up.
			l := openLimiter(t, LimiterConfig{URL: srv.URL(), Prefix: testenv.RedisPrefix()})
			srv.kill()
			_, err := l.Allow(context.Background(), "probe", slow(1))
			require.NoError(t, err)
			require.False(t, l.Healthy(), "the limiter should have noticed the outage")
			return l
		})
	})
}
