package productcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// Tests of the faults of issue 10 item 11 and issue 11 (fences), each a
// process dying or a cache going away at the wrong moment. A "process" is a
// productcache.Database over the shared store and the shared cache; a dead
// one is never used again and its cache (its connection) never works again.

var staff = ecolaura.Principal{UserID: "00000000-0000-7000-8000-0000000000aa", Role: ecolaura.RoleStaff}

// setPrice changes the price through db in a transaction of its own.
func setPrice(t *testing.T, db ports.Database, id ecolaura.ID, amount int64) {
	t.Helper()
	err := db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
		p, err := tx.Products().Get(ctx, id)
		if err != nil {
			return err
		}
		p.Price.Amount = amount
		_, err = tx.Products().Update(ctx, p)
		return err
	})
	require.NoError(t, err)
}

// priceThrough reads the product's price through db, and its price in a
// one-item list.
func priceThrough(t *testing.T, db ports.Database, id ecolaura.ID) (get, list int64) {
	t.Helper()
	p, err := db.Products().Get(context.Background(), id)
	require.NoError(t, err)
	page, err := db.Products().List(context.Background(), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: p.Category}, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	return p.Price.Amount, page.Items[0].Price.Amount
}

// TestNoStaleProductAfterTheWriterDiesDuringAnOutage is issue 10 item 11:
// replicas cache a product; the cache goes away (for everyone, or only for
// the writer); the price is changed through the writer, which then dies
// without ever reaching the cache again; the cache comes back with its
// data. No replica, nor a new one, may then serve the old price.
func TestNoStaleProductAfterTheWriterDiesDuringAnOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// everyone: the outage hits the reader too (Redis down); otherwise
		// only the writer is cut off (a partition), and the reader learns of
		// the write from the journal in the background.
		everyone bool
	}{
		{"cache down for every replica", true},
		{"writer cut off alone", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store, shared := memory.NewDatabase(), memory.NewCache()
			readerCache := &flakyCache{Cache: shared}
			reader, err := productcache.Wrap(store, readerCache, productcache.WithJournalInterval(20*time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(func() { _ = reader.Close(ctx) })
			writerCache := &flakyCache{Cache: shared}
			writer, err := productcache.Wrap(store, writerCache)
			require.NoError(t, err)

			p := porttest.NewProduct("outage")
			require.NoError(t, store.Products().Create(ctx, p))
			for range 2 {
				get, list := priceThrough(t, reader, p.ID)
				require.Equal(t, p.Price.Amount, get)
				require.Equal(t, p.Price.Amount, list)
			}
			hits := reader.Stats().ProductHits
			require.Positive(t, hits, "the reader serves the product from the cache")

			writerCache.failReads.Store(true)
			writerCache.failWrites.Store(true)
			if tc.everyone {
				readerCache.failReads.Store(true)
				readerCache.failWrites.Store(true)
			}
			setPrice(t, writer, p.ID, 2000) // the write succeeds without the cache
			// The writer dies: it never reaches the cache again.
			if tc.everyone {
				get, list := priceThrough(t, reader, p.ID)
				assert.Equal(t, int64(2000), get, "during the outage the reader reads the store")
				assert.Equal(t, int64(2000), list)
				readerCache.failReads.Store(false)
				readerCache.failWrites.Store(false)
				for range 5 { // from the first read after the cache is back
					get, list := priceThrough(t, reader, p.ID)
					assert.Equal(t, int64(2000), get, "the reader serves the price from before the outage")
					assert.Equal(t, int64(2000), list, "the reader's list shows the price from before the outage")
				}
			} else {
				require.Eventually(t, func() bool {
					get, list := priceThrough(t, reader, p.ID)
					return get == 2000 && list == 2000
				}, porttest.Liveness, 5*time.Millisecond, "the reader never learns of the dead writer's price")
			}
			newcomer, err := productcache.Wrap(store, shared)
			require.NoError(t, err)
			t.Cleanup(func() { _ = newcomer.Close(ctx) })
			get, list := priceThrough(t, newcomer, p.ID)
			assert.Equal(t, int64(2000), get, "a new replica serves the price from before the outage")
			assert.Equal(t, int64(2000), list)
			require.Eventually(t, func() bool {
				priceThrough(t, reader, p.ID)
				return reader.Stats().ProductHits > hits
			}, porttest.Liveness, 5*time.Millisecond, "the reader caches again")
			get, _ = priceThrough(t, reader, p.ID)
			assert.Equal(t, int64(2000), get)
			assert.Positive(t, writer.Stats().Journaled, "the write was journaled")
		})
	}
}

