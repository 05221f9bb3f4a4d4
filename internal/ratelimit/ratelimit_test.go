package ratelimit_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/ratelimit"
)

// manualClock is a settable clock for the limiter.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *manualClock { return &manualClock{now: time.Unix(1_700_000_000, 0)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLimiterBurstThenRate(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(clk.Now, 0)
	limit := ratelimit.Limit{Rate: 10, Burst: 3, Period: time.Second} // one per 100ms
	for want := 2; want >= 0; want-- {
		d, err := l.Allow("ip", limit)
		require.NoError(t, err)
		assert.True(t, d.Allowed)
		assert.Equal(t, want, d.Remaining)
	}
	d, err := l.Allow("ip", limit)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Equal(t, 100*time.Millisecond, d.RetryAfter)
	other, err := l.Allow("other", limit)
	require.NoError(t, err)
	assert.True(t, other.Allowed, "keys are independent")

	clk.Advance(99 * time.Millisecond)
	d, err = l.Allow("ip", limit)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Equal(t, time.Millisecond, d.RetryAfter)
	clk.Advance(time.Millisecond)
	d, err = l.Allow("ip", limit)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining)
	// After a long idle period the full burst is back.
	clk.Advance(time.Hour)
	d, err = l.Allow("ip", limit)
	require.NoError(t, err)
	assert.Equal(t, 2, d.Remaining)
}

// TestLimiterSequence is the scripted sequence the Redis adapter's tests
// also play against its Lua script: Burst 3 at 1 per 100 ms.
func TestLimiterSequence(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(clk.Now, 100)
	g, err := ratelimit.Limit{Rate: 10, Burst: 3, Period: time.Second}.GCRA()
	require.NoError(t, err)
	for i, step := range []struct {
		advance   time.Duration
		allowed   bool
		remaining int
	}{
		{allowed: true, remaining: 2},
		{allowed: true, remaining: 1},
		{allowed: true, remaining: 0},
		{allowed: false},
		{advance: 100 * time.Millisecond, allowed: true, remaining: 0},
		{allowed: false},
		{advance: 250 * time.Millisecond, allowed: true, remaining: 1},
	} {
		clk.Advance(step.advance)
		d := l.AllowGCRA("k", g)
		assert.Equal(t, step.allowed, d.Allowed, "step %d", i)
		assert.Equal(t, step.remaining, d.Remaining, "step %d", i)
		if d.Allowed {
			assert.Zero(t, d.RetryAfter, "step %d", i)
		} else {
			assert.Positive(t, d.RetryAfter, "step %d", i)
			assert.LessOrEqual(t, d.RetryAfter, 100*time.Millisecond, "step %d", i)
		}
	}
	assert.Equal(t, ratelimit.Decision{Allowed: true, Remaining: 2}, l.AllowGCRA("other", g), "keys are independent")
}

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		name  string
		limit ratelimit.Limit
		want  string
	}{
		{"valid", ratelimit.Limit{Rate: 1, Burst: 1, Period: time.Microsecond}, ""},
		{"zero rate", ratelimit.Limit{Rate: 0, Burst: 1, Period: time.Second}, "rate"},
		{"zero burst", ratelimit.Limit{Rate: 1, Burst: 0, Period: time.Second}, "burst"},
		{"zero period", ratelimit.Limit{Rate: 1, Burst: 1}, "period"},
		{"negative period", ratelimit.Limit{Rate: 1, Burst: 1, Period: -time.Second}, "period"},
		{"sub-microsecond period", ratelimit.Limit{Rate: 1, Burst: 1, Period: time.Nanosecond}, "period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ratelimit.New(nil, 0)
			_, err := l.Allow("k", tt.limit)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			assert.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad limit is the caller's configuration, not user input")
		})
	}
}

func TestLimiterConcurrentExactBurst(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(clk.Now, 0)
	limit := ratelimit.Limit{Rate: 1, Burst: 25, Period: time.Hour}
	var allowed, denied atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			d, err := l.Allow("k", limit)
			assert.NoError(t, err)
			if d.Allowed {
				allowed.Add(1)
			} else {
				denied.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(25), allowed.Load())
	assert.Equal(t, int32(75), denied.Load())
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(clk.Now, 0)
	limit := ratelimit.Limit{Rate: 1, Burst: 1, Period: time.Second}
	for i := range 50_000 {
		_, err := l.Allow(fmt.Sprintf("k%d", i), limit)
		require.NoError(t, err)
	}
	require.Greater(t, l.Keys(), 40_000, "active keys are remembered")
	clk.Advance(time.Minute)
	for range 20_000 {
		_, err := l.Allow("hot", limit)
		require.NoError(t, err)
	}
	assert.Less(t, l.Keys(), 100, "idle keys are forgotten")
}

func TestLimiterBoundedKeys(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(clk.Now, 50)
	limit := ratelimit.Limit{Rate: 1, Burst: 2, Period: time.Hour}
	for i := range 1000 {
		d, err := l.Allow(fmt.Sprintf("ip-%d", i), limit)
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.LessOrEqual(t, l.Keys(), 50)
	}
	for i := 0; l.Keys() < 50; i++ { // fill up to the bound
		_, err := l.Allow(fmt.Sprintf("top-%d", i), limit)
		require.NoError(t, err)
	}
	// When full, keys whose time has passed (equivalent to absent) go first.
	clk.Advance(3 * time.Hour)
	_, err := l.Allow("fresh", limit)
	require.NoError(t, err)
	assert.Equal(t, 1, l.Keys(), "expired keys dropped")
}

func TestLimiterHugeLimitsDoNotOverflow(t *testing.T) {
	l := ratelimit.New(nil, 0)
	limit := ratelimit.Limit{Rate: 1, Burst: 1 << 40, Period: 1 << 62}
	d, err := l.Allow("k", limit)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	for range 3 {
		d, err := l.Allow("k", limit)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, d.Remaining, 0)
		assert.GreaterOrEqual(t, d.RetryAfter, time.Duration(0))
	}
}

func TestLimiterRefund(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(clk.Now, 0)
	limit := ratelimit.Limit{Rate: 1, Burst: 3, Period: time.Hour}
	require.NoError(t, l.Refund("k", limit), "refunding an unknown key is a no-op")
	assert.Zero(t, l.Keys())
	for range 3 {
		d, err := l.Allow("k", limit)
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	d, err := l.Allow("k", limit)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.NoError(t, l.Refund("k", limit))
	d, err = l.Allow("k", limit)
	require.NoError(t, err)
	assert.True(t, d.Allowed, "one refunded request passes again")
	for range 5 {
		require.NoError(t, l.Refund("k", limit))
	}
	assert.Zero(t, l.Keys(), "a key refunded down to now is forgotten")
	d, err = l.Allow("k", limit)
	require.NoError(t, err)
	assert.Equal(t, 2, d.Remaining, "refunds never raise the budget past the burst")
	assert.Error(t, l.Refund("k", ratelimit.Limit{}), "a bad limit")
}
