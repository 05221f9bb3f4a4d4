package porttest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// ProductStore checks the semantics of [ports.ProductStore] documented in
// package ports: create and read, copies in and out, ErrNotFound and
// ErrConflict, the version check of Update, stock changes (through the
// inventory store) that never let stock fall below zero under concurrency, List with every sort and filter against
// a brute-force reference (ProductFilter.Match and ProductSort.Less), cursor
// and offset pagination, totals, GetMany, Categories and CategoryStats, and
// the rules every stored product follows (the same in every store: text,
// ranges, currencies, the stock maximum).
func ProductStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	require.NoError(t, db.Ping(ctx(t)), "Ping")

	t.Run("CreateGet", func(t *testing.T) { productCreateGet(t, db) })
	t.Run("Copies", func(t *testing.T) { productCopies(t, db) })
	t.Run("CreateConflict", func(t *testing.T) { productCreateConflict(t, db) })
	t.Run("NotFound", func(t *testing.T) { productNotFound(t, db) })
	t.Run("Update", func(t *testing.T) { productUpdate(t, db) })
	t.Run("UpdateConcurrent", func(t *testing.T) { productUpdateConcurrent(t, db) })
	t.Run("Delete", func(t *testing.T) { productDelete(t, db) })
	t.Run("AdjustStock", func(t *testing.T) { productAdjustStock(t, db) })
	t.Run("AdjustStockConcurrent", func(t *testing.T) { productAdjustStockConcurrent(t, db) })
	t.Run("StockMaximum", func(t *testing.T) { productStockMaximum(t, db) })
	t.Run("Constraints", func(t *testing.T) { productConstraints(t, db) })
	t.Run("GetMany", func(t *testing.T) { productGetMany(t, db) })
	t.Run("List", func(t *testing.T) { productList(t, db) })
	t.Run("ListCursorStable", func(t *testing.T) { productListCursorStable(t, db) })
	t.Run("ListOffset", func(t *testing.T) { productListOffset(t, db) })
	t.Run("ListDefaultSort", func(t *testing.T) { productListDefaultSort(t, db) })
	t.Run("Search", func(t *testing.T) { productSearch(t, db) })
	t.Run("Categories", func(t *testing.T) { productCategories(t, db) })
	t.Run("CategoryStats", func(t *testing.T) { productCategoryStats(t, db) })
}

func productCreateGet(t *testing.T, db ports.Database) {
	store := db.Products()
	cat := UniqueCategory()
	tests := []struct {
		name string
		p    ecolaura.Product
	}{
		{"full metrics", NewProduct(cat, func(p *ecolaura.Product) {
			p.Metrics.Biodegradable = true
			p.Metrics.Certifications = []ecolaura.Certification{ecolaura.CertEUEcolabel, ecolaura.CertFSC, ecolaura.CertGOTS}
			p.Rescore()
		})},
		{"no metrics keeps given score", NewProduct(cat, func(p *ecolaura.Product) { p.Metrics, p.Score = nil, 73 })},
		{"metrics without optional fields", NewProduct(cat, func(p *ecolaura.Product) {
			p.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: 0}
			p.Rescore()
		})},
		{"zero price and stock", NewProduct(cat, func(p *ecolaura.Product) { p.Price.Amount, p.Stock = 0, 0 })},
		{"limits", NewProduct(cat, func(p *ecolaura.Product) {
			p.Name = strings.Repeat("ü", ecolaura.MaxNameLength)
			p.Description = strings.Repeat("d", ecolaura.MaxDescriptionLength)
			p.Price.Amount = ecolaura.MaxPriceMinor
			p.Stock = ecolaura.MaxStock
			p.Metrics.CarbonFootprint = ecolaura.MaxFootprint
			p.Metrics.RecycledContent = ptr(100)
			p.Metrics.Certifications = ecolaura.Certifications()
			p.Metrics.Normalize()
			p.Rescore()
		})},
		{"other currency and old times", NewProduct(cat, func(p *ecolaura.Product) {
			p.Price = ecolaura.NewMoney(1200, "JPY")
			p.CreatedAt = time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
			p.UpdatedAt = time.Date(2002, 2, 3, 4, 5, 6, 7000, time.UTC)
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fixture := tc.p.Clone()
			fixture.Complete()
			require.NoError(t, fixture.Validate(), "fixture must be valid")
			require.NoError(t, store.Create(ctx(t), tc.p))
			got, err := store.Get(ctx(t), tc.p.ID)
			require.NoError(t, err)
			requireProduct(t, tc.p, got, "Get must return the product exactly as created")
		})
	}
}

