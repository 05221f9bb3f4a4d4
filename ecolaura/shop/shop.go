// Package shop wires the Ecolaura SDK: it builds the services a program
// asks for over a chosen set of adapters, with in-process adapters as the
// default, so an embedding program (or a test) gets a working shop with
//
//	s, err := shop.New(ctx, shop.WithDemoCatalog())
//
// and then uses s.Catalog, s.Sustainability, s.Users and s.Orders.
//
// # Email
//
// Every email goes out from a job: the order confirmation (s.Orders) and
// the account emails (password reset, email verification, email change:
// s.AccountMail), rendered by s.Notifier from the mail adapter's embedded
// templates ([WithTemplates] overrides them) with the shop's name, URL and
// support address ([WithShopInfo]), and sent by the mailer ([WithMailer];
// the default only logs). s.JobHandler runs every job kind the shop's
// services enqueue.
//
// # À la carte
//
// By default New builds the four services. [WithServices] builds only some
// of them, and only what they need: a program that runs the order jobs
// (the reference server's worker) asks for [OrdersService] and gets no
// password hasher, no token keys and no catalog, users or sustainability
// service. Every dependency is optional here, with a default.
//
// # Defaults
//
// Without options everything runs in the process: an in-memory database
// whose committed jobs go to an in-memory job runner ([memory.JobRunner]),
// started by New with s.Orders as the handler and stopped (draining running
// jobs) by [Shop.Close]; an in-memory product cache; Argon2id password
// hashing with OWASP's parameters; JWT access tokens signed with a freshly
// generated Ed25519 key (a development key: tokens do not survive a restart,
// and a warning is logged through the shop's logger); a mailer that only
// logs ([mail.LogMailer]); the wall clock and UUIDv7 IDs; a logger that
// discards, like every default logger of the SDK.
//
// # Bringing your own adapters
//
// [WithDatabase] replaces the storage (for example PostgreSQL). The shop
// then cannot know which queue that database's committed jobs go to, so it
// starts no job runner unless [WithJobRunner] names the runner that
// consumes them (for example a River runner over the same database): without
// one, the jobs wait in the database's queue for a worker the embedding
// program runs with s.JobHandler as its [ports.JobHandler] (an in-memory
// database without a runner drops them). Processes that share a database
// and run its jobs share the key of the mailed tokens too ([WithTokenKey]). [WithCache] replaces the product
// cache's storage (for example Redis): the shop adds no key prefix of its
// own, so a shop over the same database and Redis as the reference server
// reads and writes the same keys and sees its invalidations. [WithTokens]
// (an issuer and a verifier built with the jwt adapter's own options, for
// example from a key file), [WithHasher] and [WithMailer] replace the other
// defaults.
//
// It is the composition root of the SDK: the only package under ecolaura/
// that imports adapters (memory, system, argon2id, jwt, mail and the product
// cache decorator; never the PostgreSQL, Redis or HTTP adapters, which the
// reference server wires).
package shop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/audit"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
	"github.com/ecolaura/ecolaura/ecolaura/inventory"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/passport"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
)

// TokenVerifier checks an access token the shop's users service issued and
// returns its principal; every failure (malformed, bad signature, wrong
// type, issuer or audience, expired) matches ecolaura.ErrUnauthenticated.
// The jwt adapter's Verifier implements it (and the HTTP adapter's
// httpapi.TokenVerifier, the same method).
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (ecolaura.Principal, error)
}

// Cache is the storage of the shop's product cache: the memory adapter's
// Cache (the default) and the Redis adapter's Cache implement it. Its
// semantics are those of the product cache's contract (checked by
// adapters/productcache/cachetest): values copied in and out, TTLs,
// set-if-absent, atomic counters, any key may vanish.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error
	AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error)
	Delete(ctx context.Context, keys ...string) error
	Incr(ctx context.Context, key string) (int64, error)
}

// CacheSignals tell when data read through the product cache changed, for
// a layer that caches what it renders from it (the HTTP adapter's response
// cache): Generation changes with every write that can change a list,
// Stamp with the products given or any list. Both fail when nothing may be
// cached now (the cache is unreachable or a write is in progress).
type CacheSignals interface {
	Generation(ctx context.Context) (int64, error)
	Stamp(ctx context.Context, ids []ecolaura.ID) (string, error)
}

