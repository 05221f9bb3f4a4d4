package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
)

func newCatalog(t *testing.T) *catalog.Service {
	t.Helper()
	svc, err := catalog.New(memory.NewDatabase(), memory.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), memory.NewSequentialIDs())
	require.NoError(t, err)
	return svc
}

func TestProducts(t *testing.T) {
	ps, err := demo.Products()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ps), 60)
	// Category slugs with their own reference footprint in the score formula.
	known := map[string]bool{"kitchen": true, "personal-care": true, "home": true, "clothing": true,
		"outdoor": true, "cleaning": true, "electronics": true, "baby": true, "office": true,
		"garden": true, "food": true, "pets": true}
	cats := map[string]int{}
	names := map[string]bool{}
	withMetrics := 0
	for _, p := range ps {
		assert.True(t, known[p.Category], "category %q of %q", p.Category, p.Name)
		cats[p.Category]++
		assert.False(t, names[p.Name], "duplicate name %q", p.Name)
		names[p.Name] = true
		assert.Equal(t, ecolaura.Currency("EUR"), p.Price.Currency)
		assert.Positive(t, p.Price.Amount, p.Name)
		assert.NotEmpty(t, p.Description, p.Name)
		if p.Metrics != nil {
			withMetrics++
		}
	}
	assert.GreaterOrEqual(t, len(cats), 6)
	assert.GreaterOrEqual(t, withMetrics, 60)
	assert.Less(t, withMetrics, len(ps), "some products show a given score")
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	svc := newCatalog(t)
	want, err := demo.Products()
	require.NoError(t, err)

	_, err = demo.Load(ctx, svc, ecolaura.Principal{UserID: "u", Role: ecolaura.RoleCustomer})
	require.ErrorIs(t, err, ecolaura.ErrForbidden)

	n, err := demo.Load(ctx, svc, ecolaura.System())
	require.NoError(t, err)
	assert.Equal(t, len(want), n)
	res, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Page: 1})
	require.NoError(t, err)
	assert.Equal(t, len(want), res.Total)

	n, err = demo.Load(ctx, svc, ecolaura.System())
	require.NoError(t, err)
	assert.Zero(t, n, "a second load does nothing")
	res, err = svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Page: 1})
	require.NoError(t, err)
	assert.Equal(t, len(want), res.Total)

	cats, err := svc.Categories(ctx, ecolaura.Anonymous)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(cats), 6)
}

// The catalog accepts prices only in its own currency: the demo catalog is
// loaded with the same figures in it.
func TestLoadInAnotherCurrency(t *testing.T) {
	ctx := context.Background()
	want, err := demo.Products()
	require.NoError(t, err)
	for _, tc := range []struct {
		cur   ecolaura.Currency
		price func(eurCents int64) int64
	}{
		{"USD", func(c int64) int64 { return c }},
		{"JPY", func(c int64) int64 { // half to even
			q, r := c/100, c%100
			if r > 50 || (r == 50 && q%2 == 1) {
				q++
			}
			return q
		}},
	} {
		t.Run(string(tc.cur), func(t *testing.T) {
			svc, err := catalog.New(memory.NewDatabase(), memory.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
				memory.NewSequentialIDs(), catalog.WithDefaultCurrency(tc.cur))
			require.NoError(t, err)
			n, err := demo.Load(ctx, svc, ecolaura.System())
			require.NoError(t, err)
			require.Equal(t, len(want), n)
			page, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{PageSize: catalog.MaxPageSize, Page: 1})
			require.NoError(t, err)
			byName := map[string]ecolaura.Money{}
			for _, p := range page.Items {
				byName[p.Name] = p.Price
			}
			for _, in := range want {
				if got, ok := byName[in.Name]; ok {
					assert.Equal(t, ecolaura.NewMoney(tc.price(in.Price.Amount), tc.cur), got, in.Name)
				}
			}
		})
	}
}