func productCopies(t *testing.T, db ports.Database) {
	store := db.Products()
	mutate := func(p *ecolaura.Product) {
		p.Name = "mutated"
		p.Stock = 999
		p.Metrics.CarbonFootprint = 99999
		*p.Metrics.RecycledContent = 3
		p.Metrics.Certifications[0] = ecolaura.CertBCorp
	}
	t.Run("Create", func(t *testing.T) {
		p := NewProduct(UniqueCategory())
		want := p.Clone()
		require.NoError(t, store.Create(ctx(t), p))
		mutate(&p)
		got, err := store.Get(ctx(t), want.ID)
		require.NoError(t, err)
		requireProduct(t, want, got, "mutating the value passed to Create changed the store")
	})
	t.Run("Get", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		got, err := store.Get(ctx(t), p.ID)
		require.NoError(t, err)
		mutate(&got)
		again, err := store.Get(ctx(t), p.ID)
		require.NoError(t, err)
		requireProduct(t, p, again, "mutating a value returned by Get changed the store")
	})
	t.Run("GetManyAndList", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		many, err := store.GetMany(ctx(t), []ecolaura.ID{p.ID})
		require.NoError(t, err)
		require.Len(t, many, 1)
		mutate(&many[0])
		page, err := store.List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: p.Category}, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		requireProduct(t, p, page.Items[0], "mutating a value returned by GetMany changed the store")
		mutate(&page.Items[0])
		again, err := store.Get(ctx(t), p.ID)
		require.NoError(t, err)
		requireProduct(t, p, again, "mutating a value returned by List changed the store")
	})
	t.Run("Update", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		in := p.Clone()
		in.Name = "updated"
		out, err := store.Update(ctx(t), in)
		require.NoError(t, err)
		want := out.Clone()
		mutate(&in)
		mutate(&out)
		got, err := store.Get(ctx(t), p.ID)
		require.NoError(t, err)
		requireProduct(t, want, got, "mutating the argument or result of Update changed the store")
	})
	t.Run("AdjustStock", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		out, err := AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: 1, At: Now()})
		require.NoError(t, err)
		want := out.Clone()
		mutate(&out)
		got, err := store.Get(ctx(t), p.ID)
		require.NoError(t, err)
		requireProduct(t, want, got, "mutating the result of AdjustStock changed the store")
	})
}

func productCreateConflict(t *testing.T, db ports.Database) {
	store := db.Products()
	p := mustCreateProduct(t, db)
	dup := NewProduct(UniqueCategory(), func(d *ecolaura.Product) { d.ID, d.Name = p.ID, "duplicate" })
	err := store.Create(ctx(t), dup)
	require.ErrorIs(t, err, ecolaura.ErrConflict, "Create with an existing ID")
	got, err := store.Get(ctx(t), p.ID)
	require.NoError(t, err)
	requireProduct(t, p, got, "a conflicting Create must not change the stored product")
}

