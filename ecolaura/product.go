package ecolaura

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of product fields.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 10_000
	MaxCategoryLength    = 50
	MaxStock             = 1_000_000_000
)

// Product is an item of the catalog.
type Product struct {
	ID          ID
	Name        string
	Description string
	// Category is a slug: lower-case letters, digits and single hyphens.
	Category string
	// Status decides who sees the product and whether it can be bought.
	Status ProductStatus
	// Options are the 0–3 dimensions in which the variants differ.
	Options []ProductOption
	// Variants are the 1–100 buyable versions, in Position order; the first
	// is the default. A product without options has exactly one.
	Variants []Variant
	// Price is the default variant's price (what v1 shows and sorts by).
	Price Money
	// Stock is the sum of the variants' Available stock (read-only: stores
	// compute it; stock moves through the inventory store).
	Stock int
	// Metrics is nil when the product has no sustainability data.
	Metrics *SustainabilityMetrics
	// Score is the 0–100 sustainability score: computed from Metrics when
	// they are present, otherwise the value it was given.
	Score     int
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version increases by one with every catalog edit (never with a stock
	// movement); updates carry the version they were based on.
	Version int64
}

// Clone returns a deep copy that shares no memory with p.
func (p Product) Clone() Product {
	if p.Metrics != nil {
		m := p.Metrics.Clone()
		p.Metrics = &m
	}
	if p.Options != nil {
		opts := make([]ProductOption, len(p.Options))
		for i, o := range p.Options {
			opts[i] = ProductOption{Name: o.Name, Values: slices.Clone(o.Values)}
		}
		p.Options = opts
	}
	if p.Variants != nil {
		vs := make([]Variant, len(p.Variants))
		for i, v := range p.Variants {
			vs[i] = v.Clone()
		}
		p.Variants = vs
	}
	return p
}

// ScoreBreakdown explains the product's score.
func (p Product) ScoreBreakdown() Score {
	if p.Metrics == nil {
		return GivenScore(p.Score)
	}
	return ComputeScore(p.Category, *p.Metrics)
}

// Footprint returns the per-unit carbon footprint and whether it is known.
func (p Product) Footprint() (CO2e, bool) {
	if p.Metrics == nil {
		return 0, false
	}
	return p.Metrics.CarbonFootprint, true
}

// ValidCategory reports whether s is a category slug: 1–50 characters of
// a–z, 0–9 and single inner hyphens.
func ValidCategory(s string) bool {
	if s == "" || len(s) > MaxCategoryLength || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Normalize trims the name, description and category, lower-cases the
// category and canonicalises the metrics. It does not validate.
func (p *Product) Normalize() {
	p.Name = strings.TrimSpace(p.Name)
	p.Description = strings.TrimSpace(p.Description)
	p.Category = strings.ToLower(strings.TrimSpace(p.Category))
	if p.Metrics != nil {
		p.Metrics.Normalize()
	}
}

// Validate checks every field of p except the ID, times and version, and
// returns a *ValidationError listing all problems. Names follow the
// single-line and descriptions the multi-line text rules (see [TextKind]);
// the stock is 0–[MaxStock]; the price follows [Money.ValidatePrice] and is
// the default variant's. Status, options and variants: a known status; 0–3
// options with unique names and 1–100 unique values each; 1–100 variants
// (exactly one without options) with UUIDs, ProductID = p.ID, Position =
// index, valid SKUs unique within the product case-insensitively, one value
// of each option per variant and each combination once, prices in the
// product's currency, GTINs normalised by [ParseGTIN], weights of
// 0–[MaxWeightG] g, footprint overrides of 0–[MaxFootprint] g and stock of
// 0–[MaxStock]. (Uniqueness of SKUs across products is the stores'.)
func (p Product) Validate() error {
	var v Validator
	n := utf8.RuneCountInString(p.Name)
	v.Text("name", p.Name, SingleLine)
	v.Check(n >= 1, "name", "must not be blank")
	v.Check(n <= MaxNameLength, "name", "must be at most %d characters", MaxNameLength)
	v.Text("description", p.Description, MultiLine)
	v.Check(utf8.RuneCountInString(p.Description) <= MaxDescriptionLength, "description", "must be at most %d characters", MaxDescriptionLength)
	v.Check(ValidCategory(p.Category), "category", "must be a slug of lower-case letters, digits and hyphens (1-%d characters)", MaxCategoryLength)
	v.Merge("price", p.Price.ValidatePrice())
	v.Check(p.Stock >= 0, "stock", "must not be negative")
	v.Check(p.Stock <= MaxStock, "stock", "must be at most %d", MaxStock)
	v.Check(p.Score >= 0 && p.Score <= 100, "sustainability_score", "must be between 0 and 100")
	if p.Metrics != nil {
		v.Merge("", p.Metrics.Validate())
	}
	p.validateVariants(&v)
	return v.Err()
}

// Rescore sets Score from the metrics when the product has them; a product
// without metrics keeps the score it was given.
func (p *Product) Rescore() {
	if p.Metrics != nil {
		p.Score = ComputeScore(p.Category, *p.Metrics).Value
	}
}

// CategoryCount is a category with its number of products. (Its JSON names
// are those of the product cache's entries, which store it as JSON.)
type CategoryCount struct {
	Category string `json:"category"`
	Products int    `json:"products"`
}

// CategoryStats are aggregate sustainability figures for one category. (Its
// JSON names are those of the product cache's entries.)
type CategoryStats struct {
	Category string `json:"category"`
	Products int    `json:"products"`
	// WithMetrics counts the products that have sustainability metrics.
	WithMetrics int `json:"with_metrics"`
	// AverageScore over all products of the category.
	AverageScore float64 `json:"average_score"`
	// AverageFootprint over the products with metrics (0 when none).
	AverageFootprint CO2e `json:"average_footprint_g"`
}
