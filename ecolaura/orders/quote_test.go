package orders_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

func TestQuote(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		bare := newFixture(t, st)
		p := bare.product(t, productSpec{price: 1000, stock: 5, footprint: 400})
		_, err := bare.svc.Quote(ctx, ecolaura.Anonymous, orders.QuoteRequest{Lines: []orders.LineRequest{line(p, 1)}, ShippingAddress: ecolaura.Address{Country: "DE"}})
		require.ErrorIs(t, err, ecolaura.ErrUnavailable, "no shipping service")

		f := newFixture(t, st)
		ship, err := shipping.New(f.db, f.clock, f.ids, shipping.WithTaxMode(ecolaura.TaxExclusive))
		require.NoError(t, err)
		f.svc, err = orders.New(f.db, f.clock, f.ids, orders.WithShipping(ship))
		require.NoError(t, err)
		staff := f.user(t, "staff", ecolaura.RoleStaff)
		_, err = ship.CreateMethod(ctx, staff, shipping.MethodInput{Name: "Road", Carrier: "DHL", Countries: []string{"DE"},
			Price:        ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: ecolaura.NewMoney(500, ecolaura.DefaultCurrency)},
			DeliveryDays: ecolaura.DeliveryDays{Min: 1, Max: 2}, Preset: ecolaura.ModeRoadParcel, Active: true})
		require.NoError(t, err)
		_, err = ship.CreateTaxRate(ctx, staff, shipping.TaxRateInput{Country: "DE", Class: ecolaura.TaxStandard, Rate: 70_000})
		require.NoError(t, err)
		p = f.product(t, productSpec{price: 1999, stock: 1, footprint: 400})
		usd := f.product(t, productSpec{price: 100, currency: "USD", stock: 1, footprint: 0})

		q, err := f.svc.Quote(ctx, ecolaura.Anonymous, orders.QuoteRequest{Lines: []orders.LineRequest{line(p, 3)},
			ShippingAddress: ecolaura.Address{Country: " de "}, CarbonOffset: true})
		require.NoError(t, err, "stock is not checked: 3 of 1")
		require.Len(t, q.Options, 1)
		tot := q.Options[0].Totals
		assert.Equal(t, int64(5997), tot.Subtotal.Amount)
		assert.Equal(t, int64(420)+int64(35), tot.Tax.Amount, "7 %% of 59.97 = 4.1979 and of 5.00 = 0.35")
		assert.Equal(t, ecolaura.CO2e(1200+180), tot.FootprintTotal)
		assert.Equal(t, int64(3), tot.Offset.Amount, "1,380 g at 0.02/kg, rounded up")
		assert.Equal(t, int64(5997+500+455+3), tot.Total.Amount)

		_, err = f.svc.Quote(ctx, ecolaura.Anonymous, orders.QuoteRequest{Lines: []orders.LineRequest{line(usd, 1), {Quantity: 0}},
			ShippingAddress: ecolaura.Address{Country: "XX"}})
		assert.ElementsMatch(t, []string{"lines[1].product_id", "lines[1].quantity", "shipping_address.country"}, fieldsOf(t, err))
		_, err = f.svc.Quote(ctx, ecolaura.Anonymous, orders.QuoteRequest{Lines: []orders.LineRequest{line(usd, 1)}, ShippingAddress: ecolaura.Address{Country: "DE"}})
		assert.Equal(t, []string{"lines[0].product_id"}, fieldsOf(t, err), "priced in another currency")
	})
}