func productNotFound(t *testing.T, db ports.Database) {
	store := db.Products()
	missing := NewID()
	_, err := store.Get(ctx(t), missing)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "Get")
	_, err = store.Update(ctx(t), NewProduct(UniqueCategory(), func(p *ecolaura.Product) { p.ID = missing }))
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "Update")
	require.ErrorIs(t, store.Delete(ctx(t), missing), ecolaura.ErrNotFound, "Delete")
	_, err = AdjustStock(ctx(t), db, StockAdjustment{ProductID: missing, Delta: 1, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "AdjustStock +1")
	_, err = AdjustStock(ctx(t), db, StockAdjustment{ProductID: missing, Delta: -1, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "AdjustStock -1")
}

func productUpdate(t *testing.T, db ports.Database) {
	store := db.Products()
	p := mustCreateProduct(t, db)

	// A full replacement, including dropping the metrics.
	in := p.Clone()
	in.Name, in.Description, in.Category = "Renamed", "New text", UniqueCategory()
	in.Price.Amount, in.Stock, in.Metrics, in.Score = 4321, 3, nil, 12
	in.UpdatedAt = in.UpdatedAt.Add(time.Second)
	out, err := store.Update(ctx(t), in)
	require.NoError(t, err)
	want := in.Clone()
	want.Version = p.Version + 1
	want.Stock = p.Stock // stock is the inventory's: Update does not write it
	requireProduct(t, want, out, "Update returns what was stored, with Version+1 (and the stock unchanged)")
	got, err := store.Get(ctx(t), p.ID)
	require.NoError(t, err)
	requireProduct(t, want, got, "Get after Update")

	// Adding metrics back.
	in2 := got.Clone()
	in2.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: 777, Biodegradable: true, Certifications: []ecolaura.Certification{ecolaura.CertFairtrade}}
	in2.Rescore()
	out2, err := store.Update(ctx(t), in2)
	require.NoError(t, err)
	want2 := in2.Clone()
	want2.Version = got.Version + 1
	requireProduct(t, want2, out2)

	for _, tc := range []struct {
		name    string
		version int64
	}{
		{"stale version", p.Version},
		{"version ahead", want2.Version + 1},
		{"zero version", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := want2.Clone()
			bad.Name, bad.Version = "should not be stored", tc.version
			_, err := store.Update(ctx(t), bad)
			require.ErrorIs(t, err, ecolaura.ErrConflict, "Update with version %d while stored is %d", tc.version, want2.Version)
			got, err := store.Get(ctx(t), p.ID)
			require.NoError(t, err)
			requireProduct(t, want2, got, "a rejected Update must change nothing")
		})
	}
}

func productUpdateConcurrent(t *testing.T, db ports.Database) {
	store := db.Products()
	p := mustCreateProduct(t, db)
	const n = 20
	errs := make([]error, n)
	race(n, func(i int) {
		in := p.Clone()
		in.Name = fmt.Sprintf("writer %d", i)
		_, errs[i] = store.Update(ctx(t), in)
	})
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "two Updates based on the same version both succeeded (%d and %d)", won, i)
			won = i
			continue
		}
		require.ErrorIs(t, err, ecolaura.ErrConflict, "losing Update %d", i)
	}
	require.NotEqual(t, -1, won, "no Update succeeded")
	got, err := store.Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("writer %d", won), got.Name)
	require.Equal(t, p.Version+1, got.Version)
}

func productDelete(t *testing.T, db ports.Database) {
	store := db.Products()
	p := mustCreateProduct(t, db)
	other := NewProduct(p.Category)
	mustCreateProducts(t, db, other)
	require.NoError(t, store.Delete(ctx(t), p.ID))
	_, err := store.Get(ctx(t), p.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "Get after Delete")
	require.ErrorIs(t, store.Delete(ctx(t), p.ID), ecolaura.ErrNotFound, "second Delete")
	_, err = store.Update(ctx(t), p)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "Update after Delete")
	_, err = AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: 1, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "AdjustStock after Delete")
	many, err := store.GetMany(ctx(t), []ecolaura.ID{p.ID, other.ID})
	require.NoError(t, err)
	require.Equal(t, []ecolaura.ID{other.ID}, productIDs(many), "GetMany after Delete")
	page, err := store.List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: p.Category}, Limit: 10, WithTotal: true})
	require.NoError(t, err)
	require.Equal(t, []ecolaura.ID{other.ID}, productIDs(page.Items), "List after Delete")
	require.Equal(t, 1, page.Total)
	// The ID may be used again once it is free.
	require.NoError(t, store.Create(ctx(t), p), "Create with the ID of a deleted product")
}

func productAdjustStock(t *testing.T, db ports.Database) {
	store := db.Products()
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 10 })
	want := p.Clone()
	steps := []struct {
		name      string
		delta     int
		wantStock int
		available int // for a rejected step
	}{
		{"add", 5, 15, 0},
		{"take some", -4, 11, 0},
		{"take more than available", -12, -1, 11},
		{"take all", -11, 0, 0},
		{"take from empty", -1, -1, 0},
		{"restock", 3, 3, 0},
		{"take one too many", -4, -1, 3},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			at := p.UpdatedAt.Add(time.Duration(i+1) * time.Minute)
			got, err := AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: st.delta, At: at})
			if st.wantStock < 0 {
				require.ErrorIs(t, err, ecolaura.ErrInsufficientStock)
				var ise *ecolaura.InsufficientStockError
				require.True(t, errors.As(err, &ise), "error must be an *ecolaura.InsufficientStockError, got %T: %v", err, err)
				require.Equal(t, st.available, ise.Available, "InsufficientStockError.Available")
			} else {
				require.NoError(t, err)
				want.Stock = st.wantStock // version and UpdatedAt stay: stock is no catalog change
				requireProduct(t, want, got, "AdjustStock returns the product after the change")
			}
			stored, err := store.Get(ctx(t), p.ID)
			require.NoError(t, err)
			requireProduct(t, want, stored, "stored product after the step")
		})
	}
}

