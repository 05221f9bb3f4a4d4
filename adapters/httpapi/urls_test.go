package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
)

// absoluteURLs makes every kind of absolute URL the API writes, with the
// given extra headers, and returns them by name: v1 next and previous links
// (products and orders), and the Location of each create (v1 and v2
// products and orders).
func absoluteURLs(t *testing.T, h *harness, headers map[string]string) map[string]string {
	t.Helper()
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range headers {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	soap := h.product("Olive soap", "personal-care", 350, 100, nil)
	for i := range 3 {
		h.product(fmt.Sprintf("Brush %d", i), "personal-care", 350, 100, nil)
	}
	out := map[string]string{}
	page := h.do(req{Path: "/api/v1/products/?page=2&page_size=1", Headers: with(nil)})
	require.Equal(t, http.StatusOK, page.Status, "%s", page.Body)
	out["v1 products next"], _ = page.JSON(t)["next"].(string)
	out["v1 products previous"], _ = page.JSON(t)["previous"].(string)

	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Headers: with(nil),
		Body: map[string]any{"name": "Soap", "category": "home", "price": "3.50", "stock": 1}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	out["v1 product Location"] = r.Header.Get("Location")
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Headers: with(nil),
		Body: map[string]any{"name": "Soap", "category": "home", "price": map[string]any{"amount": "3.50", "currency": "EUR"}, "stock": 1}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	out["v2 product Location"] = r.Header.Get("Location")
	for range 3 {
		r = h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.alice, Headers: with(nil),
			Body: map[string]any{"items": []any{map[string]any{"product": soap.ID, "quantity": 1}}}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	out["v1 order Location"] = r.Header.Get("Location")
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Headers: with(map[string]string{"Idempotency-Key": "url-test"}),
		Body: map[string]any{"lines": []any{map[string]any{"product_id": soap.ID, "quantity": 1}}}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	out["v2 order Location"] = r.Header.Get("Location")
	page = h.do(req{Path: "/api/v1/orders/?page=2&page_size=1", Token: h.alice, Headers: with(nil)})
	require.Equal(t, http.StatusOK, page.Status, "%s", page.Body)
	out["v1 orders next"], _ = page.JSON(t)["next"].(string)
	out["v1 orders previous"], _ = page.JSON(t)["previous"].(string)
	require.Len(t, out, 8)
	for name, u := range out {
		require.NotEmpty(t, u, name)
	}
	return out
}

// TestAbsoluteURLsUseThePublicURL is issue 10 item 17: a Host header of the
// client's choosing came back in v1 next/previous links and in Location.
func TestAbsoluteURLsUseThePublicURL(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.PublicURL = "https://shop.example.org/"
		c.AllowedHosts = nil
		c.TrustedProxies = []string{"0.0.0.0"} // app.Test's peer: its X-Forwarded-* would count
	}))
	headers := map[string]string{"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
	for name, u := range absoluteURLs(t, h, headers) {
		assert.True(t, strings.HasPrefix(u, "https://shop.example.org/api/"), "%s: %s", name, u)
		assert.NotContains(t, u, "evil", name)
	}
}

func TestAbsoluteURLsUseAnAllowedHost(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.AllowedHosts = []string{"shop.example.org", ".example.net"} }))
	t.Run("other hosts are refused", func(t *testing.T) {
		// (A Host fasthttp cannot parse, such as "shop.example.org:x", hides
		// the path too: it is refused in the default shape.)
		assert.Equal(t, http.StatusBadRequest, h.do(req{Path: "/api/v1/products/", Headers: map[string]string{"Host": "shop.example.org:x"}}).Status)
		for _, host := range []string{"evil.example", "example.com", "shop.example.org.evil.example", "shop.example.org:80@evil.example", "notexample.net"} {
			for _, path := range []string{"/api/v1/products/", "/api/v2/products"} {
				r := h.do(req{Path: path, Headers: map[string]string{"Host": host}})
				require.Equal(t, http.StatusBadRequest, r.Status, "%s %s: %s", host, path, r.Body)
				assert.NotContains(t, string(r.Body), "evil")
				if strings.HasPrefix(path, "/api/v2") {
					assert.Equal(t, "urn:ecolaura:problem:invalid-host", r.JSON(t)["type"])
				} else {
					assert.Contains(t, r.JSON(t)["detail"], "Invalid Host header")
				}
			}
		}
	})
	t.Run("probes answer any host", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			assert.Equal(t, http.StatusOK, h.do(req{Path: path, Headers: map[string]string{"Host": "10.1.2.3:8080"}}).Status, path)
		}
	})
	t.Run("an untrusted peer cannot name the host in X-Forwarded-Host", func(t *testing.T) {
		r := h.do(req{Path: "/api/v1/products/?page_size=1", Headers: map[string]string{"Host": "evil.example", "X-Forwarded-Host": "shop.example.org"}})
		assert.Equal(t, http.StatusBadRequest, r.Status)
	})
	t.Run("an allowed host, with its port, starts the URLs", func(t *testing.T) {
		for name, u := range absoluteURLs(t, h, map[string]string{"Host": "SHOP.example.org:8443"}) {
			assert.True(t, strings.HasPrefix(u, "http://shop.example.org:8443/api/"), "%s: %s", name, u)
		}
	})
	t.Run("a subdomain of a dotted entry", func(t *testing.T) {
		r := h.do(req{Path: "/api/v1/products/?page_size=1", Headers: map[string]string{"Host": "eu.example.net"}})
		require.Equal(t, http.StatusOK, r.Status)
		assert.True(t, strings.HasPrefix(r.JSON(t)["next"].(string), "http://eu.example.net/api/v1/products/"))
	})
}

