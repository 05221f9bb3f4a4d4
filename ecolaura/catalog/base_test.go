package catalog_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

// staleReads is a database whose reads outside a transaction answer from a
// copy of a product that is no longer what the store holds, with the same
// version: what a cache serves after a manual SQL fix that left the version
// alone, or after a restore. Reads inside a transaction reach the store.
type staleReads struct {
	ports.Database
	mu    sync.Mutex
	stale map[ecolaura.ID]ecolaura.Product
}

func (d *staleReads) Products() ports.ProductStore {
	return staleProducts{ProductStore: d.Database.Products(), d: d}
}

type staleProducts struct {
	ports.ProductStore
	d *staleReads
}

func (s staleProducts) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error) {
	s.d.mu.Lock()
	p, ok := s.d.stale[id]
	s.d.mu.Unlock()
	if ok {
		return p.Clone(), nil
	}
	return s.ProductStore.Get(ctx, id)
}

// TestEditsTakeTheirBaseFromTheStore is the QA report's data loss: a
// PATCH read the product from the cache, changed one field and wrote the
// whole row back, undoing a manual SQL fix that had not bumped the version.
// Every read-modify-write of the catalog (Update, with or without an
// expected version; a metrics merge patch, as v1 PUT/PATCH and v2 PATCH
// send) must start from the stored row.
func TestEditsTakeTheirBaseFromTheStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		recycled := 40
		p := f.create(t, catalog.ProductInput{Name: "Jar", Category: "kitchen", Price: eur(4000), Stock: 5,
			Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 800, Recyclable: true, RecycledContent: &recycled,
				Certifications: []ecolaura.Certification{ecolaura.CertFSC}}})
		// The stored row is fixed (price 50.00, biodegradable) without a new
		// version; reads outside a transaction still see the old row.
		fixed, err := f.svc.Update(ctx, staff, p.ID, catalog.Patch{Price: ptr(eur(5000)),
			MetricsPatch: &catalog.MetricsPatch{Biodegradable: ptr(true)}})
		require.NoError(t, err)
		old := p.Clone()
		old.Version = fixed.Version
		db := &staleReads{Database: f.db, stale: map[ecolaura.ID]ecolaura.Product{p.ID: old}}
		svc, err := catalog.New(db, f.clock, system.UUIDv7{}) // IDs (of audit events) unlike the fixture's
		require.NoError(t, err)
		got, err := svc.Get(ctx, anon, p.ID)
		require.NoError(t, err)
		require.Equal(t, int64(4000), got.Price.Amount, "the reads are stale, as a cache's would be")

		tests := []struct {
			name  string
			patch catalog.Patch
		}{
			{"patch of another field", catalog.Patch{Name: ptr("Glass jar")}},
			{"conditional patch", catalog.Patch{Stock: ptr(6), ExpectedVersion: ptr(fixed.Version)}},
			{"metrics merge patch", catalog.Patch{MetricsPatch: &catalog.MetricsPatch{Recyclable: ptr(false)}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.patch.ExpectedVersion != nil {
					cur, err := f.db.Products().Get(ctx, p.ID)
					require.NoError(t, err)
					tt.patch.ExpectedVersion = ptr(cur.Version)
					db.mu.Lock()
					old.Version = cur.Version
					db.stale[p.ID] = old
					db.mu.Unlock()
				}
				out, err := svc.Update(ctx, staff, p.ID, tt.patch)
				require.NoError(t, err)
				assert.Equal(t, int64(5000), out.Price.Amount, "the fixed price is kept")
				require.NotNil(t, out.Metrics)
				assert.True(t, out.Metrics.Biodegradable, "the fixed flag is kept")
				stored, err := f.db.Products().Get(ctx, p.ID)
				require.NoError(t, err)
				assert.Equal(t, out, stored)
			})
		}
	})
}

