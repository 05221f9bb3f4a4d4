package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
)

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Path: "/healthz"})
	assert.Len(t, r.Header.Get("X-Request-Id"), 24)

	r = h.do(req{Path: "/healthz", Headers: map[string]string{"X-Request-Id": "abc-123"}})
	assert.Equal(t, "abc-123", r.Header.Get("X-Request-Id"))

	r = h.do(req{Path: "/healthz", Headers: map[string]string{"X-Request-Id": "<script>"}})
	assert.NotEqual(t, "<script>", r.Header.Get("X-Request-Id"), "unsafe ids are replaced")
	assert.NotContains(t, h.logs.String(), `"route":"/healthz"`, "probes stay out of the info log")
	h.do(req{Path: "/api/v1/products/", Headers: map[string]string{"X-Request-Id": "abc-123"}})
	assert.Contains(t, h.logs.String(), `"request_id":"abc-123"`, "the access log carries the id")
	assert.Contains(t, h.logs.String(), `"route":"/api/v1/products/"`)
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.TrustedProxies = []string{"0.0.0.0"} }))
	for _, path := range []string{"/healthz", "/api/v1/nope/", "/api/v2/nope"} {
		r := h.do(req{Path: path})
		assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "DENY", r.Header.Get("X-Frame-Options"), path)
		assert.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"), path)
		assert.Contains(t, r.Header.Get("Content-Security-Policy"), "default-src 'none'", path)
		assert.Empty(t, r.Header.Get("Strict-Transport-Security"), "no HSTS over plain HTTP")
	}
	// app.Test connects from 0.0.0.0, trusted here: its X-Forwarded-Proto counts.
	r := h.do(req{Path: "/healthz", Headers: map[string]string{"X-Forwarded-Proto": "https"}})
	assert.Contains(t, r.Header.Get("Strict-Transport-Security"), "max-age=")

	untrusted := newHarness(t)
	r = untrusted.do(req{Path: "/healthz", Headers: map[string]string{"X-Forwarded-Proto": "https"}})
	assert.Empty(t, r.Header.Get("Strict-Transport-Security"), "an untrusted client cannot claim https")

	tls := newHarness(t, withConfig(func(c *httpapi.Config) { c.ServeTLS = true }))
	assert.NotEmpty(t, tls.do(req{Path: "/healthz"}).Header.Get("Strict-Transport-Security"))
}

