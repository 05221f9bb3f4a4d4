// Package postgres is Ecolaura's production storage adapter: every store
// port and the unit of work on PostgreSQL with github.com/uptrace/bun
// (pgdialect over bun's pgdriver, or pgx's database/sql driver), and a job
// queue on River
// (github.com/riverqueue/river) whose inserts commit with the transaction.
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
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Driver names the database/sql driver under bun.
type Driver string

// The supported drivers. Both pass every conformance suite; measured on
// this adapter (BenchmarkStore: Get, list page, checkout transaction)
// pgdriver was faster on reads (Get ~25 %, list page ~10 %) and equal on
// checkout, which waits on the commit, so DriverPgdriver is the default.
const (
	// DriverPgdriver is github.com/uptrace/bun/driver/pgdriver (default).
	// Bun's statements, formatted client-side without arguments, use the
	// simple protocol; statements with arguments (River's: the job insert of
	// a checkout, the runner's fetches) are prepared once per connection and
	// then only bound and executed, like pgx's statement cache (measured,
	// BenchmarkCheckoutVsRawPgx: ~61 % of raw pgx before, ~69 % with it,
	// ~97 % once checkout's own statements also went out with arguments,
	// see argStmt).
	DriverPgdriver Driver = "pgdriver"
	// DriverPgx is github.com/jackc/pgx/v5/stdlib. Statements with
	// arguments (River's) use pgx's cached prepared statements (or the URL's
	// default_query_exec_mode); bun's statements, formatted client-side
	// without arguments, use the simple protocol: one round trip, no
	// statement-cache churn.
	DriverPgx Driver = "pgx"
)

// Config configures a connection pool. Only URL is required.
type Config struct {
	// URL is a postgres:// connection URL.
	URL string
	// MaxConns bounds open connections (default 20). On pgdriver,
	// InsertProducts' COPY runs on a separate pool of up to as many
	// connections, opened only while it runs.
	MaxConns int
	// MaxIdleConns bounds idle connections (default MaxConns).
	MaxIdleConns int
	// ConnMaxLifetime recycles connections (default 30 minutes).
	ConnMaxLifetime time.Duration
	// ConnectTimeout bounds dialing a new connection (default 5 seconds), so
	// requests fail fast with ecolaura.ErrUnavailable during an outage.
	ConnectTimeout time.Duration
	// QueryTimeout, when set, bounds how long one statement waits for the
	// server when its context has no deadline (pgdriver only; default none:
	// contexts bound calls, and migrations or bulk loads may run long).
	QueryTimeout time.Duration
	// TxAttempts is how many times Do runs a transaction that fails with a
	// serialization failure or deadlock (default 5).
	TxAttempts int
	// Driver selects the database/sql driver (default DriverPgdriver).
	Driver Driver
	// JobMaxAttempts is River's attempt limit for enqueued jobs (default 10).
	JobMaxAttempts int
	// ReadTimeout is the statement timeout (PostgreSQL's statement_timeout)
	// of the reads outside transactions that anonymous requests can shape:
	// product lists, searches, counts, categories and statistics, product
	// and order lookups (default 2 seconds; negative: none). They run on a
	// pool of their own, so the server stops such a query when it runs too
	// long even if the client is gone; the caller gets ErrUnavailable.
	ReadTimeout time.Duration
	// MaxReadConns bounds the connections of that pool (default 10), which
	// also bounds how many expensive reads run at once.
	MaxReadConns int
}

// Validate checks the configuration and returns an *ecolaura.ConfigError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.URL != "", "url", "must be set")
	if c.URL != "" {
		_, err := pgx.ParseConfig(c.URL)
		v.Check(err == nil, "url", "must be a valid PostgreSQL URL")
	}
	v.Check(c.MaxConns >= 0 && c.MaxConns <= 10_000, "max_conns", "must be between 0 and 10000")
	v.Check(c.MaxIdleConns >= 0, "max_idle_conns", "must not be negative")
	v.Check(c.ConnMaxLifetime >= 0, "conn_max_lifetime", "must not be negative")
	v.Check(c.ConnectTimeout >= 0, "connect_timeout", "must not be negative")
	v.Check(c.QueryTimeout >= 0, "query_timeout", "must not be negative")
	v.Check(c.TxAttempts >= 0 && c.TxAttempts <= 100, "tx_attempts", "must be between 0 and 100")
	v.Check(c.JobMaxAttempts >= 0 && c.JobMaxAttempts <= 1000, "job_max_attempts", "must be between 0 and 1000")
	v.Check(c.MaxReadConns >= 0 && c.MaxReadConns <= 10_000, "max_read_conns", "must be between 0 and 10000")
	v.Check(c.Driver == "" || c.Driver == DriverPgx || c.Driver == DriverPgdriver, "driver", "must be %q or %q", DriverPgx, DriverPgdriver)
	return v.ConfigErr()
}

