package orders_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
)

// BenchmarkCheckout measures parallel checkouts on the memory adapter:
// every buyer on one hot product, or spread over many products.
//
//	go test -run '^$' -bench BenchmarkCheckout -benchtime=2s ./ecolaura/orders
func BenchmarkCheckout(b *testing.B) {
	cases := []struct {
		name     string
		products int
		lines    int
		withKey  bool
	}{
		{name: "hot-1-product", products: 1, lines: 1},
		{name: "spread-1000-products", products: 1000, lines: 1},
		{name: "spread-1000-products-3-lines", products: 1000, lines: 3},
		{name: "spread-1000-products-idempotency-key", products: 1000, lines: 1, withKey: true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			ids := memory.NewSequentialIDs()
			db := memory.NewDatabase() // no job runner: committed jobs are counted and dropped
			svc, err := orders.New(db, memory.NewManualClock(t0), ids, orders.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			products := make([]ecolaura.ID, bc.products)
			for i := range products {
				p := ecolaura.Product{
					ID: ids.NewID(), Name: "Bench product " + strconv.Itoa(i), Category: "kitchen",
					Price: ecolaura.NewMoney(1999, "EUR"), Stock: ecolaura.MaxStock, Score: 50,
					Metrics:   &ecolaura.SustainabilityMetrics{CarbonFootprint: 420},
					CreatedAt: t0, UpdatedAt: t0, Version: 1,
				}
				if err := db.Products().Create(context.Background(), p); err != nil {
					b.Fatal(err)
				}
				products[i] = p.ID
			}
			var keys atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				actor := ecolaura.Principal{UserID: ids.NewID(), Role: ecolaura.RoleCustomer}
				rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
				lines := make([]orders.LineRequest, 0, bc.lines)
				for pb.Next() {
					lines = lines[:0]
					start := rng.IntN(len(products))
					for i := range bc.lines {
						lines = append(lines, orders.LineRequest{ProductID: products[(start+i)%len(products)], Quantity: 1})
					}
					r := orders.CheckoutRequest{Lines: lines}
					if bc.withKey {
						r.IdempotencyKey = "k" + strconv.FormatInt(keys.Add(1), 10)
					}
					if _, err := svc.Checkout(context.Background(), actor, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