func productAdjustStockConcurrent(t *testing.T, db ports.Database) {
	store := db.Products()
	const stock, n = 25, 60
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = stock })
	errs := make([]error, n)
	race(n, func(i int) {
		_, errs[i] = AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: -1, At: Now()})
	})
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, ecolaura.ErrInsufficientStock, "goroutine %d", i)
	}
	require.Equal(t, stock, ok, "exactly the available units can be taken")
	got, err := store.Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.Equal(t, 0, got.Stock)
	require.Equal(t, p.Version, got.Version, "stock changes do not bump the product's version")
}

func productGetMany(t *testing.T, db ports.Database) {
	store := db.Products()
	cat := UniqueCategory()
	a, b, c := NewProduct(cat), NewProduct(cat), NewProduct(cat)
	mustCreateProducts(t, db, a, b, c)
	missing := NewID()
	tests := []struct {
		name string
		ids  []ecolaura.ID
		want []ecolaura.Product
	}{
		{"in the order asked", []ecolaura.ID{c.ID, a.ID, b.ID}, []ecolaura.Product{c, a, b}},
		{"missing left out", []ecolaura.ID{missing, b.ID, NewID(), a.ID}, []ecolaura.Product{b, a}},
		{"only missing", []ecolaura.ID{missing}, nil},
		{"empty", nil, nil},
		{"single", []ecolaura.ID{b.ID}, []ecolaura.Product{b}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.GetMany(ctx(t), tc.ids)
			require.NoError(t, err)
			require.Equal(t, productIDs(tc.want), productIDs(got))
			require.Equal(t, canonProducts(tc.want), canonProducts(got))
		})
	}
}

// listFixture stores a varied set of products in a fresh category: ties in
// every sort key, products without metrics, out of stock, with token in the
// name (upper case) or description (lower case) or neither, and names with
// LIKE wildcards.
func listFixture(t *testing.T, db ports.Database, token string) (string, []ecolaura.Product) {
	t.Helper()
	cat := UniqueCategory()
	base := Now().Add(-time.Hour)
	var ps []ecolaura.Product
	for i := range 36 {
		p := NewProduct(cat, func(p *ecolaura.Product) {
			p.Name = fmt.Sprintf("Item %02d", i)
			p.Description = fmt.Sprintf("Description of item %02d.", i)
			switch i % 3 {
			case 0:
				p.Name += " " + strings.ToUpper(token)
			case 1:
				p.Description += " Tag " + token + "."
			}
			switch i {
			case 5:
				p.Name = "Cotton 100% organic"
			case 6:
				p.Name = "Cotton 1000 organic"
			case 7:
				p.Name = "snake_case item"
			case 8:
				p.Name = "snakeXcase item"
			}
			p.Price.Amount = int64(i%7)*150 + 100
			p.Stock = i
			if i%4 == 0 {
				p.Stock = 0
			}
			p.Score = (i%9)*10 + 5
			if i%5 == 0 {
				p.Metrics = nil
			} else {
				p.Metrics = &ecolaura.SustainabilityMetrics{
					CarbonFootprint: ecolaura.CO2e((i%6)*250 + 100),
					Recyclable:      i%2 == 0,
					Biodegradable:   i%3 == 0,
				}
			}
			p.CreatedAt = base.Add(-time.Duration(i/2) * time.Second) // pairs share a creation time
			p.UpdatedAt = p.CreatedAt
		})
		ps = append(ps, p)
	}
	mustCreateProducts(t, db, ps...)
	return cat, ps
}

type namedFilter struct {
	name string
	f    ecolaura.ProductFilter
}

