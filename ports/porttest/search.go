package porttest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// searchFixture is the catalog of the shared search queries: one category
// of its own, products named by a short key.
type searchFixture struct {
	cat string
	ids map[string]ecolaura.ID
	sku string // the SKU of the apron's charcoal variant
}

func (f searchFixture) names(t *testing.T, ps []ecolaura.Product) []string {
	t.Helper()
	byID := map[ecolaura.ID]string{}
	for k, id := range f.ids {
		byID[id] = k
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		k, ok := byID[p.ID]
		require.True(t, ok, "a product of another test: %s %q", p.ID, p.Name)
		out = append(out, k)
	}
	return out
}

func newSearchFixture(t *testing.T, db ports.Database) searchFixture {
	t.Helper()
	f := searchFixture{cat: UniqueCategory(), ids: map[string]ecolaura.ID{}}
	token := strings.ToUpper(RandomToken("Z"))
	f.sku = "LA-" + token + "-CH"
	type spec struct {
		key, name, desc string
		price           int64
		stock           int
		status          ecolaura.ProductStatus
	}
	specs := []spec{
		{"bamboo-brush", "Bamboo toothbrush", "A toothbrush with a compostable handle.", 450, 10, ""},
		{"charcoal-brush", "Charcoal toothbrush", "Soft bristles infused with charcoal; the handle is made of bamboo.", 550, 10, ""},
		{"holder", "Toothbrush holder", "Holds two brushes. Stoneware.", 1250, 0, ""},
		{"cotton-tee", "Organic cotton T-shirt", "A classic tee in organic cotton.", 2500, 10, ""},
		{"kids-tee", "Kids T-shirt", "A small shirt in organic cotton for kids.", 1500, 10, ""},
		{"hemp-shirt", "Hemp shirt", "Made of hemp and organic linen, with cotton buttons.", 4500, 10, ""},
		{"tote", "Tote bag", "A roomy bag made of organic cotton.", 1200, 10, ""},
		{"apron", "Linen apron", "A kitchen apron of washed linen.", 3200, 0, ""},
		{"pan", "Cast iron pan", "Enamelled in charcoal grey.", 6500, 10, ""},
		{"draft-brush", "Bamboo toothbrush case", "Next season's case.", 900, 10, ecolaura.ProductDraft},
	}
	ps := make([]ecolaura.Product, 0, len(specs))
	for _, s := range specs {
		var p ecolaura.Product
		if s.key == "apron" {
			p = NewVariantProduct(f.cat, func(p *ecolaura.Product) {
				p.Variants = p.Variants[:2]
				p.Variants[0].SKU, p.Variants[0].Options = "LA-"+token+"-OA", map[string]string{"size": "M", "colour": "oat"}
				p.Variants[1].SKU, p.Variants[1].Options = f.sku, map[string]string{"size": "M", "colour": "charcoal"}
			})
		} else {
			p = NewProduct(f.cat)
		}
		p.Name, p.Description, p.Status = s.name, s.desc, s.status
		p.Price.Amount = s.price
		if len(p.Variants) == 0 {
			p.Stock = s.stock
		}
		f.ids[s.key] = p.ID
		ps = append(ps, p)
	}
	mustCreateProducts(t, db, ps...)
	return f
}

