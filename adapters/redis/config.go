package redis

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Defaults applied by [DefaultConfig] and, for zero fields, by [NewCache] and
// [NewRateLimiter].
const (
	DefaultPrefix        = "ecolaura:"
	DefaultTTL           = 15 * time.Minute
	DefaultCacheTTL      = time.Minute
	DefaultCacheBytes    = 32 << 20
	DefaultTimeout       = 100 * time.Millisecond
	DefaultProbeInterval = 250 * time.Millisecond
	DefaultLocalKeys     = 10_000
)

// Config configures a [Cache].
//
// Start from [DefaultConfig]: ClientSideCaching is a plain bool, so a Config
// literal that does not set it has client-side caching off. Zero durations,
// sizes and an empty Prefix are replaced by the defaults above.
type Config struct {
	// URL is the Redis URL, e.g. redis://user:pass@127.0.0.1:6379/0
	// (rediss:// for TLS). Required.
	URL string
	// Prefix is prepended to every key. Default "ecolaura:".
	Prefix string
	// DefaultTTL is the TTL GetOrLoad uses when called with ttl == 0.
	// (Set follows the port: ttl <= 0 stores without expiry.) Default 15 min.
	DefaultTTL time.Duration
	// ClientSideCaching serves repeated Gets from process memory, kept
	// coherent by Redis invalidation messages (RESP3 tracking).
	ClientSideCaching bool
	// CacheTTL bounds how long a client-side entry may be served without
	// asking Redis again (the key's own TTL caps it further). Default 1 min.
	CacheTTL time.Duration
	// CacheBytes bounds the client-side cache memory. Default 32 MiB.
	CacheBytes int
	// Timeout bounds every call to Redis. Default 100 ms.
	Timeout time.Duration
	// ProbeInterval is how often, while Redis is unreachable, one call is let
	// through to find out whether it is back; the others fail at once.
	// Default 250 ms.
	ProbeInterval time.Duration
}

// DefaultConfig returns the recommended configuration for url: prefix
// "ecolaura:", 15 min default TTL, client-side caching on with a 1 min
// client TTL, 100 ms timeout.
func DefaultConfig(url string) Config {
	return Config{
		URL:               url,
		Prefix:            DefaultPrefix,
		DefaultTTL:        DefaultTTL,
		ClientSideCaching: true,
		CacheTTL:          DefaultCacheTTL,
		CacheBytes:        DefaultCacheBytes,
		Timeout:           DefaultTimeout,
		ProbeInterval:     DefaultProbeInterval,
	}
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp.Or(c.Prefix, DefaultPrefix)
	c.DefaultTTL = cmp.Or(c.DefaultTTL, DefaultTTL)
	c.CacheTTL = cmp.Or(c.CacheTTL, DefaultCacheTTL)
	c.CacheBytes = cmp.Or(c.CacheBytes, DefaultCacheBytes)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.ProbeInterval = cmp.Or(c.ProbeInterval, DefaultProbeInterval)
	return c
}

// Validate reports every invalid field as an *ecolaura.ConfigError (a
// wiring mistake, not ecolaura.ErrInvalid). Zero values are valid: they mean
// "default".
func (c Config) Validate() error {
	var v ecolaura.Validator
	validateURL(&v, c.URL)
	validatePrefix(&v, c.Prefix)
	v.Check(c.DefaultTTL >= 0, "default_ttl", "must not be negative")
	v.Check(c.CacheTTL >= 0, "cache_ttl", "must not be negative")
	v.Check(c.CacheBytes >= 0, "cache_bytes", "must not be negative")
	v.Check(c.Timeout >= 0, "timeout", "must not be negative")
	v.Check(c.ProbeInterval >= 0, "probe_interval", "must not be negative")
	return v.ConfigErr()
}