func listFilters(cat, token string) []namedFilter {
	return []namedFilter{
		{"category", ecolaura.ProductFilter{Category: cat}},
		{"query", ecolaura.ProductFilter{Query: token}},
		{"query upper case", ecolaura.ProductFilter{Query: strings.ToUpper(token)}},
		{"query and category", ecolaura.ProductFilter{Category: cat, Query: token}},
		{"query with a percent sign", ecolaura.ProductFilter{Category: cat, Query: "100%"}}, // the last word is a prefix
		{"query with an underscore", ecolaura.ProductFilter{Category: cat, Query: "snake_case"}},
		{"query in description only", ecolaura.ProductFilter{Category: cat, Query: "TAG " + token}},
		{"min score", ecolaura.ProductFilter{Category: cat, MinScore: ptr(45)}},
		{"min score 0", ecolaura.ProductFilter{Category: cat, MinScore: ptr(0)}},
		{"max footprint", ecolaura.ProductFilter{Category: cat, MaxFootprint: ptr(ecolaura.CO2e(600))}},
		{"max footprint 0", ecolaura.ProductFilter{Category: cat, MaxFootprint: ptr(ecolaura.CO2e(0))}},
		{"recyclable", ecolaura.ProductFilter{Category: cat, Recyclable: ptr(true)}},
		{"not recyclable", ecolaura.ProductFilter{Category: cat, Recyclable: ptr(false)}},
		{"biodegradable", ecolaura.ProductFilter{Category: cat, Biodegradable: ptr(true)}},
		{"not biodegradable", ecolaura.ProductFilter{Category: cat, Biodegradable: ptr(false)}},
		{"min price", ecolaura.ProductFilter{Category: cat, MinPrice: ptr(int64(400))}},
		{"max price", ecolaura.ProductFilter{Category: cat, MaxPrice: ptr(int64(400))}},
		{"exact price", ecolaura.ProductFilter{Category: cat, MinPrice: ptr(int64(550)), MaxPrice: ptr(int64(550))}},
		{"in stock", ecolaura.ProductFilter{Category: cat, InStock: true}},
		{"combined", ecolaura.ProductFilter{Category: cat, Recyclable: ptr(true), InStock: true, MinScore: ptr(20), MaxPrice: ptr(int64(800)), MaxFootprint: ptr(ecolaura.CO2e(1000))}},
		{"query combined", ecolaura.ProductFilter{Query: token, InStock: true, Biodegradable: ptr(false), MinPrice: ptr(int64(200))}},
		{"no match", ecolaura.ProductFilter{Category: UniqueCategory()}},
	}
}

func productList(t *testing.T, db ports.Database) {
	token := RandomToken("zq")
	cat, ps := listFixture(t, db, token)
	store := db.Products()
	for _, nf := range listFilters(cat, token) {
		require.NoError(t, nf.f.Validate(), "filter %s", nf.name)
		for _, s := range ecolaura.ProductSorts() {
			if s == ecolaura.SortRelevance && nf.f.Query != "" {
				continue // ranks: see productSearch
			}
			t.Run(nf.name+"/"+string(s), func(t *testing.T) {
				want := sortedReference(ps, nf.f, s)
				page, err := store.List(ctx(t), ports.ProductQuery{Filter: nf.f, Sort: s, Limit: 1000, WithTotal: true})
				require.NoError(t, err)
				require.Equal(t, productIDs(want), productIDs(page.Items), "one page with every match, in sort order")
				require.Equal(t, canonProducts(want), canonProducts(page.Items))
				require.False(t, page.HasMore, "HasMore on a page holding every match")
				require.Equal(t, len(want), page.Total, "Total")

				for _, limit := range []int{1, 4} {
					got := walkProducts(t, store, ports.ProductQuery{Filter: nf.f, Sort: s, Limit: limit}, len(want))
					require.Equal(t, productIDs(want), productIDs(got), "cursor pages of %d concatenated", limit)
				}
			})
		}
	}
}

