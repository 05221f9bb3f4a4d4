package productcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// flakyCache is a real memory cache whose reads and writes can be made to fail.
type flakyCache struct {
	productcache.Cache
	failReads, failWrites atomic.Bool
}

var errCacheDown = errors.New("cache down")

func (c *flakyCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.failReads.Load() {
		return nil, false, errCacheDown
	}
	return c.Cache.Get(ctx, key)
}

func (c *flakyCache) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if c.failReads.Load() {
		return nil, errCacheDown
	}
	return c.Cache.GetMany(ctx, keys)
}

func (c *flakyCache) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if c.failWrites.Load() {
		return errCacheDown
	}
	return c.Cache.Set(ctx, key, v, ttl)
}

func (c *flakyCache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error {
	if c.failWrites.Load() {
		return errCacheDown
	}
	return c.Cache.SetMany(ctx, values, ttl)
}

func (c *flakyCache) AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error) {
	if c.failWrites.Load() {
		return nil, errCacheDown
	}
	return c.Cache.AddMany(ctx, values, ttl)
}

func (c *flakyCache) Delete(ctx context.Context, keys ...string) error {
	if c.failWrites.Load() {
		return errCacheDown
	}
	return c.Cache.Delete(ctx, keys...)
}

func (c *flakyCache) Incr(ctx context.Context, key string) (int64, error) {
	if c.failWrites.Load() {
		return 0, errCacheDown
	}
	return c.Cache.Incr(ctx, key)
}

// syncBuffer is a bytes.Buffer safe for the background loop's logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noJournal hides the journal of a database: invalidations that fail live
// only in the writing process.
type noJournal struct{ ports.Database }

type fixture struct {
	db     *memory.Database
	cache  *flakyCache
	cached *productcache.Database
	clock  *memory.ManualClock
	ids    *memory.SequentialIDs
}

func newFixture(t testing.TB, opts ...productcache.Option) *fixture {
	t.Helper()
	f := &fixture{
		db:    memory.NewDatabase(),
		cache: &flakyCache{Cache: memory.NewCache()},
		clock: memory.NewManualClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		ids:   memory.NewSequentialIDs(),
	}
	var err error
	f.cached, err = productcache.Wrap(f.db, f.cache, opts...)
	require.NoError(t, err)
	return f
}

// add stores n products directly in the database (no cache involved).
func (f *fixture) add(t testing.TB, n int, category string, stock int) []ecolaura.Product {
	t.Helper()
	var out []ecolaura.Product
	for i := range n {
		now := f.clock.Advance(time.Second)
		p := ecolaura.Product{
			ID: f.ids.NewID(), Name: fmt.Sprintf("%s %d", category, i), Category: category,
			Price: ecolaura.NewMoney(int64(100+i), "EUR"), Stock: stock,
			Metrics:   &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.CO2e(100 * (i + 1)), Recyclable: true},
			CreatedAt: now, UpdatedAt: now, Version: 1,
		}
		p.Rescore()
		require.NoError(t, f.db.Products().Create(context.Background(), p))
		out = append(out, p)
	}
	return out
}

func (f *fixture) list(t *testing.T, q ports.ProductQuery) ports.ProductPage {
	t.Helper()
	page, err := f.cached.Products().List(context.Background(), q)
	require.NoError(t, err)
	return page
}

func (f *fixture) get(t *testing.T, id ecolaura.ID) ecolaura.Product {
	t.Helper()
	p, err := f.cached.Products().Get(context.Background(), id)
	require.NoError(t, err)
	return p
}