// CacheStats are cumulative counters of the product cache, for metrics.
type CacheStats struct {
	// Hits and misses of product entries, list pages and category figures.
	ProductHits, ProductMisses   uint64
	ListHits, ListMisses         uint64
	CategoryHits, CategoryMisses uint64
	// Errors counts failed cache operations (each served from the store).
	Errors uint64
	// Invalidations counts successful invalidations after writes.
	Invalidations uint64
	// Evictions counts entries deleted because the store refused a write
	// made from them.
	Evictions uint64
}

// Services is a set of the shop's services, for [WithServices].
type Services uint8

// The services. Combine them with |.
const (
	// CatalogService manages and lists products (s.Catalog).
	CatalogService Services = 1 << iota
	// SustainabilityService explains scores and finds greener alternatives
	// (s.Sustainability).
	SustainabilityService
	// UsersService registers accounts and signs them in (s.Users, with
	// s.Issuer and s.Tokens). Only it needs a password hasher and token keys.
	UsersService
	// OrdersService checks out and moves orders and handles the order jobs
	// (s.Orders), the confirmation email included.
	OrdersService
	// AccountMailService runs the account email jobs (password reset,
	// email verification, email change) that UsersService enqueues
	// (s.AccountMail). A worker that runs the jobs of a server with
	// UsersService needs it.
	AccountMailService

	// AllServices is the default.
	AllServices = CatalogService | SustainabilityService | UsersService | OrdersService | AccountMailService

	// mailServices send email: they need a mailer and templates.
	mailServices = OrdersService | AccountMailService
)

// Config is what [New] builds a shop from. Build it with [Option]s; every
// field has a default.
type Config struct {
	// Services are the services to build (default AllServices).
	Services Services
	// Database defaults to a new in-memory database feeding a new in-memory
	// job runner.
	Database ports.Database
	// JobRunner runs the jobs the Database commits, with the orders service
	// as handler. It defaults to a new [memory.JobRunner] when Database is
	// the default one, and to none when Database was given (see the package
	// documentation).
	JobRunner ports.JobRunner
	// Cache defaults to a new in-memory cache; see NoCache.
	Cache Cache
	// NoCache turns the product cache off.
	NoCache bool
	// CacheTTL is the lifetime of product cache entries (0: 15 minutes).
	// Keys are not prefixed: a shared cache (Redis) carries its own prefix.
	CacheTTL time.Duration
	// Clock defaults to the wall clock (UTC, microseconds).
	Clock ports.Clock
	// IDs defaults to UUIDv7.
	IDs ports.IDGenerator
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Currency is the default currency of prices and the currency orders
	// are totalled in (default EUR).
	Currency ecolaura.Currency
	// TaxMode says whether prices include tax (default
	// ecolaura.TaxInclusive, EU style).
	TaxMode ecolaura.TaxMode
	// DemoCatalog loads the embedded demo catalog into an empty catalog
	// (needs CatalogService).
	DemoCatalog bool
	// Hasher hashes passwords; defaults to Argon2id with
	// [argon2id.DefaultParams] (built only for UsersService).
	Hasher ports.PasswordHasher
	// TokenIssuer and TokenVerifier sign and check access tokens; give both
	// or neither. When neither is given, a UsersService shop signs them with
	// a generated Ed25519 development key (with a logged warning).
	TokenIssuer   ports.TokenIssuer
	TokenVerifier TokenVerifier
	// Mailer sends every email; defaults to a [mail.LogMailer] on Logger
	// (built only for OrdersService and AccountMailService).
	Mailer ports.Mailer
	// Templates render the emails; default the mail adapter's embedded
	// ones ([mail.DefaultTemplates]).
	Templates ports.MessageTemplates
	// ShopInfo is the shop's name, public URL and support address the
	// emails show; default "Ecolaura" at http://localhost:8080.
	ShopInfo notify.Shop
	// MessageDomain is the domain of the emails' Message-IDs; default the
	// host of ShopInfo.URL.
	MessageDomain string
	// TokenKey derives the mailed one-time tokens (at least 32 bytes);
	// default a random key of this shop. Processes sharing a database
	// need the same.
	TokenKey []byte
	// RequireVerifiedEmail makes checkout refuse accounts whose email is
	// not verified.
	RequireVerifiedEmail bool
	// CarbonOffsetPrice is the price of one kg CO2e, in Currency; nil means
	// [orders.DefaultCarbonOffsetPrice].
	CarbonOffsetPrice *ecolaura.Money
	// RefreshTTL is the lifetime of a refresh-token family; 0 means
	// [users.DefaultRefreshTTL].
	RefreshTTL time.Duration
	// PaymentProvider takes the orders' payments (ecolaura/payments None
	// or Manual, or the Stripe adapter); nil means payments.None (no
	// payment step).
	PaymentProvider ports.PaymentProvider
	// Media stores the files of product images (the media adapter's
	// Store); nil: image uploads are refused, and the catalog's media
	// cleanup job has nothing to do.
	Media ports.MediaStore

	// nilOptions records the options given a nil dependency (or a typed
	// nil): a mistake, never a request for the default.
	nilOptions ecolaura.Validator
}

