package orders_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

func TestNew(t *testing.T) {
	db := memory.NewDatabase()
	clock := memory.NewManualClock(t0)
	ids := memory.NewSequentialIDs()
	tests := []struct {
		name  string
		db    ports.Database
		clock ports.Clock
		ids   ports.IDGenerator
		opts  []orders.Option
		field string // "" means success
	}{
		{"all required", db, clock, ids, nil, ""},
		{"no database", nil, clock, ids, nil, "database"},
		{"no clock", db, nil, ids, nil, "clock"},
		{"no ids", db, clock, nil, nil, "ids"},
		{"bad currency", db, clock, ids, []orders.Option{orders.WithCurrency("XXX")}, "currency"},
		{"offset price in another currency", db, clock, ids, []orders.Option{orders.WithCarbonOffsetPrice(ecolaura.NewMoney(3, "USD"))}, "carbon_offset_price"},
		{"negative offset price", db, clock, ids, []orders.Option{orders.WithCarbonOffsetPrice(ecolaura.NewMoney(-1, "EUR"))}, "carbon_offset_price.amount"},
		{"offset price and currency", db, clock, ids, []orders.Option{orders.WithCurrency("USD"), orders.WithCarbonOffsetPrice(ecolaura.NewMoney(5, "USD"))}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := orders.New(tc.db, tc.clock, tc.ids, tc.opts...)
			if tc.field == "" {
				require.NoError(t, err)
				require.NotNil(t, svc)
				return
			}
			assert.Nil(t, svc)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a wiring mistake is not invalid user input")
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			var got []string
			for _, f := range ce.Fields {
				got = append(got, f.Field)
			}
			assert.Contains(t, got, tc.field)
		})
	}
}

func TestDefaultCarbonOffsetPrice(t *testing.T) {
	svc := newFixture(t, storetest.Memory).svc
	assert.Equal(t, ecolaura.NewMoney(2, "EUR"), svc.CarbonOffsetPrice())
	assert.Equal(t, ecolaura.NewMoney(1, "JPY"), orders.DefaultCarbonOffsetPrice("JPY"))
}

func TestOffsetCharge(t *testing.T) {
	eur := func(n int64) ecolaura.Money { return ecolaura.NewMoney(n, "EUR") }
	tests := []struct {
		name      string
		footprint ecolaura.CO2e
		perKg     ecolaura.Money
		want      ecolaura.Money
	}{
		{"zero footprint", 0, eur(2), eur(0)},
		{"one gram rounds up to a cent", 1, eur(2), eur(1)},
		{"exactly 1 kg", 1000, eur(2), eur(2)},
		{"1.001 kg rounds up", 1001, eur(2), eur(3)},
		{"500 g at 0.02", 500, eur(2), eur(1)},
		{"12.345 kg at 0.02", 12345, eur(2), eur(25)},
		{"free offsets", 5000, eur(0), eur(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := orders.OffsetCharge(tc.footprint, tc.perKg)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := orders.OffsetCharge(ecolaura.CO2e(1<<62), eur(ecolaura.MaxPriceMinor))
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
}

func TestCheckoutRequestValidate(t *testing.T) {
	const id1 = ecolaura.ID("00000000-0000-7000-8000-000000000001")
	const id2 = ecolaura.ID("00000000-0000-7000-8000-000000000002")
	manyLines := func(n int) []orders.LineRequest {
		out := make([]orders.LineRequest, n)
		for i := range out {
			out[i] = orders.LineRequest{ProductID: ecolaura.ID(fmt.Sprintf("00000000-0000-7000-8000-%012x", i+1)), Quantity: 1}
		}
		return out
	}
	tests := []struct {
		name   string
		req    orders.CheckoutRequest
		fields []string // nil: valid
	}{
		{"one line", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}}}, nil},
		{"two lines, key and offset", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}, {ProductID: id2, Quantity: 1000}}, IdempotencyKey: "k-1 ~!", CarbonOffset: true}, nil},
		{"100 lines", orders.CheckoutRequest{Lines: manyLines(100)}, nil},
		{"no lines", orders.CheckoutRequest{}, []string{"lines"}},
		{"101 lines", orders.CheckoutRequest{Lines: manyLines(101)}, []string{"lines"}},
		{"quantity zero", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 0}}}, []string{"lines[0].quantity"}},
		{"quantity negative", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: -5}}}, []string{"lines[0].quantity"}},
		{"quantity 1001", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}, {ProductID: id2, Quantity: 1001}}}, []string{"lines[1].quantity"}},
		{"bad product id", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: "not-a-uuid", Quantity: 1}}}, []string{"lines[0].product_id"}},
		{"upper-case product id", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: ecolaura.ID(strings.ToUpper("0000000a-0000-7000-8000-00000000000a")), Quantity: 1}}}, []string{"lines[0].product_id"}},
		{"duplicate product is rejected on the later line", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}, {ProductID: id2, Quantity: 1}, {ProductID: id1, Quantity: 2}}}, []string{"lines[2].product_id"}},
		{"key too long", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}}, IdempotencyKey: strings.Repeat("k", 256)}, []string{"idempotency_key"}},
		{"key of 255 is fine", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}}, IdempotencyKey: strings.Repeat("k", 255)}, nil},
		{"key with newline", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}}, IdempotencyKey: "a\nb"}, []string{"idempotency_key"}},
		{"key with non-ASCII", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: id1, Quantity: 1}}, IdempotencyKey: "clé"}, []string{"idempotency_key"}},
		{"everything wrong", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: "x", Quantity: 0}}, IdempotencyKey: "\x00"}, []string{"idempotency_key", "lines[0].product_id", "lines[0].quantity"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			assert.ElementsMatch(t, tc.fields, fieldsOf(t, err))
		})
	}
}

