package productcache

import (
	"context"
	"encoding/json"
	"strconv"

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
	// fences holds the fence each loaded product is stored under; 0: not
	// stored (a write in progress, or a fence created concurrently).
	fences := make(map[ecolaura.ID]int64, len(ids))
	var missing []ecolaura.ID
	var create map[string][]byte
	for _, id := range ids {
		if _, seen := fences[id]; seen {
			continue
		}
		raw, ok := vals[d.fenceKey(id)]
		if !ok {
			// No fence: nothing cached can be valid. Create one before
			// loading, unless another reader or a writer gets there first.
			f := newToken()
			if create == nil {
				create = make(map[string][]byte)
			}
			create[d.fenceKey(id)] = strconv.AppendInt(nil, f, 10)
			fences[id] = f
			missing = append(missing, id)
			continue
		}
		f := max(token(raw), 0) // a lease or garbage: load, do not store
		fences[id] = f
		if b, ok := vals[d.productKey(id)]; ok && f > 0 {
			if e, ok := decodeProduct(b); ok && e.Fence == f && e.Product.ID == id {
				found[id] = e.Product
				continue
			}
		}
		missing = append(missing, id)
	}
	var won map[string]bool
	if len(create) > 0 {
		added, err := d.cache.AddMany(ctx, create, d.cfg.FenceTTL)
		if err != nil {
			d.cacheErr(ctx, "create fences", err)
		}
		won = make(map[string]bool, len(added))
		for _, k := range added {
			won[k] = true
		}
		for _, id := range missing {
			if _, created := create[d.fenceKey(id)]; created && !won[d.fenceKey(id)] {
				fences[id] = 0
			}
		}
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
		s.dropFences(ctx, missing, found, won)
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

// dropFences deletes the fences this read created for products that turned
// out not to exist: a look-up of a product that is not there (any UUID an
// anonymous client makes up) must leave no key behind. Deleting a fence is
// always safe: a missing fence validates nothing.
func (s cachedStore) dropFences(ctx context.Context, ids []ecolaura.ID, found map[ecolaura.ID]ecolaura.Product, created map[string]bool) {
	var keys []string
	for _, id := range ids {
		if _, ok := found[id]; !ok && created[s.d.fenceKey(id)] {
			keys = append(keys, s.d.fenceKey(id))
		}
	}
	if len(keys) == 0 {
		return
	}
	if err := s.d.cache.Delete(ctx, keys...); err != nil {
		s.d.cacheErr(ctx, "drop fences", err)
	}
}

// store caches a product entry, ignoring failures; an entry without a
// fence is not stored.
func (s cachedStore) store(ctx context.Context, e productEntry) {
	if e.Fence <= 0 {
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
	if !cacheable(q) || !d.ready(ctx) {
		return s.inner().List(ctx, q)
	}
	if q.After != nil && !s.realPosition(ctx, q) {
		// A cursor anyone can forge: cache only pages after the position
		// of a product that is there.
		return s.inner().List(ctx, q)
	}
	gen, ok, err := d.generation(ctx) // before the load: see the package doc
	if err != nil || !ok {
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
	if len(page.Items) == 0 {
		// An empty page is not cached: any well-formed filter value (a
		// category slug nobody uses) would otherwise make a key.
		return page, nil
	}
	e := listEntry{IDs: make([]ecolaura.ID, len(page.Items)), HasMore: page.HasMore, Total: page.Total}
	for i, p := range page.Items {
		e.IDs[i] = p.ID
	}
	s.set(ctx, key, encodeList(e))
	return page, nil
}

// cacheable reports whether a list query may be cached: only when every
// value in it comes from a bounded set, so that anonymous clients cannot
// create keys without bound. A search text and the numeric bounds (prices,
// footprint) are free-form, so such pages are never cached; a category is
// free-form too, but one without products gives an empty page, which is not
// cached either; a minimum score is one of 0–100.
func cacheable(q ports.ProductQuery) bool {
	f := q.Filter
	return f.Query == "" && f.MinPrice == nil && f.MaxPrice == nil && f.MaxFootprint == nil &&
		(f.MinScore == nil || (*f.MinScore >= 0 && *f.MinScore <= 100))
}

// realPosition reports whether the cursor position of q is where a product
// stands in q's sort, as every cursor the catalog hands out is.
func (s cachedStore) realPosition(ctx context.Context, q ports.ProductQuery) bool {
	if _, err := ecolaura.ParseID(string(q.After.ID)); err != nil {
		return false
	}
	ps, err := s.getMany(ctx, []ecolaura.ID{q.After.ID})
	if err != nil || len(ps) != 1 {
		return false
	}
	sort := q.Sort
	if sort == "" {
		sort = ecolaura.SortNewest
	}
	return sort.SortKey(ps[0]) == q.After.Key
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
	gen, ok, err := d.generation(ctx)
	if err != nil || !ok {
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

// Create stores the product in a transaction of its own, invalidating as
// [Database.Do] does.
func (s cachedStore) Create(ctx context.Context, p ecolaura.Product) error {
	return s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return tx.Products().Create(ctx, p) })
}

// Update stores the product in a transaction of its own, invalidating as
// [Database.Do] does; on ErrConflict or ErrNotFound the product's entry is
// deleted first, so a retry reads the store.
func (s cachedStore) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	var out ecolaura.Product
	err := s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		var err error
		out, err = tx.Products().Update(ctx, p)
		return err
	})
	return out, err
}

// Delete removes the product in a transaction of its own, invalidating as
// [Database.Do] does.
func (s cachedStore) Delete(ctx context.Context, id ecolaura.ID) error {
	return s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return tx.Products().Delete(ctx, id) })
}

