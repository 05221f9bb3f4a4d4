package sustainability_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ports"
)

type spec struct {
	name     string
	category string
	score    int           // given score, used when fp < 0
	fp       ecolaura.CO2e // footprint in grams; < 0 means no metrics
	certs    int
	status   ecolaura.ProductStatus // "" is active
}

func setup(t *testing.T, specs []spec) (*sustainability.Service, map[string]ecolaura.Product) {
	t.Helper()
	db := memory.NewDatabase()
	ids := memory.NewSequentialIDs()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	byName := map[string]ecolaura.Product{}
	for _, s := range specs {
		p := ecolaura.Product{ID: ids.NewID(), Name: s.name, Category: s.category,
			Price: ecolaura.NewMoney(100, "EUR"), Stock: 1, Score: s.score, CreatedAt: at, UpdatedAt: at, Version: 1, Status: s.status}
		if s.fp >= 0 {
			p.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: s.fp, Certifications: ecolaura.Certifications()[:s.certs]}
			p.Rescore()
		}
		require.NoError(t, db.Products().Create(context.Background(), p))
		byName[s.name] = p
	}
	svc, err := sustainability.New(db.Products())
	require.NoError(t, err)
	return svc, byName
}

func TestNewRequiresAStore(t *testing.T) {
	_, err := sustainability.New(nil)
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce, "a missing dependency is a wiring mistake")
	require.NotErrorIs(t, err, ecolaura.ErrInvalid)
}

func TestBreakdown(t *testing.T) {
	ctx := context.Background()
	svc, ps := setup(t, []spec{
		{name: "measured", category: "kitchen", fp: 2000, certs: 2},
		{name: "given", category: "kitchen", score: 64, fp: -1},
	})
	s, err := svc.Breakdown(ctx, ecolaura.Anonymous, ps["measured"].ID)
	require.NoError(t, err)
	assert.True(t, s.Computed)
	assert.Equal(t, ps["measured"].Score, s.Value)
	sum := 0
	for _, c := range s.Components {
		sum += c.Points
	}
	assert.Equal(t, s.Value, sum, "the components explain the value")

	s, err = svc.Breakdown(ctx, ecolaura.Anonymous, ps["given"].ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.GivenScore(64), s)

	_, err = svc.Breakdown(ctx, ecolaura.Anonymous, "00000000-0000-7000-8000-0000000000ff")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func names(as []sustainability.Alternative) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Product.Name
	}
	return out
}

func TestAlternatives(t *testing.T) {
	ctx := context.Background()
	// kitchen reference: 4 kg. Scores from footprint (40 max) + 5 per certification.
	svc, ps := setup(t, []spec{
		{name: "base", category: "kitchen", fp: 3000, certs: 1},              // 25 + 5 = 30
		{name: "lighter-lower-score", category: "kitchen", fp: 2900},         // 26: lower score, lower footprint
		{name: "heavier-certified", category: "kitchen", fp: 3600, certs: 3}, // 22+15 = 37: higher score, higher footprint
		{name: "best", category: "kitchen", fp: 0, certs: 3},                 // 55
		{name: "worse", category: "kitchen", fp: 6000},                       // 10: neither
		{name: "given-high", category: "kitchen", score: 90, fp: -1},         // higher score, unknown footprint
		{name: "given-low", category: "kitchen", score: 5, fp: -1},           // neither
		{name: "other-category", category: "home", fp: 0, certs: 3},          // excluded
	})
	base := ps["base"]
	got, err := svc.Alternatives(ctx, ecolaura.Anonymous, base.ID, 0)
	require.NoError(t, err)
	want := []string{"given-high", "best", "heavier-certified", "lighter-lower-score"}
	assert.Equal(t, want, names(got))
	for _, a := range got {
		assert.Equal(t, a.Product.Score-base.Score, a.ScoreGain)
		if fp, ok := a.Product.Footprint(); ok {
			assert.True(t, a.FootprintKnown)
			assert.Equal(t, ecolaura.CO2e(3000)-fp, a.FootprintSaving)
			if a.Product.Name == "lighter-lower-score" {
				assert.Negative(t, a.ScoreGain, "chosen for its footprint alone")
			}
		} else {
			assert.False(t, a.FootprintKnown)
		}
		better := a.Product.Score > base.Score || a.FootprintKnown && a.FootprintSaving > 0
		assert.True(t, better, "%s is greener", a.Product.Name)
	}

	got, err = svc.Alternatives(ctx, ecolaura.Anonymous, base.ID, 2)
	require.NoError(t, err)
	assert.Equal(t, want[:2], names(got))

	got, err = svc.Alternatives(ctx, ecolaura.Anonymous, ps["best"].ID, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"given-high"}, names(got), "only a higher score beats the best footprint")

	got, err = svc.Alternatives(ctx, ecolaura.Anonymous, ps["given-low"].ID, 10)
	require.NoError(t, err)
	assert.NotContains(t, names(got), "given-low")
	assert.Len(t, got, 6, "every other kitchen product scores higher")

	for _, limit := range []int{-1, sustainability.MaxAlternatives + 1} {
		_, err = svc.Alternatives(ctx, ecolaura.Anonymous, base.ID, limit)
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
	}
	for _, id := range []ecolaura.ID{"00000000-0000-7000-8000-0000000000ff", "not-a-uuid"} {
		_, err = svc.Alternatives(ctx, ecolaura.Anonymous, id, 3)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, err = svc.Breakdown(ctx, ecolaura.Anonymous, id)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	}
}

