package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/ratelimit"
)

// The algorithm is tested in internal/ratelimit and the contract by
// adapters/httpapi/ratelimittest; these check the adapter's wiring of it.

func TestRateLimiterBurstThenRate(t *testing.T) {
	ctx := context.Background()
	clk := memory.NewManualClock(t0)
	l := memory.NewRateLimiter(memory.WithLimiterClock(clk))
	limit := ratelimit.Limit{Rate: 10, Burst: 3, Period: time.Second} // one per 100ms
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
	for _, lim := range []ratelimit.Limit{
		{Rate: 0, Burst: 1, Period: time.Second},
		{Rate: 1, Burst: 0, Period: time.Second},
		{Rate: 1, Burst: 1, Period: 0},
	} {
		_, err := l.Allow(context.Background(), "k", lim)
		require.Error(t, err, "%+v", lim)
		require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad limit is a configuration error, not user input: %+v", lim)
	}
}
