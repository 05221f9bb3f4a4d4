package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// A product list is one query (two with the total), whatever the page
// size; an order page is two (lines in one batch), never one per order.
func TestQueryCounts(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	cat := porttest.UniqueCategory()
	u := porttest.NewUser()
	require.NoError(t, db.Users().Create(ctx, u))
	for range 30 {
		p := porttest.NewProduct(cat)
		require.NoError(t, db.Products().Create(ctx, p))
		require.NoError(t, db.Orders().Create(ctx, porttest.NewOrder(u.ID, porttest.Line(p, 1), porttest.Line(p, 2))))
	}
	count := func(fn func()) int64 {
		before := db.QueryCount()
		fn()
		return db.QueryCount() - before
	}
	// A page of products, then one statement for all their variants.
	assert.EqualValues(t, 2, count(func() {
		_, err := db.Products().List(ctx, ports.ProductQuery{Limit: 25, Filter: ecolaura.ProductFilter{Category: cat}})
		require.NoError(t, err)
	}), "product list")
	assert.EqualValues(t, 3, count(func() {
		page, err := db.Products().List(ctx, ports.ProductQuery{Limit: 25, WithTotal: true, Filter: ecolaura.ProductFilter{Category: cat}})
		require.NoError(t, err)
		require.Equal(t, 30, page.Total)
	}), "product list with total")
	assert.EqualValues(t, 1, count(func() {
		_, err := db.Products().Get(ctx, porttest.NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	}), "product detail")
	assert.EqualValues(t, 2, count(func() {
		page, err := db.Orders().List(ctx, ports.OrderQuery{UserID: u.ID, Limit: 25})
		require.NoError(t, err)
		require.Len(t, page.Items, 25)
		require.Len(t, page.Items[0].Lines, 2)
	}), "order list")
}

// benchDB opens a migrated database with 1,000 products in 10 categories,
// with pgx's default query exec mode or the one named (the URL's
// default_query_exec_mode).
func benchDB(b *testing.B, execMode string) (*postgres.Database, []ecolaura.Product, ecolaura.User) {
	b.Helper()
	db := openDBWith(b, postgres.Config{MaxConns: 8}, execMode)
	ctx := context.Background()
	ps := make([]ecolaura.Product, 1000)
	for i := range ps {
		ps[i] = porttest.NewProduct(fmt.Sprintf("bench-%d", i%10), func(p *ecolaura.Product) { p.Stock = 1_000_000 })
		require.NoError(b, db.Products().Create(ctx, ps[i]))
	}
	u := porttest.NewUser()
	require.NoError(b, db.Users().Create(ctx, u))
	return db, ps, u
}

// checkout runs the statements of a two-line checkout in one transaction,
// in the order orders.Service.Checkout uses: the order with its lines, one
// job, then the two guarded stock decrements of the default variants (each
// one statement with its sale movement), in variant-ID order.
func checkout(ctx context.Context, db *postgres.Database, u ecolaura.User, a, b ecolaura.Product) error {
	return db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := porttest.Now()
		o := porttest.NewOrder(u.ID, porttest.Line(a, 1), porttest.Line(b, 1))
		if err := tx.Orders().Create(ctx, o); err != nil {
			return err
		}
		if err := tx.Jobs().Enqueue(ctx, ports.Job{Kind: "process_order", Payload: []byte(`{"order_id":"` + string(o.ID) + `"}`)}); err != nil {
			return err
		}
		for _, p := range []ecolaura.Product{a, b} { // a.ID < b.ID; the default variant has the product's ID
			if _, err := tx.Inventory().Sell(ctx, ports.Sale{VariantID: p.ID, Quantity: 1, OrderID: o.ID, ActorID: u.ID, At: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkStore measures a product Get, a list page (category + score
// sort, 20 items) and a checkout transaction, alone and 8 at once, in
// pgx's default query exec mode (cache_statement) and in the modes that
// prepare nothing by name (for PgBouncer in transaction pooling mode).
func BenchmarkStore(b *testing.B) {
	for _, mode := range []string{"cache_statement", "cache_describe", "exec"} {
		b.Run(mode, func(b *testing.B) { benchStore(b, mode) })
	}
}

func benchStore(b *testing.B, execMode string) {
	db, ps, u := benchDB(b, execMode)
	ctx := context.Background()
	b.Run("Get", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := db.Products().Get(ctx, ps[i%len(ps)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListPage", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			page, err := db.Products().List(ctx, ports.ProductQuery{Limit: 20, Sort: ecolaura.SortScore,
				Filter: ecolaura.ProductFilter{Category: fmt.Sprintf("bench-%d", i%10)}})
			if err != nil || len(page.Items) != 20 {
				b.Fatal(err, len(page.Items))
			}
		}
	})
	b.Run("Checkout", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			x, y := ps[(2*i)%len(ps)], ps[(2*i+1)%len(ps)]
			if x.ID > y.ID {
				x, y = y, x
			}
			if err := checkout(ctx, db, u, x, y); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CheckoutParallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				x, y := ps[(7*i)%len(ps)], ps[(7*i+3)%len(ps)]
				if x.ID > y.ID {
					x, y = y, x
				}
				if err := checkout(ctx, db, u, x, y); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
