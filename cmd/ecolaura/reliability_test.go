package main

import (
	"context"
	"database/sql"
	"fmt"
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

// Operational tests of issue 10's reliability items: a process or Redis
// dies at the wrong moment, and the shop must neither serve stale data nor
// stay stuck.

// kv turns a map into KEY=value environment entries.
func kv(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// TestNoStaleProductAfterWriterKilledDuringRedisOutage is issue 10 item 11,
// as reported: Redis with persistence; replicas A and B cache a product;
// Redis goes down; staff change the price through A (200); A is killed
// (SIGKILL) and restarted during the outage; Redis comes back with its
// data, old entries included. From the first read on, B, the restarted A
// and a brand-new replica C show the new price, and they cache again.
func TestNoStaleProductAfterWriterKilledDuringRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and a private redis-server")
	}
	dbURL := testenv.Postgres(t)
	rs := startPersistentRedisServer(t)
	env := map[string]string{
		"ECOLAURA_DATABASE_URL": dbURL, "ECOLAURA_MIGRATE_ON_START": "true",
		"ECOLAURA_REDIS_URL": rs.url(), "ECOLAURA_JWT_KEY_FILE": writeSigningKey(t),
		"ECOLAURA_WRITE_RATE_LIMIT": "1000/1s",
		"ECOLAURA_ADMIN_EMAIL":      "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
	}
	b := startReplica(t, "B", env) // first: migrates and creates the admin
	procA := helperServe(t, opsEnv(kv(env)...))
	a := &replica{name: "A", base: procA.base, logs: &syncBuf{}}

	staff := a.token(t, "admin@example.org", "admin-password-123")
	st, _, p := a.json(t, "POST", "/api/v2/products", staff, nil, map[string]any{
		"name": "Cork board", "category": "killed", "price": map[string]any{"amount": "10.00"}, "stock": 10})
	require.Equal(t, http.StatusCreated, st, "%v", p)
	id := p["id"].(string)
	views := []productView{
		{"v2 detail", "/api/v2/products/" + id, v2Detail},
		{"v2 list", "/api/v2/products?category=killed", v2ListItem(id)},
		{"v1 detail", "/api/v1/products/" + id + "/", v1Detail},
		{"v1 list", "/api/v1/products/?category=killed", v1ListItem(id)},
	}
	a.warmAndCheckPrice(t, views, "10.00")
	b.warmAndCheckPrice(t, views, "10.00")
	require.Positive(t, b.cacheHits(t), "B serves the product from the cache")
	entry := "ecolaura:product:" + id
	require.True(t, rs.exists(t, entry), "the product is cached in Redis")

	rs.kill()
	st, _, p = a.json(t, "PATCH", "/api/v2/products/"+id, staff, nil, map[string]any{"price": map[string]any{"amount": "20.00"}})
	require.Equal(t, http.StatusOK, st, "price change with Redis down: %v", p)
	a.warmAndCheckPrice(t, views, "20.00")
	b.warmAndCheckPrice(t, views, "20.00")
	procA.kill(t)                                // the writer dies during the outage...
	procA2 := helperServe(t, opsEnv(kv(env)...)) // ...and is restarted before Redis is back
	a2 := &replica{name: "A (restarted)", base: procA2.base, logs: &syncBuf{}}
	a2.warmAndCheckPrice(t, views, "20.00")

	rs.start()
	require.True(t, rs.exists(t, entry), "Redis came back without its data: the test would prove nothing")
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b.warmAndCheckPrice(t, views, "20.00")
		a2.warmAndCheckPrice(t, views, "20.00")
	}
	c := startReplica(t, "C", env)
	c.warmAndCheckPrice(t, views, "20.00")
	// B caches again: a list it has not rendered yet is hydrated from the
	// product entry cached since the outage.
	hits, limit := b.cacheHits(t), 1
	require.Eventually(t, func() bool {
		limit++
		b.warmAndCheckPrice(t, []productView{{"v2 list", fmt.Sprintf("/api/v2/products?category=killed&limit=%d", limit), v2ListItem(id)}}, "20.00")
		return b.cacheHits(t) > hits
	}, 15*time.Second, 50*time.Millisecond, "B does not cache again after the outage")
	c.warmAndCheckPrice(t, views, "20.00")
}

