package ecolaura_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func germanRates() []ecolaura.TaxRate {
	return []ecolaura.TaxRate{
		{Country: "DE", Class: ecolaura.TaxStandard, Rate: 190_000},
		{Country: "DE", Class: ecolaura.TaxReduced, Rate: 70_000},
		{Country: "FR", Class: ecolaura.TaxStandard, Rate: 200_000},
		{Country: "FR", Class: ecolaura.TaxReduced, Rate: 55_000},
	}
}

func threeMethods() []ecolaura.ShippingMethod {
	road := roadParcel()
	road.ID = "01000000-0000-7000-8000-000000000001"
	bike := ecolaura.ShippingMethod{ID: "01000000-0000-7000-8000-000000000002", Name: "Cargo bike", Carrier: "Urban Riders", Countries: []string{"DE"},
		Price: ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: eur(690)}, DeliveryDays: ecolaura.DeliveryDays{Min: 1, Max: 1},
		Footprint: ecolaura.DefaultFootprints[ecolaura.ModeBikeCourier], Active: true}
	air := ecolaura.ShippingMethod{ID: "01000000-0000-7000-8000-000000000003", Name: "Express", Carrier: "Air Co", Countries: []string{"DE", "FR", "US"},
		Price:        ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 2000, Price: eur(1990)}, {UpToG: 10000, Price: eur(3990)}}},
		DeliveryDays: ecolaura.DeliveryDays{Min: 0, Max: 1}, Footprint: ecolaura.DefaultFootprints[ecolaura.ModeAirExpress], Active: true}
	return []ecolaura.ShippingMethod{air, road, bike}
}

// TestComputeQuoteWorkedExample: 3 × 19.99 (standard) and 1 × 4.50
// (reduced, a book) to Berlin, tax-inclusive, with a carbon offset.
func TestComputeQuoteWorkedExample(t *testing.T) {
	q, err := ecolaura.ComputeQuote(ecolaura.QuoteRequest{
		Lines: []ecolaura.QuoteLine{
			{Ref: "mug", UnitPrice: eur(1999), Quantity: 3, WeightG: 400, TaxClass: ecolaura.TaxStandard, Footprint: 1200},
			{Ref: "book", UnitPrice: eur(450), Quantity: 1, WeightG: 300, TaxClass: ecolaura.TaxReduced, Footprint: 800},
		},
		Country: "DE", Methods: threeMethods(), TaxRates: germanRates(), TaxMode: ecolaura.TaxInclusive,
		CarbonOffset: true, OffsetPerKg: eur(2),
	})
	require.NoError(t, err)
	assert.Equal(t, 1500, q.WeightG)
	require.Len(t, q.Options, 3)
	names := []string{q.Options[0].Name, q.Options[1].Name, q.Options[2].Name}
	assert.Equal(t, []string{"Cargo bike", "Standard parcel", "Express"}, names, "greenest first")
	assert.True(t, q.Options[0].Greenest)
	assert.False(t, q.Options[1].Greenest || q.Options[2].Greenest)

	bike := q.Options[0]
	assert.Equal(t, ecolaura.CO2e(20), bike.Footprint)
	tt := bike.Totals
	assert.Equal(t, eur(6447), tt.Subtotal)
	assert.Equal(t, eur(690), tt.Shipping)
	// 59.97 gross at 19 %: 9.58; 4.50 gross at 7 %: 0.29439… → 0.29; shipping 6.90 at 19 %: 1.10168… → 1.10
	require.Len(t, tt.Lines, 3)
	assert.Equal(t, eur(958), tt.Lines[0].Tax)
	assert.Equal(t, eur(29), tt.Lines[1].Tax)
	assert.Equal(t, "", tt.Lines[2].Ref)
	assert.Equal(t, eur(110), tt.Lines[2].Tax)
	assert.Equal(t, []ecolaura.RateTax{
		{Class: ecolaura.TaxReduced, Rate: 70_000, Base: eur(450), Tax: eur(29)},
		{Class: ecolaura.TaxStandard, Rate: 190_000, Base: eur(6687), Tax: eur(1068)},
	}, tt.ByRate)
	assert.Equal(t, eur(1097), tt.Tax)
	assert.Equal(t, ecolaura.CO2e(3*1200+800), tt.FootprintProducts)
	assert.Equal(t, ecolaura.CO2e(4420), tt.FootprintTotal)
	assert.Equal(t, eur(9), tt.Offset, "4.42 kg at 0.02/kg = 0.0884 → 0.09 (up)")
	assert.Equal(t, eur(6447+690+9), tt.Total, "inclusive: the tax is inside")

	road := q.Options[1]
	assert.Equal(t, ecolaura.CO2e(180+83), road.Footprint, "1.5 kg: 82.5 → 83")
	assert.Equal(t, eur(0), road.Price, "free above 50.00")

	// The same basket, tax-exclusive: the tax is added.
	q2, err := ecolaura.ComputeQuote(ecolaura.QuoteRequest{
		Lines:   []ecolaura.QuoteLine{{Ref: "mug", UnitPrice: eur(1999), Quantity: 3, TaxClass: ecolaura.TaxStandard}},
		Country: "DE", Methods: threeMethods(), TaxRates: germanRates(), TaxMode: ecolaura.TaxExclusive,
	})
	require.NoError(t, err)
	o := q2.Options[0]
	assert.Equal(t, eur(1139), o.Totals.Lines[0].Tax)
	assert.Equal(t, eur(131), o.Totals.Lines[1].Tax, "6.90 × 19 % = 1.311 → 1.31")
	assert.Equal(t, eur(5997+690+1139+131), o.Totals.Total)
	assert.Equal(t, eur(0), o.Totals.Offset)

	// To the US: only the air method, and no US rate: untaxed.
	q3, err := ecolaura.ComputeQuote(ecolaura.QuoteRequest{
		Lines:   []ecolaura.QuoteLine{{UnitPrice: eur(1000), Quantity: 1, WeightG: 2500, TaxClass: ecolaura.TaxStandard}},
		Country: "US", Methods: threeMethods(), TaxRates: germanRates(), TaxMode: ecolaura.TaxExclusive,
	})
	require.NoError(t, err)
	require.Len(t, q3.Options, 1)
	assert.Equal(t, eur(3990), q3.Options[0].Price, "second band")
	assert.True(t, q3.Options[0].Greenest)
	assert.Equal(t, eur(0), q3.Options[0].Totals.Tax)

	// Nothing delivers 20 kg to France by air, and only the road goes there.
	q4, err := ecolaura.ComputeQuote(ecolaura.QuoteRequest{
		Lines:   []ecolaura.QuoteLine{{UnitPrice: eur(1000), Quantity: 2, WeightG: 10_000, TaxClass: ecolaura.TaxZero}},
		Country: "FR", Methods: threeMethods(), TaxRates: germanRates(), TaxMode: ecolaura.TaxInclusive,
	})
	require.NoError(t, err)
	require.Len(t, q4.Options, 1)
	assert.Equal(t, "Standard parcel", q4.Options[0].Name)
}

