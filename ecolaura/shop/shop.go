// Package shop wires the whole Ecolaura SDK in one call: it builds every
// service over a chosen set of adapters, with in-process adapters as the
// default, so an embedding program (or a test) gets a working shop with
//
//	s, err := shop.New(ctx, shop.WithDemoCatalog())
//
// and then uses s.Catalog, s.Sustainability, s.Users and s.Orders.
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
// logs ([mail.LogMailer]); the wall clock and UUIDv7 IDs.
//
// # Bringing your own adapters
//
// [WithDatabase] replaces the storage (for example PostgreSQL). The shop
// then cannot know which queue that database's committed jobs go to, so it
// starts no job runner unless [WithJobRunner] names the runner that
// consumes them (for example a River runner over the same database): without
// one, the jobs wait in the database's queue for a worker the embedding
// program runs with s.Orders as its [ports.JobHandler] (an in-memory
// database without a runner drops them). [WithTokens], [WithKeySet],
// [WithHasher] and [WithMailer] replace the other defaults.
//
// It is the composition root of the SDK: the only package under ecolaura/
// that imports adapters (memory, system, argon2id, jwt and mail; never the
// PostgreSQL, Redis or HTTP adapters, which the reference server wires).
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
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
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

// Config is what [New] builds a shop from. Build it with [Option]s; every
// field has a default.
type Config struct {
	// Database defaults to a new in-memory database feeding a new in-memory
	// job runner.
	Database ports.Database
	// JobRunner runs the jobs the Database commits, with the orders service
	// as handler. It defaults to a new [memory.JobRunner] when Database is
	// the default one, and to none when Database was given (see the package
	// documentation).
	JobRunner ports.JobRunner
	// Cache defaults to a new in-memory cache; see NoCache.
	Cache ports.Cache
	// NoCache turns the product cache off.
	NoCache bool
	// CacheOptions configure the product cache (prefix, TTL).
	CacheOptions []productcache.Option
	// Clock defaults to the wall clock (UTC, microseconds).
	Clock ports.Clock
	// IDs defaults to UUIDv7.
	IDs ports.IDGenerator
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Currency is the default currency of prices and the currency orders
	// are totalled in (default EUR).
	Currency ecolaura.Currency
	// DemoCatalog loads the embedded demo catalog into an empty catalog.
	DemoCatalog bool
	// Hasher hashes passwords; defaults to Argon2id with
	// [argon2id.DefaultParams].
	Hasher ports.PasswordHasher
	// TokenIssuer and TokenVerifier sign and check access tokens; give both
	// or neither. When neither is given the shop builds them from Keys and JWT.
	TokenIssuer   ports.TokenIssuer
	TokenVerifier TokenVerifier
	// Keys sign and verify access tokens when no TokenIssuer is given;
	// defaults to a generated Ed25519 development key (with a logged warning).
	Keys *jwt.KeySet
	// JWT configures the built issuer and verifier (default
	// [jwt.DefaultConfig]).
	JWT jwt.Config
	// Mailer sends the order confirmation emails; defaults to a
	// [mail.LogMailer] on Logger.
	Mailer ports.Mailer
	// CarbonOffsetPrice is the price of one kg CO2e, in Currency; nil means
	// [orders.DefaultCarbonOffsetPrice].
	CarbonOffsetPrice *ecolaura.Money
	// RefreshTTL is the lifetime of a refresh-token family; 0 means
	// [users.DefaultRefreshTTL].
	RefreshTTL time.Duration
}

