package memory_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

func newOrder(id, user ecolaura.ID, key string, at time.Time) ecolaura.Order {
	return ecolaura.Order{
		ID: id, UserID: user, Status: ecolaura.StatusPending, IdempotencyKey: key,
		Lines: []ecolaura.OrderLine{{ProductID: "10000000-0000-7000-8000-000000000001", VariantID: "10000000-0000-7000-8000-000000000001", Name: "Bottle", Quantity: 2,
			UnitPrice: ecolaura.NewMoney(0, "EUR"), Total: ecolaura.NewMoney(0, "EUR")}},
		Subtotal:  ecolaura.NewMoney(0, "EUR"),
		Total:     ecolaura.NewMoney(0, "EUR"),
		Offset:    &ecolaura.CarbonOffset{Footprint: 10, Price: ecolaura.NewMoney(0, "EUR")},
		CreatedAt: at, UpdatedAt: at, Version: 1,
	}
}

func TestOrderConstraints(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		o    ecolaura.Order
		want error
	}{
		{"duplicate id", newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000002", "", t0), ecolaura.ErrConflict},
		{"duplicate key of the user", newOrder("30000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000001", "k", t0), ecolaura.ErrConflict},
		{"same key other user", newOrder("30000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000002", "k", t0), nil},
		{"empty keys never clash", newOrder("30000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000001", "", t0), nil},
		{"empty id", newOrder("", "20000000-0000-7000-8000-000000000001", "", t0), ecolaura.ErrInvalid},
		{"bad status", func() ecolaura.Order {
			o := newOrder("30000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000001", "", t0)
			o.Status = "lost"
			return o
		}(), ecolaura.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := withTestUsers(t, newDB(t))
			require.NoError(t, db.Orders().Create(ctx, newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "k", t0)))
			require.NoError(t, db.Orders().Create(ctx, newOrder("30000000-0000-7000-8000-000000000000", "20000000-0000-7000-8000-000000000001", "", t0)))
			err := db.Orders().Create(ctx, tc.o)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestOrderGetAndCopies(t *testing.T) {
	ctx := context.Background()
	db := withTestUsers(t, newDB(t))
	o := newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "k", t0)
	require.NoError(t, db.Orders().Create(ctx, o))
	o.Lines[0].Quantity = 99
	o.Offset.Footprint = 99
	got, err := db.Orders().Get(ctx, "30000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "k", t0), got)
	got.Lines[0].Quantity = 77
	byKey, err := db.Orders().GetByIdempotencyKey(ctx, "20000000-0000-7000-8000-000000000001", "k")
	require.NoError(t, err)
	assert.Equal(t, newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "k", t0), byKey)
	for _, tc := range []struct{ user, key string }{{"20000000-0000-7000-8000-000000000002", "k"}, {"20000000-0000-7000-8000-000000000001", "other"}, {"20000000-0000-7000-8000-000000000001", ""}} {
		_, err = db.Orders().GetByIdempotencyKey(ctx, ecolaura.ID(tc.user), tc.key)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	}
	_, err = db.Orders().Get(ctx, "nope")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

// TestIdempotentCreateRace: 50 concurrent creates with one key make one order.
func TestIdempotentCreateRace(t *testing.T) {
	ctx := context.Background()
	db := withTestUsers(t, newDB(t))
	gen := memory.NewSequentialIDs()
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Orders().Create(ctx, newOrder(gen.NewID(), "20000000-0000-7000-8000-000000000001", "same", t0))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ecolaura.ErrConflict):
				conflict.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	assert.Equal(t, int32(49), conflict.Load())
}

func TestOrderListMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	db := withTestUsers(t, newDB(t))
	gen := memory.NewSequentialIDs()
	users := []ecolaura.ID{"20000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000003"}
	var all []ecolaura.Order
	for range 120 {
		o := newOrder(gen.NewID(), users[rng.IntN(3)], "", t0.Add(time.Duration(rng.IntN(30))*time.Second))
		require.NoError(t, db.Orders().Create(ctx, o))
		all = append(all, o)
	}
	slices.SortFunc(all, func(a, b ecolaura.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		if a.ID > b.ID {
			return -1
		}
		return 1
	})
	for _, user := range append([]ecolaura.ID{""}, append(users, "u-none")...) {
		var exp []ecolaura.ID
		for _, o := range all {
			if user == "" || o.UserID == user {
				exp = append(exp, o.ID)
			}
		}
		for _, limit := range []int{1, 9, 1000} {
			var got []ecolaura.ID
			var after *ports.OrderPosition
			for {
				page, err := db.Orders().List(ctx, ports.OrderQuery{UserID: user, After: after, Limit: limit, WithTotal: true})
				require.NoError(t, err)
				require.Equal(t, len(exp), page.Total)
				for _, o := range page.Items {
					got = append(got, o.ID)
				}
				if !page.HasMore {
					break
				}
				last := page.Items[len(page.Items)-1]
				after = &ports.OrderPosition{CreatedAt: last.CreatedAt, ID: last.ID}
			}
			require.Equal(t, exp, got, "cursor user=%q limit=%d", user, limit)
			got = nil
			for off := 0; ; off += limit {
				page, err := db.Orders().List(ctx, ports.OrderQuery{UserID: user, Offset: off, Limit: limit})
				require.NoError(t, err)
				assert.Equal(t, -1, page.Total)
				for _, o := range page.Items {
					got = append(got, o.ID)
				}
				if !page.HasMore {
					break
				}
			}
			require.Equal(t, exp, got, "offset user=%q limit=%d", user, limit)
		}
	}
	_, err := db.Orders().List(ctx, ports.OrderQuery{Limit: 0})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
}

