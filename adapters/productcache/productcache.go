// Package productcache puts a [ports.Cache] in front of the product store of
// a [ports.Database] and keeps it exact: every write invalidates precisely what
// it makes stale, right after it commits, so a price or stock change is
// visible on the very next read — in this process and in every other process
// sharing the same cache backend (Redis).
//
// [Wrap] returns a [Database] that implements [ports.Database] itself, so the
// services do not know whether they talk to a cached store or not.
//
// # What is cached
//
//   - A product under "<prefix>product:<id>", stored together with the value
//     of its fence counter "<prefix>product-fence:<id>" read before the
//     product was loaded. A hit counts only when the stored fence equals the
//     current one; both are fetched in one GetMany.
//   - A list page (Products().List) as the ordered product IDs plus HasMore and
//     Total under "<prefix>list:<generation>:<hash of the query>", hydrated from
//     the product entries. Categories and CategoryStats likewise under
//     "<prefix>categories:<generation>" and "<prefix>category-stats:<generation>".
//   - The catalog generation "<prefix>catalog:generation", a counter bumped
//     with Incr, so every process sees a bump on its next read.
//
// # What a write invalidates
//
//   - A catalog edit (Create, Update, Delete) bumps the product's fence,
//     deletes its entry and bumps the generation (lists, categories and
//     statistics may have changed).
//   - A stock movement (AdjustStock) bumps the product's fence and deletes its
//     entry; it bumps the generation only when the stock crosses zero, the one
//     way a stock change alters list membership (the in-stock filter). No sort
//     key and no category figure depends on stock. A steady stream of
//     checkouts therefore leaves every list entry valid.
//
// Writes inside [Database.Do] are recorded by a wrapper around the Tx's
// product store and invalidated after Do commits. When the outcome of a write
// is unknown (an error that is not a domain error, such as a lost connection
// during commit) the wrapper invalidates anyway.
//
// # The read-miss / stale-set race
//
// A reader that misses, loads the old row, and stores it after a writer has
// committed and invalidated would leave a stale entry for a whole TTL. This
// package prevents it instead of bounding it: a reader reads the fence (for
// products) or the generation (for lists) BEFORE it loads from the store, and
// stores the result under that fence or generation. A writer bumps them only
// AFTER its commit. So a result loaded before a commit is always stored
// under a fence or generation that the commit's bump has already left behind,
// and no later reader accepts it. What remains is bounded by the TTL: a cache
// that evicts the counters themselves (Redis with an allkeys eviction policy;
// configure volatile-lru or noeviction) or an invalidation that keeps failing
// while another process keeps reading.
//
// # Across processes
//
// Counters and entries live in the shared cache, so a write in one process
// is seen by the next read in any other. With a cache adapter that serves
// reads from process memory (Redis client-side caching), another process
// sees the bumped fence only once Redis's invalidation message reaches it: in
// a measurement on localhost (2026-11), 6 of 300 reads made immediately after
// a write in another process still returned the previous stock, none without
// client-side caching; the writing process itself always reads its writes.
// That window is the price of answering fence and generation reads from
// memory.
//
// # Failures
//
// The cache is an optimisation. A cache error is treated as a miss: the call
// is served from the store and never fails because of the cache. Errors are
// logged once per burst (when the cache starts failing and when it recovers).
// An invalidation that fails is remembered and retried before this process
// reads the cache again; until it succeeds this process serves from the store.
//
// # HTTP response caching
//
// [Database.Generation] and [Database.Stamp] expose the same signals, so the
// HTTP layer can cache rendered responses: a rendered list keyed by the
// generation and the query, validated with the Stamp of its product IDs
// (stock changes do not bump the generation but do change the stamp); a
// rendered product keyed by its Stamp.
package productcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Defaults of [Config].
const (
	DefaultTTL = 15 * time.Minute

	DefaultRetryInterval    = 100 * time.Millisecond
	DefaultMaxRetryInterval = 5 * time.Second
)

// Config holds the settings of a [Database]. Build it with [Option]s.
//
// Keys carry no prefix of this package's own: the cache owns its
// namespace (the Redis adapter's Config.Prefix), so that every program
// sharing one Redis — the reference server, its workers and any SDK program
// wired as the shop package documents — reads and writes the same keys.
type Config struct {
	// TTL of product, list and category entries (counters never expire).
	TTL time.Duration
	// Logger receives cache failure reports; nil discards them.
	Logger *slog.Logger
	// RetryInterval is the first delay before a failed invalidation is
	// retried in the background (doubling up to MaxRetryInterval).
	RetryInterval time.Duration
	// MaxRetryInterval caps the background retry delay.
	MaxRetryInterval time.Duration
}

// Validate checks the settings and returns an *ecolaura.ConfigError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.TTL > 0, "ttl", "must be positive")
	v.Check(c.RetryInterval > 0, "retry_interval", "must be positive")
	v.Check(c.MaxRetryInterval >= c.RetryInterval, "max_retry_interval", "must not be below retry_interval")
	return v.ConfigErr()
}

