package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// ProductQuery selects one page of products.
type ProductQuery struct {
	Filter ecolaura.ProductFilter
	// Sort must be valid; the zero value means [ecolaura.SortNewest].
	Sort ecolaura.ProductSort
	// After, when set, returns only products strictly after this position in
	// Sort order (keyset / cursor pagination). Products added before the
	// position never shift later pages.
	After *ecolaura.ProductPosition
	// Offset skips that many matching products (numbered pages). Used only
	// when After is nil.
	Offset int
	// Limit is the page size, 1–1000.
	Limit int
	// WithTotal asks for the total number of matching products.
	WithTotal bool
}

// ProductPage is one page of a product list.
type ProductPage struct {
	Items []ecolaura.Product
	// HasMore reports whether more products follow the last item.
	HasMore bool
	// Total is the number of matching products when asked for, else -1.
	Total int
}

// ProductStore stores products with their metrics.
//
// Semantics every implementation honours (checked by porttest.ProductStore):
//   - Values are copied in and out: callers never share memory with the store.
//   - Get, Update, Delete, AdjustStock on a missing ID return an error
//     matching ecolaura.ErrNotFound.
//   - Every stored product satisfies ecolaura.Product.Validate, has a UUID
//     and a version of at least 1: Create, Update and AdjustStock refuse a
//     write that would break this with an error matching ecolaura.ErrInvalid
//     and store nothing. Every implementation enforces the same rules (the
//     PostgreSQL schema with CHECK constraints), so a product accepted by one
//     store is accepted by all.
type ProductStore interface {
	// Get returns the product. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error)
	// GetMany returns the products that exist among ids, in the order of ids
	// (missing ones are left out).
	GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error)
	// List returns one page in q.Sort order, filtered exactly as
	// ecolaura.ProductFilter.Match does, ties broken by ID in the sort's direction.
	List(ctx context.Context, q ProductQuery) (ProductPage, error)
	// Categories returns every category that has products, with counts,
	// ordered by category slug.
	Categories(ctx context.Context) ([]ecolaura.CategoryCount, error)
	// CategoryStats returns aggregate figures per category, ordered by slug.
	CategoryStats(ctx context.Context) ([]ecolaura.CategoryStats, error)

	// Create stores a new product as given (ID, times and Version 1 set by
	// the caller). Errors: ErrConflict when the ID exists; ErrInvalid when p
	// breaks a rule (see above).
	Create(ctx context.Context, p ecolaura.Product) error
	// Update replaces the product if its stored version equals p.Version,
	// storing it with Version p.Version+1, and returns what was stored.
	// Errors: ErrNotFound; ErrConflict on a version mismatch; ErrInvalid
	// when p breaks a rule.
	Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error)
	// Delete removes the product. Errors: ErrNotFound.
	Delete(ctx context.Context, id ecolaura.ID) error
	// AdjustStock atomically adds delta (negative to take units) to the
	// stock, bumps the version and sets UpdatedAt to at. It never lets stock
	// fall below zero, however many callers race: when stock+delta < 0 it
	// changes nothing and returns an *ecolaura.InsufficientStockError
	// (ErrInsufficientStock) carrying the available units. Nor does it let
	// stock rise above ecolaura.MaxStock: when stock+delta > MaxStock it
	// changes nothing and returns a *ecolaura.ValidationError on "stock"
	// (ErrInvalid), unless adj.Saturate is set, in which case it stores
	// MaxStock. Errors: ErrNotFound.
	AdjustStock(ctx context.Context, adj StockAdjustment) (ecolaura.Product, error)
}

// StockAdjustment is one change of a product's stock.
type StockAdjustment struct {
	ProductID ecolaura.ID
	// Delta is the number of units to add (negative: to take).
	Delta int
	At    time.Time
	// Saturate makes an increase that would pass ecolaura.MaxStock store
	// MaxStock instead of failing. Restocking the lines of a cancelled order
	// uses it, so a cancellation can never be refused because staff set the
	// stock to the maximum meanwhile.
	Saturate bool
}
