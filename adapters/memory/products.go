package memory

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/textsearch"
	"github.com/ecolaura/ecolaura/ports"
)

// Query limits shared by the lists.
const (
	minLimit = 1
	maxLimit = 1000
)

// productSorts fixes the index slot of every sort.
var productSorts = ecolaura.ProductSorts()

func sortIndex(s ecolaura.ProductSort) int {
	for i, k := range productSorts {
		if k == s {
			return i
		}
	}
	return -1
}

// productRec is an immutable stored product with its precomputed sort keys
// and search document.
type productRec struct {
	p     ecolaura.Product
	keys  []int64 // by sortIndex
	doc   *textsearch.Document
	words []string // the words typo corrections may propose
}

func newProductRec(p ecolaura.Product) *productRec {
	r := &productRec{p: p.Clone(), keys: make([]int64, len(productSorts))}
	for i, s := range productSorts {
		r.keys[i] = s.SortKey(r.p)
	}
	r.doc = textsearch.ProductDocument(r.p)
	r.words = textsearch.ProductWords(r.p)
	return r
}

// probe returns a record that only carries a position in sort slot i, for
// seeking in an index.
func probe(i int, pos ecolaura.ProductPosition) *productRec {
	r := &productRec{keys: make([]int64, len(productSorts))}
	r.keys[i] = pos.Key
	r.p.ID = pos.ID
	return r
}

// lessFor returns the order of index slot i: ProductSort.Less on (key, ID).
func lessFor(i int) func(a, b *productRec) bool {
	desc := productSorts[i].Descending()
	return func(a, b *productRec) bool {
		ka, kb := a.keys[i], b.keys[i]
		if ka != kb {
			if desc {
				return ka > kb
			}
			return ka < kb
		}
		if desc {
			return a.p.ID > b.p.ID
		}
		return a.p.ID < b.p.ID
	}
}

func byProductID(a, b *productRec) bool { return a.p.ID < b.p.ID }

// sortIndexes is one ordered index per sort.
type sortIndexes []*btree.BTreeG[*productRec]

func newSortIndexes() sortIndexes {
	ix := make(sortIndexes, len(productSorts))
	for i := range ix {
		ix[i] = newTree(lessFor(i))
	}
	return ix
}

func (ix sortIndexes) clone() sortIndexes {
	out := make(sortIndexes, len(ix))
	for i, t := range ix {
		out[i] = t.Clone()
	}
	return out
}

// put replaces old (nil for a new product) by rec in every index.
func (ix sortIndexes) put(old, rec *productRec) {
	for i, t := range ix {
		if old != nil && old.keys[i] != rec.keys[i] {
			t.Delete(old)
		}
		t.ReplaceOrInsert(rec)
	}
}

func (ix sortIndexes) remove(old *productRec) {
	for _, t := range ix {
		t.Delete(old)
	}
}

// categoryEntry holds one category's indexes and running aggregates: count
// of every product, the others of the active ones (the shop's).
type categoryEntry struct {
	slug         string
	idx          sortIndexes
	count        int
	active       int
	withMetrics  int
	sumScore     int64
	sumFootprint int64
}

func (c *categoryEntry) account(r *productRec, sign int) {
	c.count += sign
	if r.p.Status != ecolaura.ProductActive {
		return
	}
	c.active += sign
	c.sumScore += int64(sign) * int64(r.p.Score)
	if r.p.Metrics != nil {
		c.withMetrics += sign
		c.sumFootprint += int64(sign) * int64(r.p.Metrics.CarbonFootprint)
	}
}

func byCategorySlug(a, b *categoryEntry) bool { return a.slug < b.slug }

// productTables is the product part of a snapshot: the catalog records
// (with their variants; stock lives in the inventory tables and is filled
// in when a product is read), one index per sort and per category and sort.
type productTables struct {
	byID   *btree.BTreeG[*productRec]
	sorted sortIndexes
	cats   *btree.BTreeG[*categoryEntry]
}

func newProductTables() *productTables {
	return &productTables{
		byID:   newTree(byProductID),
		sorted: newSortIndexes(),
		cats:   newTree(byCategorySlug),
	}
}

func (pt *productTables) clone() *productTables {
	return &productTables{byID: pt.byID.Clone(), sorted: pt.sorted.clone(), cats: pt.cats.Clone()}
}

func (pt *productTables) get(id ecolaura.ID) (*productRec, bool) {
	return pt.byID.Get(&productRec{p: ecolaura.Product{ID: id}})
}

