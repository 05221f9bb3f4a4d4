// Package productcache puts a [Cache] in front of the product store of
// a [ports.Database] and keeps it exact: every write invalidates precisely what
// it makes stale, so a price or stock change is visible on the very next
// read — in this process and in every other process sharing the same cache
// backend (Redis) — and stays so whatever process dies and whenever the
// cache is unreachable.
//
// [Wrap] returns a [Database] that implements [ports.Database] itself, so the
// services do not know whether they talk to a cached store or not.
//
// # What is cached
//
//   - A product under "product:<id>", stored together with the value
//     of its fence "product-fence:<id>" read before the product was
//     loaded. A hit counts only when the stored fence equals the current one;
//     both are fetched in one GetMany.
//   - A list page (Products().List) as the ordered product IDs plus HasMore and
//     Total under "list:<generation>:<hash of the query>", hydrated from
//     the product entries. Categories and CategoryStats likewise under
//     "categories:<generation>" and "category-stats:<generation>".
//     Only bounded values make keys: a search (a free-text Query) and the
//     numeric bounds (MinPrice, MaxPrice, MaxFootprint) are never cached,
//     nor is an empty page; a page After a position only when that is the
//     position of an existing product (a cursor can be forged).
//   - A fence created by a read of a product that turns out not to exist is
//     deleted again, so made-up IDs leave no key.
//   - The catalog generation "catalog:generation".
//
// Fences and the generation are random 62-bit tokens, never counters: a write
// replaces them with fresh tokens, and a reader that finds one missing
// (never set, expired or evicted) creates it with set-if-absent before it
// loads. A missing fence therefore never validates anything, so fences can
// expire ([Config.FenceTTL], by default four entry lifetimes) and a bounded
// cache may evict them without ever making an old entry valid again.
//
// # What a write invalidates
//
//   - A catalog edit (Create, Update, Delete) replaces the product's fence and
//     the generation (lists, categories and statistics may have changed).
//   - A stock movement (the inventory store's Change and Sell) replaces the
//     product's fence, so the stock shown (v1 stock, v2 available) is right
//     on the next read; it replaces the generation only when an inventory
//     level crosses zero, the one way a stock change can alter list
//     membership (the in-stock filter). No sort key and no category figure
//     depends on stock. A steady stream of checkouts therefore leaves every
//     list entry valid. (Keeping the product entry itself valid through
//     sales, with stock merged in at read time, is left to a later phase.)
//
// Every write runs in a transaction ([Database.Do], or one started for a
// single store call) whose product writes are recorded. Invalidation has
// two steps, each one round trip however many products changed:
//
//  1. Before the commit, the fences (and the generation) are set to negative
//     lease tokens that expire after [Config.LeaseTTL]. A reader that sees a
//     lease serves from the store and caches nothing. Once the lease is set,
//     no entry cached before is valid, so a writer that dies right after
//     its commit leaves nothing stale behind.
//  2. After the commit, they are set to fresh tokens: caching resumes.
//
// When step 1 fails (the cache is down, hung or cut off) the write is not
// refused: the products are recorded in the database's [Journal] in the same
// transaction, and every process sharing the cache applies the journal
// before it reads the cache again (after any cache error, at start, and every
// [Config.JournalInterval] in the background). A database without a journal
// keeps the failed invalidation in this process's memory and retries it;
// if the process dies first, other processes may serve the old entry until
// it expires.
//
// A write the store refuses because it disagrees with what the caller read
// (ErrConflict from a version check, ErrNotFound) deletes the product's
// entry before the error is returned, so the caller's retry reads the store
// (a row changed outside this package, by SQL or a restore, does not answer
// 409 until the entry expires).
//
// # The read-miss / stale-set race
//
// A reader that misses, loads the old row, and stores it after a writer has
// committed would leave a stale entry for a whole TTL. A reader reads the
// fence (for products) or the generation (for lists) BEFORE it loads from the
// store, and stores the result under that value; a writer replaces them
// before and after its commit. A result loaded before a commit is therefore
// stored under a value that the commit has already left behind, or not at
// all (a reader that sees a lease caches nothing).
//
// # Across processes
//
// Tokens and entries live in the shared cache, so a write in one process
// is seen by the next read in any other. With a cache adapter that serves
// reads from process memory (Redis client-side caching), another process
// sees the new fence only once Redis's invalidation message reaches it: in
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
// After a cache error this process serves from the store until it has
// applied the journal (and its own failed invalidations).
//
// # HTTP response caching
//
// [Database.Generation] and [Database.Stamp] expose the same signals, so the
// HTTP layer can cache rendered responses: a rendered list keyed by the
// generation and the query, validated with the Stamp of its product IDs
// (stock changes do not replace the generation but do change the stamp); a
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

	DefaultLeaseTTL         = 30 * time.Second
	DefaultJournalInterval  = time.Second
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
	// TTL of product, list and category entries.
	TTL time.Duration
	// FenceTTL is the lifetime of fences and of the generation after they
	// were last replaced or created (default 4 × TTL). Shorter only costs
	// misses; entries validated with [Database.Stamp] stay valid at most
	// this long.
	FenceTTL time.Duration
	// LeaseTTL bounds how long a write in progress keeps its products out of
	// the cache should its process die between the two invalidation steps.
	// It must exceed the time a commit takes.
	LeaseTTL time.Duration
	// JournalInterval is how often the [Journal] is applied in the
	// background while the cache works, for rows recorded by processes that
	// were cut off from the cache alone.
	JournalInterval time.Duration
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
	v.Check(c.FenceTTL >= 0, "fence_ttl", "must not be negative")
	v.Check(c.LeaseTTL > 0, "lease_ttl", "must be positive")
	v.Check(c.JournalInterval > 0, "journal_interval", "must be positive")
	v.Check(c.RetryInterval > 0, "retry_interval", "must be positive")
	v.Check(c.MaxRetryInterval >= c.RetryInterval, "max_retry_interval", "must not be below retry_interval")
	return v.ConfigErr()
}

