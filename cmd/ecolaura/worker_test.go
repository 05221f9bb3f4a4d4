package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

func TestLoadWorkerConfig(t *testing.T) {
	db := map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1/x"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1/x"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		check   func(t *testing.T, c workerConfig)
	}{
		{name: "defaults", env: db, check: func(t *testing.T, c workerConfig) {
			assert.Equal(t, 10, c.Concurrency)
			assert.Equal(t, 30*time.Second, c.ShutdownTimeout)
			assert.Equal(t, "ecolaura:", c.RedisPrefix)
			assert.Equal(t, ecolaura.DefaultCurrency, c.Currency)
			assert.Equal(t, time.Minute, c.JobTimeout)
		}},
		{name: "job timeout", env: with("ECOLAURA_JOB_TIMEOUT", "5s"), check: func(t *testing.T, c workerConfig) {
			assert.Equal(t, 5*time.Second, c.JobTimeout)
		}},
		{name: "bad job timeout", env: with("ECOLAURA_JOB_TIMEOUT", "2h"), wantErr: "ECOLAURA_JOB_TIMEOUT"},
		{name: "environment", env: with("ECOLAURA_WORKER_CONCURRENCY", "3", "ECOLAURA_SHUTDOWN_TIMEOUT", "5s", "ECOLAURA_MIGRATE_ON_START", "true",
			"ECOLAURA_REDIS_URL", "redis://127.0.0.1:6379/0"), check: func(t *testing.T, c workerConfig) {
			assert.Equal(t, 3, c.Concurrency)
			assert.Equal(t, 5*time.Second, c.ShutdownTimeout)
			assert.True(t, c.MigrateOnStart)
			assert.Equal(t, "redis://127.0.0.1:6379/0", c.RedisURL)
		}},
		{name: "flags win", env: with("ECOLAURA_WORKER_CONCURRENCY", "3"), args: []string{"--concurrency", "7", "--database-url", "postgres://y@127.0.0.1/y"},
			check: func(t *testing.T, c workerConfig) {
				assert.Equal(t, 7, c.Concurrency)
				assert.Equal(t, "postgres://y@127.0.0.1/y", c.DatabaseURL)
			}},
		{name: "database pool size", env: with("ECOLAURA_DATABASE_MAX_CONNS", "12"), args: []string{"--concurrency", "8"},
			check: func(t *testing.T, c workerConfig) { assert.Equal(t, 12, c.DatabaseMaxConns) }},
		{name: "database pool size flag wins", env: with("ECOLAURA_DATABASE_MAX_CONNS", "12"), args: []string{"--database-max-conns", "30"},
			check: func(t *testing.T, c workerConfig) { assert.Equal(t, 30, c.DatabaseMaxConns) }},
		{name: "bad database pool size", env: with("ECOLAURA_DATABASE_MAX_CONNS", "0"), wantErr: "ECOLAURA_DATABASE_MAX_CONNS"},
		{name: "no database", env: map[string]string{}, wantErr: "ECOLAURA_DATABASE_URL / --database-url is required"},
		{name: "bad concurrency", env: with("ECOLAURA_WORKER_CONCURRENCY", "0"), wantErr: "ECOLAURA_WORKER_CONCURRENCY"},
		{name: "bad timeout", env: with("ECOLAURA_SHUTDOWN_TIMEOUT", "soon"), wantErr: "ECOLAURA_SHUTDOWN_TIMEOUT"},
		{name: "bad migrate", env: with("ECOLAURA_MIGRATE_ON_START", "maybe"), wantErr: "ECOLAURA_MIGRATE_ON_START"},
		{name: "bad log format", env: with("ECOLAURA_LOG_FORMAT", "xml"), wantErr: "ECOLAURA_LOG_FORMAT"},
		{name: "extra argument", env: db, args: []string{"now"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("worker", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := loadWorkerConfig(tt.args, opsGetenv(tt.env), fs)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestWorkerCommandWithoutDatabase(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"worker"}, opsGetenv(nil), &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "ECOLAURA_DATABASE_URL")
}

// TestWorkerRunsJobs places an order directly (its process_order job is
// committed with it), then runs the worker alone: it confirms the order and
// sends the confirmation, and stops gracefully when its context ends.
func TestWorkerRunsJobs(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	env := opsGetenv(map[string]string{"ECOLAURA_DATABASE_URL": url})
	require.Equal(t, 0, run(ctx, []string{"migrate", "up"}, env, &out, &errOut), errOut.String())
	require.Equal(t, 0, run(ctx, []string{"seed", "--products", "3"}, env, &out, &errOut), errOut.String())

	sqlDB := opsSQL(t, url)
	var userID, productID string
	require.NoError(t, sqlDB.QueryRow(`INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at)
		VALUES (gen_random_uuid(), 'worker@example.org', 'W', 'x', 'customer', now(), now()) RETURNING id::text`).Scan(&userID))
	require.NoError(t, sqlDB.QueryRow(`UPDATE inventory_levels SET on_hand = 10 WHERE variant_id = (SELECT id FROM products ORDER BY id LIMIT 1) RETURNING variant_id::text`).Scan(&productID))

	pg, err := postgres.Open(ctx, postgres.Config{URL: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close() })
	svc, err := orders.New(pg, system.Clock{}, system.UUIDv7{}, orders.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	res, err := svc.Checkout(ctx, ecolaura.Principal{UserID: ecolaura.ID(userID), Role: ecolaura.RoleCustomer},
		orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: ecolaura.ID(productID), Quantity: 2}}})
	require.NoError(t, err)
	require.Equal(t, ecolaura.StatusPending, res.Order.Status, "no worker runs yet")

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var logs opsLog
	started := make(chan struct{})
	done := make(chan error, 1)
	opsBound := make(chan string, 1)
	go func() {
		done <- runWorker(wctx, workerConfig{DatabaseURL: url, Concurrency: 2, ShutdownTimeout: 10 * time.Second,
			LogFormat: "text", LogLevel: "info", Currency: ecolaura.DefaultCurrency,
			Ops: opsConfig{Addr: "127.0.0.1:0", bound: func(a string) { opsBound <- a }}}, &logs, started)
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("worker failed to start: %v\n%s", err, logs.String())
	}
	require.Eventually(t, func() bool {
		var status string
		var sent bool
		err := sqlDB.QueryRow("SELECT status, confirmation_sent_at IS NOT NULL FROM orders WHERE id = $1", string(res.Order.ID)).Scan(&status, &sent)
		return err == nil && status == string(ecolaura.StatusConfirmed) && sent
	}, 30*time.Second, 20*time.Millisecond, "the worker did not confirm the order: %s", logs.String())

	// The worker's operations listener: probes and metrics for worker pods.
	opsBase := "http://" + <-opsBound
	st, body := httpGet(t, opsBase+"/readyz")
	assert.Equal(t, http.StatusOK, st, body)
	assert.JSONEq(t, `{"status":"ok","checks":{"database":"ok"}}`, body)
	var hcOut, hcErr bytes.Buffer
	assert.Equal(t, 0, run(ctx, []string{"healthcheck", "--ops"}, envOf(map[string]string{"ECOLAURA_OPS_ADDR": strings.TrimPrefix(opsBase, "http://")}), &hcOut, &hcErr),
		"`ecolaura healthcheck --ops` probes the worker: %s", hcErr.String())
	st, body = httpGet(t, opsBase+"/metrics")
	require.Equal(t, http.StatusOK, st)
	assert.Regexp(t, `(?m)^ecolaura_jobs_total\{kind="[^"]+",outcome="completed"\} [1-9]`, body, "job outcomes by kind")
	assert.Regexp(t, `(?m)^ecolaura_mail_messages_total\{kind="[^"]+",outcome="sent"\} [1-9]`, body, "the confirmation email is counted")
	for _, m := range []string{`ecolaura_db_pool_connections{state="in_use"}`, `ecolaura_db_pool_connections{state="idle"}`, "ecolaura_db_pool_waits_total",
		"ecolaura_jobs_queue_scrape_success 1", "go_goroutines"} {
		assert.Contains(t, body, m)
	}
	assert.NotContains(t, body, "ecolaura_http_requests_total", "the worker serves no API")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatal("worker did not stop")
	}
	assert.Contains(t, logs.String(), "job runner stopped")
	assert.Contains(t, logs.String(), "River job workers only")
}
