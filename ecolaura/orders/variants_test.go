package orders_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// variantProduct stores a product with size S/M variants (stock 5 and 3,
// prices 10.00 and 12.00 EUR, the M variant with its own footprint).
func variantProduct(t *testing.T, f *fixture, status ecolaura.ProductStatus) ecolaura.Product {
	t.Helper()
	fp := ecolaura.CO2e(700)
	p := ecolaura.Product{
		ID: f.ids.NewID(), Name: "Linen shirt", Category: "clothing", Status: status,
		Price:   ecolaura.NewMoney(1000, ecolaura.DefaultCurrency),
		Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 500, Certifications: []ecolaura.Certification{}},
		Options: []ecolaura.ProductOption{{Name: "size", Values: []string{"S", "M"}}},
		Variants: []ecolaura.Variant{
			{ID: f.ids.NewID(), SKU: strings.ToUpper(porttest.RandomToken("SH-")), Options: map[string]string{"size": "S"}, Price: ecolaura.NewMoney(1000, ecolaura.DefaultCurrency), Available: 5},
			{ID: f.ids.NewID(), SKU: strings.ToUpper(porttest.RandomToken("SH-")), Options: map[string]string{"size": "M"}, Price: ecolaura.NewMoney(1200, ecolaura.DefaultCurrency), Footprint: &fp, Available: 3},
		},
		CreatedAt: t0, UpdatedAt: t0, Version: 1,
	}
	p.Rescore()
	require.NoError(t, f.db.Products().Create(context.Background(), p))
	got, err := f.db.Products().Get(context.Background(), p.ID)
	require.NoError(t, err)
	return got
}

func TestCheckoutVariants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		ctx := context.Background()
		t.Run("two variants of one product in one order", func(t *testing.T) {
			f := newFixture(t, s)
			alice := f.user(t, "alice", ecolaura.RoleCustomer)
			p := variantProduct(t, f, ecolaura.ProductActive)
			sm, m := p.Variants[0], p.Variants[1]
			res, err := f.svc.Checkout(ctx, alice, orders.CheckoutRequest{Lines: []orders.LineRequest{
				{VariantID: m.ID, Quantity: 2}, {VariantID: sm.ID, Quantity: 1}}})
			require.NoError(t, err)
			o := res.Order
			require.Len(t, o.Lines, 2)
			assert.Equal(t, m.ID, o.Lines[0].VariantID, "lines keep the request's order")
			assert.Equal(t, "Linen shirt (M)", o.Lines[0].Name, "the line names the variant's options")
			assert.Equal(t, m.SKU, o.Lines[0].SKU)
			assert.Equal(t, ecolaura.NewMoney(1200, "EUR"), o.Lines[0].UnitPrice, "the variant's price")
			assert.Equal(t, ecolaura.CO2e(700), o.Lines[0].UnitFootprint, "the variant's footprint override")
			assert.Equal(t, ecolaura.CO2e(500), o.Lines[1].UnitFootprint, "else the product's")
			assert.Equal(t, int64(3400), o.Subtotal.Amount)
			got, err := f.db.Products().Get(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, []int{4, 1}, []int{got.Variants[0].Available, got.Variants[1].Available})
			assert.Equal(t, p.Version, got.Version, "a sale does not write the product")
			ms, err := f.db.Inventory().Movements(ctx, ports.MovementQuery{OrderID: o.ID, Limit: 10})
			require.NoError(t, err)
			assert.Len(t, ms, 2, "one sale movement per line")

			// By product ID: the default variant (v1's rule).
			o2 := f.checkout(t, alice, req(line(p, 1)))
			assert.Equal(t, sm.ID, o2.Lines[0].VariantID)
			// Unless the request wants single-variant products only (v2's rule).
			strict := req(line(p, 1))
			strict.SingleVariantProductLines = true
			_, err = f.svc.Checkout(ctx, alice, strict)
			requireFields(t, err, "lines[0].product_id")
			assert.Contains(t, err.Error(), "has 2 variants")
			single := f.product(t, productSpec{price: 100, stock: 5, footprint: 1})
			strict = req(line(single, 1))
			strict.SingleVariantProductLines = true
			o3, err := f.svc.Checkout(ctx, alice, strict)
			require.NoError(t, err, "a product with one variant may be named by its ID")
			assert.Equal(t, single.ID, o3.Order.Lines[0].VariantID)
			// The same variant by product and by variant ID is a duplicate.
			_, err = f.svc.Checkout(ctx, alice, orders.CheckoutRequest{Lines: []orders.LineRequest{
				{ProductID: p.ID, Quantity: 1}, {VariantID: sm.ID, Quantity: 1}}})
			requireFields(t, err, "lines[1].variant_id")

			// Cancelling puts the units back where they came from.
			_, err = f.svc.Cancel(ctx, alice, o.ID)
			require.NoError(t, err)
			got, err = f.db.Products().Get(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, []int{4, 3}, []int{got.Variants[0].Available, got.Variants[1].Available})
		})
		t.Run("draft and archived products cannot be bought", func(t *testing.T) {
			f := newFixture(t, s)
			alice := f.user(t, "alice", ecolaura.RoleCustomer)
			draft := variantProduct(t, f, ecolaura.ProductDraft)
			archived := variantProduct(t, f, ecolaura.ProductArchived)
			_, err := f.svc.Checkout(ctx, alice, req(line(draft, 1)))
			requireFields(t, err, "lines[0].product_id")
			assert.Contains(t, err.Error(), "does not exist", "a draft is invisible to customers")
			_, err = f.svc.Checkout(ctx, alice, orders.CheckoutRequest{Lines: []orders.LineRequest{{VariantID: archived.Variants[1].ID, Quantity: 1}}})
			requireFields(t, err, "lines[0].variant_id")
			assert.Contains(t, err.Error(), "archived")
			assert.Equal(t, 8, f.stock(t, archived.ID), "nothing was taken")

			// Archiving after a sale keeps the order intact.
			active := variantProduct(t, f, ecolaura.ProductActive)
			o := f.checkout(t, alice, req(line(active, 2)))
			cur, err := f.db.Products().Get(ctx, active.ID)
			require.NoError(t, err)
			cur.Status = ecolaura.ProductArchived
			_, err = f.db.Products().Update(ctx, cur)
			require.NoError(t, err)
			got, err := f.svc.Get(ctx, alice, o.ID)
			require.NoError(t, err)
			assert.Equal(t, o.Lines, got.Lines, "an archived product's past orders are unchanged")
			_, err = f.svc.Checkout(ctx, alice, req(line(active, 1)))
			requireFields(t, err, "lines[0].product_id")
		})
		t.Run("staff adjustments racing with checkouts lose no update", func(t *testing.T) {
			f := newFixture(t, s)
			alice := f.user(t, "alice", ecolaura.RoleCustomer)
			p := f.product(t, productSpec{price: 100, stock: 50, footprint: 1})
			const n = 20
			var wg sync.WaitGroup
			errs := make([]error, 2*n)
			for i := range 2 * n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i%2 == 0 {
						_, errs[i] = f.svc.Checkout(ctx, alice, req(line(p, 1)))
						return
					}
					_, errs[i] = f.db.Inventory().Change(ctx, ports.InventoryChange{VariantID: p.ID, Quantity: 2,
						Reason: ecolaura.MoveRestock, At: t0})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "call %d", i)
			}
			assert.Equal(t, 50-n+2*n, f.stock(t, p.ID))
		})
	})
}

// requireFields asserts err is a *ValidationError naming exactly fields.
func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field)
	}
	require.Equal(t, fields, got, "%v", err)
}
