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
// case-insensitive beyond ASCII, with %, _ and \ taken literally. Terms
// without 3 letters or digits in a row are refused (issue 10 item 15).
func TestListTextQueryMatchesLikeTheDomain(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	cat := porttest.UniqueCategory()
	names := []string{`Éco brosse`, `50% off`, `500 off`, `100%`, `1000`, `aaa_bbb`, `aaaxbbb`, `back\slash`, `backslash`, `Quote's "mark"`}
	var ps []ecolaura.Product
	for _, n := range names {
		p := porttest.NewProduct(cat, func(p *ecolaura.Product) { p.Name, p.Description = n, "" })
		require.NoError(t, db.Products().Create(ctx, p))
		ps = append(ps, p)
	}
	for _, q := range []string{"%", "0%", "_", "a_b", `\`, `k\s`, `'s "m`, "o"} {
		_, err := db.Products().List(ctx, ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: cat, Query: q}, Limit: 100})
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "%q has no 3 letters or digits in a row", q)
	}
	for _, q := range []string{"éco", "ÉCO", "0% off", "100%", "aaa_bbb", `back\s`, `ote's "ma`, "off"} {
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