// TestServeAndWorkerStartWithoutRedis is issue 10 item 13: serve and worker
// start while Redis is unreachable (degraded: the store serves, rate limits
// are per process) and use Redis once it is there, without a restart.
func TestServeAndWorkerStartWithoutRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and a private redis-server")
	}
	rs := startRedisServer(t)
	rs.kill() // its port is known and nothing listens on it

	s := startReplica(t, "server", map[string]string{"ECOLAURA_REDIS_URL": rs.url()})
	for _, path := range []string{"/readyz", "/api/v2/products?category=kitchen", "/api/v1/products/?category=kitchen"} {
		st, _, _ := s.do(t, "GET", path, "", nil, nil)
		require.Equal(t, http.StatusOK, st, "%s without Redis", path)
	}
	for _, component := range []string{`component="redis cache"`, `component="redis rate limiter"`} {
		assert.Equal(t, 1, countLines(s.logs.String(), "redis is unavailable", component), "the degraded start is logged once by %s", component)
	}

	dbURL := testenv.Postgres(t)
	ctx := context.Background()
	var out, errOut strings.Builder
	require.Equal(t, 0, run(ctx, []string{"migrate", "up"}, opsGetenv(map[string]string{"ECOLAURA_DATABASE_URL": dbURL}), &out, &errOut), errOut.String())
	wlogs := &syncBuf{}
	wctx, stop := context.WithCancel(ctx)
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- runWorker(wctx, workerConfig{DatabaseURL: dbURL, RedisURL: rs.url(), RedisPrefix: "ecolaura:", Concurrency: 2,
			ShutdownTimeout: 10 * time.Second, LogFormat: "text", LogLevel: "info", Currency: ecolaura.DefaultCurrency}, wlogs, started)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err, "worker")
		case <-time.After(20 * time.Second):
			t.Error("worker did not stop")
		}
	})
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("worker did not start without Redis: %v\n%s", err, wlogs.String())
	}

	rs.start()
	require.Eventually(t, func() bool {
		for _, path := range []string{"/api/v2/products?category=kitchen", "/api/v1/products/?category=kitchen"} {
			s.do(t, "GET", path, "", nil, nil)
		}
		return rs.dbSize(t) > 0
	}, 15*time.Second, 50*time.Millisecond, "the server does not use Redis once it is there")
	require.Eventually(t, func() bool {
		return countLines(wlogs.String(), "redis is reachable again", `component="redis cache"`) == 1
	}, 15*time.Second, 50*time.Millisecond, "the worker does not use Redis once it is there:\n%s", wlogs.String())
	st, _, _ := s.do(t, "GET", "/api/v2/products?category=kitchen", "", nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Positive(t, s.cacheHits(t))
}

// TestJobInterruptedByKilledWorkerIsRescued is issue 10 item 16: a worker
// is killed (SIGKILL) while process_order runs; the job must not stay
// "running" for River's default hour: another worker runs it again shortly
// after the job timeout, and the order is confirmed with its email sent.
func TestJobInterruptedByKilledWorkerIsRescued(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	dbURL := testenv.Postgres(t)
	ctx := context.Background()
	var out, errOut strings.Builder
	env := opsGetenv(map[string]string{"ECOLAURA_DATABASE_URL": dbURL})
	require.Equal(t, 0, run(ctx, []string{"migrate", "up"}, env, &out, &errOut), errOut.String())
	require.Equal(t, 0, run(ctx, []string{"seed", "--products", "3"}, env, &out, &errOut), errOut.String())
	sqlDB := opsSQL(t, dbURL)
	orderID := placeOrder(t, sqlDB, dbURL)

	// Hold the order's row so that process_order, once started, waits.
	lock, err := sqlDB.BeginTx(ctx, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lock.Rollback() })
	_, err = lock.Exec("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", orderID)
	require.NoError(t, err)

	w1 := helperWorker(t, opsEnv("ECOLAURA_DATABASE_URL="+dbURL))
	jobState := func() (state string, errs string) {
		t.Helper()
		require.NoError(t, sqlDB.QueryRow(`SELECT state, coalesce(errors::text, '') FROM river_job
			WHERE args->>'kind' = 'process_order' ORDER BY id DESC LIMIT 1`).Scan(&state, &errs))
		return state, errs
	}
	require.Eventually(t, func() bool { s, _ := jobState(); return s == "running" }, 30*time.Second, 5*time.Millisecond,
		"process_order never started")
	w1.kill(t) // mid-job
	killed := time.Now()
	require.NoError(t, lock.Rollback())
	state, _ := jobState()
	require.Equal(t, "running", state, "the killed worker's job is left running")

	// Another worker, with a 2 s job timeout: the job is rescued 3 s after
	// it started (plus River's rescuer period and leader election).
	wlogs := &syncBuf{}
	wctx, stop := context.WithCancel(ctx)
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- runWorker(wctx, workerConfig{DatabaseURL: dbURL, Concurrency: 2, JobTimeout: 2 * time.Second,
			ShutdownTimeout: 10 * time.Second, LogFormat: "text", LogLevel: "info", Currency: ecolaura.DefaultCurrency}, wlogs, started)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err, "worker")
		case <-time.After(20 * time.Second):
			t.Error("worker did not stop")
		}
		if t.Failed() {
			t.Logf("second worker log:\n%s", wlogs.String())
		}
	})
	<-started
	require.Eventually(t, func() bool {
		var status string
		var sent bool
		err := sqlDB.QueryRow("SELECT status, confirmation_sent_at IS NOT NULL FROM orders WHERE id = $1", orderID).Scan(&status, &sent)
		return err == nil && status == string(ecolaura.StatusConfirmed) && sent
	}, 90*time.Second, 50*time.Millisecond, "the interrupted job was not run again")
	t.Logf("order confirmed %s after the worker was killed", time.Since(killed).Round(100*time.Millisecond))
	_, errs := jobState()
	assert.Contains(t, errs, "Stuck job rescued", "the job ran again through River's rescuer")
}

