package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestV1ProductList(t *testing.T) {
	h := newHarness(t)
	for i := range 25 {
		h.product(fmt.Sprintf("Kitchen thing %02d", i), "kitchen", 1999, 5, metrics(1200, true, false))
	}
	h.product("Garden hose", "garden", 3500, 0, nil)

	for _, path := range []string{"/api/v1/products/", "/api/v1/products"} {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status, path)
		m := r.JSON(t)
		assert.EqualValues(t, 26, m["count"])
		assert.Len(t, m["results"], 20, "20 per page by default")
		assert.Equal(t, "http://example.com"+path+"?page=2", m["next"])
		assert.Nil(t, m["previous"])
	}

	r := h.do(req{Path: "/api/v1/products/?category=kitchen&page=2&page_size=10"})
	require.Equal(t, http.StatusOK, r.Status)
	m := r.JSON(t)
	assert.EqualValues(t, 25, m["count"])
	assert.Len(t, m["results"], 10)
	assert.Equal(t, "http://example.com/api/v1/products/?category=kitchen&page=3&page_size=10", m["next"])
	assert.Equal(t, "http://example.com/api/v1/products/?category=kitchen&page_size=10", m["previous"], "DRF drops page=1")
	p := m["results"].([]any)[0].(map[string]any)
	assert.Equal(t, "19.99", p["price"])
	assert.EqualValues(t, 5, p["stock"])
	assert.IsType(t, float64(0), p["sustainability_score"])
	assert.Equal(t, map[string]any{"carbon_footprint": 1.2, "recyclable": true, "biodegradable": false}, p["sustainability_metric"])
	for _, k := range []string{"id", "name", "description", "category", "created_at", "updated_at"} {
		assert.Contains(t, p, k)
	}

	r = h.do(req{Path: "/api/v1/products/?category=garden"})
	res := r.JSON(t)["results"].([]any)
	require.Len(t, res, 1)
	assert.Nil(t, res[0].(map[string]any)["sustainability_metric"])

	m = h.do(req{Path: "/api/v1/products/?page_size=1000"}).JSON(t)
	assert.Len(t, m["results"], 26, "page_size is capped at 100, not refused")

	for _, q := range []string{"page=0", "page=abc", "page=9"} {
		r := h.do(req{Path: "/api/v1/products/?" + q})
		assert.Equal(t, http.StatusNotFound, r.Status, q)
		assert.Equal(t, "Invalid page.", r.JSON(t)["detail"], q)
	}
	m = h.do(req{Path: "/api/v1/products/?category=Not%20A%20Slug"}).JSON(t)
	assert.EqualValues(t, 0, m["count"])
}

func TestV1ProductETag(t *testing.T) {
	h := newHarness(t)
	p := h.product("Bamboo brush", "personal-care", 450, 10, nil)
	for _, path := range []string{"/api/v1/products/", "/api/v1/products/" + string(p.ID) + "/"} {
		r := h.do(req{Path: path})
		etag := r.Header.Get("ETag")
		require.NotEmpty(t, etag, path)
		assert.False(t, strings.HasPrefix(etag, "W/"), "strong ETag")
		assert.Equal(t, "public, no-cache", r.Header.Get("Cache-Control"))
		r2 := h.do(req{Path: path, Headers: map[string]string{"If-None-Match": etag}})
		assert.Equal(t, http.StatusNotModified, r2.Status, path)
		assert.Empty(t, r2.Body)
		assert.Equal(t, etag, r2.Header.Get("ETag"))
		r3 := h.do(req{Path: path, Headers: map[string]string{"If-None-Match": `"other"`}})
		assert.Equal(t, http.StatusOK, r3.Status)
	}
	// A write changes the representation and so the ETag.
	before := h.do(req{Path: "/api/v1/products/" + string(p.ID) + "/"}).Header.Get("ETag")
	h.do(req{Method: http.MethodPatch, Path: "/api/v1/products/" + string(p.ID) + "/", Token: h.staff, Body: map[string]any{"stock": 9}})
	r := h.do(req{Path: "/api/v1/products/" + string(p.ID) + "/", Headers: map[string]string{"If-None-Match": before}})
	assert.Equal(t, http.StatusOK, r.Status)
	assert.EqualValues(t, 9, r.JSON(t)["stock"])
}