// checkout takes one unit of each product in one transaction.
func (f *fixture) checkout(t *testing.T, ids ...ecolaura.ID) {
	t.Helper()
	err := f.cached.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
		for _, id := range ids {
			if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: id, Delta: -1, At: f.clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
}

func pageIDs(p ports.ProductPage) []ecolaura.ID {
	out := make([]ecolaura.ID, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.ID
	}
	return out
}

func TestWrapValidates(t *testing.T) {
	db, cache := memory.NewDatabase(), memory.NewCache()
	tests := []struct {
		name  string
		db    ports.Database
		cache productcache.Cache
		opts  []productcache.Option
		field string
	}{
		{"nil database", nil, cache, nil, "database"},
		{"nil cache", db, nil, nil, "cache"},
		{"zero ttl", db, cache, []productcache.Option{productcache.WithTTL(0)}, "ttl"},
		{"retry above its cap", db, cache, []productcache.Option{productcache.WithRetryInterval(time.Second, time.Millisecond)}, "max_retry_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := productcache.Wrap(tt.db, tt.cache, tt.opts...)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a wiring mistake is not invalid user input")
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestReadsAreCachedAndWritesVisibleOnTheNextRead(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ps := f.add(t, 5, "kitchen", 10)
	q := ports.ProductQuery{Sort: ecolaura.SortPriceAsc, Limit: 3, WithTotal: true}

	first := f.list(t, q)
	assert.Equal(t, productcache.Stats{ListMisses: 1}, f.cached.Stats())
	second := f.list(t, q) // list hit, products loaded into the cache
	third := f.list(t, q)  // everything from the cache
	assert.Equal(t, first, second)
	assert.Equal(t, first, third)
	st := f.cached.Stats()
	assert.Equal(t, uint64(2), st.ListHits)
	assert.Equal(t, uint64(3), st.ProductMisses)
	assert.Equal(t, uint64(3), st.ProductHits)
	assert.Equal(t, 5, third.Total)

	// A price change through the cached store is visible at once, in the
	// product and in the (re-sorted) list.
	p := f.get(t, ps[0].ID)
	p.Price = ecolaura.NewMoney(9999, "EUR")
	_, err := f.cached.Products().Update(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, int64(9999), f.get(t, p.ID).Price.Amount)
	after := f.list(t, q)
	assert.NotContains(t, pageIDs(after), p.ID, "the product moved to the end of the price order")

	// A stock change in a transaction is visible at once too.
	f.checkout(t, ps[1].ID)
	assert.Equal(t, 9, f.get(t, ps[1].ID).Stock)
	for _, it := range f.list(t, q).Items {
		if it.ID == ps[1].ID {
			assert.Equal(t, 9, it.Stock)
		}
	}

	// Deletes and creates change lists and categories at once.
	cats, err := f.cached.Products().Categories(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, cats[0].Products)
	require.NoError(t, f.cached.Products().Delete(ctx, ps[2].ID))
	_, err = f.cached.Products().Get(ctx, ps[2].ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	assert.NotContains(t, pageIDs(f.list(t, q)), ps[2].ID)
	cats, err = f.cached.Products().Categories(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, cats[0].Products)
	stats, err := f.cached.Products().CategoryStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, stats[0].Products)
}

func TestCheckoutKeepsOtherListPagesCached(t *testing.T) {
	f := newFixture(t)
	kitchen := f.add(t, 30, "kitchen", 5)
	f.add(t, 10, "garden", 5)
	queries := []ports.ProductQuery{
		{Limit: 10},
		{Limit: 10, Offset: 10},
		{Limit: 10, Offset: 20, WithTotal: true},
		{Filter: ecolaura.ProductFilter{Category: "garden"}, Sort: ecolaura.SortScore, Limit: 10},
		{Filter: ecolaura.ProductFilter{InStock: true}, Sort: ecolaura.SortPriceAsc, Limit: 10},
	}
	for range 2 { // warm lists and product entries
		for _, q := range queries {
			f.list(t, q)
		}
	}
	_, err := f.cached.Products().Categories(context.Background())
	require.NoError(t, err)
	gen, err := f.cached.Generation(context.Background())
	require.NoError(t, err)
	before := f.cached.Stats()

	f.checkout(t, kitchen[3].ID, kitchen[17].ID) // stock 5 -> 4: no zero crossing

	for _, q := range queries {
		for _, it := range f.list(t, q).Items {
			if it.ID == kitchen[3].ID || it.ID == kitchen[17].ID {
				assert.Equal(t, 4, it.Stock, "the new stock is visible")
			}
		}
	}
	_, err = f.cached.Products().Categories(context.Background())
	require.NoError(t, err)
	after := f.cached.Stats()
	assert.Equal(t, uint64(len(queries)), after.ListHits-before.ListHits, "every list page is still a hit")
	assert.Zero(t, after.ListMisses-before.ListMisses)
	assert.Equal(t, uint64(1), after.CategoryHits-before.CategoryHits)
	assert.Zero(t, after.CategoryMisses-before.CategoryMisses)
	assert.LessOrEqual(t, after.ProductMisses-before.ProductMisses, uint64(2), "only the two products are reloaded")
	assert.Zero(t, after.GenerationBumps)
	gen2, err := f.cached.Generation(context.Background())
	require.NoError(t, err)
	assert.Equal(t, gen, gen2)
}

func TestStockCrossingZeroChangesInStockLists(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ps := f.add(t, 3, "home", 1)
	q := ports.ProductQuery{Filter: ecolaura.ProductFilter{InStock: true}, Limit: 10}
	require.Len(t, f.list(t, q).Items, 3)
	gen, err := f.cached.Generation(ctx)
	require.NoError(t, err)

	f.checkout(t, ps[0].ID) // 1 -> 0
	assert.NotContains(t, pageIDs(f.list(t, q)), ps[0].ID)
	gen2, err := f.cached.Generation(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, gen, gen2)

	_, err = porttest.AdjustStock(ctx, f.cached, porttest.StockAdjustment{ProductID: ps[0].ID, Delta: 2}) // 0 -> 2
	require.NoError(t, err)
	assert.Contains(t, pageIDs(f.list(t, q)), ps[0].ID)
}

func TestRolledBackTransactionInvalidatesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ps := f.add(t, 2, "home", 1)
	q := ports.ProductQuery{Limit: 10}
	f.list(t, q)
	f.list(t, q)
	before := f.cached.Stats()
	err := f.cached.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: ps[0].ID, Delta: -1}); err != nil {
			return err
		}
		_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: ps[1].ID, Delta: -5})
		return err
	})
	require.ErrorIs(t, err, ecolaura.ErrInsufficientStock)
	assert.Equal(t, before.Invalidations, f.cached.Stats().Invalidations)
	page := f.list(t, q)
	assert.Equal(t, before.ListHits+1, f.cached.Stats().ListHits)
	for _, p := range page.Items {
		assert.Equal(t, 1, p.Stock)
	}
}

