package ports

import (
	"context"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// ShippingMethodQuery selects shipping methods. Zero fields do not filter.
type ShippingMethodQuery struct {
	// ActiveOnly keeps the active methods.
	ActiveOnly bool
	// Country, when set, keeps the methods serving it.
	Country string
}

// ShippingMethodStore stores the shop's shipping methods (a shop has a
// handful: List returns every match, by name then ID).
//
// Semantics (checked by porttest.ShippingMethodStore): values are copied
// in and out; every stored method follows
// ecolaura.ValidateStoredShippingMethod; updates are versioned.
type ShippingMethodStore interface {
	// Create stores a new method (Version 1). Errors: ErrConflict when the
	// ID exists; ErrInvalid when m breaks ValidateStoredShippingMethod.
	Create(ctx context.Context, m ecolaura.ShippingMethod) error
	// Get returns the method. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.ShippingMethod, error)
	// List returns the matching methods by name, then ID.
	List(ctx context.Context, q ShippingMethodQuery) ([]ecolaura.ShippingMethod, error)
	// Update replaces the method (all but ID and CreatedAt) if the stored
	// version equals m.Version, storing Version m.Version+1, and returns
	// what was stored. Errors: ErrNotFound; ErrConflict on a version
	// mismatch; ErrInvalid as for Create.
	Update(ctx context.Context, m ecolaura.ShippingMethod) (ecolaura.ShippingMethod, error)
	// Delete removes the method. Errors: ErrNotFound.
	Delete(ctx context.Context, id ecolaura.ID) error
}

// TaxRateStore stores the shop's tax rates, one per country and class.
//
// Semantics (checked by porttest.TaxRateStore): values are copied in and
// out; every stored rate follows ecolaura.ValidateStoredTaxRate; a country
// and class have at most one rate; updates are versioned.
type TaxRateStore interface {
	// Create stores a new rate (Version 1). Errors: ErrConflict when the ID
	// exists, and an *ecolaura.ConflictError on "class" when the country
	// already has a rate of the class; ErrInvalid when r breaks
	// ValidateStoredTaxRate.
	Create(ctx context.Context, r ecolaura.TaxRate) error
	// Get returns the rate. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.TaxRate, error)
	// List returns the rates of country ("" for every country), by country
	// then class.
	List(ctx context.Context, country string) ([]ecolaura.TaxRate, error)
	// Update replaces the rate's Rate and UpdatedAt if the stored version
	// equals r.Version, storing Version r.Version+1 (country and class do
	// not change), and returns what was stored. Errors: ErrNotFound;
	// ErrConflict on a version mismatch; ErrInvalid as for Create.
	Update(ctx context.Context, r ecolaura.TaxRate) (ecolaura.TaxRate, error)
	// Delete removes the rate. Errors: ErrNotFound.
	Delete(ctx context.Context, id ecolaura.ID) error
}
