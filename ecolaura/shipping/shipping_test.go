package shipping_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

var (
	staff    = ecolaura.Principal{UserID: "01900000-0000-7000-8000-0000000000aa", Role: ecolaura.RoleStaff}
	customer = ecolaura.Principal{UserID: "01900000-0000-7000-8000-0000000000bb", Role: ecolaura.RoleCustomer}
)

func eur(a int64) ecolaura.Money { return ecolaura.NewMoney(a, "EUR") }

type env struct {
	db  ports.Database
	svc *shipping.Service
}

func newEnv(t *testing.T, s storetest.Store, opts ...shipping.Option) env {
	t.Helper()
	db := s.Open(t, storetest.JobsConfig{})
	svc, err := shipping.New(db, memory.NewManualClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), memory.NewSequentialIDs(), opts...)
	require.NoError(t, err)
	return env{db: db, svc: svc}
}

func roadInput() shipping.MethodInput {
	return shipping.MethodInput{Name: "Standard parcel", Carrier: "DHL", Countries: []string{"de", "AT"},
		Price:        ecolaura.PriceRule{Type: ecolaura.PriceFreeAbove, Amount: eur(490), FreeAbove: eur(5000)},
		DeliveryDays: ecolaura.DeliveryDays{Min: 2, Max: 4}, Preset: ecolaura.ModeRoadParcel, Active: true}
}

func TestNewRefusesBadConfig(t *testing.T) {
	_, err := shipping.New(nil, nil, nil, shipping.WithTaxMode("vat"))
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Fields, 4)
}

func TestMethods(t *testing.T) { storetest.Run(t, testMethods) }

func testMethods(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	_, err := e.svc.CreateMethod(ctx, customer, roadInput())
	require.ErrorIs(t, err, ecolaura.ErrForbidden)
	_, err = e.svc.CreateMethod(ctx, ecolaura.Anonymous, roadInput())
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)

	road, err := e.svc.CreateMethod(ctx, staff, roadInput())
	require.NoError(t, err)
	assert.Equal(t, []string{"AT", "DE"}, road.Countries)
	assert.Equal(t, ecolaura.DefaultFootprints[ecolaura.ModeRoadParcel], road.Footprint, "the preset")

	bikeIn := shipping.MethodInput{Name: "Cargo bike", Carrier: "Urban Riders", Countries: []string{"DE"},
		Price: ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: eur(690)}, DeliveryDays: ecolaura.DeliveryDays{Min: 1, Max: 1},
		Footprint: &ecolaura.FootprintModel{GramsPerParcel: 15, GramsPerKg: 1}}
	bike, err := e.svc.CreateMethod(ctx, staff, bikeIn) // inactive
	require.NoError(t, err)

	bad := roadInput()
	bad.Footprint = &ecolaura.FootprintModel{}
	bad.Countries = []string{"UK"}
	_, err = e.svc.CreateMethod(ctx, staff, bad)
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.ElementsMatch(t, []string{"footprint", "countries[0]"}, []string{ve.Fields[0].Field, ve.Fields[1].Field})
	bad = roadInput()
	bad.Preset = "teleport"
	_, err = e.svc.CreateMethod(ctx, staff, bad)
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "footprint.preset", ve.Fields[0].Field)

	list, err := e.svc.ListMethods(ctx, customer, shipping.ListMethodsParams{})
	require.NoError(t, err)
	require.Len(t, list, 1, "customers see the active methods")
	_, err = e.svc.GetMethod(ctx, customer, bike.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "an inactive method is hidden from customers")
	_, err = e.svc.ListMethods(ctx, customer, shipping.ListMethodsParams{IncludeInactive: true})
	require.ErrorIs(t, err, ecolaura.ErrForbidden)
	list, err = e.svc.ListMethods(ctx, staff, shipping.ListMethodsParams{IncludeInactive: true, Country: "de"})
	require.NoError(t, err)
	assert.Equal(t, []ecolaura.ID{bike.ID, road.ID}, []ecolaura.ID{list[0].ID, list[1].ID}, "by name")
	list, err = e.svc.ListMethods(ctx, ecolaura.Anonymous, shipping.ListMethodsParams{Country: "FR"})
	require.NoError(t, err)
	assert.Empty(t, list)

	active, rail := true, ecolaura.ModeRail
	up, err := e.svc.UpdateMethod(ctx, staff, bike.ID, shipping.MethodPatch{Active: &active, Preset: &rail})
	require.NoError(t, err)
	assert.True(t, up.Active)
	assert.Equal(t, ecolaura.DefaultFootprints[ecolaura.ModeRail], up.Footprint)
	assert.Equal(t, 2, up.Version)
	_, err = e.svc.UpdateMethod(ctx, customer, bike.ID, shipping.MethodPatch{Active: &active})
	require.ErrorIs(t, err, ecolaura.ErrForbidden)
	empty := []string{}
	_, err = e.svc.UpdateMethod(ctx, staff, bike.ID, shipping.MethodPatch{Countries: &empty})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)

	require.ErrorIs(t, e.svc.DeleteMethod(ctx, customer, road.ID), ecolaura.ErrForbidden)
	require.NoError(t, e.svc.DeleteMethod(ctx, staff, road.ID))
	_, err = e.svc.GetMethod(ctx, staff, road.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)

	events, err := e.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityShippingMethod, Limit: 10})
	require.NoError(t, err)
	var actions []ecolaura.AuditAction
	for _, ev := range events.Items {
		actions = append(actions, ev.Action)
		assert.Equal(t, staff.UserID, ev.ActorID)
	}
	assert.Equal(t, []ecolaura.AuditAction{ecolaura.ActionDelete, ecolaura.ActionUpdate, ecolaura.ActionCreate, ecolaura.ActionCreate}, actions, "every staff write audited, refused ones not")
}