func (pt *productTables) category(slug string) (*categoryEntry, bool) {
	return pt.cats.Get(&categoryEntry{slug: slug})
}

// category returns the transaction's own (writable) entry of slug,
// creating or copying it on first use.
func (t *txn) category(pt *productTables, slug string) *categoryEntry {
	if c, ok := t.ownCats[slug]; ok {
		return c
	}
	var c *categoryEntry
	if base, ok := pt.category(slug); ok {
		cp := *base
		cp.idx = base.idx.clone()
		c = &cp
	} else {
		c = &categoryEntry{slug: slug, idx: newSortIndexes()}
	}
	pt.cats.ReplaceOrInsert(c)
	if t.ownCats == nil {
		t.ownCats = make(map[string]*categoryEntry)
	}
	t.ownCats[slug] = c
	return c
}

// putProduct stores rec, replacing old (nil for a new product), and keeps
// every index and aggregate in step.
func (t *txn) putProduct(old, rec *productRec) {
	pt := t.products()
	pt.byID.ReplaceOrInsert(rec)
	pt.sorted.put(old, rec)
	if old != nil && old.p.Category != rec.p.Category {
		t.removeFromCategory(pt, old)
		old = nil
	}
	c := t.category(pt, rec.p.Category)
	if old != nil {
		c.account(old, -1)
	}
	c.account(rec, +1)
	c.idx.put(old, rec)
}

func (t *txn) deleteProduct(old *productRec) {
	pt := t.products()
	pt.byID.Delete(old)
	pt.sorted.remove(old)
	t.removeFromCategory(pt, old)
}

func (t *txn) removeFromCategory(pt *productTables, old *productRec) {
	c := t.category(pt, old.p.Category)
	c.account(old, -1)
	c.idx.remove(old)
	if c.count == 0 {
		pt.cats.Delete(c)
		delete(t.ownCats, c.slug)
	}
}

// productStore implements ports.ProductStore on a Database (tx == nil: every
// call is its own transaction) or inside a transaction.
type productStore struct {
	db *Database
	tx *txn
}

var _ ports.ProductStore = productStore{}

// Get returns a copy of the product. Errors: ErrNotFound.
func (s productStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error) {
	var out ecolaura.Product
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.products.get(id)
		if !ok {
			return fmt.Errorf("memory: get product %s: %w", id, ecolaura.ErrNotFound)
		}
		out = sn.read(r)
		return nil
	})
	return out, err
}

// GetMany returns copies of the products that exist among ids, in the order
// of ids, each at most once.
func (s productStore) GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	out := make([]ecolaura.Product, 0, len(ids))
	err := view(s.db, s.tx, func(sn *snapshot) error {
		seen := make(map[ecolaura.ID]struct{}, len(ids))
		for _, id := range ids {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			if r, ok := sn.products.get(id); ok {
				out = append(out, sn.read(r))
			}
		}
		return nil
	})
	return out, err
}

// read returns a copy of the stored product with its stock filled in.
func (sn *snapshot) read(r *productRec) ecolaura.Product {
	p := r.p.Clone()
	sn.inventory.fill(&p)
	return p
}

// GetByVariants returns the products owning the variants among ids, each
// once, in the order their first variant appears in ids.
func (s productStore) GetByVariants(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	out := make([]ecolaura.Product, 0, len(ids))
	err := view(s.db, s.tx, func(sn *snapshot) error {
		seen := make(map[ecolaura.ID]struct{}, len(ids))
		for _, id := range ids {
			pid, ok := sn.inventory.productOf(id)
			if !ok {
				continue
			}
			if _, dup := seen[pid]; dup {
				continue
			}
			seen[pid] = struct{}{}
			if r, ok := sn.products.get(pid); ok {
				out = append(out, sn.read(r))
			}
		}
		return nil
	})
	return out, err
}

func validateProductQuery(q *ports.ProductQuery) error {
	var v ecolaura.Validator
	if q.Sort == "" {
		q.Sort = ecolaura.SortNewest
	}
	v.Check(q.Sort.Valid(), "sort", "unknown sort %q", string(q.Sort))
	v.Check(q.Limit >= minLimit && q.Limit <= maxLimit, "limit", "must be between %d and %d", minLimit, maxLimit)
	v.Check(q.Offset >= 0, "offset", "must not be negative")
	v.Merge("", q.Filter.Validate())
	return v.Err()
}

// categoryOnly reports whether f filters by nothing but the category.
func categoryOnly(f ecolaura.ProductFilter) bool {
	return f.Status == "" && f.Query == "" && f.MinScore == nil && f.MaxFootprint == nil && f.Recyclable == nil &&
		f.Biodegradable == nil && f.MinPrice == nil && f.MaxPrice == nil && !f.InStock
}

