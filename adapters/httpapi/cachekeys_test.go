package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
)

// TestResponseCacheKeysComeFromValidatedParameters is issue 10 item 14:
// anonymous requests cannot fill the response cache. Junk parameters, the
// Host header, spellings of the same value, search texts, cursors and
// empty lists add no entry, while what a request shows of itself (v1's
// absolute links keep its host and its parameters, as DRF does) stays
// right on a cache hit.
func TestResponseCacheKeysComeFromValidatedParameters(t *testing.T) {
	rc := memory.NewCache()
	h := newHarness(t, withServices(func(s *httpapi.Services) { s.ResponseCache = rc }),
		withConfig(func(c *httpapi.Config) {
			c.ExpensiveReadRateLimit.Burst = 1000
			// Any subdomain of example, as Django's ".example": the Host may
			// vary without bound, and must not make cache keys.
			c.AllowedHosts = []string{".example", "example.com"}
		}))
	for i := range 30 {
		h.product(fmt.Sprintf("Kettle %d", i), "kitchen", int64(1000+i), 5, nil)
	}
	get := func(path string, headers map[string]string) response {
		t.Helper()
		r := h.do(req{Path: path, Headers: headers})
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		return r
	}
	entries := func() int { return rc.Stats().Entries }

	first := get("/api/v1/products/?category=kitchen", nil)
	base := entries()
	require.Positive(t, base, "the page is cached")

	tests := []struct {
		name  string
		paths func(i int) (string, map[string]string)
		// added is how many entries the case may add: the cursor case
		// renders first pages (limit 2..11) to get its cursors, and those
		// are cacheable.
		added int
	}{
		{"junk v1 parameters", func(i int) (string, map[string]string) {
			return fmt.Sprintf("/api/v1/products/?category=kitchen&junk=%d", i), nil
		}, 0},
		{"hosts", func(i int) (string, map[string]string) {
			return "/api/v1/products/?category=kitchen", map[string]string{"Host": fmt.Sprintf("h%d.example", i)}
		}, 0},
		{"spellings of page 1 and of the page size", func(i int) (string, map[string]string) {
			return fmt.Sprintf("/api/v1/products/?page_size=%s&category=kitchen&page=1", []string{"20", "020", "0020"}[i%3]), nil
		}, 0},
		{"search texts", func(i int) (string, map[string]string) {
			return fmt.Sprintf("/api/v2/products?q=kettle%d", i), nil
		}, 0},
		{"cursors", func(i int) (string, map[string]string) {
			page := h.do(req{Path: fmt.Sprintf("/api/v2/products?limit=%d", 2+i%10)}).JSON(t)
			return "/api/v2/products?limit=3&cursor=" + page["next_cursor"].(string), nil
		}, 10},
		{"empty lists of well-formed categories", func(i int) (string, map[string]string) {
			return fmt.Sprintf("/api/v2/products?category=nothing-%d", i), nil
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := entries()
			for i := range 50 {
				path, headers := tt.paths(i)
				get(path, headers)
			}
			assert.LessOrEqual(t, entries()-before, tt.added, "the requests added cache entries")
		})
	}

	// A hit serves each request its own links.
	r := get("/api/v1/products/?category=kitchen&junk=mine", map[string]string{"Host": "shop.example"})
	next, _ := r.JSON(t)["next"].(string)
	assert.True(t, strings.HasPrefix(next, "http://shop.example/api/v1/products/?"), "next link %q", next)
	assert.Contains(t, next, "junk=mine", "DRF keeps the request's parameters in its links")
	assert.Contains(t, next, "page=2")
	firstNext, _ := first.JSON(t)["next"].(string)
	assert.NotContains(t, firstNext, "junk")
	assert.NotEqual(t, first.Header.Get("ETag"), r.Header.Get("ETag"), "a different body has a different ETag")
	again := get("/api/v1/products/?category=kitchen&junk=mine", map[string]string{"Host": "shop.example"})
	assert.Equal(t, r.Body, again.Body)
	assert.Equal(t, r.Header.Get("ETag"), again.Header.Get("ETag"))
	st := h.do(req{Path: "/api/v1/products/?category=kitchen&junk=mine", Headers: map[string]string{"Host": "shop.example", "If-None-Match": r.Header.Get("ETag")}})
	assert.Equal(t, http.StatusNotModified, st.Status)
	page2 := get("/api/v1/products/?category=kitchen&page=2", nil)
	prev, _ := page2.JSON(t)["previous"].(string)
	assert.Equal(t, "http://example.com/api/v1/products/?category=kitchen", prev, "previous of page 2 drops the page parameter")
}

// TestExpensiveReadsHaveAPerIPBudget is issue 10 item 15: request shapes
// whose cost grows with the catalog (searches, deep v1 pages) spend a
// per-IP budget and get 429 with Retry-After once it is spent; cheap reads
// do not; a search term no index can serve is refused before it costs
// anything.
func TestExpensiveReadsHaveAPerIPBudget(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.ExpensiveReadRateLimit = httpapi.RateLimit{Rate: 1, Burst: 3, Period: time.Hour}
	}))
	h.product("Bamboo kettle", "kitchen", 1000, 5, nil)
	for _, path := range []string{"/api/v2/products?q=qz", "/api/v2/products?q=a%20b"} {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", path, r.Body)
		assert.Contains(t, string(r.Body), "at least 3 letters or digits in a row")
	}
	for i, path := range []string{"/api/v2/products?q=kettle", "/api/v1/products/?page=51&page_size=20", "/api/v1/products/?page=last"} {
		r := h.do(req{Path: path})
		assert.NotEqual(t, http.StatusTooManyRequests, r.Status, "expensive read %d is within the burst: %s", i+1, r.Body)
	}
	for _, path := range []string{"/api/v2/products?q=bamboo", "/api/v1/products/?page=last", "/api/v1/products/?page=101&page_size=10"} {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusTooManyRequests, r.Status, "%s after the burst: %s", path, r.Body)
		assert.NotEmpty(t, r.Header.Get("Retry-After"))
	}
	for _, path := range []string{"/api/v2/products", "/api/v2/products?category=kitchen&sort=price", "/api/v1/products/", "/api/v1/products/?page=1&page_size=100"} {
		r := h.do(req{Path: path})
		assert.Equal(t, http.StatusOK, r.Status, "cheap read %s: %s", path, r.Body)
	}
}
