// Package ratelimit is the generic cell rate algorithm (GCRA) every rate
// limiter of Ecolaura shares: the limit and decision types of the HTTP
// adapter's rate-limiter contract (re-exported as httpapi.RateLimit and
// httpapi.RateDecision, which is where SDK users name them), the limit in
// the algorithm's units (the Redis adapter's Lua script applies exactly
// [GCRA.Decide]'s arithmetic), and the one in-process implementation,
// [Limiter], used by the memory adapter and by the Redis adapter while
// Redis is unavailable.
//
// It lives under internal/ because adapters must not import each other:
// the memory and Redis adapters implement httpapi's contract without
// importing httpapi.
package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Limit allows Burst requests at once and then Rate requests per Period.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// Decision is the outcome of one rate-limit check.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next request can pass (0 when allowed).
	RetryAfter time.Duration
}

// Validate reports a limit the algorithm cannot apply: Rate or Burst below 1,
// or Period below one microsecond (the algorithm's unit). A bad limit is a
// configuration mistake of the caller, not bad user input, so the error
// matches no domain sentinel.
func (l Limit) Validate() error {
	var errs []error
	if l.Rate < 1 {
		errs = append(errs, fmt.Errorf("rate must be at least 1, got %d", l.Rate))
	}
	if l.Burst < 1 {
		errs = append(errs, fmt.Errorf("burst must be at least 1, got %d", l.Burst))
	}
	if l.Period < time.Microsecond {
		errs = append(errs, fmt.Errorf("period must be at least 1µs, got %s", l.Period))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid rate limit: %w", err)
	}
	return nil
}

// ceiling bounds the algorithm's quantities, in microseconds (about 73,000
// years), so that absurd limits cannot overflow the arithmetic of Decide.
const ceiling = math.MaxInt64 / 4

// GCRA is a limit in the units of the algorithm, microseconds: the emission
// interval T = Period/Rate (at least 1) and the burst. Tolerance T·Burst is
// saturated at a ceiling far beyond any real limit.
type GCRA struct {
	Interval int64
	Burst    int64
}

// GCRA validates l (see [Limit.Validate]) and converts it.
func (l Limit) GCRA() (GCRA, error) {
	if err := l.Validate(); err != nil {
		return GCRA{}, err
	}
	return GCRA{
		Interval: min(max(1, (l.Period/time.Duration(l.Rate)).Microseconds()), ceiling),
		Burst:    int64(l.Burst),
	}, nil
}

// tolerance is T·Burst, saturated.
func (g GCRA) tolerance() int64 {
	if g.Burst >= ceiling/g.Interval {
		return ceiling
	}
	return g.Interval * g.Burst
}

// Decide applies the algorithm to one request at now (microseconds) for a
// key whose theoretical arrival time is tat (known false for a key with no
// state). When the request is allowed, newTAT is the state to store.
func (g GCRA) Decide(tat int64, known bool, now int64) (d Decision, newTAT int64) {
	if !known || tat < now {
		tat = now
	}
	newTAT = tat + g.Interval
	diff := now + g.tolerance() - newTAT
	if diff < 0 {
		return Decision{RetryAfter: time.Duration(-diff) * time.Microsecond}, tat
	}
	return Decision{Allowed: true, Remaining: int(diff / g.Interval)}, newTAT
}

// Defaults of a [Limiter].
const (
	shards = 16
	// sweepEvery is how many decisions the limiter makes between sweeps of
	// the idle keys of one shard (the shards take turns).
	sweepEvery = 256
)

type shard struct {
	mu  sync.Mutex
	tat map[string]int64 // theoretical arrival time, Unix microseconds
}

// Limiter is the in-process GCRA limiter: each key keeps one timestamp, its
// theoretical arrival time. A key whose timestamp has passed is as good as
// new, so it is forgotten by a periodic sweep: memory stays proportional to
// the keys active within one burst window. With a key bound, a new key that
// finds the limiter full first drops every key whose timestamp has passed
// and, if that frees nothing, a tenth of the keys, which only makes the
// limit more lenient for those keys. Safe for concurrent use.
type Limiter struct {
	now     func() time.Time
	maxKeys int64
	seed    maphash.Seed
	ops     atomic.Uint64
	keys    atomic.Int64
	shards  [shards]shard
}

