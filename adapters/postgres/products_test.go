package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// The text query matches exactly as ProductFilter.Match: a substring,
// case-insensitive beyond ASCII, with %, _ and \ taken literally.
func TestListTextQueryMatchesLikeTheDomain(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	cat := porttest.UniqueCategory()
	names := []string{`Éco brosse`, `50% off`, `500 off`, `a_b`, `axb`, `back\slash`, `backslash`, `Quote's "mark"`}
	var ps []ecolaura.Product
	for _, n := range names {
		p := porttest.NewProduct(cat, func(p *ecolaura.Product) { p.Name, p.Description = n, "" })
		require.NoError(t, db.Products().Create(ctx, p))
		ps = append(ps, p)
	}
	for _, q := range []string{"éco", "ÉCO", "%", "0%", "_", "a_b", `\`, `k\s`, `'s "m`, "o"} {
		t.Run(q, func(t *testing.T) {
			f := ecolaura.ProductFilter{Category: cat, Query: q}
			var want []string
			for _, p := range ps {
				if f.Match(p) {
					want = append(want, p.Name)
				}
			}
			page, err := db.Products().List(ctx, ports.ProductQuery{Filter: f, Limit: 100, Sort: ecolaura.SortPriceAsc})
			require.NoError(t, err)
			var got []string
			for _, p := range page.Items {
				got = append(got, p.Name)
			}
			assert.ElementsMatch(t, want, got)
		})
	}
}