// A v1 page's links name the request's host: pages that differ only in
// their links have different strong ETags, and the same page the same one
// whether it was rendered or served from the response cache.
func TestV1PageETagCoversLinks(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		h.product(fmt.Sprintf("Bamboo brush %d", i), "personal-care", 450, 10, nil)
	}
	path := "/api/v1/products/?page_size=1&page=2"
	get := func(host string) (string, string) {
		r := h.do(req{Path: path, Headers: map[string]string{"Host": host}})
		require.Equal(t, http.StatusOK, r.Status)
		return r.Header.Get("ETag"), string(r.Body)
	}
	etagA, bodyA := get("example.com")
	etagB, bodyB := get("127.0.0.1")
	require.Contains(t, bodyA, "//example.com/")
	require.Contains(t, bodyB, "//127.0.0.1/")
	assert.NotEqual(t, etagA, etagB, "other links, another representation")
	for range 2 { // the second is served from the response cache
		etag, body := get("example.com")
		assert.Equal(t, bodyA, body)
		assert.Equal(t, etagA, etag, "the same representation, the same ETag")
	}
}

func TestHeadRequests(t *testing.T) {
	h := newHarness(t)
	h.product("Bamboo brush", "personal-care", 450, 10, nil)
	for _, path := range []string{"/api/v1/products/", "/api/v2/products", "/healthz"} {
		r := h.do(req{Method: http.MethodHead, Path: path})
		assert.Equal(t, http.StatusOK, r.Status, path)
		assert.Empty(t, r.Body, path)
	}
}

func TestV1ProductDetail(t *testing.T) {
	h := newHarness(t)
	p := h.product("Bamboo brush", "personal-care", 450, 10, metrics(300, true, true))
	for _, path := range []string{"/api/v1/products/" + string(p.ID) + "/", "/api/v1/products/" + string(p.ID)} {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "4.50", r.JSON(t)["price"])
	}
	for _, id := range []string{"01234567-89ab-7def-8123-456789abcdef", "not-a-uuid"} {
		r := h.do(req{Path: "/api/v1/products/" + id + "/"})
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Equal(t, map[string]any{"detail": "Not found."}, r.JSON(t))
	}
}

