package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// VariantInput describes a new variant.
type VariantInput struct {
	// SKU, unique per shop case-insensitively; "" for none.
	SKU string
	// Options gives one value of each of the product's options.
	Options map[string]string
	// Price of one unit; nil means the product's price (its default
	// variant's). An empty currency means the shop's.
	Price *ecolaura.Money
	// Stock is the initial stock at the default location.
	Stock int
	// GTIN is a GTIN-8, -12, -13 or -14 ("" for none), stored normalised to
	// 14 digits (see ecolaura.ParseGTIN).
	GTIN string
	// WeightG is the shipping weight in grams.
	WeightG int
	// Footprint overrides the product's per-unit footprint (grams CO2e).
	Footprint *ecolaura.CO2e
}

// VariantPatch changes some fields of a variant; nil fields stay.
type VariantPatch struct {
	SKU     *string
	Options map[string]string
	Price   *ecolaura.Money
	GTIN    *string
	WeightG *int
	// Footprint sets the override; ClearFootprint removes it.
	Footprint      *ecolaura.CO2e
	ClearFootprint bool
	// Position moves the variant (0 makes it the default variant).
	Position *int
	// ExpectedVersion, when set, is the product version the edit is based on
	// (ErrConflict when it is stale).
	ExpectedVersion *int64
}

// variant builds the variant of in for p (not validated).
func (s *Service) variant(p ecolaura.Product, id ecolaura.ID, in VariantInput) (ecolaura.Variant, error) {
	v := ecolaura.Variant{ID: id, ProductID: p.ID, SKU: in.SKU, Options: maps.Clone(in.Options), Price: p.Price,
		WeightG: in.WeightG, Available: in.Stock}
	if in.Price != nil {
		v.Price = *in.Price
		if v.Price.Currency == "" {
			v.Price.Currency = s.cfg.DefaultCurrency
		}
	}
	if in.Footprint != nil {
		f := *in.Footprint
		v.Footprint = &f
	}
	if in.GTIN != "" {
		g, err := ecolaura.ParseGTIN(in.GTIN)
		if err != nil {
			return v, err
		}
		v.GTIN = string(g)
	}
	return v, nil
}

// CreateVariant adds a variant to the product (staff only), with its
// initial stock at the default location, and returns the product as stored.
// Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound; ErrInvalid (a
// *ValidationError: option values that are not the product's or that
// another variant has, a bad SKU, GTIN or price, more than 100 variants, a
// second variant of a product without options); ErrConflict (a
// *ecolaura.ConflictError on "variants[i].sku" for a SKU another product
// has).
func (s *Service) CreateVariant(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, in VariantInput) (ecolaura.Product, ecolaura.Variant, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, fmt.Errorf("create variant: %w", err)
	}
	id := s.ids.NewID()
	p, err := s.edit(ctx, actor, productID, nil, true, false, false, func(p *ecolaura.Product) error {
		v, err := s.variant(*p, id, in)
		if err != nil {
			return err
		}
		p.Variants = append(p.Variants, v)
		return nil
	})
	if err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, fmt.Errorf("create variant of product %s: %w", productID, err)
	}
	v, _ := p.Variant(id)
	return p, v, nil
}

