package postgres_test

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

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func newOrders(t *testing.T, db ports.Database) *orders.Service {
	t.Helper()
	svc, err := orders.New(db, system.Clock{}, system.UUIDv7{})
	require.NoError(t, err)
	return svc
}

// race runs fn in n goroutines released together and waits for them.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// 200 customers race for 50 units through the orders service, on 40 real
// connections: exactly 50 orders, the rest get ErrInsufficientStock, and the
// stock ends at zero, never below.
func TestCheckoutNeverOversells(t *testing.T) {
	const buyers, stock = 200, 50
	db := openDB(t, postgres.Config{MaxConns: 40})
	ctx := t.Context()
	p := porttest.NewProduct(porttest.UniqueCategory(), func(p *ecolaura.Product) { p.Stock = stock })
	require.NoError(t, db.Products().Create(ctx, p))
	users := make([]ecolaura.User, buyers)
	for i := range users {
		users[i] = porttest.NewUser()
		require.NoError(t, db.Users().Create(ctx, users[i]))
	}
	svc := newOrders(t, db)

	var placed, refused atomic.Int64
	race(buyers, func(i int) {
		_, err := svc.Checkout(ctx, users[i].Principal(), orders.CheckoutRequest{
			Lines: []orders.LineRequest{{ProductID: p.ID, Quantity: 1}},
		})
		switch {
		case err == nil:
			placed.Add(1)
		case errors.Is(err, ecolaura.ErrInsufficientStock):
			refused.Add(1)
		default:
			t.Errorf("buyer %d: unexpected error: %v", i, err)
		}
	})
	assert.EqualValues(t, stock, placed.Load(), "orders placed")
	assert.EqualValues(t, buyers-stock, refused.Load(), "checkouts refused")
	got, err := db.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Zero(t, got.Stock, "stock left")
	page, err := db.Orders().List(ctx, ports.OrderQuery{Limit: 1000, WithTotal: true})
	require.NoError(t, err)
	assert.Equal(t, stock, page.Total, "orders stored")
	units := 0
	for _, o := range page.Items {
		units += o.Units()
	}
	assert.Equal(t, stock, units, "units sold")
}

// keyRace is a ports.Database that makes the first two order inserts
// inside a transaction wait for each other before they insert, so two
// checkouts with one key both insert an order: the race the unique (user,
// key) index decides. It also counts the idempotency-key look-ups made
// outside a transaction that found an order, which only the checkout's
// replay path (after losing that race) makes.
type keyRace struct {
	ports.Database
	arrivals   atomic.Int32
	both       chan struct{}
	lateReplay atomic.Int64
}

func newKeyRace(db ports.Database) *keyRace { return &keyRace{Database: db, both: make(chan struct{})} }

func (k *keyRace) Orders() ports.OrderStore {
	return keyRaceOrders{OrderStore: k.Database.Orders(), k: k}
}

func (k *keyRace) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	return k.Database.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return fn(ctx, keyRaceTx{Tx: tx, k: k})
	})
}

type keyRaceTx struct {
	ports.Tx
	k *keyRace
}

func (t keyRaceTx) Orders() ports.OrderStore {
	return keyRaceOrders{OrderStore: t.Tx.Orders(), k: t.k, inTx: true}
}

type keyRaceOrders struct {
	ports.OrderStore
	k    *keyRace
	inTx bool
}

func (o keyRaceOrders) GetByIdempotencyKey(ctx context.Context, userID ecolaura.ID, key string) (ecolaura.Order, error) {
	order, err := o.OrderStore.GetByIdempotencyKey(ctx, userID, key)
	if !o.inTx && err == nil {
		o.k.lateReplay.Add(1)
	}
	return order, err
}

func (o keyRaceOrders) Create(ctx context.Context, order ecolaura.Order) error {
	if n := o.k.arrivals.Add(1); o.inTx && n <= 2 {
		if n == 2 {
			close(o.k.both)
		}
		select {
		case <-o.k.both:
		case <-time.After(10 * time.Second):
			return errors.New("keyRace: the second checkout never inserted its order")
		}
	}
	return o.OrderStore.Create(ctx, order)
}

