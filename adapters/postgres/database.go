// Package postgres is Ecolaura's production storage adapter: every store
// port and the unit of work on PostgreSQL, and a job queue on River
// (github.com/riverqueue/river) whose inserts commit with the transaction.
// One driver, one pool: github.com/jackc/pgx/v5 with a pgxpool shared by
// github.com/uptrace/bun (pgdialect over pgx's database/sql driver), River
// (riverpgxv5) and COPY.
//
// Open connects; Migrate applies the embedded schema (package migrations)
// and River's own migrations under an advisory lock; a JobRunner works the
// queued jobs. Integrity lives in the database as much as in Go: CHECK
// constraints, unique indexes (case-insensitive email, per-user
// idempotency keys), conditional updates for stock and order status, and
// keyset pagination over one index per catalog sort.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// DefaultMaxConns is the pool size when Config.MaxConns is zero.
const DefaultMaxConns = 20

// Config configures the connection pool. Only URL is required.
type Config struct {
	// URL is a postgres:// connection URL. pgx's parameters apply, among
	// them default_query_exec_mode (see Open) and application_name (default
	// "ecolaura"); pgxpool's pool_* parameters do not: MaxConns and the
	// other fields below size the pool.
	URL string
	// MaxConns bounds the connections of the process's one pool (default
	// DefaultMaxConns, at least 2): Bun's statements, transactions, River's
	// job inserts and, when a JobRunner runs, its fetches, completions and
	// maintenance all share it. A running JobRunner also holds one more
	// connection, out of the pool, for LISTEN (see NewJobRunner), so a
	// process opens at most MaxConns + 1.
	MaxConns int
	// ConnMaxLifetime recycles connections (default 30 minutes).
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes connections idle that long (default 5 minutes).
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds dialing a new connection (default 5 seconds, or
	// the URL's connect_timeout when shorter), so requests fail fast with
	// ecolaura.ErrUnavailable during an outage.
	ConnectTimeout time.Duration
	// TxAttempts is how many times Do runs a transaction that fails with a
	// serialization failure or deadlock (default 5).
	TxAttempts int
	// JobMaxAttempts is River's attempt limit for enqueued jobs (default 10).
	JobMaxAttempts int
	// ReadTimeout is the statement timeout (PostgreSQL's statement_timeout)
	// of the reads outside transactions that anonymous requests can shape:
	// product lists, searches, counts, categories and statistics, product
	// lookups and order lists (default 2 seconds; negative: none). Their
	// pool connection has it as its session's statement_timeout while they
	// run (behind a transaction pooler, SET LOCAL in a read-only
	// transaction of their own, see Open), so the server stops such a
	// query when it runs too long even if the client is gone; the caller
	// gets ErrUnavailable.
	ReadTimeout time.Duration
	// MaxReadConns bounds how many of those reads run at once, each on one
	// connection of the pool (default 10, at most MaxConns - 1), so that
	// expensive reads neither pile up on the server nor take every
	// connection from transactions and jobs.
	MaxReadConns int
}

// Validate checks the configuration and returns an *ecolaura.ConfigError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.URL != "", "url", "must be set")
	if c.URL != "" {
		_, err := pgxpool.ParseConfig(c.URL)
		v.Check(err == nil, "url", "must be a valid PostgreSQL URL")
	}
	// Migrate holds one connection for its advisory lock while it works on
	// another, so one connection would wait for itself.
	v.Check(c.MaxConns == 0 || (c.MaxConns >= 2 && c.MaxConns <= 10_000), "max_conns", "must be between 2 and 10000")
	v.Check(c.ConnMaxLifetime >= 0, "conn_max_lifetime", "must not be negative")
	v.Check(c.ConnMaxIdleTime >= 0, "conn_max_idle_time", "must not be negative")
	v.Check(c.ConnectTimeout >= 0, "connect_timeout", "must not be negative")
	v.Check(c.TxAttempts >= 0 && c.TxAttempts <= 100, "tx_attempts", "must be between 0 and 100")
	v.Check(c.JobMaxAttempts >= 0 && c.JobMaxAttempts <= 1000, "job_max_attempts", "must be between 0 and 1000")
	v.Check(c.MaxReadConns >= 0 && c.MaxReadConns <= 10_000, "max_read_conns", "must be between 0 and 10000")
	return v.ConfigErr()
}