func TestCORS(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.CORSOrigins = []string{"https://shop.example.org"} }))
	t.Run("allowed origin", func(t *testing.T) {
		r := h.do(req{Path: "/api/v1/products/", Headers: map[string]string{"Origin": "https://shop.example.org"}})
		assert.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "https://shop.example.org", r.Header.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, r.Header.Get("Vary"), "Origin")
	})
	t.Run("other origin", func(t *testing.T) {
		r := h.do(req{Path: "/api/v1/products/", Headers: map[string]string{"Origin": "https://evil.example"}})
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("preflight", func(t *testing.T) {
		r := h.do(req{Method: http.MethodOptions, Path: "/api/v2/orders", Headers: map[string]string{
			"Origin": "https://shop.example.org", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Idempotency-Key"}})
		assert.Equal(t, http.StatusNoContent, r.Status)
		assert.Contains(t, r.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key")
		assert.Contains(t, r.Header.Get("Access-Control-Allow-Methods"), "POST")
	})
	t.Run("preflight from other origin", func(t *testing.T) {
		r := h.do(req{Method: http.MethodOptions, Path: "/api/v2/orders", Headers: map[string]string{
			"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}})
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	})
}

func TestBodyLimitAndMediaType(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name        string
		path        string
		body        string
		contentType string
		status      int
		v2          bool
	}{
		{"v1 form body", "/api/v1/products/", "name=x", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, false},
		{"v2 text body", "/api/v2/products", "{}", "text/plain", http.StatusUnsupportedMediaType, true},
		{"v1 malformed JSON", "/api/v1/products/", `{"name":`, "application/json", http.StatusBadRequest, false},
		{"v1 not an object", "/api/v1/products/", `[1,2]`, "application/json", http.StatusBadRequest, false},
		{"v1 trailing data", "/api/v1/products/", `{} {}`, "application/json", http.StatusBadRequest, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: tc.path, Body: tc.body, Token: h.staff, Headers: map[string]string{"Content-Type": tc.contentType}})
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			if tc.v2 {
				assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
				assert.EqualValues(t, tc.status, r.JSON(t)["status"])
			} else {
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				m := r.JSON(t)
				if _, ok := m["detail"]; !ok {
					assert.Contains(t, m, "non_field_errors")
				}
			}
		})
	}
}

func TestBodyLimitOverTheWire(t *testing.T) {
	h := newHarness(t)
	base := h.listen()
	for _, tc := range []struct {
		path  string
		ctype string
	}{{"/api/v1/products/", "application/json"}, {"/api/v2/products", "application/problem+json"}} {
		// Announce a body over the limit and send only its start: the
		// server must refuse from the Content-Length, before reading it.
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		require.NoError(t, err)
		_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n{\"name\":\"",
			tc.path, h.staff, httpapi.DefaultBodyLimit+1)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		_ = conn.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, tc.path)
		assert.Equal(t, tc.ctype, resp.Header.Get("Content-Type"), tc.path)
	}
}

func TestMistypedJSONNamesTheField(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: `{"name":"Soap","category":"home","price":"1.00","stock":"many"}`})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, []any{"A valid integer is required."}, r.JSON(t)["stock"], "DRF's message")
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		method string
		path   string
		status int
		allow  string
		ctype  string
	}{
		{"v1 unknown", http.MethodGet, "/api/v1/nothing/", http.StatusNotFound, "", "application/json"},
		{"v2 unknown", http.MethodGet, "/api/v2/nothing", http.StatusNotFound, "", "application/problem+json"},
		{"root unknown", http.MethodGet, "/wp-admin", http.StatusNotFound, "", "application/json"},
		{"v1 wrong method", http.MethodDelete, "/api/v1/products/", http.StatusMethodNotAllowed, "GET, HEAD, POST, OPTIONS", "application/json"},
		{"v1 wrong method without slash", http.MethodPut, "/api/v1/products", http.StatusMethodNotAllowed, "GET, HEAD, POST, OPTIONS", "application/json"},
		{"health wrong method", http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD, OPTIONS", "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(req{Method: tc.method, Path: tc.path})
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			assert.Equal(t, tc.ctype, r.Header.Get("Content-Type"))
			assert.Equal(t, tc.allow, r.Header.Get("Allow"))
		})
	}
	r := h.do(req{Method: http.MethodOptions, Path: "/api/v1/products/"})
	assert.Equal(t, http.StatusNoContent, r.Status)
	assert.Equal(t, "GET, HEAD, POST, OPTIONS", r.Header.Get("Allow"))
	assert.Equal(t, `Method "DELETE" not allowed.`, h.do(req{Method: http.MethodDelete, Path: "/api/v1/products/"}).JSON(t)["detail"])
}

// panicCatalog panics on Get, to prove recovery.
type panicCatalog struct{ httpapi.Catalog }

func (panicCatalog) Get(context.Context, ecolaura.Principal, ecolaura.ID) (ecolaura.Product, error) {
	panic("secret connection string postgres://admin:hunter2@db")
}

func TestPanicRecovery(t *testing.T) {
	h := newHarness(t, withServices(func(s *httpapi.Services) { s.Catalog = panicCatalog{s.Catalog} }))
	for _, path := range []string{"/api/v1/products/01234567-89ab-7def-8123-456789abcdef/", "/api/v2/products/01234567-89ab-7def-8123-456789abcdef"} {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusInternalServerError, r.Status)
		assert.NotContains(t, string(r.Body), "hunter2")
		assert.NotContains(t, string(r.Body), "panic")
		assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
	}
	assert.Contains(t, h.logs.String(), "hunter2", "the panic is logged in full")
	assert.Equal(t, http.StatusOK, h.do(req{Path: "/healthz"}).Status, "the server keeps serving")
}