// given records dep, passed to the option of field, when it is nil.
func (c *Config) given(field string, dep any) {
	if dep == nil {
		c.nilOptions.Add(field, "was given nil: omit the option to get the default")
	} else if ecolaura.IsNil(dep) {
		c.nilOptions.Add(field, "was given a nil %T: omit the option to get the default", dep)
	}
}

// Validate checks the configuration after defaults were applied and returns
// an *ecolaura.ConfigError: every problem here is a wiring mistake of the
// program, not user input.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.Services != 0 && c.Services&^AllServices == 0, "services", "must name at least one known service")
	v.Merge("", c.nilOptions.ConfigErr())
	v.Required("database", c.Database)
	if !c.NoCache {
		v.Required("cache", c.Cache)
	}
	v.Required("clock", c.Clock)
	v.Required("ids", c.IDs)
	v.Check(c.CacheTTL >= 0, "cache_ttl", "must not be negative")
	v.Check(c.Currency.Valid(), "currency", "unsupported currency %q", string(c.Currency))
	v.Check(c.TaxMode == "" || c.TaxMode.Valid(), "tax_mode", "must be inclusive or exclusive")
	v.Check(!c.DemoCatalog || c.Services&CatalogService != 0, "demo_catalog", "needs the catalog service")
	v.Check(c.JobRunner == nil || c.Services&mailServices != 0, "job_runner", "runs the order and account email jobs: it needs the orders or the account mail service")
	if c.Services&UsersService != 0 {
		v.Required("hasher", c.Hasher)
		v.Check(!ecolaura.IsNil(c.TokenIssuer) && !ecolaura.IsNil(c.TokenVerifier), "tokens", "need both an issuer and a verifier")
	}
	if c.Services&mailServices != 0 {
		v.Required("mailer", c.Mailer)
		v.Required("templates", c.Templates)
	}
	v.Check(c.TokenKey == nil || len(c.TokenKey) >= users.MinTokenKeyBytes, "token_key", "must be at least %d bytes", users.MinTokenKeyBytes)
	if p := c.CarbonOffsetPrice; p != nil {
		v.Check(p.Currency == c.Currency, "carbon_offset_price", "must be in the shop currency %s", c.Currency)
		v.Merge("carbon_offset_price", p.ValidatePrice())
	}
	v.Check(c.RefreshTTL == 0 || (c.RefreshTTL >= users.MinRefreshTTL && c.RefreshTTL <= users.MaxRefreshTTL),
		"refresh_ttl", "must be between %s and %s", users.MinRefreshTTL, users.MaxRefreshTTL)
	return v.ConfigErr()
}

// Option configures [New].
type Option func(*Config)

// WithServices builds only the services in s (default [AllServices]), and
// only the dependencies they need; the other service fields of the [Shop]
// stay nil.
func WithServices(s Services) Option { return func(c *Config) { c.Services = s } }

// WithDatabase uses db instead of a new in-memory database (for example
// the PostgreSQL adapter). The shop does not close it. Unless
// [WithJobRunner] is given too, the shop runs no jobs: see the package
// documentation.
func WithDatabase(db ports.Database) Option {
	return func(c *Config) { c.Database = db; c.given("database", db) }
}

// WithJobRunner makes the shop start r with the orders service as handler
// and stop it in [Shop.Close]. r must consume the jobs the database commits:
// a *memory.JobRunner works with the default in-memory database (the shop
// connects them); any other runner needs [WithDatabase] with the database
// it consumes.
func WithJobRunner(r ports.JobRunner) Option {
	return func(c *Config) { c.JobRunner = r; c.given("job_runner", r) }
}