func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ConnMaxLifetime == 0 {
		c.ConnMaxLifetime = 30 * time.Minute
	}
	if c.ConnMaxIdleTime == 0 {
		c.ConnMaxIdleTime = 5 * time.Minute
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.TxAttempts == 0 {
		c.TxAttempts = 5
	}
	if c.JobMaxAttempts == 0 {
		c.JobMaxAttempts = 10
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxReadConns == 0 {
		c.MaxReadConns = 10
	}
	c.MaxReadConns = min(c.MaxReadConns, c.MaxConns-1)
	return c
}

// DefaultReadTimeout is the default of [Config.ReadTimeout].
const DefaultReadTimeout = 2 * time.Second

// Option configures optional dependencies of Open.
type Option func(*options)

type options struct {
	logger *slog.Logger
	tracer trace.TracerProvider
}

// WithTracerProvider traces the database with OpenTelemetry: every
// statement, batch, COPY, connect and pool acquire on the pool
// (github.com/exaring/otelpgx, so Bun's, River's and COPY's alike) as a
// client span named after the SQL verb (SELECT, INSERT, WITH, BEGIN) under
// the caller's span, without the statement's text (Bun inlines values into
// it); a statement run outside any traced context, such as River's polling,
// records none. And River's job inserts
// and runs (github.com/riverqueue/rivercontrib/otelriver). A job's insert
// writes the inserting span's W3C traceparent into the job's metadata and
// its run continues that trace: the river.work span is a child of the
// river.insert_many span that enqueued it (and links to it), so a checkout's
// trace holds the jobs it queued. nil (the default) traces nothing.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Database is a PostgreSQL backend implementing ports.Database. It is safe
// for concurrent use. Close it when done.
type Database struct {
	cfg   Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	sqlDB *sql.DB               // pgx's database/sql driver on the pool, for Bun
	db    *bun.DB               // Bun on sqlDB
	river *river.Client[pgx.Tx] // insert-only client for Tx.Jobs()
	// riverMiddleware traces job inserts and runs (nil: not traced).
	riverMiddleware []rivertype.Middleware
	counts          *queryCounter
	reads           *readGate // reads outside transactions
}

var _ ports.Database = (*Database)(nil)

// Open creates the process's one connection pool (pgxpool, Config.MaxConns
// connections) and checks that the server answers. Everything runs on that
// pool with the one driver, pgx: Bun through pgx's database/sql driver on
// the pool (see bunConnector), River through riverpgxv5, COPY through pgx.
//
// Statements with arguments (checkout's stock and order statements,
// River's) run in pgx's query exec mode, by default cache_statement: each
// is prepared once per connection and then only bound and executed. Bun
// formats its statements client-side and sends them without arguments:
// those run on the simple protocol, one round trip with nothing prepared
// (see bunConnector). Behind PgBouncer in transaction pooling mode older
// than 1.21 (or without max_prepared_statements), add
// default_query_exec_mode=exec to the URL so that nothing is prepared by
// name; it costs checkout throughput (docs/operations.md). In any mode
// but cache_statement, Open takes a transaction pooler to be in front and
// sets no session setting: reads outside transactions then run in a
// read-only transaction of their own (Config.ReadTimeout as SET LOCAL).
//
// Open does not migrate: call Migrate (or check SchemaStatus) first.
// Errors: a *ecolaura.ConfigError for a bad Config; ecolaura.ErrUnavailable
// when the server cannot be reached.
func Open(ctx context.Context, cfg Config, opts ...Option) (*Database, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, ecolaura.Misconfigured("url", "must be a valid PostgreSQL URL")
	}
	pc.MaxConns = int32(cfg.MaxConns)
	pc.MinConns = 0
	pc.MaxConnLifetime = cfg.ConnMaxLifetime
	pc.MaxConnIdleTime = cfg.ConnMaxIdleTime
	if pc.ConnConfig.ConnectTimeout == 0 || pc.ConnConfig.ConnectTimeout > cfg.ConnectTimeout {
		pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = "ecolaura"
	}
	pc.PrepareConn = prepareConn
	if o.tracer != nil {
		// No statement text in the spans: Bun inlines its values (emails,
		// addresses, password hashes) into the SQL it sends.
		pc.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(o.tracer), otelpgx.WithDisableSQLStatementInAttributes())
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("create connection pool: %w", unavailable(err))
	}
	d := &Database{cfg: cfg, log: o.logger, pool: pool, counts: &queryCounter{}}
	if o.tracer != nil {
		d.riverMiddleware = riverTracing(o.tracer)
	}
	d.reads = &readGate{slots: make(chan struct{}, cfg.MaxReadConns), timeout: cfg.ReadTimeout}
	if pc.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		// A mode that prepares nothing by name is the setting for a
		// transaction pooler (PgBouncer) in front: keep session settings
		// out of it too.
		d.reads.inTx = d
	}
	// Like stdlib.OpenDBFromPool: database/sql keeps no idle connections,
	// every statement borrows one from the pool and gives it back.
	d.sqlDB = sql.OpenDB(bunConnector{stdlib.GetPoolConnector(pool)})
	d.sqlDB.SetMaxIdleConns(0)
	d.db = bun.NewDB(d.sqlDB, pgdialect.New()).WithQueryHook(d.counts)
	if err := d.Ping(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:      o.logger,
		MaxAttempts: cfg.JobMaxAttempts,
		Middleware:  d.riverMiddleware,
	})
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("create river insert client: %w", unavailable(err))
	}
	d.river = rc
	return d, nil
}

