package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
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