// WithCache uses cache for the product cache (for example the Redis
// adapter) instead of a new in-memory cache. The shop adds no key prefix:
// the cache's own (the Redis adapter's Config.Prefix) is the only one. The
// shop does not close it.
func WithCache(cache Cache) Option {
	return func(c *Config) { c.Cache, c.NoCache = cache, false; c.given("cache", cache) }
}

// WithoutCache turns the product cache off: every read goes to the database.
func WithoutCache() Option { return func(c *Config) { c.Cache, c.NoCache = nil, true } }

// WithCacheTTL sets the lifetime of product cache entries (default 15
// minutes; invalidation on every write makes them exact long before).
func WithCacheTTL(d time.Duration) Option { return func(c *Config) { c.CacheTTL = d } }

// WithClock sets the clock (for example memory.ManualClock in tests). It
// also stamps and checks the access tokens of the default development key;
// tokens given with [WithTokens] follow their own clock.
func WithClock(clock ports.Clock) Option {
	return func(c *Config) { c.Clock = clock; c.given("clock", clock) }
}

// WithIDs sets the ID generator (for example memory.SequentialIDs in tests).
func WithIDs(ids ports.IDGenerator) Option {
	return func(c *Config) { c.IDs = ids; c.given("ids", ids) }
}

// WithLogger sets the logger of every service and adapter the shop creates
// (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithCurrency sets the default currency of prices and the currency orders
// are totalled in (default EUR).
func WithCurrency(cur ecolaura.Currency) Option { return func(c *Config) { c.Currency = cur } }

// WithDemoCatalog loads the embedded demo catalog (package demo) when the
// catalog is empty.
func WithDemoCatalog() Option { return func(c *Config) { c.DemoCatalog = true } }

// WithHasher sets the password hasher (default Argon2id with OWASP's
// parameters).
func WithHasher(h ports.PasswordHasher) Option {
	return func(c *Config) { c.Hasher = h; c.given("hasher", h) }
}

// WithTokens sets the access-token issuer and verifier (both required)
// instead of a generated development key: build them with the jwt adapter
// (jwt.LoadSigningKeyFile, jwt.NewKeySet, jwt.NewIssuer, jwt.NewVerifier)
// or bring your own.
func WithTokens(issuer ports.TokenIssuer, verifier TokenVerifier) Option {
	return func(c *Config) {
		c.TokenIssuer, c.TokenVerifier = issuer, verifier
		if ecolaura.IsNil(issuer) || ecolaura.IsNil(verifier) {
			c.nilOptions.Add("tokens", "need both an issuer and a verifier (a nil one was given)")
		}
	}
}

// WithMailer sets the mailer of every email (default: a [mail.LogMailer] on
// the shop's logger). Use a [mail.Recorder] to see the messages in tests
// and demos, a [mail.SMTPMailer] to deliver them.
func WithMailer(m ports.Mailer) Option {
	return func(c *Config) { c.Mailer = m; c.given("mailer", m) }
}

// WithTemplates sets the email templates (default [mail.DefaultTemplates];
// [mail.LoadTemplates] overrides them from a directory). Every message
// kind is rendered once when the shop starts: a broken template fails New.
func WithTemplates(t ports.MessageTemplates) Option {
	return func(c *Config) { c.Templates = t; c.given("templates", t) }
}

// WithShopInfo sets the shop's name, public URL (links in emails start
// with it) and support address, shown by every email.
func WithShopInfo(info notify.Shop) Option { return func(c *Config) { c.ShopInfo = info } }

// WithMessageDomain sets the domain of the emails' Message-IDs (default:
// the host of the shop's URL).
func WithMessageDomain(domain string) Option { return func(c *Config) { c.MessageDomain = domain } }

// WithTokenKey sets the key the mailed one-time tokens are derived with
// (at least 32 bytes; see users.AccountMailer). Every process that runs
// the jobs of one database needs the same key.
func WithTokenKey(key []byte) Option {
	return func(c *Config) { c.TokenKey = append([]byte(nil), key...) }
}

// WithVerifiedEmailRequired makes checkout refuse accounts whose email is
// not verified (an *ecolaura.RequirementError).
func WithVerifiedEmailRequired(required bool) Option {
	return func(c *Config) { c.RequireVerifiedEmail = required }
}