// walkProducts follows cursor pages from the start of q until HasMore is
// false and returns every item, checking the page invariants on the way.
func walkProducts(t *testing.T, store ports.ProductStore, q ports.ProductQuery, expect int) []ecolaura.Product {
	t.Helper()
	var all []ecolaura.Product
	for range expect + 2 {
		page, err := store.List(ctx(t), q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Items), q.Limit, "page larger than Limit")
		require.Equal(t, -1, page.Total, "Total without WithTotal")
		all = append(all, page.Items...)
		if !page.HasMore {
			return all
		}
		require.Len(t, page.Items, q.Limit, "a page followed by more items must be full")
		last := page.Items[len(page.Items)-1]
		q.After = ptr(position(q.Sort, last))
		if page.Keys != nil {
			require.Len(t, page.Keys, len(page.Items), "a key per item")
			if q.Filter.Query == "" || q.Sort != ecolaura.SortRelevance {
				require.Equal(t, q.After.Key, page.Keys[len(page.Keys)-1], "the key of an item is its SortKey")
			}
			q.After.Key = page.Keys[len(page.Keys)-1] // a search's rank
		}
	}
	require.FailNow(t, "cursor pagination did not end", "more than %d pages for %d items", expect+2, expect)
	return nil
}

func productListCursorStable(t *testing.T, db ports.Database) {
	store := db.Products()
	for _, s := range ecolaura.ProductSorts() {
		t.Run(string(s), func(t *testing.T) {
			cat := UniqueCategory()
			base := Now().Add(-time.Hour)
			var ps []ecolaura.Product
			for i := range 17 {
				ps = append(ps, NewProduct(cat, func(p *ecolaura.Product) {
					p.Price.Amount = int64(100 + (i%5)*10)
					p.Score = 10 + (i%6)*5
					p.Metrics.CarbonFootprint = ecolaura.CO2e(100 + (i%4)*10)
					if i%7 == 0 {
						p.Metrics = nil
					}
					p.CreatedAt = base.Add(-time.Duration(i/3) * time.Second)
					p.UpdatedAt = p.CreatedAt
				}))
			}
			mustCreateProducts(t, db, ps...)
			f := ecolaura.ProductFilter{Category: cat}
			q := ports.ProductQuery{Filter: f, Sort: s, Limit: 5}
			first, err := store.List(ctx(t), q)
			require.NoError(t, err)
			require.True(t, first.HasMore)
			require.Equal(t, productIDs(sortedReference(ps, f, s)[:5]), productIDs(first.Items))
			cursor := position(s, first.Items[4])

			// Products that sort before the cursor must not shift later
			// pages; one that sorts after it must show up.
			before := []ecolaura.Product{productFirstIn(s, cat, base), productFirstIn(s, cat, base)}
			after := productLastIn(s, cat, base)
			mustCreateProducts(t, db, before[0], after, before[1])
			all := append(append(append([]ecolaura.Product(nil), ps...), before...), after)
			for _, b := range before {
				require.True(t, s.Less(position(s, b), cursor), "fixture: %s must sort before the cursor", b.ID)
			}
			require.True(t, s.Less(cursor, position(s, after)), "fixture: product must sort after the cursor")

			var want []ecolaura.Product
			for _, p := range sortedReference(all, f, s) {
				if s.Less(cursor, position(s, p)) {
					want = append(want, p)
				}
			}
			q.After = &cursor
			var rest []ecolaura.Product
			for range 10 {
				page, err := store.List(ctx(t), q)
				require.NoError(t, err)
				rest = append(rest, page.Items...)
				if !page.HasMore {
					break
				}
				q.After = ptr(position(s, page.Items[len(page.Items)-1]))
			}
			require.Equal(t, productIDs(want), productIDs(rest), "pages after the cursor")
			seen := map[ecolaura.ID]bool{}
			for _, p := range append(first.Items, rest...) {
				require.False(t, seen[p.ID], "product %s on two pages", p.ID)
				seen[p.ID] = true
			}
			require.Len(t, seen, len(ps)+1, "every original product and the later one exactly once")
		})
	}
}

// productFirstIn returns a product of cat that sorts before every product
// with a price of at least 1.00, a score below 100, a footprint of at least
// 1 g, created before base+1h.
func productFirstIn(s ecolaura.ProductSort, cat string, base time.Time) ecolaura.Product {
	return NewProduct(cat, func(p *ecolaura.Product) {
		switch s {
		case ecolaura.SortNewest:
			p.CreatedAt = base.Add(time.Hour)
		case ecolaura.SortScore:
			p.Score = 100
			p.Metrics = nil
		case ecolaura.SortPriceAsc:
			p.Price.Amount = 0
		case ecolaura.SortPriceDesc:
			p.Price.Amount = ecolaura.MaxPriceMinor
		case ecolaura.SortFootprintAsc:
			p.Metrics.CarbonFootprint = 0
		}
	})
}