// dyingDB kills its process (makes its cache fail for good) right after
// each transaction commits, and calls beforeCommit between fn (whose end,
// in a productcache, sets the leases) and the commit.
type dyingDB struct {
	*memory.Database
	cache        *flakyCache
	beforeCommit func()
}

func (d dyingDB) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	err := d.Database.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if d.beforeCommit != nil {
			d.beforeCommit()
		}
		return nil
	})
	d.cache.failReads.Store(true)
	d.cache.failWrites.Store(true)
	return err
}

// TestNoStaleProductWhenTheWriterDiesAtItsCommit: with the cache healthy,
// the writing process dies between its commit and its invalidation (a
// pending invalidation that lived only in its memory). Another replica must
// not serve the old price, neither one that read while the write was in
// progress.
func TestNoStaleProductWhenTheWriterDiesAtItsCommit(t *testing.T) {
	for _, readDuringCommit := range []bool{false, true} {
		t.Run(map[bool]string{false: "reader idle", true: "reader reads during the commit"}[readDuringCommit], func(t *testing.T) {
			ctx := context.Background()
			store, shared := memory.NewDatabase(), memory.NewCache()
			reader, err := productcache.Wrap(store, shared, productcache.WithLeaseTTL(100*time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(func() { _ = reader.Close(ctx) })
			p := porttest.NewProduct("dying")
			require.NoError(t, store.Products().Create(ctx, p))
			for range 2 {
				priceThrough(t, reader, p.ID)
			}
			db := dyingDB{Database: store, cache: &flakyCache{Cache: shared}}
			var readDuring atomic.Int64
			if readDuringCommit {
				db.beforeCommit = func() {
					got, err := reader.Products().Get(ctx, p.ID)
					if assert.NoError(t, err) {
						readDuring.Store(got.Price.Amount)
					}
				}
			}
			writer, err := productcache.Wrap(db, db.cache, productcache.WithLeaseTTL(100*time.Millisecond))
			require.NoError(t, err)
			setPrice(t, writer, p.ID, 3000)
			if readDuringCommit {
				assert.Equal(t, p.Price.Amount, readDuring.Load(), "before the commit the reader sees the old price")
			}
			deadline := time.Now().Add(300 * time.Millisecond) // past the lease
			for time.Now().Before(deadline) {
				get, list := priceThrough(t, reader, p.ID)
				require.Equal(t, int64(3000), get, "the old price is served after the writer died at its commit")
				require.Equal(t, int64(3000), list)
				time.Sleep(5 * time.Millisecond)
			}
			hits := reader.Stats().ProductHits
			priceThrough(t, reader, p.ID)
			assert.Greater(t, reader.Stats().ProductHits, hits, "once the lease expired the product is cached again")
		})
	}
}

// countingCache counts the calls of each cache method.
type countingCache struct {
	productcache.Cache
	mu    sync.Mutex
	calls map[string]int
	// largestSetMany is the most keys one SetMany carried.
	largestSetMany int
}

func (c *countingCache) count(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[method]++
}

func (c *countingCache) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.count("Get")
	return c.Cache.Get(ctx, key)
}

func (c *countingCache) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	c.count("GetMany")
	return c.Cache.GetMany(ctx, keys)
}

func (c *countingCache) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	c.count("Set")
	return c.Cache.Set(ctx, key, v, ttl)
}

func (c *countingCache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error {
	c.count("SetMany")
	c.mu.Lock()
	c.largestSetMany = max(c.largestSetMany, len(values))
	c.mu.Unlock()
	return c.Cache.SetMany(ctx, values, ttl)
}

func (c *countingCache) AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error) {
	c.count("AddMany")
	return c.Cache.AddMany(ctx, values, ttl)
}