// WithCarbonOffsetPrice sets the price of compensating one kg CO2e, in the
// shop currency (default [orders.DefaultCarbonOffsetPrice]).
func WithCarbonOffsetPrice(perKg ecolaura.Money) Option {
	return func(c *Config) { c.CarbonOffsetPrice = &perKg }
}

// WithTaxMode says whether the shop's prices include tax (default
// ecolaura.TaxInclusive).
func WithTaxMode(m ecolaura.TaxMode) Option { return func(c *Config) { c.TaxMode = m } }

// WithMedia gives the catalog a media store for product images (for
// example media.Open(dir)): uploads store their files there, and
// s.JobHandler runs the catalog's media cleanup (catalog.JobCleanMedia;
// schedule it with catalog.MediaCleanupJob on the job runner).
func WithMedia(m ports.MediaStore) Option {
	return func(c *Config) { c.Media = m; c.given("media", m) }
}

// WithPaymentProvider sets the provider that takes the orders' payments
// (default payments.None: orders are confirmed without a payment). The
// reference server passes the one ECOLAURA_PAYMENT_PROVIDER names.
func WithPaymentProvider(p ports.PaymentProvider) Option {
	return func(c *Config) { c.PaymentProvider = p; c.given("payment_provider", p) }
}

// WithRefreshTTL sets the absolute lifetime of a refresh-token family
// (default [users.DefaultRefreshTTL]).
func WithRefreshTTL(d time.Duration) Option { return func(c *Config) { c.RefreshTTL = d } }

// Shop is a wired set of services. Its fields are ready to use and safe for
// concurrent use; call Close when done.
type Shop struct {
	// Catalog manages and lists products (nil without CatalogService).
	Catalog *catalog.Service
	// Sustainability explains scores and finds greener alternatives (nil
	// without SustainabilityService).
	Sustainability *sustainability.Service
	// Users registers accounts and signs them in (nil without UsersService).
	Users *users.Service
	// Orders checks out, lists and moves orders; it is also the handler of
	// the order jobs (a [ports.JobHandler]). Nil without OrdersService.
	Orders *orders.Service
	// Audit reads the audit trail of staff writes (staff only).
	Audit *audit.Service
	// Shipping manages shipping methods and tax rates (staff) and quotes
	// baskets (always built).
	Shipping *shipping.Service
	// Passports publishes and reads the products' Digital Product
	// Passports (nil without CatalogService).
	Passports *passport.Service
	// Inventory sets and adjusts stock per variant and location, lists the
	// movements and the stock locations (staff; nil without CatalogService).
	Inventory *inventory.Service
	// AccountMail runs the account email jobs (nil without
	// AccountMailService).
	AccountMail *users.AccountMailer
	// Notifier renders and sends the emails and counts them (nil without
	// OrdersService and AccountMailService).
	Notifier *notify.Notifier
	// JobHandler runs every job kind of the shop's services: the handler
	// of a job runner over the shop's database (nil when the shop builds
	// no service with jobs).
	JobHandler ports.JobHandler

	// Tokens verifies the access tokens Users issues: an embedding program
	// authenticates a bearer token with s.Tokens.Verify. Nil without
	// UsersService.
	Tokens TokenVerifier
	// Issuer signs the access tokens (nil without UsersService).
	Issuer ports.TokenIssuer
	// Jobs is the runner the shop started and stops in Close (a
	// *memory.JobRunner by default); nil when the shop runs no jobs.
	Jobs ports.JobRunner

	// Database is what the services use: the product-cached database, or
	// the plain one when caching is off.
	Database ports.Database
	// pc is the product cache (nil when caching is off): see CacheStats
	// and CacheSignals.
	pc     *productcache.Database
	Clock  ports.Clock
	IDs    ports.IDGenerator
	Logger *slog.Logger

	// jwks publishes the verification keys of the development key; nil
	// when the tokens were given.
	jwks func() ([]byte, error)

	closeOnce sync.Once
	closers   []func(context.Context) error
	closeErr  error
}