func TestRateLimits(t *testing.T) {
	clock := memory.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t,
		withConfig(func(c *httpapi.Config) {
			c.WriteRateLimit = httpapi.RateLimit{Rate: 1, Burst: 2, Period: time.Minute}
		}),
		withServices(func(s *httpapi.Services) { s.RateLimiter = memory.NewRateLimiter(memory.WithLimiterClock(clock)) }))
	body := map[string]any{"name": "Soap", "category": "home", "price": "3.50", "stock": 1}
	for i := range 2 {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: body})
		require.Equal(t, http.StatusCreated, r.Status, "request %d: %s", i, r.Body)
	}
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: body})
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.Contains(t, r.JSON(t)["detail"], "Request was throttled")
	// Reads are not limited, and another user has their own budget.
	assert.Equal(t, http.StatusOK, h.do(req{Path: "/api/v1/products/", Token: h.staff}).Status)
	clock.Advance(time.Minute)
	assert.Equal(t, http.StatusCreated, h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: body}).Status)
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, httpapi.RateLimit) (httpapi.RateDecision, error) {
	return httpapi.RateDecision{}, errors.New("redis down")
}

func (failingLimiter) Refund(context.Context, string, httpapi.RateLimit) error {
	return errors.New("redis down")
}

func TestRateLimiterFailureFailsOpen(t *testing.T) {
	h := newHarness(t, withServices(func(s *httpapi.Services) { s.RateLimiter = failingLimiter{} }))
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: map[string]any{"name": "Soap", "category": "home", "price": "3.50"}})
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Contains(t, h.logs.String(), "rate limiter failed")
}

func TestHealthReadyMetrics(t *testing.T) {
	down := errors.New("connection refused")
	var fail atomic.Bool
	h := newHarness(t, withServices(func(s *httpapi.Services) {
		s.Probes = append(s.Probes, httpapi.Probe{Name: "flaky", Check: func(context.Context) error {
			if fail.Load() {
				return down
			}
			return nil
		}}, httpapi.Probe{Name: "panicky", Check: func(context.Context) error {
			if fail.Load() {
				panic("boom")
			}
			return nil
		}})
	}))
	assert.Equal(t, http.StatusOK, h.do(req{Path: "/healthz"}).Status)
	r := h.do(req{Path: "/readyz"})
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, map[string]any{"database": "ok", "flaky": "ok", "panicky": "ok"}, r.JSON(t)["checks"])
	fail.Store(true)
	r = h.do(req{Path: "/readyz"})
	assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.Equal(t, "unavailable", r.JSON(t)["checks"].(map[string]any)["flaky"])
	assert.Equal(t, "unavailable", r.JSON(t)["checks"].(map[string]any)["panicky"], "a panicking probe fails, the process lives")
	assert.NotContains(t, string(r.Body), "refused", "probe errors are logged, not shown")
	ok, rd := h.srv.Ready(context.Background())
	assert.False(t, ok, "Ready answers what /readyz does")
	assert.Equal(t, "unavailable", rd.Status)
	assert.Equal(t, "unavailable", rd.Checks["flaky"])

	for _, path := range []string{"/metrics", "/metrics/", "/api/metrics"} {
		r := h.do(req{Path: path})
		assert.Equal(t, http.StatusNotFound, r.Status, "%s is not on the API: the operations listener serves the metrics", path)
		assert.NotContains(t, string(r.Body), "go_goroutines", path)
	}
	h.do(req{Path: "/api/v1/products/"})
	m := h.scrape()
	assert.Contains(t, m, `ecolaura_http_requests_total{method="GET",route="/api/v1/products/",status="200"}`)
	assert.Contains(t, m, `ecolaura_http_request_duration_seconds_bucket{method="GET",route="/api/v1/products/",status="200"`)
	assert.Contains(t, m, "ecolaura_orders_placed_total")
	assert.Contains(t, m, "ecolaura_stock_conflicts_total")
	require.NoError(t, h.srv.Metrics().ObserveCache(func() httpapi.CacheCounts {
		st := h.db.Stats()
		return httpapi.CacheCounts{Hits: st.ProductHits + st.ListHits, Misses: st.ProductMisses + st.ListMisses}
	}))
	m = h.scrape()
	st := h.db.Stats()
	require.Positive(t, st.ListMisses, "the list read above missed")
	assert.Contains(t, m, fmt.Sprintf("ecolaura_cache_hits_total %d\n", st.ProductHits+st.ListHits))
	assert.Contains(t, m, fmt.Sprintf("ecolaura_cache_misses_total %d\n", st.ProductMisses+st.ListMisses), "/metrics shows the cache's counts")
}

