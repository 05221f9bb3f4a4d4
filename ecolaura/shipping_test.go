package ecolaura_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func eur(minor int64) ecolaura.Money { return ecolaura.NewMoney(minor, "EUR") }

func roadParcel() ecolaura.ShippingMethod {
	return ecolaura.ShippingMethod{
		Name: "Standard parcel", Carrier: "DHL", Countries: []string{"AT", "DE", "FR"},
		Price:        ecolaura.PriceRule{Type: ecolaura.PriceFreeAbove, Amount: eur(490), FreeAbove: eur(5000)},
		DeliveryDays: ecolaura.DeliveryDays{Min: 2, Max: 4},
		Footprint:    ecolaura.DefaultFootprints[ecolaura.ModeRoadParcel], Active: true,
	}
}

func TestFootprintModelGrams(t *testing.T) {
	road := ecolaura.DefaultFootprints[ecolaura.ModeRoadParcel]
	for _, tc := range []struct {
		name    string
		model   ecolaura.FootprintModel
		weightG int
		want    ecolaura.CO2e
	}{
		{"road, empty parcel", road, 0, 180},
		{"road, 1 kg", road, 1000, 235},
		{"road, 2.5 kg", road, 2500, 318}, // 180 + 137.5 → 138 (half up)
		{"road, 9 g rounds to 0 g of line haul", road, 9, 180},
		{"road, 10 g rounds to 1 g of line haul", road, 10, 181},
		{"bike, 5 kg", ecolaura.DefaultFootprints[ecolaura.ModeBikeCourier], 5000, 20},
		{"rail, 2 kg", ecolaura.DefaultFootprints[ecolaura.ModeRail], 2000, 210},
		{"air, 2 kg", ecolaura.DefaultFootprints[ecolaura.ModeAirExpress], 2000, 3250},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.model.Grams(tc.weightG)) })
	}
	assert.Len(t, ecolaura.DefaultFootprints, 4)
}

func TestShippingMethodOffer(t *testing.T) {
	bands := roadParcel()
	bands.Price = ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 1000, Price: eur(390)}, {UpToG: 5000, Price: eur(690)}, {UpToG: 31500, Price: eur(1490)}}}
	flat := roadParcel()
	flat.Price = ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: eur(590)}
	inactive := roadParcel()
	inactive.Active = false
	for _, tc := range []struct {
		name   string
		m      ecolaura.ShippingMethod
		parcel ecolaura.Parcel
		price  int64
		grams  ecolaura.CO2e
		ok     bool
	}{
		{"free above: below the threshold", roadParcel(), ecolaura.Parcel{WeightG: 1000, Subtotal: eur(4999), Country: "DE"}, 490, 235, true},
		{"free above: at the threshold", roadParcel(), ecolaura.Parcel{WeightG: 1000, Subtotal: eur(5000), Country: "DE"}, 0, 235, true},
		{"free above: another currency", roadParcel(), ecolaura.Parcel{WeightG: 1000, Subtotal: ecolaura.NewMoney(9000, "USD"), Country: "DE"}, 0, 0, false},
		{"flat", flat, ecolaura.Parcel{WeightG: 20000, Subtotal: eur(100), Country: "FR"}, 590, 1280, true},
		{"bands: first", bands, ecolaura.Parcel{WeightG: 1000, Country: "AT"}, 390, 235, true},
		{"bands: second", bands, ecolaura.Parcel{WeightG: 1001, Country: "AT"}, 690, 235, true},
		{"bands: last", bands, ecolaura.Parcel{WeightG: 31500, Country: "AT"}, 1490, 1913, true},
		{"bands: too heavy", bands, ecolaura.Parcel{WeightG: 31501, Country: "AT"}, 0, 0, false},
		{"country not served", flat, ecolaura.Parcel{WeightG: 1, Country: "US"}, 0, 0, false},
		{"inactive", inactive, ecolaura.Parcel{WeightG: 1, Country: "DE"}, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := tc.m.Offer(tc.parcel)
			require.Equal(t, tc.ok, ok)
			if ok {
				assert.Equal(t, eur(tc.price), o.Price)
				assert.Equal(t, tc.grams, o.Footprint)
				assert.Equal(t, tc.m.DeliveryDays, o.Days)
			}
		})
	}
}

func TestShippingMethodValidate(t *testing.T) {
	require.NoError(t, roadParcel().Validate())
	for _, tc := range []struct {
		name   string
		edit   func(m *ecolaura.ShippingMethod)
		fields []string
	}{
		{"blank name and carrier", func(m *ecolaura.ShippingMethod) { m.Name, m.Carrier = "", "" }, []string{"carrier", "name"}},
		{"no countries", func(m *ecolaura.ShippingMethod) { m.Countries = nil }, []string{"countries"}},
		{"unknown and unsorted countries", func(m *ecolaura.ShippingMethod) { m.Countries = []string{"DE", "AT", "UK"} }, []string{"countries[1]", "countries[2]"}},
		{"unknown rule", func(m *ecolaura.ShippingMethod) { m.Price.Type = "auction" }, []string{"price.type"}},
		{"negative amount", func(m *ecolaura.ShippingMethod) { m.Price.Amount = eur(-1) }, []string{"price.amount"}},
		{"threshold in another currency", func(m *ecolaura.ShippingMethod) { m.Price.FreeAbove = ecolaura.NewMoney(1, "USD") }, []string{"price.free_above.currency"}},
		{"bands out of order", func(m *ecolaura.ShippingMethod) {
			m.Price = ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 500, Price: eur(1)}, {UpToG: 500, Price: eur(2)}}}
		}, []string{"price.bands[1].up_to_g"}},
		{"no bands", func(m *ecolaura.ShippingMethod) { m.Price = ecolaura.PriceRule{Type: ecolaura.PriceWeightBands} }, []string{"price.bands"}},
		{"days reversed", func(m *ecolaura.ShippingMethod) { m.DeliveryDays = ecolaura.DeliveryDays{Min: 5, Max: 2} }, []string{"delivery_days.max"}},
		{"negative footprint", func(m *ecolaura.ShippingMethod) { m.Footprint.GramsPerKg = -1 }, []string{"footprint.grams_per_kg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := roadParcel()
			tc.edit(&m)
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, m.Validate(), &ve)
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			assert.Equal(t, tc.fields, got)
		})
	}
	n := ecolaura.ShippingMethod{Name: " Bike ", Carrier: " Urban ", Countries: []string{"de", " at", "DE"}}.Normalize()
	assert.Equal(t, "Bike", n.Name)
	assert.Equal(t, []string{"AT", "DE"}, n.Countries)
}