// Option configures a [Database].
type Option func(*Config)

// WithTTL sets the time to live of cached entries (default [DefaultTTL]).
func WithTTL(d time.Duration) Option { return func(c *Config) { c.TTL = d } }

// WithFenceTTL sets the lifetime of fences and of the generation (default
// four times the entry TTL).
func WithFenceTTL(d time.Duration) Option { return func(c *Config) { c.FenceTTL = d } }

// WithLeaseTTL sets how long a write in progress keeps its products out of
// the cache at most (default [DefaultLeaseTTL]).
func WithLeaseTTL(d time.Duration) Option { return func(c *Config) { c.LeaseTTL = d } }

// WithJournalInterval sets how often the journal is applied in the
// background (default [DefaultJournalInterval]).
func WithJournalInterval(d time.Duration) Option { return func(c *Config) { c.JournalInterval = d } }

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
	// GenerationBumps counts replacements of the catalog generation by this
	// process.
	GenerationBumps uint64
	// Journaled counts writes recorded in the journal because the cache could
	// not be told before their commit.
	Journaled uint64
	// JournalApplied counts journal rows this process applied to the cache.
	JournalApplied uint64
	// Evictions counts entries deleted because the store refused a write
	// made from them (version conflict, product gone).
	Evictions uint64
}

type counters struct {
	productHits, productMisses   atomic.Uint64
	listHits, listMisses         atomic.Uint64
	categoryHits, categoryMisses atomic.Uint64
	errors, invalidations, bumps atomic.Uint64
	journaled, applied, evicted  atomic.Uint64
}

// Database is a [ports.Database] whose product reads go through a cache. It
// is safe for concurrent use. Close it to stop its background work.
type Database struct {
	db      ports.Database
	journal Journal // nil when db cannot journal
	cache   Cache
	cfg     Config
	log     *slog.Logger
	stats   counters

	// failing is set while the cache fails, so errors are logged once per burst.
	failing atomic.Bool

	// usable is set while the cache may be read: nothing of this process
	// is pending and the journal need not be applied first.
	usable atomic.Bool

	mu       sync.Mutex
	pending  plan      // failed invalidations not in the journal
	mustScan bool      // the journal must be applied before the cache is read
	failures uint64    // cache failures so far (a scan clears mustScan only if none happened meanwhile)
	draining bool      // a drain runs
	lastTry  time.Time // when the last drain started

	wake      chan struct{} // nudges the background loop
	closed    chan struct{}
	loopCtx   context.Context // cancelled by Close: ends a drain in flight
	stopLoop  context.CancelFunc
	loopDone  chan struct{}
	closeOnce sync.Once
}

