package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

var benchCategories = []string{"kitchen", "personal-care", "home", "clothing", "outdoor", "cleaning", "electronics", "baby", "office", "garden", "food", "pets"}

// benchCatalog fills a database with n generated products, in transactions
// of 10,000.
func benchCatalog(b *testing.B, n int) *memory.Database {
	b.Helper()
	ctx := context.Background()
	db := memory.NewDatabase()
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	gen := memory.NewSequentialIDs()
	for done := 0; done < n; {
		batch := min(10_000, n-done)
		err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			for range batch {
				id := gen.NewID()
				p := ecolaura.Product{
					ID: id, Name: "Product " + string(id[24:]), Category: benchCategories[rng.IntN(len(benchCategories))],
					Price: ecolaura.NewMoney(int64(100+rng.IntN(100_000)), ecolaura.DefaultCurrency), Stock: rng.IntN(100),
					Score: rng.IntN(101), CreatedAt: t0.Add(time.Duration(done) * time.Second), Version: 1,
				}
				if rng.IntN(4) > 0 {
					p.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.CO2e(rng.IntN(20_000)), Recyclable: rng.IntN(2) == 0}
					p.Rescore()
				}
				p.UpdatedAt = p.CreatedAt
				if err := tx.Products().Create(ctx, p); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // collect the loading garbage before the timer starts
	return db
}

// BenchmarkListCategoryScore lists a page of 20 of one category by score at
// three catalog sizes; the cost must stay flat (O(log n + page)).
func BenchmarkListCategoryScore(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1k", 1_000}, {"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run(size.name, func(b *testing.B) {
			db := benchCatalog(b, size.n)
			store := db.Products()
			ctx := context.Background()
			q := ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: "kitchen"}, Sort: ecolaura.SortScore, Limit: 20}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				page, err := store.List(ctx, q)
				if err != nil || len(page.Items) != 20 {
					b.Fatal(err, len(page.Items))
				}
			}
		})
	}
}

// BenchmarkListCategoryScoreCursor fetches the page after a cursor in the
// middle of the category.
func BenchmarkListCategoryScoreCursor(b *testing.B) {
	db := benchCatalog(b, 100_000)
	ctx := context.Background()
	after := &ecolaura.ProductPosition{Key: 50, ID: "00000000-0000-7000-8000-000000008000"}
	q := ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: "kitchen"}, Sort: ecolaura.SortScore, After: after, Limit: 20}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.Products().List(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdjustStockParallel takes and returns one unit of stock from
// goroutines on all CPUs, spread over 1,000 products of a 10,000 catalog.
func BenchmarkAdjustStockParallel(b *testing.B) {
	db := benchCatalog(b, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
		for pb.Next() {
			id := ecolaura.ID(fmt.Sprintf("00000000-0000-7000-8000-%012x", 1+rng.IntN(1000)))
			delta := 1
			if rng.IntN(2) == 0 {
				delta = -1
			}
			if _, err := porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: id, Delta: delta, At: t0}); err != nil && delta > 0 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckoutTx runs a checkout-shaped transaction: two stock
// decrements, one order, one job.
func BenchmarkCheckoutTx(b *testing.B) {
	db := benchCatalog(b, 10_000)
	withTestUsers(b, db)
	ctx := context.Background()
	gen := memory.NewSequentialIDs()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
				for _, id := range []ecolaura.ID{"00000000-0000-7000-8000-000000000001", "00000000-0000-7000-8000-000000000002"} {
					if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: id, Delta: 1, At: t0}); err != nil {
						return err
					}
				}
				if err := tx.Orders().Create(ctx, pendingOrder(gen.NewID(), testUsers[0], "00000000-0000-7000-8000-000000000001")); err != nil {
					return err
				}
				return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "process_order"})
			})
		}
	})
}