func TestInvalidToken(t *testing.T) {
	h := newHarness(t)
	for _, hdr := range []string{"Bearer nope", "Basic abc", "Bearer "} {
		r := h.do(req{Path: "/api/v1/products/", Headers: map[string]string{"Authorization": hdr}})
		assert.Equal(t, http.StatusUnauthorized, r.Status, hdr)
		assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
	}
	// A stale token does not stand in the way of signing in again.
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Headers: map[string]string{"Authorization": "Bearer expired"},
		Body: map[string]any{"username": "alice@example.org", "password": testPassword}})
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Headers: map[string]string{"Authorization": "Bearer expired"},
		Body: map[string]any{"email": "alice@example.org", "password": testPassword}})
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// slowCatalog blocks List until release is closed, and records whether the
// request context carried a deadline.
type slowCatalog struct {
	httpapi.Catalog
	started     chan struct{}
	release     chan struct{}
	hadDeadline chan bool
}

func (s *slowCatalog) List(ctx context.Context, p ecolaura.Principal, params catalog.ListParams) (catalog.ListResult, error) {
	_, ok := ctx.Deadline()
	select {
	case s.hadDeadline <- ok:
	default:
	}
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-s.release
	return s.Catalog.List(ctx, p, params)
}

func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	slow := &slowCatalog{started: make(chan struct{}, 1), release: make(chan struct{}), hadDeadline: make(chan bool, 1)}
	h := newHarness(t, withServices(func(s *httpapi.Services) {
		slow.Catalog = s.Catalog
		s.Catalog = slow
		s.CacheSignals = nil
	}))
	base := h.listen()
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/api/v1/products/")
		if err != nil {
			got <- result{err: err}
			return
		}
		_ = resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-slow.started
	assert.True(t, <-slow.hadDeadline, "service calls run under the handler timeout")
	stopped := make(chan error, 1)
	go func() { stopped <- h.srv.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("shutdown returned before the in-flight request finished: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(slow.release)
	r := <-got
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status, "the in-flight request completes")
	require.NoError(t, <-stopped)
	_, err := http.Get(base + "/healthz")
	assert.Error(t, err, "no new connections after shutdown")
}

func TestTrustedProxyClientIPDrivesRateLimits(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.TrustedProxies = []string{"0.0.0.0"} // app.Test's peer address
		c.AuthRateLimit = httpapi.RateLimit{Rate: 1, Burst: 1, Period: time.Hour}
	}))
	login := func(xff string) int {
		return h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "x@example.org", "password": "whatever-password"},
			Headers: map[string]string{"X-Forwarded-For": xff}}).Status
	}
	assert.Equal(t, http.StatusUnauthorized, login("198.51.100.1"))
	assert.Equal(t, http.StatusTooManyRequests, login("198.51.100.1"))
	assert.Equal(t, http.StatusUnauthorized, login("198.51.100.2"), "another client behind the proxy has its own budget")
	assert.Equal(t, http.StatusTooManyRequests, login("6.6.6.6, 198.51.100.2"), "a spoofed left-most address does not help")
}