// productSearch runs the shared search queries (ports.ProductStore.List's
// search rules) and checks their top results, the same on every store:
// full text with stemming over name, description, SKUs and option values,
// "phrases", -exclusions, OR, prefix matching on the last word, the name
// weighing more than the variants and they more than the description, and
// the corrections of typos.
func productSearch(t *testing.T, db ports.Database) {
	f := newSearchFixture(t, db)
	store := db.Products()
	active := ecolaura.ProductFilter{Category: f.cat, Status: ecolaura.ProductActive}
	tests := []struct {
		name  string
		query string
		// first is the exact start of the relevance order.
		first []string
		// all is every match, in any order (nil: only first is checked,
		// and first must then be every match).
		all []string
	}{
		{"two words, name above description", "bamboo toothbrush", []string{"bamboo-brush", "charcoal-brush"}, nil},
		{"any case", "BAMBOO Toothbrush", []string{"bamboo-brush", "charcoal-brush"}, nil},
		{"stemming", "toothbrushes", []string{}, []string{"bamboo-brush", "charcoal-brush", "holder"}},
		{"prefix on the last word", "organic cott", []string{"cotton-tee"}, []string{"cotton-tee", "kids-tee", "hemp-shirt", "tote"}},
		{"prefix of one word", "toothbr", []string{}, []string{"bamboo-brush", "charcoal-brush", "holder"}},
		{"quoted phrase", `"organic cotton"`, []string{"cotton-tee"}, []string{"cotton-tee", "kids-tee", "tote"}},
		{"exclusion", "shirt -kids", []string{}, []string{"cotton-tee", "hemp-shirt"}},
		{"excluded phrase", `cotton -"organic cotton"`, []string{"hemp-shirt"}, nil},
		{"or", "apron or tote", []string{}, []string{"apron", "tote"}},
		{"typos", "bambo toothbrsh", []string{"bamboo-brush", "charcoal-brush"}, nil},
		{"a typo in one word", "bamboo toothbrsh", []string{"bamboo-brush", "charcoal-brush"}, nil},
		{"typos in a phrase are not corrected", `"bambo toothbrush"`, []string{}, nil},
		{"sku", f.sku, []string{"apron"}, nil},
		{"sku lower case", strings.ToLower(f.sku), []string{"apron"}, nil},
		{"option value, below the name, above the description", "charcoal", []string{"charcoal-brush", "apron", "pan"}, nil},
		{"stop words only and no similar name", "the and of", []string{}, nil},
		{"exclusions only find nothing", "-kids", []string{}, nil},
		{"an alternative of exclusions only is left out", "apron or -kids", []string{"apron"}, nil},
		{"no match", "skateboard", []string{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			filter := active
			filter.Query = tc.query
			require.NoError(t, filter.Validate())
			page, err := store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 100, WithTotal: true})
			require.NoError(t, err)
			got := f.names(t, page.Items)
			require.GreaterOrEqual(t, len(got), len(tc.first), "results %v", got)
			assert.Equal(t, tc.first, got[:len(tc.first)], "the top results of %q", tc.query)
			want := tc.all
			if want == nil {
				want = tc.first
			}
			assert.ElementsMatch(t, want, got, "every match of %q", tc.query)
			assert.Equal(t, len(got), page.Total, "Total")
			require.Len(t, page.Keys, len(page.Items), "a key per item")
			for i := 1; i < len(page.Items); i++ {
				ka, kb := page.Keys[i-1], page.Keys[i]
				require.True(t, ka > kb || (ka == kb && page.Items[i-1].ID > page.Items[i].ID),
					"relevance order: rank then ID, both descending (%d %s, %d %s)", ka, page.Items[i-1].ID, kb, page.Items[i].ID)
			}

			// The same matches in every other sort, in that sort's order.
			for _, s := range ecolaura.ProductSorts() {
				if s == ecolaura.SortRelevance {
					continue
				}
				sp, err := store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: s, Limit: 100})
				require.NoError(t, err)
				assert.Equal(t, productIDs(sortedReference(page.Items, ecolaura.ProductFilter{}, s)), productIDs(sp.Items), "sort %s", s)
			}
		})
	}

	t.Run("cursor and offset pages follow the relevance order", func(t *testing.T) {
		filter := active
		filter.Query = "charcoal"
		var got []ecolaura.Product
		q := ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 1}
		for range 10 {
			page, err := store.List(ctx(t), q)
			require.NoError(t, err)
			got = append(got, page.Items...)
			if !page.HasMore {
				break
			}
			require.Len(t, page.Keys, 1)
			q.After = &ecolaura.ProductPosition{Key: page.Keys[0], ID: page.Items[0].ID}
		}
		assert.Equal(t, []string{"charcoal-brush", "apron", "pan"}, f.names(t, got))
		page, err := store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Offset: 1, Limit: 1, WithTotal: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"apron"}, f.names(t, page.Items))
		assert.True(t, page.HasMore)
		assert.Equal(t, 3, page.Total)
		page, err = store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Offset: 3, Limit: 1})
		require.NoError(t, err)
		assert.Empty(t, page.Items, "past the end")
	})
	t.Run("corrected matches page too", func(t *testing.T) {
		filter := ecolaura.ProductFilter{Category: f.cat, Query: "bambo toothbrsh"}
		got := walkProducts(t, store, ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 1}, 3)
		assert.Equal(t, []string{"bamboo-brush", "draft-brush", "charcoal-brush"}, f.names(t, got), "the draft is found too (no status filter)")
		page, err := store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Offset: 2, Limit: 5, WithTotal: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"charcoal-brush"}, f.names(t, page.Items))
		assert.Equal(t, 3, page.Total)
	})
	t.Run("other filters apply to the search", func(t *testing.T) {
		filter := active
		filter.Query, filter.MaxPrice, filter.InStock = "toothbrush", ptr(int64(500)), true
		page, err := store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []string{"bamboo-brush"}, f.names(t, page.Items))
		filter = ecolaura.ProductFilter{Category: f.cat, Query: "bamboo toothbrush"}
		page, err = store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 10})
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"bamboo-brush", "charcoal-brush", "draft-brush"}, f.names(t, page.Items), "staff see drafts")
	})
	t.Run("relevance without a search is by ID", func(t *testing.T) {
		page, err := store.List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: f.cat}, Sort: ecolaura.SortRelevance, Limit: 4})
		require.NoError(t, err)
		all := make([]ecolaura.Product, 0, len(f.ids))
		for _, id := range f.ids {
			all = append(all, ecolaura.Product{ID: id})
		}
		want := sortedReference(all, ecolaura.ProductFilter{}, ecolaura.SortRelevance)
		assert.Equal(t, productIDs(want[:4]), productIDs(page.Items))
		for _, k := range page.Keys {
			assert.Zero(t, k)
		}
		rest := walkProducts(t, store, ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: f.cat}, Sort: ecolaura.SortRelevance, Limit: 3}, len(want))
		assert.Equal(t, productIDs(want), productIDs(rest))
	})
	t.Run("a renamed product is found by its new name", func(t *testing.T) {
		p, err := store.Get(ctx(t), f.ids["holder"])
		require.NoError(t, err)
		p.Name = fmt.Sprintf("Stoneware %s cup", strings.ToLower(RandomToken("q")))
		_, err = store.Update(ctx(t), p)
		require.NoError(t, err)
		filter := active
		filter.Query = strings.Fields(p.Name)[1]
		page, err := store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []string{"holder"}, f.names(t, page.Items))
		filter.Query = "holder"
		page, err = store.List(ctx(t), ports.ProductQuery{Filter: filter, Sort: ecolaura.SortRelevance, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page.Items, "not by its old one")
	})
}
