package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

// names walks every page of a v2 product list from path (following
// next_cursor) and returns the names in order; every page is checked
// against the OpenAPI document by the harness.
func listNames(t *testing.T, h *harness, path string) []string {
	t.Helper()
	var out []string
	for range 20 {
		r := h.do(req{Path: path})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		m := r.JSON(t)
		for _, it := range m["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			return out
		}
		u, err := url.Parse(path)
		require.NoError(t, err)
		q := u.Query()
		q.Set("cursor", next)
		u.RawQuery = q.Encode()
		path = u.String()
	}
	t.Fatal("the pages do not end")
	return nil
}

// v2 searches: relevance is the default order with q and can be asked for
// with sort=relevance; its cursor pages follow the ranks; the other sorts
// order the same matches; typos are corrected; SKUs and option values are
// found; drafts are not, for customers.
func TestV2ProductSearch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withStore(st))
		create := func(in catalog.ProductInput) {
			t.Helper()
			in.Category = "personal-care"
			in.Score = 50
			if in.Price.Amount == 0 {
				in.Price = ecolaura.NewMoney(500, ecolaura.DefaultCurrency)
			}
			_, err := h.catalog.Create(context.Background(), ecolaura.System(), in)
			require.NoError(t, err)
		}
		create(catalog.ProductInput{Name: "Toothbrush holder", Description: "Stoneware.", Price: ecolaura.NewMoney(900, ecolaura.DefaultCurrency)})
		create(catalog.ProductInput{Name: "Bamboo toothbrush", Description: "A compostable handle.", Price: ecolaura.NewMoney(450, ecolaura.DefaultCurrency)})
		create(catalog.ProductInput{Name: "Charcoal toothbrush", Description: "Its handle is bamboo.", Price: ecolaura.NewMoney(550, ecolaura.DefaultCurrency)})
		create(catalog.ProductInput{Name: "Bamboo toothbrush case", Description: "Next season.", Status: ecolaura.ProductDraft})
		create(catalog.ProductInput{Name: "Linen apron", Description: "Washed linen.",
			Options: []ecolaura.ProductOption{{Name: "colour", Values: []string{"oat", "charcoal"}}},
			Variants: []catalog.VariantInput{
				{SKU: "APRON-OAT", Options: map[string]string{"colour": "oat"}},
				{SKU: "APRON-CHARCOAL", Options: map[string]string{"colour": "charcoal"}},
			}})

		ranked := []string{"Bamboo toothbrush", "Charcoal toothbrush"}
		assert.Equal(t, ranked, listNames(t, h, "/api/v2/products?q=bamboo+toothbrush"), "relevance is the default with q")
		assert.Equal(t, ranked, listNames(t, h, "/api/v2/products?q=bamboo+toothbrush&sort=relevance&limit=1"), "cursor pages by rank")
		assert.Equal(t, []string{"Bamboo toothbrush", "Charcoal toothbrush", "Toothbrush holder"},
			listNames(t, h, "/api/v2/products?q=toothbr&sort=price"), "the last word is a prefix; other sorts order the matches")
		assert.Equal(t, ranked, listNames(t, h, "/api/v2/products?q=bambo+toothbrsh"), "typos")
		assert.Equal(t, []string{"Toothbrush holder"}, listNames(t, h, "/api/v2/products?q=toothbrush+-bamboo+-charcoal"))
		assert.Equal(t, []string{"Linen apron"}, listNames(t, h, "/api/v2/products?q=apron-charcoal"), "a SKU")
		assert.Equal(t, []string{"Charcoal toothbrush", "Linen apron"}, listNames(t, h, "/api/v2/products?q=charcoal"),
			"the name ranks above an option value")
		r := h.do(req{Path: "/api/v2/products?q=case&sort=relevance", Token: h.staff})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Len(t, r.JSON(t)["items"], 1, "staff find drafts")
		assert.Empty(t, listNames(t, h, "/api/v2/products?q=case"), "customers do not")
		assert.Len(t, listNames(t, h, "/api/v2/products?sort=relevance"), 4, "relevance without q: every product, by ID")

		for _, path := range []string{"/api/v2/products?q=bamboo&sort=best", "/api/v2/products?q=bamboo&sort=Relevance"} {
			p := problem(t, h.do(req{Path: path}), http.StatusBadRequest, "invalid")
			assert.Equal(t, []string{"sort"}, fieldsOf(p))
		}
		// A cursor of one sort is refused by another.
		r = h.do(req{Path: "/api/v2/products?q=bamboo+toothbrush&limit=1"})
		require.Equal(t, http.StatusOK, r.Status)
		next := r.JSON(t)["next_cursor"].(string)
		p := problem(t, h.do(req{Path: "/api/v2/products?q=bamboo+toothbrush&sort=price&limit=1&cursor=" + next}), http.StatusBadRequest, "invalid")
		assert.Equal(t, []string{"cursor"}, fieldsOf(p))
	})
}