// productLastIn returns a product of cat that sorts after every product
// with a price below the maximum and above 0, a score above 0, created after
// base-1h (the footprint sort puts it last by having no metrics and the
// newest ID).
func productLastIn(s ecolaura.ProductSort, cat string, base time.Time) ecolaura.Product {
	return NewProduct(cat, func(p *ecolaura.Product) {
		switch s {
		case ecolaura.SortNewest:
			p.CreatedAt = base.Add(-time.Hour)
		case ecolaura.SortScore:
			p.Score = 0
			p.Metrics = nil
		case ecolaura.SortPriceAsc:
			p.Price.Amount = ecolaura.MaxPriceMinor
		case ecolaura.SortPriceDesc:
			p.Price.Amount = 0
		case ecolaura.SortFootprintAsc:
			p.Metrics = nil
		case ecolaura.SortRelevance:
			// Every key is 0 without a search: the lowest ID is last.
			p.ID = "00000000-0000" + p.ID[13:]
		}
	})
}

func productListOffset(t *testing.T, db ports.Database) {
	token := RandomToken("zq")
	cat, ps := listFixture(t, db, token)
	store := db.Products()
	filters := []namedFilter{
		{"category", ecolaura.ProductFilter{Category: cat}},
		{"in stock", ecolaura.ProductFilter{Category: cat, InStock: true}},
	}
	for _, nf := range filters {
		for _, s := range ecolaura.ProductSorts() {
			t.Run(nf.name+"/"+string(s), func(t *testing.T) {
				want := sortedReference(ps, nf.f, s)
				n := len(want)
				for _, offset := range []int{0, 1, 5, n - 1, n, n + 5} {
					for _, limit := range []int{1, 4, n, 1000} {
						for _, withTotal := range []bool{false, true} {
							page, err := store.List(ctx(t), ports.ProductQuery{Filter: nf.f, Sort: s, Offset: offset, Limit: limit, WithTotal: withTotal})
							require.NoError(t, err)
							end := min(offset+limit, n)
							var wantPage []ecolaura.Product
							if offset < n {
								wantPage = want[offset:end]
							}
							msg := fmt.Sprintf("offset %d limit %d of %d", offset, limit, n)
							require.Equal(t, productIDs(wantPage), productIDs(page.Items), msg)
							require.Equal(t, offset+limit < n, page.HasMore, "HasMore, %s", msg)
							if withTotal {
								require.Equal(t, n, page.Total, "Total, %s", msg)
							} else {
								require.Equal(t, -1, page.Total, "Total without WithTotal, %s", msg)
							}
						}
					}
				}
			})
		}
	}
}

func productListDefaultSort(t *testing.T, db ports.Database) {
	token := RandomToken("zq")
	cat, ps := listFixture(t, db, token)
	f := ecolaura.ProductFilter{Category: cat}
	page, err := db.Products().List(ctx(t), ports.ProductQuery{Filter: f, Limit: 1000})
	require.NoError(t, err)
	require.Equal(t, productIDs(sortedReference(ps, f, ecolaura.SortNewest)), productIDs(page.Items), "the zero Sort is SortNewest")
	got := walkProducts(t, db.Products(), ports.ProductQuery{Filter: f, Limit: 7}, len(ps))
	require.Equal(t, productIDs(sortedReference(ps, f, ecolaura.SortNewest)), productIDs(got), "cursor pages with the zero Sort")
}

