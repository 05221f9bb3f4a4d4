package redis

import (
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/ports"
)

// localLimiter is the per-process GCRA limiter the RateLimiter falls back to
// while Redis is unavailable. It keeps one theoretical arrival time (TAT)
// per key, in microseconds, and at most max keys: when full, it first drops
// the keys whose TAT has passed (they behave exactly like absent keys), and
// if that frees nothing it drops a tenth of the keys at random, which only
// makes the limit more lenient for those keys.
type localLimiter struct {
	clock ports.Clock
	max   int

	mu  sync.Mutex
	tat map[string]int64
}

func newLocalLimiter(maxKeys int, clock ports.Clock) *localLimiter {
	return &localLimiter{clock: clock, max: maxKeys, tat: make(map[string]int64)}
}

func (l *localLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}

// allow applies GCRA exactly as gcraScript does.
func (l *localLimiter) allow(key string, g gcra) ports.RateDecision {
	now := l.clock.Now().UnixMicro()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.tat[key]
	if !known || tat < now {
		tat = now
	}
	newTAT := tat + g.interval
	diff := now - (newTAT - g.burst*g.interval)
	if diff < 0 {
		return ports.RateDecision{RetryAfter: time.Duration(-diff) * time.Microsecond}
	}
	if !known && len(l.tat) >= l.max {
		l.evict(now)
	}
	l.tat[key] = newTAT
	return ports.RateDecision{Allowed: true, Remaining: int(diff / g.interval)}
}

// refund applies refundScript's rule: the TAT moves back one interval and
// is forgotten once it reaches now.
func (l *localLimiter) refund(key string, g gcra) {
	now := l.clock.Now().UnixMicro()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.tat[key]
	if !known {
		return
	}
	if tat-g.interval <= now {
		delete(l.tat, key)
		return
	}
	l.tat[key] = tat - g.interval
}

// evict makes room for one key; l.mu is held.
func (l *localLimiter) evict(now int64) {
	for k, t := range l.tat {
		if t <= now {
			delete(l.tat, k)
		}
	}
	if len(l.tat) < l.max {
		return
	}
	drop := max(1, l.max/10)
	for k := range l.tat { // map order is random enough
		delete(l.tat, k)
		if drop--; drop == 0 {
			return
		}
	}
}
