package productcache

import (
	"context"
	"encoding/json"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// productEntry is a cached product with the fence it was loaded under.
type productEntry struct {
	Fence   int64
	Product ecolaura.Product
}

// listEntry is a cached list page: the IDs in order, without the products.
type listEntry struct {
	IDs     []ecolaura.ID
	HasMore bool
	Total   int
}

// cachedStore is the [ports.ProductStore] of a [Database].
type cachedStore struct{ d *Database }

var _ ports.ProductStore = cachedStore{}

func (s cachedStore) inner() ports.ProductStore { return s.d.db.Products() }

// Get returns the product from the cache when its entry is current, else from
// the store. Errors: those of the store (ErrNotFound).
func (s cachedStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error) {
	ps, err := s.getMany(ctx, []ecolaura.ID{id})
	if err != nil {
		return ecolaura.Product{}, err
	}
	if len(ps) == 0 {
		// Let the store produce its own not-found error.
		return s.inner().Get(ctx, id)
	}
	return ps[0], nil
}

// GetMany returns the products among ids, in the order of ids, reading
// current entries from the cache and the rest from the store.
func (s cachedStore) GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	return s.getMany(ctx, ids)
}

func (s cachedStore) getMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	d := s.d
	if len(ids) == 0 {
		return []ecolaura.Product{}, nil
	}
	if !d.ready(ctx) {
		return s.inner().GetMany(ctx, ids)
	}
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, d.fenceKey(id), d.productKey(id))
	}
	// Fences are read together with, and so before the load of, the products.
	vals, err := d.cache.GetMany(ctx, keys)
	if err != nil {
		d.cacheErr(ctx, "get products", err)
		return s.inner().GetMany(ctx, ids)
	}
	d.cacheOK(ctx)
	found := make(map[ecolaura.ID]ecolaura.Product, len(ids))
	fences := make(map[ecolaura.ID]int64, len(ids))
	var missing []ecolaura.ID
	for _, id := range ids {
		if _, seen := fences[id]; seen {
			continue
		}
		raw, ok := vals[d.fenceKey(id)]
		f := fence(raw, ok)
		fences[id] = f
		if b, ok := vals[d.productKey(id)]; ok {
			if e, ok := decodeProduct(b); ok && e.Fence == f && e.Product.ID == id {
				found[id] = e.Product
				continue
			}
		}
		missing = append(missing, id)
	}
	d.stats.productHits.Add(uint64(len(found)))
	d.stats.productMisses.Add(uint64(len(missing)))
	if len(missing) > 0 {
		loaded, err := s.inner().GetMany(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, p := range loaded {
			found[p.ID] = p
			s.store(ctx, productEntry{Fence: fences[p.ID], Product: p})
		}
	}
	// Decoded and loaded values are fresh copies; only an ID asked for twice
	// needs a clone so the results share no memory.
	out := make([]ecolaura.Product, 0, len(ids))
	used := make(map[ecolaura.ID]bool, len(found))
	for _, id := range ids {
		if p, ok := found[id]; ok {
			if used[id] {
				p = p.Clone()
			}
			used[id] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// store caches a product entry, ignoring failures.
func (s cachedStore) store(ctx context.Context, e productEntry) {
	if e.Fence < 0 {
		return
	}
	s.set(ctx, s.d.productKey(e.Product.ID), encodeProduct(e))
}

func (s cachedStore) set(ctx context.Context, key string, value []byte) {
	if err := s.d.cache.Set(ctx, key, value, s.d.cfg.TTL); err != nil {
		s.d.cacheErr(ctx, "set", err)
		return
	}
	s.d.cacheOK(ctx)
}

// List returns a page: the IDs from a cached entry of the current
// generation, hydrated from the product entries; or the page from the store.
func (s cachedStore) List(ctx context.Context, q ports.ProductQuery) (ports.ProductPage, error) {
	d := s.d
	if !d.ready(ctx) {
		return s.inner().List(ctx, q)
	}
	gen, err := d.generation(ctx) // before the load: see the package doc
	if err != nil {
		return s.inner().List(ctx, q)
	}
	key := d.listKey(gen, q)
	raw, ok, err := d.cache.Get(ctx, key)
	if err != nil {
		d.cacheErr(ctx, "get list", err)
		return s.inner().List(ctx, q)
	}
	if ok {
		if e, ok := decodeList(raw); ok {
			items, err := s.getMany(ctx, e.IDs)
			if err != nil {
				return ports.ProductPage{}, err
			}
			// A product deleted since (a rare race with a generation bump)
			// makes the entry unusable.
			if len(items) == len(e.IDs) {
				d.stats.listHits.Add(1)
				return ports.ProductPage{Items: items, HasMore: e.HasMore, Total: e.Total}, nil
			}
		}
	}
	d.stats.listMisses.Add(1)
	page, err := s.inner().List(ctx, q)
	if err != nil {
		return ports.ProductPage{}, err
	}
	e := listEntry{IDs: make([]ecolaura.ID, len(page.Items)), HasMore: page.HasMore, Total: page.Total}
	for i, p := range page.Items {
		e.IDs[i] = p.ID
	}
	s.set(ctx, key, encodeList(e))
	return page, nil
}

// Categories returns the categories with counts, cached per generation.
func (s cachedStore) Categories(ctx context.Context) ([]ecolaura.CategoryCount, error) {
	return cachedAggregate(ctx, s, s.d.categoriesKey, s.inner().Categories)
}

// CategoryStats returns the per-category figures, cached per generation.
func (s cachedStore) CategoryStats(ctx context.Context) ([]ecolaura.CategoryStats, error) {
	return cachedAggregate(ctx, s, s.d.statsKey, s.inner().CategoryStats)
}

func cachedAggregate[T any](ctx context.Context, s cachedStore, keyOf func(int64) string, load func(context.Context) ([]T, error)) ([]T, error) {
	d := s.d
	if !d.ready(ctx) {
		return load(ctx)
	}
	gen, err := d.generation(ctx)
	if err != nil {
		return load(ctx)
	}
	key := keyOf(gen)
	raw, ok, err := d.cache.Get(ctx, key)
	if err != nil {
		d.cacheErr(ctx, "get aggregate", err)
		return load(ctx)
	}
	if ok {
		var out []T
		if json.Unmarshal(raw, &out) == nil && out != nil {
			d.stats.categoryHits.Add(1)
			return out, nil
		}
	}
	d.stats.categoryMisses.Add(1)
	out, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	if b, err := json.Marshal(out); err == nil {
		s.set(ctx, key, b)
	}
	return out, nil
}

// Create stores the product and invalidates after it is stored.
func (s cachedStore) Create(ctx context.Context, p ecolaura.Product) error {
	err := s.inner().Create(ctx, p)
	if outcomeMayHaveCommitted(err) {
		s.d.invalidate(ctx, catalogEdit(p.ID))
	}
	return err
}

// Update stores the product and invalidates after it is stored.
func (s cachedStore) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	out, err := s.inner().Update(ctx, p)
	if outcomeMayHaveCommitted(err) {
		s.d.invalidate(ctx, catalogEdit(p.ID))
	}
	return out, err
}

// Delete removes the product and invalidates after it is removed.
func (s cachedStore) Delete(ctx context.Context, id ecolaura.ID) error {
	err := s.inner().Delete(ctx, id)
	if outcomeMayHaveCommitted(err) {
		s.d.invalidate(ctx, catalogEdit(id))
	}
	return err
}

// AdjustStock changes the stock and invalidates the product's entry (and the
// lists only when the stock crosses zero).
func (s cachedStore) AdjustStock(ctx context.Context, adj ports.StockAdjustment) (ecolaura.Product, error) {
	out, err := s.inner().AdjustStock(ctx, adj)
	switch {
	case err == nil:
		var p plan
		p.add(adj.ProductID, crossesZero(out.Stock-adj.Delta, out.Stock))
		s.d.invalidate(ctx, p)
	case outcomeMayHaveCommitted(err):
		s.d.invalidate(ctx, catalogEdit(adj.ProductID))
	}
	return out, err
}