func TestCheckoutRequestHash(t *testing.T) {
	a := orders.LineRequest{ProductID: "00000000-0000-7000-8000-000000000001", Quantity: 2}
	b := orders.LineRequest{ProductID: "00000000-0000-7000-8000-000000000002", Quantity: 1}
	base := orders.CheckoutRequest{Lines: []orders.LineRequest{a, b}, IdempotencyKey: "k"}
	tests := []struct {
		name string
		req  orders.CheckoutRequest
		same bool
	}{
		{"identical", orders.CheckoutRequest{Lines: []orders.LineRequest{a, b}, IdempotencyKey: "k"}, true},
		{"lines reordered", orders.CheckoutRequest{Lines: []orders.LineRequest{b, a}, IdempotencyKey: "k"}, true},
		{"other key", orders.CheckoutRequest{Lines: []orders.LineRequest{a, b}, IdempotencyKey: "other"}, true},
		{"other quantity", orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: a.ProductID, Quantity: 3}, b}, IdempotencyKey: "k"}, false},
		{"line missing", orders.CheckoutRequest{Lines: []orders.LineRequest{a}, IdempotencyKey: "k"}, false},
		{"offset added", orders.CheckoutRequest{Lines: []orders.LineRequest{a, b}, IdempotencyKey: "k", CarbonOffset: true}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Len(t, base.Hash(), 64)
			assert.Equal(t, tc.same, base.Hash() == tc.req.Hash())
		})
	}
}

func TestCheckoutPlacesOrder(t *testing.T) { storetest.Run(t, testCheckoutPlacesOrder) }