func TestCacheFailuresFallBackToTheStore(t *testing.T) {
	ctx := context.Background()
	logs := &syncBuffer{}
	f := newFixture(t, productcache.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	ps := f.add(t, 4, "office", 3)
	q := ports.ProductQuery{Limit: 10, WithTotal: true}
	f.list(t, q)
	f.list(t, q)

	f.cache.failReads.Store(true)
	f.cache.failWrites.Store(true)
	for range 3 {
		page := f.list(t, q)
		assert.Len(t, page.Items, 4)
		assert.Equal(t, ps[0].Name, f.get(t, ps[0].ID).Name)
		_, err := f.cached.Products().Categories(ctx)
		require.NoError(t, err)
	}
	// Writes succeed although their invalidation fails...
	p := f.get(t, ps[0].ID)
	p.Price = ecolaura.NewMoney(5, "EUR")
	_, err := f.cached.Products().Update(ctx, p)
	require.NoError(t, err)
	f.checkout(t, ps[1].ID)
	assert.Positive(t, f.cached.Stats().Errors)
	assert.Equal(t, 1, strings.Count(logs.String(), "cache failing"), "one log line per burst:\n%s", logs.String())

	// ...and are still visible once the cache is back, although the stale
	// entries were never deleted while it was down.
	f.cache.failReads.Store(false)
	assert.Equal(t, int64(5), f.get(t, ps[0].ID).Price.Amount, "pending invalidation applied before reading")
	f.cache.failWrites.Store(false)
	assert.Equal(t, int64(5), f.get(t, ps[0].ID).Price.Amount)
	assert.Equal(t, 2, f.get(t, ps[1].ID).Stock)
	for _, it := range f.list(t, q).Items {
		if it.ID == ps[0].ID {
			assert.Equal(t, int64(5), it.Price.Amount)
		}
	}
	hits := f.cached.Stats().ProductHits
	require.Eventually(t, func() bool {
		return f.get(t, ps[0].ID).Price.Amount == 5 && f.cached.Stats().ProductHits > hits
	}, porttest.Liveness, 5*time.Millisecond, "reads are served from the cache again")
	assert.Contains(t, logs.String(), "cache recovered")
}

// hookDB calls hook after every product load outside a transaction.
type hookDB struct {
	*memory.Database
	hook func()
}

func (h hookDB) Products() ports.ProductStore {
	return hookStore{ProductStore: h.Database.Products(), hook: h.hook}
}

type hookStore struct {
	ports.ProductStore
	hook func()
}

func (s hookStore) GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	ps, err := s.ProductStore.GetMany(ctx, ids)
	s.hook()
	return ps, err
}

