package ecolaura_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// validProduct returns a valid product with its default variant.
func validProduct() ecolaura.Product {
	rc := 40
	p := ecolaura.Product{
		ID:          "0190a6d2-0000-7000-8000-000000000001",
		Name:        "Bamboo toothbrush",
		Description: "Compostable handle.",
		Category:    "personal-care",
		Price:       ecolaura.NewMoney(399, "EUR"),
		Stock:       10,
		Metrics: &ecolaura.SustainabilityMetrics{
			CarbonFootprint: 150, Recyclable: false, Biodegradable: true,
			RecycledContent: &rc, Certifications: []ecolaura.Certification{ecolaura.CertFSC},
		},
	}
	p.Complete()
	return p
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestProductValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *ecolaura.Product)
		fields []string // nil means valid
	}{
		{name: "valid", mutate: func(*ecolaura.Product) {}},
		{name: "without metrics", mutate: func(p *ecolaura.Product) { p.Metrics = nil; p.Score = 70 }},
		{name: "blank name", mutate: func(p *ecolaura.Product) { p.Name = "" }, fields: []string{"name"}},
		{name: "name 200 runes", mutate: func(p *ecolaura.Product) { p.Name = strings.Repeat("é", 200) }},
		{name: "name 201 runes", mutate: func(p *ecolaura.Product) { p.Name = strings.Repeat("a", 201) }, fields: []string{"name"}},
		{name: "invalid utf8 name", mutate: func(p *ecolaura.Product) { p.Name = "\xff" }, fields: []string{"name"}},
		{name: "description too long", mutate: func(p *ecolaura.Product) { p.Description = strings.Repeat("a", 10_001) }, fields: []string{"description"}},
		{name: "category not slug", mutate: func(p *ecolaura.Product) { p.Category = "Home Goods" }, fields: []string{"category"}},
		{name: "category empty", mutate: func(p *ecolaura.Product) { p.Category = "" }, fields: []string{"category"}},
		{name: "category double hyphen", mutate: func(p *ecolaura.Product) { p.Category = "a--b" }, fields: []string{"category"}},
		{name: "negative price", mutate: func(p *ecolaura.Product) { p.Price.Amount = -1 }, fields: []string{"price.amount"}},
		{name: "price too high", mutate: func(p *ecolaura.Product) { p.Price.Amount = ecolaura.MaxPriceMinor + 1 }, fields: []string{"price.amount"}},
		{name: "unknown currency", mutate: func(p *ecolaura.Product) { p.Price.Currency = "XXX" }, fields: []string{"price.currency"}},
		{name: "negative stock", mutate: func(p *ecolaura.Product) { p.Stock = -1 }, fields: []string{"stock"}},
		{name: "score above 100", mutate: func(p *ecolaura.Product) { p.Score = 101 }, fields: []string{"sustainability_score"}},
		{name: "score negative", mutate: func(p *ecolaura.Product) { p.Score = -1 }, fields: []string{"sustainability_score"}},
		{name: "negative footprint", mutate: func(p *ecolaura.Product) { p.Metrics.CarbonFootprint = -1 }, fields: []string{"carbon_footprint"}},
		{name: "recycled content above 100", mutate: func(p *ecolaura.Product) { v := 101; p.Metrics.RecycledContent = &v }, fields: []string{"recycled_content"}},
		{name: "unknown certification", mutate: func(p *ecolaura.Product) { p.Metrics.Certifications = []ecolaura.Certification{"greenwash"} }, fields: []string{"certifications[0]"}},
		{name: "several problems at once", mutate: func(p *ecolaura.Product) { p.Name = ""; p.Stock = -5 }, fields: []string{"name", "stock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProduct()
			tt.mutate(&p)
			p.Variants = nil
			p.Complete() // the default variant from the (mutated) price and stock
			err := p.Validate()
			if tt.fields == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ecolaura.ErrInvalid)
			// The default variant repeats the product's price and stock
			// problems (variant rules have their own tests).
			var fields []string
			for _, f := range fieldsOf(t, err) {
				if !strings.HasPrefix(f, "variants[0].") {
					fields = append(fields, f)
				}
			}
			assert.Equal(t, tt.fields, fields)
		})
	}
}

