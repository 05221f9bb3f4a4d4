package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// TestServeSurvivesRedisOutage serves with a private redis-server as cache
// and rate-limit store, kills it, and checks that every product, list and
// order request is still served from the store (fresh, with writes), that
// the auth rate limit falls back to a per-process limit, and that /readyz
// stays ready; then restarts redis-server on the same port and checks that
// caching and Redis rate limiting resume without restarting the server.
func TestServeSurvivesRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a redis-server")
	}
	rs := startRedisServer(t)
	r := startReplica(t, "server", map[string]string{
		"ECOLAURA_REDIS_URL":       rs.url(),
		"ECOLAURA_AUTH_RATE_LIMIT": "3/1m:3",
		"ECOLAURA_TRUSTED_PROXIES": "127.0.0.1", // X-Forwarded-For picks the rate-limited client
		"ECOLAURA_ADMIN_EMAIL":     "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
	})
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

	// Healthy: sign in, warm the catalog; Redis holds the cache.
	st, _, tok := r.json(t, "POST", "/api/v2/auth/token", "", from("10.0.0.1"), map[string]any{"email": "admin@example.org", "password": "admin-password-123"})
	require.Equal(t, http.StatusOK, st, "%v", tok)
	staff := tok["access_token"].(string)
	st, _, _ = r.json(t, "POST", "/api/v2/auth/register", "", from("10.0.0.1"), map[string]any{"email": "pat@example.org", "password": "pats-password-1", "name": "Pat"})
	require.Equal(t, http.StatusCreated, st)
	st, _, tok = r.json(t, "POST", "/api/v2/auth/token", "", from("10.0.0.1"), map[string]any{"email": "pat@example.org", "password": "pats-password-1"})
	require.Equal(t, http.StatusOK, st, "%v", tok)
	customer := tok["access_token"].(string)

	st, _, p := r.json(t, "POST", "/api/v2/products", staff, nil, map[string]any{
		"name": "Cork board", "category": "outage", "price": map[string]any{"amount": "18.00"}, "stock": 10})
	require.Equal(t, http.StatusCreated, st, "%v", p)
	id := p["id"].(string)
	views := []productView{
		{"v2 detail", "/api/v2/products/" + id, v2Detail},
		{"v2 list", "/api/v2/products?category=outage", v2ListItem(id)},
		{"v1 list", "/api/v1/products/?category=outage", v1ListItem(id)},
	}
	read := func() productState {
		t.Helper()
		var first productState
		for i, v := range views {
			for range 2 {
				st, _, body := r.json(t, "GET", v.path, "", nil, nil)
				require.Equal(t, http.StatusOK, st, "%s", v.path)
				s := v.parse(t, body)
				if i == 0 {
					first = s
				}
				require.Equal(t, first, s, "%s agrees with the detail", v.name)
			}
		}
		return first
	}
	before := read()
	hits := r.cacheHits(t)
	require.Positive(t, hits, "warm reads are cache hits")
	require.Positive(t, rs.dbSize(t), "the cache lives in the private Redis")

	rs.kill()

	// Outage: everything is served from the store, fresh.
	for round, price := range []string{"91.10", "92.20"} {
		st, _, _ := r.json(t, "GET", "/readyz", "", nil, nil)
		require.Equal(t, http.StatusOK, st, "/readyz stays ready without Redis (round %d)", round)
		st, _, p := r.json(t, "PATCH", "/api/v2/products/"+id, staff, nil, map[string]any{"price": map[string]any{"amount": price}})
		require.Equal(t, http.StatusOK, st, "price change without Redis: %v", p)
		got := read()
		require.Equal(t, price, got.price, "the price written without Redis is read back (round %d)", round)
		require.Equal(t, before.stock-round, got.stock)

		st, _, o := r.json(t, "POST", "/api/v2/orders", customer, map[string]string{"Idempotency-Key": "outage-" + strconv.Itoa(round)},
			map[string]any{"lines": []any{map[string]any{"product_id": id, "quantity": 1}}})
		require.Equal(t, http.StatusCreated, st, "order without Redis: %v", o)
		oid := o["id"].(string)
		st, h, again := r.json(t, "POST", "/api/v2/orders", customer, map[string]string{"Idempotency-Key": "outage-" + strconv.Itoa(round)},
			map[string]any{"lines": []any{map[string]any{"product_id": id, "quantity": 1}}})
		require.Equal(t, http.StatusCreated, st, "retried order without Redis: %v", again)
		assert.Equal(t, "true", h.Get("Idempotent-Replayed"))
		assert.Equal(t, oid, again["id"], "a retry without Redis replays the order")
		st, _, o = r.json(t, "GET", "/api/v2/orders/"+oid, customer, nil, nil)
		require.Equal(t, http.StatusOK, st, "%v", o)
		require.Equal(t, before.stock-round-1, read().stock, "stock taken without Redis is read back (round %d)", round)
	}
	st, _, list := r.json(t, "GET", "/api/v2/orders", customer, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, list["items"], 2)

	// The auth limit falls back to a per-process limit for a fresh client.
	assertAuthLimited(t, r, "10.0.0.2")
	for _, component := range []string{`component="redis cache"`, `component="redis rate limiter"`} {
		assert.Equal(t, 1, countLines(r.logs.String(), "redis is unavailable", component), "the outage is logged once by %s", component)
	}
	assert.Equal(t, float64(1), r.metric(t, "ecolaura_cache_outages_total"), "the outage is counted once in /metrics")
	assert.Positive(t, r.metric(t, "ecolaura_cache_errors_total"), "requests served from the store during the outage are counted")

	rs.start()

	// Recovery without a restart: the cache fills the private Redis again
	// and serves hits; rate limits are decided by Redis again.
	require.Eventually(t, func() bool {
		read()
		return rs.dbSize(t) > 0
	}, 15*time.Second, 50*time.Millisecond, "caching does not resume after Redis is back")
	after := read()
	assert.Equal(t, "92.20", after.price)
	assert.Equal(t, before.stock-2, after.stock)
	read()
	assert.Positive(t, rs.keyspaceHits(t), "reads are served from the restarted Redis")
	probe := 0
	require.Eventually(t, func() bool {
		probe++
		ip := "10.0.1." + strconv.Itoa(probe)
		return tryAuth(t, r, ip) == http.StatusUnauthorized && rs.exists(t, "ecolaura:ratelimit:auth:"+ip)
	}, 15*time.Second, 50*time.Millisecond, "the auth limit is not decided by Redis again")
	assertAuthLimited(t, r, "10.0.0.3")
	assert.True(t, rs.exists(t, "ecolaura:ratelimit:auth:10.0.0.3"), "the auth limit is stored in Redis again")
	for _, component := range []string{`component="redis cache"`, `component="redis rate limiter"`} {
		assert.Equal(t, 1, countLines(r.logs.String(), "redis is reachable again", component), "the recovery is logged once by %s", component)
	}
}