// New builds a shop. Without options it runs fully in memory (see the
// package documentation) and has started its job runner. Errors:
// *ecolaura.ConfigError for an invalid configuration; the errors of
// generating a development key, loading the demo catalog and starting the
// job runner.
func New(ctx context.Context, opts ...Option) (*Shop, error) {
	cfg := Config{Services: AllServices, Currency: ecolaura.DefaultCurrency}
	for _, o := range opts {
		o(&cfg)
	}
	// Before the defaults: a nil given to an option must not silently
	// become the default (an in-memory database in place of PostgreSQL).
	if err := cfg.nilOptions.ConfigErr(); err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	jwks, err := applyDefaults(&cfg)
	if err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	s := &Shop{Database: cfg.Database, Clock: cfg.Clock, IDs: cfg.IDs, Logger: cfg.Logger, jwks: jwks}
	if !cfg.NoCache {
		opts := []productcache.Option{productcache.WithLogger(cfg.Logger)}
		if cfg.CacheTTL != 0 {
			opts = append(opts, productcache.WithTTL(cfg.CacheTTL))
		}
		pc, err := productcache.Wrap(cfg.Database, cfg.Cache, opts...)
		if err != nil {
			return nil, fmt.Errorf("shop: %w", err)
		}
		s.pc, s.Database = pc, pc
		s.closers = append(s.closers, pc.Close) // runs last: after the job runner stopped writing
	}
	if err := s.wire(cfg); err != nil {
		return nil, errors.Join(fmt.Errorf("shop: %w", err), s.Close(ctx))
	}
	if cfg.DemoCatalog {
		n, err := demo.Load(ctx, s.Catalog, ecolaura.System())
		if err != nil {
			return nil, errors.Join(fmt.Errorf("shop: %w", err), s.Close(ctx))
		}
		if n > 0 {
			cfg.Logger.InfoContext(ctx, "demo catalog loaded", "products", n)
		}
	}
	if cfg.JobRunner == nil {
		if s.JobHandler != nil {
			cfg.Logger.InfoContext(ctx, "shop runs no job runner: run one over the database's queue with JobHandler as the handler")
		}
		return s, nil
	}
	// The workers outlive New's context; Close stops them.
	if err := cfg.JobRunner.Start(context.WithoutCancel(ctx), s.JobHandler); err != nil {
		return nil, errors.Join(fmt.Errorf("shop: start job runner: %w", err), s.Close(ctx))
	}
	s.Jobs = cfg.JobRunner
	s.closers = append(s.closers, cfg.JobRunner.Stop)
	return s, nil
}

// applyDefaults fills the unset fields of cfg that the chosen services
// need, and returns the JWKS source of a generated development key. It
// fails on a runner the default database cannot feed and when a
// development key cannot be made.
func applyDefaults(cfg *Config) (jwks func() ([]byte, error), err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = system.Clock{}
	}
	if cfg.IDs == nil {
		cfg.IDs = system.UUIDv7{}
	}
	wantMail, wantUsers := cfg.Services&mailServices != 0, cfg.Services&UsersService != 0
	if cfg.Database == nil {
		var dbOpts []memory.Option
		if wantMail {
			runner := memory.NewJobRunner(memory.WithRunnerLogger(cfg.Logger))
			if cfg.JobRunner != nil {
				r, ok := cfg.JobRunner.(*memory.JobRunner)
				if !ok {
					return nil, ecolaura.Misconfigured("job_runner", "a %T needs the database whose jobs it runs (shop.WithDatabase); the in-memory database feeds only a *memory.JobRunner", cfg.JobRunner)
				}
				runner = r
			}
			dbOpts = append(dbOpts, memory.WithJobRunner(runner))
			cfg.JobRunner = runner
		}
		cfg.Database = memory.NewDatabase(append(dbOpts, memory.WithLogger(cfg.Logger))...)
	}
	if cfg.Cache == nil && !cfg.NoCache {
		cfg.Cache = memory.NewCache()
	}
	if wantUsers && cfg.Hasher == nil {
		h, err := argon2id.New(argon2id.DefaultParams())
		if err != nil {
			return nil, err
		}
		cfg.Hasher = h
	}
	if wantMail && cfg.Mailer == nil {
		cfg.Mailer = mail.NewLogMailer(cfg.Logger)
	}
	if wantMail && cfg.Templates == nil {
		t, err := mail.DefaultTemplates()
		if err != nil {
			return nil, err
		}
		cfg.Templates = t
	}
	if cfg.ShopInfo == (notify.Shop{}) {
		cfg.ShopInfo = notify.Shop{Name: "Ecolaura", URL: "http://localhost:8080"}
	}
	if wantUsers && cfg.TokenIssuer == nil && cfg.TokenVerifier == nil {
		key, err := jwt.GenerateDevelopmentKey(cfg.Logger)
		if err != nil {
			return nil, err
		}
		keys, err := jwt.NewKeySet(key)
		if err != nil {
			return nil, err
		}
		if cfg.TokenIssuer, err = jwt.NewIssuer(jwt.DefaultConfig(), keys, jwt.WithClock(cfg.Clock)); err != nil {
			return nil, err
		}
		v, err := jwt.NewVerifier(jwt.DefaultConfig(), keys, jwt.WithClock(cfg.Clock))
		if err != nil {
			return nil, err
		}
		if cfg.TokenVerifier, err = jwt.NewCachedVerifier(v, jwt.DefaultCachedTokens); err != nil {
			return nil, err
		}
		return keys.JWKS, nil
	}
	return nil, nil
}