// TestMetricsPatch: a metrics merge patch changes what it sets and keeps
// the rest; a product without metrics needs a footprint to get some.
func TestMetricsPatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		recycled := 40
		p := f.create(t, catalog.ProductInput{Name: "Jar", Category: "kitchen", Price: eur(400),
			Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 800, Recyclable: true, Biodegradable: true,
				RecycledContent: &recycled, Certifications: []ecolaura.Certification{ecolaura.CertFSC}}})
		out, err := f.svc.Update(ctx, staff, p.ID, catalog.Patch{MetricsPatch: &catalog.MetricsPatch{Recyclable: ptr(false)}})
		require.NoError(t, err)
		want := p.Metrics.Clone()
		want.Recyclable = false
		assert.Equal(t, want, *out.Metrics, "only recyclable changed")

		out, err = f.svc.Update(ctx, staff, p.ID, catalog.Patch{MetricsPatch: &catalog.MetricsPatch{
			ClearRecycledContent: true, Certifications: &[]ecolaura.Certification{}, CarbonFootprint: ptr(ecolaura.CO2e(500))}})
		require.NoError(t, err)
		assert.Nil(t, out.Metrics.RecycledContent)
		assert.Empty(t, out.Metrics.Certifications)
		assert.Equal(t, ecolaura.CO2e(500), out.Metrics.CarbonFootprint)
		assert.True(t, out.Metrics.Biodegradable, "kept")

		bare := f.create(t, catalog.ProductInput{Name: "Cup", Category: "kitchen", Price: eur(300), Score: 40})
		_, err = f.svc.Update(ctx, staff, bare.ID, catalog.Patch{MetricsPatch: &catalog.MetricsPatch{Recyclable: ptr(true)}})
		requireFields(t, err, "carbon_footprint")
		out, err = f.svc.Update(ctx, staff, bare.ID, catalog.Patch{MetricsPatch: &catalog.MetricsPatch{CarbonFootprint: ptr(ecolaura.CO2e(100)), Recyclable: ptr(true)}})
		require.NoError(t, err)
		assert.Equal(t, ecolaura.SustainabilityMetrics{CarbonFootprint: 100, Recyclable: true}, *out.Metrics)

		for name, pt := range map[string]catalog.Patch{
			"patched and cleared": {MetricsPatch: &catalog.MetricsPatch{}, ClearMetrics: true},
			"patched and set":     {MetricsPatch: &catalog.MetricsPatch{}, Metrics: &ecolaura.SustainabilityMetrics{}},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.svc.Update(ctx, staff, p.ID, pt)
				requireFields(t, err, "metrics")
				requireFields(t, f.svc.ValidatePatch(pt), "metrics")
			})
		}
		_, err = f.svc.Update(ctx, staff, p.ID, catalog.Patch{MetricsPatch: &catalog.MetricsPatch{RecycledContent: ptr(101)}})
		requireFields(t, err, "recycled_content")
		requireFields(t, f.svc.ValidatePatch(catalog.Patch{MetricsPatch: &catalog.MetricsPatch{RecycledContent: ptr(101)}}), "recycled_content")
		assert.NoError(t, f.svc.ValidatePatch(catalog.Patch{MetricsPatch: &catalog.MetricsPatch{Recyclable: ptr(true)}}),
			"whether a footprint is needed depends on the stored product")
	})
}

// TestGivenScoreOutOfRangeIsReportedWithMetrics is the QA report's v2 POST
// with score 101 and metrics: every field error but the score's was
// listed, as the computed score replaced the given one before validation.
func TestGivenScoreOutOfRangeIsReportedWithMetrics(t *testing.T) {
	f := newFixture(t, storetest.Memory)
	in := validInput()
	in.Score = 101
	requireFields(t, f.svc.ValidateInput(in), "sustainability_score")
	_, err := f.svc.Create(context.Background(), staff, in)
	requireFields(t, err, "sustainability_score")
	in.Name = ""
	requireFields(t, f.svc.ValidateInput(in), "sustainability_score", "name")
	requireFields(t, f.svc.ValidatePatch(catalog.Patch{Score: ptr(-1), Metrics: validInput().Metrics}), "sustainability_score")
	in = validInput()
	in.Score = 100
	assert.NoError(t, f.svc.ValidateInput(in))
}