// Close closes the connection pool, waiting for borrowed connections to
// come back.
func (d *Database) Close() error {
	err := d.sqlDB.Close()
	d.pool.Close()
	return err
}

// DB returns the underlying bun handle, for tools (seeding, EXPLAIN) that
// need SQL beyond the ports.
func (d *Database) DB() *bun.DB { return d.db }

// Config returns the effective configuration (defaults applied).
func (d *Database) Config() Config { return d.cfg }

// QueryCount returns how many SQL statements this Database has issued, for
// query-count tests and benchmarks (no N+1).
func (d *Database) QueryCount() int64 { return d.counts.n.Load() }

// Ping reports whether the database answers. Errors: ecolaura.ErrUnavailable.
func (d *Database) Ping(ctx context.Context) error {
	if err := d.pool.Ping(anyTimeout(ctx)); err != nil {
		return fmt.Errorf("ping postgres: %w", unavailable(err))
	}
	return nil
}

// Products returns the product store (each call its own statement).
func (d *Database) Products() ports.ProductStore {
	return &productStore{db: d.db, pg: d.onPool, reads: d.reads, counts: d.counts, d: d}
}

// Inventory returns the inventory store.
func (d *Database) Inventory() ports.InventoryStore {
	return &inventoryStore{db: d.db, reads: d.reads, counts: d.counts, d: d}
}

// Orders returns the order store.
func (d *Database) Orders() ports.OrderStore {
	return &orderStore{db: d.db, pg: d.onPool, reads: d.reads, counts: d.counts}
}

// Users returns the user store.
func (d *Database) Users() ports.UserStore { return &userStore{db: d.db} }

// RefreshTokens returns the refresh-token store.
func (d *Database) RefreshTokens() ports.RefreshTokenStore { return &tokenStore{db: d.db} }

// AccountTokens returns the account-token store.
func (d *Database) AccountTokens() ports.AccountTokenStore { return &accountTokenStore{db: d.db} }

// Audit returns the audit log.
func (d *Database) Audit() ports.AuditLog { return &auditLog{db: d.db} }

// Addresses returns the address-book store.
func (d *Database) Addresses() ports.AddressStore { return &addressStore{db: d.db} }

// ShippingMethods returns the shipping-method store.
func (d *Database) ShippingMethods() ports.ShippingMethodStore { return &shippingMethodStore{db: d.db} }

// TaxRates returns the tax-rate store.
func (d *Database) TaxRates() ports.TaxRateStore { return &taxRateStore{db: d.db} }

// Payments returns the payment-record store.
func (d *Database) Payments() ports.PaymentStore { return &paymentStore{db: d.db} }

// Passports returns the passport store.
func (d *Database) Passports() ports.PassportStore { return &passportStore{db: d.db} }

// Images returns the image store.
func (d *Database) Images() ports.ImageStore { return &imageStore{db: d.db} }

// Do runs fn in one READ COMMITTED transaction, the isolation
// [ports.UnitOfWork] states: every write of the stores is one conditional
// statement (version checks, stock guards, status predecessors, "not used
// yet", unique keys) that PostgreSQL evaluates against the latest committed
// row and keeps locked until the end, so concurrent transactions cannot both
// commit a change based on a stale read. A serialization failure (40001) or
// deadlock (40P01) reruns fn, up to Config.TxAttempts times in all, with a
// short jittered backoff. fn's own error is returned unchanged; lost
// connections are reported as ecolaura.ErrUnavailable.
//
// The transaction is pgx's, on one connection of the pool: Bun's
// statements go to the same connection through database/sql, the stores'
// statements with arguments and River's job inserts through the pgx.Tx.
func (d *Database) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		var fnErr error
		fnErr, err = d.runTx(ctx, fn)
		if err == nil {
			return nil
		}
		if fnErr != nil && !retryable(fnErr) {
			return fnErr // fn's error, unchanged
		}
		if !retryable(err) || attempt >= d.cfg.TxAttempts || ctx.Err() != nil {
			break
		}
		d.log.DebugContext(ctx, "retrying transaction", "attempt", attempt, "err", err)
		backoff := time.Duration(attempt) * time.Millisecond * time.Duration(1+rand.IntN(5))
		select {
		case <-ctx.Done():
			return fmt.Errorf("transaction: %w", ctx.Err())
		case <-time.After(backoff):
		}
	}
	if mErr := mapInfra(err); mErr != err {
		return fmt.Errorf("transaction: %w", mErr)
	}
	return err
}

