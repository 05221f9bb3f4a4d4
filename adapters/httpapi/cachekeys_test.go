package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

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
