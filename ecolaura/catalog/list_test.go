package catalog_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

// seed creates n products with varied prices, scores, categories and stock.
func seed(t *testing.T, f fixture, n int) []ecolaura.Product {
	t.Helper()
	cats := []string{"kitchen", "home", "garden"}
	var out []ecolaura.Product
	for i := range n {
		in := catalog.ProductInput{
			Name:        fmt.Sprintf("Product %02d", i),
			Description: map[bool]string{true: "made of bamboo", false: "made of steel"}[i%4 == 0],
			Category:    cats[i%len(cats)],
			Price:       eur(int64(100 * (1 + (i*7)%n))),
			Stock:       i % 5,
		}
		if i%3 != 2 {
			in.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.CO2e(500 * (1 + i%9)), Recyclable: i%2 == 0}
		} else {
			in.Score = 10 + i
		}
		out = append(out, f.create(t, in))
	}
	return out
}

func ids(ps []ecolaura.Product) []ecolaura.ID {
	out := make([]ecolaura.ID, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// walk follows cursors from the first page and returns every product.
func walk(t *testing.T, f fixture, params catalog.ListParams) []ecolaura.Product {
	t.Helper()
	var all []ecolaura.Product
	for range 1000 {
		res, err := f.svc.List(context.Background(), anon, params)
		require.NoError(t, err)
		assert.Equal(t, -1, res.Total)
		all = append(all, res.Items...)
		if res.NextCursor == "" {
			assert.False(t, res.Page.HasMore)
			return all
		}
		params.Cursor = res.NextCursor
	}
	t.Fatal("cursor walk does not end")
	return nil
}

func TestListFiltersAndSorts(t *testing.T) { storetest.Run(t, testListFiltersAndSorts) }

func testListFiltersAndSorts(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	products := seed(t, f, 30)
	match := func(fl ecolaura.ProductFilter, sort ecolaura.ProductSort) []ecolaura.ID {
		var want []ecolaura.Product
		for _, p := range products {
			// The searches below are one whole word, which stemming
			// leaves alone.
			if fl.Match(p) && (fl.Query == "" || strings.Contains(strings.ToLower(p.Name+" "+p.Description), strings.ToLower(fl.Query))) {
				want = append(want, p)
			}
		}
		sortProducts(want, sort)
		return ids(want)
	}
	tests := []struct {
		name   string
		filter ecolaura.ProductFilter
		sort   ecolaura.ProductSort
	}{
		{"all newest (default)", ecolaura.ProductFilter{}, ""},
		{"category by score", ecolaura.ProductFilter{Category: "home"}, ecolaura.SortScore},
		{"text query by price", ecolaura.ProductFilter{Query: "BAMBOO"}, ecolaura.SortPriceAsc},
		{"text query by relevance (its default)", ecolaura.ProductFilter{Query: "BAMBOO"}, ""},
		{"min score by price desc", ecolaura.ProductFilter{MinScore: ptr(40)}, ecolaura.SortPriceDesc},
		{"max footprint by footprint", ecolaura.ProductFilter{MaxFootprint: ptr(ecolaura.CO2e(2000))}, ecolaura.SortFootprintAsc},
		{"recyclable", ecolaura.ProductFilter{Recyclable: ptr(true)}, ecolaura.SortNewest},
		{"price range", ecolaura.ProductFilter{MinPrice: ptr(int64(500)), MaxPrice: ptr(int64(1500))}, ecolaura.SortPriceAsc},
		{"in stock footprint with unknown last", ecolaura.ProductFilter{InStock: true}, ecolaura.SortFootprintAsc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sort := tt.sort
			switch {
			case sort == "" && tt.filter.Query != "":
				// Every match has the word once in its description:
				// they rank alike, so by ID.
				sort = ecolaura.SortRelevance
			case sort == "":
				sort = ecolaura.SortNewest
			}
			want := match(tt.filter, sort)
			require.NotEmpty(t, want, "the case must select something")
			got := walk(t, f, catalog.ListParams{Filter: tt.filter, Sort: tt.sort, PageSize: 4})
			assert.Equal(t, want, ids(got))
			res, err := f.svc.List(context.Background(), ecolaura.Anonymous, catalog.ListParams{Filter: tt.filter, Sort: tt.sort, PageSize: 4})
			require.NoError(t, err)
			_, err = catalog.DecodeCursor(sort, res.NextCursor)
			assert.NoError(t, err, "the cursor is for sort %s", sort)
		})
	}
}

// sortProducts orders ps like the store: by sort key, then ID.
func sortProducts(ps []ecolaura.Product, s ecolaura.ProductSort) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0; j-- {
			a := ecolaura.ProductPosition{Key: s.SortKey(ps[j]), ID: ps[j].ID}
			b := ecolaura.ProductPosition{Key: s.SortKey(ps[j-1]), ID: ps[j-1].ID}
			if !s.Less(a, b) {
				break
			}
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func TestListValidation(t *testing.T) { storetest.Run(t, testListValidation) }

func testListValidation(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	seed(t, f, 5)
	first, err := f.svc.List(ctx, anon, catalog.ListParams{Sort: ecolaura.SortScore, PageSize: 2})
	require.NoError(t, err)
	require.NotEmpty(t, first.NextCursor)
	raw, err := base64.RawURLEncoding.DecodeString(first.NextCursor)
	require.NoError(t, err)
	tampered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "|score|", "|score|9", 1)))
	flipped := []byte(first.NextCursor)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name   string
		params catalog.ListParams
		fields []string
	}{
		{"unknown sort", catalog.ListParams{Sort: "cheapest"}, []string{"sort"}},
		{"page size too large", catalog.ListParams{PageSize: 101}, []string{"page_size"}},
		{"negative page size", catalog.ListParams{PageSize: -1}, []string{"page_size"}},
		{"negative page", catalog.ListParams{Page: -1}, []string{"page"}},
		{"huge page", catalog.ListParams{Page: 1 << 40, PageSize: 100}, []string{"page"}},
		{"cursor with page", catalog.ListParams{Page: 2, Cursor: first.NextCursor}, []string{"cursor"}},
		{"cursor not base64", catalog.ListParams{Sort: ecolaura.SortScore, Cursor: "!!!"}, []string{"cursor"}},
		{"cursor of another sort", catalog.ListParams{Sort: ecolaura.SortPriceAsc, Cursor: first.NextCursor}, []string{"cursor"}},
		{"cursor for the default sort", catalog.ListParams{Cursor: first.NextCursor}, []string{"cursor"}},
		{"tampered cursor", catalog.ListParams{Sort: ecolaura.SortScore, Cursor: tampered}, []string{"cursor"}},
		{"bit-flipped cursor", catalog.ListParams{Sort: ecolaura.SortScore, Cursor: string(flipped)}, []string{"cursor"}},
		{"garbage cursor", catalog.ListParams{Sort: ecolaura.SortScore, Cursor: base64.RawURLEncoding.EncodeToString([]byte("c1|score|x|y|z"))}, []string{"cursor"}},
		{"over-long cursor", catalog.ListParams{Sort: ecolaura.SortScore, Cursor: strings.Repeat("A", 300)}, []string{"cursor"}},
		{"bad category filter", catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "Not A Slug"}}, []string{"category"}},
		{"min score out of range", catalog.ListParams{Filter: ecolaura.ProductFilter{MinScore: ptr(101)}}, []string{"min_score"}},
		{"negative max footprint", catalog.ListParams{Filter: ecolaura.ProductFilter{MaxFootprint: ptr(ecolaura.CO2e(-1))}}, []string{"max_footprint"}},
		{"negative min price", catalog.ListParams{Filter: ecolaura.ProductFilter{MinPrice: ptr(int64(-1))}}, []string{"min_price"}},
		{"inverted price range", catalog.ListParams{Filter: ecolaura.ProductFilter{MinPrice: ptr(int64(10)), MaxPrice: ptr(int64(5))}}, []string{"max_price"}},
		{"query too long", catalog.ListParams{Filter: ecolaura.ProductFilter{Query: strings.Repeat("q", 201)}}, []string{"q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.List(ctx, anon, tt.params)
			requireFields(t, err, tt.fields...)
		})
	}
	t.Run("the untampered cursor works", func(t *testing.T) {
		res, err := f.svc.List(ctx, anon, catalog.ListParams{Sort: ecolaura.SortScore, PageSize: 2, Cursor: first.NextCursor})
		require.NoError(t, err)
		assert.Len(t, res.Items, 2)
	})
}

