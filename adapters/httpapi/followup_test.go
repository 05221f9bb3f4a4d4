package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// TestV2PatchMetricsIsAMergePatch is the QA report's item 4: a v2 PATCH of
// metrics reset the sub-fields it omitted (recyclable, biodegradable to
// false), while v1 kept them. v2 PATCH follows JSON Merge Patch (RFC 7396)
// for nested objects, under application/json and
// application/merge-patch+json alike.
func TestV2PatchMetricsIsAMergePatch(t *testing.T) {
	h := newHarness(t)
	recycled := 30
	p := h.product("Cork mat", "home", 2400, 3, &ecolaura.SustainabilityMetrics{CarbonFootprint: 2500, Recyclable: true, Biodegradable: true,
		RecycledContent: &recycled, Certifications: []ecolaura.Certification{ecolaura.CertFSC}})
	path := "/api/v2/products/" + string(p.ID)
	metricsOf := func(r response) map[string]any {
		t.Helper()
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		return r.JSON(t)["sustainability"].(map[string]any)["metrics"].(map[string]any)
	}
	m := metricsOf(h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Body: map[string]any{"metrics": map[string]any{"carbon_footprint_kg": "2"}}}))
	assert.Equal(t, map[string]any{"carbon_footprint_kg": 2.0, "recyclable": true, "biodegradable": true, "recycled_content": 30.0,
		"certifications": []any{"fsc"}}, m, "only the footprint changed")

	m = metricsOf(h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Headers: map[string]string{"Content-Type": "application/merge-patch+json"},
		Body: `{"metrics": {"recyclable": false, "recycled_content": null}}`}))
	assert.Equal(t, map[string]any{"carbon_footprint_kg": 2.0, "recyclable": false, "biodegradable": true, "recycled_content": nil,
		"certifications": []any{"fsc"}}, m, "null removes a member")
	m = metricsOf(h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Body: `{"metrics": {"certifications": null}}`}))
	assert.Equal(t, []any{}, m["certifications"])
	m = metricsOf(h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Body: `{"metrics": {"certifications": ["fsc", "cradle-to-cradle"], "recycled_content": 55}}`}))
	assert.Equal(t, []any{"cradle-to-cradle", "fsc"}, m["certifications"], "a list is replaced as a whole")
	assert.EqualValues(t, 55, m["recycled_content"])

	pr := problem(t, h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Body: `{"metrics": {"recycled_content": "x", "certifications": [1], "colour": 1}}`}),
		http.StatusBadRequest, "invalid")
	assert.ElementsMatch(t, []string{"metrics.recycled_content", "metrics.certifications[0]", "metrics.colour"}, fieldsOf(pr))

	bare := h.product("Cup", "home", 300, 3, nil)
	pr = problem(t, h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(bare.ID), Token: h.staff, Body: `{"metrics": {"recyclable": true}}`}),
		http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"metrics.carbon_footprint_kg"}, fieldsOf(pr), "a product without metrics needs a footprint")
	m = metricsOf(h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(bare.ID), Token: h.staff, Body: `{"metrics": {"carbon_footprint_kg": 0.5, "recyclable": true}}`}))
	assert.Equal(t, map[string]any{"carbon_footprint_kg": 0.5, "recyclable": true, "biodegradable": false, "recycled_content": nil, "certifications": []any{}}, m)

	// v1 keeps what it omits too (it always did).
	r := h.do(req{Method: http.MethodPatch, Path: "/api/v1/products/" + string(p.ID) + "/", Token: h.staff, Body: `{"sustainability_metric": {"carbon_footprint": "1.5"}}`})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	stored, err := h.catalog.Get(t.Context(), ecolaura.Anonymous, p.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.CO2e(1500), stored.Metrics.CarbonFootprint)
	assert.True(t, stored.Metrics.Biodegradable)
	assert.EqualValues(t, 55, *stored.Metrics.RecycledContent)
}

