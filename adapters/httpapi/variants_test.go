package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// teeBody is a v2 product with two options and three variants: a T-shirt
// in sizes and colours.
func teeBody(skuPrefix string) map[string]any {
	return map[string]any{
		"name": "Organic tee", "category": "apparel", "price": map[string]any{"amount": "25.00"}, "status": "active",
		"options": []any{
			map[string]any{"name": "size", "values": []string{"S", "M", "L"}},
			map[string]any{"name": "colour", "values": []string{"oat", "charcoal"}},
		},
		"variants": []any{
			map[string]any{"sku": skuPrefix + "-S-OAT", "options": map[string]string{"size": "S", "colour": "oat"}, "stock": 5, "gtin": "4006381333931", "weight_g": 180},
			map[string]any{"sku": skuPrefix + "-M-OAT", "options": map[string]string{"size": "M", "colour": "oat"}, "stock": 3, "price": map[string]any{"amount": "27.50"}},
			map[string]any{"sku": skuPrefix + "-M-CHA", "options": map[string]string{"size": "M", "colour": "charcoal"}, "footprint_kg": "1.25"},
		},
	}
}

// createTee creates teeBody through v2 and returns the product.
func (h *harness) createTee(skuPrefix string) map[string]any {
	h.t.Helper()
	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: teeBody(skuPrefix)})
	require.Equal(h.t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.JSON(h.t)
}

func variantsOf(p map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range p["variants"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestV2ProductWithVariants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		p := h.createTee("TEE")
		id := p["id"].(string)
		assert.Equal(t, "active", p["status"])
		assert.Equal(t, []any{
			map[string]any{"name": "size", "values": []any{"S", "M", "L"}},
			map[string]any{"name": "colour", "values": []any{"oat", "charcoal"}},
		}, p["options"])
		vs := variantsOf(p)
		require.Len(t, vs, 3)
		assert.Equal(t, "TEE-S-OAT", vs[0]["sku"])
		assert.Equal(t, map[string]any{"size": "S", "colour": "oat"}, vs[0]["options"])
		assert.Equal(t, map[string]any{"amount": "25.00", "currency": "EUR"}, vs[0]["price"], "a variant without a price has the product's")
		assert.Equal(t, map[string]any{"amount": "27.50", "currency": "EUR"}, vs[1]["price"])
		assert.EqualValues(t, 5, vs[0]["available"])
		assert.EqualValues(t, 3, vs[1]["available"])
		assert.EqualValues(t, 0, vs[2]["available"], "no stock given: none")
		assert.Equal(t, "04006381333931", vs[0]["gtin"], "GTIN-13 normalised to 14 digits")
		assert.Nil(t, vs[1]["gtin"])
		assert.EqualValues(t, 180, vs[0]["weight_g"])
		assert.Nil(t, vs[0]["footprint_kg"])
		assert.EqualValues(t, 1.25, vs[2]["footprint_kg"])
		for i, v := range vs {
			assert.EqualValues(t, i, v["position"])
			assert.Equal(t, []any{}, v["images"])
		}
		assert.EqualValues(t, 8, p["stock"], "the product's stock is the sum of its variants'")
		assert.Equal(t, true, p["in_stock"])
		assert.Equal(t, map[string]any{"amount": "25.00", "currency": "EUR"}, p["price"], "the default variant's price")

		t.Run("anyone reads it", func(t *testing.T) {
			r := h.do(req{Path: "/api/v2/products/" + id})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			got := r.JSON(t)
			assert.Equal(t, p["variants"], got["variants"])
			r = h.do(req{Path: "/api/v2/products/" + id + "/variants"})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.Equal(t, p["variants"], r.JSON(t)["items"])
		})

		t.Run("v1 shows the default variant's price and the total stock", func(t *testing.T) {
			r := h.do(req{Path: "/api/v1/products/" + id + "/"})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			v1 := r.JSON(t)
			assert.Equal(t, "25.00", v1["price"])
			assert.EqualValues(t, 8, v1["stock"])
		})

		t.Run("a product without options has one default variant", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
				Body: map[string]any{"name": "Soap", "category": "bath", "price": map[string]any{"amount": "4.50"}, "stock": 7}})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			got := r.JSON(t)
			assert.Equal(t, []any{}, got["options"])
			vs := variantsOf(got)
			require.Len(t, vs, 1)
			assert.Nil(t, vs[0]["sku"])
			assert.Equal(t, map[string]any{}, vs[0]["options"])
			assert.EqualValues(t, 7, vs[0]["available"])
			assert.Equal(t, got["price"], vs[0]["price"])
		})
	})
}