func productCategories(t *testing.T, db ports.Database) {
	store := db.Products()
	// Slugs whose byte order differs from a natural-language collation that
	// ignores hyphens: the order is by bytes ("-" < "0" < "a").
	stem := UniqueCategory()
	cats := []string{stem + "a", stem + "-z", stem + "0"}
	counts := map[string]int{cats[0]: 3, cats[1]: 1, cats[2]: 2}
	var byCat = map[string][]ecolaura.Product{}
	for _, c := range cats {
		for range counts[c] {
			p := NewProduct(c)
			byCat[c] = append(byCat[c], p)
			mustCreateProducts(t, db, p)
		}
	}
	check := func(t *testing.T, want map[string]int) {
		t.Helper()
		got, err := store.Categories(ctx(t))
		require.NoError(t, err)
		for i := 1; i < len(got); i++ {
			require.Less(t, got[i-1].Category, got[i].Category, "categories must be unique and ordered by slug (byte order)")
		}
		ours := map[string]int{}
		for _, cc := range got {
			require.Positive(t, cc.Products, "category %q listed without products", cc.Category)
			if strings.HasPrefix(cc.Category, stem) {
				ours[cc.Category] = cc.Products
			}
		}
		require.Equal(t, want, ours)
	}
	t.Run("counts", func(t *testing.T) { check(t, counts) })
	t.Run("only active products count", func(t *testing.T) {
		mustCreateProducts(t, db,
			NewProduct(cats[0], func(p *ecolaura.Product) { p.Status = ecolaura.ProductDraft }),
			NewProduct(stem+"-drafts", func(p *ecolaura.Product) { p.Status = ecolaura.ProductDraft }),
			NewProduct(stem+"-drafts", func(p *ecolaura.Product) { p.Status = ecolaura.ProductArchived }))
		check(t, counts)
	})
	t.Run("empty category disappears", func(t *testing.T) {
		require.NoError(t, store.Delete(ctx(t), byCat[cats[1]][0].ID))
		check(t, map[string]int{cats[0]: 3, cats[2]: 2})
	})
	t.Run("move between categories", func(t *testing.T) {
		p := byCat[cats[0]][0]
		p.Category = cats[2]
		_, err := store.Update(ctx(t), p)
		require.NoError(t, err)
		check(t, map[string]int{cats[0]: 2, cats[2]: 3})
	})
}

func productCategoryStats(t *testing.T, db ports.Database) {
	store := db.Products()
	stem := UniqueCategory()
	withMetrics, without, mixed := stem+"-a", stem+"-b", stem+"-c"
	fp := func(g ecolaura.CO2e, score int) func(*ecolaura.Product) {
		return func(p *ecolaura.Product) { p.Metrics.CarbonFootprint, p.Score = g, score }
	}
	none := func(score int) func(*ecolaura.Product) {
		return func(p *ecolaura.Product) { p.Metrics, p.Score = nil, score }
	}
	mustCreateProducts(t, db,
		NewProduct(withMetrics, fp(100, 10)), NewProduct(withMetrics, fp(500, 21)),
		NewProduct(without, none(70)), NewProduct(without, none(0)), NewProduct(without, none(100)),
		NewProduct(mixed, fp(1000, 10)), NewProduct(mixed, fp(3000, 20)), NewProduct(mixed, none(31)), NewProduct(mixed, fp(2000, 95)),
		// Not in the shop: not in the figures.
		NewProduct(mixed, fp(9000, 1), func(p *ecolaura.Product) { p.Status = ecolaura.ProductDraft }),
		NewProduct(mixed, none(3), func(p *ecolaura.Product) { p.Status = ecolaura.ProductArchived }),
		NewProduct(stem+"-d", fp(9000, 1), func(p *ecolaura.Product) { p.Status = ecolaura.ProductDraft }),
	)
	want := []ecolaura.CategoryStats{
		{Category: withMetrics, Products: 2, WithMetrics: 2, AverageScore: 15.5, AverageFootprint: 300},
		{Category: without, Products: 3, WithMetrics: 0, AverageScore: 170.0 / 3, AverageFootprint: 0},
		{Category: mixed, Products: 4, WithMetrics: 3, AverageScore: 39, AverageFootprint: 2000},
	}
	got, err := store.CategoryStats(ctx(t))
	require.NoError(t, err)
	var ours []ecolaura.CategoryStats
	for i, cs := range got {
		if i > 0 {
			require.Less(t, got[i-1].Category, cs.Category, "stats must be unique and ordered by slug (byte order)")
		}
		if strings.HasPrefix(cs.Category, stem) {
			ours = append(ours, cs)
		}
	}
	require.Len(t, ours, len(want))
	for i := range want {
		assert.Equal(t, want[i].Category, ours[i].Category)
		assert.Equal(t, want[i].Products, ours[i].Products, "Products of %s", want[i].Category)
		assert.Equal(t, want[i].WithMetrics, ours[i].WithMetrics, "WithMetrics of %s", want[i].Category)
		assert.InDelta(t, want[i].AverageScore, ours[i].AverageScore, 1e-6, "AverageScore of %s", want[i].Category)
		assert.Equal(t, want[i].AverageFootprint, ours[i].AverageFootprint, "AverageFootprint of %s", want[i].Category)
	}
}