// 50 concurrent checkouts with one idempotency key, spread over two
// service instances (two "replicas" sharing the database, each with its own
// in-flight guard): exactly one order exists afterwards, stock moved once,
// and every request either got that order (new or replayed) or a conflict
// from its replica's in-flight guard. The first requests of the two
// replicas both insert their order (keyRace), so one of them loses the
// insert to the unique index and must answer as a replay of the winner's
// order, not as a conflict.
func TestCheckoutIdempotentAcrossReplicas(t *testing.T) {
	const requests = 50
	pg := openDB(t, postgres.Config{MaxConns: 30})
	db := newKeyRace(pg)
	ctx := t.Context()
	p := porttest.NewProduct(porttest.UniqueCategory(), func(p *ecolaura.Product) { p.Stock = 100 })
	require.NoError(t, db.Products().Create(ctx, p))
	u := porttest.NewUser()
	require.NoError(t, db.Users().Create(ctx, u))
	replicas := []*orders.Service{newOrders(t, db), newOrders(t, db)}
	req := orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: p.ID, Quantity: 3}}, IdempotencyKey: "key-" + porttest.RandomToken("")}

	var mu sync.Mutex
	ids := map[ecolaura.ID]int{}
	var created, replayed, conflicts atomic.Int64
	race(requests, func(i int) {
		res, err := replicas[i%2].Checkout(ctx, u.Principal(), req)
		switch {
		case err == nil:
			mu.Lock()
			ids[res.Order.ID]++
			mu.Unlock()
			if res.Replayed {
				replayed.Add(1)
			} else {
				created.Add(1)
			}
		case errors.Is(err, ecolaura.ErrConflict):
			conflicts.Add(1)
		default:
			t.Errorf("request %d: unexpected error: %v", i, err)
		}
	})
	assert.EqualValues(t, 1, created.Load(), "orders created")
	assert.Len(t, ids, 1, "distinct orders returned")
	assert.EqualValues(t, 2, min(db.arrivals.Load(), 2), "both replicas' first checkouts inserted an order")
	assert.GreaterOrEqual(t, replayed.Load(), int64(1), "the replica that lost the insert replayed the winner's order")
	assert.GreaterOrEqual(t, db.lateReplay.Load(), int64(1), "the replay looked the order up after the unique index refused the insert")
	assert.EqualValues(t, requests, created.Load()+replayed.Load()+conflicts.Load())
	page, err := pg.Orders().List(ctx, ports.OrderQuery{UserID: u.ID, Limit: 100, WithTotal: true})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total, "orders stored")
	got, err := pg.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 97, got.Stock, "stock taken once")

	// A later retry is a replay; a different request with the key a mismatch.
	res, err := replicas[0].Checkout(ctx, u.Principal(), req)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	req.Lines[0].Quantity = 4
	_, err = replicas[1].Checkout(ctx, u.Principal(), req)
	require.ErrorIs(t, err, ecolaura.ErrIdempotencyMismatch)
	t.Logf("%d requests: %d created, %d replayed (%d after losing the insert), %d conflicts",
		requests, created.Load(), replayed.Load(), db.lateReplay.Load(), conflicts.Load())
}

// The unique index decides even without the service: of 20 transactions
// inserting an order with one (user, key), exactly one commits.
func TestIdempotencyKeyUniqueInDatabase(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	u := porttest.NewUser()
	require.NoError(t, db.Users().Create(ctx, u))
	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))
	var ok, conflict atomic.Int64
	race(20, func(int) {
		err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			o := porttest.NewOrder(u.ID, porttest.Line(p, 1))
			o.IdempotencyKey = "same"
			return tx.Orders().Create(ctx, o)
		})
		switch {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, ecolaura.ErrConflict):
			conflict.Add(1)
		default:
			t.Errorf("unexpected: %v", err)
		}
	})
	assert.EqualValues(t, 1, ok.Load())
	assert.EqualValues(t, 19, conflict.Load())
}

// Do returns fn's error unchanged and rolls everything back.
func TestDoRollsBackOnError(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))
	boom := fmt.Errorf("boom")
	err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: -5, At: porttest.Now()})
		require.NoError(t, err)
		return boom
	})
	require.Same(t, boom, err)
	got, err := db.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.Stock, got.Stock)
}