func TestProductNormalizeAndClone(t *testing.T) {
	p := validProduct()
	p.Name = "  Bamboo toothbrush \n"
	p.Category = " Personal-Care "
	p.Metrics.Certifications = []ecolaura.Certification{ecolaura.CertGOTS, ecolaura.CertFSC, ecolaura.CertGOTS}
	p.Normalize()
	assert.Equal(t, "Bamboo toothbrush", p.Name)
	assert.Equal(t, "personal-care", p.Category)
	assert.Equal(t, []ecolaura.Certification{ecolaura.CertFSC, ecolaura.CertGOTS}, p.Metrics.Certifications)

	c := p.Clone()
	*c.Metrics.RecycledContent = 99
	c.Metrics.Certifications[0] = ecolaura.CertBCorp
	c.Metrics.Recyclable = true
	assert.Equal(t, 40, *p.Metrics.RecycledContent, "clone must not alias recycled content")
	assert.Equal(t, ecolaura.CertFSC, p.Metrics.Certifications[0], "clone must not alias certifications")
	assert.False(t, p.Metrics.Recyclable, "clone must not alias metrics")
}

func TestRescoreKeepsGivenScoreWithoutMetrics(t *testing.T) {
	p := validProduct()
	p.Metrics = nil
	p.Score = 95
	p.Rescore()
	assert.Equal(t, 95, p.Score)
	assert.False(t, p.ScoreBreakdown().Computed)

	p = validProduct()
	p.Score = 3
	p.Rescore()
	assert.Equal(t, ecolaura.ComputeScore(p.Category, *p.Metrics).Value, p.Score)
}