// placeOrder places an order of one unit of a seeded product for a new
// customer (its process_order job commits with it) and returns its ID.
func placeOrder(t *testing.T, sqlDB *sql.DB, dbURL string) ecolaura.ID {
	t.Helper()
	ctx := context.Background()
	var userID, productID string
	require.NoError(t, sqlDB.QueryRow(`INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at)
		VALUES (gen_random_uuid(), 'rescue@example.org', 'R', 'x', 'customer', now(), now()) RETURNING id::text`).Scan(&userID))
	require.NoError(t, sqlDB.QueryRow(`UPDATE inventory_levels SET on_hand = 10 WHERE variant_id = (SELECT id FROM products ORDER BY id LIMIT 1) RETURNING variant_id::text`).Scan(&productID))
	pg, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
	require.NoError(t, err)
	defer pg.Close()
	svc, err := orders.New(pg, system.Clock{}, system.UUIDv7{}, orders.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	res, err := svc.Checkout(ctx, ecolaura.Principal{UserID: ecolaura.ID(userID), Role: ecolaura.RoleCustomer},
		orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: ecolaura.ID(productID), Quantity: 1}}})
	require.NoError(t, err)
	require.Equal(t, ecolaura.StatusPending, res.Order.Status)
	return res.Order.ID
}