// beyond returns a test that is true once a walk in sort slot i has passed
// every product that f can match (the sort key is monotonic along the walk),
// so the walk can stop early; nil when there is no such bound.
func beyond(i int, f ecolaura.ProductFilter) func(r *productRec) bool {
	switch productSorts[i] {
	case ecolaura.SortScore:
		if f.MinScore != nil {
			m := int64(*f.MinScore)
			return func(r *productRec) bool { return r.keys[i] < m }
		}
	case ecolaura.SortPriceAsc:
		if f.MaxPrice != nil {
			m := *f.MaxPrice
			return func(r *productRec) bool { return r.keys[i] > m }
		}
	case ecolaura.SortPriceDesc:
		if f.MinPrice != nil {
			m := *f.MinPrice
			return func(r *productRec) bool { return r.keys[i] < m }
		}
	case ecolaura.SortFootprintAsc:
		if f.MaxFootprint != nil {
			m := int64(*f.MaxFootprint)
			return func(r *productRec) bool { return r.keys[i] > m }
		}
	}
	return nil
}

// List returns one page in q.Sort order, filtered as ecolaura.ProductFilter.Match.
// It seeks in the index of the sort (of the category when the filter names
// one), so a page costs O(log n + page) plus the non-matching products the
// other filters skip. Errors: *ValidationError (ErrInvalid) for a bad query.
func (s productStore) List(ctx context.Context, q ports.ProductQuery) (ports.ProductPage, error) {
	if err := validateProductQuery(&q); err != nil {
		return ports.ProductPage{Total: -1}, fmt.Errorf("memory: list products: %w", err)
	}
	page := ports.ProductPage{Items: []ecolaura.Product{}, Total: -1}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		i := sortIndex(q.Sort)
		pt := sn.products
		tree := pt.sorted[i]
		total := pt.byID.Len()
		if q.Filter.Category != "" {
			c, ok := pt.category(q.Filter.Category)
			if !ok {
				if q.WithTotal {
					page.Total = 0
				}
				return nil
			}
			tree, total = c.idx[i], c.count
		}
		if q.Filter.Query != "" {
			page = searchPage(sn, tree, i, q)
			return nil
		}
		stop := beyond(i, q.Filter)
		// Stock lives in the inventory: only the in-stock filter needs it.
		match := func(r *productRec) bool { return q.Filter.Match(r.p) }
		if q.Filter.InStock {
			match = func(r *productRec) bool {
				p := r.p // a shallow copy: only Stock is written
				p.Stock = sn.inventory.stock(r.p)
				return q.Filter.Match(p)
			}
		}
		if categoryOnly(q.Filter) {
			match = func(*productRec) bool { return true }
		}
		skip := 0
		if q.After == nil {
			skip = q.Offset
		}
		walk := func(r *productRec) bool {
			if stop != nil && stop(r) {
				return false
			}
			if q.After != nil && r.keys[i] == q.After.Key && r.p.ID == q.After.ID {
				return true // strictly after the cursor
			}
			if !match(r) {
				return true
			}
			if skip > 0 {
				skip--
				return true
			}
			if len(page.Items) == q.Limit {
				page.HasMore = true
				return false
			}
			page.Items = append(page.Items, sn.read(r))
			return true
		}
		if q.After != nil {
			tree.AscendGreaterOrEqual(probe(i, *q.After), walk)
		} else {
			tree.Ascend(walk)
		}
		if q.WithTotal {
			if categoryOnly(q.Filter) {
				page.Total = total
			} else {
				n := 0
				tree.Ascend(func(r *productRec) bool {
					if stop != nil && stop(r) {
						return false
					}
					if match(r) {
						n++
					}
					return true
				})
				page.Total = n
			}
		}
		return nil
	})
	if err != nil {
		return ports.ProductPage{Total: -1}, err
	}
	return page, nil
}

