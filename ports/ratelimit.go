package ports

import (
	"context"
	"time"
)

// RateLimit allows Burst requests at once and then Rate requests per Period.
type RateLimit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// RateDecision is the outcome of one rate-limit check.
type RateDecision struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next request can pass (0 when allowed).
	RetryAfter time.Duration
}

// RateLimiter decides whether the request identified by key may pass.
// Implementations sharing a backend (Redis) enforce the limit across
// processes.
type RateLimiter interface {
	// Allow takes one request from key's budget under limit when there is
	// one left, and says when the next request can pass when there is not.
	Allow(ctx context.Context, key string, limit RateLimit) (RateDecision, error)
	// Refund gives back one request that Allow let pass under key with the
	// same limit, as if it had not been made: a caller that reserves a
	// request before an attempt and learns only afterwards that it should
	// not count (a sign-in that turned out to be valid, when only failures
	// count) refunds it. Refunding a key with nothing taken is a no-op; a
	// budget never grows past its burst.
	Refund(ctx context.Context, key string, limit RateLimit) error
}
