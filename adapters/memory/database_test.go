package memory_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func TestDoCommitsOrRollsBack(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		fn        func(ctx context.Context, tx ports.Tx) error
		wantErr   error
		wantPanic bool
		wantStock int // -1: product absent
	}{
		{
			name: "commit",
			fn: func(ctx context.Context, tx ports.Tx) error {
				_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: -3, At: t0})
				return err
			},
			wantStock: 7,
		},
		{
			name: "error rolls back every write",
			fn: func(ctx context.Context, tx ports.Tx) error {
				if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: -3, At: t0}); err != nil {
					return err
				}
				if err := tx.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000002", 1)); err != nil {
					return err
				}
				return errBoom
			},
			wantErr:   errBoom,
			wantStock: 10,
		},
		{
			name: "panic rolls back and is re-raised",
			fn: func(ctx context.Context, tx ports.Tx) error {
				if err := tx.Products().Delete(ctx, "10000000-0000-7000-8000-000000000001"); err != nil {
					return err
				}
				panic("kaboom")
			},
			wantPanic: true,
			wantStock: 10,
		},
		{
			name: "delete commits",
			fn: func(ctx context.Context, tx ports.Tx) error {
				return tx.Products().Delete(ctx, "10000000-0000-7000-8000-000000000001")
			},
			wantStock: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := newDB(t)
			require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 10)))
			run := func() error { return db.Do(ctx, tc.fn) }
			if tc.wantPanic {
				assert.PanicsWithValue(t, "kaboom", func() { _ = run() })
			} else {
				err := run()
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
				} else {
					require.NoError(t, err)
				}
			}
			p, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
			if tc.wantStock < 0 {
				require.ErrorIs(t, err, ecolaura.ErrNotFound)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.wantStock, p.Stock)
			}
			_, err = db.Products().Get(ctx, "10000000-0000-7000-8000-000000000002")
			assert.ErrorIs(t, err, ecolaura.ErrNotFound, "the rolled-back create must not be visible")
			// The writer lock was released: another transaction can run.
			require.NoError(t, db.Do(ctx, func(context.Context, ports.Tx) error { return nil }))
		})
	}
}

func TestTxSeesOwnWritesOthersDoNot(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 10)))
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: -4, At: t0}); err != nil {
				return err
			}
			p := newProduct("10000000-0000-7000-8000-000000000002", 1)
			p.Category = "garden"
			if err := tx.Products().Create(ctx, p); err != nil {
				return err
			}
			// Own writes are visible, in gets, lists and aggregates.
			got, err := tx.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
			if err != nil || got.Stock != 6 {
				return errors.New("own write not visible")
			}
			page, err := tx.Products().List(ctx, ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: "garden"}, Limit: 10, WithTotal: true})
			if err != nil || page.Total != 1 || len(page.Items) != 1 {
				return errors.New("own create not listed")
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	// Reads outside do not block on the open transaction and see only
	// committed data.
	p, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, 10, p.Stock)
	cats, err := db.Products().Categories(ctx)
	require.NoError(t, err)
	assert.Equal(t, []ecolaura.CategoryCount{{Category: "kitchen", Products: 1}}, cats)
	// A writer waits for the transaction; with a deadline it gives up.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = porttest.AdjustStock(wctx, db, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: 1, At: t0})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	close(release)
	require.NoError(t, <-done)
	p, err = db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, 6, p.Stock)
	assert.Equal(t, int64(1), p.Version)
}

func TestNestedAndFinishedTx(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	var leaked ports.Tx
	err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		leaked = tx
		if err := db.Do(ctx, func(context.Context, ports.Tx) error { return nil }); err == nil {
			return errors.New("nested Do must fail")
		}
		if err := db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 1)); err == nil {
			return errors.New("a Database write with the tx context must fail, not deadlock")
		}
		return nil
	})
	require.NoError(t, err)
	require.Error(t, leaked.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 1)), "a finished tx must not write")
	_, err = leaked.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.Error(t, err)
	require.Error(t, leaked.Jobs().Enqueue(ctx, ports.Job{Kind: "x"}))
}