func TestV2CreateProductVariantErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		h.createTee("TAKEN")
		with := func(change func(b map[string]any)) map[string]any {
			b := teeBody("NEW")
			change(b)
			return b
		}
		variant := func(b map[string]any, i int) map[string]any { return b["variants"].([]any)[i].(map[string]any) }
		many := func(n int) []any {
			out := make([]any, n)
			for i := range out {
				out[i] = map[string]any{"options": map[string]string{"n": fmt.Sprint(i)}}
			}
			return out
		}
		values := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprint(i)
			}
			return out
		}
		tests := []struct {
			name   string
			body   map[string]any
			status int
			fields []string
		}{
			{"bad GTIN check digit", with(func(b map[string]any) { variant(b, 0)["gtin"] = "4006381333932" }), 400, []string{"variants[0].gtin"}},
			{"GTIN of letters", with(func(b map[string]any) { variant(b, 1)["gtin"] = "ABCDEFGH" }), 400, []string{"variants[1].gtin"}},
			{"duplicate option combination", with(func(b map[string]any) {
				variant(b, 2)["options"] = map[string]string{"size": "S", "colour": "oat"}
			}), 400, []string{"variants[2].options"}},
			{"unknown option value", with(func(b map[string]any) {
				variant(b, 1)["options"] = map[string]string{"size": "XL", "colour": "oat"}
			}), 400, []string{"variants[1].options"}},
			{"a missing option", with(func(b map[string]any) { variant(b, 1)["options"] = map[string]string{"size": "M"} }), 400, []string{"variants[1].options"}},
			{"option value not a string", with(func(b map[string]any) { variant(b, 1)["options"] = map[string]any{"size": 1, "colour": "oat"} }), 400, []string{"variants[1].options.size"}},
			{"four options", with(func(b map[string]any) {
				b["options"] = []any{
					map[string]any{"name": "a", "values": []string{"1"}}, map[string]any{"name": "b", "values": []string{"1"}},
					map[string]any{"name": "c", "values": []string{"1"}}, map[string]any{"name": "d", "values": []string{"1"}},
				}
				b["variants"] = []any{map[string]any{"options": map[string]string{"a": "1", "b": "1", "c": "1", "d": "1"}}}
			}), 400, []string{"options"}},
			{"101 variants", with(func(b map[string]any) {
				b["options"] = []any{map[string]any{"name": "n", "values": values(100)}}
				b["variants"] = many(101)
			}), 400, []string{"variants", "variants[100].options"}},
			{"duplicate option name", with(func(b map[string]any) {
				b["options"] = []any{map[string]any{"name": "size", "values": []string{"S"}}, map[string]any{"name": "Size", "values": []string{"M"}}}
			}), 400, nil},
			{"options without variants", with(func(b map[string]any) { delete(b, "variants") }), 400, []string{"variants"}},
			{"stock beside variants", with(func(b map[string]any) { b["stock"] = 4 }), 400, []string{"stock"}},
			{"negative variant stock", with(func(b map[string]any) { variant(b, 0)["stock"] = -1 }), 400, []string{"variants[0].stock"}},
			{"bad SKU", with(func(b map[string]any) { variant(b, 0)["sku"] = "-x y" }), 400, []string{"variants[0].sku"}},
			{"duplicate SKU in the request", with(func(b map[string]any) { variant(b, 1)["sku"] = "new-s-oat" }), 400, []string{"variants[1].sku"}},
			{"bad variant price", with(func(b map[string]any) { variant(b, 1)["price"] = map[string]any{"amount": "1.999"} }), 400, []string{"variants[1].price.amount"}},
			{"negative weight", with(func(b map[string]any) { variant(b, 1)["weight_g"] = -5 }), 400, []string{"variants[1].weight_g"}},
			{"unknown variant field", with(func(b map[string]any) { variant(b, 1)["colour"] = "red" }), 400, []string{"variants[1].colour"}},
			{"unknown status", with(func(b map[string]any) { b["status"] = "live" }), 400, []string{"status"}},
			{"price left out, a variant without one", with(func(b map[string]any) { delete(b, "price") }), 400, []string{"price"}},
			{"SKU of another product", with(func(b map[string]any) { variant(b, 0)["sku"] = "taken-s-oat" }), 409, []string{"variants[0].sku"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: tc.body})
				kind := "invalid"
				if tc.status == http.StatusConflict {
					kind = "conflict"
				}
				p := problem(t, r, tc.status, kind)
				if tc.fields != nil {
					assert.Equal(t, tc.fields, fieldsOf(p))
				} else {
					assert.NotEmpty(t, fieldsOf(p))
				}
			})
		}
		t.Run("price left out, every variant priced", func(t *testing.T) {
			b := teeBody("PRICED")
			delete(b, "price")
			for i := range 3 {
				variant(b, i)["price"] = map[string]any{"amount": fmt.Sprintf("2%d.00", i)}
			}
			r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: b})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			assert.Equal(t, map[string]any{"amount": "20.00", "currency": "EUR"}, r.JSON(t)["price"])
		})
	})
}

