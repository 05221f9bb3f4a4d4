package ports

import (
	"context"

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
	// Keys holds the sort key of each item (Keys[i] of Items[i]): for
	// SortRelevance with a search, the store's rank of the item, which a
	// cursor after it needs; for the other sorts ProductSort.SortKey of
	// the item. May be nil (a cached page): the keys are then SortKey's.
	Keys []int64
}

// ProductStore stores products with their metrics, options and variants
// (a product is one aggregate: read and written with all its variants).
//
// Semantics every implementation honours (checked by porttest.ProductStore):
//   - Values are copied in and out: callers never share memory with the store.
//   - Get, Update, Delete on a missing ID return an error matching
//     ecolaura.ErrNotFound.
//   - Create and Update first apply ecolaura.Product.Complete to what they
//     are given (a default variant for a product without variants, Status
//     active when empty, ...). Every stored product then satisfies
//     ecolaura.Product.Validate, has a UUID and a version of at least 1, and
//     no two variants of the shop share a SKU (case-insensitively) or an ID:
//     Create and Update refuse a write that would break this with an error
//     matching ecolaura.ErrInvalid (a taken SKU or variant ID: a
//     *ValidationError on "variants[i].sku" / "variants[i].id") and store
//     nothing. Every implementation enforces the same rules (the PostgreSQL
//     schema with constraints and unique indexes), so a product accepted by
//     one store is accepted by all.
//   - Stock is the inventory's (see InventoryStore): reads fill each
//     variant's Available and the product's Stock from the inventory levels;
//     Create stores each variant's Available as its initial stock at the
//     default location (with an "initial" movement), Update does so for the
//     variants it adds and ignores Available and Stock otherwise. No
//     inventory change touches the product (no version bump, no UpdatedAt).
type ProductStore interface {
	// Get returns the product. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error)
	// GetMany returns the products that exist among ids, in the order of ids
	// (missing ones are left out).
	GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error)
	// GetByVariants returns the products that own the variants among ids
	// that exist, each once, in the order their first variant appears in ids.
	GetByVariants(ctx context.Context, variantIDs []ecolaura.ID) ([]ecolaura.Product, error)
	// List returns one page in q.Sort order, filtered exactly as
	// ecolaura.ProductFilter.Match does, ties broken by ID in the sort's direction.
	//
	// A search (Filter.Query, web search syntax as internal/textsearch
	// parses it) matches the products whose document matches it as
	// PostgreSQL's full-text search does with the "english" configuration:
	// the name (weight A), the variants' SKUs and option values (B) and the
	// description (C); every word must occur, "quoted" words in that order,
	// -excluded ones not, OR between two operands makes either enough, and
	// the last plain word also matches the words it begins. When no product
	// matches so (with the other filters), the products whose name has a
	// run of words with a trigram similarity of at least 0.5 to the search's
	// words match instead (pg_trgm's strict_word_similarity: typos).
	// SortRelevance orders the matches by ts_rank (or that similarity) in
	// millionths, then by ID, both descending; without a search every key
	// is 0. The memory store follows the same rules in Go
	// (porttest.ProductSearch checks the top results of both).
	List(ctx context.Context, q ProductQuery) (ProductPage, error)
	// Categories returns every category that has active products, with
	// their counts, ordered by category slug (drafts and archived products
	// are not in the shop).
	Categories(ctx context.Context) ([]ecolaura.CategoryCount, error)
	// CategoryStats returns aggregate figures of the active products per
	// category that has any, ordered by slug.
	CategoryStats(ctx context.Context) ([]ecolaura.CategoryStats, error)

	// Create stores a new product as given (ID, times and Version 1 set by
	// the caller; variant IDs too). Errors: ErrConflict when the ID exists;
	// ErrInvalid when p breaks a rule (see above).
	Create(ctx context.Context, p ecolaura.Product) error
	// Update replaces the product and its variants if its stored version
	// equals p.Version, storing it with Version p.Version+1, and returns
	// what was stored. Variants missing from p are deleted with their
	// inventory; variants with new IDs are added with their Available as
	// initial stock at the default location. Errors: ErrNotFound;
	// ErrConflict on a version mismatch; ErrInvalid when p breaks a rule.
	Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error)
	// Delete removes the product with its variants and their inventory
	// (past orders keep their snapshots). Errors: ErrNotFound.
	Delete(ctx context.Context, id ecolaura.ID) error
}
