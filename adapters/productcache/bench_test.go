package productcache_test

import (
	"context"
	"testing"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// BenchmarkListPage compares a 20-product list page (category filter, score
// sort) read from the memory store directly and through the product cache
// backed by the memory cache (all hits after the first call).
//
//	go test -run '^$' -bench ListPage -benchtime 2s ./adapters/productcache/
func BenchmarkListPage(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	for _, c := range []string{"kitchen", "home", "garden", "office"} {
		f.add(b, 2500, c, 10)
	}
	q := ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: "home"}, Sort: ecolaura.SortScore, Limit: 20}
	for _, bc := range []struct {
		name  string
		store ports.ProductStore
	}{
		{"store", f.db.Products()},
		{"cached", f.cached.Products()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := bc.store.List(ctx, q)
				if err != nil || len(page.Items) != 20 {
					b.Fatal(err, len(page.Items))
				}
			}
		})
	}
	b.ReportMetric(float64(f.cached.Stats().ListHits), "list-hits")
}
