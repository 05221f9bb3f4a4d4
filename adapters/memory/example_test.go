package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// A checkout-shaped transaction: take stock, record the order and enqueue
// its job, all or nothing. The job runs only after the commit.
func ExampleDatabase_Do() {
	ctx := context.Background()
	runner := memory.NewJobRunner()
	db := memory.NewDatabase(memory.WithJobRunner(runner))
	ids := memory.NewSequentialIDs()
	clock := memory.NewManualClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))

	bottle := ecolaura.Product{
		ID: ids.NewID(), Name: "Steel bottle", Category: "kitchen",
		Price: ecolaura.NewMoney(1999, "EUR"), Stock: 3, Score: 70,
		CreatedAt: clock.Now(), UpdatedAt: clock.Now(), Version: 1,
	}
	if err := db.Products().Create(ctx, bottle); err != nil {
		fmt.Println(err)
		return
	}
	buyer := ecolaura.User{ID: ids.NewID(), Email: "ada@example.org", Name: "Ada", Role: ecolaura.RoleCustomer,
		CreatedAt: clock.Now(), UpdatedAt: clock.Now(), Version: 1}
	if err := db.Users().Create(ctx, buyer); err != nil {
		fmt.Println(err)
		return
	}
	checkout := func(qty int) error {
		return db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			total := ecolaura.NewMoney(bottle.Price.Amount*int64(qty), "EUR")
			order := ecolaura.Order{ID: ids.NewID(), UserID: buyer.ID, Status: ecolaura.StatusPending,
				Lines:    []ecolaura.OrderLine{{ProductID: bottle.ID, Name: bottle.Name, UnitPrice: bottle.Price, Quantity: qty, Total: total}},
				Subtotal: total, Total: total, CreatedAt: clock.Now(), UpdatedAt: clock.Now(), Version: 1}
			if err := tx.Orders().Create(ctx, order); err != nil {
				return err
			}
			// The default variant of a product created without variants
			// has the product's ID.
			if _, err := tx.Inventory().Sell(ctx, ports.Sale{VariantID: bottle.ID, Quantity: qty, OrderID: order.ID, At: clock.Now()}); err != nil {
				return err
			}
			return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "process_order", Payload: []byte(order.ID)})
		})
	}
	fmt.Println("buy 2:", checkout(2))
	var ise *ecolaura.InsufficientStockError
	if err := checkout(2); errors.As(err, &ise) {
		fmt.Println("buy 2 more: only", ise.Available, "left")
	}

	_ = runner.Start(ctx, ports.JobHandlerFunc(func(ctx context.Context, job ports.Job) error {
		fmt.Println("job:", job.Kind)
		return nil
	}))
	_ = runner.WaitIdle(ctx)
	_ = runner.Stop(ctx)
	p, _ := db.Products().Get(ctx, bottle.ID)
	fmt.Println("stock:", p.Stock, "version:", p.Version)
	// Output:
	// buy 2: <nil>
	// buy 2 more: only 1 left
	// job: process_order
	// stock: 1 version: 1
}

// Cache entries expire by the injected clock; counters never expire.
func ExampleCache() {
	ctx := context.Background()
	clock := memory.NewManualClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	cache := memory.NewCache(memory.WithCacheClock(clock), memory.WithMaxEntries(10_000))
	_ = cache.Set(ctx, "ecolaura:product:1", []byte(`{"name":"bottle"}`), 15*time.Minute)
	_, _ = cache.Incr(ctx, "ecolaura:catalog:version")
	clock.Advance(16 * time.Minute)
	_, hit, _ := cache.Get(ctx, "ecolaura:product:1")
	v, _, _ := cache.Get(ctx, "ecolaura:catalog:version")
	fmt.Println(hit, string(v))
	// Output: false 1
}
