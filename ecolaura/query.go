package ecolaura

import (
	"math"
	"unicode"
)

// ProductSort is an order in which products can be listed. Every sort breaks
// ties by ID in the same direction, so it is total and cursor pages are stable.
type ProductSort string

// The product sorts.
const (
	SortNewest       ProductSort = "newest"    // created_at desc, id desc (the default)
	SortScore        ProductSort = "score"     // score desc, id desc
	SortPriceAsc     ProductSort = "price"     // lowest variant price asc, id asc
	SortPriceDesc    ProductSort = "-price"    // lowest variant price desc, id desc
	SortFootprintAsc ProductSort = "footprint" // footprint asc, id asc; products without metrics last
	// SortRelevance ranks the matches of a search (ProductFilter.Query),
	// best first, then id desc; the key is the store's rank of the product
	// for the search (see ports.ProductStore.List), 0 without a search
	// (so all rank alike and the order is by id desc).
	SortRelevance ProductSort = "relevance"
)

// ProductSorts lists every sort.
func ProductSorts() []ProductSort {
	return []ProductSort{SortNewest, SortScore, SortPriceAsc, SortPriceDesc, SortFootprintAsc, SortRelevance}
}

// Valid reports whether s is a known sort.
func (s ProductSort) Valid() bool {
	for _, k := range ProductSorts() {
		if s == k {
			return true
		}
	}
	return false
}

// Descending reports whether the sort (and its ID tie-break) runs high to low.
func (s ProductSort) Descending() bool {
	return s == SortNewest || s == SortScore || s == SortPriceDesc || s == SortRelevance
}

// NoFootprintKey is the footprint sort key of products without metrics.
const NoFootprintKey = math.MaxInt64

// SortKey returns the integer key of p under sort s: creation time in Unix
// nanoseconds, score, lowest variant price ([Product.LowestPrice]) in minor
// units, or footprint in grams
// ([NoFootprintKey] when unknown); 0 for [SortRelevance], whose key only a
// store can compute for a search (the key of every product without one).
// Together with the ID it positions p in a list.
func (s ProductSort) SortKey(p Product) int64 {
	switch s {
	case SortRelevance:
		return 0
	case SortScore:
		return int64(p.Score)
	case SortPriceAsc, SortPriceDesc:
		return p.LowestPrice().Amount
	case SortFootprintAsc:
		if p.Metrics == nil {
			return NoFootprintKey
		}
		return int64(p.Metrics.CarbonFootprint)
	default:
		return p.CreatedAt.UnixNano()
	}
}

// Less reports whether a comes before b in sort s, comparing the key and then the ID.
func (s ProductSort) Less(a, b ProductPosition) bool {
	if a.Key != b.Key {
		if s.Descending() {
			return a.Key > b.Key
		}
		return a.Key < b.Key
	}
	if s.Descending() {
		return a.ID > b.ID
	}
	return a.ID < b.ID
}

// ProductPosition is where a product stands in a sort: its key and ID. A
// cursor is the position of the last item of the previous page.
type ProductPosition struct {
	Key int64
	ID  ID
}

// MaxQueryLength bounds [ProductFilter.Query] in bytes.
const MaxQueryLength = 200

// ProductFilter selects products. Zero fields do not filter.
type ProductFilter struct {
	// Status, when set, keeps only products with that status (the catalog
	// service sets ProductActive for customers and anonymous callers).
	Status   ProductStatus
	Category string
	// Query is a search in web search syntax: words that must all occur
	// (the last one also as the start of a word), "quoted phrases", -word
	// exclusions and OR, matched against the name, the description and the
	// variants' SKUs and option values with English stemming, and by
	// name similarity when nothing matches so (typos). The stores implement
	// it (see ports.ProductStore.List); [ProductFilter.Match] ignores it. It
	// follows the single-line text rules (see [TextKind]).
	Query    string
	MinScore *int
	// MaxFootprint keeps only products with metrics at or below it.
	MaxFootprint  *CO2e
	Recyclable    *bool
	Biodegradable *bool
	// MinPrice and MaxPrice bound the lowest variant price
	// ([Product.LowestPrice]), in minor units.
	MinPrice *int64
	MaxPrice *int64
	// InStock keeps the products with some variant available (Stock > 0).
	InStock bool
}

// Validate checks the filter's ranges and that Query follows the text
// rules (a NUL or invalid UTF-8 could match nothing in any store, and
// PostgreSQL refuses it); it returns a *ValidationError.
//
// A search term must also contain at least [MinSearchRun] letters or digits
// in a row: a shorter word, matched as the start of words, would find and
// rank most of the catalog (issue 10 item 15), and both stores refuse such
// terms alike.
func (f ProductFilter) Validate() error {
	var v Validator
	if f.Category != "" {
		v.Check(ValidCategory(f.Category), "category", "must be a category slug")
	}
	if f.Status != "" {
		v.Check(f.Status.Valid(), "status", "must be draft, active or archived")
	}
	var q Validator
	q.Text("q", f.Query, SingleLine)
	q.Check(len(f.Query) <= MaxQueryLength, "q", "must be at most %d characters", MaxQueryLength)
	if f.Query != "" && q.Valid() {
		q.Check(searchable(f.Query), "q", "must contain at least %d letters or digits in a row", MinSearchRun)
	}
	v.Merge("", q.Err())
	if f.MinScore != nil {
		v.Check(*f.MinScore >= 0 && *f.MinScore <= 100, "min_score", "must be between 0 and 100")
	}
	if f.MaxFootprint != nil {
		v.Check(*f.MaxFootprint >= 0, "max_footprint", "must not be negative")
	}
	if f.MinPrice != nil {
		v.Check(*f.MinPrice >= 0, "min_price", "must not be negative")
	}
	if f.MaxPrice != nil {
		v.Check(*f.MaxPrice >= 0, "max_price", "must not be negative")
	}
	if f.MinPrice != nil && f.MaxPrice != nil {
		v.Check(*f.MinPrice <= *f.MaxPrice, "max_price", "must not be below min_price")
	}
	return v.Err()
}

// MinSearchRun is how many letters or digits in a row a search term needs.
const MinSearchRun = 3

// searchable reports whether s contains MinSearchRun letters or digits in a
// row.
func searchable(s string) bool {
	run := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run >= MinSearchRun {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// Match reports whether p passes every condition of f but the search
// (Query), which only a store can evaluate. Stores may use it as the
// reference semantics of filtering.
func (f ProductFilter) Match(p Product) bool {
	if f.Status != "" && p.Status != f.Status {
		return false
	}
	if f.Category != "" && p.Category != f.Category {
		return false
	}
	if f.MinScore != nil && p.Score < *f.MinScore {
		return false
	}
	if f.MaxFootprint != nil && (p.Metrics == nil || p.Metrics.CarbonFootprint > *f.MaxFootprint) {
		return false
	}
	if f.Recyclable != nil && (p.Metrics == nil || p.Metrics.Recyclable != *f.Recyclable) {
		return false
	}
	if f.Biodegradable != nil && (p.Metrics == nil || p.Metrics.Biodegradable != *f.Biodegradable) {
		return false
	}
	if f.MinPrice != nil && p.LowestPrice().Amount < *f.MinPrice {
		return false
	}
	if f.MaxPrice != nil && p.LowestPrice().Amount > *f.MaxPrice {
		return false
	}
	if f.InStock && p.Stock <= 0 {
		return false
	}
	return true
}