func (s hookStore) List(ctx context.Context, q ports.ProductQuery) (ports.ProductPage, error) {
	p, err := s.ProductStore.List(ctx, q)
	s.hook()
	return p, err
}

// pauser blocks the first load after arm until released.
type pauser struct {
	armed    atomic.Bool
	loaded   chan struct{}
	released chan struct{}
}

func newPauser() *pauser {
	return &pauser{loaded: make(chan struct{}), released: make(chan struct{})}
}

func (p *pauser) hook() {
	if p.armed.CompareAndSwap(true, false) {
		close(p.loaded)
		<-p.released
	}
}

// TestStaleSetRaceIsPrevented: a reader loads the old row, a writer commits
// and invalidates, then the reader stores the old row. The next read must
// still see the new value.
func TestStaleSetRaceIsPrevented(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		read  func(t *testing.T, f *fixture, p ecolaura.Product) any
		write func(t *testing.T, f *fixture, p ecolaura.Product)
		fresh func(t *testing.T, f *fixture, p ecolaura.Product)
	}{
		{
			name: "product entry vs stock change",
			read: func(t *testing.T, f *fixture, p ecolaura.Product) any {
				got, err := f.cached.Products().Get(ctx, p.ID)
				require.NoError(t, err)
				return got.Stock
			},
			write: func(t *testing.T, f *fixture, p ecolaura.Product) { f.checkout(t, p.ID) },
			fresh: func(t *testing.T, f *fixture, p ecolaura.Product) {
				assert.Equal(t, p.Stock-1, f.get(t, p.ID).Stock)
			},
		},
		{
			name: "list entry vs new product",
			read: func(t *testing.T, f *fixture, p ecolaura.Product) any {
				page, err := f.cached.Products().List(ctx, ports.ProductQuery{Limit: 10})
				require.NoError(t, err)
				return len(page.Items)
			},
			write: func(t *testing.T, f *fixture, p ecolaura.Product) {
				n := p
				n.ID, n.Name = f.ids.NewID(), "newcomer"
				require.NoError(t, f.cached.Products().Create(ctx, n))
			},
			fresh: func(t *testing.T, f *fixture, p ecolaura.Product) {
				assert.Len(t, f.list(t, ports.ProductQuery{Limit: 10}).Items, 2)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			pz := newPauser()
			var err error
			f.cached, err = productcache.Wrap(hookDB{Database: f.db, hook: pz.hook}, f.cache)
			require.NoError(t, err)
			p := f.add(t, 1, "home", 5)[0]

			pz.armed.Store(true)
			done := make(chan any)
			go func() { done <- tt.read(t, f, p) }()
			<-pz.loaded        // the reader holds the old row
			tt.write(t, f, p)  // commit + invalidate
			close(pz.released) // the reader now stores the old row
			<-done
			tt.fresh(t, f, p)
			tt.fresh(t, f, p) // and again, from the cache
		})
	}
}

func TestProcessesSharingACacheSeeEachOthersWrites(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	other, err := productcache.Wrap(f.db, f.cache) // a second process over the same backends
	require.NoError(t, err)
	p := f.add(t, 1, "garden", 3)[0]
	q := ports.ProductQuery{Filter: ecolaura.ProductFilter{InStock: true}, Limit: 5}
	for range 2 {
		_, err := other.Products().List(ctx, q)
		require.NoError(t, err)
		_, err = other.Products().Get(ctx, p.ID)
		require.NoError(t, err)
	}
	f.checkout(t, p.ID)
	got, err := other.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Stock)

	upd := got
	upd.Name = "renamed"
	_, err = f.cached.Products().Update(ctx, upd)
	require.NoError(t, err)
	page, err := other.Products().List(ctx, q)
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "renamed", page.Items[0].Name)
}

