package memory_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

var testFilters = []struct {
	name string
	f    ecolaura.ProductFilter
}{
	{"none", ecolaura.ProductFilter{}},
	{"category", ecolaura.ProductFilter{Category: "kitchen"}},
	{"unknown category", ecolaura.ProductFilter{Category: "toys"}},
	{"category min score", ecolaura.ProductFilter{Category: "home", MinScore: ptr(40)}},
	{"min score", ecolaura.ProductFilter{MinScore: ptr(60)}},
	{"max footprint", ecolaura.ProductFilter{MaxFootprint: ptr(ecolaura.CO2e(2000))}},
	{"recyclable", ecolaura.ProductFilter{Recyclable: ptr(true)}},
	{"not biodegradable", ecolaura.ProductFilter{Biodegradable: ptr(false), Category: "garden"}},
	{"price range", ecolaura.ProductFilter{MinPrice: ptr(int64(1000)), MaxPrice: ptr(int64(3000))}},
	{"in stock", ecolaura.ProductFilter{InStock: true}},
	{"query", ecolaura.ProductFilter{Query: "BAMBOO"}},
	{"query description", ecolaura.ProductFilter{Query: "compost", InStock: true}},
	{"query with a typo", ecolaura.ProductFilter{Query: "bambo"}},
	{"everything", ecolaura.ProductFilter{Category: "office", MinScore: ptr(10), MaxPrice: ptr(int64(4000)), InStock: true}},
}

// checkLists compares every sort and filter, walked by cursor and by offset
// pages, with a brute-force filter and sort of want.
func checkLists(t *testing.T, ctx context.Context, store ports.ProductStore, want []ecolaura.Product) {
	t.Helper()
	for _, s := range ecolaura.ProductSorts() {
		for _, tf := range testFilters {
			exp := ids(bruteList(want, tf.f, s))
			for _, limit := range []int{1, 7, 1000} {
				// Cursor pages.
				var got []ecolaura.ID
				var after *ecolaura.ProductPosition
				for pages := 0; ; pages++ {
					require.Less(t, pages, len(want)+2, "pagination does not end")
					page, err := store.List(ctx, ports.ProductQuery{Filter: tf.f, Sort: s, After: after, Limit: limit, WithTotal: true})
					require.NoError(t, err)
					require.Equal(t, len(exp), page.Total, "total sort=%s filter=%s", s, tf.name)
					got = append(got, ids(page.Items)...)
					if !page.HasMore {
						break
					}
					require.Len(t, page.Items, limit)
					last := page.Items[len(page.Items)-1]
					after = &ecolaura.ProductPosition{Key: s.SortKey(last), ID: last.ID}
					if tf.f.Query != "" && s == ecolaura.SortRelevance {
						after.Key = page.Keys[len(page.Keys)-1] // the rank
					}
				}
				require.Equal(t, exp, nilIfEmpty(got), "cursor pages sort=%s filter=%s limit=%d", s, tf.name, limit)
				// Offset pages.
				got = nil
				for off := 0; ; off += limit {
					page, err := store.List(ctx, ports.ProductQuery{Filter: tf.f, Sort: s, Offset: off, Limit: limit})
					require.NoError(t, err)
					require.Equal(t, -1, page.Total)
					got = append(got, ids(page.Items)...)
					require.Equal(t, off+limit < len(exp), page.HasMore, "has more sort=%s filter=%s off=%d", s, tf.name, off)
					if !page.HasMore {
						break
					}
				}
				require.Equal(t, exp, nilIfEmpty(got), "offset pages sort=%s filter=%s limit=%d", s, tf.name, limit)
			}
		}
	}
	checkAggregates(t, ctx, store, want)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func checkAggregates(t *testing.T, ctx context.Context, store ports.ProductStore, want []ecolaura.Product) {
	t.Helper()
	type agg struct{ n, withM, score, fp int64 }
	by := map[string]*agg{}
	for _, p := range want {
		a := by[p.Category]
		if a == nil {
			a = &agg{}
			by[p.Category] = a
		}
		a.n++
		a.score += int64(p.Score)
		if p.Metrics != nil {
			a.withM++
			a.fp += int64(p.Metrics.CarbonFootprint)
		}
	}
	var wantCounts []ecolaura.CategoryCount
	var wantStats []ecolaura.CategoryStats
	for _, c := range slices.Sorted(mapsKeys(by)) {
		a := by[c]
		wantCounts = append(wantCounts, ecolaura.CategoryCount{Category: c, Products: int(a.n)})
		st := ecolaura.CategoryStats{Category: c, Products: int(a.n), WithMetrics: int(a.withM), AverageScore: float64(a.score) / float64(a.n)}
		if a.withM > 0 {
			st.AverageFootprint = ecolaura.CO2e(math.Round(float64(a.fp) / float64(a.withM)))
		}
		wantStats = append(wantStats, st)
	}
	counts, err := store.Categories(ctx)
	require.NoError(t, err)
	assert.Equal(t, wantCounts, nilIfEmpty(counts))
	stats, err := store.CategoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, wantStats, nilIfEmpty(stats))
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestListMatchesBruteForce builds a random catalog, lists it every way, then
// mutates it (updates that move products between categories and sort
// positions, stock changes, deletes) inside a transaction, checking the
// transaction's own view, and again after commit.
func TestListMatchesBruteForce(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
	}{{1}, {2}, {3}, {4}} {
		t.Run(fmt.Sprintf("seed %d", tc.seed), func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(tc.seed, 42))
			gen := memory.NewSequentialIDs()
			db := newDB(t)
			want := make(map[ecolaura.ID]ecolaura.Product)
			var ps []ecolaura.Product
			for range 150 {
				p := randomProduct(rng, gen.NewID())
				ps = append(ps, p)
				want[p.ID] = p
			}
			seedProducts(t, db, ps)
			checkLists(t, ctx, db.Products(), values(want))

			err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
				for _, p := range values(want) {
					switch rng.IntN(5) {
					case 0:
						require.NoError(t, tx.Products().Delete(ctx, p.ID))
						delete(want, p.ID)
					case 1:
						q := randomProduct(rng, p.ID)
						q.Version = p.Version
						got, err := tx.Products().Update(ctx, q)
						require.NoError(t, err)
						want[p.ID] = got
					case 2, 3:
						got, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: rng.IntN(3) - p.Stock, At: t0})
						require.NoError(t, err)
						want[p.ID] = got
						if rng.IntN(2) == 0 { // then a full update of the stale product
							q := randomProduct(rng, p.ID)
							q.Version = got.Version
							got, err = tx.Products().Update(ctx, q)
							require.NoError(t, err)
							want[p.ID] = got
						}
					}
				}
				for range 20 {
					p := randomProduct(rng, gen.NewID())
					require.NoError(t, tx.Products().Create(ctx, p))
					want[p.ID] = p
				}
				checkLists(t, ctx, tx.Products(), values(want))
				return nil
			})
			require.NoError(t, err)
			checkLists(t, ctx, db.Products(), values(want))

			// Stock-only changes outside a transaction, then a delete of a
			// product with a stale index entry.
			for _, p := range values(want) {
				if rng.IntN(2) == 0 {
					got, err := porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: p.ID, Delta: 1 - p.Stock, At: t0})
					require.NoError(t, err)
					want[p.ID] = got
				}
			}
			checkLists(t, ctx, db.Products(), values(want))
			for id := range want {
				require.NoError(t, db.Products().Delete(ctx, id))
				delete(want, id)
				break
			}
			checkLists(t, ctx, db.Products(), values(want))
		})
	}
}