func testCheckoutPlacesOrder(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	brush := f.product(t, productSpec{name: "Bamboo toothbrush", price: 350, stock: 10, footprint: 120})
	bottle := f.product(t, productSpec{name: "Steel bottle", price: 2499, stock: 5, footprint: 2400})
	soap := f.product(t, productSpec{name: "Soap bar", price: 500, stock: 3, footprint: -1})

	res, err := f.svc.Checkout(context.Background(), alice, orders.CheckoutRequest{
		Lines:        []orders.LineRequest{line(bottle, 2), line(brush, 3), line(soap, 1)},
		CarbonOffset: true,
	})
	require.NoError(t, err)
	assert.False(t, res.Replayed)
	o := res.Order
	assert.Equal(t, alice.UserID, o.UserID)
	assert.Equal(t, ecolaura.StatusPending, o.Status)
	assert.Equal(t, t0, o.CreatedAt)
	assert.EqualValues(t, 1, o.Version)
	require.Len(t, o.Lines, 3)
	assert.Equal(t, []ecolaura.OrderLine{
		{ProductID: bottle.ID, VariantID: bottle.ID, Name: "Steel bottle", UnitPrice: ecolaura.NewMoney(2499, "EUR"), Quantity: 2, Total: ecolaura.NewMoney(4998, "EUR"), UnitFootprint: 2400},
		{ProductID: brush.ID, VariantID: brush.ID, Name: "Bamboo toothbrush", UnitPrice: ecolaura.NewMoney(350, "EUR"), Quantity: 3, Total: ecolaura.NewMoney(1050, "EUR"), UnitFootprint: 120},
		{ProductID: soap.ID, VariantID: soap.ID, Name: "Soap bar", UnitPrice: ecolaura.NewMoney(500, "EUR"), Quantity: 1, Total: ecolaura.NewMoney(500, "EUR"), UnitFootprint: 0},
	}, o.Lines, "lines keep the request's order and snapshot the products")
	assert.Equal(t, ecolaura.NewMoney(6548, "EUR"), o.Subtotal)
	assert.Equal(t, ecolaura.CO2e(2*2400+3*120), o.Footprint)
	require.NotNil(t, o.Offset)
	assert.Equal(t, ecolaura.CO2e(5160), o.Offset.Footprint)
	assert.Equal(t, ecolaura.NewMoney(11, "EUR"), o.Offset.Price, "5.16 kg at 0.02/kg = 0.1032, rounded up to 0.11")
	assert.Equal(t, ecolaura.NewMoney(6559, "EUR"), o.Total)

	assert.Equal(t, 7, f.stock(t, brush.ID))
	assert.Equal(t, 3, f.stock(t, bottle.ID))
	assert.Equal(t, 2, f.stock(t, soap.ID))

	stored, err := f.db.Orders().Get(context.Background(), o.ID)
	require.NoError(t, err)
	assert.Equal(t, o, stored)

	// The snapshot survives later catalog changes.
	p, err := f.db.Products().Get(context.Background(), brush.ID)
	require.NoError(t, err)
	p.Price = ecolaura.NewMoney(999, "EUR")
	p.Name = "Renamed"
	_, err = f.db.Products().Update(context.Background(), p)
	require.NoError(t, err)
	got, err := f.svc.Get(context.Background(), alice, o.ID)
	require.NoError(t, err)
	assert.Equal(t, "Bamboo toothbrush", got.Lines[1].Name)
	assert.Equal(t, ecolaura.NewMoney(350, "EUR"), got.Lines[1].UnitPrice)

	// Exactly one process_order job was enqueued, for this order.
	st := f.db.Jobs(t)
	assert.Equal(t, 1, st.Queued)
	var seen []ports.Job
	var mu sync.Mutex
	f.startJobs(t, ports.JobHandlerFunc(func(ctx context.Context, j ports.Job) error {
		mu.Lock()
		seen = append(seen, j)
		mu.Unlock()
		return nil
	}))
	f.waitJobs(t)
	require.Len(t, seen, 1)
	assert.Equal(t, orders.JobProcessOrder, seen[0].Kind)
	assert.JSONEq(t, `{"order_id":"`+string(o.ID)+`"}`, string(seen[0].Payload))
}

func TestCheckoutWithoutOffset(t *testing.T) { storetest.Run(t, testCheckoutWithoutOffset) }

func testCheckoutWithoutOffset(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 1000, stock: 1, footprint: 1500})
	o := f.checkout(t, alice, req(line(p, 1)))
	assert.Nil(t, o.Offset)
	assert.Equal(t, o.Subtotal, o.Total)
	assert.Equal(t, ecolaura.CO2e(1500), o.Footprint)
}

func TestCheckoutErrors(t *testing.T) { storetest.Run(t, testCheckoutErrors) }

