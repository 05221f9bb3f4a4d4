package postgres_test

import (
	"fmt"
	"testing"
	"time"

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