// countLines counts the lines of logs that contain every one of subs.
func countLines(logs string, subs ...string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// TestServeNoStaleReadsAfterRedisHang freezes a private redis-server
// (SIGSTOP: it keeps its data, unlike a restart) under a running server,
// writes a price and takes stock while the invalidations cannot reach it,
// resumes it (SIGCONT) and checks that no read returns the entries cached
// before the writes: the failed invalidations must be made good first.
func TestServeNoStaleReadsAfterRedisHang(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a redis-server")
	}
	rs := startRedisServer(t)
	r := startReplica(t, "server", map[string]string{
		"ECOLAURA_REDIS_URL":   rs.url(),
		"ECOLAURA_ADMIN_EMAIL": "admin@example.org", "ECOLAURA_ADMIN_PASSWORD": "admin-password-123",
	})
	staff := r.token(t, "admin@example.org", "admin-password-123")
	st, _, p := r.json(t, "POST", "/api/v2/products", staff, nil, map[string]any{
		"name": "Cork board", "category": "hang", "price": map[string]any{"amount": "18.00"}, "stock": 10})
	require.Equal(t, http.StatusCreated, st, "%v", p)
	id := p["id"].(string)
	views := []productView{
		{"v2 detail", "/api/v2/products/" + id, v2Detail},
		{"v2 list", "/api/v2/products?category=hang", v2ListItem(id)},
		{"v1 detail", "/api/v1/products/" + id + "/", v1Detail},
		{"v1 list", "/api/v1/products/?category=hang", v1ListItem(id)},
	}
	readAll := func(want productState) {
		t.Helper()
		for _, v := range views {
			for range 2 {
				st, _, body := r.json(t, "GET", v.path, "", nil, nil)
				require.Equal(t, http.StatusOK, st, "%s", v.path)
				require.Equal(t, want, v.parse(t, body), "%s", v.name)
			}
		}
	}
	readAll(productState{price: "18.00", stock: 10})
	require.Positive(t, rs.dbSize(t))

	rs.signal(syscall.SIGSTOP)
	st, _, p = r.json(t, "PATCH", "/api/v2/products/"+id, staff, nil, map[string]any{"price": map[string]any{"amount": "25.00"}, "stock": 7})
	require.Equal(t, http.StatusOK, st, "write with Redis hung: %v", p)
	readAll(productState{price: "25.00", stock: 7})
	require.Equal(t, 1, countLines(r.logs.String(), "redis is unavailable", `component="redis cache"`),
		"the hang was noticed (the write's invalidation could not reach Redis)")
	rs.signal(syscall.SIGCONT)

	// Every read from now on, including the ones racing Redis's return,
	// shows the write.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		readAll(productState{price: "25.00", stock: 7})
	}
	require.Eventually(t, func() bool {
		return countLines(r.logs.String(), "redis is reachable again", `component="redis cache"`) == 1
	}, 10*time.Second, 20*time.Millisecond, "the cache does not resume after SIGCONT")
	readAll(productState{price: "25.00", stock: 7})
}