func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = 20
	}
	if c.MaxIdleConns == 0 || c.MaxIdleConns > c.MaxConns {
		c.MaxIdleConns = c.MaxConns
	}
	if c.ConnMaxLifetime == 0 {
		c.ConnMaxLifetime = 30 * time.Minute
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.TxAttempts == 0 {
		c.TxAttempts = 5
	}
	if c.Driver == "" {
		c.Driver = DriverPgdriver
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
	return c
}

// DefaultReadTimeout is the default of [Config.ReadTimeout].
const DefaultReadTimeout = 2 * time.Second

// Option configures optional dependencies of Open.
type Option func(*options)

type options struct {
	logger *slog.Logger
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
	cfg    Config
	log    *slog.Logger
	sqlDB  *sql.DB
	db     *bun.DB
	river  *river.Client[*sql.Tx] // insert-only client for Tx.Jobs()
	counts *queryCounter
	copyDB *bun.DB // pgdriver only: plain connections for COPY
	readDB *bun.DB // reads outside transactions, under Config.ReadTimeout
}

var _ ports.Database = (*Database)(nil)

// Open connects to PostgreSQL and checks that it answers. It does not
// migrate: call Migrate (or check SchemaStatus) first. Errors: a
// *ecolaura.ConfigError for a bad Config; ecolaura.ErrUnavailable
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
	sqlDB, copyConnector, err := openSQL(cfg, 0)
	if err != nil {
		return nil, err
	}
	readSQL, _, err := openSQL(cfg, cfg.ReadTimeout)
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	readSQL.SetMaxOpenConns(cfg.MaxReadConns)
	readSQL.SetMaxIdleConns(cfg.MaxReadConns)
	readSQL.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	readSQL.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetMaxOpenConns(cfg.MaxConns)
	sqlDB.SetMaxIdleConns(cfg.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)

	d := &Database{cfg: cfg, log: o.logger, sqlDB: sqlDB, counts: &queryCounter{}}
	d.db = bun.NewDB(sqlDB, pgdialect.New())
	d.db.AddQueryHook(d.counts)
	d.readDB = bun.NewDB(readSQL, pgdialect.New()).WithQueryHook(d.counts)
	if copyConnector != nil {
		// COPY needs pgdriver's own connection type, not the pool's
		// statement-caching wrapper: a separate pool, opened only when
		// InsertProducts runs and closing idle connections soon after.
		copyDB := sql.OpenDB(copyConnector)
		copyDB.SetMaxOpenConns(cfg.MaxConns)
		copyDB.SetMaxIdleConns(2)
		copyDB.SetConnMaxIdleTime(time.Minute)
		copyDB.SetConnMaxLifetime(cfg.ConnMaxLifetime)
		d.copyDB = bun.NewDB(copyDB, pgdialect.New())
	}

	if err := d.Ping(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	rc, err := river.NewClient(riverdatabasesql.New(sqlDB), &river.Config{
		Logger:      o.logger,
		MaxAttempts: cfg.JobMaxAttempts,
	})
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("create river insert client: %w", unavailable(err))
	}
	d.river = rc
	return d, nil
}

// openSQL opens a database/sql pool of cfg's driver whose sessions have
// statementTimeout as statement_timeout (when positive). For pgdriver it
// also returns the plain connector, which COPY needs (pgdriver.CopyFrom
// works only on pgdriver's own connection type).
func openSQL(cfg Config, statementTimeout time.Duration) (*sql.DB, *pgdriver.Connector, error) {
	timeout := ""
	if statementTimeout > 0 {
		timeout = strconv.FormatInt(max(statementTimeout.Milliseconds(), 1), 10)
	}
	switch cfg.Driver {
	case DriverPgdriver:
		pc := pgdriver.NewConnector(
			pgdriver.WithDSN(cfg.URL),
			pgdriver.WithDialTimeout(cfg.ConnectTimeout),
			pgdriver.WithReadTimeout(cfg.QueryTimeout),
			pgdriver.WithWriteTimeout(cfg.QueryTimeout),
			func(c *pgdriver.Config) {
				if timeout == "" {
					return
				}
				params := maps.Clone(c.ConnParams) // the URL's, if any
				if params == nil {
					params = map[string]any{}
				}
				params["statement_timeout"] = timeout
				c.ConnParams = params
			},
		)
		return sql.OpenDB(stmtCacheConnector{pc}), pc, nil
	default:
		pc, err := pgx.ParseConfig(cfg.URL)
		if err != nil {
			return nil, nil, ecolaura.Misconfigured("url", "must be a valid PostgreSQL URL")
		}
		if pc.ConnectTimeout == 0 || pc.ConnectTimeout > cfg.ConnectTimeout {
			pc.ConnectTimeout = cfg.ConnectTimeout
		}
		if timeout != "" {
			pc.RuntimeParams = maps.Clone(pc.RuntimeParams)
			if pc.RuntimeParams == nil {
				pc.RuntimeParams = map[string]string{}
			}
			pc.RuntimeParams["statement_timeout"] = timeout
		}
		return sql.OpenDB(modeConnector{stdlib.GetConnector(*pc)}), nil, nil
	}
}

