package orders_test

import (
	"context"
	"fmt"
	"math/rand/v2"
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

		// The offset is priced as the checkout prices it: at the orders
		// service's price (1.00 per kg here), not the shipping service's.
		dear, err := orders.New(f.db, f.clock, f.ids, orders.WithShipping(ship), orders.WithCarbonOffsetPrice(ecolaura.NewMoney(100, ecolaura.DefaultCurrency)))
		require.NoError(t, err)
		q, err = dear.Quote(ctx, ecolaura.Anonymous, orders.QuoteRequest{Lines: []orders.LineRequest{line(p, 3)},
			ShippingAddress: ecolaura.Address{Country: "DE"}, CarbonOffset: true})
		require.NoError(t, err)
		assert.Equal(t, int64(138), q.Options[0].Totals.Offset.Amount, "1,380 g at 1.00/kg")
	})
}

// A quote's totals are the placed order's: for random baskets, methods
// and offset choices, in both tax modes, the order records the option's
// shipping, tax, offset, footprint and total.
func TestQuoteEqualsPlacedOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		for _, mode := range []ecolaura.TaxMode{ecolaura.TaxInclusive, ecolaura.TaxExclusive} {
			t.Run(string(mode), func(t *testing.T) {
				ctx := context.Background()
				f := newFixture(t, st)
				ship, err := shipping.New(f.db, f.clock, f.ids, shipping.WithTaxMode(mode))
				require.NoError(t, err)
				f.svc, err = orders.New(f.db, f.clock, f.ids, orders.WithShipping(ship))
				require.NoError(t, err)
				staff := f.user(t, "staff", ecolaura.RoleStaff)
				buyer := f.user(t, "buyer", ecolaura.RoleCustomer)
				eur := func(n int64) ecolaura.Money { return ecolaura.NewMoney(n, ecolaura.DefaultCurrency) }
				for _, m := range []shipping.MethodInput{
					{Name: "Road", Price: ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: eur(490)}, Preset: ecolaura.ModeRoadParcel},
					{Name: "Bike", Price: ecolaura.PriceRule{Type: ecolaura.PriceFreeAbove, Amount: eur(690), FreeAbove: eur(5000)}, Preset: ecolaura.ModeBikeCourier},
					{Name: "Air", Price: ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 2000, Price: eur(999)}, {UpToG: 1_000_000, Price: eur(2999)}}},
						Preset: ecolaura.ModeAirExpress},
				} {
					m.Carrier, m.Countries, m.Active, m.DeliveryDays = "C", []string{"DE", "FR"}, true, ecolaura.DeliveryDays{Min: 1, Max: 5}
					_, err := ship.CreateMethod(ctx, staff, m)
					require.NoError(t, err)
				}
				for _, r := range []shipping.TaxRateInput{{Country: "DE", Class: ecolaura.TaxStandard, Rate: 190_000}, {Country: "FR", Class: ecolaura.TaxStandard, Rate: 200_000}} {
					_, err := ship.CreateTaxRate(ctx, staff, r)
					require.NoError(t, err)
				}
				rng := rand.New(rand.NewPCG(uint64(len(mode)), 13))
				var products []ecolaura.Product
				for i := range 8 {
					products = append(products, f.product(t, productSpec{name: fmt.Sprintf("P%d", i), price: 1 + rng.Int64N(9999), stock: 1_000_000, footprint: ecolaura.CO2e(rng.Int64N(5000))}))
				}
				rounds := 60
				if st.Name() == "postgres" {
					rounds = 25
				}
				for i := range rounds {
					var lines []orders.LineRequest
					for _, j := range rng.Perm(len(products))[:1+rng.IntN(4)] {
						lines = append(lines, line(products[j], 1+rng.IntN(20)))
					}
					addr := ecolaura.Address{Name: "Ada", Line1: "Street 1", City: "Town", Country: []string{"DE", "FR"}[rng.IntN(2)]}
					offset := rng.IntN(2) == 0
					q, err := f.svc.Quote(ctx, buyer, orders.QuoteRequest{Lines: lines, ShippingAddress: addr, CarbonOffset: offset})
					require.NoError(t, err)
					require.Len(t, q.Options, 3)
					opt := q.Options[rng.IntN(3)]
					o := f.checkout(t, buyer, orders.CheckoutRequest{Lines: lines, ShippingAddress: &addr, ShippingMethodID: opt.MethodID, CarbonOffset: offset,
						IdempotencyKey: fmt.Sprintf("k%d", i)})
					tot := opt.Totals
					require.Equal(t, tot.Subtotal, o.Subtotal, "round %d", i)
					require.Equal(t, tot.Total, o.Total, "round %d", i)
					require.Equal(t, tot.FootprintTotal, o.Footprint, "round %d", i)
					require.NotNil(t, o.Shipping)
					require.Equal(t, opt.Price, o.Shipping.Price)
					require.Equal(t, opt.Footprint, o.Shipping.Footprint)
					require.Equal(t, opt.MethodID, o.Shipping.MethodID)
					require.Equal(t, &ecolaura.OrderTax{Mode: mode, Total: tot.Tax}, o.Tax)
					require.Equal(t, addr, *o.ShippingAddress)
					require.Equal(t, addr, *o.BillingAddress, "billing defaults to shipping")
					if offset {
						require.Equal(t, &ecolaura.CarbonOffset{Footprint: tot.FootprintTotal, Price: tot.Offset}, o.Offset)
					} else {
						require.Nil(t, o.Offset)
					}
					sum := o.Subtotal.Amount + o.Shipping.Price.Amount
					if o.Offset != nil {
						sum += o.Offset.Price.Amount
					}
					if mode == ecolaura.TaxExclusive {
						sum += o.Tax.Total.Amount
					}
					require.Equal(t, sum, o.Total.Amount, "lines + shipping + offset (+ tax when exclusive) = total")
					stored, err := f.db.Orders().Get(ctx, o.ID)
					require.NoError(t, err)
					require.Equal(t, o.Shipping, stored.Shipping)
					require.Equal(t, o.Tax, stored.Tax)
				}
			})
		}
	})
}