// Validate checks the configuration after defaults were applied and returns
// a *ecolaura.ValidationError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.Database != nil, "database", "is required")
	v.Check(c.NoCache || c.Cache != nil, "cache", "is required unless caching is off")
	v.Check(c.Clock != nil, "clock", "is required")
	v.Check(c.IDs != nil, "ids", "is required")
	v.Check(c.Currency.Valid(), "currency", "unsupported currency %q", string(c.Currency))
	v.Check(c.Hasher != nil, "hasher", "is required")
	v.Check(c.Mailer != nil, "mailer", "is required")
	v.Check((c.TokenIssuer == nil) == (c.TokenVerifier == nil), "tokens", "need both an issuer and a verifier")
	v.Check(c.TokenIssuer != nil || c.Keys != nil, "keys", "are required unless a token issuer and verifier are given")
	v.Check(c.TokenIssuer == nil || c.Keys == nil, "keys", "conflict with the token issuer and verifier: give one or the other")
	if c.TokenIssuer == nil {
		v.Merge("jwt", c.JWT.Validate())
	}
	if p := c.CarbonOffsetPrice; p != nil {
		v.Check(p.Currency == c.Currency, "carbon_offset_price", "must be in the shop currency %s", c.Currency)
		v.Merge("carbon_offset_price", p.ValidatePrice())
	}
	v.Check(c.RefreshTTL == 0 || (c.RefreshTTL >= users.MinRefreshTTL && c.RefreshTTL <= users.MaxRefreshTTL),
		"refresh_ttl", "must be between %s and %s", users.MinRefreshTTL, users.MaxRefreshTTL)
	return v.Err()
}

// Option configures [New].
type Option func(*Config)

// WithDatabase uses db instead of a new in-memory database (for example
// the PostgreSQL adapter). The shop does not close it. Unless
// [WithJobRunner] is given too, the shop runs no jobs: see the package
// documentation.
func WithDatabase(db ports.Database) Option { return func(c *Config) { c.Database = db } }

// WithJobRunner makes the shop start r with the orders service as handler
// and stop it in [Shop.Close]. r must consume the jobs the database commits:
// a *memory.JobRunner works with the default in-memory database (the shop
// connects them); any other runner needs [WithDatabase] with the database
// it consumes.
func WithJobRunner(r ports.JobRunner) Option { return func(c *Config) { c.JobRunner = r } }

// WithCache uses cache for the product cache (for example the Redis
// adapter) instead of a new in-memory cache. The shop does not close it.
func WithCache(cache ports.Cache) Option {
	return func(c *Config) { c.Cache, c.NoCache = cache, false }
}

// WithoutCache turns the product cache off: every read goes to the database.
func WithoutCache() Option { return func(c *Config) { c.Cache, c.NoCache = nil, true } }

// WithCacheOptions configures the product cache (key prefix, TTL).
func WithCacheOptions(opts ...productcache.Option) Option {
	return func(c *Config) { c.CacheOptions = append(c.CacheOptions, opts...) }
}

// WithClock sets the clock (for example memory.ManualClock in tests). It
// also stamps and checks access tokens built from a key set.
func WithClock(clock ports.Clock) Option { return func(c *Config) { c.Clock = clock } }

// WithIDs sets the ID generator (for example memory.SequentialIDs in tests).
func WithIDs(ids ports.IDGenerator) Option { return func(c *Config) { c.IDs = ids } }

// WithLogger sets the logger of every service and adapter the shop creates.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithCurrency sets the default currency of prices and the currency orders
// are totalled in (default EUR).
func WithCurrency(cur ecolaura.Currency) Option { return func(c *Config) { c.Currency = cur } }

// WithDemoCatalog loads the embedded demo catalog (package demo) when the
// catalog is empty.
func WithDemoCatalog() Option { return func(c *Config) { c.DemoCatalog = true } }

// WithHasher sets the password hasher (default Argon2id with OWASP's
// parameters).
func WithHasher(h ports.PasswordHasher) Option { return func(c *Config) { c.Hasher = h } }

// WithTokens sets the access-token issuer and verifier (both required),
// instead of building them from a key set.
func WithTokens(issuer ports.TokenIssuer, verifier TokenVerifier) Option {
	return func(c *Config) { c.TokenIssuer, c.TokenVerifier = issuer, verifier }
}

// WithKeySet signs and verifies access tokens with keys (for example a key
// loaded with jwt.LoadSigningKeyFile) instead of a generated development key.
func WithKeySet(keys *jwt.KeySet) Option { return func(c *Config) { c.Keys = keys } }

// WithJWTConfig configures the access tokens built from the key set (issuer,
// audience, lifetime); the default is [jwt.DefaultConfig].
func WithJWTConfig(cfg jwt.Config) Option { return func(c *Config) { c.JWT = cfg } }