// searchPage answers a list with a search as PostgreSQL does (see
// ports.ProductStore.List): the products of tree that pass the filter and
// match the search's full text, or when there are none those that match
// it corrected for typos with the catalog's words, in q.Sort order (by
// rank for SortRelevance), then paged. It reads every product of tree: a
// search costs O(n). (The catalog's words are those of the products
// stored now; PostgreSQL's search_words also keeps those of deleted or
// edited products, which can only add corrections that match nothing.)
func searchPage(sn *snapshot, tree *btree.BTreeG[*productRec], i int, q ports.ProductQuery) ports.ProductPage {
	sq := textsearch.Parse(q.Filter.Query)
	filter := func(r *productRec) bool {
		p := r.p // a shallow copy: only Stock is written
		if q.Filter.InStock {
			p.Stock = sn.inventory.stock(r.p)
		}
		return q.Filter.Match(p)
	}
	var found []textsearch.Ranked[*productRec]
	collect := func(sq textsearch.Query) {
		tree.Ascend(func(r *productRec) bool {
			if sq.Match(r.doc) && filter(r) {
				found = append(found, textsearch.Ranked[*productRec]{Item: r, Key: textsearch.RankKey(sq.Rank(r.doc)), ID: string(r.p.ID)})
			}
			return true
		})
	}
	if !sq.Empty() {
		collect(sq)
	}
	if words := sq.Correctable(); len(found) == 0 && len(words) > 0 {
		// Typos: corrections from the words of every product.
		var known []string
		sn.products.byID.Ascend(func(r *productRec) bool {
			known = append(known, r.words...)
			return true
		})
		slices.Sort(known)
		if cq, ok := sq.Corrected(textsearch.Suggest(words, slices.Compact(known))); ok {
			collect(cq)
		}
	}
	// The tree walk has them in q.Sort order; relevance sorts by rank.
	if q.Sort == ecolaura.SortRelevance {
		textsearch.SortRanked(found)
	} else {
		for j := range found {
			found[j].Key = found[j].Item.keys[i]
		}
	}
	page := ports.ProductPage{Items: []ecolaura.Product{}, Keys: []int64{}, Total: -1}
	if q.WithTotal {
		page.Total = len(found)
	}
	start := 0
	if a := q.After; a != nil {
		for start < len(found) && !q.Sort.Less(*a, ecolaura.ProductPosition{Key: found[start].Key, ID: found[start].Item.p.ID}) {
			start++
		}
	} else {
		start = min(q.Offset, len(found))
	}
	end := min(start+q.Limit, len(found))
	for _, f := range found[start:end] {
		page.Items = append(page.Items, sn.read(f.Item))
		page.Keys = append(page.Keys, f.Key)
	}
	page.HasMore = end < len(found)
	return page
}

// Categories returns every category that has active products, with their
// counts, ordered by slug, from aggregates maintained on every write.
func (s productStore) Categories(ctx context.Context) ([]ecolaura.CategoryCount, error) {
	var out []ecolaura.CategoryCount
	err := view(s.db, s.tx, func(sn *snapshot) error {
		out = make([]ecolaura.CategoryCount, 0, sn.products.cats.Len())
		sn.products.cats.Ascend(func(c *categoryEntry) bool {
			if c.active > 0 {
				out = append(out, ecolaura.CategoryCount{Category: c.slug, Products: c.active})
			}
			return true
		})
		return nil
	})
	return out, err
}

// CategoryStats returns aggregate figures of the active products per
// category that has any, ordered by slug, from aggregates maintained on
// every write. Averages are rounded like
// PostgreSQL's AVG cast to an integer (half away from zero) for footprints.
func (s productStore) CategoryStats(ctx context.Context) ([]ecolaura.CategoryStats, error) {
	var out []ecolaura.CategoryStats
	err := view(s.db, s.tx, func(sn *snapshot) error {
		out = make([]ecolaura.CategoryStats, 0, sn.products.cats.Len())
		sn.products.cats.Ascend(func(c *categoryEntry) bool {
			if c.active == 0 {
				return true
			}
			st := ecolaura.CategoryStats{Category: c.slug, Products: c.active, WithMetrics: c.withMetrics}
			st.AverageScore = float64(c.sumScore) / float64(c.active)
			if c.withMetrics > 0 {
				st.AverageFootprint = ecolaura.CO2e(math.Round(float64(c.sumFootprint) / float64(c.withMetrics)))
			}
			out = append(out, st)
			return true
		})
		return nil
	})
	return out, err
}

// Create stores a copy of p (after ecolaura.Product.Complete) with its
// variants and their initial stock. Errors: ErrConflict when the ID exists;
// *ValidationError (ErrInvalid) when p breaks a rule of
// ports.ValidateNewProduct; *ecolaura.ConflictError (ErrConflict) on
// "variants[i].sku" or "variants[i].id" for a SKU or variant ID another
// product has.
func (s productStore) Create(ctx context.Context, p ecolaura.Product) error {
	p = p.Clone()
	p.Complete()
	if err := ports.ValidateNewProduct(p); err != nil {
		return fmt.Errorf("memory: create product %s: %w", p.ID, err)
	}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.products.get(p.ID); ok {
			return fmt.Errorf("memory: create product %s: id taken: %w", p.ID, ecolaura.ErrConflict)
		}
		if err := variantsFree(t.w.inventory, p); err != nil {
			return fmt.Errorf("memory: create product %s: %w", p.ID, err)
		}
		it := t.inventory()
		for _, v := range p.Variants {
			it.addVariant(v, p)
		}
		t.putProduct(nil, newProductRec(catalogOnly(p)))
		return nil
	})
}