func TestV2ProductStatus(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		create := func(name, status string) string {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
				Body: map[string]any{"name": name, "category": "apparel", "price": map[string]any{"amount": "9.00"}, "stock": 2, "status": status}})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			assert.Equal(t, status, r.JSON(t)["status"])
			return r.JSON(t)["id"].(string)
		}
		draft, active, archived := create("Next season", "draft"), create("This season", "active"), create("Last season", "archived")

		// Staff reads first (twice: the server caches a response on its
		// second miss): a response rendered for staff must never reach
		// anyone else.
		for range 2 {
			for _, id := range []string{draft, archived} {
				r := h.do(req{Path: "/api/v2/products/" + id, Token: h.staff})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				assert.Equal(t, "private, no-cache", r.Header.Get("Cache-Control"))
				r = h.do(req{Path: "/api/v1/products/" + id + "/", Token: h.staff})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			}
			r := h.do(req{Path: "/api/v2/products?category=apparel", Token: h.staff})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.ElementsMatch(t, []string{draft, active, archived}, idsOf(r.JSON(t)), "staff see every status")
		}

		tests := []struct {
			name  string
			token string
			path  string
			code  int
			ids   []string
		}{
			{"anonymous get draft", "", "/api/v2/products/" + draft, 404, nil},
			{"customer get archived", h.alice, "/api/v2/products/" + archived, 404, nil},
			{"anonymous v1 get draft", "", "/api/v1/products/" + draft + "/", 404, nil},
			{"customer variants of draft", h.alice, "/api/v2/products/" + draft + "/variants", 404, nil},
			{"anonymous alternatives of a draft", "", "/api/v2/products/" + draft + "/alternatives", 404, nil},
			{"staff alternatives of a draft", h.staff, "/api/v2/products/" + draft + "/alternatives", 200, nil},
			{"anonymous get active", "", "/api/v2/products/" + active, 200, nil},
			{"anonymous list", "", "/api/v2/products?category=apparel", 200, []string{active}},
			{"customer list active", h.alice, "/api/v2/products?category=apparel&status=active", 200, []string{active}},
			{"customer list drafts", h.alice, "/api/v2/products?status=draft", 403, nil},
			{"anonymous list archived", "", "/api/v2/products?status=archived", 403, nil},
			{"staff list drafts", h.staff, "/api/v2/products?status=draft", 200, []string{draft}},
			{"staff list archived", h.staff, "/api/v2/products?category=apparel&status=archived", 200, []string{archived}},
			{"unknown status", h.staff, "/api/v2/products?status=live", 400, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(req{Path: tc.path, Token: tc.token})
				require.Equal(t, tc.code, r.Status, "%s", r.Body)
				if tc.ids != nil {
					assert.ElementsMatch(t, tc.ids, idsOf(r.JSON(t)))
				}
			})
		}

		t.Run("staff publish a draft", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + draft, Token: h.staff, Body: map[string]any{"status": "active"}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.Equal(t, "active", r.JSON(t)["status"])
			r = h.do(req{Path: "/api/v2/products/" + draft})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + draft, Token: h.staff, Body: map[string]any{"status": "gone"}})
			assert.Equal(t, []string{"status"}, fieldsOf(problem(t, r, 400, "invalid")))
		})
		t.Run("a PATCH does not change variants", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + active, Token: h.staff,
				Body: map[string]any{"variants": []any{}, "options": []any{}}})
			assert.Equal(t, []string{"variants"}, fieldsOf(problem(t, r, 400, "invalid")), "variants have their own endpoints")
		})
	})
}