func TestGenerationAndStamp(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ps := f.add(t, 2, "baby", 5)
	ids := []ecolaura.ID{ps[0].ID}
	gen, err := f.cached.Generation(ctx)
	require.NoError(t, err)
	stamp, err := f.cached.Stamp(ctx, ids)
	require.NoError(t, err)

	f.checkout(t, ps[1].ID) // another product: the stamp of ps[0] holds
	s2, err := f.cached.Stamp(ctx, ids)
	require.NoError(t, err)
	assert.Equal(t, stamp, s2)

	f.checkout(t, ps[0].ID)
	s3, err := f.cached.Stamp(ctx, ids)
	require.NoError(t, err)
	assert.NotEqual(t, stamp, s3, "a stock change of the product changes its stamp")
	g2, err := f.cached.Generation(ctx)
	require.NoError(t, err)
	assert.Equal(t, gen, g2, "but not the generation")

	p := f.get(t, ps[1].ID)
	p.Name = "renamed"
	_, err = f.cached.Products().Update(ctx, p)
	require.NoError(t, err)
	g3, err := f.cached.Generation(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, gen, g3, "a catalog edit bumps the generation")

	f.cache.failReads.Store(true)
	_, err = f.cached.Generation(ctx)
	require.Error(t, err)
	_, err = f.cached.Stamp(ctx, ids)
	require.Error(t, err)
}

func TestEvictedGenerationRestartsAtAFreshValue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.add(t, 1, "home", 1)
	g1, err := f.cached.Generation(ctx)
	require.NoError(t, err)
	require.NoError(t, f.cache.Delete(ctx, "catalog:generation"))
	g2, err := f.cached.Generation(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, g1, g2)
	assert.Greater(t, g2, int64(1<<40))
}

func TestConcurrentReadersAndWritersConverge(t *testing.T) {
	for _, flaky := range []bool{false, true} {
		t.Run(map[bool]string{false: "healthy cache", true: "cache failing for a while"}[flaky], func(t *testing.T) {
			testConcurrentReadersAndWriters(t, flaky)
		})
	}
}

func testConcurrentReadersAndWriters(t *testing.T, flaky bool) {
	ctx := context.Background()
	f := newFixture(t)
	ps := f.add(t, 20, "kitchen", 1000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := f.cached.Products().List(ctx, ports.ProductQuery{Sort: ecolaura.SortPriceAsc, Limit: 7, Offset: (i + r) % 3 * 7})
				assert.NoError(t, err)
				_, err = f.cached.Products().GetMany(ctx, []ecolaura.ID{ps[(i+r)%20].ID, ps[(i+7)%20].ID})
				assert.NoError(t, err)
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 50 {
				if flaky && w == 0 {
					switch i {
					case 10:
						f.cache.failWrites.Store(true)
					case 20:
						f.cache.failReads.Store(true)
					case 30:
						f.cache.failReads.Store(false)
					case 40:
						f.cache.failWrites.Store(false)
					}
				}
				id := ps[(w*5+i)%20].ID
				if i%10 == 0 {
					p, err := f.cached.Products().Get(ctx, id)
					if !assert.NoError(t, err) {
						return
					}
					p.Price.Amount += 1000
					_, err = f.cached.Products().Update(ctx, p)
					if err != nil && !errors.Is(err, ecolaura.ErrConflict) {
						assert.NoError(t, err)
					}
					continue
				}
				err := f.cached.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: id, Delta: -1})
					return err
				})
				assert.NoError(t, err)
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()

	// Once writes stop, every cached read equals the store.
	all := make([]ecolaura.ID, len(ps))
	for i, p := range ps {
		all[i] = p.ID
	}
	want, err := f.db.Products().GetMany(ctx, all)
	require.NoError(t, err)
	got, err := f.cached.Products().GetMany(ctx, all)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	wantPage, err := f.db.Products().List(ctx, ports.ProductQuery{Sort: ecolaura.SortPriceAsc, Limit: 7, Offset: 7})
	require.NoError(t, err)
	assert.Equal(t, wantPage, f.list(t, ports.ProductQuery{Sort: ecolaura.SortPriceAsc, Limit: 7, Offset: 7}))
	if flaky {
		assert.Positive(t, f.cached.Stats().Errors, "the cache did fail")
	}
}

func TestResultsShareNoMemory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := f.add(t, 1, "home", 1)[0]
	for range 3 { // miss, then hits
		got, err := f.cached.Products().GetMany(ctx, []ecolaura.ID{p.ID, p.ID})
		require.NoError(t, err)
		require.Len(t, got, 2)
		got[0].Metrics.CarbonFootprint = 1
		assert.Equal(t, p.Metrics.CarbonFootprint, got[1].Metrics.CarbonFootprint)
		assert.Equal(t, p.Metrics.CarbonFootprint, f.get(t, p.ID).Metrics.CarbonFootprint)
	}
}