// TestOutOfBandWriteAndCacheFlush is issue 10 item 18: after a manual SQL
// fix (or a restore) the cached product is stale; a staff PATCH of such a
// product succeeds instead of answering 409 until the entry expires, and
// `ecolaura cache flush` makes every replica read the database again.
func TestOutOfBandWriteAndCacheFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	dbURL := testenv.Postgres(t)
	redisURL, prefix := testenv.RedisURL(), testenv.RedisPrefix()
	deleteRedisKeysAtEnd(t, redisURL, prefix)
	env := map[string]string{
		"ECOLAURA_DATABASE_URL": dbURL, "ECOLAURA_MIGRATE_ON_START": "true",
		"ECOLAURA_REDIS_URL": redisURL, "ECOLAURA_REDIS_PREFIX": prefix,
		"ECOLAURA_ADMIN_EMAIL": "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
	}
	r := startReplica(t, "server", env)
	staff := r.token(t, "admin@example.org", "admin-password-123")
	create := func(name string) (string, []productView) {
		st, _, p := r.json(t, "POST", "/api/v2/products", staff, nil, map[string]any{
			"name": name, "category": "restored", "price": map[string]any{"amount": "10.00"}, "stock": 10})
		require.Equal(t, http.StatusCreated, st, "%v", p)
		id := p["id"].(string)
		return id, []productView{
			{"v2 detail", "/api/v2/products/" + id, v2Detail},
			{"v2 list", "/api/v2/products?category=restored", v2ListItem(id)},
			{"v1 detail", "/api/v1/products/" + id + "/", v1Detail},
			{"v1 list", "/api/v1/products/?category=restored", v1ListItem(id)},
		}
	}
	fixed, fixedViews := create("Fixed by SQL")
	edited, editedViews := create("Edited after SQL")
	sameVersion, sameVersionViews := create("Fixed by SQL, version unchanged")
	r.warmAndCheckPrice(t, fixedViews, "10.00")
	r.warmAndCheckPrice(t, editedViews, "10.00")
	st, _, p := r.json(t, "PATCH", "/api/v2/products/"+sameVersion, staff, nil, map[string]any{"price": map[string]any{"amount": "40.00"}})
	require.Equal(t, http.StatusOK, st, "%v", p)
	require.EqualValues(t, 2, p["version"])
	r.warmAndCheckPrice(t, sameVersionViews, "40.00")

	db := opsSQL(t, dbURL)
	_, err := db.Exec("UPDATE products SET price_minor = 3000, version = version + 1 WHERE id = ANY($1::uuid[])", "{"+fixed+","+edited+"}")
	require.NoError(t, err)
	r.warmAndCheckPrice(t, fixedViews[:1], "10.00") // the cache does not know

	st, _, p = r.json(t, "PATCH", "/api/v2/products/"+edited, staff, nil, map[string]any{"stock": 7})
	require.Equal(t, http.StatusOK, st, "PATCH of a product changed behind the cache: %v", p)
	assert.Equal(t, "30.00", p["price"].(map[string]any)["amount"], "the PATCH applies to the stored product")
	r.warmAndCheckPrice(t, editedViews, "30.00")

	// The QA report's repro: a fix that leaves the version alone was undone
	// by the next staff edit, which wrote the cached row back.
	_, err = db.Exec("UPDATE products SET price_minor = 5000 WHERE id = $1", sameVersion)
	require.NoError(t, err)
	for _, edit := range []struct{ method, path string }{
		{"PATCH", "/api/v2/products/" + sameVersion}, {"PATCH", "/api/v1/products/" + sameVersion + "/"},
	} {
		st, _, p = r.json(t, edit.method, edit.path, staff, nil, map[string]any{"name": "x"})
		require.Equal(t, http.StatusOK, st, "%s %s: %v", edit.method, edit.path, p)
		assert.Contains(t, []any{"50.00", map[string]any{"amount": "50.00", "currency": "EUR"}}, p["price"], "%s %s keeps the fixed price", edit.method, edit.path)
	}
	st, _, p = r.json(t, "PUT", "/api/v1/products/"+sameVersion+"/", staff, nil, map[string]any{"name": "y", "category": "restored", "price": "50.00",
		"sustainability_metric": map[string]any{"carbon_footprint": "1"}})
	require.Equal(t, http.StatusOK, st, "%v", p)
	var price int64
	require.NoError(t, db.QueryRow("SELECT price_minor FROM products WHERE id = $1", sameVersion).Scan(&price))
	assert.EqualValues(t, 5000, price)
	r.warmAndCheckPrice(t, sameVersionViews, "50.00")

	// A fix that leaves the version alone is picked up without a flush: the
	// database gives it a version and journals it, and every replica drops
	// the product within a journal interval.
	_, err = db.Exec("UPDATE products SET price_minor = 6000 WHERE id = $1", sameVersion)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, v := range sameVersionViews {
			st, _, body := r.json(t, "GET", v.path, "", nil, nil)
			if st != http.StatusOK || v.parse(t, body).price != "60.00" {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the views show the fix without a flush")

	var out, errOut strings.Builder
	code := run(context.Background(), []string{"cache", "flush"}, opsGetenv(map[string]string{
		"ECOLAURA_REDIS_URL": redisURL, "ECOLAURA_REDIS_PREFIX": prefix}), &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), "flushed")
	r.warmAndCheckPrice(t, fixedViews, "30.00")
	r.warmAndCheckPrice(t, editedViews, "30.00")
}

func TestCacheCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no action", []string{"cache"}, nil, 2, "Usage: ecolaura cache flush"},
		{"unknown action", []string{"cache", "clear"}, nil, 2, "Usage: ecolaura cache flush"},
		{"help", []string{"cache", "--help"}, nil, 0, "rate limits"},
		{"no redis", []string{"cache", "flush"}, nil, 2, "restart the servers"},
		{"bad url", []string{"cache", "flush"}, map[string]string{"ECOLAURA_REDIS_URL": "http://nope"}, 2, "url"},
		{"unreachable", []string{"cache", "flush", "--redis-url", "redis://127.0.0.1:1/0"}, nil, 1, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(context.Background(), tt.args, opsGetenv(tt.env), &out, &errOut)
			assert.Equal(t, tt.code, code, "%s%s", out.String(), errOut.String())
			assert.Contains(t, out.String()+errOut.String(), tt.want)
		})
	}
}