// withoutRateLimits lets a test write as fast as it likes.
func withoutRateLimits() harnessOption {
	return withConfig(func(c *httpapi.Config) { c.DisableRateLimits = true })
}

func idsOf(page map[string]any) []string {
	out := []string{}
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestV2VariantEndpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		p := h.createTee("VAR")
		pid := p["id"].(string)
		other := h.createTee("OTHER")
		otherVariant := variantsOf(other)[0]["id"].(string)
		base := "/api/v2/products/" + pid + "/variants"

		// S / charcoal is not sold yet (nor are the L ones).
		r := h.do(req{Method: http.MethodPost, Path: base, Token: h.staff, Body: map[string]any{
			"sku": "VAR-S-CHA", "options": map[string]string{"size": "S", "colour": "charcoal"}, "stock": 4, "gtin": "96385074", "weight_g": 175}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		v := r.JSON(t)
		vid := v["id"].(string)
		assert.Equal(t, "VAR-S-CHA", v["sku"])
		assert.EqualValues(t, 4, v["available"])
		assert.EqualValues(t, 3, v["position"])
		assert.Equal(t, "00000096385074", v["gtin"], "GTIN-8 normalised")
		assert.Equal(t, map[string]any{"amount": "25.00", "currency": "EUR"}, v["price"], "the product's price by default")
		assert.True(t, strings.HasSuffix(r.Header.Get("Location"), base+"/"+vid))

		r = h.do(req{Path: base + "/" + vid})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, v, r.JSON(t))

		r = h.do(req{Path: "/api/v2/products/" + pid})
		assert.EqualValues(t, 12, r.JSON(t)["stock"], "the new variant's stock counts")
		version := r.JSON(t)["version"]

		t.Run("patch", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPatch, Path: base + "/" + vid, Token: h.staff, Body: map[string]any{
				"price": map[string]any{"amount": "19.90"}, "sku": nil, "gtin": nil, "weight_g": 200, "footprint_kg": "0.8", "version": version}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			got := r.JSON(t)
			assert.Nil(t, got["sku"])
			assert.Nil(t, got["gtin"])
			assert.EqualValues(t, 200, got["weight_g"])
			assert.EqualValues(t, 0.8, got["footprint_kg"])
			assert.Equal(t, map[string]any{"amount": "19.90", "currency": "EUR"}, got["price"])

			// Moving it first makes it the default variant: its price is the product's.
			r = h.do(req{Method: http.MethodPatch, Path: base + "/" + vid, Token: h.staff, Body: map[string]any{"position": 0, "footprint_kg": nil}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.EqualValues(t, 0, r.JSON(t)["position"])
			assert.Nil(t, r.JSON(t)["footprint_kg"])
			r = h.do(req{Path: "/api/v2/products/" + pid})
			assert.Equal(t, map[string]any{"amount": "19.90", "currency": "EUR"}, r.JSON(t)["price"])
			assert.Equal(t, vid, variantsOf(r.JSON(t))[0]["id"])
			r = h.do(req{Path: "/api/v1/products/" + pid + "/"})
			assert.Equal(t, "19.90", r.JSON(t)["price"], "v1 shows the default variant")
		})

		t.Run("errors", func(t *testing.T) {
			first := variantsOf(p)[1]["id"].(string)
			tests := []struct {
				name   string
				method string
				path   string
				token  string
				body   any
				status int
				fields []string
			}{
				{"customer creates", http.MethodPost, base, h.alice, map[string]any{"options": map[string]string{"size": "S", "colour": "oat"}}, 403, nil},
				{"anonymous patches", http.MethodPatch, base + "/" + vid, "", map[string]any{"weight_g": 1}, 401, nil},
				{"customer deletes", http.MethodDelete, base + "/" + vid, h.alice, nil, 403, nil},
				{"combination taken", http.MethodPost, base, h.staff, map[string]any{"options": map[string]string{"size": "M", "colour": "oat"}}, 400, []string{"options"}},
				{"value not an option's", http.MethodPost, base, h.staff, map[string]any{"options": map[string]string{"size": "XL", "colour": "oat"}}, 400, []string{"options"}},
				{"bad GTIN", http.MethodPost, base, h.staff, map[string]any{"options": map[string]string{"size": "S", "colour": "oat"}, "gtin": "96385075"}, 400, []string{"gtin"}},
				{"SKU of another product", http.MethodPost, base, h.staff, map[string]any{"sku": "other-s-oat", "options": map[string]string{"size": "L", "colour": "oat"}}, 409, []string{"sku"}},
				{"patch to a taken SKU", http.MethodPatch, base + "/" + first, h.staff, map[string]any{"sku": "OTHER-M-OAT"}, 409, []string{"sku"}},
				{"patch to a taken combination", http.MethodPatch, base + "/" + first, h.staff, map[string]any{"options": map[string]string{"size": "M", "colour": "charcoal"}}, 400, []string{"options"}},
				{"patch a bad GTIN", http.MethodPatch, base + "/" + first, h.staff, map[string]any{"gtin": "123"}, 400, []string{"gtin"}},
				{"patch an unknown field", http.MethodPatch, base + "/" + first, h.staff, map[string]any{"stock": 3}, 400, []string{"stock"}},
				{"patch a stale version", http.MethodPatch, base + "/" + first, h.staff, map[string]any{"weight_g": 3, "version": 1}, 409, nil},
				{"position out of range", http.MethodPatch, base + "/" + first, h.staff, map[string]any{"position": 9}, 400, []string{"position"}},
				{"another product's variant", http.MethodGet, base + "/" + otherVariant, "", nil, 404, nil},
				{"patch another product's variant", http.MethodPatch, base + "/" + otherVariant, h.staff, map[string]any{"weight_g": 1}, 404, nil},
				{"unknown variant", http.MethodGet, base + "/" + string(porttest.NewID()), "", nil, 404, nil},
				{"malformed variant ID", http.MethodGet, base + "/xl", "", nil, 404, nil},
				{"unknown product", http.MethodPost, "/api/v2/products/" + string(porttest.NewID()) + "/variants", h.staff, map[string]any{}, 404, nil},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := h.do(req{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body})
					require.Equal(t, tc.status, r.Status, "%s", r.Body)
					assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
					if tc.fields != nil {
						assert.Equal(t, tc.fields, fieldsOf(r.JSON(t)))
					}
				})
			}
		})

		t.Run("delete", func(t *testing.T) {
			r := h.do(req{Method: http.MethodDelete, Path: base + "/" + vid, Token: h.staff})
			require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
			r = h.do(req{Path: base + "/" + vid})
			assert.Equal(t, http.StatusNotFound, r.Status)
			r = h.do(req{Path: base})
			assert.Len(t, r.JSON(t)["items"], 3)

			r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
				Body: map[string]any{"name": "Soap", "category": "bath", "price": map[string]any{"amount": "4.50"}}})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			soap := r.JSON(t)
			only := variantsOf(soap)[0]["id"].(string)
			r = h.do(req{Method: http.MethodDelete, Path: "/api/v2/products/" + soap["id"].(string) + "/variants/" + only, Token: h.staff})
			assert.Equal(t, []string{"variant_id"}, fieldsOf(problem(t, r, 400, "invalid")), "the only variant")
			r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products/" + soap["id"].(string) + "/variants", Token: h.staff, Body: map[string]any{"sku": "SOAP-2"}})
			assert.Contains(t, fieldsOf(problem(t, r, 400, "invalid")), "variants", "a product without options has one variant")
		})
	})
}