func TestTransition(t *testing.T) {
	ctx := context.Background()
	at := t0.Add(time.Minute)
	tests := []struct {
		name string
		path []ecolaura.OrderStatus
		to   ecolaura.OrderStatus
		want error
	}{
		{"confirm", nil, ecolaura.StatusConfirmed, nil},
		{"cancel pending", nil, ecolaura.StatusCancelled, nil},
		{"ship pending", nil, ecolaura.StatusShipped, ecolaura.ErrInvalidTransition},
		{"cancel shipped", []ecolaura.OrderStatus{ecolaura.StatusConfirmed, ecolaura.StatusShipped}, ecolaura.StatusCancelled, ecolaura.ErrInvalidTransition},
		{"deliver", []ecolaura.OrderStatus{ecolaura.StatusConfirmed, ecolaura.StatusShipped}, ecolaura.StatusDelivered, nil},
		{"cancel twice", []ecolaura.OrderStatus{ecolaura.StatusCancelled}, ecolaura.StatusCancelled, ecolaura.ErrInvalidTransition},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := withTestUsers(t, newDB(t))
			require.NoError(t, db.Orders().Create(ctx, newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "", t0)))
			for _, s := range tc.path {
				_, _, err := db.Orders().Transition(ctx, ports.StatusChange{OrderID: "30000000-0000-7000-8000-000000000001", To: s, At: at})
				require.NoError(t, err)
			}
			prev, err := db.Orders().Get(ctx, "30000000-0000-7000-8000-000000000001")
			require.NoError(t, err)
			before, after, err := db.Orders().Transition(ctx, ports.StatusChange{OrderID: "30000000-0000-7000-8000-000000000001", To: tc.to, At: at})
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				now, err := db.Orders().Get(ctx, "30000000-0000-7000-8000-000000000001")
				require.NoError(t, err)
				assert.Equal(t, prev, now)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, prev, before)
			assert.Equal(t, tc.to, after.Status)
			assert.Equal(t, prev.Version+1, after.Version)
			assert.Equal(t, at, after.UpdatedAt)
			stored, err := db.Orders().Get(ctx, "30000000-0000-7000-8000-000000000001")
			require.NoError(t, err)
			assert.Equal(t, after, stored)
		})
	}
	_, _, err := withTestUsers(t, newDB(t)).Orders().Transition(ctx, ports.StatusChange{OrderID: "nope", To: ecolaura.StatusConfirmed})
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func TestConcurrentTransitionsOneWins(t *testing.T) {
	ctx := context.Background()
	db := withTestUsers(t, newDB(t))
	require.NoError(t, db.Orders().Create(ctx, newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "", t0)))
	var wins, invalid atomic.Int32
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := db.Orders().Transition(ctx, ports.StatusChange{OrderID: "30000000-0000-7000-8000-000000000001", To: ecolaura.StatusCancelled, At: t0})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ecolaura.ErrInvalidTransition):
				invalid.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	assert.Equal(t, int32(29), invalid.Load())
}

func TestMarkConfirmationSent(t *testing.T) {
	ctx := context.Background()
	db := withTestUsers(t, newDB(t))
	require.NoError(t, db.Orders().Create(ctx, newOrder("30000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000001", "", t0)))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.Orders().MarkConfirmationSent(ctx, "30000000-0000-7000-8000-000000000001", t0)
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	o, err := db.Orders().Get(ctx, "30000000-0000-7000-8000-000000000001")
	require.NoError(t, err)
	require.NotNil(t, o.ConfirmationSentAt)
	assert.Equal(t, t0, *o.ConfirmationSentAt)
	_, err = db.Orders().MarkConfirmationSent(ctx, "nope", t0)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}