func TestComputeQuoteRefuses(t *testing.T) {
	base := func() ecolaura.QuoteRequest {
		return ecolaura.QuoteRequest{Lines: []ecolaura.QuoteLine{{UnitPrice: eur(100), Quantity: 1, TaxClass: ecolaura.TaxStandard}},
			Country: "DE", TaxMode: ecolaura.TaxInclusive}
	}
	for _, tc := range []struct {
		name  string
		edit  func(r *ecolaura.QuoteRequest)
		field string
	}{
		{"no lines", func(r *ecolaura.QuoteRequest) { r.Lines = nil }, "lines"},
		{"quantity 0", func(r *ecolaura.QuoteRequest) { r.Lines[0].Quantity = 0 }, "lines[0].quantity"},
		{"mixed currencies", func(r *ecolaura.QuoteRequest) {
			r.Lines = append(r.Lines, ecolaura.QuoteLine{UnitPrice: ecolaura.NewMoney(1, "USD"), Quantity: 1, TaxClass: ecolaura.TaxZero})
		}, "lines[1].unit_price.currency"},
		{"unknown class", func(r *ecolaura.QuoteRequest) { r.Lines[0].TaxClass = "luxury" }, "lines[0].tax_class"},
		{"unknown country", func(r *ecolaura.QuoteRequest) { r.Country = "UK" }, "shipping_address.country"},
		{"unknown mode", func(r *ecolaura.QuoteRequest) { r.TaxMode = "" }, "tax_mode"},
		{"negative weight", func(r *ecolaura.QuoteRequest) { r.Lines[0].WeightG = -1 }, "lines[0].weight_g"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(&r)
			_, err := ecolaura.ComputeQuote(r)
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Fields[0].Field)
		})
	}
}

