// Package storetest runs the service test suites (users, orders, catalog)
// on every storage backend: the memory adapter and PostgreSQL. A suite that
// passes only in memory proves little about production, where transactions
// interleave under READ COMMITTED (see ports.UnitOfWork): the branches that
// handle a lost race must run on both.
//
// PostgreSQL tests get a fresh, migrated database on the shared server
// (internal/testenv), dropped when the test ends; when the server is
// unreachable they skip loudly, or fail with ECOLAURA_REQUIRE_SERVICES=1.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	neturl "net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the admin connection
)

// Store is one storage backend a suite runs on.
type Store struct{ name string }

// The stores, in the order Run uses them.
var (
	Memory   = Store{name: "memory"}
	Postgres = Store{name: "postgres"}
)

// Stores returns every store.
func Stores() []Store { return []Store{Memory, Postgres} }

// Name returns "memory" or "postgres".
func (s Store) Name() string { return s.name }

// String implements fmt.Stringer.
func (s Store) String() string { return s.name }

// Run runs fn once per store, each as a subtest named after the store.
func Run(t *testing.T, fn func(t *testing.T, s Store)) {
	t.Helper()
	for _, s := range Stores() {
		t.Run(s.name, func(t *testing.T) { fn(t, s) })
	}
}

// JobsConfig configures the job runner of an opened database.
type JobsConfig struct {
	// MaxAttempts is how many times a failing job is tried (default 3).
	MaxAttempts int
	// Backoff is the delay before each retry (default 5 ms).
	Backoff time.Duration
}

// DB is a fresh, empty database of one store and its job runner, which is
// not started: jobs committed through the database wait until Start.
type DB struct {
	ports.Database
	Store Store
	jobs  jobRunner
}

// jobRunner is what tests need of a store's job runner.
type jobRunner interface {
	start(ctx context.Context, h ports.JobHandler) error
	stop(ctx context.Context) error
	// waitIdle waits until no job is waiting, running or due for a retry.
	waitIdle(ctx context.Context) error
	counts(ctx context.Context) (JobCounts, error)
	// enqueue queues a job outside any transaction.
	enqueue(ctx context.Context, job ports.Job) error
}

// Open returns a fresh, empty database on s, closed (and on PostgreSQL
// dropped) when t ends. On PostgreSQL it skips t loudly when the server is
// unreachable (or fails it when ECOLAURA_REQUIRE_SERVICES=1).
func (s Store) Open(t testing.TB, cfg JobsConfig) *DB {
	t.Helper()
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 5 * time.Millisecond
	}
	var db *DB
	switch s {
	case Memory:
		r := memory.NewJobRunner(memory.WithWorkers(2), memory.WithMaxAttempts(cfg.MaxAttempts),
			memory.WithBackoff(cfg.Backoff, cfg.Backoff))
		db = &DB{Database: memory.NewDatabase(memory.WithJobRunner(r)), Store: s, jobs: memoryJobs{r}}
	case Postgres:
		db = openPostgres(t, cfg)
	default:
		t.Fatalf("storetest: unknown store %q", s.name)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.jobs.stop(ctx); err != nil {
			t.Errorf("storetest: stop the job runner: %v", err)
		}
	})
	return db
}

// StartJobs starts the job runner with h until t ends.
func (db *DB) StartJobs(t testing.TB, h ports.JobHandler) {
	t.Helper()
	require.NoError(t, db.jobs.start(context.Background(), h))
}

// WaitJobs waits until no job is waiting, running or due for a retry.
func (db *DB) WaitJobs(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, db.jobs.waitIdle(ctx))
}

// JobCounts counts the jobs of a database's runner.
type JobCounts struct {
	Queued    int // waiting for the runner (not started, or all workers busy)
	Succeeded int // done
	Dead      int // given up on: after the last attempt, or at once for a permanent failure (River: discarded or cancelled)
}

// Jobs returns the job counts.
func (db *DB) Jobs(t testing.TB) JobCounts {
	t.Helper()
	c, err := db.jobs.counts(context.Background())
	require.NoError(t, err)
	return c
}

// Enqueue queues a job outside any transaction.
func (db *DB) Enqueue(ctx context.Context, job ports.Job) error { return db.jobs.enqueue(ctx, job) }

type memoryJobs struct{ r *memory.JobRunner }

func (m memoryJobs) start(ctx context.Context, h ports.JobHandler) error { return m.r.Start(ctx, h) }
func (m memoryJobs) stop(ctx context.Context) error                      { return m.r.Stop(ctx) }
func (m memoryJobs) waitIdle(ctx context.Context) error                  { return m.r.WaitIdle(ctx) }
func (m memoryJobs) enqueue(ctx context.Context, job ports.Job) error    { return m.r.Enqueue(ctx, job) }
func (m memoryJobs) counts(context.Context) (JobCounts, error) {
	st := m.r.Stats()
	return JobCounts{Queued: st.Queued, Succeeded: int(st.Succeeded), Dead: int(st.Dead)}, nil
}

