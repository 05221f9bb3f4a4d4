// Package demo holds an embedded demo catalog of realistic eco products —
// kitchen, personal care, home, clothing, outdoor, cleaning, electronics,
// baby, office, garden, food and pets — with sustainability metrics and EUR
// prices, and loads it into a catalog in one call. The reference server uses
// it as its default data; tests and examples use it as a realistic fixture.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
)

//go:embed catalog.json
var catalogJSON []byte

type fileProduct struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Category    string       `json:"category"`
	Price       string       `json:"price"`
	Stock       int          `json:"stock"`
	Score       int          `json:"score"`
	Metrics     *fileMetrics `json:"metrics"`
}

type fileMetrics struct {
	CarbonFootprintKg json.Number              `json:"carbon_footprint_kg"`
	Recyclable        bool                     `json:"recyclable"`
	Biodegradable     bool                     `json:"biodegradable"`
	RecycledContent   *int                     `json:"recycled_content"`
	Certifications    []ecolaura.Certification `json:"certifications"`
}

type file struct {
	Currency string        `json:"currency"`
	Products []fileProduct `json:"products"`
}

// Products returns the demo catalog as catalog inputs, in file order. It
// returns a *ecolaura.ValidationError naming the product when the embedded
// data is invalid (a bug, caught by the package tests).
func Products() ([]catalog.ProductInput, error) {
	dec := json.NewDecoder(bytes.NewReader(catalogJSON))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("demo catalog: %w", ecolaura.Invalid("catalog.json", "%s", err.Error()))
	}
	cur, err := ecolaura.ParseCurrency(f.Currency)
	if err != nil {
		return nil, fmt.Errorf("demo catalog: %w", err)
	}
	out := make([]catalog.ProductInput, 0, len(f.Products))
	for i, fp := range f.Products {
		in, err := fp.input(cur)
		if err != nil {
			var v ecolaura.Validator
			v.Merge(fmt.Sprintf("products[%d]", i), err)
			return nil, fmt.Errorf("demo catalog: product %q: %w", fp.Name, v.Err())
		}
		out = append(out, in)
	}
	return out, nil
}

func (fp fileProduct) input(cur ecolaura.Currency) (catalog.ProductInput, error) {
	price, err := ecolaura.ParsePrice(fp.Price, cur)
	if err != nil {
		return catalog.ProductInput{}, err
	}
	in := catalog.ProductInput{
		Name: fp.Name, Description: fp.Description, Category: fp.Category,
		Price: price, Stock: fp.Stock, Score: fp.Score,
	}
	if fp.Metrics != nil {
		g, err := ecolaura.ParseFootprintKg(fp.Metrics.CarbonFootprintKg.String())
		if err != nil {
			return catalog.ProductInput{}, err
		}
		in.Metrics = &ecolaura.SustainabilityMetrics{
			CarbonFootprint: g,
			Recyclable:      fp.Metrics.Recyclable,
			Biodegradable:   fp.Metrics.Biodegradable,
			RecycledContent: fp.Metrics.RecycledContent,
			Certifications:  fp.Metrics.Certifications,
		}
	}
	return in, nil
}

// Load adds the demo catalog to svc as actor and returns how many products
// it created. It does nothing (and returns 0) when the catalog already has
// products, so calling it at every start is safe; two concurrent first Loads
// on an empty catalog may both load. The prices are the file's EUR amounts
// in the catalog's currency ([catalog.Service.DefaultCurrency], the only one
// it accepts): the same figures (19.99 USD), rounded half to even to a
// currency with fewer decimals (20 JPY). Errors: ErrUnauthenticated,
// ErrForbidden (actor is not staff; use ecolaura.System()); the errors of
// [catalog.Service.Create].
func Load(ctx context.Context, svc *catalog.Service, actor ecolaura.Principal) (int, error) {
	if err := actor.RequireStaff(); err != nil {
		return 0, fmt.Errorf("load demo catalog: %w", err)
	}
	existing, err := svc.List(ctx, actor, catalog.ListParams{PageSize: 1})
	if err != nil {
		return 0, fmt.Errorf("load demo catalog: %w", err)
	}
	if len(existing.Items) > 0 {
		return 0, nil
	}
	ins, err := Products()
	if err != nil {
		return 0, err
	}
	for i, in := range ins {
		in.Price = inCurrency(in.Price, svc.DefaultCurrency())
		if _, err := svc.Create(ctx, actor, in); err != nil {
			return i, fmt.Errorf("load demo catalog: %w", err)
		}
	}
	return len(ins), nil
}

// inCurrency returns the figures of m in currency c, rounded half to even
// when c has fewer decimals.
func inCurrency(m ecolaura.Money, c ecolaura.Currency) ecolaura.Money {
	a := m.Amount
	for e := m.Currency.Exponent(); e < c.Exponent(); e++ {
		a *= 10
	}
	for e := m.Currency.Exponent(); e > c.Exponent(); e-- {
		q, r := a/10, a%10
		if r > 5 || (r == 5 && q%2 == 1) {
			q++
		}
		a = q
	}
	return ecolaura.NewMoney(a, c)
}