// LimiterConfig configures a [RateLimiter].
type LimiterConfig struct {
	// URL is the Redis URL. Required.
	URL string
	// Prefix is prepended to every key (then "ratelimit:"). Default "ecolaura:".
	Prefix string
	// Timeout bounds every call to Redis. Default 100 ms.
	Timeout time.Duration
	// ProbeInterval: see [Config.ProbeInterval]. Default 250 ms.
	ProbeInterval time.Duration
	// LocalKeys bounds the number of keys the per-process fallback limiter
	// tracks while Redis is unavailable. Default 10,000.
	LocalKeys int
}

func (c LimiterConfig) withDefaults() LimiterConfig {
	c.Prefix = cmp.Or(c.Prefix, DefaultPrefix)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.ProbeInterval = cmp.Or(c.ProbeInterval, DefaultProbeInterval)
	c.LocalKeys = cmp.Or(c.LocalKeys, DefaultLocalKeys)
	return c
}

// Validate reports every invalid field as an *ecolaura.ConfigError.
func (c LimiterConfig) Validate() error {
	var v ecolaura.Validator
	validateURL(&v, c.URL)
	validatePrefix(&v, c.Prefix)
	v.Check(c.Timeout >= 0, "timeout", "must not be negative")
	v.Check(c.ProbeInterval >= 0, "probe_interval", "must not be negative")
	v.Check(c.LocalKeys >= 0, "local_keys", "must not be negative")
	return v.ConfigErr()
}

func validateURL(v *ecolaura.Validator, url string) {
	if strings.TrimSpace(url) == "" {
		v.Add("url", "is required")
		return
	}
	if _, err := rueidis.ParseURL(url); err != nil {
		v.Add("url", "is not a valid Redis URL: %v", err)
	}
}

func validatePrefix(v *ecolaura.Validator, prefix string) {
	v.Check(len(prefix) <= 200, "prefix", "must be at most 200 bytes")
	v.Check(!strings.ContainsAny(prefix, "*?[]\\ \r\n\t"), "prefix", "must not contain glob characters or whitespace")
}

// Option configures optional dependencies of a [Cache] or [RateLimiter].
type Option func(*options)

type options struct {
	logger *slog.Logger
	now    func() time.Time // nil: time.Now
	tracer trace.TracerProvider
	bad    ecolaura.Validator // options given a typed nil
}

// WithLogger sets the logger for availability changes (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithClock sets the clock of the RateLimiter's per-process fallback
// (default the wall clock). nil keeps the default; a typed nil is refused
// by the constructor with an *ecolaura.ConfigError.
func WithClock(c ports.Clock) Option {
	return func(o *options) {
		switch {
		case c == nil:
		case ecolaura.IsNil(c):
			o.bad.Required("clock", c)
		default:
			o.now = c.Now
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// ping checks a new connection, allowing a first call more time than the
// per-call timeout (at least a second) but never unbounded.
func ping(ctx context.Context, client rueidis.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, max(10*timeout, time.Second))
	defer cancel()
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		return unavailable("ping redis", err)
	}
	return nil
}

// clientOption builds the rueidis options shared by both adapters.
func clientOption(url string, timeout time.Duration) (rueidis.ClientOption, error) {
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		return opt, fmt.Errorf("parse redis url: %w", err)
	}
	// Standalone Redis: skip the CLUSTER SLOTS probe at start.
	opt.ForceSingleClient = true
	// Dials and stuck connections must not outlive the call budget by much:
	// rueidis re-dials lazily on the next call after a failure.
	opt.Dialer.Timeout = max(timeout, 50*time.Millisecond) * 5
	opt.ConnWriteTimeout = max(timeout*10, time.Second)
	opt.ClientName = "ecolaura"
	// One auto-pipelined connection. For the cache this is what makes writes
	// and client-side cached reads share one ordered stream (see
	// Cache.write); for both it means that after an outage there is no idle
	// second connection left to fail on first use once Redis is back.
	opt.PipelineMultiplex = -1
	return opt, nil
}