func TestTaxRatesAndQuote(t *testing.T) { storetest.Run(t, testTaxRatesAndQuote) }

func testTaxRatesAndQuote(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	_, err := e.svc.CreateTaxRate(ctx, customer, shipping.TaxRateInput{Country: "DE", Class: ecolaura.TaxStandard, Rate: 190_000})
	require.ErrorIs(t, err, ecolaura.ErrForbidden)
	std, err := e.svc.CreateTaxRate(ctx, staff, shipping.TaxRateInput{Country: "de", Class: ecolaura.TaxStandard, Rate: 190_000})
	require.NoError(t, err)
	assert.Equal(t, "DE", std.Country)
	_, err = e.svc.CreateTaxRate(ctx, staff, shipping.TaxRateInput{Country: "DE", Class: ecolaura.TaxReduced, Rate: 70_000})
	require.NoError(t, err)
	_, err = e.svc.CreateTaxRate(ctx, staff, shipping.TaxRateInput{Country: "DE", Class: ecolaura.TaxStandard, Rate: 160_000})
	var ce *ecolaura.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "class", ce.Field)
	_, err = e.svc.CreateTaxRate(ctx, staff, shipping.TaxRateInput{Country: "DE", Class: ecolaura.TaxZero, Rate: 1})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
	rates, err := e.svc.TaxRates(ctx, "de")
	require.NoError(t, err)
	assert.Len(t, rates, 2)

	_, err = e.svc.CreateMethod(ctx, staff, roadInput())
	require.NoError(t, err)
	lines := []ecolaura.QuoteLine{{Ref: "mug", UnitPrice: eur(1999), Quantity: 3, WeightG: 400, TaxClass: ecolaura.TaxStandard, Footprint: 1200}}
	q, err := e.svc.Quote(ctx, shipping.QuoteInput{Lines: lines, Country: "de", CarbonOffset: true})
	require.NoError(t, err)
	require.Len(t, q.Options, 1)
	o := q.Options[0]
	assert.Equal(t, eur(0), o.Price, "free above 50.00")
	assert.Equal(t, eur(958), o.Totals.Tax, "inclusive by default")
	assert.Equal(t, eur(5997+8), o.Totals.Total, "3.6 + 0.246 kg at 0.02/kg: 0.08 offset")

	up, err := e.svc.UpdateTaxRate(ctx, staff, std.ID, 160_000)
	require.NoError(t, err)
	assert.EqualValues(t, 160_000, up.Rate)
	q, err = e.svc.Quote(ctx, shipping.QuoteInput{Lines: lines, Country: "DE"})
	require.NoError(t, err)
	assert.Equal(t, eur(827), q.Options[0].Totals.Tax, "59.97 × 16/116 = 8.2717…")
	q, err = e.svc.Quote(ctx, shipping.QuoteInput{Lines: lines, Country: "FR"})
	require.NoError(t, err)
	assert.Empty(t, q.Options, "nothing delivers to France")
	_, err = e.svc.Quote(ctx, shipping.QuoteInput{Lines: lines, Country: "EU"})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)

	require.ErrorIs(t, e.svc.DeleteTaxRate(ctx, customer, std.ID), ecolaura.ErrForbidden)
	require.NoError(t, e.svc.DeleteTaxRate(ctx, staff, std.ID))
	q, err = e.svc.Quote(ctx, shipping.QuoteInput{Lines: lines, Country: "DE"})
	require.NoError(t, err)
	assert.Equal(t, eur(0), q.Options[0].Totals.Tax, "no standard rate: untaxed")

	ex := newEnv(t, s, shipping.WithTaxMode(ecolaura.TaxExclusive), shipping.WithCarbonOffsetPrice(eur(10)))
	assert.Equal(t, ecolaura.TaxExclusive, ex.svc.TaxMode())
}