// WithMailer sets the mailer of the order confirmation emails (default: a
// [mail.LogMailer] on the shop's logger). Use a [mail.Recorder] to see the
// messages in tests and demos.
func WithMailer(m ports.Mailer) Option { return func(c *Config) { c.Mailer = m } }

// WithCarbonOffsetPrice sets the price of compensating one kg CO2e, in the
// shop currency (default [orders.DefaultCarbonOffsetPrice]).
func WithCarbonOffsetPrice(perKg ecolaura.Money) Option {
	return func(c *Config) { c.CarbonOffsetPrice = &perKg }
}

// WithRefreshTTL sets the absolute lifetime of a refresh-token family
// (default [users.DefaultRefreshTTL]).
func WithRefreshTTL(d time.Duration) Option { return func(c *Config) { c.RefreshTTL = d } }

// Shop is a wired set of services. Its fields are ready to use and safe for
// concurrent use; call Close when done.
type Shop struct {
	// Catalog manages and lists products.
	Catalog *catalog.Service
	// Sustainability explains scores and finds greener alternatives.
	Sustainability *sustainability.Service
	// Users registers accounts and signs them in.
	Users *users.Service
	// Orders checks out, lists and moves orders; it is also the handler of
	// the order jobs (a [ports.JobHandler]).
	Orders *orders.Service

	// Tokens verifies the access tokens Users issues: an embedding program
	// authenticates a bearer token with s.Tokens.Verify.
	Tokens TokenVerifier
	// Issuer signs the access tokens.
	Issuer ports.TokenIssuer
	// Keys is the key set tokens are signed and verified with; nil when the
	// issuer and verifier were given with [WithTokens].
	Keys *jwt.KeySet
	// Jobs is the runner the shop started and stops in Close (a
	// *memory.JobRunner by default); nil when the shop runs no jobs.
	Jobs ports.JobRunner

	// Database is what the services use: the product-cached database, or
	// the plain one when caching is off.
	Database ports.Database
	// ProductCache is the cache layer (nil when caching is off); its
	// Generation, Stamp and Stats serve HTTP caching and metrics.
	ProductCache *productcache.Database
	Clock        ports.Clock
	IDs          ports.IDGenerator
	Logger       *slog.Logger

	closeOnce sync.Once
	closers   []func(context.Context) error
	closeErr  error
}

// New builds a shop. Without options it runs fully in memory (see the
// package documentation) and has started its job runner. Errors:
// *ecolaura.ValidationError (ErrInvalid) for an invalid configuration; the
// errors of generating a development key, loading the demo catalog and
// starting the job runner.
func New(ctx context.Context, opts ...Option) (*Shop, error) {
	cfg := Config{Currency: ecolaura.DefaultCurrency, JWT: jwt.DefaultConfig()}
	for _, o := range opts {
		o(&cfg)
	}
	if err := applyDefaults(&cfg); err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	s := &Shop{Database: cfg.Database, Clock: cfg.Clock, IDs: cfg.IDs, Logger: cfg.Logger}
	if !cfg.NoCache {
		opts := append([]productcache.Option{productcache.WithLogger(cfg.Logger)}, cfg.CacheOptions...)
		pc, err := productcache.Wrap(cfg.Database, cfg.Cache, opts...)
		if err != nil {
			return nil, fmt.Errorf("shop: %w", err)
		}
		s.ProductCache, s.Database = pc, pc
		s.closers = append(s.closers, pc.Close) // runs last: after the job runner stopped writing
	}
	if err := s.wire(cfg); err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	if cfg.DemoCatalog {
		n, err := demo.Load(ctx, s.Catalog, ecolaura.System)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("shop: %w", err), s.Close(ctx))
		}
		if n > 0 {
			cfg.Logger.InfoContext(ctx, "demo catalog loaded", "products", n)
		}
	}
	if cfg.JobRunner == nil {
		cfg.Logger.InfoContext(ctx, "shop runs no job runner: run one over the database's queue with Orders as the handler")
		return s, nil
	}
	// The workers outlive New's context; Close stops them.
	if err := cfg.JobRunner.Start(context.WithoutCancel(ctx), s.Orders); err != nil {
		return nil, fmt.Errorf("shop: start job runner: %w", err)
	}
	s.Jobs = cfg.JobRunner
	s.closers = append(s.closers, cfg.JobRunner.Stop)
	return s, nil
}