// TestComputeQuoteReconciles is the property test: for thousands of random
// baskets, methods and rates, in both modes, every option's figures add up
// (lines, rates, shipping, offset, total, footprints), the options are in
// greenest-first order with exactly the minimum flagged, every offered
// method can deliver, and every method left out cannot.
func TestComputeQuoteReconciles(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2026))
	countries := []string{"DE", "FR", "AT", "NL", "US"}
	classes := []ecolaura.TaxClass{ecolaura.TaxStandard, ecolaura.TaxReduced, ecolaura.TaxZero}
	baskets, options := 0, 0
	for range 5000 {
		var rates []ecolaura.TaxRate
		for _, c := range countries[:4] {
			rates = append(rates, ecolaura.TaxRate{Country: c, Class: ecolaura.TaxStandard, Rate: rng.Int64N(300_001)},
				ecolaura.TaxRate{Country: c, Class: ecolaura.TaxReduced, Rate: rng.Int64N(150_001)})
		}
		var methods []ecolaura.ShippingMethod
		for i := range 1 + rng.IntN(5) {
			m := ecolaura.ShippingMethod{ID: ecolaura.ID(string(rune('a' + i))), Name: "m", Carrier: "c", Active: rng.IntN(5) > 0,
				Countries:    []string{countries[rng.IntN(len(countries))], countries[rng.IntN(len(countries))]},
				Footprint:    ecolaura.FootprintModel{GramsPerParcel: rng.Int64N(400), GramsPerKg: rng.Int64N(2000)},
				DeliveryDays: ecolaura.DeliveryDays{Min: 1, Max: 1 + rng.IntN(7)}}
			m = m.Normalize()
			switch rng.IntN(3) {
			case 0:
				m.Price = ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: eur(rng.Int64N(3000))}
			case 1:
				m.Price = ecolaura.PriceRule{Type: ecolaura.PriceFreeAbove, Amount: eur(rng.Int64N(3000)), FreeAbove: eur(rng.Int64N(20000))}
			default:
				m.Price = ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 1000, Price: eur(rng.Int64N(1000))}, {UpToG: 10000, Price: eur(rng.Int64N(5000))}}}
			}
			methods = append(methods, m)
		}
		req := ecolaura.QuoteRequest{Country: countries[rng.IntN(len(countries))], Methods: methods, TaxRates: rates,
			TaxMode:      []ecolaura.TaxMode{ecolaura.TaxInclusive, ecolaura.TaxExclusive}[rng.IntN(2)],
			CarbonOffset: rng.IntN(2) == 0, OffsetPerKg: eur(rng.Int64N(10))}
		for range 1 + rng.IntN(8) {
			req.Lines = append(req.Lines, ecolaura.QuoteLine{UnitPrice: eur(rng.Int64N(100_000)), Quantity: 1 + rng.IntN(5),
				WeightG: rng.IntN(3000), TaxClass: classes[rng.IntN(3)], Footprint: ecolaura.CO2e(rng.Int64N(10_000))})
		}
		q, err := ecolaura.ComputeQuote(req)
		require.NoError(t, err)
		baskets++
		var subtotal, weight int64
		var products ecolaura.CO2e
		for _, l := range req.Lines {
			subtotal += l.UnitPrice.Amount * int64(l.Quantity)
			weight += int64(l.WeightG * l.Quantity)
			products += l.Footprint * ecolaura.CO2e(l.Quantity)
		}
		require.EqualValues(t, weight, q.WeightG)
		offered := map[ecolaura.ID]bool{}
		for i, o := range q.Options {
			options++
			offered[o.MethodID] = true
			tt := o.Totals
			require.Equal(t, eur(subtotal), tt.Subtotal)
			require.Equal(t, o.Price, tt.Shipping)
			require.Len(t, tt.Lines, len(req.Lines)+1)
			var lineSum, baseSum, rateSum, rateBase int64
			for j, lt := range tt.Lines {
				lineSum += lt.Tax.Amount
				baseSum += lt.Base.Amount
				require.GreaterOrEqual(t, lt.Tax.Amount, int64(0))
				if req.TaxMode == ecolaura.TaxInclusive {
					require.LessOrEqual(t, lt.Tax.Amount, lt.Base.Amount, "the tax is part of the gross")
				}
				if j < len(req.Lines) {
					require.Equal(t, req.Lines[j].TaxClass, lt.Class)
				} else {
					require.Equal(t, ecolaura.TaxStandard, lt.Class, "shipping at the standard rate")
				}
			}
			for _, r := range tt.ByRate {
				rateSum += r.Tax.Amount
				rateBase += r.Base.Amount
			}
			require.Equal(t, subtotal+o.Price.Amount, baseSum)
			require.Equal(t, baseSum, rateBase)
			require.Equal(t, tt.Tax.Amount, lineSum)
			require.Equal(t, tt.Tax.Amount, rateSum)
			want := subtotal + o.Price.Amount + tt.Offset.Amount
			if req.TaxMode == ecolaura.TaxExclusive {
				want += tt.Tax.Amount
			}
			require.Equal(t, want, tt.Total.Amount, "the total reconciles")
			require.Equal(t, products, tt.FootprintProducts)
			require.Equal(t, o.Footprint, tt.FootprintDelivery)
			require.Equal(t, tt.FootprintProducts+tt.FootprintDelivery, tt.FootprintTotal)
			if req.CarbonOffset {
				require.GreaterOrEqual(t, tt.Offset.Amount*1000, int64(tt.FootprintTotal)*req.OffsetPerKg.Amount, "the offset covers the footprint")
				require.Less(t, tt.Offset.Amount*1000-int64(tt.FootprintTotal)*req.OffsetPerKg.Amount, int64(1000), "rounded up by less than a minor unit")
			} else {
				require.Zero(t, tt.Offset.Amount)
			}
			if i > 0 {
				require.LessOrEqual(t, q.Options[i-1].Footprint, o.Footprint, "greenest first")
			}
			require.Equal(t, o.Footprint == q.Options[0].Footprint, o.Greenest)
		}
		for _, m := range methods {
			_, can := m.Offer(ecolaura.Parcel{WeightG: int(weight), Subtotal: eur(subtotal), Country: req.Country})
			require.Equal(t, can, offered[m.ID], "method %s offered iff it can deliver", m.ID)
		}
	}
	assert.Equal(t, 5000, baskets)
	assert.Greater(t, options, 3000, "most baskets had options")
}