// wire builds the chosen services over s.Database.
func (s *Shop) wire(cfg Config) error {
	var err error
	if s.Audit, err = audit.New(s.Database.Audit()); err != nil {
		return err
	}
	sopts := []shipping.Option{shipping.WithLogger(cfg.Logger)}
	if cfg.TaxMode != "" {
		sopts = append(sopts, shipping.WithTaxMode(cfg.TaxMode))
	}
	if cfg.CarbonOffsetPrice != nil {
		sopts = append(sopts, shipping.WithCarbonOffsetPrice(*cfg.CarbonOffsetPrice))
	}
	if s.Shipping, err = shipping.New(s.Database, cfg.Clock, cfg.IDs, sopts...); err != nil {
		return err
	}
	if cfg.Services&CatalogService != 0 {
		copts := []catalog.Option{catalog.WithLogger(cfg.Logger), catalog.WithDefaultCurrency(cfg.Currency)}
		if cfg.Media != nil {
			copts = append(copts, catalog.WithMedia(cfg.Media))
		}
		s.Catalog, err = catalog.New(s.Database, cfg.Clock, cfg.IDs, copts...)
		if err != nil {
			return err
		}
		if s.Passports, err = passport.New(s.Database, cfg.Clock, cfg.IDs); err != nil {
			return err
		}
		if s.Inventory, err = inventory.New(s.Database, cfg.Clock, cfg.IDs, inventory.WithLogger(cfg.Logger)); err != nil {
			return err
		}
	}
	if cfg.Services&SustainabilityService != 0 {
		if s.Sustainability, err = sustainability.New(s.Database.Products()); err != nil {
			return err
		}
	}
	if cfg.Services&UsersService != 0 {
		s.Issuer, s.Tokens = cfg.TokenIssuer, cfg.TokenVerifier
		uopts := []users.Option{users.WithLogger(cfg.Logger)}
		if cfg.RefreshTTL != 0 {
			uopts = append(uopts, users.WithRefreshTTL(cfg.RefreshTTL))
		}
		if s.Users, err = users.New(s.Database, cfg.Hasher, s.Issuer, cfg.Clock, cfg.IDs, uopts...); err != nil {
			return err
		}
	}
	if cfg.Services&mailServices != 0 {
		if s.Notifier, err = notify.New(cfg.Templates, cfg.Mailer, notify.Config{Shop: cfg.ShopInfo, Domain: cfg.MessageDomain, Logger: cfg.Logger}); err != nil {
			return err
		}
	}
	mux := jobMux{}
	if s.Catalog != nil && cfg.Media != nil {
		mux.add(s.Catalog.JobKinds(), s.Catalog)
	}
	if cfg.Services&OrdersService != 0 {
		oopts := []orders.Option{orders.WithLogger(cfg.Logger), orders.WithNotifier(s.Notifier), orders.WithCurrency(cfg.Currency),
			orders.WithVerifiedEmailRequired(cfg.RequireVerifiedEmail), orders.WithShipping(s.Shipping)}
		if cfg.CarbonOffsetPrice != nil {
			oopts = append(oopts, orders.WithCarbonOffsetPrice(*cfg.CarbonOffsetPrice))
		}
		if cfg.PaymentProvider != nil {
			oopts = append(oopts, orders.WithPaymentProvider(cfg.PaymentProvider))
		}
		if s.Orders, err = orders.New(s.Database, cfg.Clock, cfg.IDs, oopts...); err != nil {
			return err
		}
		mux.add(s.Orders.JobKinds(), s.Orders)
	}
	if cfg.Services&AccountMailService != 0 {
		mopts := []users.MailerOption{users.WithMailerLogger(cfg.Logger)}
		if cfg.TokenKey != nil {
			mopts = append(mopts, users.WithTokenKey(cfg.TokenKey))
		}
		if s.AccountMail, err = users.NewAccountMailer(s.Database, s.Notifier, cfg.Clock, mopts...); err != nil {
			return err
		}
		mux.add(s.AccountMail.JobKinds(), s.AccountMail)
	}
	if len(mux) > 0 {
		s.JobHandler = mux
	}
	return nil
}