func testCheckoutErrors(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{name: "Linen bag", price: 1000, stock: 2, footprint: 10})
	usd := f.product(t, productSpec{name: "Import", price: 1000, currency: "USD", stock: 2, footprint: 10})
	missing := ecolaura.ID("00000000-0000-7000-8000-0000000fffff")

	tests := []struct {
		name   string
		actor  ecolaura.Principal
		req    orders.CheckoutRequest
		target error
		field  string
	}{
		{"anonymous", ecolaura.Anonymous, req(line(p, 1)), ecolaura.ErrUnauthenticated, ""},
		{"system principal has no user", ecolaura.System(), req(line(p, 1)), ecolaura.ErrForbidden, ""},
		{"invalid request", alice, req(line(p, 0)), ecolaura.ErrInvalid, "lines[0].quantity"},
		{"unknown product", alice, req(line(p, 1), orders.LineRequest{ProductID: missing, Quantity: 1}), ecolaura.ErrInvalid, "lines[1].product_id"},
		{"other currency", alice, req(line(usd, 1)), ecolaura.ErrInvalid, "lines[0].product_id"},
		{"insufficient stock", alice, req(line(p, 3)), ecolaura.ErrInsufficientStock, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Checkout(context.Background(), tc.actor, tc.req)
			require.ErrorIs(t, err, tc.target)
			if tc.field != "" {
				assert.Contains(t, fieldsOf(t, err), tc.field)
			}
		})
	}
	_, err := f.svc.Checkout(context.Background(), alice, req(line(p, 3)))
	var ise *ecolaura.InsufficientStockError
	require.ErrorAs(t, err, &ise)
	assert.Equal(t, p.ID, ise.ProductID)
	assert.Equal(t, "Linen bag", ise.Name)
	assert.Equal(t, 3, ise.Requested)
	assert.Equal(t, 2, ise.Available)

	assert.Equal(t, 2, f.stock(t, p.ID))
	assert.Equal(t, 2, f.stock(t, usd.ID))
	assert.Empty(t, f.allOrders(t))
	assert.Equal(t, 0, f.db.Jobs(t).Queued)
}

func TestCheckoutRollsBackEverything(t *testing.T) { storetest.Run(t, testCheckoutRollsBackEverything) }

func testCheckoutRollsBackEverything(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	first := f.product(t, productSpec{name: "First", price: 100, stock: 5, footprint: 1})
	second := f.product(t, productSpec{name: "Second", price: 100, stock: 1, footprint: 1})
	third := f.product(t, productSpec{name: "Third", price: 100, stock: 5, footprint: 1})

	// first and third are taken in ID order around second, which fails.
	_, err := f.svc.Checkout(context.Background(), alice, orders.CheckoutRequest{
		Lines:          []orders.LineRequest{line(first, 2), line(second, 2), line(third, 1)},
		IdempotencyKey: "rollback-1",
	})
	var ise *ecolaura.InsufficientStockError
	require.ErrorAs(t, err, &ise)
	assert.Equal(t, second.ID, ise.ProductID)

	assert.Equal(t, 5, f.stock(t, first.ID), "stock taken before the failing line is back")
	assert.Equal(t, 1, f.stock(t, second.ID))
	assert.Equal(t, 5, f.stock(t, third.ID))
	assert.Empty(t, f.allOrders(t))
	assert.Equal(t, 0, f.db.Jobs(t).Queued, "no job of the rolled-back transaction")
	if mem, ok := f.db.Database.(*memory.Database); ok {
		assert.Zero(t, mem.DroppedJobs())
	}

	// The key was not consumed: a corrected request under the same key works.
	res, err := f.svc.Checkout(context.Background(), alice, orders.CheckoutRequest{
		Lines:          []orders.LineRequest{line(first, 2), line(second, 1), line(third, 1)},
		IdempotencyKey: "rollback-1",
	})
	require.NoError(t, err)
	assert.False(t, res.Replayed)
}

// TestOversell races many buyers for the last units of one product.
func TestOversell(t *testing.T) { storetest.Run(t, testOversell) }