func TestV1ProductWrites(t *testing.T) {
	h := newHarness(t)
	body := map[string]any{"name": "Beeswax wraps", "description": "Set of 3", "category": "kitchen", "price": "14.90", "stock": 30,
		"sustainability_score": 70, "sustainability_metric": map[string]any{"carbon_footprint": 0.4, "recyclable": false, "biodegradable": true}}

	t.Run("anonymous is 401", func(t *testing.T) {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Body: body})
		assert.Equal(t, http.StatusUnauthorized, r.Status)
		assert.Contains(t, r.JSON(t), "detail")
		assert.NotEmpty(t, r.Header.Get("WWW-Authenticate"))
	})
	t.Run("customer is 403", func(t *testing.T) {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Body: body, Token: h.alice})
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Equal(t, "You do not have permission to perform this action.", r.JSON(t)["detail"])
	})
	t.Run("validation is 400 per field", func(t *testing.T) {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff,
			Body: map[string]any{"name": "", "category": "Kitchen Stuff", "price": "1.999"}})
		require.Equal(t, http.StatusBadRequest, r.Status)
		m := r.JSON(t)
		assert.Contains(t, m, "price")
		assert.Contains(t, m, "category")
		assert.Contains(t, m, "name")
		r = h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: map[string]any{"name": "x"}})
		assert.Equal(t, []any{"This field is required."}, r.JSON(t)["price"])
	})

	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Body: body, Token: h.staff})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	created := r.JSON(t)
	id := created["id"].(string)
	assert.Equal(t, "http://example.com/api/v1/products/"+id+"/", r.Header.Get("Location"))
	assert.Equal(t, "14.90", created["price"])
	assert.NotEqualValues(t, 70, created["sustainability_score"], "with metrics the score is computed")

	// Read, then change the price: the very next read shows the new price.
	h.do(req{Path: "/api/v1/products/?category=kitchen"})
	r = h.do(req{Method: http.MethodPatch, Path: "/api/v1/products/" + id + "/", Token: h.staff, Body: map[string]any{"price": 12.5}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "12.50", r.JSON(t)["price"])
	list := h.do(req{Path: "/api/v1/products/?category=kitchen"}).JSON(t)["results"].([]any)
	assert.Equal(t, "12.50", list[0].(map[string]any)["price"], "no stale price after a write")

	r = h.do(req{Method: http.MethodPut, Path: "/api/v1/products/" + id + "/", Token: h.staff,
		Body: map[string]any{"name": "Beeswax wraps XL", "category": "kitchen", "price": "16.00", "stock": 3}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	m := r.JSON(t)
	assert.Equal(t, "Beeswax wraps XL", m["name"])
	assert.Equal(t, "Set of 3", m["description"], "PUT keeps the optional fields it omits, as DRF does")
	assert.EqualValues(t, 3, m["stock"], "PUT changes the fields it sends")
	assert.NotNil(t, m["sustainability_metric"], "PUT without the metric keeps it")

	r = h.do(req{Method: http.MethodPatch, Path: "/api/v1/products/" + id + "/", Token: h.staff, Body: map[string]any{"sustainability_metric": nil, "sustainability_score": 33}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Nil(t, r.JSON(t)["sustainability_metric"])
	assert.EqualValues(t, 33, r.JSON(t)["sustainability_score"])

	assert.Equal(t, http.StatusForbidden, h.do(req{Method: http.MethodDelete, Path: "/api/v1/products/" + id + "/", Token: h.alice}).Status)
	assert.Equal(t, http.StatusNoContent, h.do(req{Method: http.MethodDelete, Path: "/api/v1/products/" + id + "/", Token: h.staff}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: "/api/v1/products/" + id + "/"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Method: http.MethodDelete, Path: "/api/v1/products/" + id + "/", Token: h.staff}).Status)
}

func TestV1AuthFlow(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/users/", Body: map[string]any{"email": "Carol@Example.org", "password": "long-enough-pw", "name": "Carol"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.Equal(t, "carol@example.org", r.JSON(t)["email"])
	assert.Equal(t, false, r.JSON(t)["is_staff"])

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/users", Body: map[string]any{"email": "carol@example.org", "password": "long-enough-pw", "name": "Carol"}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.JSON(t), "email")
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/users/", Body: map[string]any{"email": "dan@example.org", "password": "short", "name": "Dan"}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.JSON(t), "password")

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Body: map[string]any{"username": "carol@example.org", "password": "wrong-password"}})
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Equal(t, "No active account found with the given credentials", r.JSON(t)["detail"])
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Body: map[string]any{"username": "carol@example.org"}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, []any{"This field is required."}, r.JSON(t)["password"])

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Body: map[string]any{"email": "carol@example.org", "password": "long-enough-pw"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	tok := r.JSON(t)
	access, refresh := tok["access"].(string), tok["refresh"].(string)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))

	assert.Equal(t, http.StatusUnauthorized, h.do(req{Path: "/api/v1/users/me/"}).Status)
	r = h.do(req{Path: "/api/v1/users/me/", Token: access})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "Carol", r.JSON(t)["name"])

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/refresh/", Body: map[string]any{"refresh": refresh}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rotated := r.JSON(t)["refresh"].(string)
	assert.NotEqual(t, refresh, rotated)
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/refresh/", Body: map[string]any{"refresh": refresh}})
	assert.Equal(t, http.StatusUnauthorized, r.Status, "reuse is rejected")
	assert.Equal(t, "Token is invalid or expired", r.JSON(t)["detail"])
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/refresh/", Body: map[string]any{"refresh": rotated}})
	assert.Equal(t, http.StatusUnauthorized, r.Status, "reuse revoked the whole family")
}

func TestV1AuthRateLimit(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.AuthRateLimit.Burst = 2; c.AuthRateLimit.Rate = 1 }))
	body := map[string]any{"username": "nobody@example.org", "password": "whatever-it-is"}
	for range 2 {
		assert.Equal(t, http.StatusUnauthorized, h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Body: body}).Status)
	}
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Body: body})
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "nobody@example.org", "password": "whatever-it-is"}})
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "one budget per client IP across auth endpoints")
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
}

