package postgres_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"
)

// openDB opens a migrated Database on a fresh database of its own, closed
// (and dropped by testenv) when t ends.
func openDB(t testing.TB, cfg postgres.Config) *postgres.Database {
	t.Helper()
	return openDBWith(t, cfg, "")
}

// openDBWith is openDB with the URL's default_query_exec_mode set to
// execMode (none when empty).
func openDBWith(t testing.TB, cfg postgres.Config, execMode string) *postgres.Database {
	t.Helper()
	cfg.URL = testenv.Postgres(t)
	if execMode != "" {
		u, err := url.Parse(cfg.URL)
		require.NoError(t, err)
		q := u.Query()
		q.Set("default_query_exec_mode", execMode)
		u.RawQuery = q.Encode()
		cfg.URL = u.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = postgres.Migrate(ctx, db, postgres.MigrateUp)
	require.NoError(t, err)
	return db
}

// startJobs runs a JobRunner with handler on db until t ends. Retries wait
// only 50 ms so tests of redelivery stay short.
func startJobs(t testing.TB, db *postgres.Database, handler ports.JobHandler) *postgres.JobRunner {
	t.Helper()
	r, err := db.NewJobRunner(postgres.RunnerConfig{
		PollInterval: 200 * time.Millisecond,
		RetryBackoff: func(int) time.Duration { return 50 * time.Millisecond },
	})
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), handler))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
	})
	return r
}

// factory is the porttest.DatabaseFactory of this adapter.
func factory(t *testing.T, jobs ports.JobHandler) ports.Database {
	t.Helper()
	db := openDB(t, postgres.Config{})
	if jobs != nil {
		startJobs(t, db, jobs)
	}
	return db
}