func values(m map[ecolaura.ID]ecolaura.Product) []ecolaura.Product {
	out := make([]ecolaura.Product, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	return out
}

func TestListRejectsBadQueries(t *testing.T) {
	db := newDB(t)
	tests := []struct {
		name string
		q    ports.ProductQuery
	}{
		{"zero limit", ports.ProductQuery{}},
		{"limit too big", ports.ProductQuery{Limit: 1001}},
		{"negative offset", ports.ProductQuery{Limit: 1, Offset: -1}},
		{"unknown sort", ports.ProductQuery{Limit: 1, Sort: "name"}},
		{"bad filter", ports.ProductQuery{Limit: 1, Filter: ecolaura.ProductFilter{MinScore: ptr(101)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Products().List(context.Background(), tc.q)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
		})
	}
}

// TestCursorIsStableUnderInserts: products added before the cursor position
// never shift later pages.
func TestCursorIsStableUnderInserts(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	gen := memory.NewSequentialIDs()
	var ps []ecolaura.Product
	for i := range 10 {
		p := newProduct(gen.NewID(), 1)
		p.Score = 90 - i*10
		ps = append(ps, p)
	}
	seedProducts(t, db, ps)
	q := ports.ProductQuery{Sort: ecolaura.SortScore, Limit: 3}
	page, err := db.Products().List(ctx, q)
	require.NoError(t, err)
	last := page.Items[2]
	newer := newProduct(gen.NewID(), 1)
	newer.Score = 95
	require.NoError(t, db.Products().Create(ctx, newer))
	q.After = &ecolaura.ProductPosition{Key: int64(last.Score), ID: last.ID}
	page, err = db.Products().List(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, []ecolaura.ID{ps[3].ID, ps[4].ID, ps[5].ID}, ids(page.Items))
}

func TestProductConstraints(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(s ports.ProductStore) error
		want error
	}{
		{"duplicate id", func(s ports.ProductStore) error {
			return s.Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 1))
		}, ecolaura.ErrConflict},
		{"empty id", func(s ports.ProductStore) error { return s.Create(ctx, newProduct("", 1)) }, ecolaura.ErrInvalid},
		{"negative stock", func(s ports.ProductStore) error {
			return s.Create(ctx, newProduct("10000000-0000-7000-8000-000000000002", -1))
		}, ecolaura.ErrInvalid},
		{"get missing", func(s ports.ProductStore) error { _, err := s.Get(ctx, "nope"); return err }, ecolaura.ErrNotFound},
		{"delete missing", func(s ports.ProductStore) error { return s.Delete(ctx, "nope") }, ecolaura.ErrNotFound},
		{"update missing", func(s ports.ProductStore) error {
			_, err := s.Update(ctx, newProduct("10000000-0000-7000-8000-000000000009", 1))
			return err
		}, ecolaura.ErrNotFound},
		{"update stale", func(s ports.ProductStore) error {
			p := newProduct("10000000-0000-7000-8000-000000000001", 1)
			p.Version = 7
			_, err := s.Update(ctx, p)
			return err
		}, ecolaura.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 5)))
			require.ErrorIs(t, tc.run(db.Products()), tc.want)
			p, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
			require.NoError(t, err)
			assert.Equal(t, newProduct("10000000-0000-7000-8000-000000000001", 5), p, "a failed call changes nothing")
		})
	}
}