// UpdateVariant changes a variant (staff only) and returns the product as
// stored. A price change of the default variant changes the product's
// price. Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound (no such
// variant); ErrInvalid; ErrConflict (a taken SKU, a stale ExpectedVersion).
func (s *Service) UpdateVariant(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID, pt VariantPatch) (ecolaura.Product, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Product{}, fmt.Errorf("update variant: %w", err)
	}
	if err := validateExpected(pt.ExpectedVersion); err != nil {
		return ecolaura.Product{}, fmt.Errorf("update variant %s: %w", variantID, err)
	}
	productID, err := s.productOf(ctx, variantID)
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("update variant %s: %w", variantID, err)
	}
	p, err := s.edit(ctx, actor, productID, pt.ExpectedVersion, true, false, false, func(p *ecolaura.Product) error {
		i := slices.IndexFunc(p.Variants, func(v ecolaura.Variant) bool { return v.ID == variantID })
		if i < 0 {
			return fmt.Errorf("variant %s: %w", variantID, ecolaura.ErrNotFound)
		}
		v := p.Variants[i]
		if pt.SKU != nil {
			v.SKU = *pt.SKU
		}
		if pt.Options != nil {
			v.Options = maps.Clone(pt.Options)
		}
		if pt.Price != nil {
			v.Price = *pt.Price
			if v.Price.Currency == "" {
				v.Price.Currency = s.cfg.DefaultCurrency
			}
		}
		if pt.GTIN != nil {
			v.GTIN = ""
			if *pt.GTIN != "" {
				g, err := ecolaura.ParseGTIN(*pt.GTIN)
				if err != nil {
					return err
				}
				v.GTIN = string(g)
			}
		}
		if pt.WeightG != nil {
			v.WeightG = *pt.WeightG
		}
		if pt.ClearFootprint {
			v.Footprint = nil
		}
		if pt.Footprint != nil {
			f := *pt.Footprint
			v.Footprint = &f
		}
		p.Variants[i] = v
		if pt.Position != nil {
			to := *pt.Position
			if to < 0 || to >= len(p.Variants) {
				return ecolaura.Invalid("position", "must be between 0 and %d", len(p.Variants)-1)
			}
			p.Variants = slices.Insert(slices.Delete(p.Variants, i, i+1), to, v)
		}
		p.Price = p.Variants[0].Price
		return nil
	})
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("update variant %s: %w", variantID, err)
	}
	return p, nil
}

// DeleteVariant removes a variant with its inventory (staff only); past
// orders keep their lines, and the product's images tied to it are untied
// (they stay the product's), in the same transaction. The last variant of a product cannot be deleted
// (delete the product). Errors: ErrUnauthenticated; ErrForbidden;
// ErrNotFound; ErrInvalid (the last variant).
func (s *Service) DeleteVariant(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID) (ecolaura.Product, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Product{}, fmt.Errorf("delete variant: %w", err)
	}
	productID, err := s.productOf(ctx, variantID)
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("delete variant %s: %w", variantID, err)
	}
	untie := func(ctx context.Context, tx ports.Tx, stored ecolaura.Product) error {
		imgs, err := tx.Images().List(ctx, []ecolaura.ID{stored.ID})
		if err != nil {
			return err
		}
		for _, img := range imgs {
			if img.VariantID == variantID {
				img.VariantID = ""
				if _, err := tx.Images().Update(ctx, img); err != nil {
					return err
				}
			}
		}
		return nil
	}
	p, err := s.editThen(ctx, actor, productID, nil, true, false, false, func(p *ecolaura.Product) error {
		i := slices.IndexFunc(p.Variants, func(v ecolaura.Variant) bool { return v.ID == variantID })
		if i < 0 {
			return fmt.Errorf("variant %s: %w", variantID, ecolaura.ErrNotFound)
		}
		if len(p.Variants) == 1 {
			return ecolaura.Invalid("variant_id", "is the product's only variant: delete the product instead")
		}
		p.Variants = slices.Delete(p.Variants, i, i+1)
		p.Price = p.Variants[0].Price
		return nil
	}, untie)
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("delete variant %s: %w", variantID, err)
	}
	return p, nil
}

// productOf returns the ID of the product that has the variant.
func (s *Service) productOf(ctx context.Context, variantID ecolaura.ID) (ecolaura.ID, error) {
	if err := knownShape(variantID); err != nil {
		return "", err
	}
	ps, err := s.db.Products().GetByVariants(ctx, []ecolaura.ID{variantID})
	if err != nil {
		return "", err
	}
	if len(ps) == 0 {
		return "", fmt.Errorf("variant %s: %w", variantID, ecolaura.ErrNotFound)
	}
	return ps[0].ID, nil
}

// GetVariant returns a variant with its product, with the visibility of
// [Service.Get]. Errors: ErrNotFound.
func (s *Service) GetVariant(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID) (ecolaura.Product, ecolaura.Variant, error) {
	if err := knownShape(variantID); err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, err
	}
	ps, err := s.db.Products().GetByVariants(ctx, []ecolaura.ID{variantID})
	if err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, fmt.Errorf("get variant %s: %w", variantID, err)
	}
	if len(ps) == 0 || !Visible(actor, ps[0]) {
		return ecolaura.Product{}, ecolaura.Variant{}, fmt.Errorf("variant %s: %w", variantID, ecolaura.ErrNotFound)
	}
	v, _ := ps[0].Variant(variantID)
	return ps[0], v, nil
}