func TestAbsoluteURLsBehindATrustedProxy(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) {
		c.AllowedHosts = []string{"shop.example.org"}
		c.TrustedProxies = []string{"0.0.0.0"}
	}))
	h.product("Soap", "home", 350, 1, nil)
	h.product("Brush", "home", 350, 1, nil)
	r := h.do(req{Path: "/api/v1/products/?page_size=1", Headers: map[string]string{
		"Host": "backend:8080", "X-Forwarded-Host": "shop.example.org", "X-Forwarded-Proto": "https"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.True(t, strings.HasPrefix(r.JSON(t)["next"].(string), "https://shop.example.org/api/v1/products/"), r.JSON(t)["next"])
	r = h.do(req{Path: "/api/v1/products/?page_size=1", Headers: map[string]string{
		"Host": "shop.example.org", "X-Forwarded-Host": "evil.example"}})
	assert.Equal(t, http.StatusBadRequest, r.Status, "a forwarded host must be allowed too")
}

func TestDefaultAllowedHostsAreLoopback(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.AllowedHosts = nil }))
	for host, status := range map[string]int{
		"localhost:8080": http.StatusOK, "127.0.0.1:8080": http.StatusOK, "[::1]:8080": http.StatusOK,
		"evil.example": http.StatusBadRequest, "example.com": http.StatusBadRequest,
	} {
		assert.Equal(t, status, h.do(req{Path: "/api/v1/products/", Headers: map[string]string{"Host": host}}).Status, host)
	}
}

func TestPublicURLAndAllowedHostsValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*httpapi.Config)
		want string
	}{
		{"relative public URL", func(c *httpapi.Config) { c.PublicURL = "shop.example.org" }, "public URL"},
		{"public URL with a query", func(c *httpapi.Config) { c.PublicURL = "https://shop.example.org/?a=1" }, "public URL"},
		{"public URL with credentials", func(c *httpapi.Config) { c.PublicURL = "https://u:p@shop.example.org" }, "public URL"},
		{"ftp public URL", func(c *httpapi.Config) { c.PublicURL = "ftp://shop.example.org" }, "public URL"},
		{"wildcard host", func(c *httpapi.Config) { c.AllowedHosts = []string{"*"} }, `"*" is not allowed`},
		{"host with a scheme", func(c *httpapi.Config) { c.AllowedHosts = []string{"https://shop.example.org"} }, "allowed host"},
		{"host with a port", func(c *httpapi.Config) { c.AllowedHosts = []string{"shop.example.org:8080"} }, "allowed host"},
		{"valid", func(c *httpapi.Config) {
			c.PublicURL = "https://example.org/shop"
			c.AllowedHosts = []string{"shop.example.org", ".example.net", "[::1]", "10.0.0.1"}
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := httpapi.DefaultConfig()
			tc.cfg(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestPublicURLWithAPath: behind a proxy that serves the API under a path
// it strips, the public URL carries the path.
func TestPublicURLWithAPath(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.PublicURL = "https://example.org/shop" }))
	urls := absoluteURLs(t, h, nil)
	for name, u := range urls {
		assert.True(t, strings.HasPrefix(u, "https://example.org/shop/api/"), "%s: %s", name, u)
	}
}