// TestV2ScoreErrorReportedWithMetrics is the QA report's item 10: a v2
// POST with score 101 and metrics listed every field error except score.
func TestV2ScoreErrorReportedWithMetrics(t *testing.T) {
	h := newHarness(t)
	pr := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
		Body: `{"name": "", "category": "home", "price": {"amount": "1"}, "score": 101, "metrics": {"carbon_footprint_kg": "1"}}`}), http.StatusBadRequest, "invalid")
	assert.ElementsMatch(t, []string{"name", "score"}, fieldsOf(pr))
	pr = problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
		Body: `{"name": "Mug", "category": "home", "price": {"amount": "1"}, "score": 101, "metrics": {"carbon_footprint_kg": "1"}}`}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"score"}, fieldsOf(pr))
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff,
		Body: `{"name": "Mug", "category": "home", "price": "1", "sustainability_score": 101, "sustainability_metric": {"carbon_footprint": "1"}}`})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.JSON(t), "sustainability_score")
}

// TestAnonymousRequestsCreateNoUnboundedKeys is the QA report's item 3 over
// HTTP, with one cache for products and rendered responses as the server
// has: a 404 for a made-up product and lists with free-form numeric
// filters add no key.
func TestAnonymousRequestsCreateNoUnboundedKeys(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		h.product(fmt.Sprintf("Kettle %d", i), "kitchen", int64(1000+i), 5, metrics(int64(500+i), true, false))
	}
	cache := h.svc.ResponseCache.(*memory.Cache)
	for range 2 { // warm what is legitimately cached
		require.Equal(t, http.StatusOK, h.do(req{Path: "/api/v2/products?category=kitchen"}).Status)
	}
	tests := []struct {
		name string
		path func(i int) string
		want int
	}{
		{"v2 products that do not exist", func(int) string { return "/api/v2/products/" + string(system.UUIDv7{}.NewID()) }, http.StatusNotFound},
		{"v1 products that do not exist", func(int) string { return "/api/v1/products/" + string(system.UUIDv7{}.NewID()) + "/" }, http.StatusNotFound},
		{"alternatives of products that do not exist", func(int) string {
			return "/api/v2/products/" + string(system.UUIDv7{}.NewID()) + "/alternatives"
		}, http.StatusNotFound},
		{"min_price", func(i int) string { return fmt.Sprintf("/api/v2/products?min_price=%d.%02d", i/100, i%100) }, http.StatusOK},
		{"max_price", func(i int) string { return fmt.Sprintf("/api/v2/products?max_price=%d.%02d", 100+i, i%100) }, http.StatusOK},
		{"max_footprint_kg", func(i int) string { return fmt.Sprintf("/api/v2/products?max_footprint_kg=%d.%03d", 1+i, i) }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cache.Stats().Entries
			for i := range 50 {
				r := h.do(req{Path: tt.path(i)})
				require.Equal(t, tt.want, r.Status, "%s", r.Body)
			}
			assert.Equal(t, before, cache.Stats().Entries, "the requests added cache keys")
		})
	}
}

