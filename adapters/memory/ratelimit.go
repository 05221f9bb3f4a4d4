package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/ratelimit"
	"github.com/ecolaura/ecolaura/ports"
)

// LimiterOption configures a [RateLimiter].
type LimiterOption func(*limiterOptions)

type limiterOptions struct {
	clock ports.Clock
}

// WithLimiterClock sets the clock (default: the wall clock).
func WithLimiterClock(clk ports.Clock) LimiterOption {
	return func(o *limiterOptions) {
		if !ecolaura.IsNil(clk) { // nil, or a typed nil: the default
			o.clock = clk
		}
	}
}

// RateLimiter is a per-process rate limiter for the HTTP adapter
// (it implements httpapi.RateLimiter) using the generic cell rate algorithm
// (GCRA): each key keeps one timestamp, the theoretical arrival time. A key
// whose timestamp has passed is as good as new, so it is forgotten by a
// periodic sweep: memory stays proportional to the keys active within one
// burst window. It is the same algorithm, and the same code, as the Redis
// adapter's fallback. Safe for concurrent use.
type RateLimiter struct {
	l *ratelimit.Limiter
}

// NewRateLimiter returns a limiter with no history.
func NewRateLimiter(opts ...LimiterOption) *RateLimiter {
	var o limiterOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	var now func() time.Time
	if o.clock != nil {
		now = o.clock.Now
	}
	return &RateLimiter{l: ratelimit.New(now, 0)}
}

// Allow decides whether one more request under key may pass: Burst requests
// at once, then one every Period/Rate. Errors: a limit whose Rate or Burst
// is below 1 or whose Period is below 1µs (a configuration error, not
// ecolaura.ErrInvalid).
func (l *RateLimiter) Allow(_ context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	d, err := l.l.Allow(key, limit)
	if err != nil {
		return d, fmt.Errorf("memory: %w", err)
	}
	return d, nil
}

// Refund gives back one request Allow let pass under key with limit: the
// key's theoretical arrival time moves back by one emission interval, never
// before now. Errors: as Allow's for a bad limit.
func (l *RateLimiter) Refund(_ context.Context, key string, limit ratelimit.Limit) error {
	if err := l.l.Refund(key, limit); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

// Keys returns how many keys the limiter currently remembers.
func (l *RateLimiter) Keys() int { return l.l.Keys() }
