package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippingMethodsOverHTTP(t *testing.T) {
	h := newHarness(t)
	const base = "/api/v2/shipping-methods"
	road := map[string]any{
		"name": "Standard parcel", "carrier": "DHL", "countries": []string{"de", "AT"},
		"price":         map[string]any{"type": "free_above", "amount": map[string]any{"amount": "4.90", "currency": "EUR"}, "free_above": map[string]any{"amount": "50", "currency": "EUR"}},
		"delivery_days": map[string]any{"min": 2, "max": 4},
		"footprint":     map[string]any{"preset": "road_parcel"},
	}
	assert.Equal(t, http.StatusUnauthorized, h.do(req{Method: "POST", Path: base, Body: road}).Status)
	assert.Equal(t, http.StatusForbidden, h.do(req{Method: "POST", Path: base, Token: h.alice, Body: road}).Status)
	r := h.do(req{Method: "POST", Path: base, Token: h.staff, Body: road})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	m := r.JSON(t)
	id := m["id"].(string)
	assert.Equal(t, []any{"AT", "DE"}, m["countries"])
	assert.Equal(t, map[string]any{"grams_per_parcel": float64(180), "grams_per_kg": float64(55)}, m["footprint"])
	assert.Equal(t, map[string]any{"amount": "4.90", "currency": "EUR"}, m["price"].(map[string]any)["amount"])
	assert.Equal(t, true, m["active"])

	bands := map[string]any{
		"name": "Bands", "carrier": "Post", "countries": []string{"FR"}, "active": false,
		"price": map[string]any{"type": "weight_bands", "bands": []any{
			map[string]any{"up_to_g": 1000, "price": map[string]any{"amount": "3.90", "currency": "EUR"}},
			map[string]any{"up_to_g": 5000, "price": map[string]any{"amount": 6.9, "currency": "EUR"}},
		}},
		"delivery_days": map[string]any{"min": 1, "max": 3},
		"footprint":     map[string]any{"grams_per_parcel": 100, "grams_per_kg": 20},
	}
	r = h.do(req{Method: "POST", Path: base, Token: h.staff, Body: bands})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	hidden := r.JSON(t)["id"].(string)

	r = h.do(req{Method: "POST", Path: base, Token: h.staff, Body: map[string]any{"name": "x", "carrier": "y", "countries": []string{"UK"},
		"price": map[string]any{"type": "flat", "amount": map[string]any{"amount": "1.999", "currency": "EUR"}}, "delivery_days": map[string]any{"min": 3, "max": 1},
		"footprint": map[string]any{"preset": "teleport"}}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	fields := map[string]bool{}
	for _, e := range r.JSON(t)["errors"].([]any) {
		fields[e.(map[string]any)["field"].(string)] = true
	}
	assert.True(t, fields["price.amount.amount"], "%v", fields)
	assert.Equal(t, http.StatusBadRequest, h.do(req{Method: "POST", Path: base, Token: h.staff, Body: map[string]any{"name": "x"}}).Status)

	r = h.do(req{Path: base})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, r.JSON(t)["items"], 1, "anonymous callers see the active methods")
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: base + "/" + hidden, Token: h.alice}).Status)
	assert.Equal(t, http.StatusForbidden, h.do(req{Path: base + "?include_inactive=true", Token: h.alice}).Status)
	r = h.do(req{Path: base + "?include_inactive=true&country=fr", Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, r.JSON(t)["items"], 1)
	assert.Equal(t, http.StatusBadRequest, h.do(req{Path: base + "?country=EU"}).Status)

	r = h.do(req{Method: "PATCH", Path: base + "/" + id, Token: h.staff, Body: map[string]any{"active": false, "footprint": map[string]any{"grams_per_parcel": 150, "grams_per_kg": 40}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, false, r.JSON(t)["active"])
	assert.EqualValues(t, 2, r.JSON(t)["version"])
	assert.Equal(t, http.StatusForbidden, h.do(req{Method: "PATCH", Path: base + "/" + id, Token: h.alice, Body: map[string]any{"active": true}}).Status)
	assert.Equal(t, http.StatusForbidden, h.do(req{Method: "DELETE", Path: base + "/" + id, Token: h.alice}).Status)
	require.Equal(t, http.StatusNoContent, h.do(req{Method: "DELETE", Path: base + "/" + id, Token: h.staff}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: base + "/" + id, Token: h.staff}).Status)

	r = h.do(req{Path: "/api/v2/audit-events?entity=shipping_method", Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Len(t, r.JSON(t)["items"], 4, "create, create, update, delete")
}

func TestTaxRatesOverHTTP(t *testing.T) {
	h := newHarness(t)
	const base = "/api/v2/tax-rates"
	assert.Equal(t, http.StatusForbidden, h.do(req{Method: "POST", Path: base, Token: h.alice, Body: map[string]any{"country": "DE", "class": "standard", "rate": "19"}}).Status)
	r := h.do(req{Method: "POST", Path: base, Token: h.staff, Body: map[string]any{"country": "de", "class": "standard", "rate": "19"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	std := r.JSON(t)
	assert.Equal(t, "19", std["rate"])
	assert.Equal(t, "DE", std["country"])
	r = h.do(req{Method: "POST", Path: base, Token: h.staff, Body: map[string]any{"country": "FR", "class": "reduced", "rate": 5.5}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.Equal(t, "5.5", r.JSON(t)["rate"])
	r = h.do(req{Method: "POST", Path: base, Token: h.staff, Body: map[string]any{"country": "DE", "class": "standard", "rate": "16"}})
	assert.Equal(t, http.StatusConflict, r.Status, "one rate per country and class: %s", r.Body)
	for _, bad := range []map[string]any{
		{"country": "DE", "class": "luxury", "rate": "19"},
		{"country": "DE", "class": "reduced", "rate": "101"},
		{"country": "DE", "class": "reduced", "rate": "7.00001"},
		{"country": "XX", "class": "reduced", "rate": "7"},
		{"country": "DE", "class": "reduced"},
	} {
		assert.Equal(t, http.StatusBadRequest, h.do(req{Method: "POST", Path: base, Token: h.staff, Body: bad}).Status, "%v", bad)
	}

	r = h.do(req{Path: base})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "inclusive", r.JSON(t)["tax_mode"])
	assert.Len(t, r.JSON(t)["items"], 2, "public")
	r = h.do(req{Path: base + "?country=fr"})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, r.JSON(t)["items"], 1)

	id := std["id"].(string)
	r = h.do(req{Method: "PATCH", Path: base + "/" + id, Token: h.staff, Body: map[string]any{"rate": "16"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "16", r.JSON(t)["rate"])
	r = h.do(req{Path: base + "/" + id})
	require.Equal(t, http.StatusOK, r.Status)
	assert.EqualValues(t, 2, r.JSON(t)["version"])
	assert.Equal(t, http.StatusForbidden, h.do(req{Method: "DELETE", Path: base + "/" + id, Token: h.bob}).Status)
	require.Equal(t, http.StatusNoContent, h.do(req{Method: "DELETE", Path: base + "/" + id, Token: h.staff}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: base + "/" + id}).Status)
}
