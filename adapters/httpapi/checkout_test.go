package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

// quoteShop sets up three methods delivering to DE (road, bike, air, flat
// prices), one to FR only, one inactive to DE, the DE standard rate of
// 19 %, and two products: 19.99 (1,200 g CO2e, 500 g) and 5.00 (300 g
// CO2e, 1,500 g). It returns the variant IDs of the products.
func (h *harness) quoteShop() (a, b string) {
	h.t.Helper()
	method := func(name, preset, price string, countries []string, active bool) {
		r := h.do(req{Method: "POST", Path: "/api/v2/shipping-methods", Token: h.staff, Body: map[string]any{
			"name": name, "carrier": "Carrier " + name, "countries": countries, "active": active,
			"price":         map[string]any{"type": "flat", "amount": map[string]any{"amount": price, "currency": "EUR"}},
			"delivery_days": map[string]any{"min": 1, "max": 3}, "footprint": map[string]any{"preset": preset}}})
		require.Equal(h.t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	method("Road", "road_parcel", "4.90", []string{"DE", "AT"}, true)
	method("Bike", "bike_courier", "6.90", []string{"DE"}, true)
	method("Air", "air_express", "14.90", []string{"DE", "FR"}, true)
	method("Rail FR", "rail", "3.90", []string{"FR"}, true)
	method("Old road", "road_parcel", "1.00", []string{"DE"}, false)
	r := h.do(req{Method: "POST", Path: "/api/v2/tax-rates", Token: h.staff, Body: map[string]any{"country": "DE", "class": "standard", "rate": "19"}})
	require.Equal(h.t, http.StatusCreated, r.Status, "%s", r.Body)
	weigh := func(p ecolaura.Product, g int) string {
		id := p.DefaultVariant().ID
		_, err := h.catalog.UpdateVariant(context.Background(), ecolaura.System(), id, catalog.VariantPatch{WeightG: &g})
		require.NoError(h.t, err)
		return string(id)
	}
	a = weigh(h.product("Jar", "kitchen", 1999, 50, metrics(1200, true, false)), 500)
	b = weigh(h.product("Brush", "bath", 500, 50, metrics(300, true, true)), 1500)
	return a, b
}

func money(amount string) map[string]any { return map[string]any{"amount": amount, "currency": "EUR"} }

func TestV2CheckoutQuote(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		for _, tc := range []struct {
			mode                ecolaura.TaxMode
			jarTax, brushTax    string
			shipTax, tax, total string
		}{
			// 59.97 × 19/119 = 9.575…; 10.00 × 19/119 = 1.596…; 6.90 × 19/119 = 1.101…
			{ecolaura.TaxInclusive, "9.58", "1.60", "1.10", "12.28", "76.87"},
			// 59.97 × 0.19 = 11.394…; 10.00 × 0.19; 6.90 × 0.19 = 1.311
			{ecolaura.TaxExclusive, "11.39", "1.90", "1.31", "14.60", "91.47"},
		} {
			t.Run(string(tc.mode), func(t *testing.T) {
				h := newHarness(t, withStore(st), withoutRateLimits(), withTaxMode(tc.mode))
				jar, brush := h.quoteShop()
				body := map[string]any{"lines": []any{map[string]any{"variant_id": jar, "quantity": 3}, map[string]any{"variant_id": brush, "quantity": 2}},
					"shipping_address": map[string]any{"country": "de", "city": "Berlin"}}
				r := h.do(req{Method: "POST", Path: "/api/v2/checkout/quote", Body: body})
				require.Equal(t, http.StatusOK, r.Status, "anyone may ask: %s", r.Body)
				q := r.JSON(t)
				assert.Equal(t, "EUR", q["currency"])
				assert.EqualValues(t, 4500, q["weight_g"])
				assert.Equal(t, string(tc.mode), q["tax_mode"])
				opts := q["shipping_options"].([]any)
				require.Len(t, opts, 3, "the active methods serving DE")
				var names []string
				for _, o := range opts {
					names = append(names, o.(map[string]any)["name"].(string))
				}
				assert.Equal(t, []string{"Bike", "Road", "Air"}, names, "the greenest first")
				bike, road, air := opts[0].(map[string]any), opts[1].(map[string]any), opts[2].(map[string]any)
				assert.Equal(t, true, bike["greenest"])
				assert.Equal(t, false, road["greenest"])
				assert.EqualValues(t, 20, bike["footprint_g"])
				assert.EqualValues(t, 180+248, road["footprint_g"], "180 g + 55 g/kg × 4.5 kg")
				assert.EqualValues(t, 250+6750, air["footprint_g"])
				assert.Equal(t, money("6.90"), bike["price"])
				assert.Equal(t, map[string]any{"min": float64(1), "max": float64(3)}, bike["delivery_days"])

				tot := bike["totals"].(map[string]any)
				assert.Equal(t, money("69.97"), tot["subtotal"])
				assert.Equal(t, money("6.90"), tot["shipping"])
				assert.Equal(t, money("0.00"), tot["offset"])
				assert.Equal(t, money(tc.total), tot["total"])
				tax := tot["tax"].(map[string]any)
				assert.Equal(t, string(tc.mode), tax["mode"])
				assert.Equal(t, money(tc.tax), tax["total"])
				lines := tax["lines"].([]any)
				require.Len(t, lines, 3)
				assert.Equal(t, map[string]any{"variant_id": jar, "class": "standard", "rate": "19", "base": money("59.97"), "tax": money(tc.jarTax)}, lines[0])
				assert.Equal(t, map[string]any{"variant_id": brush, "class": "standard", "rate": "19", "base": money("10.00"), "tax": money(tc.brushTax)}, lines[1])
				assert.Equal(t, map[string]any{"variant_id": nil, "class": "standard", "rate": "19", "base": money("6.90"), "tax": money(tc.shipTax)}, lines[2])
				assert.Equal(t, []any{map[string]any{"class": "standard", "rate": "19", "base": money("76.87"), "tax": money(tc.tax)}}, tax["rates"])
				assert.Equal(t, map[string]any{"products_g": float64(4200), "delivery_g": float64(20), "total_g": float64(4220)}, tot["footprint"])

				// With the offset: 4,220 g at 0.02 per kg = 0.0844, rounded up.
				body["carbon_offset"] = true
				r = h.do(req{Method: "POST", Path: "/api/v2/checkout/quote", Token: h.alice, Body: body})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				bike = r.JSON(t)["shipping_options"].([]any)[0].(map[string]any)
				assert.Equal(t, money("0.09"), bike["totals"].(map[string]any)["offset"])

				// A country no method serves: no options.
				r = h.do(req{Method: "POST", Path: "/api/v2/checkout/quote", Body: map[string]any{"lines": body["lines"], "shipping_address": map[string]any{"country": "JP"}}})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				assert.Empty(t, r.JSON(t)["shipping_options"])
			})
		}
	})
}