func TestFootprintFromKg(t *testing.T) {
	tests := []struct {
		name    string
		kg      float64
		want    ecolaura.CO2e
		wantErr bool
	}{
		{name: "grams", kg: 1.2345, want: 1235},
		{name: "zero", kg: 0, want: 0},
		{name: "max", kg: 1_000_000, want: ecolaura.MaxFootprint},
		{name: "too large", kg: 1_000_000.001, wantErr: true},
		{name: "negative", kg: -0.1, wantErr: true},
		{name: "NaN", kg: math.NaN(), wantErr: true},
		{name: "Inf", kg: math.Inf(1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ecolaura.FootprintFromKg(tt.kg)
			if tt.wantErr {
				assert.ErrorIs(t, err, ecolaura.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "1.235 kg CO2e", ecolaura.CO2e(1235).String())
}

func TestValidCategory(t *testing.T) {
	for s, want := range map[string]bool{
		"kitchen": true, "personal-care": true, "a1": true, "-a": false, "a-": false, "A": false,
		"": false, "a b": false, strings.Repeat("a", 50): true, strings.Repeat("a", 51): false, "über": false,
	} {
		assert.Equal(t, want, ecolaura.ValidCategory(s), s)
	}
}

func TestProductSortKeysAndOrder(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := validProduct()
	p.CreatedAt = now
	p.Score = 77
	assert.Equal(t, now.UnixNano(), ecolaura.SortNewest.SortKey(p))
	assert.Equal(t, int64(77), ecolaura.SortScore.SortKey(p))
	assert.Equal(t, int64(399), ecolaura.SortPriceAsc.SortKey(p))
	assert.Equal(t, int64(150), ecolaura.SortFootprintAsc.SortKey(p))
	p.Metrics = nil
	assert.Equal(t, int64(ecolaura.NoFootprintKey), ecolaura.SortFootprintAsc.SortKey(p))

	a := ecolaura.ProductPosition{Key: 1, ID: "a"}
	b := ecolaura.ProductPosition{Key: 2, ID: "b"}
	a2 := ecolaura.ProductPosition{Key: 1, ID: "b"}
	assert.True(t, ecolaura.SortPriceAsc.Less(a, b))
	assert.True(t, ecolaura.SortPriceAsc.Less(a, a2), "ties by id ascending")
	assert.True(t, ecolaura.SortScore.Less(b, a))
	assert.True(t, ecolaura.SortScore.Less(a2, a), "ties by id descending for descending sorts")
	assert.False(t, ecolaura.ProductSort("name").Valid())
}

func TestProductFilter(t *testing.T) {
	p := validProduct()
	p.Score = 80
	ptr := func(v int) *int { return &v }
	fp := func(v ecolaura.CO2e) *ecolaura.CO2e { return &v }
	i64 := func(v int64) *int64 { return &v }
	yes, no := true, false
	tests := []struct {
		name string
		f    ecolaura.ProductFilter
		want bool
	}{
		{name: "empty", want: true},
		{name: "category match", f: ecolaura.ProductFilter{Category: "personal-care"}, want: true},
		{name: "category miss", f: ecolaura.ProductFilter{Category: "kitchen"}},
		{name: "a search is the stores' (ignored)", f: ecolaura.ProductFilter{Query: "plastic"}, want: true},
		{name: "a search does not hide the other conditions", f: ecolaura.ProductFilter{Query: "bamboo", Category: "kitchen"}},
		{name: "min score pass", f: ecolaura.ProductFilter{MinScore: ptr(80)}, want: true},
		{name: "min score fail", f: ecolaura.ProductFilter{MinScore: ptr(81)}},
		{name: "max footprint pass", f: ecolaura.ProductFilter{MaxFootprint: fp(150)}, want: true},
		{name: "max footprint fail", f: ecolaura.ProductFilter{MaxFootprint: fp(149)}},
		{name: "recyclable false", f: ecolaura.ProductFilter{Recyclable: &no}, want: true},
		{name: "recyclable true", f: ecolaura.ProductFilter{Recyclable: &yes}},
		{name: "biodegradable", f: ecolaura.ProductFilter{Biodegradable: &yes}, want: true},
		{name: "price range", f: ecolaura.ProductFilter{MinPrice: i64(399), MaxPrice: i64(399)}, want: true},
		{name: "price below", f: ecolaura.ProductFilter{MaxPrice: i64(398)}},
		{name: "price above", f: ecolaura.ProductFilter{MinPrice: i64(400)}},
		{name: "in stock", f: ecolaura.ProductFilter{InStock: true}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.f.Match(p))
		})
	}
	noMetrics := p
	noMetrics.Metrics = nil
	assert.False(t, ecolaura.ProductFilter{MaxFootprint: fp(1 << 40)}.Match(noMetrics), "unknown footprint never passes a footprint bound")
	assert.False(t, ecolaura.ProductFilter{Recyclable: &no}.Match(noMetrics), "unknown recyclability never passes")
	out := p
	out.Stock = 0
	assert.False(t, ecolaura.ProductFilter{InStock: true}.Match(out))

	err := ecolaura.ProductFilter{MinPrice: i64(10), MaxPrice: i64(5), MinScore: ptr(101), Category: "Bad Cat"}.Validate()
	assert.Equal(t, []string{"category", "max_price", "min_score"}, fieldsOf(t, err))
}

// TestSearchTermsNeedThreeLettersInARow is issue 10 item 15: a search term
// that PostgreSQL's trigram indexes cannot serve (no three letters or
// digits in a row) would scan the whole catalog, so both stores refuse it.
func TestSearchTermsNeedThreeLettersInARow(t *testing.T) {
	tests := []struct {
		term string
		ok   bool
	}{
		{"qz", false},
		{"a", false},
		{"ké", false},
		{"a b", false},
		{"ab cd", false},
		{"k.e.t", false},
		{"%_%", false},
		{"e_c", false},
		{"   ", false},
		{"abc", true},
		{"tea", true},
		{"x1y", true},
		{"100%", true},
		{"日本語", true},
		{"thé vert", true},
		{"ake_cas", true},
		{"  bamboo  ", true},
	}
	for _, tt := range tests {
		t.Run(tt.term, func(t *testing.T) {
			err := ecolaura.ProductFilter{Query: tt.term}.Validate()
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
			assert.Equal(t, []string{"q"}, fieldsOf(t, err))
		})
	}
}