// Option configures a [Database].
type Option func(*Config)

// WithTTL sets the time to live of cached entries (default [DefaultTTL]).
func WithTTL(d time.Duration) Option { return func(c *Config) { c.TTL = d } }

// WithRetryInterval sets the first and the largest delay of the background
// retry of failed invalidations (defaults [DefaultRetryInterval] and
// [DefaultMaxRetryInterval]).
func WithRetryInterval(first, largest time.Duration) Option {
	return func(c *Config) { c.RetryInterval, c.MaxRetryInterval = first, largest }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// Stats are cumulative counters of cache use, for metrics.
type Stats struct {
	// ProductHits and ProductMisses count product entries (Get, GetMany and
	// the hydration of cached lists).
	ProductHits, ProductMisses uint64
	// ListHits and ListMisses count list pages.
	ListHits, ListMisses uint64
	// CategoryHits and CategoryMisses count Categories and CategoryStats.
	CategoryHits, CategoryMisses uint64
	// Errors counts failed cache operations (each served from the store).
	Errors uint64
	// Invalidations counts successful post-commit invalidations.
	Invalidations uint64
	// GenerationBumps counts bumps of the catalog generation by this process.
	GenerationBumps uint64
}

type counters struct {
	productHits, productMisses   atomic.Uint64
	listHits, listMisses         atomic.Uint64
	categoryHits, categoryMisses atomic.Uint64
	errors, invalidations, bumps atomic.Uint64
}

// Database is a [ports.Database] whose product reads go through a cache. It
// is safe for concurrent use.
type Database struct {
	db    ports.Database
	cache ports.Cache
	cfg   Config
	log   *slog.Logger
	stats counters

	// failing is set while the cache fails, so errors are logged once per burst.
	failing atomic.Bool

	pendingMu sync.Mutex
	pending   plan // invalidations that failed and must be retried
	retrying  int  // retries of pending invalidations in flight
	// hasPend is set while pending is not empty or a retry is in flight:
	// reads then bypass the cache.
	hasPend atomic.Bool

	// retryLoop is set while a background goroutine retries pending
	// invalidations; closed stops it.
	retryLoop atomic.Bool
	closed    chan struct{}
	// loopDone is closed when the latest background retry goroutine has
	// returned (nil before the first); guarded by loopMu.
	loopMu    sync.Mutex
	loopDone  chan struct{}
	closeOnce sync.Once
}

var _ ports.Database = (*Database)(nil)

// Wrap returns db with a cache in front of its product reads. It returns an
// *ecolaura.ConfigError when db or cache is nil or an option is invalid.
func Wrap(db ports.Database, cache ports.Cache, opts ...Option) (*Database, error) {
	cfg := Config{TTL: DefaultTTL, RetryInterval: DefaultRetryInterval, MaxRetryInterval: DefaultMaxRetryInterval}
	for _, o := range opts {
		o(&cfg)
	}
	var v ecolaura.Validator
	v.Check(db != nil, "database", "is required")
	v.Check(cache != nil, "cache", "is required")
	v.Merge("", cfg.Validate())
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("productcache: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Database{db: db, cache: cache, cfg: cfg, log: log.With("component", "productcache"), closed: make(chan struct{})}, nil
}

// Unwrap returns the wrapped database.
func (d *Database) Unwrap() ports.Database { return d.db }

// Products returns the cached product store.
func (d *Database) Products() ports.ProductStore { return cachedStore{d: d} }

// Orders returns the wrapped order store.
func (d *Database) Orders() ports.OrderStore { return d.db.Orders() }

// Users returns the wrapped user store.
func (d *Database) Users() ports.UserStore { return d.db.Users() }

// RefreshTokens returns the wrapped refresh-token store.
func (d *Database) RefreshTokens() ports.RefreshTokenStore { return d.db.RefreshTokens() }

// Ping pings the wrapped database (the cache is optional and not checked).
func (d *Database) Ping(ctx context.Context) error { return d.db.Ping(ctx) }

// Do runs fn in a transaction of the wrapped database. Product writes made
// through tx are recorded and invalidated after a successful commit (or when
// the outcome is unknown). It returns fn's error unchanged.
func (d *Database) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	var rec *recorder
	err := d.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		rec = newRecorder() // Do may run fn again: keep only the last attempt
		return fn(ctx, recordingTx{Tx: tx, rec: rec})
	})
	if rec != nil && outcomeMayHaveCommitted(err) {
		d.invalidate(ctx, rec.plan())
	}
	return err
}

// Stats returns the counters so far.
func (d *Database) Stats() Stats {
	s := &d.stats
	return Stats{
		ProductHits: s.productHits.Load(), ProductMisses: s.productMisses.Load(),
		ListHits: s.listHits.Load(), ListMisses: s.listMisses.Load(),
		CategoryHits: s.categoryHits.Load(), CategoryMisses: s.categoryMisses.Load(),
		Errors: s.errors.Load(), Invalidations: s.invalidations.Load(), GenerationBumps: s.bumps.Load(),
	}
}