func TestV2CheckoutQuoteErrors(t *testing.T) {
	h := newHarness(t, withoutRateLimits())
	jar, _ := h.quoteShop()
	draft := h.product("Draft", "kitchen", 100, 1, nil)
	st := ecolaura.ProductDraft
	_, err := h.catalog.Update(context.Background(), ecolaura.System(), draft.ID, catalog.Patch{Status: &st})
	require.NoError(t, err)
	line := map[string]any{"variant_id": jar, "quantity": 1}
	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"no address", map[string]any{"lines": []any{line}}, []string{"shipping_address"}},
		{"no country", map[string]any{"lines": []any{line}, "shipping_address": map[string]any{"city": "Berlin"}}, []string{"shipping_address.country"}},
		{"bad country", map[string]any{"lines": []any{line}, "shipping_address": map[string]any{"country": "EU"}}, []string{"shipping_address.country"}},
		{"no lines", map[string]any{"lines": []any{}, "shipping_address": map[string]any{"country": "DE"}}, []string{"lines"}},
		{"bad quantity and ID", map[string]any{"lines": []any{map[string]any{"variant_id": jar, "quantity": 0}, map[string]any{"variant_id": "nope", "quantity": 1}},
			"shipping_address": map[string]any{"country": "DE"}}, []string{"lines[0].quantity", "lines[1].variant_id"}},
		{"quantity of a wrong type", map[string]any{"lines": []any{map[string]any{"variant_id": jar, "quantity": "two"}}, "shipping_address": map[string]any{"country": "DE"}},
			[]string{"lines[0].quantity"}},
		{"unknown variant", map[string]any{"lines": []any{map[string]any{"variant_id": "0190f4a2-0000-7000-8000-000000000001", "quantity": 1}},
			"shipping_address": map[string]any{"country": "DE"}}, []string{"lines[0].variant_id"}},
		{"draft product", map[string]any{"lines": []any{map[string]any{"product_id": string(draft.ID), "quantity": 1}},
			"shipping_address": map[string]any{"country": "DE"}}, []string{"lines[0].product_id"}},
		{"unknown member", map[string]any{"lines": []any{line}, "shipping_address": map[string]any{"country": "DE", "default_shipping": true}},
			[]string{"shipping_address.default_shipping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(req{Method: "POST", Path: "/api/v2/checkout/quote", Body: tc.body})
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			var got []string
			for _, e := range r.JSON(t)["errors"].([]any) {
				got = append(got, e.(map[string]any)["field"].(string))
			}
			assert.ElementsMatch(t, tc.fields, got, "%s", r.Body)
		})
	}
}

