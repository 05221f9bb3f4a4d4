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
	Allow(ctx context.Context, key string, limit RateLimit) (RateDecision, error)
}
