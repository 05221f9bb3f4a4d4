package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// countingCatalog counts the product reads the API makes and can run a hook
// after a read, to simulate a write that commits just after the read.
type countingCatalog struct {
	httpapi.Catalog
	reads     atomic.Int64
	mu        sync.Mutex
	afterRead func()
}

func (c *countingCatalog) read() {
	c.reads.Add(1)
	c.mu.Lock()
	hook := c.afterRead
	c.afterRead = nil
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (c *countingCatalog) onNextRead(f func()) {
	c.mu.Lock()
	c.afterRead = f
	c.mu.Unlock()
}

func (c *countingCatalog) Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Product, error) {
	p, err := c.Catalog.Get(ctx, actor, id)
	c.read()
	return p, err
}

func (c *countingCatalog) List(ctx context.Context, actor ecolaura.Principal, params catalog.ListParams) (catalog.ListResult, error) {
	res, err := c.Catalog.List(ctx, actor, params)
	c.read()
	return res, err
}

type countingSustainability struct {
	httpapi.Sustainability
	reads *atomic.Int64
}

func (s countingSustainability) Alternatives(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, limit int) ([]sustainability.Alternative, error) {
	s.reads.Add(1)
	return s.Sustainability.Alternatives(ctx, actor, id, limit)
}

// TestResponseCacheLoadsOncePerMiss checks every cached product endpoint:
// a request loads from the services at most once, repeated requests are
// served from the cache without loading, and after a write the next
// response shows it.
func TestResponseCacheLoadsOncePerMiss(t *testing.T) {
	cat := &countingCatalog{}
	h := newHarness(t, withServices(func(s *httpapi.Services) {
		cat.Catalog = s.Catalog
		s.Catalog = cat
		s.Sustainability = countingSustainability{Sustainability: s.Sustainability, reads: &cat.reads}
	}))
	p := h.product("Bamboo brush", "personal-care", 450, 10, metrics(300, true, true))
	h.product("Steel brush", "personal-care", 900, 10, metrics(100, true, true))
	id := string(p.ID)
	paths := []string{
		"/api/v1/products/",
		"/api/v1/products/?category=personal-care",
		"/api/v1/products/" + id + "/",
		"/api/v2/products",
		"/api/v2/products/" + id,
		"/api/v2/products/" + id + "/alternatives",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			get := func() (response, int64) {
				t.Helper()
				before := cat.reads.Load()
				r := h.do(req{Path: path})
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				return r, cat.reads.Load() - before
			}
			first, n := get()
			assert.Equal(t, int64(1), n, "a miss loads once")
			var hits int
			for range 3 {
				r, n := get()
				assert.LessOrEqual(t, n, int64(1), "a request loads at most once")
				assert.Equal(t, first.Body, r.Body)
				if n == 0 {
					hits++
				}
			}
			assert.GreaterOrEqual(t, hits, 2, "the response is cached by the second request at the latest")
		})
	}
}

// TestResponseCacheNeverStoresABodyOlderThanItsStamp: a write that commits
// right after a miss has loaded its body (and so changes the products'
// stamp before the response is stored) must not leave the old body cached
// as current. It covers both misses: a key never seen (no entry) and a key
// whose entry holds the IDs it showed.
func TestResponseCacheNeverStoresABodyOlderThanItsStamp(t *testing.T) {
	cat := &countingCatalog{}
	h := newHarness(t, withServices(func(s *httpapi.Services) {
		cat.Catalog = s.Catalog
		s.Catalog = cat
	}))
	p := h.product("Bamboo brush", "personal-care", 450, 10, nil)
	for _, path := range []string{"/api/v1/products/" + string(p.ID) + "/", "/api/v1/products/"} {
		stock := func(t *testing.T, r response) float64 {
			t.Helper()
			m := r.JSON(t)
			if results, ok := m["results"].([]any); ok {
				m = results[0].(map[string]any)
			}
			return m["stock"].(float64)
		}
		// writeAfterNextRead makes the next product read of the API commit a
		// stock change right after it has read, and returns the new stock.
		writeAfterNextRead := func(t *testing.T) int {
			t.Helper()
			cur, err := h.catalog.Get(context.Background(), ecolaura.Anonymous, p.ID)
			require.NoError(t, err)
			cat.onNextRead(func() {
				// A stock movement (as by a checkout): it changes the
				// product's stamp but not the catalog generation.
				_, err := porttest.AdjustStock(context.Background(), h.db,
					porttest.StockAdjustment{ProductID: p.ID, Delta: 1, At: time.Now()})
				assert.NoError(t, err)
			})
			return cur.Stock + 1
		}
		for _, state := range []string{"no entry", "the IDs of the last response"} {
			t.Run(path+"/"+state, func(t *testing.T) {
				// A catalog edit bumps the generation: the next request is a
				// miss on a key never seen.
				reset := 100 + int(cat.reads.Load())
				_, err := h.catalog.Update(context.Background(), ecolaura.System(), p.ID, catalog.Patch{Stock: &reset})
				require.NoError(t, err)
				if state != "no entry" {
					before := cat.reads.Load()
					h.do(req{Path: path}) // stores the IDs it showed
					require.Equal(t, int64(1), cat.reads.Load()-before)
				}
				reads := cat.reads.Load()
				want := writeAfterNextRead(t)
				require.Equal(t, http.StatusOK, h.do(req{Path: path}).Status)
				require.Equal(t, int64(1), cat.reads.Load()-reads, "the request loaded once, and the write ran after that load")
				for i := range 3 {
					r := h.do(req{Path: path})
					require.Equal(t, http.StatusOK, r.Status)
					assert.Equal(t, float64(want), stock(t, r), "request %d after the write shows it, not the body loaded before it", i)
				}
			})
		}
	}
}