// GetByVariants reads the store (not cached: checkout reads it, in a
// transaction).
func (s cachedStore) GetByVariants(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	return s.inner().GetByVariants(ctx, ids)
}

// cachedInventory is the inventory store outside transactions: reads go to
// the store, each write runs in a transaction of its own, invalidating as
// [Database.Do] does.
type cachedInventory struct{ d *Database }

var _ ports.InventoryStore = cachedInventory{}

func (s cachedInventory) inner() ports.InventoryStore { return s.d.db.Inventory() }

func (s cachedInventory) Locations(ctx context.Context) ([]ecolaura.StockLocation, error) {
	return s.inner().Locations(ctx)
}

func (s cachedInventory) CreateLocation(ctx context.Context, l ecolaura.StockLocation) error {
	return s.inner().CreateLocation(ctx, l) // no product shows a location's stock before it is changed
}

func (s cachedInventory) Levels(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.InventoryLevel, error) {
	return s.inner().Levels(ctx, ids)
}

func (s cachedInventory) Movements(ctx context.Context, q ports.MovementQuery) ([]ecolaura.InventoryMovement, error) {
	return s.inner().Movements(ctx, q)
}

func (s cachedInventory) Change(ctx context.Context, c ports.InventoryChange) (ports.InventoryResult, error) {
	var out ports.InventoryResult
	err := s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		var err error
		out, err = tx.Inventory().Change(ctx, c)
		return err
	})
	return out, err
}

func (s cachedInventory) Sell(ctx context.Context, sales ...ports.Sale) ([]ports.InventoryResult, error) {
	var out []ports.InventoryResult
	err := s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		var err error
		out, err = tx.Inventory().Sell(ctx, sales...)
		return err
	})
	return out, err
}

// Do runs fn in a transaction of the wrapped database. Product writes made
// through tx are recorded; just before the commit their fences get leases
// (or, when the cache cannot be reached, they are recorded in the journal
// within the transaction), and after a successful commit (or an unknown
// outcome) they get fresh values. Products whose write the store refused
// with ErrConflict or ErrNotFound, or that a read in the transaction did not
// find, lose their cached entry. It returns fn's
// error unchanged, or the journal's when the write could be neither
// announced nor recorded.
func (d *Database) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	var (
		rec *recorder
		seq int64
	)
	err := d.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		rec, seq = newRecorder(), 0 // Do may run fn again: keep only the last attempt
		if err := fn(ctx, recordingTx{Tx: tx, rec: rec}); err != nil {
			return err
		}
		p := rec.plan()
		if p.empty() {
			return nil
		}
		var err error
		seq, err = d.announce(ctx, tx, p)
		return err
	})
	if rec == nil {
		return err
	}
	// Invalidate even when the caller's context ends right after its commit.
	ictx := context.WithoutCancel(ctx)
	committed := outcomeMayHaveCommitted(err)
	if committed {
		if p := rec.plan(); !p.empty() {
			d.settle(ictx, p, seq)
		}
	}
	d.evict(ictx, rec.refusedIDs(committed))
	return err
}