// TestNoLostUpdates: 100 goroutines, each a read-modify-write transaction
// (Get then Update with the version read, retried on ErrConflict: under
// READ COMMITTED another transaction may commit between the two) plus a
// plain AdjustStock; every increment must survive.
func TestNoLostUpdates(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 0)))
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			for {
				err = db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					p, err := tx.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
					if err != nil {
						return err
					}
					p.Score = i % 101
					_, err = tx.Products().Update(ctx, p)
					return err
				})
				if !errors.Is(err, ecolaura.ErrConflict) {
					break
				}
			}
			assert.NoError(t, err)
			_, err = porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: 1, At: t0})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	p, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, n, p.Stock)
	assert.Equal(t, int64(1+n), p.Version)
}

// TestStaleUpdateConflicts: two updates based on the same version cannot
// both win.
func TestStaleUpdateConflicts(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 0)))
	p, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := p.Clone()
			q.Name = "name " + string(rune('a'+i))
			_, err := db.Products().Update(ctx, q)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ecolaura.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	assert.Equal(t, int32(19), conflicts.Load())
}

// TestOversell: 200 goroutines race for the last 10 units in checkout-like
// transactions; exactly 10 succeed and stock never goes negative.
func TestOversell(t *testing.T) {
	ctx := context.Background()
	ids := memory.NewSequentialIDs()
	db := withTestUsers(t, newDB(t))
	require.NoError(t, db.Products().Create(ctx, newProduct("10000000-0000-7000-8000-000000000001", 10)))
	var sold, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
				p, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: "10000000-0000-7000-8000-000000000001", Delta: -1, At: t0})
				if err != nil {
					return err
				}
				if p.Stock < 0 {
					return errors.New("negative stock")
				}
				return tx.Orders().Create(ctx, pendingOrder(ids.NewID(), testUsers[0], p.ID))
			})
			var ise *ecolaura.InsufficientStockError
			switch {
			case err == nil:
				sold.Add(1)
			case errors.As(err, &ise):
				assert.Equal(t, 0, ise.Available)
				assert.Equal(t, 1, ise.Requested)
				refused.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(10), sold.Load())
	assert.Equal(t, int32(190), refused.Load())
	p, err := db.Products().Get(ctx, "10000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, 0, p.Stock)
	page, err := db.Orders().List(ctx, ports.OrderQuery{Limit: 1000, WithTotal: true})
	require.NoError(t, err)
	assert.Equal(t, 10, page.Total)
	assert.Len(t, page.Items, 10)
}

func TestPing(t *testing.T) {
	db := newDB(t)
	require.NoError(t, db.Ping(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, db.Ping(ctx), context.Canceled)
}

// TestReadersSeeConsistentSnapshots: writers move units between products in
// transactions; a single List outside any transaction must always see the
// same total, never half of a transaction.
func TestReadersSeeConsistentSnapshots(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	gen := memory.NewSequentialIDs()
	var pids []ecolaura.ID
	var ps []ecolaura.Product
	for range 8 {
		p := newProduct(gen.NewID(), 100)
		pids = append(pids, p.ID)
		ps = append(ps, p)
	}
	seedProducts(t, db, ps)
	const want = 8 * 100
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				page, err := db.Products().List(ctx, ports.ProductQuery{Sort: ecolaura.SortPriceAsc, Limit: 100, Filter: ecolaura.ProductFilter{InStock: true}})
				if !assert.NoError(t, err) {
					return
				}
				sum := 0
				for _, p := range page.Items {
					sum += p.Stock
				}
				if !assert.Equal(t, want, sum, "a list saw half a transaction") {
					return
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 200 {
				from, to := pids[(w+i)%len(pids)], pids[(w+2*i+1)%len(pids)]
				if from == to {
					continue
				}
				err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: from, Delta: -1, At: t0}); err != nil {
						return err
					}
					_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: to, Delta: 1, At: t0})
					return err
				})
				if err != nil && !errors.Is(err, ecolaura.ErrInsufficientStock) {
					t.Errorf("unexpected %v", err)
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
}
