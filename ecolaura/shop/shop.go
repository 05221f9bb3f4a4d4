// Package shop wires the whole Ecolaura SDK in one call: it builds every
// service over a chosen set of adapters, with in-memory adapters as the
// default, so an embedding program (or a test) gets a working shop with
//
//	s, err := shop.New(ctx, shop.WithDemoCatalog())
//
// and then uses s.Catalog and s.Sustainability. It is the composition root
// of the SDK: the only package under ecolaura/ that imports adapters
// (adapters/memory for the defaults and adapters/system for the wall clock
// and UUIDv7 IDs).
package shop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
	"github.com/ecolaura/ecolaura/ecolaura/productcache"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ports"
)

// Config is what [New] builds a shop from. Build it with [Option]s; every
// field has a default.
type Config struct {
	// Database defaults to a new in-memory database.
	Database ports.Database
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
	// Currency is the default currency of prices (default EUR).
	Currency ecolaura.Currency
	// DemoCatalog loads the embedded demo catalog into an empty catalog.
	DemoCatalog bool
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
	return v.Err()
}

// Option configures [New].
type Option func(*Config)

// WithDatabase uses db instead of a new in-memory database (for example
// the PostgreSQL adapter). The shop does not close it.
func WithDatabase(db ports.Database) Option { return func(c *Config) { c.Database = db } }

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

// WithClock sets the clock (for example memory.ManualClock in tests).
func WithClock(clock ports.Clock) Option { return func(c *Config) { c.Clock = clock } }

// WithIDs sets the ID generator (for example memory.SequentialIDs in tests).
func WithIDs(ids ports.IDGenerator) Option { return func(c *Config) { c.IDs = ids } }

// WithLogger sets the logger of every service and adapter the shop creates.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithCurrency sets the default currency of prices (default EUR).
func WithCurrency(cur ecolaura.Currency) Option { return func(c *Config) { c.Currency = cur } }

// WithDemoCatalog loads the embedded demo catalog (package demo) when the
// catalog is empty.
func WithDemoCatalog() Option { return func(c *Config) { c.DemoCatalog = true } }

// Shop is a wired set of services. Its fields are ready to use and safe for
// concurrent use; call Close when done.
type Shop struct {
	// Catalog manages and lists products.
	Catalog *catalog.Service
	// Sustainability explains scores and finds greener alternatives.
	Sustainability *sustainability.Service

	// Extension point: the users and orders services are added here as
	// fields built in New from the same Database, Clock, IDs and Logger.

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

// New builds a shop. Without options it runs fully in memory with the wall
// clock and UUIDv7 IDs. Errors: *ecolaura.ValidationError for an invalid
// configuration; the errors of loading the demo catalog.
func New(ctx context.Context, opts ...Option) (*Shop, error) {
	cfg := Config{Currency: ecolaura.DefaultCurrency}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = system.Clock{}
	}
	if cfg.IDs == nil {
		cfg.IDs = system.UUIDv7{}
	}
	if cfg.Database == nil {
		cfg.Database = memory.NewDatabase(memory.WithLogger(cfg.Logger))
	}
	if cfg.Cache == nil && !cfg.NoCache {
		cfg.Cache = memory.NewCache()
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
	}
	var err error
	s.Catalog, err = catalog.New(s.Database,
		catalog.WithClock(cfg.Clock), catalog.WithIDs(cfg.IDs),
		catalog.WithLogger(cfg.Logger), catalog.WithDefaultCurrency(cfg.Currency))
	if err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	s.Sustainability, err = sustainability.New(s.Database.Products())
	if err != nil {
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
	return s, nil
}

// Close stops what New started (nothing yet for the catalog and
// sustainability services; background workers once orders are wired) and
// returns their errors joined. It does not close a Database or Cache given
// with an option. Calling it again returns the first result.
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