// Generation returns the current catalog generation: it changes after every
// committed write that can change a list, the categories or the category
// statistics. Read it BEFORE loading the data you cache under it. It returns
// an error when the cache cannot be read (cache nothing then).
func (d *Database) Generation(ctx context.Context) (int64, error) {
	if !d.ready(ctx) {
		return 0, errors.New("productcache: invalidations pending, cache bypassed")
	}
	g, err := d.generation(ctx)
	if err != nil {
		return 0, fmt.Errorf("productcache: read generation: %w", err)
	}
	return g, nil
}

// Stamp returns a digest of the current generation and the fences of the
// given products: it changes whenever one of them or any list changes. Read
// it BEFORE loading the data you cache with it. It returns an error when the
// cache cannot be read.
func (d *Database) Stamp(ctx context.Context, ids []ecolaura.ID) (string, error) {
	if !d.ready(ctx) {
		return "", errors.New("productcache: invalidations pending, cache bypassed")
	}
	keys := make([]string, 0, len(ids)+1)
	keys = append(keys, d.genKey())
	for _, id := range ids {
		keys = append(keys, d.fenceKey(id))
	}
	vals, err := d.cache.GetMany(ctx, keys)
	if err != nil {
		d.cacheErr(ctx, "stamp", err)
		return "", fmt.Errorf("productcache: read fences: %w", err)
	}
	d.cacheOK(ctx)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(vals[k])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// ---- keys and counters ----

func (d *Database) genKey() string                   { return "catalog:generation" }
func (d *Database) productKey(id ecolaura.ID) string { return "product:" + string(id) }
func (d *Database) fenceKey(id ecolaura.ID) string {
	return "product-fence:" + string(id)
}
func (d *Database) listKey(gen int64, q ports.ProductQuery) string {
	b, _ := json.Marshal(q) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return "list:" + strconv.FormatInt(gen, 10) + ":" + hex.EncodeToString(sum[:16])
}
func (d *Database) categoriesKey(gen int64) string {
	return "categories:" + strconv.FormatInt(gen, 10)
}
func (d *Database) statsKey(gen int64) string {
	return "category-stats:" + strconv.FormatInt(gen, 10)
}

// seed returns a fresh random starting value for a counter that has gone
// missing, so values handed out before it was lost are never reused.
func seed() int64 { return 1<<40 + rand.Int64N(1<<61) }

// generation reads the catalog generation, seeding it when it is missing.
func (d *Database) generation(ctx context.Context) (int64, error) {
	raw, ok, err := d.cache.Get(ctx, d.genKey())
	if err != nil {
		d.cacheErr(ctx, "read generation", err)
		return 0, err
	}
	if ok {
		g, perr := strconv.ParseInt(string(raw), 10, 64)
		if perr == nil {
			d.cacheOK(ctx)
			return g, nil
		}
	}
	// Missing (never set, or evicted) or garbage: start from a random value.
	// A concurrent bump may be overwritten; that is harmless because either
	// value differs from every generation used before.
	g := seed()
	if err := d.cache.Set(ctx, d.genKey(), []byte(strconv.FormatInt(g, 10)), 0); err != nil {
		d.cacheErr(ctx, "seed generation", err)
		return 0, err
	}
	d.cacheOK(ctx)
	return g, nil
}

// fence parses a fence counter value; a missing counter is 0.
func fence(raw []byte, ok bool) int64 {
	if !ok {
		return 0
	}
	f, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return -1 // garbage never matches a stored entry
	}
	return f
}

// ---- failures ----

func (d *Database) cacheErr(ctx context.Context, op string, err error) {
	d.stats.errors.Add(1)
	if d.failing.CompareAndSwap(false, true) {
		d.log.WarnContext(ctx, "cache failing, serving from the store", "op", op, "err", err)
	}
}

func (d *Database) cacheOK(ctx context.Context) {
	if d.failing.Load() && d.failing.CompareAndSwap(true, false) {
		d.log.InfoContext(ctx, "cache recovered")
	}
}

// outcomeMayHaveCommitted reports whether a write that returned err may have
// been stored: nil, or an error that is not a domain error (a lost
// connection during commit, a cancelled context, ...).
func outcomeMayHaveCommitted(err error) bool {
	if err == nil {
		return true
	}
	for _, e := range []error{
		ecolaura.ErrNotFound, ecolaura.ErrInvalid, ecolaura.ErrConflict, ecolaura.ErrInsufficientStock,
		ecolaura.ErrUnauthenticated, ecolaura.ErrForbidden, ecolaura.ErrInvalidTransition,
		ecolaura.ErrIdempotencyMismatch,
	} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}