// Close closes the connection pools.
func (d *Database) Close() error {
	err := errors.Join(d.sqlDB.Close(), d.readDB.Close())
	if d.copyDB != nil {
		err = errors.Join(err, d.copyDB.Close())
	}
	return err
}

// DB returns the underlying bun handle, for tools (seeding, EXPLAIN) that
// need SQL beyond the ports.
func (d *Database) DB() *bun.DB { return d.db }

// ReadDB returns the bun handle of the reads outside transactions (under
// Config.ReadTimeout), for tools and tests that watch or EXPLAIN them.
func (d *Database) ReadDB() *bun.DB { return d.readDB }

// Config returns the effective configuration (defaults applied).
func (d *Database) Config() Config { return d.cfg }

// QueryCount returns how many SQL statements this Database has issued, for
// query-count tests and benchmarks (no N+1).
func (d *Database) QueryCount() int64 { return d.counts.n.Load() }

// Ping reports whether the database answers. Errors: ecolaura.ErrUnavailable.
func (d *Database) Ping(ctx context.Context) error {
	if err := d.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", unavailable(err))
	}
	return nil
}

// Products returns the product store (each call its own statement).
func (d *Database) Products() ports.ProductStore {
	return &productStore{db: d.db, read: d.readDB, counts: d.counts}
}

// Orders returns the order store.
func (d *Database) Orders() ports.OrderStore {
	return &orderStore{db: d.db, read: d.readDB, counts: d.counts}
}

// Users returns the user store.
func (d *Database) Users() ports.UserStore { return &userStore{db: d.db} }

// RefreshTokens returns the refresh-token store.
func (d *Database) RefreshTokens() ports.RefreshTokenStore { return &tokenStore{db: d.db} }

// AccountTokens returns the account-token store.
func (d *Database) AccountTokens() ports.AccountTokenStore { return &accountTokenStore{db: d.db} }

// Audit returns the audit log.
func (d *Database) Audit() ports.AuditLog { return &auditLog{db: d.db} }

// Do runs fn in one READ COMMITTED transaction, the isolation
// [ports.UnitOfWork] states: every write of the stores is one conditional
// statement (version checks, stock guards, status predecessors, "not used
// yet", unique keys) that PostgreSQL evaluates against the latest committed
// row and keeps locked until the end, so concurrent transactions cannot both
// commit a change based on a stale read. A serialization failure (40001) or
// deadlock (40P01) reruns fn, up to Config.TxAttempts times in all, with a
// short jittered backoff. fn's own error is returned unchanged; lost
// connections are reported as ecolaura.ErrUnavailable.
func (d *Database) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		var fnErr error
		err = d.db.RunInTx(ctx, nil, func(ctx context.Context, btx bun.Tx) error {
			fnErr = fn(ctx, &txStores{tx: btx, d: d})
			return fnErr
		})
		if err == nil {
			return nil
		}
		if fnErr != nil && errors.Is(err, fnErr) && !retryable(err) {
			return err // fn's error, unchanged
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
	if fnErr := mapInfra(err); fnErr != err {
		return fmt.Errorf("transaction: %w", fnErr)
	}
	return err
}

// txStores is one transaction's view of the stores.
type txStores struct {
	tx bun.Tx
	d  *Database
}

func (t *txStores) Products() ports.ProductStore           { return &productStore{db: t.tx, counts: t.d.counts} }
func (t *txStores) Orders() ports.OrderStore               { return &orderStore{db: t.tx, counts: t.d.counts} }
func (t *txStores) Users() ports.UserStore                 { return &userStore{db: t.tx, inTx: true} }
func (t *txStores) RefreshTokens() ports.RefreshTokenStore { return &tokenStore{db: t.tx} }
func (t *txStores) AccountTokens() ports.AccountTokenStore { return &accountTokenStore{db: t.tx} }
func (t *txStores) Audit() ports.AuditLog                  { return &auditLog{db: t.tx} }
func (t *txStores) Jobs() ports.JobQueue                   { return &jobQueue{tx: t.tx.Tx, d: t.d} }

// queryCounter is a bun query hook counting statements.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	q.n.Add(1)
	return ctx
}

func (q *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// modeConnector wraps pgx's database/sql connector so that queries without
// arguments (bun formats its statements client-side, so every text is
// unique) run on the simple protocol, while queries with arguments (River's
// constant statements) keep pgx's prepared-statement cache.
type modeConnector struct{ driver.Connector }

func (c modeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return dc, nil
	}
	return &modeConn{sc}, nil
}

// modeConn is a *stdlib.Conn whose argument-less queries use the simple
// protocol.
type modeConn struct{ *stdlib.Conn }

var simpleProtocol = []driver.NamedValue{{Ordinal: 1, Value: pgx.QueryExecModeSimpleProtocol}}

// QueryContext implements driver.QueryerContext.
func (c *modeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		args = simpleProtocol
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// pgxConn returns the pgx connection under a database/sql driver connection.
func pgxConn(dc any) (*pgx.Conn, bool) {
	switch c := dc.(type) {
	case *modeConn:
		return c.Conn.Conn(), true
	case *stdlib.Conn:
		return c.Conn(), true
	}
	return nil, false
}