func TestV2OrderWithDelivery(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits(), withTaxMode(ecolaura.TaxExclusive))
		jar, brush := h.quoteShop()
		lines := []any{map[string]any{"variant_id": jar, "quantity": 3}, map[string]any{"variant_id": brush, "quantity": 2}}
		to := map[string]any{"name": " Ada Lovelace ", "line1": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin", "country": "de", "phone": "030 123456"}
		r := h.do(req{Method: "POST", Path: "/api/v2/checkout/quote", Body: map[string]any{"lines": lines, "shipping_address": to, "carbon_offset": true}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		road := r.JSON(t)["shipping_options"].([]any)[1].(map[string]any)
		require.Equal(t, "Road", road["name"])
		totals := road["totals"].(map[string]any)

		place := func(body map[string]any) response {
			return h.do(req{Method: "POST", Path: "/api/v2/orders", Token: h.alice, Body: body,
				Headers: map[string]string{"Idempotency-Key": fmt.Sprintf("order-%d", orderKeys.Add(1))}})
		}
		r = place(map[string]any{"lines": lines, "shipping_address": to, "shipping_method_id": road["shipping_method_id"], "carbon_offset": true})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		o := r.JSON(t)
		assert.Equal(t, totals["subtotal"], o["subtotal"])
		assert.Equal(t, totals["total"], o["total"], "the order costs what the quote said")
		assert.Equal(t, map[string]any{"mode": "exclusive", "total": totals["tax"].(map[string]any)["total"]}, o["tax"])
		assert.Equal(t, map[string]any{"method_id": road["shipping_method_id"], "method": "Road", "carrier": "Carrier Road", "price": money("4.90"),
			"footprint_g": road["footprint_g"]}, o["shipping"])
		assert.Equal(t, map[string]any{"name": "Ada Lovelace", "company": "", "line1": "Unter den Linden 1", "line2": "", "postal_code": "10117",
			"city": "Berlin", "region": "", "country": "DE", "phone": "+4930123456"}, o["shipping_address"], "normalised and snapshotted")
		assert.Equal(t, o["shipping_address"], o["billing_address"], "billing defaults to shipping")
		assert.Equal(t, totals["offset"], o["carbon_offset"].(map[string]any)["price"], "the offset covers the delivery too")
		assert.EqualValues(t, 4.2+0.428, o["footprint_kg"])

		r = h.do(req{Path: "/api/v2/orders/" + o["id"].(string), Token: h.alice})
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, o["shipping"], r.JSON(t)["shipping"])

		r = h.orderV2(h.alice, map[string]any{"variant_id": jar, "quantity": 1})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		plain := r.JSON(t)
		for _, k := range []string{"shipping", "tax", "shipping_address", "billing_address"} {
			assert.Nil(t, plain[k], "an order without a delivery has no %s", k)
		}
		assert.Equal(t, money("19.99"), plain["total"], "and no tax")

		for _, tc := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"method without address", map[string]any{"lines": lines, "shipping_method_id": road["shipping_method_id"]}, []string{"shipping_address"}},
			{"address without method", map[string]any{"lines": lines, "shipping_address": to}, []string{"shipping_method_id"}},
			{"method not serving the country", map[string]any{"lines": lines, "shipping_method_id": road["shipping_method_id"],
				"shipping_address": map[string]any{"name": "A", "line1": "L", "city": "Paris", "country": "FR"}}, []string{"shipping_method_id"}},
			{"unknown method", map[string]any{"lines": lines, "shipping_address": to, "shipping_method_id": "0190f4a2-0000-7000-8000-000000000001"}, []string{"shipping_method_id"}},
			{"bad addresses", map[string]any{"lines": lines, "shipping_address": map[string]any{"country": "DE"}, "billing_address": map[string]any{"name": "B", "line1": "L", "city": "C", "country": "XX"},
				"shipping_method_id": road["shipping_method_id"]}, []string{"shipping_address.name", "shipping_address.line1", "shipping_address.city", "billing_address.country"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := place(tc.body)
				require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
				var got []string
				for _, e := range r.JSON(t)["errors"].([]any) {
					got = append(got, e.(map[string]any)["field"].(string))
				}
				assert.ElementsMatch(t, tc.fields, got, "%s", r.Body)
			})
		}
	})
}
