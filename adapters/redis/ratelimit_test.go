package redis

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/ratelimit"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// slow is a limit whose refill is negligible during a test: Burst requests
// pass, then everything is denied for about an hour / Rate.
func slow(burst int) ratelimit.Limit {
	return ratelimit.Limit{Rate: 1, Burst: burst, Period: time.Hour}
}

func newTestLimiter(t *testing.T, url string) *RateLimiter {
	t.Helper()
	return openLimiter(t, LimiterConfig{URL: url, Prefix: testPrefix(t, url)})
}

func TestLimiterConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    LimiterConfig
		fields []string
	}{
		{name: "minimal", cfg: LimiterConfig{URL: "redis://localhost:6379"}},
		{name: "missing url", cfg: LimiterConfig{}, fields: []string{"url"}},
		{name: "negatives", cfg: LimiterConfig{URL: "redis://x", Timeout: -1, ProbeInterval: -1, LocalKeys: -1},
			fields: []string{"local_keys", "probe_interval", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.fields == nil {
				require.NoError(t, err)
				return
			}
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

func TestLimiterRejectsInvalidLimits(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	l := newTestLimiter(t, url)
	tests := []struct {
		name  string
		limit ratelimit.Limit
		field string
	}{
		{"zero rate", ratelimit.Limit{Rate: 0, Burst: 1, Period: time.Second}, "rate"},
		{"zero burst", ratelimit.Limit{Rate: 1, Burst: 0, Period: time.Second}, "burst"},
		{"negative period", ratelimit.Limit{Rate: 1, Burst: 1, Period: -time.Second}, "period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Allow(context.Background(), "k", tt.limit)
			require.ErrorContains(t, err, tt.field)
			assert.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad limit is a configuration error, not user input")
		})
	}
}

// TestLimiterScriptMatchesLocal: the Lua script and the fallback make the
// same decisions for a burst (time barely moves, so no clock is needed).
func TestLimiterScriptMatchesLocal(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	l := newTestLimiter(t, url)
	ctx := context.Background()
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	local := ratelimit.New(clk.Now, 10)
	limit := slow(4)
	g, err := limit.GCRA()
	require.NoError(t, err)
	for i := range 6 {
		got, err := l.Allow(ctx, "burst", limit)
		require.NoError(t, err)
		want := local.AllowGCRA("burst", g)
		assert.Equal(t, want.Allowed, got.Allowed, "call %d", i)
		assert.Equal(t, want.Remaining, got.Remaining, "call %d", i)
		if !got.Allowed {
			assert.InDelta(t, want.RetryAfter.Seconds(), got.RetryAfter.Seconds(), 5, "call %d", i)
		}
	}
	st := l.Stats()
	assert.Equal(t, uint64(6), st.RedisDecisions)
	assert.Zero(t, st.LocalDecisions)

	raw, err := rawClient(url)
	require.NoError(t, err)
	defer raw.Close()
	pttl, err := raw.Do(ctx, raw.B().Pttl().Key(l.cfg.Prefix+"ratelimit:burst").Build()).AsInt64()
	require.NoError(t, err)
	assert.Positive(t, pttl, "limiter state expires in Redis")
	assert.LessOrEqual(t, pttl, (4 * time.Hour).Milliseconds())
}

// TestLimitSharedAcrossInstances: two limiters (two server replicas) on one
// Redis and prefix hammer one key concurrently; exactly Burst requests pass
// in total.
func TestLimitSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	url := sharedRedis(t)
	prefix := testPrefix(t, url)
	a := openLimiter(t, LimiterConfig{URL: url, Prefix: prefix})
	b := openLimiter(t, LimiterConfig{URL: url, Prefix: prefix})
	const burst = 10
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range 10 {
				d, err := l.Allow(context.Background(), "login:203.0.113.7", slow(burst))
				if !assert.NoError(t, err) {
					return
				}
				if d.Allowed {
					allowed.Add(1)
				} else {
					assert.Positive(t, d.RetryAfter)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(burst), allowed.Load(), "80 requests over two instances, burst %d", burst)
	assert.Positive(t, a.Stats().RedisDecisions)
	assert.Positive(t, b.Stats().RedisDecisions)
	assert.Zero(t, a.Stats().LocalDecisions+b.Stats().LocalDecisions)
}
