package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/ratelimit"
)

// gcraScript decides one request with the generic cell rate algorithm
// (GCRA) atomically in Redis, on Redis's clock, in microseconds: the
// arithmetic of ratelimit.GCRA.Decide, which the per-process fallback runs.
//
// KEYS[1] holds the theoretical arrival time (TAT) of the next request and
// expires when it is in the past, so idle keys cost nothing.
// ARGV[1] is the emission interval (period / rate) and ARGV[2] the burst.
// It returns {allowed (0|1), remaining, retry_after_us}.
const gcraScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local diff = now - (new_tat - burst * interval)
if diff < 0 then
  return {0, 0, -diff}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor(diff / interval), 0}
`

// refundScript gives back one request of KEYS[1]: its TAT moves back by one
// emission interval (ARGV[1]); a TAT that reaches now is deleted, as a key
// with its whole burst left is as good as absent.
const refundScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local new_tat = tat - tonumber(ARGV[1])
if new_tat <= now then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 1
`

// limiterNamespace follows the prefix in every key of a RateLimiter.
const limiterNamespace = "ratelimit:"

// RateLimiter is a rate limiter for the HTTP adapter (it implements
// httpapi.RateLimiter) whose state lives in Redis, so a limit
// holds across every process sharing it. While Redis is unavailable it
// decides with a per-process limiter (same algorithm, bounded memory,
// state not shared and started afresh), and returns to Redis by itself when
// Redis answers again. Safe for concurrent use; Close it when done.
type RateLimiter struct {
	client rueidis.Client
	cfg    LimiterConfig
	health *health
	local  *ratelimit.Limiter
	script *rueidis.Lua
	refund *rueidis.Lua

	redisDecisions atomic.Uint64
	localDecisions atomic.Uint64
}

// LimiterStats are the counters of a RateLimiter since it was created.
type LimiterStats struct {
	// RedisDecisions and LocalDecisions count decisions made by Redis and by
	// the per-process fallback.
	RedisDecisions, LocalDecisions uint64
	// Errors counts calls for which Redis was unavailable (Rejected of them
	// without being tried); Outages counts healthy-to-unavailable transitions.
	Errors, Rejected, Outages uint64
	// LocalKeys is the number of keys the fallback currently tracks.
	LocalKeys int
	// Healthy is false while Redis is considered unavailable.
	Healthy bool
}

// NewRateLimiter connects to Redis and returns a RateLimiter. ctx bounds the
// initial connection check. It returns an *ecolaura.ConfigError for a bad
// cfg. When Redis cannot be reached the RateLimiter starts in the
// unavailable state (logged once): it decides per process, as during an
// outage at run time, until a probe finds Redis back.
func NewRateLimiter(ctx context.Context, cfg LimiterConfig, opts ...Option) (*RateLimiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redis rate limiter config: %w", err)
	}
	cfg = cfg.withDefaults()
	o := buildOptions(opts)
	if err := o.bad.ConfigErr(); err != nil {
		return nil, fmt.Errorf("redis rate limiter config: %w", err)
	}
	opt, err := clientOption(cfg.URL, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("redis rate limiter config: %w", ecolaura.Misconfigured("url", "%v", err))
	}
	opt.DisableCache = true
	client, err := rueidis.NewClient(opt)
	if client == nil {
		return nil, unavailable("connect to redis", err)
	}
	client = traced(client, o.tracer)
	r := &RateLimiter{
		client: client,
		cfg:    cfg,
		health: &health{what: "rate limiter", fallback: "limiting per process",
			log: o.logger.With(slog.String("prefix", cfg.Prefix)), probeEvery: cfg.ProbeInterval},
		local:  ratelimit.New(o.now, cfg.LocalKeys),
		script: rueidis.NewLuaScript(gcraScript),
		refund: rueidis.NewLuaScript(refundScript),
	}
	if err == nil {
		err = ping(ctx, client, cfg.Timeout)
	}
	if err != nil {
		r.health.fail(fmt.Errorf("at start: %w", err)) // per process until a probe succeeds
	}
	return r, nil
}

// Close releases the connection. Allow keeps working after Close, per
// process only.
func (r *RateLimiter) Close() {
	if r.health.closing.Swap(true) {
		return
	}
	r.client.Close()
}

// Healthy reports whether Redis is considered reachable.
func (r *RateLimiter) Healthy() bool { return !r.health.down.Load() }

// Stats returns a snapshot of the counters.
func (r *RateLimiter) Stats() LimiterStats {
	return LimiterStats{
		RedisDecisions: r.redisDecisions.Load(),
		LocalDecisions: r.localDecisions.Load(),
		Errors:         r.health.errors.Load(),
		Rejected:       r.health.rejected.Load(),
		Outages:        r.health.outages.Load(),
		LocalKeys:      r.local.Keys(),
		Healthy:        r.Healthy(),
	}
}

// Allow decides whether one more request under key may pass limit: Burst
// requests at once, refilled at Rate per Period. It returns an error for a
// limit with Rate or Burst below 1 or Period below 1µs (a configuration
// error, not ecolaura.ErrInvalid), and the caller's context error when ctx
// ends first. Redis being unavailable is not an error: the per-process
// limiter decides.
func (r *RateLimiter) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	g, err := limit.GCRA()
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("rate limit %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return ratelimit.Decision{}, fmt.Errorf("rate limit %q: %w", key, err)
	}
	if !r.health.closing.Load() && r.health.admit() {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		vals, err := r.script.Exec(cctx, r.client,
			[]string{r.cfg.Prefix + limiterNamespace + key},
			[]string{strconv.FormatInt(g.Interval, 10), strconv.FormatInt(g.Burst, 10)},
		).AsIntSlice()
		cancel()
		if err == nil && len(vals) == 3 {
			r.health.ok()
			r.redisDecisions.Add(1)
			return ratelimit.Decision{
				Allowed:    vals[0] == 1,
				Remaining:  int(vals[1]),
				RetryAfter: time.Duration(vals[2]) * time.Microsecond,
			}, nil
		}
		if err == nil {
			err = fmt.Errorf("unexpected script reply %v", vals)
		}
		if !r.health.observe(ctx, err) && !r.health.closing.Load() {
			return ratelimit.Decision{}, failed(ctx, fmt.Sprintf("rate limit %q", key), err)
		}
	}
	r.localDecisions.Add(1)
	return r.local.AllowGCRA(key, g), nil
}

// Refund gives back one request Allow let pass under key with limit (see
// httpapi.RateLimiter). Errors: as Allow's. While Redis is unavailable the
// per-process limiter refunds its own decisions.
func (r *RateLimiter) Refund(ctx context.Context, key string, limit ratelimit.Limit) error {
	g, err := limit.GCRA()
	if err != nil {
		return fmt.Errorf("rate limit refund %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rate limit refund %q: %w", key, err)
	}
	if !r.health.closing.Load() && r.health.admit() {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		err := r.refund.Exec(cctx, r.client, []string{r.cfg.Prefix + "ratelimit:" + key},
			[]string{strconv.FormatInt(g.Interval, 10)}).Error()
		cancel()
		if err == nil {
			r.health.ok()
			return nil
		}
		if !r.health.observe(ctx, err) && !r.health.closing.Load() {
			return failed(ctx, fmt.Sprintf("rate limit refund %q", key), err)
		}
	}
	r.local.RefundGCRA(key, g)
	return nil
}
