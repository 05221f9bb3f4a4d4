package memory_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

func TestRateLimiterBurstThenRate(t *testing.T) {
	ctx := context.Background()
	clk := memory.NewManualClock(t0)
	l := memory.NewRateLimiter(memory.WithLimiterClock(clk))
	limit := ports.RateLimit{Rate: 10, Burst: 3, Period: time.Second} // one per 100ms
	for want := 2; want >= 0; want-- {
		d, err := l.Allow(ctx, "ip", limit)
		require.NoError(t, err)
		assert.True(t, d.Allowed)
		assert.Equal(t, want, d.Remaining)
	}
	d, err := l.Allow(ctx, "ip", limit)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Equal(t, 100*time.Millisecond, d.RetryAfter)
	other, err := l.Allow(ctx, "other", limit)
	require.NoError(t, err)
	assert.True(t, other.Allowed, "keys are independent")

	clk.Advance(99 * time.Millisecond)
	d, err = l.Allow(ctx, "ip", limit)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Equal(t, time.Millisecond, d.RetryAfter)
	clk.Advance(time.Millisecond)
	d, err = l.Allow(ctx, "ip", limit)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining)
	// After a long idle period the full burst is back.
	clk.Advance(time.Hour)
	d, err = l.Allow(ctx, "ip", limit)
	require.NoError(t, err)
	assert.Equal(t, 2, d.Remaining)
}

func TestRateLimiterRejectsBadLimits(t *testing.T) {
	l := memory.NewRateLimiter()
	for _, lim := range []ports.RateLimit{
		{Rate: 0, Burst: 1, Period: time.Second},
		{Rate: 1, Burst: 0, Period: time.Second},
		{Rate: 1, Burst: 1, Period: 0},
	} {
		_, err := l.Allow(context.Background(), "k", lim)
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "%+v", lim)
	}
}

func TestRateLimiterConcurrentExactBurst(t *testing.T) {
	clk := memory.NewManualClock(t0)
	l := memory.NewRateLimiter(memory.WithLimiterClock(clk))
	limit := ports.RateLimit{Rate: 1, Burst: 25, Period: time.Hour}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := l.Allow(context.Background(), "k", limit)
			assert.NoError(t, err)
			if d.Allowed {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(25), allowed.Load())
}

func TestRateLimiterForgetsIdleKeys(t *testing.T) {
	ctx := context.Background()
	clk := memory.NewManualClock(t0)
	l := memory.NewRateLimiter(memory.WithLimiterClock(clk))
	limit := ports.RateLimit{Rate: 1, Burst: 1, Period: time.Second}
	for i := range 50_000 {
		_, err := l.Allow(ctx, fmt.Sprintf("k%d", i), limit)
		require.NoError(t, err)
	}
	clk.Advance(time.Minute)
	for range 20_000 {
		_, err := l.Allow(ctx, "hot", limit)
		require.NoError(t, err)
	}
	assert.Less(t, l.Keys(), 100, "idle keys are forgotten")
}

func TestRateLimiterHugeLimitsDoNotOverflow(t *testing.T) {
	l := memory.NewRateLimiter()
	limit := ports.RateLimit{Rate: 1, Burst: 1 << 40, Period: 1 << 62}
	d, err := l.Allow(context.Background(), "k", limit)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	for range 3 {
		d, err := l.Allow(context.Background(), "k", limit)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, d.Remaining, 0)
		assert.GreaterOrEqual(t, d.RetryAfter, time.Duration(0))
	}
}
