package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// TestSDKShopSharesTheServersCache: an SDK program wired as the shop
// package and the README show it — shop.New(ctx, shop.WithDatabase(pg),
// shop.WithCache(redisCache)) over the server's PostgreSQL and Redis — reads
// and writes exactly the keys the reference server does, so each sees the
// other's invalidations at once (no entry is served stale until it
// expires). The only setting both sides share is the Redis prefix, which
// the Redis adapter alone applies.
func TestSDKShopSharesTheServersCache(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	dbURL := testenv.Postgres(t)
	redisURL, prefix := testenv.RedisURL(), testenv.RedisPrefix()
	cleanRedis(t, redisURL, prefix)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "up"},
		envOf(map[string]string{"ECOLAURA_DATABASE_URL": dbURL}), &out, &errOut), errOut.String())

	// The reference server.
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(map[string]string{
		"ECOLAURA_DATABASE_URL": dbURL, "ECOLAURA_REDIS_URL": redisURL, "ECOLAURA_REDIS_PREFIX": prefix,
		"ECOLAURA_ADMIN_EMAIL": "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
		"ECOLAURA_RATE_LIMITS": "off",
	}), flag.NewFlagSet("serve", flag.ContinueOnError))
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
		cancel()
		<-done
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	// The SDK program, as documented (with the test's prefix instead of the
	// default "ecolaura:" both sides would otherwise use).
	pg, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
	require.NoError(t, err)
	defer pg.Close()
	rcfg := redis.DefaultConfig(redisURL)
	rcfg.Prefix = prefix
	redisCache, err := redis.NewCache(ctx, rcfg)
	require.NoError(t, err)
	defer redisCache.Close()
	s, err := shop.New(ctx, shop.WithDatabase(pg), shop.WithCache(redisCache))
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close(context.Background())) }()

	c := &client{t: t, base: "http://" + addr}
	st, admin := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "admin@example.org", "password": "admin-password-123"})
	require.Equal(t, http.StatusOK, st)
	staff := admin["access_token"].(string)
	st, p := c.do("POST", "/api/v1/products/", staff, nil, map[string]any{"name": "Cork board", "category": "office", "price": "18.00", "stock": 5})
	require.Equal(t, http.StatusCreated, st, "%v", p)
	id := ecolaura.ID(p["id"].(string))

	serverName := func() string {
		t.Helper()
		st, p := c.do("GET", "/api/v1/products/"+string(id)+"/", "", nil, nil)
		require.Equal(t, http.StatusOK, st, "%v", p)
		return p["name"].(string)
	}
	sdkName := func() string {
		t.Helper()
		p, err := s.Catalog.Get(ctx, ecolaura.Anonymous, id)
		require.NoError(t, err)
		return p.Name
	}
	sdkListName := func() string {
		t.Helper()
		page, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "office"}})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		return page.Items[0].Name
	}
	// Both sides cache the product (and the SDK a list page).
	for range 2 {
		require.Equal(t, "Cork board", serverName())
		require.Equal(t, "Cork board", sdkName())
		require.Equal(t, "Cork board", sdkListName())
	}
	stats, _ := s.CacheStats()
	require.Positive(t, stats.ProductHits, "the SDK reads through the cache")

	// The SDK edits: the server's next read is fresh.
	_, err = s.Catalog.Update(ctx, ecolaura.System(), id, catalog.Patch{Name: new("Cork pinboard")})
	require.NoError(t, err)
	assert.Equal(t, "Cork pinboard", serverName(), "the server sees the SDK's invalidation")

	// The server edits: the SDK's next reads are fresh.
	require.Equal(t, "Cork pinboard", sdkName())
	require.Equal(t, "Cork pinboard", sdkListName())
	st, p = c.do("PATCH", "/api/v1/products/"+string(id)+"/", staff, nil, map[string]any{"name": "Cork noticeboard"})
	require.Equal(t, http.StatusOK, st, "%v", p)
	assert.Equal(t, "Cork noticeboard", sdkName(), "the SDK sees the server's invalidation")
	assert.Equal(t, "Cork noticeboard", sdkListName(), "the SDK's cached list sees the server's generation bump")
}