func testOversell(t *testing.T, s storetest.Store) {
	tests := []struct {
		name    string
		buyers  int
		stock   int
		maxQty  int
		exactly bool // every unit must be sold
	}{
		{name: "200 buyers of one unit race for the last 10", buyers: 200, stock: 10, maxQty: 1, exactly: true},
		{name: "200 buyers of 1-3 units race for 25", buyers: 200, stock: 25, maxQty: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, s)
			p := f.product(t, productSpec{name: "Last units", price: 1999, stock: tc.stock, footprint: 300})
			buyers := make([]ecolaura.Principal, tc.buyers)
			for i := range buyers {
				buyers[i] = f.user(t, fmt.Sprintf("buyer%03d", i), ecolaura.RoleCustomer)
			}

			var sold, failures atomic.Int64
			var negative atomic.Bool
			stop := make(chan struct{})
			var watcher sync.WaitGroup
			watcher.Go(func() { // keeps reading the stock while buyers race
				for {
					select {
					case <-stop:
						return
					default:
					}
					if q, err := f.db.Products().Get(context.Background(), p.ID); err == nil && q.Stock < 0 {
						negative.Store(true)
					}
				}
			})
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, b := range buyers {
				qty := 1 + i%tc.maxQty
				wg.Go(func() {
					<-start
					res, err := f.svc.Checkout(context.Background(), b, req(line(p, qty)))
					switch {
					case err == nil:
						sold.Add(int64(res.Order.Units()))
					case errors.Is(err, ecolaura.ErrInsufficientStock):
						failures.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			close(stop)
			watcher.Wait()

			assert.False(t, negative.Load(), "stock was seen below zero")
			left := f.stock(t, p.ID)
			assert.GreaterOrEqual(t, left, 0)
			assert.EqualValues(t, tc.stock, sold.Load()+int64(left), "units sold + units left = initial stock")
			if tc.exactly {
				assert.EqualValues(t, tc.stock, sold.Load())
				assert.Equal(t, 0, left)
				assert.EqualValues(t, tc.buyers-tc.stock, failures.Load())
			}
			var units int
			all := f.allOrders(t)
			for _, o := range all {
				require.Len(t, o.Lines, 1, "every order is complete")
				l := o.Lines[0]
				assert.Equal(t, p.ID, l.ProductID)
				assert.Equal(t, "Last units", l.Name)
				assert.Equal(t, ecolaura.NewMoney(int64(1999*l.Quantity), "EUR"), o.Total)
				assert.Equal(t, ecolaura.CO2e(300*l.Quantity), o.Footprint)
				units += l.Quantity
			}
			assert.EqualValues(t, sold.Load(), units)
			assert.Equal(t, len(all), f.db.Jobs(t).Queued, "one job per order")
		})
	}
}

func TestIdempotencyConcurrent(t *testing.T) { storetest.Run(t, testIdempotencyConcurrent) }

func testIdempotencyConcurrent(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 500, stock: 1000, footprint: 50})
	r := orders.CheckoutRequest{Lines: []orders.LineRequest{line(p, 2)}, IdempotencyKey: "same-key"}

	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[ecolaura.ID]int{}
	var conflicts, created int
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			res, err := f.svc.Checkout(context.Background(), alice, r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ids[res.Order.ID]++
				if !res.Replayed {
					created++
				}
			case errors.Is(err, ecolaura.ErrConflict):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()

	assert.Len(t, ids, 1, "every success returns the same order")
	assert.Equal(t, 1, created, "exactly one request created the order")
	total := conflicts
	for _, c := range ids {
		total += c
	}
	assert.Equal(t, n, total)
	require.Len(t, f.allOrders(t), 1)
	assert.Equal(t, 998, f.stock(t, p.ID), "stock taken once")
	assert.Equal(t, 1, f.db.Jobs(t).Queued, "one job")

	// A later retry replays.
	res, err := f.svc.Checkout(context.Background(), alice, r)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	for id := range ids {
		assert.Equal(t, id, res.Order.ID)
	}
}

func TestIdempotencyReplayAndMismatch(t *testing.T) {
	storetest.Run(t, testIdempotencyReplayAndMismatch)
}

func testIdempotencyReplayAndMismatch(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	bob := f.user(t, "bob", ecolaura.RoleCustomer)
	a := f.product(t, productSpec{price: 500, stock: 100, footprint: 50})
	b := f.product(t, productSpec{price: 700, stock: 100, footprint: 50})
	first := f.checkout(t, alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}, IdempotencyKey: "key-1"})

	tests := []struct {
		name     string
		actor    ecolaura.Principal
		req      orders.CheckoutRequest
		replayed bool
		target   error
	}{
		{"same request replays", alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}, IdempotencyKey: "key-1"}, true, nil},
		{"lines in another order replay", alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(b, 2), line(a, 1)}, IdempotencyKey: "key-1"}, true, nil},
		{"other quantity is a mismatch", alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 3)}, IdempotencyKey: "key-1"}, false, ecolaura.ErrIdempotencyMismatch},
		{"adding the offset is a mismatch", alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}, IdempotencyKey: "key-1", CarbonOffset: true}, false, ecolaura.ErrIdempotencyMismatch},
		{"another user's key space is separate", bob, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}, IdempotencyKey: "key-1"}, false, nil},
		{"no key never replays", alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.allOrders(t))
			res, err := f.svc.Checkout(context.Background(), tc.actor, tc.req)
			if tc.target != nil {
				require.ErrorIs(t, err, tc.target)
				assert.Len(t, f.allOrders(t), before)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.replayed, res.Replayed)
			if tc.replayed {
				assert.Equal(t, first.ID, res.Order.ID)
				assert.Len(t, f.allOrders(t), before, "a replay creates nothing")
			} else {
				assert.NotEqual(t, first.ID, res.Order.ID)
				assert.Len(t, f.allOrders(t), before+1)
			}
		})
	}
	assert.Equal(t, 100-3, f.stock(t, a.ID))

	// A retry after the product was archived (the request no longer
	// validates) still replays the order its key placed; a new key is
	// refused.
	cur, err := f.db.Products().Get(context.Background(), b.ID)
	require.NoError(t, err)
	cur.Status = ecolaura.ProductArchived
	_, err = f.db.Products().Update(context.Background(), cur)
	require.NoError(t, err)
	res, err := f.svc.Checkout(context.Background(), alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}, IdempotencyKey: "key-1"})
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, first.ID, res.Order.ID)
	_, err = f.svc.Checkout(context.Background(), alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(a, 1), line(b, 2)}, IdempotencyKey: "key-2"})
	requireFields(t, err, "lines[1].product_id")
}

