// Package sustainability is the sustainability service of the Ecolaura SDK:
// the explained score of a product, greener alternatives to it, and average
// figures per category. It reads the catalog through a [ports.ProductStore]
// (typically the cached one of package productcache) and changes nothing.
// Every call takes the acting principal, like every use case of the SDK;
// today all of them are public reads of the catalog, open to anyone
// (ecolaura.Anonymous included).
package sustainability

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Limits of [Service.Alternatives].
const (
	DefaultAlternatives = 5
	MaxAlternatives     = 50
)

// Service answers sustainability questions about the catalog. It is safe for
// concurrent use.
type Service struct {
	products ports.ProductStore
}

// New returns a service reading products from store. It returns an
// *ecolaura.ConfigError when store is nil.
func New(store ports.ProductStore) (*Service, error) {
	if ecolaura.IsNil(store) {
		return nil, fmt.Errorf("sustainability: %w", ecolaura.Misconfigured("products", "is required"))
	}
	return &Service{products: store}, nil
}

// Breakdown returns the product's score with its explained components (a
// product without metrics gets its given value and no components). Errors:
// ErrNotFound (also for an ID that is not a UUID, and for a draft or
// archived product asked about by anyone but staff).
func (s *Service) Breakdown(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Score, error) {
	p, err := s.get(ctx, actor, id)
	if err != nil {
		return ecolaura.Score{}, fmt.Errorf("score breakdown of %s: %w", id, err)
	}
	return p.ScoreBreakdown(), nil
}

// get loads a product; an ID that is not a UUID is simply not found.
func (s *Service) get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Product, error) {
	if _, err := ecolaura.ParseID(string(id)); err != nil {
		return ecolaura.Product{}, fmt.Errorf("malformed id: %w", ecolaura.ErrNotFound)
	}
	p, err := s.products.Get(ctx, id)
	if err != nil {
		return ecolaura.Product{}, err
	}
	// The catalog's visibility: customers and anonymous callers see only
	// active products.
	if !actor.IsStaff() && p.Status != ecolaura.ProductActive {
		return ecolaura.Product{}, fmt.Errorf("product %s is %s: %w", id, p.Status, ecolaura.ErrNotFound)
	}
	return p, nil
}

// Alternative is a greener product than the one asked about.
type Alternative struct {
	Product ecolaura.Product
	// ScoreGain is the alternative's score minus the product's (may be
	// negative or zero when it wins on footprint alone).
	ScoreGain int
	// FootprintSaving is the product's per-unit footprint minus the
	// alternative's; meaningful only when FootprintKnown.
	FootprintSaving ecolaura.CO2e
	// FootprintKnown reports whether both footprints are known.
	FootprintKnown bool
}

// Alternatives returns up to limit products of the same category that have
// a lower footprint or a higher score than the product, best first (score
// descending, then footprint ascending with unknown footprints last, then
// ID), never the product itself. limit 0 means [DefaultAlternatives].
// Alternatives are active products only (what can be bought); the product
// asked about follows the catalog's visibility: a draft or archived one is
// ErrNotFound to anyone but staff.
// Errors: ErrNotFound (also for an ID that is not a UUID); *ValidationError
// on field "limit" (below 0 or above
// [MaxAlternatives]).
func (s *Service) Alternatives(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, limit int) ([]Alternative, error) {
	if limit == 0 {
		limit = DefaultAlternatives
	}
	if limit < 0 || limit > MaxAlternatives {
		return nil, fmt.Errorf("alternatives of %s: %w", id, ecolaura.Invalid("limit", "must be between 1 and %d", MaxAlternatives))
	}
	p, err := s.get(ctx, actor, id)
	if err != nil {
		return nil, fmt.Errorf("alternatives of %s: %w", id, err)
	}
	// The alternatives are the union of two sets, each scanned in score
	// order: higher score, and (when the footprint is known) lower
	// footprint. The best `limit` of the union are among the best `limit`
	// of each set, so two short scans suffice.
	higher := p.Score + 1
	sets := []ecolaura.ProductFilter{}
	if higher <= 100 {
		sets = append(sets, ecolaura.ProductFilter{Status: ecolaura.ProductActive, Category: p.Category, MinScore: &higher})
	}
	if fp, ok := p.Footprint(); ok && fp > 0 {
		lower := fp - 1
		sets = append(sets, ecolaura.ProductFilter{Status: ecolaura.ProductActive, Category: p.Category, MaxFootprint: &lower})
	}
	seen := map[ecolaura.ID]bool{p.ID: true}
	var cands []ecolaura.Product
	for _, f := range sets {
		top, err := s.top(ctx, f, limit)
		if err != nil {
			return nil, fmt.Errorf("alternatives of %s: %w", id, err)
		}
		for _, c := range top {
			if !seen[c.ID] {
				seen[c.ID] = true
				cands = append(cands, c)
			}
		}
	}
	slices.SortFunc(cands, better)
	if len(cands) > limit {
		cands = cands[:limit]
	}
	out := make([]Alternative, 0, len(cands))
	for _, c := range cands {
		a := Alternative{Product: c, ScoreGain: c.Score - p.Score}
		pf, pok := p.Footprint()
		cf, cok := c.Footprint()
		if pok && cok {
			a.FootprintKnown, a.FootprintSaving = true, pf-cf
		}
		out = append(out, a)
	}
	return out, nil
}

// better orders products best first: score desc, footprint asc (unknown
// last), then ID.
func better(a, b ecolaura.Product) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	if c := cmp.Compare(ecolaura.SortFootprintAsc.SortKey(a), ecolaura.SortFootprintAsc.SortKey(b)); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// top returns the best n products matching f in [better] order, reading at
// most 2n+1 products however many share a score. The first n+1 in score
// order fix the lowest score level L that makes the cut: every product
// above L is among them (fewer than n), and when the (n+1)-th also scores L
// the level may go on, so the best of it are read in footprint order
// (footprint ascending, unknown last, then ID: [better]'s order within a
// level) with MinScore L: fewer than n of those score above L, so the first
// n of them hold the best n-h products of the level.
func (s *Service) top(ctx context.Context, f ecolaura.ProductFilter, n int) ([]ecolaura.Product, error) {
	page, err := s.products.List(ctx, ports.ProductQuery{Filter: f, Sort: ecolaura.SortScore, Limit: n + 1})
	if err != nil {
		return nil, err
	}
	out := page.Items
	if len(out) <= n || out[n].Score < out[n-1].Score {
		// Every product of the lowest level read is in out.
		slices.SortFunc(out, better)
		return out[:min(n, len(out))], nil
	}
	level := out[n-1].Score
	above := slices.DeleteFunc(out, func(p ecolaura.Product) bool { return p.Score == level })
	lf := f
	lf.MinScore = &level
	page, err = s.products.List(ctx, ports.ProductQuery{Filter: lf, Sort: ecolaura.SortFootprintAsc, Limit: n})
	if err != nil {
		return nil, err
	}
	for _, p := range page.Items {
		if p.Score == level && len(above) < n {
			above = append(above, p)
		}
	}
	slices.SortFunc(above, better)
	return above, nil
}

// CategoryAverages returns the aggregate figures of every category (product
// count, products with metrics, average score and footprint), ordered by
// slug. It returns only infrastructure errors.
func (s *Service) CategoryAverages(ctx context.Context, _ ecolaura.Principal) ([]ecolaura.CategoryStats, error) {
	st, err := s.products.CategoryStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("category averages: %w", err)
	}
	return st, nil
}