var _ ports.Database = (*Database)(nil)

// Wrap returns db with a cache in front of its product reads, and starts
// its background work (stopped by Close). When db implements [Journal] (and
// its transactions [JournalTx]) invalidations that cannot reach the cache
// are made durable. It returns an *ecolaura.ConfigError when db or cache is
// nil or an option is invalid.
func Wrap(db ports.Database, cache Cache, opts ...Option) (*Database, error) {
	cfg := Config{
		TTL: DefaultTTL, LeaseTTL: DefaultLeaseTTL, JournalInterval: DefaultJournalInterval,
		RetryInterval: DefaultRetryInterval, MaxRetryInterval: DefaultMaxRetryInterval,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var v ecolaura.Validator
	v.Required("database", db)
	v.Required("cache", cache)
	v.Merge("", cfg.Validate())
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("productcache: %w", err)
	}
	if cfg.FenceTTL == 0 {
		cfg.FenceTTL = 4 * cfg.TTL
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Database{
		db: db, cache: cache, cfg: cfg, log: log.With("component", "productcache"),
		wake: make(chan struct{}, 1), closed: make(chan struct{}), loopDone: make(chan struct{}),
	}
	if j, ok := db.(Journal); ok {
		d.journal = j
		// A new process applies the journal before its first cached read:
		// writes made while the cache was unreachable may be recorded there.
		d.mustScan = true
	}
	d.usable.Store(!d.mustScan)
	d.loopCtx, d.stopLoop = context.WithCancel(context.Background())
	go d.loop()
	return d, nil
}

// Unwrap returns the wrapped database.
func (d *Database) Unwrap() ports.Database { return d.db }

// Products returns the cached product store.
func (d *Database) Products() ports.ProductStore { return cachedStore{d: d} }

// Inventory returns the inventory store: its writes invalidate what they
// make stale (see the package documentation).
func (d *Database) Inventory() ports.InventoryStore { return cachedInventory{d: d} }

// Orders returns the wrapped order store.
func (d *Database) Orders() ports.OrderStore { return d.db.Orders() }

// Users returns the wrapped user store.
func (d *Database) Users() ports.UserStore { return d.db.Users() }

// RefreshTokens returns the wrapped refresh-token store.
func (d *Database) RefreshTokens() ports.RefreshTokenStore { return d.db.RefreshTokens() }

// AccountTokens returns the wrapped account-token store.
func (d *Database) AccountTokens() ports.AccountTokenStore { return d.db.AccountTokens() }

// Audit returns the wrapped audit log.
func (d *Database) Audit() ports.AuditLog { return d.db.Audit() }

// Addresses returns the wrapped address-book store.
func (d *Database) Addresses() ports.AddressStore { return d.db.Addresses() }

// ShippingMethods returns the wrapped shipping-method store.
func (d *Database) ShippingMethods() ports.ShippingMethodStore { return d.db.ShippingMethods() }

// TaxRates returns the wrapped tax-rate store.
func (d *Database) TaxRates() ports.TaxRateStore { return d.db.TaxRates() }

// Payments returns the wrapped payment-record store.
func (d *Database) Payments() ports.PaymentStore { return d.db.Payments() }

// Passports returns the wrapped passport store (not cached).
func (d *Database) Passports() ports.PassportStore { return d.db.Passports() }

// Images returns the wrapped image store (images are not cached here: the
// catalog service bumps a product's version with every image write, which
// invalidates what is cached of it).
func (d *Database) Images() ports.ImageStore { return d.db.Images() }

// Ping pings the wrapped database (the cache is optional and not checked).
func (d *Database) Ping(ctx context.Context) error { return d.db.Ping(ctx) }

// Stats returns the counters so far.
func (d *Database) Stats() Stats {
	s := &d.stats
	return Stats{
		ProductHits: s.productHits.Load(), ProductMisses: s.productMisses.Load(),
		ListHits: s.listHits.Load(), ListMisses: s.listMisses.Load(),
		CategoryHits: s.categoryHits.Load(), CategoryMisses: s.categoryMisses.Load(),
		Errors: s.errors.Load(), Invalidations: s.invalidations.Load(), GenerationBumps: s.bumps.Load(),
		Journaled: s.journaled.Load(), JournalApplied: s.applied.Load(), Evictions: s.evicted.Load(),
	}
}

// errNotCacheable is returned by Generation and Stamp when what they
// describe may not be cached right now.
var errNotCacheable = errors.New("productcache: not cacheable now (cache unreachable, invalidations pending or a write in progress)")

// Generation returns the current catalog generation: it changes after every
// committed write that can change a list, the categories or the category
// statistics. Read it BEFORE loading the data you cache under it. It returns
// an error when the cache cannot be read or a write is in progress (cache
// nothing then).
func (d *Database) Generation(ctx context.Context) (int64, error) {
	if !d.ready(ctx) {
		return 0, errNotCacheable
	}
	g, ok, err := d.generation(ctx)
	if err != nil {
		return 0, fmt.Errorf("productcache: read generation: %w", err)
	}
	if !ok {
		return 0, errNotCacheable
	}
	return g, nil
}

// Stamp returns a digest of the current generation and the fences of the
// given products: it changes whenever one of them or any list changes. Read
// it BEFORE loading the data you cache with it. It returns an error when the
// cache cannot be read or one of them is being written.
func (d *Database) Stamp(ctx context.Context, ids []ecolaura.ID) (string, error) {
	if !d.ready(ctx) {
		return "", errNotCacheable
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
	create := map[string][]byte{}
	for _, k := range keys {
		raw, ok := vals[k]
		if !ok {
			if _, seen := create[k]; !seen {
				create[k] = strconv.AppendInt(nil, newToken(), 10)
			}
			continue
		}
		if token(raw) <= 0 {
			return "", errNotCacheable // a write in progress
		}
	}
	if len(create) > 0 {
		added, err := d.cache.AddMany(ctx, create, d.cfg.FenceTTL)
		if err != nil {
			d.cacheErr(ctx, "create fences", err)
			return "", fmt.Errorf("productcache: create fences: %w", err)
		}
		if len(added) != len(create) {
			return "", errNotCacheable // created concurrently: read them next time
		}
		for k, v := range create {
			vals[k] = v
		}
	}
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(vals[k])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// ---- keys and tokens ----

func (d *Database) genKey() string                   { return "catalog:generation" }
func (d *Database) productKey(id ecolaura.ID) string { return "product:" + string(id) }
func (d *Database) fenceKey(id ecolaura.ID) string   { return "product-fence:" + string(id) }
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

// newToken returns a fresh random fence or generation value: 62 random bits
// above 2^40, so no value is ever handed out twice in practice and none is
// mistaken for a counter of an older version of this package.
func newToken() int64 { return 1<<40 + rand.Int64N(1<<62) }

// token parses a fence or generation value: positive for a settled value,
// negative for a lease (a write in progress), -1 for garbage.
func token(raw []byte) int64 {
	f, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || f == 0 {
		return -1
	}
	return f
}

// generation reads the catalog generation, creating it when it is missing.
// ok is false when lists may not be cached now: a write is in progress, or
// the generation was created concurrently.
func (d *Database) generation(ctx context.Context) (g int64, ok bool, err error) {
	raw, found, err := d.cache.Get(ctx, d.genKey())
	if err != nil {
		d.cacheErr(ctx, "read generation", err)
		return 0, false, err
	}
	if found {
		d.cacheOK(ctx)
		g := token(raw)
		return g, g > 0, nil
	}
	// Missing (never set, expired or evicted): create a fresh value unless
	// another process just did.
	g = newToken()
	added, err := d.cache.AddMany(ctx, map[string][]byte{d.genKey(): strconv.AppendInt(nil, g, 10)}, d.cfg.FenceTTL)
	if err != nil {
		d.cacheErr(ctx, "create generation", err)
		return 0, false, err
	}
	d.cacheOK(ctx)
	return g, len(added) == 1, nil
}

// ---- failures ----

// cacheErr records a failed cache operation. With a journal, the cache may
// now miss invalidations other processes could only journal: it is not read
// again before the journal has been applied.
func (d *Database) cacheErr(ctx context.Context, op string, err error) {
	d.stats.errors.Add(1)
	if d.failing.CompareAndSwap(false, true) {
		d.log.WarnContext(ctx, "cache failing, serving from the store", "op", op, "err", err)
	}
	d.mu.Lock()
	d.failures++
	if d.journal != nil {
		d.mustScan = true
		d.usable.Store(false)
	}
	d.mu.Unlock()
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
