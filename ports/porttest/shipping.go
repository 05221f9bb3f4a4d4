package porttest

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// NewShippingMethod returns a valid, active road-parcel method with a
// fresh ID serving AT, DE and FR at a free_above price (4.90 EUR, free
// from 50.00), created now with Version 1. Options change it before it is
// returned; the result is not stored.
func NewShippingMethod(opts ...func(*ecolaura.ShippingMethod)) ecolaura.ShippingMethod {
	now := Now()
	m := ecolaura.ShippingMethod{
		ID: NewID(), Name: "Porttest parcel", Carrier: "Porttest Post", Countries: []string{"AT", "DE", "FR"},
		Price: ecolaura.PriceRule{Type: ecolaura.PriceFreeAbove, Amount: ecolaura.NewMoney(490, ecolaura.DefaultCurrency),
			FreeAbove: ecolaura.NewMoney(5000, ecolaura.DefaultCurrency)},
		DeliveryDays: ecolaura.DeliveryDays{Min: 2, Max: 4},
		Footprint:    ecolaura.DefaultFootprints[ecolaura.ModeRoadParcel],
		Active:       true, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	for _, o := range opts {
		o(&m)
	}
	return m
}

// ShippingMethodStore checks the semantics of [ports.ShippingMethodStore]:
// every price rule stored and read back exactly, ErrConflict on a taken
// ID, ErrInvalid for a broken rule, copies in and out, filters (active,
// country) and the order (name in byte order, then ID), versioned updates,
// deletion and rollback with the transaction.
func ShippingMethodStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.ShippingMethods()
	eur := func(a int64) ecolaura.Money { return ecolaura.NewMoney(a, ecolaura.DefaultCurrency) }

	t.Run("RoundTrip", func(t *testing.T) {
		for name, m := range map[string]ecolaura.ShippingMethod{
			"free_above": NewShippingMethod(),
			"flat": NewShippingMethod(func(m *ecolaura.ShippingMethod) {
				m.Price = ecolaura.PriceRule{Type: ecolaura.PriceFlat, Amount: ecolaura.NewMoney(1200, "GBP")}
				m.Countries, m.Active = []string{"GB"}, false
			}),
			"weight_bands": NewShippingMethod(func(m *ecolaura.ShippingMethod) {
				m.Price = ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 1000, Price: eur(390)}, {UpToG: 31500, Price: eur(1490)}}}
				m.Footprint = ecolaura.FootprintModel{GramsPerParcel: 0, GramsPerKg: 100_000}
				m.DeliveryDays = ecolaura.DeliveryDays{Min: 0, Max: 365}
			}),
		} {
			require.NoError(t, store.Create(ctx(t), m), name)
			got, err := store.Get(ctx(t), m.ID)
			require.NoError(t, err, name)
			assert.Equal(t, m, got, name)
		}
		_, err := store.Get(ctx(t), NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, err = store.Get(ctx(t), "nope")
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("CreateRefused", func(t *testing.T) {
		m := NewShippingMethod()
		require.NoError(t, store.Create(ctx(t), m))
		require.ErrorIs(t, store.Create(ctx(t), NewShippingMethod(func(x *ecolaura.ShippingMethod) { x.ID = m.ID })), ecolaura.ErrConflict)
		for name, edit := range map[string]func(*ecolaura.ShippingMethod){
			"blank name":         func(m *ecolaura.ShippingMethod) { m.Name = "" },
			"no countries":       func(m *ecolaura.ShippingMethod) { m.Countries = nil },
			"unknown country":    func(m *ecolaura.ShippingMethod) { m.Countries = []string{"XX"} },
			"days reversed":      func(m *ecolaura.ShippingMethod) { m.DeliveryDays = ecolaura.DeliveryDays{Min: 3, Max: 1} },
			"unknown rule":       func(m *ecolaura.ShippingMethod) { m.Price.Type = "auction" },
			"negative footprint": func(m *ecolaura.ShippingMethod) { m.Footprint.GramsPerParcel = -1 },
			"version 0":          func(m *ecolaura.ShippingMethod) { m.Version = 0 },
		} {
			bad := NewShippingMethod(edit)
			require.ErrorIs(t, store.Create(ctx(t), bad), ecolaura.ErrInvalid, name)
			_, err := store.Get(ctx(t), bad.ID)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "%s: nothing stored", name)
		}
	})
	t.Run("Copies", func(t *testing.T) {
		m := NewShippingMethod()
		want := m.Clone()
		require.NoError(t, store.Create(ctx(t), m))
		m.Countries[0] = "ZZ"
		got, err := store.Get(ctx(t), m.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got, "the store kept its own copy")
		got.Countries[0] = "ZZ"
		again, err := store.Get(ctx(t), m.ID)
		require.NoError(t, err)
		assert.Equal(t, want, again, "reads return copies")
	})
	t.Run("ListFilters", func(t *testing.T) {
		tag := RandomToken("pt ")
		mk := func(name string, active bool, countries ...string) ecolaura.ShippingMethod {
			m := NewShippingMethod(func(m *ecolaura.ShippingMethod) { m.Name, m.Active, m.Countries = tag+name, active, countries })
			require.NoError(t, store.Create(ctx(t), m))
			return m
		}
		b := mk("b", true, "DE")
		a := mk("a", false, "DE", "FR")
		upper := mk("Z", true, "JP") // byte order: upper case first
		c := mk("c", true, "FR")
		mine := func(list []ecolaura.ShippingMethod) []ecolaura.ID {
			var out []ecolaura.ID
			for _, m := range list {
				if len(m.Name) > len(tag) && m.Name[:len(tag)] == tag {
					out = append(out, m.ID)
				}
			}
			return out
		}
		all, err := store.List(ctx(t), ports.ShippingMethodQuery{})
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.ID{upper.ID, a.ID, b.ID, c.ID}, mine(all), "by name in byte order")
		active, err := store.List(ctx(t), ports.ShippingMethodQuery{ActiveOnly: true})
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.ID{upper.ID, b.ID, c.ID}, mine(active))
		fr, err := store.List(ctx(t), ports.ShippingMethodQuery{Country: "FR"})
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.ID{a.ID, c.ID}, mine(fr))
		frActive, err := store.List(ctx(t), ports.ShippingMethodQuery{Country: "FR", ActiveOnly: true})
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.ID{c.ID}, mine(frActive))
		none, err := store.List(ctx(t), ports.ShippingMethodQuery{Country: "AQ"})
		require.NoError(t, err)
		assert.Empty(t, mine(none))
	})
	t.Run("UpdateDelete", func(t *testing.T) {
		m := NewShippingMethod()
		require.NoError(t, store.Create(ctx(t), m))
		ch := m.Clone()
		ch.Name, ch.Active, ch.UpdatedAt = "Renamed", false, Now()
		ch.Price = ecolaura.PriceRule{Type: ecolaura.PriceWeightBands, Bands: []ecolaura.WeightBand{{UpToG: 500, Price: eur(100)}}}
		ch.CreatedAt = ch.CreatedAt.Add(-1e9) // not written
		got, err := store.Update(ctx(t), ch)
		require.NoError(t, err)
		want := ch.Clone()
		want.CreatedAt, want.Version = m.CreatedAt, 2
		assert.Equal(t, want, got)
		read, err := store.Get(ctx(t), m.ID)
		require.NoError(t, err)
		assert.Equal(t, want, read)
		_, err = store.Update(ctx(t), ch) // version 1
		require.ErrorIs(t, err, ecolaura.ErrConflict)
		_, err = store.Update(ctx(t), NewShippingMethod())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		bad := want.Clone()
		bad.Carrier = ""
		_, err = store.Update(ctx(t), bad)
		require.ErrorIs(t, err, ecolaura.ErrInvalid)

		require.NoError(t, store.Delete(ctx(t), m.ID))
		_, err = store.Get(ctx(t), m.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		require.ErrorIs(t, store.Delete(ctx(t), m.ID), ecolaura.ErrNotFound)
	})
	t.Run("Rollback", func(t *testing.T) {
		m := NewShippingMethod()
		boom := errors.New("porttest: roll back")
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.ShippingMethods().Create(ctx, m); err != nil {
				return err
			}
			if _, err := tx.ShippingMethods().Get(ctx, m.ID); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = store.Get(ctx(t), m.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
}

// NewTaxRate returns a valid rate with a fresh ID, created now with
// Version 1. The result is not stored.
func NewTaxRate(country string, class ecolaura.TaxClass, rate int64) ecolaura.TaxRate {
	now := Now()
	return ecolaura.TaxRate{ID: NewID(), Country: country, Class: class, Rate: rate, CreatedAt: now, UpdatedAt: now, Version: 1}
}

// TaxRateStore checks the semantics of [ports.TaxRateStore]: one rate per
// country and class (a *ConflictError on "class"), ErrConflict on a taken
// ID, ErrInvalid for a broken rule, the order (country, then class),
// versioned updates of the rate alone, deletion freeing the class, and
// rollback. It deletes every rate it creates, since rates are unique per
// country and class even on a shared database.
func TaxRateStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.TaxRates()
	// Rates are unique per country and class: use a country no other
	// suite run touches at the same time (a random one of the list).
	countries := ecolaura.Countries()
	pick := func() string {
		n, _ := strconv.ParseUint(randomHex(4), 16, 32)
		return countries[int(n)%len(countries)]
	}
	clean := func(t *testing.T, country string) {
		t.Helper()
		list, err := store.List(context.Background(), country)
		require.NoError(t, err)
		for _, r := range list {
			require.NoError(t, store.Delete(context.Background(), r.ID))
		}
	}

	t.Run("CreateListUpdateDelete", func(t *testing.T) {
		c := pick()
		clean(t, c)
		t.Cleanup(func() { clean(t, c) })
		std := NewTaxRate(c, ecolaura.TaxStandard, 190_000)
		red := NewTaxRate(c, ecolaura.TaxReduced, 70_000)
		zero := NewTaxRate(c, ecolaura.TaxZero, 0)
		for _, r := range []ecolaura.TaxRate{std, red, zero} {
			require.NoError(t, store.Create(ctx(t), r))
		}
		got, err := store.Get(ctx(t), std.ID)
		require.NoError(t, err)
		assert.Equal(t, std, got)
		list, err := store.List(ctx(t), c)
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.TaxRate{red, std, zero}, list, "by class in byte order")
		all, err := store.List(ctx(t), "")
		require.NoError(t, err)
		assert.Subset(t, all, list)

		dup := NewTaxRate(c, ecolaura.TaxStandard, 200_000)
		var ce *ecolaura.ConflictError
		require.ErrorAs(t, store.Create(ctx(t), dup), &ce, "one rate per country and class")
		assert.Equal(t, "class", ce.Field)
		sameID := NewTaxRate(c, ecolaura.TaxStandard, 1)
		sameID.ID = red.ID
		require.ErrorIs(t, store.Create(ctx(t), sameID), ecolaura.ErrConflict)

		ch := std
		ch.Rate, ch.UpdatedAt = 160_000, Now()
		ch.Class = ecolaura.TaxReduced // not written
		up, err := store.Update(ctx(t), ch)
		require.NoError(t, err)
		assert.Equal(t, ecolaura.TaxStandard, up.Class)
		assert.EqualValues(t, 160_000, up.Rate)
		assert.Equal(t, 2, up.Version)
		_, err = store.Update(ctx(t), ch)
		require.ErrorIs(t, err, ecolaura.ErrConflict, "stale version")
		_, err = store.Update(ctx(t), NewTaxRate(c, ecolaura.TaxStandard, 1))
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		badZero := zero
		badZero.Rate = 10
		_, err = store.Update(ctx(t), badZero)
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "the zero class stays at 0")

		require.NoError(t, store.Delete(ctx(t), std.ID))
		require.ErrorIs(t, store.Delete(ctx(t), std.ID), ecolaura.ErrNotFound)
		require.NoError(t, store.Create(ctx(t), dup), "the class is free again")
	})
	t.Run("CreateRefused", func(t *testing.T) {
		for name, r := range map[string]ecolaura.TaxRate{
			"unknown country": NewTaxRate("UK", ecolaura.TaxStandard, 1),
			"unknown class":   NewTaxRate("DE", "luxury", 1),
			"above 100 %":     NewTaxRate("DE", ecolaura.TaxStandard, 1_000_001),
			"zero not 0":      NewTaxRate("DE", ecolaura.TaxZero, 1),
		} {
			require.ErrorIs(t, store.Create(ctx(t), r), ecolaura.ErrInvalid, name)
		}
	})
	t.Run("Rollback", func(t *testing.T) {
		c := pick()
		clean(t, c)
		r := NewTaxRate(c, ecolaura.TaxReduced, 50_000)
		boom := errors.New("porttest: roll back")
		require.ErrorIs(t, db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.TaxRates().Create(ctx, r); err != nil {
				return err
			}
			return boom
		}), boom)
		_, err := store.Get(ctx(t), r.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
}
