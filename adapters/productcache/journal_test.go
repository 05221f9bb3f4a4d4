package productcache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// journalDB is a database with a product-cache journal.
type journalDB interface {
	ports.Database
	productcache.Journal
}

// TestJournalConformance runs the same checks of the journal contract on
// every adapter that implements it: the memory database and PostgreSQL.
func TestJournalConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testJournal(t, memory.NewDatabase()) })
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("needs PostgreSQL")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := postgres.Open(ctx, postgres.Config{URL: testenv.Postgres(t)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		_, err = postgres.Migrate(ctx, db, postgres.MigrateUp)
		require.NoError(t, err)
		testJournal(t, db)
	})
}

func record(t *testing.T, db ports.Database, ids []ecolaura.ID, lists bool, fail error) (int64, error) {
	t.Helper()
	var seq int64
	err := db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
		jt, ok := tx.(productcache.JournalTx)
		require.True(t, ok, "the transaction of a journal database implements JournalTx")
		var err error
		if seq, err = jt.RecordStaleProducts(ctx, ids, lists); err != nil {
			return err
		}
		return fail
	})
	return seq, err
}

func testJournal(t *testing.T, db journalDB) {
	ctx := context.Background()
	a, b, c := porttest.NewID(), porttest.NewID(), porttest.NewID()

	seqs, ids, lists, err := db.StaleProducts(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, seqs, "a new journal is empty")
	require.Empty(t, ids)
	require.False(t, lists)

	rollback := errors.New("rolled back")
	_, err = record(t, db, []ecolaura.ID{c}, true, rollback)
	require.ErrorIs(t, err, rollback)
	seqs, _, _, err = db.StaleProducts(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, seqs, "a row recorded in a rolled back transaction is not kept")

	s1, err := record(t, db, []ecolaura.ID{a, b}, false, nil)
	require.NoError(t, err)
	s2, err := record(t, db, []ecolaura.ID{b}, true, nil)
	require.NoError(t, err)
	s3, err := record(t, db, []ecolaura.ID{c}, false, nil)
	require.NoError(t, err)
	assert.Less(t, s1, s2)
	assert.Less(t, s2, s3)

	seqs, ids, lists, err = db.StaleProducts(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, []int64{s1, s2}, seqs, "the oldest rows, up to the limit")
	assert.ElementsMatch(t, []ecolaura.ID{a, b}, ids, "the union of their products, once each")
	assert.True(t, lists, "one of them changed lists")

	require.NoError(t, db.ForgetStaleProducts(ctx, []int64{s1, s2, 1 << 50}), "unknown sequence numbers are ignored")
	seqs, ids, lists, err = db.StaleProducts(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{s3}, seqs)
	assert.Equal(t, []ecolaura.ID{c}, ids)
	assert.False(t, lists)
	require.NoError(t, db.ForgetStaleProducts(ctx, []int64{s3}))
	require.NoError(t, db.ForgetStaleProducts(ctx, nil))
	seqs, _, _, err = db.StaleProducts(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, seqs)

	// Through the product cache: a write that cannot reach the cache is
	// journaled with the write, and applied (then forgotten) once it can.
	p := porttest.NewProduct("journal")
	require.NoError(t, db.Products().Create(ctx, p))
	cache := &flakyCache{Cache: memory.NewCache()}
	cached, err := productcache.Wrap(db, cache, productcache.WithRetryInterval(time.Millisecond, 10*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cached.Close(ctx) })
	cache.failWrites.Store(true)
	setPrice(t, cached, p.ID, 777)
	seqs, ids, _, err = db.StaleProducts(ctx, 10)
	require.NoError(t, err)
	assert.Len(t, seqs, 1, "the write was journaled")
	assert.Equal(t, []ecolaura.ID{p.ID}, ids)
	cache.failWrites.Store(false)
	require.Eventually(t, func() bool {
		seqs, _, _, err := db.StaleProducts(ctx, 10)
		return err == nil && len(seqs) == 0
	}, porttest.Liveness, 5*time.Millisecond, "the journal row is applied and forgotten once the cache is back")
	got, err := cached.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(777), got.Price.Amount)
}

// TestOutOfBandUpdatesReachTheCache: an UPDATE of a product by hand that
// leaves its version alone (the QA report's manual fix) gets a new version
// from the database and is journaled, so the product cache drops the
// product within a journal interval without `ecolaura cache flush`; the
// application's own writes add no journal row.
func TestOutOfBandUpdatesReachTheCache(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	ctx := t.Context()
	pg, err := postgres.Open(ctx, postgres.Config{URL: testenv.Postgres(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close() })
	_, err = postgres.Migrate(ctx, pg, postgres.MigrateUp)
	require.NoError(t, err)
	db, err := productcache.Wrap(pg, memory.NewCache(), productcache.WithJournalInterval(20*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(context.Background()) })

	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))
	changed := p.Clone()
	changed.Stock = 9
	_, err = db.Products().Update(ctx, changed)
	require.NoError(t, err)
	journalRows := func() int {
		var n int
		require.NoError(t, pg.DB().QueryRowContext(ctx, "SELECT count(*) FROM product_cache_journal").Scan(&n))
		return n
	}
	assert.Zero(t, journalRows(), "an application write is not journaled while the cache works")
	for range 2 {
		got, err := db.Products().Get(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, p.Price.Amount, got.Price.Amount)
	}
	hits := db.Stats().ProductHits
	require.Positive(t, hits, "the product is served from the cache")

	_, err = pg.DB().ExecContext(ctx, "UPDATE products SET price_minor = 5000 WHERE id = ?", p.ID)
	require.NoError(t, err)
	var version int64
	require.NoError(t, pg.DB().QueryRowContext(ctx, "SELECT version FROM products WHERE id = ?", p.ID).Scan(&version))
	assert.EqualValues(t, 3, version, "the manual fix got a version of its own")
	require.Eventually(t, func() bool {
		got, err := db.Products().Get(ctx, p.ID)
		return err == nil && got.Price.Amount == 5000 && got.Version == 3
	}, 5*time.Second, 10*time.Millisecond, "the cache dropped the product changed by hand")
	assert.Eventually(t, func() bool { return journalRows() == 0 }, 5*time.Second, 10*time.Millisecond, "the journal row was applied")

	// A fix that bumps the version itself is the application's business.
	_, err = pg.DB().ExecContext(ctx, "UPDATE products SET description = 'fixed', version = version + 1 WHERE id = ?", p.ID)
	require.NoError(t, err)
	require.NoError(t, pg.DB().QueryRowContext(ctx, "SELECT version FROM products WHERE id = ?", p.ID).Scan(&version))
	assert.EqualValues(t, 4, version, "bumped once, not twice")
}