// TestOneDecimalRuleOverHTTP is the QA report's item 5: JSON-string
// decimals were trimmed while ?min_price=%201 was a 400, and min_price with
// excess precision answered another message than price.amount. White space
// around a decimal is ignored everywhere; inner space is refused
// everywhere; excess precision has one message.
func TestOneDecimalRuleOverHTTP(t *testing.T) {
	h := newHarness(t)
	h.product("Kettle", "kitchen", 1500, 5, metrics(500, true, false))
	for _, amount := range []string{" 1", "1 ", "\t1", "\n1.5", "1\u00a0"} {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
			Body: map[string]any{"name": "Mug", "category": "kitchen", "price": map[string]any{"amount": amount}}})
		assert.Equal(t, http.StatusCreated, r.Status, "v2 %q: %s", amount, r.Body)
		r = h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff,
			Body: map[string]any{"name": "Mug", "category": "kitchen", "price": amount}})
		assert.Equal(t, http.StatusCreated, r.Status, "v1 %q: %s", amount, r.Body)
	}
	for _, path := range []string{"/api/v2/products?min_price=%2010", "/api/v2/products?min_price=10%20&max_price=20%20", "/api/v2/products?max_footprint_kg=%091"} {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		assert.Len(t, r.JSON(t)["items"], 1, path)
	}
	amountMsg := func(r response) string {
		t.Helper()
		p := problem(t, r, http.StatusBadRequest, "invalid")
		errs := p["errors"].([]any)
		require.Len(t, errs, 1)
		return errs[0].(map[string]any)["message"].(string)
	}
	bodyMsg := amountMsg(h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
		Body: map[string]any{"name": "Mug", "category": "kitchen", "price": map[string]any{"amount": "12.001"}}}))
	assert.Equal(t, "must have at most 2 decimal places", bodyMsg)
	for _, name := range []string{"min_price", "max_price"} {
		assert.Equal(t, bodyMsg, amountMsg(h.do(req{Path: "/api/v2/products?" + name + "=12.001"})), name)
		assert.Equal(t, "must be a decimal number like 19.99", amountMsg(h.do(req{Path: "/api/v2/products?" + name + "=1%200"})), name)
		assert.Equal(t, "must not be negative", amountMsg(h.do(req{Path: "/api/v2/products?" + name + "=-1"})), name)
	}
}