// runTx runs fn once in a transaction and commits it. It returns fn's
// error (as fnErr and err) or the transaction's own failure (err).
func (d *Database) runTx(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) (fnErr, err error) {
	// The connection may come with a read's statement_timeout: the
	// transaction sets its own (see begin), saving a round trip.
	conn, err := d.db.Conn(anyTimeout(ctx))
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	// Closing gives the connection back to the pool, which discards it
	// if a transaction is still open on it (a failed rollback).
	defer conn.Close()
	t := &txStores{d: d, conn: conn}
	if err := conn.Raw(func(dc any) error {
		pc, ok := pgxConn(dc)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		t.tx, err = begin(ctx, pc)
		return err
	}); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	done := false
	defer func() {
		if !done { // fn failed or panicked
			_ = t.inConn(func() error { return t.tx.Rollback(ctx) })
		}
	}()
	if fnErr = fn(ctx, t); fnErr != nil {
		return fnErr, fnErr
	}
	done = true
	if err := t.inConn(func() error { return t.tx.Commit(ctx) }); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return nil, nil
}

// txStores is one transaction's view of the stores.
type txStores struct {
	d    *Database
	conn bun.Conn // the transaction's connection, for Bun
	tx   pgx.Tx   // the transaction on the same connection, for pgx
}

func (t *txStores) Products() ports.ProductStore {
	return &productStore{db: t.conn, pg: t.onTx, counts: t.d.counts, d: t.d, tx: t}
}

func (t *txStores) Inventory() ports.InventoryStore {
	return &inventoryStore{db: t.conn, counts: t.d.counts, d: t.d, tx: t}
}

func (t *txStores) Orders() ports.OrderStore {
	return &orderStore{db: t.conn, pg: t.onTx, counts: t.d.counts}
}
func (t *txStores) Users() ports.UserStore                 { return &userStore{db: t.conn, inTx: true} }
func (t *txStores) RefreshTokens() ports.RefreshTokenStore { return &tokenStore{db: t.conn} }
func (t *txStores) AccountTokens() ports.AccountTokenStore { return &accountTokenStore{db: t.conn} }
func (t *txStores) Audit() ports.AuditLog                  { return &auditLog{db: t.conn} }
func (t *txStores) Addresses() ports.AddressStore          { return &addressStore{db: t.conn} }
func (t *txStores) ShippingMethods() ports.ShippingMethodStore {
	return &shippingMethodStore{db: t.conn}
}
func (t *txStores) TaxRates() ports.TaxRateStore   { return &taxRateStore{db: t.conn} }
func (t *txStores) Payments() ports.PaymentStore   { return &paymentStore{db: t.conn} }
func (t *txStores) Passports() ports.PassportStore { return &passportStore{db: t.conn} }
func (t *txStores) Jobs() ports.JobQueue           { return &jobQueue{tx: t} }
func (t *txStores) Images() ports.ImageStore       { return &imageStore{db: t.conn} }

// pgxQuerier is what a pgx pool and a pgx transaction share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgxRunner runs fn with the pgx handle of a store: the pool outside a
// transaction, the transaction inside one. Statements with arguments go
// this way, so pgx prepares each once per connection.
type pgxRunner func(fn func(q pgxQuerier) error) error

// onPool is the pgxRunner of statements outside a transaction.
func (d *Database) onPool(fn func(q pgxQuerier) error) error { return fn(d.pool) }

// inConn runs fn while database/sql lends out the transaction's driver
// connection: the pgx.Tx is used only then.
func (t *txStores) inConn(fn func() error) error {
	return t.conn.Raw(func(any) error { return fn() })
}

// onTx is the pgxRunner of the transaction.
func (t *txStores) onTx(fn func(q pgxQuerier) error) error {
	return t.inConn(func() error { return fn(t.tx) })
}

// queryCounter counts statements: a bun query hook, and counted by hand
// for statements sent through pgx.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	q.n.Add(1)
	return ctx
}

func (q *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}