// jobMux hands each job to the handler of its kind.
type jobMux map[string]ports.JobHandler

func (m jobMux) add(kinds []string, h ports.JobHandler) {
	for _, k := range kinds {
		m[k] = h
	}
}

// HandleJob runs job with the handler of its kind. Errors: ErrInvalid for
// a kind no service of the shop handles (retried: during a rolling
// upgrade another process may know it); the handler's errors.
func (m jobMux) HandleJob(ctx context.Context, job ports.Job) error {
	h, ok := m[job.Kind]
	if !ok {
		return fmt.Errorf("shop: no service handles job kind %q: %w", job.Kind, ecolaura.ErrInvalid)
	}
	return h.HandleJob(ctx, job)
}

// CacheStats returns the product cache's counters so far, and false when
// caching is off.
func (s *Shop) CacheStats() (CacheStats, bool) {
	if s.pc == nil {
		return CacheStats{}, false
	}
	st := s.pc.Stats()
	return CacheStats{
		ProductHits: st.ProductHits, ProductMisses: st.ProductMisses, ListHits: st.ListHits, ListMisses: st.ListMisses,
		CategoryHits: st.CategoryHits, CategoryMisses: st.CategoryMisses, Errors: st.Errors,
		Invalidations: st.Invalidations, Evictions: st.Evictions,
	}, true
}

// CacheSignals returns the product cache's change signals, for caching
// what is rendered from the catalog (httpapi.Services.CacheSignals), or nil
// when caching is off.
func (s *Shop) CacheSignals() CacheSignals {
	if s.pc == nil {
		return nil
	}
	return s.pc
}

// JWKS returns the public keys access tokens are verified with, as a JSON
// Web Key Set (for /.well-known/jwks.json): those of the generated
// development key, or those of a verifier given with [WithTokens] that can
// publish them (the jwt adapter's Verifier can). Errors: ErrNotFound when
// the shop has no such keys (no UsersService, or a verifier that cannot
// publish its keys); the key set's encoding errors.
func (s *Shop) JWKS() ([]byte, error) {
	if s.jwks != nil {
		return s.jwks()
	}
	if p, ok := s.Tokens.(interface{ JWKS() ([]byte, error) }); ok {
		return p.JWKS()
	}
	return nil, fmt.Errorf("shop: JWKS: no key set to publish: %w", ecolaura.ErrNotFound)
}

// WaitIdle returns when the job runner has no job queued, running or
// waiting for a retry (so every order placed so far has been processed),
// or with ctx's error when ctx ends first. It is meant for tests, examples
// and demos. Errors: ErrUnavailable when the shop runs no job runner or
// its runner cannot report idleness (only the in-memory one can).
func (s *Shop) WaitIdle(ctx context.Context) error {
	w, ok := s.Jobs.(interface{ WaitIdle(context.Context) error })
	if !ok {
		return fmt.Errorf("shop: wait for idle jobs: the shop's job runner (%T) cannot report idleness: %w", s.Jobs, ecolaura.ErrUnavailable)
	}
	if err := w.WaitIdle(ctx); err != nil {
		return fmt.Errorf("shop: %w", err)
	}
	return nil
}

// Close stops what New started: it stops the job runner, waiting for the
// running jobs to finish (queued ones stay in their queue), or until ctx
// ends, and returns the errors joined (ctx's error when it ended first).
// It does not close a Database or Cache given with an option. Calling it
// again returns the first result.
func (s *Shop) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		for i := len(s.closers) - 1; i >= 0; i-- {
			errs = append(errs, s.closers[i](ctx))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