func TestCursorRoundTrip(t *testing.T) {
	for _, s := range ecolaura.ProductSorts() {
		pos := ecolaura.ProductPosition{Key: -42, ID: "00000000-0000-7000-8000-000000000123"}
		got, err := catalog.DecodeCursor(s, catalog.EncodeCursor(s, pos))
		require.NoError(t, err)
		assert.Equal(t, pos, got)
	}
}

func TestCursorPagesStableWhileProductsAreAdded(t *testing.T) {
	storetest.Run(t, testCursorPagesStableWhileProductsAreAdded)
}

func testCursorPagesStableWhileProductsAreAdded(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	for _, sort := range ecolaura.ProductSorts() {
		t.Run(string(sort), func(t *testing.T) {
			f := newFixture(t, s)
			seed(t, f, 20)
			params := catalog.ListParams{Sort: sort, PageSize: 5}
			res, err := f.svc.List(ctx, anon, params)
			require.NoError(t, err)
			seen := ids(res.Items)
			last := res.Items[len(res.Items)-1]
			lastPos := ecolaura.ProductPosition{Key: sort.SortKey(last), ID: last.ID}
			var added []ecolaura.Product
			for i := 0; res.NextCursor != ""; i++ {
				// New products, some sorting before the cursor and some after.
				added = append(added, f.create(t, catalog.ProductInput{
					Name: fmt.Sprintf("late %d", i), Category: "home", Price: eur(int64(50 + 400*i)), Stock: 1,
					Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.CO2e(100 + 900*i)},
				}))
				params.Cursor = res.NextCursor
				res, err = f.svc.List(ctx, anon, params)
				require.NoError(t, err)
				for _, p := range res.Items {
					pos := ecolaura.ProductPosition{Key: sort.SortKey(p), ID: p.ID}
					require.True(t, sort.Less(lastPos, pos), "items only move forward")
					lastPos = pos
				}
				seen = append(seen, ids(res.Items)...)
			}
			assert.Len(t, dedupeIDs(seen), len(seen), "no product is shown twice")
			// Every original product was seen exactly once.
			all, err := f.svc.List(ctx, anon, catalog.ListParams{Page: 1, PageSize: 100})
			require.NoError(t, err)
			addedIDs := map[ecolaura.ID]bool{}
			for _, p := range added {
				addedIDs[p.ID] = true
			}
			seenSet := map[ecolaura.ID]bool{}
			for _, id := range seen {
				seenSet[id] = true
			}
			for _, p := range all.Items {
				if !addedIDs[p.ID] {
					assert.True(t, seenSet[p.ID], "original product %s missed", p.Name)
				}
			}
		})
	}
}