// TestAlternativesAreActive: draft and archived products are never offered
// as alternatives, and one asked about is visible to staff only.
func TestAlternativesAreActive(t *testing.T) {
	ctx := context.Background()
	svc, ps := setup(t, []spec{
		{name: "base", category: "kitchen", fp: 3000},
		{name: "greener", category: "kitchen", fp: 1000},
		{name: "next-season", category: "kitchen", fp: 0, status: ecolaura.ProductDraft},
		{name: "last-season", category: "kitchen", fp: 500, status: ecolaura.ProductArchived},
	})
	staff := ecolaura.Principal{UserID: "00000000-0000-7000-8000-000000000001", Role: ecolaura.RoleStaff}
	customer := ecolaura.Principal{UserID: "00000000-0000-7000-8000-000000000002", Role: ecolaura.RoleCustomer}
	tests := []struct {
		name    string
		actor   ecolaura.Principal
		product string
		want    []string
		err     error
	}{
		{"anonymous", ecolaura.Anonymous, "base", []string{"greener"}, nil},
		{"staff", staff, "base", []string{"greener"}, nil},
		{"customer asks about a draft", customer, "next-season", nil, ecolaura.ErrNotFound},
		{"anonymous asks about an archived product", ecolaura.Anonymous, "last-season", nil, ecolaura.ErrNotFound},
		{"staff ask about an archived product", staff, "last-season", []string{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.Alternatives(ctx, tc.actor, ps[tc.product].ID, 10)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				_, err = svc.Breakdown(ctx, tc.actor, ps[tc.product].ID)
				require.ErrorIs(t, err, tc.err, "the breakdown too")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, names(got))
		})
	}
}

