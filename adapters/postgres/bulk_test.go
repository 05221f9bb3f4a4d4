package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func TestInsertProducts(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	cat := porttest.UniqueCategory()
	ps := make([]ecolaura.Product, 500)
	for i := range ps {
		ps[i] = porttest.NewProduct(cat, func(p *ecolaura.Product) {
			p.Name = fmt.Sprintf("Bulk \"%d\", with, commas", i)
			p.Description = "A \"quoted\", comma-separated\r\ndescription\tover two lines"
			if i%5 == 0 {
				p.Description = ""
			}
			if i%7 == 0 && p.Metrics != nil {
				p.Metrics.RecycledContent = nil
				p.Metrics.Certifications = []ecolaura.Certification{ecolaura.CertFSC, ecolaura.CertGOTS}
			}
			if i%3 == 0 {
				p.Metrics, p.Score = nil, i%101
			}
		})
	}
	require.NoError(t, db.InsertProducts(ctx, ps))
	for _, i := range []int{0, 1, 2, 5, 7, 10, 14, 35, 499} {
		got, err := db.Products().Get(ctx, ps[i].ID)
		require.NoError(t, err)
		want := ps[i].Clone()
		want.Complete() // stored with its default variant
		if want.Metrics != nil && len(want.Metrics.Certifications) == 0 {
			want.Metrics.Certifications = got.Metrics.Certifications
		}
		require.Equal(t, want, got)
	}
	require.ErrorIs(t, db.InsertProducts(ctx, ps[:1]), ecolaura.ErrConflict)
}

// BenchmarkInsertProducts loads products in batches of 5,000; b.N counts
// products.
func BenchmarkInsertProducts(b *testing.B) {
	db := openDB(b, postgres.Config{})
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]ecolaura.Product, 0, 5000)
	flush := func() {
		if err := db.InsertProducts(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := 0; b.Loop(); i++ {
		batch = append(batch, porttest.NewProduct(fmt.Sprintf("cat-%d", i%20), func(p *ecolaura.Product) {
			p.Name = fmt.Sprintf("Seeded product %d", i)
			p.CreatedAt, p.UpdatedAt = now, now
		}))
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}

// schemaSnapshot lists the catalog tables' indexes (definitions), triggers
// (table, function, kind and constraint, as the names of constraint
// triggers carry OIDs) and constraints (definitions).
func schemaSnapshot(t *testing.T, db *postgres.Database) []string {
	t.Helper()
	rows, err := db.DB().QueryContext(t.Context(), `
		SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL
		SELECT format('trigger %s %s %s %s %s %s', t.tgrelid::regclass, t.tgfoid::regproc, t.tgtype, t.tgenabled,
		       coalesce(c.conname, t.tgname), t.tgdeferrable)
		  FROM pg_trigger t LEFT JOIN pg_constraint c ON c.oid = t.tgconstraint
		 WHERE t.tgrelid::regclass::text IN ('products', 'product_variants', 'inventory_levels', 'inventory_movements',
		       'product_images', 'search_words')
		UNION ALL
		SELECT format('constraint %s %s %s %s', conrelid::regclass, conname, convalidated, pg_get_constraintdef(oid))
		  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// derived reads the generated columns and the variant rows of a product,
// as text.
func derived(t *testing.T, db *postgres.Database, id ecolaura.ID) string {
	t.Helper()
	var s string
	require.NoError(t, db.DB().QueryRowContext(t.Context(), `
		SELECT p.search_doc::text || '|' || p.price_key::text || '|' || coalesce(p.footprint_key::text, '') || '|' ||
		       p.min_price_minor || '|' || p.search_terms || '|' ||
		       (SELECT string_agg(v.position || ':' || v.sku || ':' || v.options::text || ':' || v.price_minor || ':' || l.on_hand ||
		               ':' || (SELECT count(*) FROM inventory_movements m WHERE m.variant_id = v.id), ',' ORDER BY v.position)
		          FROM product_variants v JOIN inventory_levels l ON l.variant_id = v.id WHERE v.product_id = p.id)
		  FROM products p WHERE p.id = ?`, string(id)).Scan(&s))
	return s
}

func TestBulkLoad(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	before := schemaSnapshot(t, db)
	cat := porttest.UniqueCategory()
	newProducts := func(n int) []ecolaura.Product {
		ps := make([]ecolaura.Product, n)
		for i := range ps {
			ps[i] = porttest.NewProduct(cat, func(p *ecolaura.Product) {
				p.Name = fmt.Sprintf("Bulk loaded bamboo brush %d", i)
				if i%2 == 0 {
					p.Options = []ecolaura.ProductOption{{Name: "size", Values: []string{"S", "M"}}}
					p.Variants = []ecolaura.Variant{
						{ID: p.ID, SKU: fmt.Sprintf("BL-%s-S", p.ID[24:]), Options: map[string]string{"size": "S"}, Price: p.Price, Available: i},
						{ID: porttest.NewID(), SKU: fmt.Sprintf("BL-%s-M", p.ID[24:]), Options: map[string]string{"size": "M"}, Price: p.Price, Available: 3},
					}
				}
			})
		}
		return ps
	}

	t.Run("a failure midway restores everything", func(t *testing.T) {
		load, err := db.BeginBulkLoad(ctx)
		require.NoError(t, err)
		require.NotNil(t, load, "the catalog is empty")
		require.NoError(t, load.Insert(ctx, newProducts(50)))
		dup := newProducts(2)
		dup[1].ID = dup[0].ID // found only when the primary key is checked: the COPY fails
		require.Error(t, load.Insert(ctx, dup))
		load.Rollback(ctx)
		assert.Equal(t, before, schemaSnapshot(t, db))
		var n int
		require.NoError(t, db.DB().QueryRowContext(ctx, "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM product_variants)").Scan(&n))
		assert.Zero(t, n, "nothing stored")

		// A duplicate SKU is found when its index is built again, at Commit.
		load, err = db.BeginBulkLoad(ctx)
		require.NoError(t, err)
		ps := newProducts(4)
		ps[2].Variants[1].SKU = ps[0].Variants[1].SKU
		require.NoError(t, load.Insert(ctx, ps))
		require.ErrorIs(t, load.Commit(ctx), ecolaura.ErrConflict)
		assert.Equal(t, before, schemaSnapshot(t, db))
	})

	t.Run("same rows as the normal write path", func(t *testing.T) {
		ps := newProducts(300)
		load, err := db.BeginBulkLoad(ctx)
		require.NoError(t, err)
		require.NotNil(t, load)
		require.NoError(t, load.Insert(ctx, ps[:200]))
		require.NoError(t, load.Insert(ctx, ps[200:]))
		require.NoError(t, load.Commit(ctx))
		assert.Equal(t, before, schemaSnapshot(t, db), "every index, trigger and constraint is back")

		again, err := db.BeginBulkLoad(ctx)
		require.NoError(t, err)
		assert.Nil(t, again, "no bulk load into a non-empty catalog")

		for _, i := range []int{0, 1, 2, 7, 150, 299} {
			got, err := db.Products().Get(ctx, ps[i].ID)
			require.NoError(t, err)
			assert.Equal(t, ps[i].ID, got.ID)
			bulk := derived(t, db, ps[i].ID)
			// The same product again through the normal write path.
			require.NoError(t, db.Products().Delete(ctx, ps[i].ID))
			require.NoError(t, db.Products().Create(ctx, ps[i]))
			assert.Equal(t, derived(t, db, ps[i].ID), bulk, "product %d", i)
		}
	})
}