func TestV2VariantImages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withMedia(t), withoutRateLimits())
		p := h.createTee("IMG")
		pid := p["id"].(string)
		vs := variantsOf(p)
		mOat, mCha := vs[1]["id"].(string), vs[2]["id"].(string)

		front := h.upload(h.staff, pid, filePart("front.png", "", porttest.PNG(30, 20)))
		require.Equal(t, http.StatusCreated, front.Status, "%s", front.Body)
		oat := h.upload(h.staff, pid, filePart("oat.png", "", porttest.PNG(31, 20)), field("variant_id", mOat), field("alt", "M in oat"))
		require.Equal(t, http.StatusCreated, oat.Status, "%s", oat.Body)
		cha := h.upload(h.staff, pid, filePart("cha.png", "", porttest.PNG(32, 20)), field("variant_id", mCha))
		require.Equal(t, http.StatusCreated, cha.Status, "%s", cha.Body)

		r := h.do(req{Path: "/api/v2/products/" + pid})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		got := r.JSON(t)
		assert.Len(t, got["images"], 3, "the product shows every image")
		imgs := func(v map[string]any) []string {
			var out []string
			for _, img := range v["images"].([]any) {
				out = append(out, img.(map[string]any)["id"].(string))
			}
			return out
		}
		gv := variantsOf(got)
		assert.Empty(t, imgs(gv[0]), "an image tied to no variant is the product's only")
		assert.Equal(t, []string{oat.JSON(t)["id"].(string)}, imgs(gv[1]))
		assert.Equal(t, []string{cha.JSON(t)["id"].(string)}, imgs(gv[2]))
		assert.Equal(t, "M in oat", gv[1]["images"].([]any)[0].(map[string]any)["alt"])

		r = h.do(req{Path: "/api/v2/products/" + pid + "/variants/" + mOat})
		assert.Equal(t, []string{oat.JSON(t)["id"].(string)}, imgs(r.JSON(t)))

		// Deleting a variant unties its images; they stay the product's.
		r = h.do(req{Method: http.MethodDelete, Path: "/api/v2/products/" + pid + "/variants/" + mCha, Token: h.staff})
		require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
		r = h.do(req{Path: "/api/v2/products/" + pid})
		all := r.JSON(t)["images"].([]any)
		require.Len(t, all, 3)
		assert.Nil(t, all[2].(map[string]any)["variant_id"], "untied")
		assert.Equal(t, mOat, all[1].(map[string]any)["variant_id"], "the others keep theirs")
	})
}