func TestProductUpdateAndAdjust(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 5)))
	p := newProduct("10000000-0000-7000-8000-000000000001", 5)
	p.Name = "Renamed"
	p.CreatedAt = t0.AddDate(1, 0, 0) // ignored: CreatedAt is kept
	got, err := db.Products().Update(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)
	assert.Equal(t, "Renamed", got.Name)
	assert.Equal(t, t0, got.CreatedAt)
	at := t0.Add(time.Hour)
	got, err = porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: -5, At: at})
	require.NoError(t, err)
	assert.Equal(t, 0, got.Stock)
	assert.Equal(t, int64(2), got.Version, "a stock change does not bump the version")
	assert.Equal(t, t0, got.UpdatedAt, "nor set UpdatedAt")
	stored, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, got, stored)
}

func TestProductCopiesInAndOut(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	p := newProduct("10000000-0000-7000-8000-000000000001", 5)
	p.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: 100, RecycledContent: ptr(50), Certifications: []ecolaura.Certification{ecolaura.CertFSC}}
	require.NoError(t, db.Products().Create(ctx, p))
	// Mutating the caller's value after Create changes nothing stored.
	p.Metrics.CarbonFootprint = 999
	*p.Metrics.RecycledContent = 1
	p.Metrics.Certifications[0] = ecolaura.CertGOTS
	got, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, ecolaura.CO2e(100), got.Metrics.CarbonFootprint)
	assert.Equal(t, 50, *got.Metrics.RecycledContent)
	assert.Equal(t, ecolaura.CertFSC, got.Metrics.Certifications[0])
	// Mutating what was returned changes nothing stored either, whichever
	// call returned it.
	readers := map[string]func() ecolaura.Product{
		"get": func() ecolaura.Product {
			p, _ := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
			return p
		},
		"get many": func() ecolaura.Product {
			ps, _ := db.Products().GetMany(ctx, []ecolaura.ID{"10000000-0000-7000-8000-000000000001"})
			return ps[0]
		},
		"list": func() ecolaura.Product {
			page, _ := db.Products().List(ctx, ports.ProductQuery{Limit: 1})
			return page.Items[0]
		},
		"adjust": func() ecolaura.Product {
			p, _ := porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001"})
			return p
		},
	}
	for name, read := range readers {
		got := read()
		got.Metrics.CarbonFootprint = 7
		*got.Metrics.RecycledContent = 7
		got.Metrics.Certifications[0] = ecolaura.CertBCorp
		again, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
		require.NoError(t, err)
		assert.Equal(t, ecolaura.CO2e(100), again.Metrics.CarbonFootprint, name)
		assert.Equal(t, 50, *again.Metrics.RecycledContent, name)
		assert.Equal(t, ecolaura.CertFSC, again.Metrics.Certifications[0], name)
	}
}

func TestGetMany(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	seedProducts(t, db, []ecolaura.Product{newProduct("10000000-0000-7000-8000-000000000001", 1), newProduct("10000000-0000-7000-8000-000000000002", 1), newProduct("10000000-0000-7000-8000-000000000003", 1)})
	got, err := db.Products().GetMany(ctx, []ecolaura.ID{"10000000-0000-7000-8000-000000000003", "nope", "10000000-0000-7000-8000-000000000001", "10000000-0000-7000-8000-000000000003"})
	require.NoError(t, err)
	assert.Equal(t, []ecolaura.ID{"10000000-0000-7000-8000-000000000003", "10000000-0000-7000-8000-000000000001"}, ids(got))
}
