// Command checkout embeds the whole Ecolaura SDK in memory and walks one
// customer through a purchase: register, sign in (and authenticate the
// access token), check out with a carbon offset, see the background job
// confirm the order and send the confirmation email, retry the checkout
// safely with its idempotency key, and cancel, which restocks.
//
//	go run ./examples/checkout
//
// Nothing leaves the process: the database and the job runner are in
// memory, and the email is recorded instead of sent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

// The customer of the walk-through.
const (
	email    = "ada@example.org"
	password = "correct horse battery"
)

// run does the walk-through, printing each step to out.
func run(ctx context.Context, out io.Writer) (err error) {
	outbox := mail.NewRecorder()
	s, err := shop.New(ctx, shop.WithDemoCatalog(), shop.WithMailer(outbox))
	if err != nil {
		return err
	}
	// Close stops the job runner, waiting for running jobs.
	defer func() { err = errors.Join(err, s.Close(ctx)) }()

	// 1. Register and sign in.
	u, err := s.Users.Register(ctx, users.RegisterInput{Email: email, Name: "Ada", Password: password})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	fmt.Fprintf(out, "registered %s as a %s\n", u.Email, u.Role)
	pair, err := s.Users.Login(ctx, users.Credentials{Email: email, Password: password})
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	// What an HTTP handler does with an "Authorization: Bearer" header.
	customer, err := s.Tokens.Verify(ctx, pair.AccessToken)
	if err != nil {
		return fmt.Errorf("verify access token: %w", err)
	}
	if customer.UserID != u.ID {
		return fmt.Errorf("access token is for %s, not %s", customer.UserID, u.ID)
	}
	fmt.Fprintf(out, "signed in: access token valid until %s, verified as the %s\n",
		pair.AccessExpiresAt.Format("15:04 MST"), customer.Role)

	// 2. Pick the greenest personal-care product under 10 EUR.
	maxPrice := int64(1000)
	page, err := s.Catalog.List(ctx, customer, catalog.ListParams{
		Filter:   ecolaura.ProductFilter{Category: "personal-care", MaxPrice: &maxPrice, InStock: true},
		Sort:     ecolaura.SortScore,
		PageSize: 1,
	})
	if err != nil {
		return fmt.Errorf("browse: %w", err)
	}
	if len(page.Items) == 0 {
		return errors.New("browse: no product found")
	}
	product := page.Items[0]
	fmt.Fprintf(out, "chose %s: %s, score %d, %s each, %d in stock\n",
		product.Name, product.Price, product.Score, product.Metrics.CarbonFootprint, product.Stock)

	// 3. Check out with a carbon offset.
	req := orders.CheckoutRequest{
		Lines:          []orders.LineRequest{{ProductID: product.ID, Quantity: 3}},
		IdempotencyKey: "ada-2026-11-25-1", // the same key makes a retry safe
		CarbonOffset:   true,
	}
	res, err := s.Orders.Checkout(ctx, customer, req)
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	o := res.Order
	fmt.Fprintf(out, "order placed: status %s\n", o.Status)
	for _, l := range o.Lines {
		fmt.Fprintf(out, "  %d × %s @ %s = %s\n", l.Quantity, l.Name, l.UnitPrice, l.Total)
	}
	fmt.Fprintf(out, "  subtotal %s\n", o.Subtotal)
	if o.Offset != nil {
		fmt.Fprintf(out, "  carbon offset for %s: %s\n", o.Offset.Footprint, o.Offset.Price)
	}
	fmt.Fprintf(out, "  total %s\n", o.Total)
	fmt.Fprintf(out, "  footprint %s\n", o.Footprint)

	// 4. The background jobs confirm the order and send the emails: the
	// link that verifies the new account's address, and the confirmation.
	if err := s.WaitIdle(ctx); err != nil {
		return err
	}
	o, err = s.Orders.Get(ctx, customer, o.ID)
	if err != nil {
		return fmt.Errorf("reload order: %w", err)
	}
	fmt.Fprintf(out, "after the background jobs: status %s\n", o.Status)
	msgs := outbox.Messages()
	// Concurrent jobs sent them: in a stable order for the output.
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].Subject < msgs[j].Subject })
	fmt.Fprintf(out, "emails sent: %d\n", len(msgs))
	for _, m := range msgs {
		fmt.Fprintf(out, "  to %s: %q\n", m.To, m.Subject)
		for _, line := range strings.Split(strings.TrimSpace(m.Text), "\n") {
			fmt.Fprintln(out, strings.TrimRight("  | "+line, " "))
		}
	}

	// 5. A retry with the same key returns the same order: nothing is
	// charged twice.
	again, err := s.Orders.Checkout(ctx, customer, req)
	if err != nil {
		return fmt.Errorf("retry checkout: %w", err)
	}
	fmt.Fprintf(out, "retried checkout: replayed %t, same order %t\n", again.Replayed, again.Order.ID == o.ID)

	// 6. Cancel: the stock comes back.
	o, err = s.Orders.Cancel(ctx, customer, o.ID)
	if err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	restocked, err := s.Catalog.Get(ctx, customer, product.ID)
	if err != nil {
		return fmt.Errorf("reload product: %w", err)
	}
	fmt.Fprintf(out, "cancelled: status %s, %s back to %d in stock\n", o.Status, restocked.Name, restocked.Stock)
	return nil
}