// blindDB hides orders created by other transactions from the key look-up
// inside checkout, as happens when two processes check the same key at the
// same time: the store's unique (user, key) constraint must then decide.
type blindDB struct{ ports.Database }

func (d blindDB) Do(ctx context.Context, fn func(context.Context, ports.Tx) error) error {
	return d.Database.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return fn(ctx, blindTx{tx}) })
}

type blindTx struct{ ports.Tx }

func (t blindTx) Orders() ports.OrderStore { return blindOrders{t.Tx.Orders()} }

type blindOrders struct{ ports.OrderStore }

func (blindOrders) GetByIdempotencyKey(context.Context, ecolaura.ID, string) (ecolaura.Order, error) {
	return ecolaura.Order{}, ecolaura.ErrNotFound
}

func TestIdempotencyAcrossProcesses(t *testing.T) { storetest.Run(t, testIdempotencyAcrossProcesses) }

func testIdempotencyAcrossProcesses(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 500, stock: 10, footprint: 50})
	// A second service instance ("another process") over the same store.
	other, err := orders.New(blindDB{f.db}, f.clock, f.ids)
	require.NoError(t, err)

	first := f.checkout(t, alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(p, 1)}, IdempotencyKey: "k"})

	res, err := other.Checkout(context.Background(), alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(p, 1)}, IdempotencyKey: "k"})
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, first.ID, res.Order.ID)

	_, err = other.Checkout(context.Background(), alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(p, 2)}, IdempotencyKey: "k"})
	require.ErrorIs(t, err, ecolaura.ErrIdempotencyMismatch)

	assert.Len(t, f.allOrders(t), 1)
	assert.Equal(t, 9, f.stock(t, p.ID), "the losing transactions' stock decrements were rolled back")
	assert.Equal(t, 1, f.db.Jobs(t).Queued)

	t.Run("concurrently on two processes", func(t *testing.T) {
		r := orders.CheckoutRequest{Lines: []orders.LineRequest{line(p, 2)}, IdempotencyKey: "k2"}
		services := []*orders.Service{f.svc, other}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[ecolaura.ID]bool{}
		start := make(chan struct{})
		for i := range 50 {
			svc := services[i%2]
			wg.Go(func() {
				<-start
				res, err := svc.Checkout(context.Background(), alice, r)
				if err != nil {
					assert.ErrorIs(t, err, ecolaura.ErrConflict)
					return
				}
				mu.Lock()
				ids[res.Order.ID] = true
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		assert.Len(t, ids, 1)
		assert.Len(t, f.allOrders(t), 2)
		assert.Equal(t, 7, f.stock(t, p.ID))
	})
}

func TestCheckoutJSONShape(t *testing.T) {
	var r orders.CheckoutRequest
	require.NoError(t, json.Unmarshal([]byte(`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":2}],"idempotency_key":"k","carbon_offset":true}`), &r))
	assert.Equal(t, orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: "00000000-0000-7000-8000-000000000001", Quantity: 2}}, IdempotencyKey: "k", CarbonOffset: true}, r)
}