func (c *countingCache) Delete(ctx context.Context, keys ...string) error {
	c.count("Delete")
	return c.Cache.Delete(ctx, keys...)
}

func (c *countingCache) Incr(ctx context.Context, key string) (int64, error) {
	c.count("Incr")
	return c.Cache.Incr(ctx, key)
}

// TestInvalidationAfterAnOutageIsBatched is issue 11's fence bug: the
// invalidations of many products written during an outage reach the cache
// in one round trip, not one per product.
func TestInvalidationAfterAnOutageIsBatched(t *testing.T) {
	ctx := context.Background()
	store := memory.NewDatabase()
	counted := &countingCache{Cache: memory.NewCache()}
	cache := &flakyCache{Cache: counted}
	db, err := productcache.Wrap(store, cache, productcache.WithRetryInterval(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(ctx) })
	const n = 50
	ids := make([]ecolaura.ID, n)
	for i := range ids {
		p := porttest.NewProduct("batched")
		require.NoError(t, store.Products().Create(ctx, p))
		ids[i] = p.ID
	}
	_, err = db.Products().GetMany(ctx, ids) // warm
	require.NoError(t, err)

	cache.failReads.Store(true)
	cache.failWrites.Store(true)
	for i, id := range ids { // one write per product, each its own transaction
		setPrice(t, db, id, int64(5000+i))
	}
	before := counted.snapshot()
	cache.failReads.Store(false)
	cache.failWrites.Store(false)
	require.Eventually(t, func() bool {
		ps, err := db.Products().GetMany(ctx, ids)
		return err == nil && len(ps) == n && ps[n-1].Price.Amount == 5000+n-1 && db.Stats().JournalApplied == n
	}, porttest.Liveness, 2*time.Millisecond)
	after := counted.snapshot()
	writes := 0
	for _, m := range []string{"SetMany", "Set", "Incr", "Delete", "AddMany"} {
		writes += after[m] - before[m]
	}
	assert.Zero(t, after["Incr"]-before["Incr"], "no counter per product")
	assert.LessOrEqual(t, after["SetMany"]-before["SetMany"], 2, "the fences of the %d products are replaced in one round trip", n)
	assert.GreaterOrEqual(t, counted.largestSetMany, n, "one SetMany carries every fence")
	assert.LessOrEqual(t, writes, 2+n, "cache writes after the outage: one batch, then the reloaded entries")
	for i, id := range ids {
		got, err := db.Products().Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, int64(5000+i), got.Price.Amount)
	}
}

// TestFencesExpire is issue 11's fence bug: fences (and the generation)
// are given a lifetime instead of living forever.
func TestFencesExpire(t *testing.T) {
	ctx := context.Background()
	clk := memory.NewManualClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	shared := memory.NewCache(memory.WithCacheClock(clk))
	store := memory.NewDatabase()
	db, err := productcache.Wrap(store, shared)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(ctx) })
	p := porttest.NewProduct("fences")
	require.NoError(t, store.Products().Create(ctx, p))
	priceThrough(t, db, p.ID)
	setPrice(t, db, p.ID, 1234) // a write: the fence and generation are set
	priceThrough(t, db, p.ID)
	for _, k := range []string{"product-fence:" + string(p.ID), "catalog:generation"} {
		_, ok, err := shared.Get(ctx, k)
		require.NoError(t, err)
		require.True(t, ok, "%s is set", k)
	}
	clk.Advance(4*productcache.DefaultTTL + time.Second)
	for _, k := range []string{"product-fence:" + string(p.ID), "catalog:generation"} {
		_, ok, err := shared.Get(ctx, k)
		require.NoError(t, err)
		assert.False(t, ok, "%s outlives four entry lifetimes", k)
	}
	get, list := priceThrough(t, db, p.ID)
	assert.Equal(t, int64(1234), get)
	assert.Equal(t, int64(1234), list)
}

