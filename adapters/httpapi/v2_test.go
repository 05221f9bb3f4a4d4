package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ports"
)

func problem(t *testing.T, r response, status int, kind string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, "%s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	p := r.JSON(t)
	assert.Equal(t, "urn:ecolaura:problem:"+kind, p["type"])
	assert.EqualValues(t, status, p["status"])
	assert.NotEmpty(t, p["title"])
	return p
}

func fieldsOf(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

func TestV2ProductListFiltersAndCursor(t *testing.T) {
	h := newHarness(t)
	for i := range 12 {
		h.product(fmt.Sprintf("Kitchen %02d", i), "kitchen", int64(1000+i*100), i%3, metrics(int64(500+i*250), i%2 == 0, i%3 == 0))
	}
	h.product("Hose", "garden", 2500, 4, nil)

	// Walk every page of a filtered, sorted list with a small limit.
	seen := map[string]bool{}
	var prices []string
	path := "/api/v2/products?category=kitchen&sort=price&limit=5"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var page struct {
			Items []struct {
				ID    string            `json:"id"`
				Price map[string]string `json:"price"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &page))
		for _, it := range page.Items {
			assert.False(t, seen[it.ID], "no duplicates across pages")
			seen[it.ID] = true
			prices = append(prices, it.Price["amount"])
			assert.Equal(t, "EUR", it.Price["currency"])
		}
		if page.NextCursor == nil {
			break
		}
		path = "/api/v2/products?category=kitchen&sort=price&limit=5&cursor=" + *page.NextCursor
	}
	assert.Len(t, seen, 12)
	assert.Equal(t, "10.00", prices[0])
	assert.Equal(t, "21.00", prices[11])

	count := func(q string) int {
		t.Helper()
		r := h.do(req{Path: "/api/v2/products?limit=100&" + q})
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", q, r.Body)
		return len(r.JSON(t)["items"].([]any))
	}
	assert.Equal(t, 13, count(""))
	assert.Equal(t, 1, count("category=garden"))
	assert.Equal(t, 6, count("recyclable=true"))
	assert.Equal(t, 4, count("biodegradable=true"))
	assert.Equal(t, 9, count("in_stock=true"))
	assert.Equal(t, 2, count("min_price=10.50&max_price=12.00&category=kitchen"))
	assert.Equal(t, 3, count("max_footprint_kg=1.0"))
	assert.Equal(t, 1, count("q=hose"))
	assert.Equal(t, 13, count("sort=score"))
	assert.Equal(t, 13, count("sort=-price"))
	assert.Equal(t, 13, count("sort=footprint"))
	assert.Equal(t, 13, count("sort=newest"))

	tests := []struct {
		query  string
		fields []string
	}{
		{"colour=green", []string{"colour"}},
		{"min_score=high", []string{"min_score"}},
		{"min_score=101", []string{"min_score"}},
		{"recyclable=maybe", []string{"recyclable"}},
		{"min_price=1.999", []string{"min_price"}},
		{"max_footprint_kg=-1", []string{"max_footprint_kg"}},
		{"sort=random", []string{"sort"}},
		{"limit=1000", []string{"limit"}},
		{"cursor=garbage", []string{"cursor"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			p := problem(t, h.do(req{Path: "/api/v2/products?" + tc.query}), http.StatusBadRequest, "invalid")
			assert.Equal(t, tc.fields, fieldsOf(p))
		})
	}
}

func TestV2ProductShape(t *testing.T) {
	h := newHarness(t)
	rc := 40
	p := h.product("Notebook", "office", 850, 3, &ecolaura.SustainabilityMetrics{CarbonFootprint: 350, Recyclable: true, Biodegradable: true,
		RecycledContent: &rc, Certifications: []ecolaura.Certification{ecolaura.CertFSC}})
	bare := h.product("Stapler", "office", 1200, 0, nil)

	r := h.do(req{Path: "/api/v2/products/" + string(p.ID)})
	require.Equal(t, http.StatusOK, r.Status)
	m := r.JSON(t)
	assert.Equal(t, map[string]any{"amount": "8.50", "currency": "EUR"}, m["price"])
	assert.Equal(t, true, m["in_stock"])
	sus := m["sustainability"].(map[string]any)
	assert.Equal(t, true, sus["computed"])
	assert.Equal(t, ecolaura.ScoreFormulaVersion, sus["formula_version"])
	comps := sus["components"].([]any)
	total := 0.0
	for _, c := range comps {
		total += c.(map[string]any)["points"].(float64)
	}
	assert.Equal(t, sus["score"], total, "the breakdown adds up to the score")
	assert.Equal(t, map[string]any{"carbon_footprint_kg": 0.35, "recyclable": true, "biodegradable": true, "recycled_content": 40.0, "certifications": []any{"fsc"}}, sus["metrics"])

	etag := r.Header.Get("ETag")
	assert.Equal(t, http.StatusNotModified, h.do(req{Path: "/api/v2/products/" + string(p.ID), Headers: map[string]string{"If-None-Match": etag}}).Status)

	m = h.do(req{Path: "/api/v2/products/" + string(bare.ID)}).JSON(t)
	sus = m["sustainability"].(map[string]any)
	assert.Equal(t, false, sus["computed"])
	assert.Nil(t, sus["metrics"])
	assert.Nil(t, sus["formula_version"])
	assert.Equal(t, []any{}, sus["components"])
	assert.Equal(t, false, m["in_stock"])

	problem(t, h.do(req{Path: "/api/v2/products/01234567-89ab-7def-8123-456789abcdef"}), http.StatusNotFound, "not-found")
}

func TestV2AlternativesAndCategories(t *testing.T) {
	h := newHarness(t)
	base := h.product("Plastic bottle", "kitchen", 300, 10, metrics(3000, false, false))
	better := h.product("Steel bottle", "kitchen", 2000, 10, metrics(1500, true, false))
	h.product("Worse bottle", "kitchen", 100, 10, metrics(9000, false, false))
	h.product("Garden bottle", "garden", 100, 10, metrics(100, true, true))

	r := h.do(req{Path: "/api/v2/products/" + string(base.ID) + "/alternatives"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 1)
	alt := items[0].(map[string]any)
	assert.Equal(t, string(better.ID), alt["product"].(map[string]any)["id"])
	assert.EqualValues(t, 1.5, alt["footprint_saving_kg"])
	assert.Greater(t, alt["score_gain"].(float64), 0.0)

	problem(t, h.do(req{Path: "/api/v2/products/" + string(base.ID) + "/alternatives?limit=500"}), http.StatusBadRequest, "invalid")
	problem(t, h.do(req{Path: "/api/v2/products/01234567-89ab-7def-8123-456789abcdef/alternatives"}), http.StatusNotFound, "not-found")

	r = h.do(req{Path: "/api/v2/categories"})
	require.Equal(t, http.StatusOK, r.Status)
	cats := r.JSON(t)["items"].([]any)
	require.Len(t, cats, 2)
	k := cats[1].(map[string]any)
	assert.Equal(t, "kitchen", k["category"])
	assert.EqualValues(t, 3, k["products"])
	assert.EqualValues(t, 4.5, k["average_footprint_kg"])
	assert.NotEmpty(t, r.Header.Get("ETag"))
}

func TestV2ProductWrites(t *testing.T) {
	h := newHarness(t)
	body := map[string]any{"name": "Cork mat", "category": "home", "price": map[string]any{"amount": "24.00", "currency": "EUR"}, "stock": 7,
		"metrics": map[string]any{"carbon_footprint_kg": "2.5", "recyclable": true, "biodegradable": true, "recycled_content": 30, "certifications": []string{"fsc"}}}
	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Body: body}), http.StatusUnauthorized, "unauthenticated")
	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Body: body, Token: h.alice}), http.StatusForbidden, "forbidden")

	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: map[string]any{"name": "x", "category": "home", "price": map[string]any{"amount": "1"}, "colour": "red"}}),
		http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"colour"}, fieldsOf(p), "v2 rejects unknown fields")
	p = problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: `{"name": 5}`}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"category", "name", "price"}, fieldsOf(p), "a mistyped field and the missing ones, at once")
	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: `{"name": `}), http.StatusBadRequest, "malformed-json")

	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: body})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	m := r.JSON(t)
	id := m["id"].(string)
	assert.EqualValues(t, 1, m["version"])
	assert.Equal(t, "http://example.com/api/v2/products/"+id, r.Header.Get("Location"))

	r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + id, Token: h.staff, Body: map[string]any{"stock": 0, "version": 1}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, false, r.JSON(t)["in_stock"])
	problem(t, h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + id, Token: h.staff, Body: map[string]any{"stock": 1, "version": 1}}), http.StatusConflict, "conflict")
	r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + id, Token: h.staff, Body: map[string]any{"metrics": nil}})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Nil(t, r.JSON(t)["sustainability"].(map[string]any)["metrics"])

	assert.Equal(t, http.StatusNoContent, h.do(req{Method: http.MethodDelete, Path: "/api/v2/products/" + id, Token: h.staff}).Status)
	problem(t, h.do(req{Path: "/api/v2/products/" + id}), http.StatusNotFound, "not-found")
}

func TestV2Auth(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": "erin@example.org", "password": "erins-long-password", "name": "Erin"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.Equal(t, "customer", r.JSON(t)["role"])
	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": "x", "password": "p", "name": "", "admin": true}}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"admin", "email", "name", "password"}, fieldsOf(p), "the unknown field and every invalid one, at once")
	p = problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": "x", "password": "p", "name": ""}}), http.StatusBadRequest, "invalid")
	assert.Subset(t, fieldsOf(p), []string{"email", "password", "name"})

	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "erin@example.org", "password": "nope-nope-nope"}}), http.StatusUnauthorized, "unauthenticated")
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "erin@example.org", "password": "erins-long-password"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	tok := r.JSON(t)
	assert.Equal(t, "Bearer", tok["token_type"])
	assert.Greater(t, tok["expires_in"].(float64), 0.0)

	me := h.do(req{Path: "/api/v2/users/me", Token: tok["access_token"].(string)})
	require.Equal(t, http.StatusOK, me.Status)
	assert.Equal(t, "erin@example.org", me.JSON(t)["email"])

	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/refresh", Body: map[string]any{"refresh_token": tok["refresh_token"]}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	next := r.JSON(t)["refresh_token"].(string)
	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/refresh", Body: map[string]any{"refresh_token": tok["refresh_token"]}}), http.StatusUnauthorized, "unauthenticated")

	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "erin@example.org", "password": "erins-long-password"}})
	fresh := r.JSON(t)["refresh_token"].(string)
	assert.Equal(t, http.StatusNoContent, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/logout", Body: map[string]any{"refresh_token": fresh}}).Status)
	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/refresh", Body: map[string]any{"refresh_token": fresh}}), http.StatusUnauthorized, "unauthenticated")
	problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/logout", Body: map[string]any{}}), http.StatusBadRequest, "invalid")
	_ = next

	r = h.do(req{Path: "/.well-known/jwks.json"})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "application/jwk-set+json", r.Header.Get("Content-Type"))
	keys := r.JSON(t)["keys"].([]any)
	require.Len(t, keys, 1)
	assert.Equal(t, "OKP", keys[0].(map[string]any)["kty"])
	assert.NotContains(t, keys[0], "d", "never the private key")
}

func TestV2OrdersIdempotency(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 100, metrics(200, true, true))
	body := map[string]any{"lines": []any{map[string]any{"product_id": soap.ID, "quantity": 2}}}
	create := func(token, key string, b any) response {
		return h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: token, Body: b, Headers: map[string]string{"Idempotency-Key": key}})
	}

	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Body: body}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"Idempotency-Key"}, fieldsOf(p))
	problem(t, create(h.alice, strings.Repeat("k", 300), body), http.StatusBadRequest, "invalid")
	problem(t, create("", "k1", body), http.StatusUnauthorized, "unauthenticated")
	p = problem(t, create(h.alice, "k0", map[string]any{"lines": []any{map[string]any{"product_id": soap.ID, "quantity": 1}}, "coupon": "FREE"}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"coupon"}, fieldsOf(p))

	first := create(h.alice, "k1", body)
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	o := first.JSON(t)
	assert.Equal(t, map[string]any{"amount": "7.00", "currency": "EUR"}, o["total"])
	assert.Equal(t, "pending", o["status"])

	// Let the job confirm it: a replay still returns the original response.
	require.Eventually(t, func() bool {
		return h.do(req{Path: "/api/v2/orders/" + o["id"].(string), Token: h.alice}).JSON(t)["status"] == "confirmed"
	}, 10*time.Second, 10*time.Millisecond)
	replay := create(h.alice, "k1", body)
	require.Equal(t, http.StatusCreated, replay.Status)
	assert.Equal(t, string(first.Body), string(replay.Body))
	assert.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))

	problem(t, create(h.alice, "k1", map[string]any{"lines": []any{map[string]any{"product_id": soap.ID, "quantity": 3}}}), http.StatusUnprocessableEntity, "idempotency-mismatch")
	// Keys are scoped to the user.
	assert.Equal(t, http.StatusCreated, create(h.bob, "k1", body).Status)

	// Concurrent retries of one key create exactly one order; the others
	// are replays (201) or told the first is still in flight (409).
	var wg sync.WaitGroup
	results := make([]response, 10)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = create(h.alice, "k-concurrent", body)
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range results {
		switch r.Status {
		case http.StatusCreated:
			ids[r.JSON(t)["id"].(string)] = true
		case http.StatusConflict:
			assert.Equal(t, "urn:ecolaura:problem:conflict", r.JSON(t)["type"])
		default:
			t.Fatalf("unexpected status %d: %s", r.Status, r.Body)
		}
	}
	assert.Len(t, ids, 1)
	list := h.do(req{Path: "/api/v2/orders", Token: h.alice}).JSON(t)
	assert.Len(t, list["items"], 2)
	assert.Nil(t, list["next_cursor"])
}

func TestV2OrderActionsAndErrors(t *testing.T) {
	h := newHarness(t)
	brush := h.product("Bamboo brush", "personal-care", 450, 2, metrics(300, true, true))
	create := func(token, key string, qty int) response {
		return h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: token, Headers: map[string]string{"Idempotency-Key": key},
			Body: map[string]any{"lines": []any{map[string]any{"product_id": brush.ID, "quantity": qty}}, "carbon_offset": true}})
	}
	p := problem(t, create(h.bob, "big", 3), http.StatusConflict, "insufficient-stock")
	assert.Equal(t, string(brush.ID), p["product_id"])
	assert.EqualValues(t, 3, p["requested"])
	assert.EqualValues(t, 2, p["available"])
	assert.Contains(t, p["detail"], "Bamboo brush")
	p = problem(t, create(h.bob, "zero", 0), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"lines[0].quantity"}, fieldsOf(p))

	r := create(h.alice, "a1", 1)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	o := r.JSON(t)
	require.NotNil(t, o["carbon_offset"])
	id := o["id"].(string)
	path := "/api/v2/orders/" + id

	problem(t, h.do(req{Path: path, Token: h.bob}), http.StatusNotFound, "not-found")
	problem(t, h.do(req{Method: http.MethodPost, Path: path + "/ship", Token: h.alice}), http.StatusForbidden, "forbidden")
	require.Eventually(t, func() bool { return h.do(req{Path: path, Token: h.alice}).JSON(t)["status"] == "confirmed" }, 10*time.Second, 10*time.Millisecond)
	problem(t, h.do(req{Method: http.MethodPost, Path: path + "/deliver", Token: h.staff}), http.StatusConflict, "invalid-transition")
	r = h.do(req{Method: http.MethodPost, Path: path + "/ship", Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "shipped", r.JSON(t)["status"])
	problem(t, h.do(req{Method: http.MethodPost, Path: path + "/cancel", Token: h.alice}), http.StatusConflict, "invalid-transition")
	r = h.do(req{Method: http.MethodPost, Path: path + "/deliver", Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "delivered", r.JSON(t)["status"])

	m := h.scrape()
	assert.Contains(t, m, "ecolaura_orders_placed_total 1")
	assert.Contains(t, m, "ecolaura_stock_conflicts_total 1")

	all := h.do(req{Path: "/api/v2/orders?limit=1", Token: h.staff})
	require.Equal(t, http.StatusOK, all.Status, "%s", all.Body)
	problem(t, h.do(req{Path: "/api/v2/orders?page=2", Token: h.staff}), http.StatusBadRequest, "invalid")
	problem(t, h.do(req{Path: "/api/v2/orders?limit=1000", Token: h.staff}), http.StatusBadRequest, "invalid")
}

// TestRenderedResponsesStayFresh warms the rendered-response cache, changes
// stock through a checkout and price through an edit, and expects the very
// next reads to show both.
func TestRenderedResponsesStayFresh(t *testing.T) {
	h := newHarness(t)
	p := h.product("Olive soap", "personal-care", 350, 10, metrics(200, true, true))
	detail := "/api/v2/products/" + string(p.ID)
	list := "/api/v1/products/?category=personal-care"
	for range 2 {
		require.EqualValues(t, 10, h.do(req{Path: detail}).JSON(t)["stock"])
		require.EqualValues(t, 10, h.do(req{Path: list}).JSON(t)["results"].([]any)[0].(map[string]any)["stock"])
	}
	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Headers: map[string]string{"Idempotency-Key": "fresh"},
		Body: map[string]any{"lines": []any{map[string]any{"product_id": p.ID, "quantity": 3}}}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.EqualValues(t, 7, h.do(req{Path: detail}).JSON(t)["stock"])
	assert.EqualValues(t, 7, h.do(req{Path: list}).JSON(t)["results"].([]any)[0].(map[string]any)["stock"])

	r = h.do(req{Method: http.MethodPatch, Path: detail, Token: h.staff, Body: map[string]any{"price": map[string]any{"amount": "3.90"}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "3.90", h.do(req{Path: detail}).JSON(t)["price"].(map[string]any)["amount"])
	assert.Equal(t, "3.90", h.do(req{Path: list}).JSON(t)["results"].([]any)[0].(map[string]any)["price"])

	// A new product appears in the cached list at once.
	h.product("Olive soap refill", "personal-care", 300, 5, nil)
	assert.EqualValues(t, 2, h.do(req{Path: list}).JSON(t)["count"])
}

// gatedDB holds every transaction at its start until the gate opens.
type gatedDB struct {
	ports.Database
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedDB) Do(ctx context.Context, fn func(context.Context, ports.Tx) error) error {
	g.entered <- struct{}{}
	<-g.gate
	return g.Database.Do(ctx, fn)
}

// TestV2OrderRetryInFlightIsConflict holds the first checkout inside its
// transaction and retries it with the same key: the retry is told 409, and
// the first request then completes with 201.
func TestV2OrderRetryInFlightIsConflict(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 10, nil)
	gated := &gatedDB{Database: h.db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	ord, err := orders.New(gated, system.Clock{}, system.UUIDv7{}, orders.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	svc := h.svc
	svc.Orders = ord
	srv, err := httpapi.New(h.cfg, svc, httpapi.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	h.srv = srv

	body := map[string]any{"lines": []any{map[string]any{"product_id": soap.ID, "quantity": 1}}}
	first := make(chan response, 1)
	go func() {
		first <- h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Body: body, Headers: map[string]string{"Idempotency-Key": "slow"}})
	}()
	<-gated.entered
	retry := h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Body: body, Headers: map[string]string{"Idempotency-Key": "slow"}})
	p := problem(t, retry, http.StatusConflict, "conflict")
	assert.NotEmpty(t, p["detail"])
	close(gated.gate)
	r := <-first
	assert.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
}

// TestRegisterTakenEmail pins the contract of registering an email that is
// already taken (in another letter case): both versions answer 400 with a
// field error on "email" in DRF's wording, as the original API did.
func TestRegisterTakenEmail(t *testing.T) {
	h := newHarness(t)
	h.account("taken@example.org", "Taken", ecolaura.RoleCustomer)
	body := map[string]any{"email": "Taken@Example.org", "password": "long-enough-pw", "name": "Other"}

	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/users/", Body: body})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	assert.JSONEq(t, `{"email": ["user with this email already exists."]}`, string(r.Body))

	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: body}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []any{map[string]any{"field": "email", "message": "user with this email already exists."}}, p["errors"])
	assert.Equal(t, "1 field(s) are invalid", p["detail"])
}