func dedupeIDs(in []ecolaura.ID) []ecolaura.ID {
	seen := map[ecolaura.ID]bool{}
	var out []ecolaura.ID
	for _, id := range in {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func TestNumberedPages(t *testing.T) { storetest.Run(t, testNumberedPages) }

func testNumberedPages(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	products := seed(t, f, 23)
	want := append([]ecolaura.Product(nil), products...)
	sortProducts(want, ecolaura.SortPriceAsc)
	tests := []struct {
		page, size int
		from, to   int
		more       bool
	}{
		{1, 10, 0, 10, true},
		{2, 10, 10, 20, true},
		{3, 10, 20, 23, false},
		{4, 10, 23, 23, false},
		{1, 0, 0, 20, true}, // default size 20
		{1, 100, 0, 23, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("page %d size %d", tt.page, tt.size), func(t *testing.T) {
			res, err := f.svc.List(ctx, anon, catalog.ListParams{Sort: ecolaura.SortPriceAsc, Page: tt.page, PageSize: tt.size})
			require.NoError(t, err)
			assert.Equal(t, 23, res.Total)
			assert.Equal(t, ids(want[tt.from:tt.to]), ids(res.Items))
			assert.Equal(t, tt.more, res.Page.HasMore)
			assert.Equal(t, tt.page, res.Page.Number)
			size := tt.size
			if size == 0 {
				size = catalog.DefaultPageSize
			}
			assert.Equal(t, size, res.Page.Size)
			assert.Equal(t, (23+size-1)/size, res.Page.Pages)
			assert.Equal(t, tt.more, res.NextCursor != "", "a numbered page also offers a cursor")
			assert.NotNil(t, res.Items)
		})
	}
	t.Run("filtered total", func(t *testing.T) {
		res, err := f.svc.List(ctx, anon, catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "kitchen"}, Page: 1})
		require.NoError(t, err)
		assert.Equal(t, 8, res.Total)
	})
	t.Run("switching from a numbered page to cursors continues the list", func(t *testing.T) {
		res, err := f.svc.List(ctx, anon, catalog.ListParams{Sort: ecolaura.SortPriceAsc, Page: 1, PageSize: 10})
		require.NoError(t, err)
		next, err := f.svc.List(ctx, anon, catalog.ListParams{Sort: ecolaura.SortPriceAsc, PageSize: 10, Cursor: res.NextCursor})
		require.NoError(t, err)
		assert.Equal(t, ids(want[10:20]), ids(next.Items))
	})
}
