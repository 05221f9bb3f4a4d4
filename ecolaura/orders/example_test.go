package orders_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
)

// A checkout in memory: the order is placed, the background job confirms it
// and the confirmation email is sent.
func ExampleService_Checkout() {
	ctx := context.Background()
	runner := memory.NewJobRunner()
	db := memory.NewDatabase(memory.WithJobRunner(runner))
	ids := memory.NewSequentialIDs()
	clock := memory.NewManualClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	outbox := mail.NewRecorder()
	templates, err := mail.DefaultTemplates()
	if err != nil {
		panic(err)
	}
	notifier, err := notify.New(templates, outbox, notify.Config{Shop: notify.Shop{Name: "Ecolaura", URL: "https://shop.example.org"}})
	if err != nil {
		panic(err)
	}
	svc, err := orders.New(db, clock, ids, orders.WithNotifier(notifier), orders.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	_ = runner.Start(ctx, svc) // the service handles its own jobs
	defer runner.Stop(ctx)

	// A customer and a product (normally created by the users and catalog services).
	zoe := ecolaura.User{ID: ids.NewID(), Email: "zoe@example.org", Name: "Zoë", Role: ecolaura.RoleCustomer,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA", Version: 1}
	brush := ecolaura.Product{ID: ids.NewID(), Name: "Bamboo toothbrush", Category: "bathroom",
		Price: ecolaura.NewMoney(350, "EUR"), Stock: 10, Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 120}, Version: 1}
	_ = db.Users().Create(ctx, zoe)
	_ = db.Products().Create(ctx, brush)

	res, err := svc.Checkout(ctx, zoe.Principal(), orders.CheckoutRequest{
		Lines:          []orders.LineRequest{{ProductID: brush.ID, Quantity: 4}},
		IdempotencyKey: "2b7f6c1e-checkout-1",
		CarbonOffset:   true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("placed:", res.Order.Status, res.Order.Total, "footprint", res.Order.Footprint)

	_ = runner.WaitIdle(ctx)
	o, _ := svc.Get(ctx, zoe.Principal(), res.Order.ID)
	fmt.Println("after the jobs:", o.Status)
	fmt.Println("emails sent:", outbox.Len(), "-", outbox.Messages()[0].Subject)

	again, _ := svc.Checkout(ctx, zoe.Principal(), orders.CheckoutRequest{
		Lines:          []orders.LineRequest{{ProductID: brush.ID, Quantity: 4}},
		IdempotencyKey: "2b7f6c1e-checkout-1",
		CarbonOffset:   true,
	})
	fmt.Println("retry replayed:", again.Replayed, again.Order.ID == o.ID)
	// Output:
	// placed: pending 14.01 EUR footprint 0.48 kg CO2e
	// after the jobs: confirmed
	// emails sent: 1 - Your Ecolaura order 00000003 is confirmed
	// retry replayed: true true
}
