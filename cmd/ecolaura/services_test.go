package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// TestServeOnPostgresAndRedis migrates a fresh database with `ecolaura
// migrate`, serves over PostgreSQL (River jobs) and Redis (cache and rate
// limits), and walks a checkout through the API.
func TestServeOnPostgresAndRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	dbURL := testenv.Postgres(t)
	redisURL, prefix := testenv.RedisURL(), testenv.RedisPrefix()
	cleanRedis(t, redisURL, prefix)

	env := envOf(map[string]string{"ECOLAURA_DATABASE_URL": dbURL})
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "status"}, env, &out, &errOut), errOut.String())
	assert.NotContains(t, out.String(), " 0 pending")
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "up"}, env, &out, &errOut), errOut.String())
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "status"}, env, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), " 0 pending")

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(map[string]string{
		"ECOLAURA_DATABASE_URL": dbURL, "ECOLAURA_REDIS_URL": redisURL, "ECOLAURA_REDIS_PREFIX": prefix,
		"ECOLAURA_ADMIN_EMAIL": "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
	}), fs)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuf
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, &logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server ended early: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start\n%s", logs.String())
	}
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	first, _, _ := bytesCut(logs.String())
	assert.Contains(t, first, "postgres")
	assert.Contains(t, first, "redis")

	c := &client{t: t, base: "http://" + addr}
	st, _ := c.do("GET", "/readyz", "", nil, nil)
	require.Equal(t, http.StatusOK, st)
	st, admin := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "admin@example.org", "password": "admin-password-123"})
	require.Equal(t, http.StatusOK, st)
	staff := admin["access_token"].(string)
	st, p := c.do("POST", "/api/v1/products/", staff, nil, map[string]any{"name": "Cork board", "category": "office", "price": "18.00", "stock": 5})
	require.Equal(t, http.StatusCreated, st, "%v", p)
	pid := p["id"].(string)

	st, _ = c.do("POST", "/api/v2/auth/register", "", nil, map[string]any{"email": "pat@example.org", "password": "pats-password-1", "name": "Pat"})
	require.Equal(t, http.StatusCreated, st)
	st, tok := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "pat@example.org", "password": "pats-password-1"})
	require.Equal(t, http.StatusOK, st)
	access := tok["access_token"].(string)

	for range 2 { // the second read is served from Redis
		st, list := c.do("GET", "/api/v1/products/?category=office", "", nil, nil)
		require.Equal(t, http.StatusOK, st)
		require.EqualValues(t, 5, list["results"].([]any)[0].(map[string]any)["stock"])
	}
	st, o := c.do("POST", "/api/v2/orders", access, map[string]string{"Idempotency-Key": "pg-1"},
		map[string]any{"lines": []any{map[string]any{"product_id": pid, "quantity": 2}}})
	require.Equal(t, http.StatusCreated, st, "%v", o)
	st, list := c.do("GET", "/api/v1/products/?category=office", "", nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.EqualValues(t, 3, list["results"].([]any)[0].(map[string]any)["stock"], "no stale stock from Redis")
	id := o["id"].(string)
	require.Eventually(t, func() bool {
		_, o := c.do("GET", "/api/v2/orders/"+id, access, nil, nil)
		return o["status"] == "confirmed"
	}, 30*time.Second, 50*time.Millisecond, "River did not confirm the order")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("server did not stop")
	}
}

func bytesCut(s string) (string, string, bool) {
	i := bytes.IndexByte([]byte(s), '\n')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// cleanRedis deletes every key under prefix when the test ends.
func cleanRedis(t *testing.T, url, prefix string) {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	require.NoError(t, err)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		testenv.Unavailable(t, "Redis", err)
	}
	ctx, cancelPing := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelPing()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		testenv.Unavailable(t, "Redis", err)
	}
	t.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var cursor uint64
		for {
			e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Errorf("scan redis: %v", err)
				return
			}
			if len(e.Elements) > 0 {
				if err := c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error(); err != nil {
					t.Errorf("delete redis keys: %v", err)
				}
			}
			if e.Cursor == 0 {
				return
			}
			cursor = e.Cursor
		}
	})
}