// New returns a limiter with no history reading the time from now (nil
// means time.Now) and remembering at most about maxKeys keys (0: no bound
// beyond the sweeps; concurrent new keys may pass the bound by the number of
// callers).
func New(now func() time.Time, maxKeys int) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{now: now, maxKeys: int64(max(maxKeys, 0)), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].tat = make(map[string]int64)
	}
	return l
}

// Allow decides whether one more request under key may pass limit. Errors:
// the limit is invalid (see [Limit.Validate]).
func (l *Limiter) Allow(key string, limit Limit) (Decision, error) {
	g, err := limit.GCRA()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %q: %w", key, err)
	}
	return l.AllowGCRA(key, g), nil
}

// AllowGCRA is Allow for a limit already converted with [Limit.GCRA].
func (l *Limiter) AllowGCRA(key string, g GCRA) Decision {
	now := l.now().UnixMicro()
	if n := l.ops.Add(1); n%sweepEvery == 0 {
		l.sweep(&l.shards[(n/sweepEvery)%shards], now)
	}
	sh := &l.shards[maphash.String(l.seed, key)%shards]
	sh.mu.Lock()
	tat, known := sh.tat[key]
	if !known && l.maxKeys > 0 && l.keys.Load() >= l.maxKeys {
		// Make room without holding two shard locks at once.
		sh.mu.Unlock()
		l.makeRoom(now)
		sh.mu.Lock()
		tat, known = sh.tat[key]
	}
	defer sh.mu.Unlock()
	d, newTAT := g.Decide(tat, known, now)
	if d.Allowed {
		if !known {
			l.keys.Add(1)
		}
		sh.tat[key] = newTAT
	}
	return d
}

// Refund gives back one request Allow let pass under key with limit: the
// key's theoretical arrival time moves back one emission interval, and the
// key is forgotten once that reaches now (its whole burst is back), so a
// budget never grows past its burst; refunding an unknown key does nothing.
// Errors: the limit is invalid.
func (l *Limiter) Refund(key string, limit Limit) error {
	g, err := limit.GCRA()
	if err != nil {
		return fmt.Errorf("rate limit refund %q: %w", key, err)
	}
	l.RefundGCRA(key, g)
	return nil
}

// RefundGCRA is Refund for a limit already converted with [Limit.GCRA]:
// the arithmetic the Redis adapter's refund script applies.
func (l *Limiter) RefundGCRA(key string, g GCRA) {
	now := l.now().UnixMicro()
	sh := &l.shards[maphash.String(l.seed, key)%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, known := sh.tat[key]
	if !known {
		return
	}
	if tat-g.Interval <= now {
		delete(sh.tat, key)
		l.keys.Add(-1)
		return
	}
	sh.tat[key] = tat - g.Interval
}

// sweep forgets the keys of sh whose theoretical arrival time has passed:
// they are as good as new.
func (l *Limiter) sweep(sh *shard, now int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for k, t := range sh.tat {
		if t <= now {
			delete(sh.tat, k)
			l.keys.Add(-1)
		}
	}
}

// makeRoom drops the keys whose time has passed and, if the limiter is still
// full, a tenth of the keys of every shard (map order is random enough).
func (l *Limiter) makeRoom(now int64) {
	for i := range l.shards {
		l.sweep(&l.shards[i], now)
	}
	if l.keys.Load() < l.maxKeys {
		return
	}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		drop := max(1, len(sh.tat)/10)
		for k := range sh.tat {
			if drop == 0 {
				break
			}
			delete(sh.tat, k)
			l.keys.Add(-1)
			drop--
		}
		sh.mu.Unlock()
	}
}

// Keys returns how many keys the limiter currently remembers.
func (l *Limiter) Keys() int { return int(l.keys.Load()) }