// tryAuth sends one failing token request from ip and returns the status.
func tryAuth(t *testing.T, r *replica, ip string) int {
	t.Helper()
	st, _, _ := r.json(t, "POST", "/api/v2/auth/token", "", map[string]string{"X-Forwarded-For": ip},
		map[string]any{"email": "nobody@example.org", "password": "wrong-password-1"})
	return st
}

// assertAuthLimited checks that a fresh client ip gets the burst of 3 and
// then 429 with Retry-After.
func assertAuthLimited(t *testing.T, r *replica, ip string) {
	t.Helper()
	for i := range 3 {
		require.Equal(t, http.StatusUnauthorized, tryAuth(t, r, ip), "request %d from %s is within the burst", i+1, ip)
	}
	st, h, p := r.json(t, "POST", "/api/v2/auth/token", "", map[string]string{"X-Forwarded-For": ip},
		map[string]any{"email": "nobody@example.org", "password": "wrong-password-1"})
	require.Equal(t, http.StatusTooManyRequests, st, "the 4th request from %s is limited: %v", ip, p)
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", h.Get("Retry-After"))
	assert.Positive(t, secs)
}

// redisServer is a private redis-server child process on a free port that
// a test kills and restarts; the shared Redis is never touched.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	// persistent keeps the data across kill and start: an append-only file
	// written on every command, replayed at start.
	persistent bool

	mu  sync.Mutex
	cmd *exec.Cmd
	out *syncBuf
}

// startRedisServer starts a private redis-server that is killed when t
// ends. Without the binary it skips loudly (fails when services are
// required).
func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	return startRedisServerWith(t, false)
}

// startPersistentRedisServer is startRedisServer with persistence: after
// kill (even SIGKILL) and start the server has its data back.
func startPersistentRedisServer(t *testing.T) *redisServer {
	t.Helper()
	return startRedisServerWith(t, true)
}

func startRedisServerWith(t *testing.T, persistent bool) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server (for a private instance)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s := &redisServer{t: t, bin: bin, port: port, dir: t.TempDir(), persistent: persistent}
	t.Cleanup(s.kill) // registered before the server's cleanup, so it runs after it
	s.start()
	return s
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// start runs redis-server on s's port and waits until it answers PING.
func (s *redisServer) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Nil(s.t, s.cmd, "private redis-server already running")
	out := &syncBuf{}
	persist := []string{"--save", "", "--appendonly", "no"}
	if s.persistent {
		persist = []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}
	}
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--daemonize", "no", "--dir", s.dir, "--loglevel", "warning"}, persist...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Should the test binary die without its cleanups, take the server along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(s.t, cmd.Start())
	s.cmd, s.out = cmd, out
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.ping()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("private redis-server on port %d did not start: %v\n%s", s.port, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL and waits for it to exit.
func (s *redisServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// signal sends sig to the running server.
func (s *redisServer) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotNil(s.t, s.cmd, "private redis-server not running")
	require.NoError(s.t, s.cmd.Process.Signal(sig))
}

func (s *redisServer) client() (rueidis.Client, error) {
	opt, err := rueidis.ParseURL(s.url())
	if err != nil {
		return nil, err
	}
	opt.DisableCache = true
	opt.DisableRetry = true
	return rueidis.NewClient(opt)
}

func (s *redisServer) ping() error {
	c, err := s.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Do(ctx, c.B().Ping().Build()).Error()
}

// do runs one command on the private server.
func (s *redisServer) do(t *testing.T, build func(rueidis.Client) rueidis.Completed) rueidis.RedisResult {
	t.Helper()
	c, err := s.client()
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Do(ctx, build(c))
}

func (s *redisServer) dbSize(t *testing.T) int64 {
	t.Helper()
	n, err := s.do(t, func(c rueidis.Client) rueidis.Completed { return c.B().Dbsize().Build() }).AsInt64()
	require.NoError(t, err)
	return n
}

// keyspaceHits is keyspace_hits from INFO stats: successful key lookups
// since the server started.
func (s *redisServer) keyspaceHits(t *testing.T) int64 {
	t.Helper()
	info, err := s.do(t, func(c rueidis.Client) rueidis.Completed { return c.B().Info().Section("stats").Build() }).ToString()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "keyspace_hits:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("INFO stats has no keyspace_hits:\n%s", info)
	return 0
}

func (s *redisServer) exists(t *testing.T, key string) bool {
	t.Helper()
	n, err := s.do(t, func(c rueidis.Client) rueidis.Completed { return c.B().Exists().Key(key).Build() }).AsInt64()
	require.NoError(t, err)
	return n == 1
}