// catalogOnly returns p without stock figures, as the catalog record keeps it.
func catalogOnly(p ecolaura.Product) ecolaura.Product {
	p.Stock = 0
	for i := range p.Variants {
		p.Variants[i].Available = 0
	}
	return p
}

// variantsFree checks that no other product has p's variant IDs or SKUs.
func variantsFree(it *inventoryTables, p ecolaura.Product) error {
	for i, v := range p.Variants {
		f := "variants[" + strconv.Itoa(i) + "]"
		if r, ok := it.variants.Get(variantRef{key: string(v.ID)}); ok && r.product != p.ID {
			return &ecolaura.ConflictError{Field: f + ".id"}
		}
		if v.SKU == "" {
			continue
		}
		if r, ok := it.skus.Get(variantRef{key: strings.ToLower(v.SKU)}); ok && r.product != p.ID {
			return &ecolaura.ConflictError{Field: f + ".sku"}
		}
	}
	return nil
}

// Update replaces the product and its variants if its stored version equals
// p.Version, storing it with Version p.Version+1 (CreatedAt stays as
// stored), and returns a copy of what was stored. Variants it no longer has
// are deleted with their inventory; new ones get their Available as initial
// stock. Errors: ErrNotFound; ErrConflict on a version mismatch;
// *ValidationError (ErrInvalid) when p breaks a constraint;
// *ecolaura.ConflictError as for Create.
func (s productStore) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	if _, err := ecolaura.ParseID(string(p.ID)); err != nil {
		return ecolaura.Product{}, fmt.Errorf("memory: update product %s: %w", p.ID, ecolaura.ErrNotFound)
	}
	p = p.Clone()
	p.Complete()
	if err := ports.ValidateStoredProduct(p); err != nil {
		return ecolaura.Product{}, fmt.Errorf("memory: update product %s: %w", p.ID, err)
	}
	var out ecolaura.Product
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.products.get(p.ID)
		if !ok {
			return fmt.Errorf("memory: update product %s: %w", p.ID, ecolaura.ErrNotFound)
		}
		if old.p.Version != p.Version {
			return fmt.Errorf("memory: update product %s: stored version %d, given %d: %w", p.ID, old.p.Version, p.Version, ecolaura.ErrConflict)
		}
		if err := variantsFree(t.w.inventory, p); err != nil {
			return fmt.Errorf("memory: update product %s: %w", p.ID, err)
		}
		np := p
		np.CreatedAt = old.p.CreatedAt
		np.Version = p.Version + 1
		it := t.inventory()
		for _, ov := range old.p.Variants {
			it.variants.Delete(variantRef{key: string(ov.ID)})
			if ov.SKU != "" {
				it.skus.Delete(variantRef{key: strings.ToLower(ov.SKU)})
			}
			if _, kept := np.Variant(ov.ID); !kept {
				it.removeVariant(ov)
			}
		}
		for _, v := range np.Variants {
			if _, existed := old.p.Variant(v.ID); existed {
				it.variants.ReplaceOrInsert(variantRef{key: string(v.ID), product: np.ID, variant: v.ID})
				if v.SKU != "" {
					it.skus.ReplaceOrInsert(variantRef{key: strings.ToLower(v.SKU), product: np.ID, variant: v.ID})
				}
				continue
			}
			it.addVariant(v, np)
		}
		rec := newProductRec(catalogOnly(np))
		t.putProduct(old, rec)
		out = t.w.read(rec)
		return nil
	})
	return out, err
}

// Delete removes the product with its variants and their inventory.
// Errors: ErrNotFound.
func (s productStore) Delete(ctx context.Context, id ecolaura.ID) error {
	return update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.products.get(id)
		if !ok {
			return fmt.Errorf("memory: delete product %s: %w", id, ecolaura.ErrNotFound)
		}
		it := t.inventory()
		for _, v := range old.p.Variants {
			it.removeVariant(v)
		}
		t.deleteProduct(old)
		t.cascadeImages(id)
		return nil
	})
}
