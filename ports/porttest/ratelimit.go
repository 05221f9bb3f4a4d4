package porttest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ports"
)

// RateLimiter checks the semantics of [ports.RateLimiter]: a burst passes
// and the next request is denied with a positive RetryAfter, Remaining
// counts down, keys are independent, concurrent callers never get more than
// the burst through, a denied key passes again once the period has refilled
// it, and Refund gives back exactly one request (never more than the burst,
// a no-op on an unknown key, safe under concurrency). Every subtest uses its own random keys, so the limiter may
// be shared.
func RateLimiter(t *testing.T, newLimiter RateLimiterFactory) {
	rl := newLimiter(t)
	require.NotNil(t, rl, "factory returned nil")
	key := func() string { return RandomToken("porttest:rl:") }
	// Refills once an hour: nothing refills while a subtest runs.
	hourly := func(burst int) ports.RateLimit { return ports.RateLimit{Rate: 1, Burst: burst, Period: time.Hour} }

	t.Run("BurstThenDenied", func(t *testing.T) {
		for _, burst := range []int{1, 3, 10} {
			k, limit := key(), hourly(burst)
			for i := 1; i <= burst; i++ {
				d, err := rl.Allow(ctx(t), k, limit)
				require.NoError(t, err)
				require.True(t, d.Allowed, "request %d of a burst of %d", i, burst)
				require.Equal(t, burst-i, d.Remaining, "Remaining after request %d of %d", i, burst)
				require.Zero(t, d.RetryAfter, "RetryAfter of an allowed request")
			}
			for i := range 3 {
				d, err := rl.Allow(ctx(t), k, limit)
				require.NoError(t, err)
				require.False(t, d.Allowed, "request %d after a burst of %d", burst+1+i, burst)
				require.Zero(t, d.Remaining, "Remaining when denied")
				require.Positive(t, d.RetryAfter, "RetryAfter when denied")
				require.LessOrEqual(t, d.RetryAfter, limit.Period, "RetryAfter longer than one refill")
			}
		}
	})
	t.Run("KeysIndependent", func(t *testing.T) {
		a, b := key(), key()
		limit := hourly(2)
		for range 2 {
			d, err := rl.Allow(ctx(t), a, limit)
			require.NoError(t, err)
			require.True(t, d.Allowed)
		}
		d, err := rl.Allow(ctx(t), a, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "key a is exhausted")
		d, err = rl.Allow(ctx(t), b, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed, "exhausting key a must not limit key b")
		require.Equal(t, 1, d.Remaining)
	})
	t.Run("Concurrent", func(t *testing.T) {
		const callers, burst = 60, 10
		k, limit := key(), hourly(burst)
		allowed := make([]bool, callers)
		errs := make([]error, callers)
		race(callers, func(i int) {
			var d ports.RateDecision
			d, errs[i] = rl.Allow(ctx(t), k, limit)
			allowed[i] = d.Allowed
		})
		n := 0
		for i := range callers {
			require.NoError(t, errs[i])
			if allowed[i] {
				n++
			}
		}
		require.Equal(t, burst, n, "concurrent callers: exactly the burst passes")
	})
	t.Run("Refund", func(t *testing.T) {
		k, limit := key(), hourly(3)
		require.NoError(t, rl.Refund(ctx(t), k, limit), "refunding an unknown key is a no-op")
		d, err := rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.Equal(t, 2, d.Remaining, "a refund before any request must not raise the burst")
		for range 2 {
			d, err = rl.Allow(ctx(t), k, limit)
			require.NoError(t, err)
			require.True(t, d.Allowed)
		}
		d, err = rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "the burst of 3 is used up")
		require.NoError(t, rl.Refund(ctx(t), k, limit))
		d, err = rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed, "one refunded request passes again")
		require.Zero(t, d.Remaining)
		d, err = rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "a refund gives back exactly one request")

		for range 5 {
			require.NoError(t, rl.Refund(ctx(t), k, limit))
		}
		for i := range 3 {
			d, err = rl.Allow(ctx(t), k, limit)
			require.NoError(t, err)
			require.True(t, d.Allowed, "request %d after refunding more than was taken", i+1)
		}
		d, err = rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "refunds never raise the budget past the burst")
	})
	t.Run("ReserveAndRefundConcurrently", func(t *testing.T) {
		// Callers reserve a request, then refund it: with a burst of 1
		// some are denied while another holds the reservation, and once
		// all have refunded the whole burst is back.
		const callers = 40
		k, limit := key(), hourly(1)
		allowed := make([]bool, callers)
		errs := make([]error, callers)
		race(callers, func(i int) {
			d, err := rl.Allow(ctx(t), k, limit)
			if err == nil && d.Allowed {
				err = rl.Refund(ctx(t), k, limit)
			}
			allowed[i], errs[i] = d.Allowed, err
		})
		n := 0
		for i := range callers {
			require.NoError(t, errs[i])
			if allowed[i] {
				n++
			}
		}
		require.Positive(t, n, "at least the first reservation passes")
		d, err := rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed, "every reservation was refunded: the burst is back")
	})
	t.Run("Refill", func(t *testing.T) {
		k := key()
		limit := ports.RateLimit{Rate: 1, Burst: 1, Period: 100 * time.Millisecond}
		d, err := rl.Allow(ctx(t), k, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed)
		eventually(t, func() bool {
			d, err := rl.Allow(ctx(t), k, limit)
			return err == nil && d.Allowed
		}, "a key must pass again after its period")
	})
}