// Main runs the tests of a package (call it from TestMain:
// os.Exit(storetest.Main(m))). With it, PostgreSQL databases are copies of
// one migrated template database, made on first use and dropped when the
// tests end, which is several times faster than migrating each one; without
// it each database is migrated.
func Main(m *testing.M) int {
	tmpl.mu.Lock()
	tmpl.enabled = true
	tmpl.mu.Unlock()
	code := m.Run()
	tmpl.mu.Lock()
	defer tmpl.mu.Unlock()
	if tmpl.name != "" {
		if err := dropDatabase(tmpl.name); err != nil {
			fmt.Fprintf(os.Stderr, "storetest: drop template database %s: %v\n", tmpl.name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// tmpl is the migrated template database of this test binary.
var tmpl struct {
	mu      sync.Mutex
	enabled bool // Main runs the tests
	name    string
}

// migratedDatabase returns the URL of a fresh, migrated database for t,
// dropped when t ends.
func migratedDatabase(t testing.TB) string {
	t.Helper()
	tmpl.mu.Lock()
	defer tmpl.mu.Unlock()
	if !tmpl.enabled {
		url := testenv.Postgres(t)
		require.NoError(t, migrateAt(url))
		return url
	}
	if tmpl.name == "" {
		// Probe the server through testenv, so that an unreachable server
		// skips (or fails) t as for any other database test.
		testenv.Postgres(t)
		name := testenv.RandomName("ecolaura_tmpl_")
		require.NoError(t, createDatabase(name))
		if err := migrateAt(databaseURL(t, name)); err != nil {
			_ = dropDatabase(name)
			require.NoError(t, err, "migrate the template database")
		}
		tmpl.name = name
	}
	return testenv.PostgresFrom(t, tmpl.name)
}

func migrateAt(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 2})
	if err != nil {
		return err
	}
	defer pg.Close()
	_, err = postgres.Migrate(ctx, pg, postgres.MigrateUp)
	return err
}

func databaseURL(t testing.TB, name string) string {
	t.Helper()
	u, err := neturl.Parse(testenv.AdminDatabaseURL())
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

func admin(fn func(ctx context.Context, db *sql.DB) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", testenv.AdminDatabaseURL())
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, db)
}

func createDatabase(name string) error {
	return admin(func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, "CREATE DATABASE "+name)
		return err
	})
}

func dropDatabase(name string) error {
	return admin(func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	})
}

// openPostgres opens a migrated database of its own on the shared server.
func openPostgres(t testing.TB, cfg JobsConfig) *DB {
	t.Helper()
	url := migratedDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 40, JobMaxAttempts: cfg.MaxAttempts})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close() })
	r, err := pg.NewJobRunner(postgres.RunnerConfig{
		MaxWorkers:   2,
		PollInterval: 50 * time.Millisecond,
		RetryBackoff: func(int) time.Duration { return cfg.Backoff },
	})
	require.NoError(t, err)
	return &DB{Database: pg, Store: Postgres, jobs: &postgresJobs{db: pg, r: r}}
}

type postgresJobs struct {
	db *postgres.Database
	r  *postgres.JobRunner
}

func (p *postgresJobs) start(ctx context.Context, h ports.JobHandler) error { return p.r.Start(ctx, h) }
func (p *postgresJobs) stop(ctx context.Context) error                      { return p.r.Stop(ctx) }

func (p *postgresJobs) enqueue(ctx context.Context, job ports.Job) error {
	return p.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return tx.Jobs().Enqueue(ctx, job) })
}

// unfinished are the River job states of a job that will still run.
const unfinished = `('available', 'pending', 'running', 'retryable', 'scheduled')`

func (p *postgresJobs) counts(ctx context.Context) (JobCounts, error) {
	var c JobCounts
	err := p.db.DB().NewRaw(`SELECT count(*) FILTER (WHERE state = 'available'),
		count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state IN ('discarded', 'cancelled'))
		FROM river_job`).Scan(ctx, &c.Queued, &c.Succeeded, &c.Dead)
	if err != nil {
		return JobCounts{}, fmt.Errorf("storetest: count jobs: %w", err)
	}
	return c, nil
}

func (p *postgresJobs) waitIdle(ctx context.Context) error {
	for {
		var n int
		if err := p.db.DB().NewRaw(`SELECT count(*) FROM river_job WHERE state IN `+unfinished).Scan(ctx, &n); err != nil {
			return fmt.Errorf("storetest: wait for jobs: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("storetest: %d jobs still unfinished: %w", n, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