// TestEvictedFenceNeverRevivesAnOldEntry: an old entry left in the cache
// (its deletion failed) must not become valid again when its fence is
// evicted, as it did when a missing fence meant "never written" (0).
func TestEvictedFenceNeverRevivesAnOldEntry(t *testing.T) {
	ctx := context.Background()
	store, shared := memory.NewDatabase(), memory.NewCache()
	noDelete := &flakyCache{Cache: shared}
	reader, err := productcache.Wrap(store, shared)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reader.Close(ctx) })
	writer, err := productcache.Wrap(store, noDeleteCache{noDelete})
	require.NoError(t, err)
	t.Cleanup(func() { _ = writer.Close(ctx) })
	p := porttest.NewProduct("evicted")
	require.NoError(t, store.Products().Create(ctx, p))
	for range 2 {
		priceThrough(t, reader, p.ID)
	}
	setPrice(t, writer, p.ID, 4321)
	require.NoError(t, shared.Delete(ctx, "product-fence:"+string(p.ID))) // evicted
	got, err := reader.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(4321), got.Price.Amount, "the entry cached before the write is valid again")
}

// noDeleteCache ignores deletions (as a cache whose DEL was lost would).
type noDeleteCache struct{ productcache.Cache }

func (noDeleteCache) Delete(context.Context, ...string) error { return nil }

// TestStoreRefusalReadsTheStoreAgain is issue 10 item 18: a product changed
// or deleted outside the cache (SQL, a restore) is not stuck behind its
// cached entry: the staff's next edit succeeds (no 409 until the entry
// expires) and a deleted product stops being served.
func TestStoreRefusalReadsTheStoreAgain(t *testing.T) {
	ctx := context.Background()
	store := memory.NewDatabase()
	cached, err := productcache.Wrap(store, memory.NewCache())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cached.Close(ctx) })
	svc, err := catalog.New(cached, system.Clock{}, system.UUIDv7{})
	require.NoError(t, err)

	p := porttest.NewProduct("outofband")
	require.NoError(t, store.Products().Create(ctx, p))
	for range 2 {
		_, err := svc.Get(ctx, ecolaura.Anonymous, p.ID)
		require.NoError(t, err)
	}
	// A manual fix in the database, behind the cache's back.
	fixed := p.Clone()
	fixed.Name = "Fixed by SQL"
	_, err = store.Products().Update(ctx, fixed)
	require.NoError(t, err)

	price := ecolaura.NewMoney(1500, ecolaura.DefaultCurrency)
	got, err := svc.Update(ctx, staff, p.ID, catalog.Patch{Price: &price})
	require.NoError(t, err, "the staff's edit of a product changed behind the cache")
	assert.Equal(t, "Fixed by SQL", got.Name, "the edit applies to the stored product")
	assert.Equal(t, int64(1500), got.Price.Amount)
	read, err := svc.Get(ctx, ecolaura.Anonymous, p.ID)
	require.NoError(t, err)
	assert.Equal(t, got, read)

	// Deleted behind the cache's back: the next edit is refused with
	// not-found, and the product is no longer served.
	q := porttest.NewProduct("outofband")
	require.NoError(t, store.Products().Create(ctx, q))
	for range 2 {
		_, err := svc.Get(ctx, ecolaura.Anonymous, q.ID)
		require.NoError(t, err)
	}
	require.NoError(t, store.Products().Delete(ctx, q.ID))
	_, err = svc.Update(ctx, staff, q.ID, catalog.Patch{Price: &price})
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	_, err = svc.Get(ctx, ecolaura.Anonymous, q.ID)
	assert.ErrorIs(t, err, ecolaura.ErrNotFound, "a product deleted behind the cache is still served")
	assert.Positive(t, cached.Stats().Evictions)
}

// TestSearchesAndEmptyPagesAreNotCached is issue 10 item 14: free-form
// search text is never a cache key, and neither is a filter that matches
// nothing (any well-formed slug would make a key).
func TestSearchesAndEmptyPagesAreNotCached(t *testing.T) {
	ctx := context.Background()
	counted := &countingCache{Cache: memory.NewCache()}
	store := memory.NewDatabase()
	db, err := productcache.Wrap(store, counted)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(ctx) })
	require.NoError(t, store.Products().Create(ctx, porttest.NewProduct("search")))
	before := counted.snapshot()
	for _, term := range []string{"bamboo", "bamboo brush", "junk-1", "junk-2"} {
		_, err := db.Products().List(ctx, ports.ProductQuery{Filter: ecolaura.ProductFilter{Query: term}, Limit: 10})
		require.NoError(t, err)
	}
	after := counted.snapshot()
	assert.Equal(t, before["Set"], after["Set"], "a search result was cached")
	assert.Zero(t, db.Stats().ListMisses+db.Stats().ListHits)
	for i := range 20 {
		page, err := db.Products().List(ctx, ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: fmt.Sprintf("nothing-%d", i)}, Limit: 10})
		require.NoError(t, err)
		require.Empty(t, page.Items)
	}
	assert.Equal(t, after["Set"], counted.snapshot()["Set"], "an empty page was cached")
}

