// Package ratelimittest is the conformance suite of [httpapi.RateLimiter],
// beside the package that declares (and consumes) the contract, as
// net/http/httptest is beside net/http. The memory and Redis adapters pass
// it (see this package's tests), and so must a limiter an SDK user writes:
//
//	func TestRateLimiter(t *testing.T) {
//		ratelimittest.RateLimiter(t, func(t *testing.T) httpapi.RateLimiter {
//			return newMyLimiter(t) // closed in t.Cleanup
//		})
//	}
//
// Every subtest uses its own random keys, so the limiter may share its
// backend with other runs; waits (a refill) are bounded polls whose bound,
// [Liveness], is a liveness limit, not a speed target.
package ratelimittest

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
)

// Liveness bounds every wait for a rate limit to refill. It only turns a
// hang into a failure.
var Liveness = 30 * time.Second

// Factory returns a ready rate limiter and arranges its clean-up with
// t.Cleanup. The limiter may share its backend with other runs: the suite
// uses random keys.
type Factory func(t *testing.T) httpapi.RateLimiter

// RateLimiter checks the semantics of [httpapi.RateLimiter]: a burst passes
// and the next request is denied with a positive RetryAfter, Remaining
// counts down, keys are independent, concurrent callers never get more than
// the burst through, a denied key passes again once the period has refilled
// it, and Refund gives back exactly one request (never more than the burst,
// a no-op on an unknown key, safe under concurrency).
func RateLimiter(t *testing.T, newLimiter Factory) {
	rl := newLimiter(t)
	require.NotNil(t, rl, "factory returned nil")
	// Refills once an hour: nothing refills while a subtest runs.
	hourly := func(burst int) httpapi.RateLimit { return httpapi.RateLimit{Rate: 1, Burst: burst, Period: time.Hour} }

	t.Run("BurstThenDenied", func(t *testing.T) {
		for _, burst := range []int{1, 3, 10} {
			k, limit := key(), hourly(burst)
			for i := 1; i <= burst; i++ {
				d, err := rl.Allow(t.Context(), k, limit)
				require.NoError(t, err)
				require.True(t, d.Allowed, "request %d of a burst of %d", i, burst)
				require.Equal(t, burst-i, d.Remaining, "Remaining after request %d of %d", i, burst)
				require.Zero(t, d.RetryAfter, "RetryAfter of an allowed request")
			}
			for i := range 3 {
				d, err := rl.Allow(t.Context(), k, limit)
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
			d, err := rl.Allow(t.Context(), a, limit)
			require.NoError(t, err)
			require.True(t, d.Allowed)
		}
		d, err := rl.Allow(t.Context(), a, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "key a is exhausted")
		d, err = rl.Allow(t.Context(), b, limit)
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
			var d httpapi.RateDecision
			d, errs[i] = rl.Allow(t.Context(), k, limit)
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
		require.NoError(t, rl.Refund(t.Context(), k, limit), "refunding an unknown key is a no-op")
		d, err := rl.Allow(t.Context(), k, limit)
		require.NoError(t, err)
		require.Equal(t, 2, d.Remaining, "a refund before any request must not raise the burst")
		for range 2 {
			d, err = rl.Allow(t.Context(), k, limit)
			require.NoError(t, err)
			require.True(t, d.Allowed)
		}
		d, err = rl.Allow(t.Context(), k, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "the burst of 3 is used up")
		require.NoError(t, rl.Refund(t.Context(), k, limit))
		d, err = rl.Allow(t.Context(), k, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed, "one refunded request passes again")
		require.Zero(t, d.Remaining)
		d, err = rl.Allow(t.Context(), k, limit)
		require.NoError(t, err)
		require.False(t, d.Allowed, "a refund gives back exactly one request")

		for range 5 {
			require.NoError(t, rl.Refund(t.Context(), k, limit))
		}
		for i := range 3 {
			d, err = rl.Allow(t.Context(), k, limit)
			require.NoError(t, err)
			require.True(t, d.Allowed, "request %d after refunding more than was taken", i+1)
		}
		d, err = rl.Allow(t.Context(), k, limit)
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
			d, err := rl.Allow(t.Context(), k, limit)
			if err == nil && d.Allowed {
				err = rl.Refund(t.Context(), k, limit)
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
		d, err := rl.Allow(t.Context(), k, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed, "every reservation was refunded: the burst is back")
	})
	t.Run("Refill", func(t *testing.T) {
		k := key()
		limit := httpapi.RateLimit{Rate: 1, Burst: 1, Period: 100 * time.Millisecond}
		d, err := rl.Allow(t.Context(), k, limit)
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.Eventually(t, func() bool {
			d, err := rl.Allow(t.Context(), k, limit)
			return err == nil && d.Allowed
		}, Liveness, 10*time.Millisecond, "a key must pass again after its period")
	})
}

// key returns a fresh random key.
func key() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "ratelimittest:" + hex.EncodeToString(b)
}

// race runs fn(0..n-1) on n goroutines released at once and waits for them.
func race(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}