// TestAlternativesOrderAcrossPages checks the tie ordering (score desc, then
// footprint asc) when the candidates span several scan pages.
func TestAlternativesOrderAcrossPages(t *testing.T) {
	ctx := context.Background()
	specs := []spec{{name: "base", category: "garden", fp: 9000}}
	for i := range 250 {
		specs = append(specs, spec{name: fmt.Sprintf("p%03d", i), category: "garden", fp: ecolaura.CO2e(100 + (i*37)%4000), certs: i % 4})
	}
	svc, ps := setup(t, specs)
	got, err := svc.Alternatives(ctx, ecolaura.Anonymous, ps["base"].ID, sustainability.MaxAlternatives)
	require.NoError(t, err)
	require.Len(t, got, sustainability.MaxAlternatives)

	var all []ecolaura.Product
	for _, p := range ps {
		if p.Name != "base" {
			all = append(all, p)
		}
	}
	slices.SortFunc(all, func(a, b ecolaura.Product) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		if a.Metrics.CarbonFootprint != b.Metrics.CarbonFootprint {
			return int(a.Metrics.CarbonFootprint - b.Metrics.CarbonFootprint)
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	for i, a := range got {
		assert.Equal(t, all[i].Name, a.Product.Name, "position %d", i)
	}
}

func TestCategoryAverages(t *testing.T) {
	svc, _ := setup(t, []spec{
		{name: "a", category: "home", fp: 1000},
		{name: "b", category: "home", score: 50, fp: -1},
		{name: "c", category: "office", fp: 500},
	})
	got, err := svc.CategoryAverages(context.Background(), ecolaura.Anonymous)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "home", got[0].Category)
	assert.Equal(t, 2, got[0].Products)
	assert.Equal(t, 1, got[0].WithMetrics)
	assert.Equal(t, ecolaura.CO2e(1000), got[0].AverageFootprint)
	assert.Equal(t, "office", got[1].Category)
}

// countingStore counts the products a store hands out through List.
type countingStore struct {
	ports.ProductStore
	read atomic.Int64
}

func (c *countingStore) List(ctx context.Context, q ports.ProductQuery) (ports.ProductPage, error) {
	page, err := c.ProductStore.List(ctx, q)
	c.read.Add(int64(len(page.Items)))
	return page, err
}

// TestAlternativesReadABoundedNumberOfProducts: when thousands of products
// of the category share a score, finding the best few must not read them
// all, and must still order the tie by footprint.
func TestAlternativesReadABoundedNumberOfProducts(t *testing.T) {
	ctx := context.Background()
	db := memory.NewDatabase()
	ids := memory.NewSequentialIDs()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	create := func(score int, fp ecolaura.CO2e) ecolaura.Product {
		p := ecolaura.Product{ID: ids.NewID(), Name: "p", Category: "garden",
			Price: ecolaura.NewMoney(100, "EUR"), Stock: 1, Score: score, CreatedAt: at, UpdatedAt: at, Version: 1}
		if fp >= 0 {
			p.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: fp}
			p.Rescore()
		}
		require.NoError(t, db.Products().Create(ctx, p))
		return p
	}
	base := create(0, 9000)
	var others []ecolaura.Product
	crowd := ecolaura.Product{Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 100}}
	crowd.Rescore()
	for i := range 3000 {
		// Footprints 100–106 g all score the same; every fifth has no
		// metrics and is given that score.
		fp := ecolaura.CO2e(100 + (i*5)%7)
		if i%5 == 0 {
			fp = -1
		}
		p := create(crowd.Score, fp)
		require.Equal(t, crowd.Score, p.Score)
		others = append(others, p)
	}
	for i := range 3 { // a few above the crowd
		others = append(others, create(95-i, -1))
	}
	store := &countingStore{ProductStore: db.Products()}
	svc, err := sustainability.New(store)
	require.NoError(t, err)

	want := slices.Clone(others)
	slices.SortFunc(want, func(a, b ecolaura.Product) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		ka, kb := ecolaura.SortFootprintAsc.SortKey(a), ecolaura.SortFootprintAsc.SortKey(b)
		if ka != kb {
			return cmp.Compare(ka, kb)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, limit := range []int{1, 3, 4, sustainability.DefaultAlternatives, sustainability.MaxAlternatives} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			store.read.Store(0)
			got, err := svc.Alternatives(ctx, ecolaura.Anonymous, base.ID, limit)
			require.NoError(t, err)
			gotIDs := make([]ecolaura.ID, len(got))
			for i, a := range got {
				gotIDs[i] = a.Product.ID
			}
			wantIDs := make([]ecolaura.ID, limit)
			for i, p := range want[:limit] {
				wantIDs[i] = p.ID
			}
			assert.Equal(t, wantIDs, gotIDs, "best first: score, then footprint (unknown last), then ID")
			// Two candidate sets (higher score, lower footprint), each read
			// as at most limit+1 by score and limit by footprint.
			assert.LessOrEqual(t, store.read.Load(), int64(2*(2*limit+1)), "products read for limit %d", limit)
		})
	}
}