// TestQueryParameters is the QA report's item 6: limit=0 gave the default
// page, a repeated parameter silently took its first value, and q was not
// trimmed.
func TestQueryParameters(t *testing.T) {
	h := newHarness(t)
	kettle := h.product("Bamboo kettle", "kitchen", 1500, 5, metrics(500, true, false))
	h.product("Bamboo spoon", "kitchen", 500, 5, nil)
	h.product("Hose", "garden", 2500, 5, nil)
	for _, path := range []string{
		"/api/v2/products?limit=0", "/api/v2/products?limit=101", "/api/v2/products?limit=-1",
		"/api/v2/orders?limit=0", "/api/v2/products/" + string(kettle.ID) + "/alternatives?limit=0",
		"/api/v2/products/" + string(kettle.ID) + "/alternatives?limit=51",
	} {
		p := problem(t, h.do(req{Path: path, Token: h.alice}), http.StatusBadRequest, "invalid")
		assert.Equal(t, []string{"limit"}, fieldsOf(p), path)
	}
	assert.Len(t, h.do(req{Path: "/api/v2/products?limit=1"}).JSON(t)["items"], 1)

	for _, tc := range []struct{ path, field string }{
		{"/api/v2/products?q=bamboo&q=ab%00c", "q"},
		{"/api/v2/products?q=ab%00c&q=bamboo", "q"},
		{"/api/v2/products?limit=2&limit=3", "limit"},
		{"/api/v2/products?category=kitchen&sort=price&category=garden", "category"},
		{"/api/v2/orders?limit=2&limit=2", "limit"},
		{"/api/v2/products/" + string(kettle.ID) + "/alternatives?limit=1&limit=2", "limit"},
	} {
		p := problem(t, h.do(req{Path: tc.path, Token: h.alice}), http.StatusBadRequest, "invalid")
		assert.Equal(t, []string{tc.field}, fieldsOf(p), tc.path)
		assert.Contains(t, string(must(json.Marshal(p))), "more than once", tc.path)
	}

	// v1: the last value wins, as Django's QueryDict.get.
	names := func(path string) []string {
		t.Helper()
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		var out []string
		for _, it := range r.JSON(t)["results"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"Hose"}, names("/api/v1/products/?category=kitchen&category=garden"))
	assert.Len(t, names("/api/v1/products/?page_size=1&page_size=2"), 2)
	assert.Len(t, names("/api/v1/products/?page_size=1&page=9&page=1"), 1)

	// q is trimmed.
	count := func(path string) int {
		t.Helper()
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		return len(r.JSON(t)["items"].([]any))
	}
	assert.Equal(t, 2, count("/api/v2/products?q=bamboo"))
	assert.Equal(t, 2, count("/api/v2/products?q=%20bamboo"))
	assert.Equal(t, 2, count("/api/v2/products?q=bamboo%20%09"))
	assert.Equal(t, 3, count("/api/v2/products?q=%20%20"), "a blank search is no search")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestV1NumbersFollowDRF is the QA report's item 9: v1 integer and decimal
// fields accept and refuse exactly what DRF's IntegerField and
// DecimalField do, with DRF's messages, and v1 messages name v1 fields.
// v2 keeps strict JSON types.
func TestV1NumbersFollowDRF(t *testing.T) {
	h := newHarness(t, withConfig(func(c *httpapi.Config) { c.WriteRateLimit.Burst = 1000 }))
	soap := h.product("Olive soap", "personal-care", 350, 1000, nil)
	brush := h.product("Bamboo brush", "personal-care", 450, 1000, nil)
	order := func(items string) response {
		t.Helper()
		return h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.alice, Body: `{"items": ` + items + `}`})
	}
	item := func(id ecolaura.ID, qty string) string {
		return `{"product": "` + string(id) + `", "quantity": ` + qty + `}`
	}

	for _, qty := range []string{`3`, `"3"`, `3.0`, `"3.0"`, `" 3 "`, `"+3"`, `"3."`, `"3.00 "`, `2.9999999999999999`} {
		r := order(`[` + item(soap.ID, qty) + `]`)
		require.Equal(t, http.StatusCreated, r.Status, "quantity %s: %s", qty, r.Body)
		assert.EqualValues(t, 3, r.JSON(t)["items"].([]any)[0].(map[string]any)["quantity"], qty)
	}
	invalid := []any{"A valid integer is required."}
	for _, qty := range []string{`1.5`, `"1.5"`, `"abc"`, `"1e3"`, `true`, `1e16`, `"3.0x"`, `"1__0"`, `""`} {
		r := order(`[` + item(soap.ID, `1`) + `, ` + item(brush.ID, qty) + `]`)
		require.Equal(t, http.StatusBadRequest, r.Status, "quantity %s: %s", qty, r.Body)
		assert.Equal(t, map[string]any{"items": []any{map[string]any{}, map[string]any{"quantity": invalid}}}, r.JSON(t), qty)
	}
	for qty, msg := range map[string]string{
		`0`: "Ensure this value is greater than or equal to 1.", `"-2"`: "Ensure this value is greater than or equal to 1.",
		`1001`: "Ensure this value is less than or equal to 1000.", `"99999999999999999999999"`: "Ensure this value is less than or equal to 1000.",
	} {
		r := order(`[` + item(soap.ID, qty) + `]`)
		require.Equal(t, http.StatusBadRequest, r.Status, "quantity %s: %s", qty, r.Body)
		assert.Equal(t, map[string]any{"items": []any{map[string]any{"quantity": []any{msg}}}}, r.JSON(t), qty)
	}
	r := order(`[` + item(soap.ID, `1`) + `, ` + item(soap.ID, `2`) + `]`)
	require.Equal(t, http.StatusBadRequest, r.Status)
	body := string(r.Body)
	assert.Contains(t, body, "duplicate of items[0]", "v1 messages name v1 fields")
	assert.NotContains(t, body, "lines")

	// Integer fields of products.
	create := func(extra string) response {
		t.Helper()
		return h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: `{"name": "Cup", "category": "kitchen", "price": "2.00"` + extra + `}`})
	}
	r = create(`, "stock": "12", "sustainability_score": 40.0`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.EqualValues(t, 12, r.JSON(t)["stock"])
	assert.EqualValues(t, 40, r.JSON(t)["sustainability_score"])
	r = create(`, "stock": -1, "sustainability_score": "101"`)
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, map[string]any{"stock": []any{"Ensure this value is greater than or equal to 0."},
		"sustainability_score": []any{"Ensure this value is less than or equal to 100."}}, r.JSON(t))
	r = create(`, "stock": 1000000001`)
	assert.Equal(t, map[string]any{"stock": []any{"Ensure this value is less than or equal to 1000000000."}}, r.JSON(t))

	// Decimal fields: DRF's DecimalField(max_digits=10, decimal_places=2).
	for price, want := range map[string]string{`"1e3"`: "1000.00", `"+1"`: "1.00", `".5"`: "0.50", `"5."`: "5.00", `19.990`: "19.99", `1e2`: "100.00", `" 7 "`: "7.00"} {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: `{"name": "Cup", "category": "kitchen", "price": ` + price + `}`})
		require.Equal(t, http.StatusCreated, r.Status, "price %s: %s", price, r.Body)
		assert.Equal(t, want, r.JSON(t)["price"], price)
	}
	for price, msg := range map[string]string{
		`"19.990"`:       "Ensure that there are no more than 2 decimal places.",
		`"123456789.00"`: "Ensure that there are no more than 10 digits in total.",
		`"123456789"`:    "Ensure that there are no more than 8 digits before the decimal point.",
		`1e16`:           "Ensure that there are no more than 10 digits in total.",
		`"NaN"`:          "A valid number is required.",
		`"Infinity"`:     "A valid number is required.",
		`"1 0"`:          "A valid number is required.",
		`"-1"`:           "Ensure this value is greater than or equal to 0.00.",
	} {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: `{"name": "Cup", "category": "kitchen", "price": ` + price + `}`})
		require.Equal(t, http.StatusBadRequest, r.Status, "price %s: %s", price, r.Body)
		assert.Equal(t, map[string]any{"price": []any{msg}}, r.JSON(t), price)
	}

	// v2 stays strict.
	pr := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Headers: map[string]string{"Idempotency-Key": "k1"},
		Body: `{"lines": [{"product_id": "` + string(soap.ID) + `", "quantity": "3"}]}`}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"lines[0].quantity"}, fieldsOf(pr))
}

