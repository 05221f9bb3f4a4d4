package httpapi_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// orderKeys makes unique idempotency keys.
var orderKeys atomic.Int64

func (h *harness) orderV2(token string, lines ...map[string]any) response {
	h.t.Helper()
	items := make([]any, len(lines))
	for i, l := range lines {
		items[i] = l
	}
	return h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: token, Body: map[string]any{"lines": items},
		Headers: map[string]string{"Idempotency-Key": fmt.Sprintf("order-%d", orderKeys.Add(1))}})
}

func TestV2OrderVariants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		tee := h.createTee("ORD")
		vs := variantsOf(tee)
		sOat, mOat := vs[0]["id"].(string), vs[1]["id"].(string)
		soap := h.product("Soap bar", "bath", 450, 9, nil)

		r := h.orderV2(h.alice, map[string]any{"variant_id": mOat, "quantity": 2}, map[string]any{"variant_id": sOat, "quantity": 1})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		o := r.JSON(t)
		lines := o["lines"].([]any)
		require.Len(t, lines, 2)
		first := lines[0].(map[string]any)
		assert.Equal(t, mOat, first["variant_id"])
		assert.Equal(t, tee["id"], first["product_id"])
		assert.Equal(t, "ORD-M-OAT", first["sku"])
		assert.Equal(t, "Organic tee (M / oat)", first["name"])
		assert.Equal(t, map[string]any{"amount": "27.50", "currency": "EUR"}, first["unit_price"], "the variant's price")
		assert.Equal(t, map[string]any{"amount": "80.00", "currency": "EUR"}, o["subtotal"])

		r = h.do(req{Path: "/api/v2/orders/" + o["id"].(string), Token: h.alice})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, o["lines"], r.JSON(t)["lines"])
		r = h.do(req{Path: "/api/v2/variants/" + mOat + "/inventory", Token: h.staff})
		assert.EqualValues(t, 1, r.JSON(t)["available"], "the sale took the variant's stock")
		r = h.do(req{Path: "/api/v2/variants/" + mOat + "/inventory/movements", Token: h.staff})
		sale := r.JSON(t)["items"].([]any)[0].(map[string]any)
		assert.Equal(t, "sale", sale["reason"])
		assert.Equal(t, o["id"], sale["order_id"])
		assert.EqualValues(t, -2, sale["delta"])

		t.Run("a single-variant product by its ID", func(t *testing.T) {
			r := h.orderV2(h.alice, map[string]any{"product_id": string(soap.ID), "quantity": 2})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			l := r.JSON(t)["lines"].([]any)[0].(map[string]any)
			assert.Equal(t, string(soap.ID), l["product_id"])
			assert.Equal(t, string(soap.Variants[0].ID), l["variant_id"])
			assert.Nil(t, l["sku"])
		})

		t.Run("v1 orders by product buy the default variant", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.bob,
				Body: map[string]any{"items": []any{map[string]any{"product": tee["id"], "quantity": 1}}}})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			item := r.JSON(t)["items"].([]any)[0].(map[string]any)
			assert.Equal(t, tee["id"], item["product"])
			assert.Equal(t, "25.00", item["unit_price"], "the default variant's price")
			r = h.do(req{Path: "/api/v2/variants/" + sOat + "/inventory", Token: h.staff})
			assert.EqualValues(t, 3, r.JSON(t)["available"])
		})

		draft := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: map[string]any{
			"name": "Next season", "category": "apparel", "price": map[string]any{"amount": "5.00"}, "stock": 5, "status": "draft"}}).JSON(t)
		archived := h.createTee("ARC")
		r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + archived["id"].(string), Token: h.staff, Body: map[string]any{"status": "archived"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		archivedVariant := variantsOf(archived)[0]["id"].(string)

		tests := []struct {
			name    string
			lines   []map[string]any
			status  int
			kind    string
			fields  []string
			message string
		}{
			{"a product with several variants by its ID", []map[string]any{{"product_id": tee["id"], "quantity": 1}}, 400, "invalid", []string{"lines[0].product_id"}, "variants"},
			{"neither variant nor product", []map[string]any{{"quantity": 1}}, 400, "invalid", []string{"lines[0].variant_id"}, ""},
			{"both variant and product", []map[string]any{{"variant_id": sOat, "product_id": tee["id"], "quantity": 1}}, 400, "invalid", []string{"lines[0]"}, ""},
			{"unknown variant", []map[string]any{{"variant_id": string(porttest.NewID()), "quantity": 1}}, 400, "invalid", []string{"lines[0].variant_id"}, "does not exist"},
			{"variant not a UUID", []map[string]any{{"variant_id": "xl", "quantity": 1}}, 400, "invalid", []string{"lines[0].variant_id"}, ""},
			{"variant a number", []map[string]any{{"variant_id": 7, "quantity": 1}}, 400, "invalid", []string{"lines[0].variant_id"}, ""},
			{"same variant twice", []map[string]any{{"variant_id": sOat, "quantity": 1}, {"variant_id": sOat, "quantity": 1}}, 400, "invalid", []string{"lines[1].variant_id"}, ""},
			{"a draft product", []map[string]any{{"product_id": draft["id"], "quantity": 1}}, 400, "invalid", []string{"lines[0].product_id"}, "does not exist"},
			{"an archived product's variant", []map[string]any{{"variant_id": archivedVariant, "quantity": 1}}, 400, "invalid", []string{"lines[0].variant_id"}, "archived"},
			{"more than the variant has", []map[string]any{{"variant_id": mOat, "quantity": 2}}, 409, "insufficient-stock", nil, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.orderV2(h.alice, tc.lines...)
				p := problem(t, r, tc.status, tc.kind)
				if tc.fields != nil {
					assert.Equal(t, tc.fields, fieldsOf(p))
				}
				if tc.message != "" {
					assert.Contains(t, p["errors"].([]any)[0].(map[string]any)["message"], tc.message)
				}
			})
		}
	})
}
