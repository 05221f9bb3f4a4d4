package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// errClosed is returned by calls on a closed Cache or RateLimiter.
var errClosed = fmt.Errorf("redis adapter closed: %w", ecolaura.ErrUnavailable)

// health tracks whether Redis is reachable. While it is not, admit lets one
// call through per probe interval and rejects the rest at once, so a dead or
// hung Redis costs callers nothing but an error. Transitions are logged once
// each: one warning when Redis becomes unavailable, one info when it is back.
type health struct {
	what       string // "cache" or "rate limiter", for the logs
	fallback   string // what callers get meanwhile, for the logs
	log        *slog.Logger
	probeEvery time.Duration

	down      atomic.Bool
	nextProbe atomic.Int64 // unix nanoseconds

	errors   atomic.Uint64 // calls that failed because Redis was unavailable
	rejected atomic.Uint64 // of which rejected without trying while down
	outages  atomic.Uint64
	closing  atomic.Bool // set by the owner's Close

	mu    sync.Mutex // serialises transitions and their logs
	since time.Time
}

// admit reports whether a call may go to Redis now.
func (h *health) admit() bool {
	if !h.down.Load() {
		return true
	}
	now := time.Now().UnixNano()
	next := h.nextProbe.Load()
	if now >= next && h.nextProbe.CompareAndSwap(next, now+int64(h.probeEvery)) {
		return true // this call is the probe
	}
	h.errors.Add(1)
	h.rejected.Add(1)
	return false
}

// ok records a successful round trip.
func (h *health) ok() {
	if !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		h.down.Store(false)
		h.log.Info("redis is reachable again; resuming", "component", "redis "+h.what,
			"outage", time.Since(h.since).Round(time.Millisecond))
	}
}

// fail records a round trip that failed because Redis was unreachable, slow
// or the connection broke.
func (h *health) fail(err error) {
	h.errors.Add(1)
	if h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Load() {
		h.since = time.Now()
		h.nextProbe.Store(h.since.Add(h.probeEvery).UnixNano())
		h.down.Store(true)
		h.outages.Add(1)
		h.log.Warn("redis is unavailable; "+h.fallback+" until it is back (logged once per outage)",
			"component", "redis "+h.what, "err", err, "probe_interval", h.probeEvery)
	}
}

// observe classifies err from a call made with the caller's context parent:
// nil, a Redis reply error (WRONGTYPE, ...) and the caller's own
// cancellation say nothing about availability; anything else is an outage.
// It returns true when err is an availability failure.
func (h *health) observe(parent context.Context, err error) bool {
	if err == nil || rueidis.IsRedisNil(err) {
		h.ok()
		return false
	}
	if re, isReply := rueidis.IsRedisErr(err); isReply && !unavailableReply(re) {
		h.ok()
		return false
	}
	if parent.Err() != nil {
		return false // the caller gave up; not Redis's fault
	}
	if h.closing.Load() {
		return false // Close was called; not an outage
	}
	h.fail(err)
	return true
}

// unavailableReply reports whether a Redis error reply means "cannot serve
// right now" (loading its data set, busy with a script, replica without a
// primary) rather than a problem with the command.
func unavailableReply(re *rueidis.RedisError) bool {
	if re.IsLoading() || re.IsClusterDown() || re.IsTryAgain() {
		return true
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "BUSY ") || strings.HasPrefix(msg, "MASTERDOWN ")
}

// unavailable reports err as ecolaura.ErrUnavailable. The client's error
// is kept as text only: rueidis's types are not part of the SDK's API.
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %v", op, ecolaura.ErrUnavailable, err)
}

// failed reports a call's error that is not an availability failure: the
// caller's context error stays matchable, the client's error is text only.
func failed(parent context.Context, op string, err error) error {
	if cerr := parent.Err(); cerr != nil {
		return fmt.Errorf("%s: %w: %v", op, cerr, err)
	}
	return fmt.Errorf("%s: %v", op, err)
}

var errRejected = errors.New("redis marked unavailable; waiting for the next probe")