// TestAnonymousReadsCreateNoUnboundedKeys is the QA report's follow-up of
// issue 10 item 14: a look-up of a product that does not exist left a
// fence key behind (one per random UUID, for an hour), and lists with
// numeric bounds (prices, footprint) or a forged cursor were cached under
// a key per value. None of them may add a key; pages of real positions and
// bounded filters are still cached.
func TestAnonymousReadsCreateNoUnboundedKeys(t *testing.T) {
	ctx := context.Background()
	cache := memory.NewCache()
	store := memory.NewDatabase()
	db, err := productcache.Wrap(store, cache)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(ctx) })
	svc, err := catalog.New(db, system.Clock{}, system.UUIDv7{})
	require.NoError(t, err)
	for i := range 12 {
		p := porttest.NewProduct("bounded")
		p.Price.Amount = int64(100 * (i + 1))
		require.NoError(t, store.Products().Create(ctx, p))
	}
	// Warm what is legitimately cached: the generation, the first page.
	first, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{PageSize: 5})
	require.NoError(t, err)
	_, err = svc.Get(ctx, ecolaura.Anonymous, first.Items[0].ID) // its fence and entry: one per product
	require.NoError(t, err)
	base := cache.Stats().Entries
	require.Positive(t, base)

	tests := []struct {
		name string
		read func(i int) error
	}{
		{"products that do not exist", func(int) error {
			_, err := svc.Get(ctx, ecolaura.Anonymous, system.UUIDv7{}.NewID())
			if !errors.Is(err, ecolaura.ErrNotFound) {
				return fmt.Errorf("want not found, got %v", err)
			}
			_, err = db.Products().GetMany(ctx, []ecolaura.ID{system.UUIDv7{}.NewID(), system.UUIDv7{}.NewID()})
			return err
		}},
		{"minimum prices", func(i int) error {
			minor := int64(i + 1)
			_, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Filter: ecolaura.ProductFilter{MinPrice: &minor}})
			return err
		}},
		{"maximum prices", func(i int) error {
			minor := int64(100000 + i)
			_, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Filter: ecolaura.ProductFilter{MaxPrice: &minor}})
			return err
		}},
		{"maximum footprints", func(i int) error {
			g := ecolaura.CO2e(1000000 + i)
			_, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Filter: ecolaura.ProductFilter{MaxFootprint: &g}})
			return err
		}},
		{"forged cursors", func(i int) error {
			cursor := catalog.EncodeCursor(ecolaura.SortPriceAsc, ecolaura.ProductPosition{Key: int64(i), ID: system.UUIDv7{}.NewID()})
			_, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Sort: ecolaura.SortPriceAsc, Cursor: cursor})
			return err
		}},
		{"cursors at a real product with another key", func(i int) error {
			pos := ecolaura.ProductPosition{Key: int64(i), ID: first.Items[0].ID}
			_, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Sort: ecolaura.SortPriceAsc, Cursor: catalog.EncodeCursor(ecolaura.SortPriceAsc, pos)})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cache.Stats().Entries
			for i := range 50 {
				require.NoError(t, tt.read(i))
			}
			assert.Equal(t, before, cache.Stats().Entries, "the reads added cache keys")
		})
	}
	// A real cursor page is still cached, once.
	next, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{PageSize: 5, Cursor: first.NextCursor})
	require.NoError(t, err)
	require.Len(t, next.Items, 5)
	misses := db.Stats().ListMisses
	_, err = svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{PageSize: 5, Cursor: first.NextCursor})
	require.NoError(t, err)
	assert.Equal(t, misses, db.Stats().ListMisses, "the page after a real cursor is served from the cache")
}
