package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

const limiterShards = 16

// sweepEvery is how many decisions the limiter makes between sweeps of the
// idle keys of one shard (the shards take turns).
const sweepEvery = 256

// LimiterOption configures a [RateLimiter].
type LimiterOption func(*RateLimiter)

// WithLimiterClock sets the clock (default: the wall clock).
func WithLimiterClock(clk ports.Clock) LimiterOption {
	return func(l *RateLimiter) {
		if clk != nil {
			l.clock = clk
		}
	}
}

type limiterShard struct {
	mu  sync.Mutex
	tat map[string]int64 // theoretical arrival time, Unix nanoseconds
	ops int
}

// RateLimiter is a per-process [ports.RateLimiter] using the generic cell
// rate algorithm (GCRA): each key keeps one timestamp, the theoretical
// arrival time. A key whose timestamp has passed is as good as new, so it is
// forgotten by a periodic sweep: memory stays proportional to the keys
// active within one burst window. Safe for concurrent use.
type RateLimiter struct {
	clock  ports.Clock
	seed   maphash.Seed
	ops    atomic.Uint64
	shards [limiterShards]limiterShard
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter with no history.
func NewRateLimiter(opts ...LimiterOption) *RateLimiter {
	l := &RateLimiter{clock: wallClock{}, seed: maphash.MakeSeed()}
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	for i := range l.shards {
		l.shards[i].tat = make(map[string]int64)
	}
	return l
}

// gcraParams validates limit and returns the emission interval T and the
// burst window τ = Burst·T in nanoseconds, saturated so that absurd limits
// cannot overflow the arithmetic of Allow and Refund.
func gcraParams(key string, limit ports.RateLimit) (interval, tolerance int64, err error) {
	var v ecolaura.Validator
	v.Check(limit.Rate > 0, "rate", "must be positive")
	v.Check(limit.Burst > 0, "burst", "must be positive")
	v.Check(limit.Period > 0, "period", "must be positive")
	if err := v.Err(); err != nil {
		return 0, 0, fmt.Errorf("memory: rate limit %q: %w", key, err)
	}
	const ceiling = math.MaxInt64 / 4
	interval = min(max(int64(limit.Period)/int64(limit.Rate), 1), ceiling)
	tolerance = int64(ceiling)
	if int64(limit.Burst) < ceiling/interval {
		tolerance = interval * int64(limit.Burst)
	}
	return interval, tolerance, nil
}

// Allow decides whether one more request under key may pass: Burst requests
// at once, then one every Period/Rate. Errors: *ValidationError (ErrInvalid)
// when Rate, Burst or Period is not positive.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	interval, tolerance, err := gcraParams(key, limit)
	if err != nil {
		return ports.RateDecision{}, err
	}
	now := l.clock.Now().UnixNano()

	if n := l.ops.Add(1); n%sweepEvery == 0 {
		l.sweep(&l.shards[(n/sweepEvery)%limiterShards], now)
	}
	sh := &l.shards[maphash.String(l.seed, key)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tat[key]
	if !ok || tat < now {
		tat = now
	}
	newTat := tat + interval
	if newTat-now > tolerance {
		return ports.RateDecision{
			Allowed:    false,
			Remaining:  0,
			RetryAfter: time.Duration(newTat - tolerance - now),
		}, nil
	}
	sh.tat[key] = newTat
	return ports.RateDecision{
		Allowed:   true,
		Remaining: int((now + tolerance - newTat) / interval),
	}, nil
}

// Refund gives back one request Allow let pass under key: the key's
// theoretical arrival time moves back by one emission interval, never
// before now. Errors: as Allow's for a bad limit.
func (l *RateLimiter) Refund(ctx context.Context, key string, limit ports.RateLimit) error {
	interval, _, err := gcraParams(key, limit)
	if err != nil {
		return err
	}
	now := l.clock.Now().UnixNano()
	sh := &l.shards[maphash.String(l.seed, key)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tat[key]
	if !ok {
		return nil
	}
	if tat-interval <= now {
		delete(sh.tat, key)
		return nil
	}
	sh.tat[key] = tat - interval
	return nil
}

// sweep forgets the keys of sh whose theoretical arrival time has passed:
// they are as good as new.
func (l *RateLimiter) sweep(sh *limiterShard, now int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for k, t := range sh.tat {
		if t <= now {
			delete(sh.tat, k)
		}
	}
}

// Keys returns how many keys the limiter currently remembers.
func (l *RateLimiter) Keys() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.tat)
		sh.mu.Unlock()
	}
	return n
}
