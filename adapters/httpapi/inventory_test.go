package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func TestV2Inventory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		p := h.createTee("INV")
		pid := p["id"].(string)
		vid := variantsOf(p)[0]["id"].(string)
		path := "/api/v2/variants/" + vid + "/inventory"
		version := p["version"]

		r := h.do(req{Path: path, Token: h.staff})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		inv := r.JSON(t)
		assert.Equal(t, pid, inv["product_id"])
		assert.Equal(t, "INV-S-OAT", inv["sku"])
		assert.EqualValues(t, 5, inv["available"])
		assert.Equal(t, []any{map[string]any{"location_id": string(ecolaura.DefaultLocationID), "location_name": "Default", "ships": true, "on_hand": 5.0}}, inv["levels"])

		// A delivery of +40, then a count of 42: each a movement with who and why.
		r = h.do(req{Method: http.MethodPost, Path: path, Token: h.staff, Body: map[string]any{"delta": 40, "reason": "restock", "note": "delivery 1142"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		got := r.JSON(t)
		assert.EqualValues(t, 45, got["available"])
		m := got["movement"].(map[string]any)
		assert.EqualValues(t, 40, m["delta"])
		assert.EqualValues(t, 45, m["on_hand"])
		assert.Equal(t, "restock", m["reason"])
		assert.Equal(t, "delivery 1142", m["note"])
		assert.NotNil(t, m["actor_id"])
		assert.Nil(t, m["order_id"])

		r = h.do(req{Method: http.MethodPut, Path: path, Token: h.staff, Body: map[string]any{"stock": 42, "note": "stocktake"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		got = r.JSON(t)
		assert.EqualValues(t, 42, got["available"])
		assert.EqualValues(t, -3, got["movement"].(map[string]any)["delta"])
		assert.Equal(t, "set", got["movement"].(map[string]any)["reason"])

		r = h.do(req{Path: "/api/v2/products/" + pid})
		assert.EqualValues(t, 42, variantsOf(r.JSON(t))[0]["available"], "the product shows the new stock")
		assert.EqualValues(t, 45, r.JSON(t)["stock"])
		assert.Equal(t, version, r.JSON(t)["version"], "a stock change is not a catalog edit")
		r = h.do(req{Path: "/api/v1/products/" + pid + "/"})
		assert.EqualValues(t, 45, r.JSON(t)["stock"], "v1's stock is the sum over the variants")

		t.Run("a second location", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v2/stock-locations", Token: h.staff, Body: map[string]any{"name": " Shop floor ", "ships": false}})
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			loc := r.JSON(t)
			assert.Equal(t, "Shop floor", loc["name"])
			assert.EqualValues(t, 1, loc["position"])
			r = h.do(req{Path: "/api/v2/stock-locations", Token: h.staff})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			items := r.JSON(t)["items"].([]any)
			require.Len(t, items, 2)
			assert.Equal(t, string(ecolaura.DefaultLocationID), items[0].(map[string]any)["id"], "the default location first")
			assert.Equal(t, loc, items[1])
			r = h.do(req{Method: http.MethodPost, Path: path, Token: h.staff, Body: map[string]any{"delta": 6, "location_id": loc["id"]}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			got := r.JSON(t)
			assert.EqualValues(t, 42, got["available"], "a location that does not ship adds nothing to sell")
			require.Len(t, got["levels"], 2)
			assert.Equal(t, map[string]any{"location_id": loc["id"], "location_name": "Shop floor", "ships": false, "on_hand": 6.0}, got["levels"].([]any)[1])
			assert.Equal(t, "adjustment", got["movement"].(map[string]any)["reason"], "the default reason")
		})

		t.Run("movements page by page", func(t *testing.T) {
			var all []map[string]any
			next := path + "/movements?limit=2"
			for pages := 0; next != ""; pages++ {
				require.Less(t, pages, 5)
				r := h.do(req{Path: next, Token: h.staff})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				page := r.JSON(t)
				for _, it := range page["items"].([]any) {
					all = append(all, it.(map[string]any))
				}
				next = ""
				if c, ok := page["next_cursor"].(string); ok {
					next = path + "/movements?limit=2&cursor=" + c
				}
			}
			var reasons []string
			for _, m := range all {
				reasons = append(reasons, m["reason"].(string))
			}
			assert.Equal(t, []string{"adjustment", "set", "restock", "initial"}, reasons, "newest first, each once")
		})

		t.Run("audited", func(t *testing.T) {
			r := h.do(req{Path: "/api/v2/audit-events?entity=inventory&entity_id=" + vid, Token: h.staff})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			items := r.JSON(t)["items"].([]any)
			require.Len(t, items, 3, "one event per staff change")
			last := items[len(items)-1].(map[string]any)
			assert.Equal(t, map[string]any{"from": "5", "to": "45"}, last["changes"].(map[string]any)["on_hand."+string(ecolaura.DefaultLocationID)])
		})

		t.Run("errors", func(t *testing.T) {
			tests := []struct {
				name   string
				method string
				path   string
				token  string
				body   any
				status int
				fields []string
			}{
				{"customer reads", http.MethodGet, path, h.alice, nil, 403, nil},
				{"anonymous sets", http.MethodPut, path, "", map[string]any{"stock": 1}, 401, nil},
				{"customer adjusts", http.MethodPost, path, h.alice, map[string]any{"delta": 1}, 403, nil},
				{"customer movements", http.MethodGet, path + "/movements", h.bob, nil, 403, nil},
				{"unknown variant", http.MethodGet, "/api/v2/variants/" + string(porttest.NewID()) + "/inventory", h.staff, nil, 404, nil},
				{"malformed variant", http.MethodPut, "/api/v2/variants/x/inventory", h.staff, map[string]any{"stock": 1}, 404, nil},
				{"set without stock", http.MethodPut, path, h.staff, map[string]any{"note": "x"}, 400, []string{"stock"}},
				{"set negative", http.MethodPut, path, h.staff, map[string]any{"stock": -1}, 400, []string{"stock"}},
				{"set with a delta", http.MethodPut, path, h.staff, map[string]any{"stock": 1, "delta": 2}, 400, []string{"delta"}},
				{"adjust without delta", http.MethodPost, path, h.staff, map[string]any{"reason": "restock"}, 400, []string{"delta"}},
				{"adjust by zero", http.MethodPost, path, h.staff, map[string]any{"delta": 0}, 400, []string{"delta"}},
				{"adjust with a sale's reason", http.MethodPost, path, h.staff, map[string]any{"delta": 1, "reason": "sale"}, 400, []string{"reason"}},
				{"adjust with a stock", http.MethodPost, path, h.staff, map[string]any{"delta": 1, "stock": 3}, 400, []string{"stock"}},
				{"unknown location", http.MethodPost, path, h.staff, map[string]any{"delta": 1, "location_id": string(porttest.NewID())}, 400, []string{"location_id"}},
				{"note too long", http.MethodPost, path, h.staff, map[string]any{"delta": 1, "note": strings.Repeat("a", 501)}, 400, []string{"note"}},
				{"unknown field", http.MethodPost, path, h.staff, map[string]any{"delta": 1, "why": "x"}, 400, []string{"why"}},
				{"movements bad cursor", http.MethodGet, path + "/movements?cursor=abc", h.staff, nil, 400, []string{"cursor"}},
				{"movements limit 0", http.MethodGet, path + "/movements?limit=0", h.staff, nil, 400, []string{"limit"}},
				{"movements unknown parameter", http.MethodGet, path + "/movements?order=1", h.staff, nil, 400, []string{"order"}},
				{"customer lists locations", http.MethodGet, "/api/v2/stock-locations", h.alice, nil, 403, nil},
				{"customer adds a location", http.MethodPost, "/api/v2/stock-locations", h.alice, map[string]any{"name": "x", "ships": true}, 403, nil},
				{"location without a name", http.MethodPost, "/api/v2/stock-locations", h.staff, map[string]any{"ships": true}, 400, []string{"name"}},
				{"location without ships", http.MethodPost, "/api/v2/stock-locations", h.staff, map[string]any{"name": "Back room"}, 400, []string{"ships"}},
				{"location with a blank name", http.MethodPost, "/api/v2/stock-locations", h.staff, map[string]any{"name": " ", "ships": true}, 400, []string{"name"}},
				{"location name too long", http.MethodPost, "/api/v2/stock-locations", h.staff, map[string]any{"name": strings.Repeat("n", 101), "ships": true}, 400, []string{"name"}},
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
			r := h.do(req{Method: http.MethodPost, Path: path, Token: h.staff, Body: map[string]any{"delta": -43}})
			p := problem(t, r, http.StatusConflict, "insufficient-stock")
			assert.EqualValues(t, 42, p["available"], "the level cannot go below zero")
		})
	})
}

// TestV2InventoryAdjustmentsRace adjusts one variant's stock from many
// staff requests at once: no update is lost.
func TestV2InventoryAdjustmentsRace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st), withoutRateLimits())
		p := h.createTee("RACE")
		vid := variantsOf(p)[1]["id"].(string)
		const workers, each = 8, 5
		var wg sync.WaitGroup
		var ok atomic.Int64
		start := make(chan struct{})
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range each {
					r := h.do(req{Method: http.MethodPost, Path: "/api/v2/variants/" + vid + "/inventory", Token: h.staff, Body: map[string]any{"delta": 2, "reason": "restock"}})
					if r.Status == http.StatusOK {
						ok.Add(1)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, workers*each, ok.Load())
		r := h.do(req{Path: "/api/v2/variants/" + vid + "/inventory", Token: h.staff})
		assert.EqualValues(t, 3+2*workers*each, r.JSON(t)["available"], "every adjustment counted")
	})
}