func TestV1Orders(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 5, metrics(200, true, true))
	brush := h.product("Bamboo brush", "personal-care", 450, 1, metrics(300, true, true))

	body := map[string]any{"items": []any{map[string]any{"product": soap.ID, "quantity": 2}, map[string]any{"product": brush.ID, "quantity": 1}}}
	assert.Equal(t, http.StatusUnauthorized, h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Body: body}).Status)

	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Body: body, Token: h.alice})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	o := r.JSON(t)
	id := o["id"].(string)
	assert.Equal(t, "pending", o["status"])
	assert.Equal(t, "11.50", o["total"])
	assert.EqualValues(t, 0.7, o["carbon_footprint"])
	items := o["items"].([]any)
	require.Len(t, items, 2)
	assert.Contains(t, items, map[string]any{"product": string(soap.ID), "name": "Olive soap", "quantity": 2.0, "unit_price": "3.50", "total": "7.00"})

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.bob, Body: map[string]any{"items": []any{map[string]any{"product": brush.ID, "quantity": 1}}}})
	require.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.JSON(t)["detail"], "Bamboo brush", "the detail names the product")

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.bob, Body: map[string]any{"items": []any{map[string]any{"product": soap.ID, "quantity": 0}}}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, map[string]any{"items": []any{map[string]any{"quantity": []any{"Ensure this value is greater than or equal to 1."}}}}, r.JSON(t), "nested like a DRF list serializer, in DRF's words")
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.bob, Body: map[string]any{}})
	assert.Equal(t, []any{"This field is required."}, r.JSON(t)["items"])

	// The background job confirms the order.
	require.Eventually(t, func() bool {
		return h.do(req{Path: "/api/v1/orders/" + id + "/", Token: h.alice}).JSON(t)["status"] == "confirmed"
	}, 10*time.Second, 10*time.Millisecond)

	list := h.do(req{Path: "/api/v1/orders/", Token: h.alice}).JSON(t)
	assert.EqualValues(t, 1, list["count"])
	assert.Nil(t, list["next"])
	assert.EqualValues(t, 0, h.do(req{Path: "/api/v1/orders/", Token: h.bob}).JSON(t)["count"], "customers see only their own orders")
	assert.Equal(t, http.StatusUnauthorized, h.do(req{Path: "/api/v1/orders/"}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: "/api/v1/orders/" + id + "/", Token: h.bob}).Status, "no existence leak")
	assert.Equal(t, http.StatusNotFound, h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/" + id + "/cancel/", Token: h.bob}).Status)

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/" + id + "/cancel/", Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "cancelled", r.JSON(t)["status"])
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/" + id + "/cancel", Token: h.alice})
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, r.JSON(t), "detail")

	p, err := h.catalog.Get(context.Background(), ecolaura.Anonymous, brush.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Stock, "cancelling restocked")
	assert.EqualValues(t, 1, h.do(req{Path: "/api/v1/products/" + string(brush.ID) + "/"}).JSON(t)["stock"], "and the API shows it at once")
}

func TestV1OrderPagination(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 100, nil)
	for range 3 {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.alice, Body: map[string]any{"items": []any{map[string]any{"product": soap.ID, "quantity": 1}}}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.bob, Body: map[string]any{"items": []any{map[string]any{"product": soap.ID, "quantity": 1}}}})
	m := h.do(req{Path: "/api/v1/orders/?page_size=2", Token: h.alice}).JSON(t)
	assert.EqualValues(t, 3, m["count"])
	assert.Len(t, m["results"], 2)
	assert.Equal(t, "http://example.com/api/v1/orders/?page=2&page_size=2", m["next"])
	m = h.do(req{Path: "/api/v1/orders/?page=2&page_size=2", Token: h.alice}).JSON(t)
	assert.Len(t, m["results"], 1)
	assert.Nil(t, m["next"])
	assert.Equal(t, "http://example.com/api/v1/orders/?page_size=2", m["previous"])
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: "/api/v1/orders/?page=3&page_size=2", Token: h.alice}).Status)
	assert.EqualValues(t, 4, h.do(req{Path: "/api/v1/orders/", Token: h.staff}).JSON(t)["count"], "staff see every order")
}

func TestV1NestedOrderErrors(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 5, nil)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.alice, Body: map[string]any{"items": []any{
		map[string]any{"product": soap.ID, "quantity": 1}, map[string]any{"product": "nope", "quantity": 1}}}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 2)
	assert.Equal(t, map[string]any{}, items[0], "a valid item has no errors, as in DRF")
	assert.Contains(t, items[1], "product")
}