// TestEmailLookAlikes is the QA report's item 11: "ada\u200b@example.org"
// (zero width space) and "ａda@example.org" (fullwidth) registered as new
// accounts next to ada@example.org. The first is refused, the second is
// ada@example.org, in registration and sign-in alike.
func TestEmailLookAlikes(t *testing.T) {
	h := newHarness(t, withFastHasher())
	register := func(path, email string) response {
		return h.do(req{Method: http.MethodPost, Path: path, Body: map[string]any{"email": email, "name": "Ada", "password": "ada-long-password"}})
	}
	require.Equal(t, http.StatusCreated, register("/api/v2/auth/register", "ada@example.org").Status)
	for _, path := range []string{"/api/v2/auth/register", "/api/v1/users/"} {
		r := register(path, "ada\u200b@example.org")
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		assert.Contains(t, string(r.Body), "valid email address", path)
		r = register(path, "\uff41da@example.org")
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		assert.Contains(t, string(r.Body), "user with this email already exists.", path)
	}
	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "\uff41da@\uff45xample.org", "password": "ada-long-password"}})
	require.Equal(t, http.StatusOK, r.Status, "the fullwidth form signs in to the account: %s", r.Body)
}

// TestNewRefusesTypedNilServices is the QA report's item 12 for the HTTP
// adapter: a typed nil service or optional dependency is refused by New.
func TestNewRefusesTypedNilServices(t *testing.T) {
	h := newHarness(t)
	for name, change := range map[string]func(*httpapi.Services){
		"users":          func(s *httpapi.Services) { s.Users = (*users.Service)(nil) },
		"catalog":        func(s *httpapi.Services) { s.Catalog = (*catalog.Service)(nil) },
		"rate_limiter":   func(s *httpapi.Services) { s.RateLimiter = (*memory.RateLimiter)(nil) },
		"response_cache": func(s *httpapi.Services) { s.ResponseCache = (*memory.Cache)(nil) },
	} {
		svc := h.svc
		change(&svc)
		_, err := httpapi.New(httpapi.DefaultConfig(), svc)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name+": is a nil", name)
	}
}
