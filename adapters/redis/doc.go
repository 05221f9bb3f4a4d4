// Package redis implements the cache and rate-limiter ports on Redis 7 with
// github.com/redis/rueidis.
//
// [Cache] keeps every key under a configurable prefix (default "ecolaura:")
// and, unless disabled, serves hot keys from the process's own memory with
// rueidis client-side caching (RESP3 CLIENT TRACKING): the first Get of a key
// costs one round trip, later Gets cost none until Redis invalidates the key
// because some client (this process or another replica) changed it. Writes
// made through a Cache are visible to the same Cache's very next Get, and
// through Redis's invalidation messages to every other replica's next Get
// within the invalidation latency (milliseconds on a LAN).
//
// [RateLimiter] enforces GCRA limits with one atomic Lua script per
// decision, so a limit holds across every process sharing the Redis.
//
// Both are optional accelerators: every call is bounded by a short timeout;
// when Redis is down or slow, calls fail fast with an error wrapping
// [ecolaura.ErrUnavailable] (callers treat a cache error as a miss), the
// outage is logged once, counted in [Stats], and Redis is probed again in the
// background of normal traffic (one call per probe interval) so that service
// resumes by itself when Redis returns; rueidis re-dials on its own. While
// Redis is unavailable the RateLimiter decides with a per-process GCRA
// limiter of bounded memory instead. A Cache or RateLimiter created while
// Redis is unreachable starts in that same unavailable state instead of
// failing, so a server starts during an outage and recovers like one that
// was running.
//
// The adapter targets a standalone Redis (or a single primary); it does not
// speak the cluster protocol.
package redis