// TestV2ListFiltersUseVariants: the price filters and sorts use a
// product's lowest variant price, and in_stock keeps a product when some
// variant is available; a stock change that empties the last variant takes
// the product out of the in-stock list at once (the cached list too).
func TestV2ListFiltersUseVariants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		cat := "filters-" + st.Name()
		r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: map[string]any{
			"name": "Wool scarf", "category": cat, "price": map[string]any{"amount": "20.00"},
			"options": []any{map[string]any{"name": "length", "values": []string{"long", "short"}}},
			"variants": []any{
				map[string]any{"options": map[string]string{"length": "long"}},
				map[string]any{"options": map[string]string{"length": "short"}, "price": map[string]any{"amount": "5.00"}, "stock": 2},
			}}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		scarf := r.JSON(t)
		r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: map[string]any{
			"name": "Cotton scarf", "category": cat, "price": map[string]any{"amount": "10.00"}, "stock": 0}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		cotton := r.JSON(t)
		a, b := scarf["id"].(string), cotton["id"].(string)
		base := "/api/v2/products?category=" + cat
		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"price ascending: the lowest variant price", "&sort=price", []string{a, b}},
			{"price descending", "&sort=-price", []string{b, a}},
			{"max price below the default variant's", "&max_price=8", []string{a}},
			{"min price above the lowest variant's", "&min_price=8", []string{b}},
			{"in stock: some variant available", "&in_stock=true", []string{a}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				for range 2 { // the second answer may come from the response cache
					r := h.do(req{Path: base + tc.query})
					require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
					assert.Equal(t, tc.want, idsOf(r.JSON(t)))
				}
			})
		}
		r = h.do(req{Path: "/api/v1/products/" + a + "/"})
		assert.Equal(t, "20.00", r.JSON(t)["price"], "v1 still shows the default variant's price")

		short := variantsOf(scarf)[1]["id"].(string)
		r = h.do(req{Method: http.MethodPut, Path: "/api/v2/variants/" + short + "/inventory", Token: h.staff, Body: map[string]any{"stock": 0}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = h.do(req{Path: base + "&in_stock=true"})
		assert.Empty(t, idsOf(r.JSON(t)), "no variant left: out of the in-stock list")
		r = h.do(req{Path: "/api/v2/products/" + a})
		assert.Equal(t, false, r.JSON(t)["in_stock"])
	})
}

