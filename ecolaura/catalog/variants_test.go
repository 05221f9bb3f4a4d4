package catalog_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

func TestStatusVisibility(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		in := validInput()
		in.Category = "visibility"
		active := f.create(t, in)
		in.Status = ecolaura.ProductDraft
		draft := f.create(t, in)
		in.Status = ecolaura.ProductArchived
		archived := f.create(t, in)
		assert.Equal(t, ecolaura.ProductActive, active.Status, "a product created without status is active")

		for _, who := range []ecolaura.Principal{customer, anon} {
			for _, hidden := range []ecolaura.Product{draft, archived} {
				_, err := f.svc.Get(ctx, who, hidden.ID)
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "%s sees only active products", who.Role)
			}
			res, err := f.svc.List(ctx, who, catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "visibility"}, Page: 1})
			require.NoError(t, err)
			assert.Equal(t, []ecolaura.ID{active.ID}, ids(res.Items))
			assert.Equal(t, 1, res.Total)
			res, err = f.svc.List(ctx, who, catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "visibility", Status: ecolaura.ProductDraft}})
			require.NoError(t, err)
			assert.Equal(t, []ecolaura.ID{active.ID}, ids(res.Items), "a customer cannot ask for drafts")
		}
		for _, p := range []ecolaura.Product{active, draft, archived} {
			_, err := f.svc.Get(ctx, staff, p.ID)
			require.NoError(t, err, "staff see every product")
		}
		res, err := f.svc.List(ctx, staff, catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "visibility"}})
		require.NoError(t, err)
		assert.Len(t, res.Items, 3)

		// Launch: the draft becomes active and visible.
		st := ecolaura.ProductActive
		_, err = f.svc.Update(ctx, staff, draft.ID, catalog.Patch{Status: &st})
		require.NoError(t, err)
		_, err = f.svc.Get(ctx, customer, draft.ID)
		require.NoError(t, err)
	})
}

func TestVariantsThroughTheService(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		in := validInput()
		in.Options = []ecolaura.ProductOption{{Name: "size", Values: []string{"S", "M", "L"}}}
		in.Variants = []catalog.VariantInput{
			{SKU: "TB-S", Options: map[string]string{"size": "S"}, Stock: 4, GTIN: "4006381333931"},
			{SKU: "TB-M", Options: map[string]string{"size": "M"}, Price: ptr(eur(590)), Stock: 6, WeightG: 40},
		}
		p := f.create(t, in)
		require.Len(t, p.Variants, 2)
		assert.Equal(t, p.ID, p.Variants[0].ID, "the first variant has the product's ID")
		assert.Equal(t, eur(490), p.Variants[0].Price, "a variant without a price gets the product's")
		assert.Equal(t, "04006381333931", p.Variants[0].GTIN, "GTINs are stored as GTIN-14")
		assert.Equal(t, 10, p.Stock)

		p2, v, err := f.svc.CreateVariant(ctx, staff, p.ID, catalog.VariantInput{SKU: "TB-L", Options: map[string]string{"size": "L"}, Stock: 2})
		require.NoError(t, err)
		assert.Len(t, p2.Variants, 3)
		assert.Equal(t, 2, v.Available)
		assert.Equal(t, 12, p2.Stock)
		_, _, err = f.svc.CreateVariant(ctx, staff, p.ID, catalog.VariantInput{SKU: "tb-l", Options: map[string]string{"size": "L"}})
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "the same SKU (case-insensitively) and options twice")
		_, _, err = f.svc.CreateVariant(ctx, customer, p.ID, catalog.VariantInput{Options: map[string]string{"size": "L"}})
		require.ErrorIs(t, err, ecolaura.ErrForbidden)
		_, _, err = f.svc.CreateVariant(ctx, staff, p.ID, catalog.VariantInput{Options: map[string]string{"size": "L"}, GTIN: "4006381333932"})
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "a wrong check digit")

		pos := 0
		p3, err := f.svc.UpdateVariant(ctx, staff, v.ID, catalog.VariantPatch{Price: ptr(eur(690)), Position: &pos})
		require.NoError(t, err)
		assert.Equal(t, v.ID, p3.Variants[0].ID, "the variant became the default")
		assert.Equal(t, eur(690), p3.Price, "the product's price is the default variant's")

		p4, err := f.svc.DeleteVariant(ctx, staff, p.ID)
		require.NoError(t, err)
		assert.Len(t, p4.Variants, 2)
		assert.Equal(t, 8, p4.Stock, "the deleted variant's stock went with it")
		_, err = f.svc.DeleteVariant(ctx, staff, p.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)

		// v1's stock edits the default variant.
		stock := 20
		p5, err := f.svc.Update(ctx, staff, p.ID, catalog.Patch{Stock: &stock})
		require.NoError(t, err)
		assert.Equal(t, 20, p5.Stock)
		assert.Equal(t, 20-6, p5.Variants[0].Available, "the default variant takes the difference")
		low := 3
		_, err = f.svc.Update(ctx, staff, p.ID, catalog.Patch{Stock: &low})
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "less than the other variants hold")
	})
}