// applyDefaults fills the unset fields of cfg. It fails on a runner the
// default database cannot feed and when a development key cannot be made.
func applyDefaults(cfg *Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = system.Clock{}
	}
	if cfg.IDs == nil {
		cfg.IDs = system.UUIDv7{}
	}
	if cfg.Database == nil {
		runner := memory.NewJobRunner(memory.WithRunnerLogger(cfg.Logger))
		if cfg.JobRunner != nil {
			r, ok := cfg.JobRunner.(*memory.JobRunner)
			if !ok {
				return ecolaura.Invalid("job_runner", "a %T needs the database whose jobs it runs (shop.WithDatabase); the in-memory database feeds only a *memory.JobRunner", cfg.JobRunner)
			}
			runner = r
		}
		cfg.Database = memory.NewDatabase(memory.WithJobRunner(runner), memory.WithLogger(cfg.Logger))
		cfg.JobRunner = runner
	}
	if cfg.Cache == nil && !cfg.NoCache {
		cfg.Cache = memory.NewCache()
	}
	if cfg.Hasher == nil {
		h, err := argon2id.New(argon2id.DefaultParams())
		if err != nil {
			return err
		}
		cfg.Hasher = h
	}
	if cfg.Mailer == nil {
		cfg.Mailer = mail.NewLogMailer(cfg.Logger)
	}
	if cfg.TokenIssuer == nil && cfg.TokenVerifier == nil && cfg.Keys == nil {
		key, err := jwt.GenerateDevelopmentKey(cfg.Logger)
		if err != nil {
			return err
		}
		keys, err := jwt.NewKeySet(key)
		if err != nil {
			return err
		}
		cfg.Keys = keys
	}
	return nil
}

// wire builds the services over s.Database.
func (s *Shop) wire(cfg Config) error {
	var err error
	s.Catalog, err = catalog.New(s.Database,
		catalog.WithClock(cfg.Clock), catalog.WithIDs(cfg.IDs),
		catalog.WithLogger(cfg.Logger), catalog.WithDefaultCurrency(cfg.Currency))
	if err != nil {
		return err
	}
	s.Sustainability, err = sustainability.New(s.Database.Products())
	if err != nil {
		return err
	}
	s.Issuer, s.Tokens, s.Keys = cfg.TokenIssuer, cfg.TokenVerifier, cfg.Keys
	if s.Issuer == nil {
		if s.Issuer, err = jwt.NewIssuer(cfg.JWT, cfg.Keys, jwt.WithClock(cfg.Clock)); err != nil {
			return err
		}
		if s.Tokens, err = jwt.NewVerifier(cfg.JWT, cfg.Keys, jwt.WithClock(cfg.Clock)); err != nil {
			return err
		}
	}
	uopts := []users.Option{users.WithClock(cfg.Clock), users.WithIDs(cfg.IDs), users.WithLogger(cfg.Logger)}
	if cfg.RefreshTTL != 0 {
		uopts = append(uopts, users.WithRefreshTTL(cfg.RefreshTTL))
	}
	if s.Users, err = users.New(s.Database, cfg.Hasher, s.Issuer, uopts...); err != nil {
		return err
	}
	oopts := []orders.Option{orders.WithClock(cfg.Clock), orders.WithIDs(cfg.IDs), orders.WithLogger(cfg.Logger),
		orders.WithMailer(cfg.Mailer), orders.WithCurrency(cfg.Currency)}
	if cfg.CarbonOffsetPrice != nil {
		oopts = append(oopts, orders.WithCarbonOffsetPrice(*cfg.CarbonOffsetPrice))
	}
	s.Orders, err = orders.New(s.Database, oopts...)
	return err
}

// JWKS returns the public keys access tokens are verified with, as a JSON
// Web Key Set (for /.well-known/jwks.json). Errors: ErrNotFound when the
// tokens were given with [WithTokens] (the shop has no key set); the key
// set's encoding errors.
func (s *Shop) JWKS() ([]byte, error) {
	if s.Keys == nil {
		return nil, fmt.Errorf("shop: JWKS: no key set (tokens given with WithTokens): %w", ecolaura.ErrNotFound)
	}
	return s.Keys.JWKS()
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