// TestV1WritesEditTheDefaultVariant: v1 knows one price and one stock
// figure; on a product with variants its writes edit the default variant
// and leave the others alone.
func TestV1WritesEditTheDefaultVariant(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		p := h.createTee("V1W") // S/oat 25.00 ×5, M/oat 27.50 ×3, M/charcoal 25.00 ×0
		pid := p["id"].(string)
		v1 := "/api/v1/products/" + pid + "/"

		r := h.do(req{Method: http.MethodPatch, Path: v1, Token: h.staff, Body: map[string]any{"price": "22.00"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "22.00", r.JSON(t)["price"])
		assert.EqualValues(t, 8, r.JSON(t)["stock"])

		// The total stock: the default variant's level takes the difference.
		r = h.do(req{Method: http.MethodPatch, Path: v1, Token: h.staff, Body: map[string]any{"stock": 10}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.EqualValues(t, 10, r.JSON(t)["stock"])
		r = h.do(req{Method: http.MethodPatch, Path: v1, Token: h.staff, Body: map[string]any{"stock": 2}})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		assert.Contains(t, r.JSON(t), "stock", "the other variants hold 3: the total cannot be 2")

		r = h.do(req{Path: "/api/v2/products/" + pid})
		vs := variantsOf(r.JSON(t))
		assert.Equal(t, map[string]any{"amount": "22.00", "currency": "EUR"}, vs[0]["price"], "the default variant's price")
		assert.Equal(t, map[string]any{"amount": "27.50", "currency": "EUR"}, vs[1]["price"], "the others keep theirs")
		assert.Equal(t, map[string]any{"amount": "25.00", "currency": "EUR"}, vs[2]["price"])
		assert.Equal(t, []any{7.0, 3.0, 0.0}, []any{vs[0]["available"], vs[1]["available"], vs[2]["available"]})
		assert.Len(t, vs, 3, "a v1 write keeps the variants")
		assert.Len(t, r.JSON(t)["options"], 2, "and the options")
	})
}

// TestV2PatchOptionsAndAudit: a PATCH of options adds a value before the
// variant that uses it, drops an option, and refuses options the variants
// no longer fit; status, option and variant edits are in the audit trail.
func TestV2PatchOptionsAndAudit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		p := h.createTee("OPT") // size S, M, L × colour oat, charcoal; variants S/oat, M/oat, M/charcoal
		pid := p["id"].(string)
		patch := func(body map[string]any) response {
			return h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + pid, Token: h.staff, Body: body})
		}
		size := func(values ...string) map[string]any { return map[string]any{"name": "size", "values": values} }
		colour := map[string]any{"name": "colour", "values": []string{"oat", "charcoal"}}

		// XL is new: then a variant can use it.
		r := patch(map[string]any{"options": []any{size("S", "M", "L", "XL"), colour}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, []any{"S", "M", "L", "XL"}, r.JSON(t)["options"].([]any)[0].(map[string]any)["values"])
		r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products/" + pid + "/variants", Token: h.staff,
			Body: map[string]any{"options": map[string]string{"size": "XL", "colour": "oat"}, "sku": "OPT-XL-OAT"}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

		tests := []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"a value a variant uses", map[string]any{"options": []any{size("S", "L", "XL"), colour}}, []string{"variants[1].options", "variants[2].options"}},
			{"a renamed option", map[string]any{"options": []any{size("S", "M", "L", "XL"), map[string]any{"name": "color", "values": []string{"oat", "charcoal"}}}}, nil},
			{"a dropped option making combinations equal", map[string]any{"options": []any{colour}}, nil},
			{"four options", map[string]any{"options": []any{size("S", "M", "L", "XL"), colour, map[string]any{"name": "a", "values": []string{"1"}}, map[string]any{"name": "b", "values": []string{"1"}}}}, nil},
			{"an option without values", map[string]any{"options": []any{size(), colour}}, nil},
			{"variants in a PATCH", map[string]any{"variants": []any{}}, []string{"variants"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := problem(t, patch(tc.body), http.StatusBadRequest, "invalid")
				if tc.fields != nil {
					assert.Equal(t, tc.fields, fieldsOf(p))
				} else {
					assert.NotEmpty(t, fieldsOf(p))
				}
			})
		}

		// Dropping colour from a product whose sizes stay unique works.
		soap := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: map[string]any{
			"name": "Soap", "category": "bath", "price": map[string]any{"amount": "4.00"},
			"options":  []any{map[string]any{"name": "scent", "values": []string{"mint"}}, map[string]any{"name": "size", "values": []string{"100g"}}},
			"variants": []any{map[string]any{"options": map[string]string{"scent": "mint", "size": "100g"}}}}}).JSON(t)
		r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + soap["id"].(string), Token: h.staff,
			Body: map[string]any{"options": []any{map[string]any{"name": "scent", "values": []string{"mint", "lavender"}}}}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, map[string]any{"scent": "mint"}, variantsOf(r.JSON(t))[0]["options"], "the dropped option's value goes")

		// The audit trail has the status, option and variant edits.
		require.Equal(t, http.StatusOK, patch(map[string]any{"status": "archived"}).Status)
		r = h.do(req{Path: "/api/v2/audit-events?entity=product&entity_id=" + pid, Token: h.staff})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var fields []string
		for _, e := range r.JSON(t)["items"].([]any) {
			for f := range e.(map[string]any)["changes"].(map[string]any) {
				fields = append(fields, f)
			}
		}
		assert.Contains(t, fields, "status")
		assert.Contains(t, fields, "options")
		var variantFields int
		for _, f := range fields {
			if strings.HasPrefix(f, "variants.") {
				variantFields++
			}
		}
		assert.Equal(t, 4, variantFields, "three variants created with the product, one added")
	})
}