// A replica whose invalidation failed while the shared cache was unreachable
// applies it in the background once the cache is back, without any further
// traffic of its own, so other replicas stop serving the stale entry.
func TestFailedInvalidationIsRetriedInTheBackground(t *testing.T) {
	ctx := context.Background()
	shared := memory.NewCache()
	store := memory.NewDatabase()
	cutOff := &flakyCache{Cache: shared}
	down := func(v bool) { cutOff.failReads.Store(v); cutOff.failWrites.Store(v) }
	writer, err := productcache.Wrap(store, cutOff, productcache.WithRetryInterval(5*time.Millisecond, 20*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = writer.Close(ctx) })
	reader, err := productcache.Wrap(store, shared)
	require.NoError(t, err)

	p := porttest.NewProduct("kitchen")
	require.NoError(t, store.Products().Create(ctx, p))
	got, err := reader.Products().Get(ctx, p.ID) // warm the shared cache
	require.NoError(t, err)
	require.Equal(t, p.Price, got.Price)

	down(true)
	err = writer.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		q, err := tx.Products().Get(ctx, p.ID)
		if err != nil {
			return err
		}
		q.Price.Amount += 100
		_, err = tx.Products().Update(ctx, q)
		return err
	})
	require.NoError(t, err)
	stale, err := reader.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.Price, stale.Price, "while the writer is cut off the reader still serves its cached entry")

	down(false) // the cache is back; the writer gets no traffic
	require.Eventually(t, func() bool {
		fresh, err := reader.Products().Get(ctx, p.ID)
		return err == nil && fresh.Price.Amount == p.Price.Amount+100
	}, porttest.Liveness, 5*time.Millisecond, "the pending invalidation must be applied in the background")
	assert.NoError(t, writer.Close(ctx))
}

func TestCloseReportsInvalidationsItCouldNotApply(t *testing.T) {
	ctx := context.Background()
	store := noJournal{memory.NewDatabase()}
	c := &flakyCache{Cache: memory.NewCache()}
	db, err := productcache.Wrap(store, c)
	require.NoError(t, err)
	p := porttest.NewProduct("kitchen")
	c.failWrites.Store(true)
	require.NoError(t, db.Products().Create(ctx, p))
	assert.ErrorIs(t, db.Close(ctx), ecolaura.ErrUnavailable)
	c.failWrites.Store(false)
	assert.NoError(t, db.Close(ctx), "a later Close applies what is pending")
}

// gatedCache is a flakyCache whose Incr, once armed, signals entered and
// then blocks until release is closed.
type gatedCache struct {
	*flakyCache
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

// SetMany is how invalidations are applied (fresh fences in one round
// trip): the armed call blocks in the gate.
func (c *gatedCache) SetMany(ctx context.Context, values map[string][]byte, ttl time.Duration) error {
	if !c.failWrites.Load() && c.armed.CompareAndSwap(true, false) {
		close(c.entered)
		<-c.release
	}
	return c.flakyCache.SetMany(ctx, values, ttl)
}

// TestCloseWaitsForTheRetryInFlight: Close called while the background
// retry is applying a pending invalidation waits for it, instead of
// reporting the invalidation as lost while it is being applied.
func TestCloseWaitsForTheRetryInFlight(t *testing.T) {
	ctx := context.Background()
	store := memory.NewDatabase()
	c := &gatedCache{flakyCache: &flakyCache{Cache: memory.NewCache()}, entered: make(chan struct{}), release: make(chan struct{})}
	db, err := productcache.Wrap(store, c, productcache.WithRetryInterval(time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	c.failWrites.Store(true)
	require.NoError(t, db.Products().Create(ctx, porttest.NewProduct("kitchen")))
	c.armed.Store(true)
	c.failWrites.Store(false) // the background retry now gets through, and blocks in the gate
	<-c.entered

	closed := make(chan error, 1)
	go func() { closed <- db.Close(ctx) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while the retry was still applying the invalidation", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(c.release)
	require.NoError(t, <-closed, "the retry in flight applied the invalidation")
}
