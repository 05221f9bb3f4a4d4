package orders_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

// orderIn makes an order and drives it to status st.
func (f *fixture) orderIn(t *testing.T, owner ecolaura.Principal, p ecolaura.Product, st ecolaura.OrderStatus) ecolaura.Order {
	t.Helper()
	ctx := context.Background()
	o := f.checkout(t, owner, req(line(p, 1)))
	staff := ecolaura.System()
	var err error
	switch st {
	case ecolaura.StatusPending:
	case ecolaura.StatusCancelled:
		o, err = f.svc.Cancel(ctx, staff, o.ID)
	default:
		require.NoError(t, f.svc.ProcessOrder(ctx, o.ID))
		if st == ecolaura.StatusShipped || st == ecolaura.StatusDelivered {
			_, err = f.svc.Ship(ctx, staff, o.ID)
			require.NoError(t, err)
		}
		if st == ecolaura.StatusDelivered {
			_, err = f.svc.Deliver(ctx, staff, o.ID)
		}
		if err == nil {
			o, err = f.svc.Get(ctx, staff, o.ID)
		}
	}
	require.NoError(t, err)
	require.Equal(t, st, o.Status)
	return o
}

func TestStatusMachine(t *testing.T) { storetest.Run(t, testStatusMachine) }

func testStatusMachine(t *testing.T, s storetest.Store) {
	type action string
	const (
		cancel  action = "cancel"
		ship    action = "ship"
		deliver action = "deliver"
		confirm action = "process_order"
	)
	// want is the status after the action, or "" for ErrInvalidTransition
	// (process_order never fails: it is a no-op outside pending).
	tests := []struct {
		from ecolaura.OrderStatus
		act  action
		want ecolaura.OrderStatus
	}{
		{ecolaura.StatusPending, confirm, ecolaura.StatusConfirmed},
		{ecolaura.StatusPending, cancel, ecolaura.StatusCancelled},
		{ecolaura.StatusPending, ship, ""},
		{ecolaura.StatusPending, deliver, ""},
		{ecolaura.StatusConfirmed, confirm, ecolaura.StatusConfirmed},
		{ecolaura.StatusConfirmed, cancel, ecolaura.StatusCancelled},
		{ecolaura.StatusConfirmed, ship, ecolaura.StatusShipped},
		{ecolaura.StatusConfirmed, deliver, ""},
		{ecolaura.StatusShipped, confirm, ecolaura.StatusShipped},
		{ecolaura.StatusShipped, cancel, ""},
		{ecolaura.StatusShipped, ship, ""},
		{ecolaura.StatusShipped, deliver, ecolaura.StatusDelivered},
		{ecolaura.StatusDelivered, confirm, ecolaura.StatusDelivered},
		{ecolaura.StatusDelivered, cancel, ""},
		{ecolaura.StatusDelivered, ship, ""},
		{ecolaura.StatusDelivered, deliver, ""},
		{ecolaura.StatusCancelled, confirm, ecolaura.StatusCancelled},
		{ecolaura.StatusCancelled, cancel, ""},
		{ecolaura.StatusCancelled, ship, ""},
		{ecolaura.StatusCancelled, deliver, ""},
	}
	f := newFixture(t, s) // each case has its own users, product and order
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%s %s", tc.act, tc.from), func(t *testing.T) {
			owner := f.user(t, fmt.Sprintf("owner%d", i), ecolaura.RoleCustomer)
			staff := f.user(t, fmt.Sprintf("staff%d", i), ecolaura.RoleStaff)
			p := f.product(t, productSpec{price: 100, stock: 5, footprint: 1})
			o := f.orderIn(t, owner, p, tc.from)
			stockBefore := f.stock(t, p.ID)
			f.clock.Advance(time.Minute)

			ctx := context.Background()
			var err error
			switch tc.act {
			case cancel:
				_, err = f.svc.Cancel(ctx, owner, o.ID)
			case ship:
				_, err = f.svc.Ship(ctx, staff, o.ID)
			case deliver:
				_, err = f.svc.Deliver(ctx, staff, o.ID)
			case confirm:
				err = f.svc.ProcessOrder(ctx, o.ID)
			}
			got, gerr := f.svc.Get(ctx, owner, o.ID)
			require.NoError(t, gerr)
			if tc.want == "" {
				require.ErrorIs(t, err, ecolaura.ErrInvalidTransition)
				assert.Equal(t, tc.from, got.Status)
				assert.Equal(t, o.Version, got.Version)
				assert.Equal(t, stockBefore, f.stock(t, p.ID))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Status)
			if tc.want != tc.from {
				assert.Equal(t, f.clock.Now(), got.UpdatedAt)
			}
			wantStock := stockBefore
			if tc.act == cancel {
				wantStock++
			}
			assert.Equal(t, wantStock, f.stock(t, p.ID))
		})
	}
}

func TestConcurrentCancelRestocksOnce(t *testing.T) {
	storetest.Run(t, testConcurrentCancelRestocksOnce)
}

func testConcurrentCancelRestocksOnce(t *testing.T, s storetest.Store) {
	for _, from := range []ecolaura.OrderStatus{ecolaura.StatusPending, ecolaura.StatusConfirmed} {
		t.Run(string(from), func(t *testing.T) {
			f := newFixture(t, s)
			owner := f.user(t, "owner", ecolaura.RoleCustomer)
			staff := f.user(t, "staff", ecolaura.RoleStaff)
			a := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
			b := f.product(t, productSpec{price: 200, stock: 10, footprint: 1})
			o := f.checkout(t, owner, req(line(b, 4), line(a, 3)))
			if from == ecolaura.StatusConfirmed {
				require.NoError(t, f.svc.ProcessOrder(context.Background(), o.ID))
			}
			require.Equal(t, 7, f.stock(t, a.ID))
			require.Equal(t, 6, f.stock(t, b.ID))

			const n = 20
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, invalid := 0, 0
			start := make(chan struct{})
			for i := range n {
				actor := owner
				if i%2 == 1 {
					actor = staff
				}
				wg.Go(func() {
					<-start
					_, err := f.svc.Cancel(context.Background(), actor, o.ID)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, ecolaura.ErrInvalidTransition):
						invalid++
					default:
						t.Errorf("unexpected error: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, 1, wins)
			assert.Equal(t, n-1, invalid)
			assert.Equal(t, 10, f.stock(t, a.ID), "restocked exactly once")
			assert.Equal(t, 10, f.stock(t, b.ID), "restocked exactly once")
		})
	}
}

func TestCancelWhenProductWasDeleted(t *testing.T) { storetest.Run(t, testCancelWhenProductWasDeleted) }

func testCancelWhenProductWasDeleted(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	owner := f.user(t, "owner", ecolaura.RoleCustomer)
	gone := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
	kept := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
	o := f.checkout(t, owner, req(line(gone, 1), line(kept, 2)))
	require.NoError(t, f.db.Products().Delete(context.Background(), gone.ID))
	got, err := f.svc.Cancel(context.Background(), owner, o.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusCancelled, got.Status)
	assert.Equal(t, 10, f.stock(t, kept.ID))
}

// TestCancelWhenStockWasSetToTheMaximum is issue 10's example: 1,000 units
// of a product at the maximum stock are ordered, staff set the stock back
// to the maximum, and the order is cancelled. The memory store refused the
// cancellation forever (400) and PostgreSQL let the stock pass the maximum,
// after which no edit of the product succeeded. Now the cancellation
// succeeds, the stock stops at the maximum and the product stays editable,
// on both stores.
func TestCancelWhenStockWasSetToTheMaximum(t *testing.T) {
	storetest.Run(t, testCancelWhenStockWasSetToTheMaximum)
}

func testCancelWhenStockWasSetToTheMaximum(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	owner := f.user(t, "owner", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 100, stock: ecolaura.MaxStock, footprint: 1})
	o := f.checkout(t, owner, req(line(p, ecolaura.MaxLineQuantity)))
	require.Equal(t, ecolaura.MaxStock-ecolaura.MaxLineQuantity, f.stock(t, p.ID))
	cur, err := f.db.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	cur.Stock = ecolaura.MaxStock
	_, err = f.db.Products().Update(ctx, cur)
	require.NoError(t, err)

	got, err := f.svc.Cancel(ctx, owner, o.ID)
	require.NoError(t, err, "a cancellation is never stuck")
	assert.Equal(t, ecolaura.StatusCancelled, got.Status)
	assert.Equal(t, ecolaura.MaxStock, f.stock(t, p.ID), "the stock stops at the maximum")

	cur, err = f.db.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	cur.Name = "Renamed after the cancellation"
	_, err = f.db.Products().Update(ctx, cur)
	require.NoError(t, err, "the product stays editable")
}

func TestAuthorization(t *testing.T) { storetest.Run(t, testAuthorization) }

func testAuthorization(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	bob := f.user(t, "bob", ecolaura.RoleCustomer)
	staff := f.user(t, "staff", ecolaura.RoleStaff)
	p := f.product(t, productSpec{price: 100, stock: 100, footprint: 1})
	bobs := f.checkout(t, bob, req(line(p, 1)))
	alices := f.checkout(t, alice, req(line(p, 2)))
	missing := ecolaura.ID("00000000-0000-7000-8000-00000000ffff")

	t.Run("get", func(t *testing.T) {
		tests := []struct {
			name   string
			actor  ecolaura.Principal
			id     ecolaura.ID
			target error
		}{
			{"owner reads own order", alice, alices.ID, nil},
			{"staff reads any order", staff, bobs.ID, nil},
			{"customer cannot read another's order", alice, bobs.ID, ecolaura.ErrNotFound},
			{"missing order looks the same", alice, missing, ecolaura.ErrNotFound},
			{"malformed id is not found", alice, "../../etc", ecolaura.ErrNotFound},
			{"anonymous", ecolaura.Anonymous, alices.ID, ecolaura.ErrUnauthenticated},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				o, err := f.svc.Get(ctx, tc.actor, tc.id)
				if tc.target != nil {
					require.ErrorIs(t, err, tc.target)
					assert.Empty(t, o.ID)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.id, o.ID)
			})
		}
		// The error for someone else's order says nothing the missing one doesn't.
		_, errOther := f.svc.Get(ctx, alice, bobs.ID)
		_, errMissing := f.svc.Get(ctx, alice, missing)
		assert.Equal(t, len(errOther.Error()), len(errMissing.Error()))
	})

	t.Run("cancel and ship", func(t *testing.T) {
		tests := []struct {
			name   string
			do     func() error
			target error
		}{
			{"customer cannot cancel another's order", func() error { _, err := f.svc.Cancel(ctx, alice, bobs.ID); return err }, ecolaura.ErrNotFound},
			{"anonymous cannot cancel", func() error { _, err := f.svc.Cancel(ctx, ecolaura.Anonymous, bobs.ID); return err }, ecolaura.ErrUnauthenticated},
			{"customer cannot ship own order", func() error { _, err := f.svc.Ship(ctx, alice, alices.ID); return err }, ecolaura.ErrForbidden},
			{"customer cannot ship another's order", func() error { _, err := f.svc.Ship(ctx, alice, bobs.ID); return err }, ecolaura.ErrForbidden},
			{"customer cannot deliver", func() error { _, err := f.svc.Deliver(ctx, alice, alices.ID); return err }, ecolaura.ErrForbidden},
			{"anonymous cannot ship", func() error { _, err := f.svc.Ship(ctx, ecolaura.Anonymous, alices.ID); return err }, ecolaura.ErrUnauthenticated},
			{"staff ship of a missing order", func() error { _, err := f.svc.Ship(ctx, staff, missing); return err }, ecolaura.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				require.ErrorIs(t, tc.do(), tc.target)
			})
		}
		got, err := f.svc.Get(ctx, staff, bobs.ID)
		require.NoError(t, err)
		assert.Equal(t, ecolaura.StatusPending, got.Status, "bob's order is untouched")
		assert.Equal(t, 97, f.stock(t, p.ID), "nothing restocked")
	})

	t.Run("list", func(t *testing.T) {
		res, err := f.svc.List(ctx, alice, orders.ListParams{})
		require.NoError(t, err)
		require.Len(t, res.Items, 1)
		assert.Equal(t, alices.ID, res.Items[0].ID)

		_, err = f.svc.List(ctx, alice, orders.ListParams{UserID: bob.UserID})
		require.ErrorIs(t, err, ecolaura.ErrForbidden)

		res, err = f.svc.List(ctx, alice, orders.ListParams{UserID: alice.UserID})
		require.NoError(t, err)
		assert.Len(t, res.Items, 1)

		res, err = f.svc.List(ctx, staff, orders.ListParams{})
		require.NoError(t, err)
		assert.Len(t, res.Items, 2, "staff see all orders")

		res, err = f.svc.List(ctx, staff, orders.ListParams{UserID: bob.UserID})
		require.NoError(t, err)
		require.Len(t, res.Items, 1)
		assert.Equal(t, bobs.ID, res.Items[0].ID)

		_, err = f.svc.List(ctx, ecolaura.Anonymous, orders.ListParams{})
		require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	})
}

func TestList(t *testing.T) { storetest.Run(t, testList) }

func testList(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	bob := f.user(t, "bob", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 100, stock: 1000, footprint: 1})
	var mine []ecolaura.ID
	for i := range 25 {
		f.clock.Advance(time.Second)
		if i%5 == 4 {
			f.checkout(t, bob, req(line(p, 1)))
		}
		mine = append(mine, f.checkout(t, alice, req(line(p, 1))).ID)
	}
	// Newest first.
	want := make([]ecolaura.ID, len(mine))
	for i, id := range mine {
		want[len(mine)-1-i] = id
	}

	t.Run("cursor pages", func(t *testing.T) {
		var got []ecolaura.ID
		cursor := ""
		for range 10 {
			res, err := f.svc.List(ctx, alice, orders.ListParams{Cursor: cursor, PageSize: 10})
			require.NoError(t, err)
			assert.Equal(t, -1, res.Total)
			for _, o := range res.Items {
				got = append(got, o.ID)
			}
			if !res.HasMore {
				assert.Empty(t, res.NextCursor)
				break
			}
			require.NotEmpty(t, res.NextCursor)
			cursor = res.NextCursor
			// A new order does not shift the next pages.
			f.clock.Advance(time.Second)
			f.checkout(t, bob, req(line(p, 1)))
		}
		assert.Equal(t, want, got)
	})

	t.Run("numbered pages", func(t *testing.T) {
		tests := []struct {
			page, size int
			want       []ecolaura.ID
		}{
			{1, 10, want[:10]},
			{2, 10, want[10:20]},
			{3, 10, want[20:]},
			{4, 10, nil},
			{1, 0, want[:orders.DefaultPageSize]},
			{1, 100, want},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("page %d size %d", tc.page, tc.size), func(t *testing.T) {
				res, err := f.svc.List(ctx, alice, orders.ListParams{Page: tc.page, PageSize: tc.size})
				require.NoError(t, err)
				assert.Equal(t, 25, res.Total)
				var got []ecolaura.ID
				for _, o := range res.Items {
					got = append(got, o.ID)
				}
				assert.Equal(t, tc.want, got)
			})
		}
	})

	t.Run("invalid parameters", func(t *testing.T) {
		tests := []struct {
			name  string
			p     orders.ListParams
			field string
		}{
			{"garbage cursor", orders.ListParams{Cursor: "not a cursor!"}, "cursor"},
			{"base64 of garbage", orders.ListParams{Cursor: "aGVsbG8"}, "cursor"},
			{"forged cursor id", orders.ListParams{Cursor: "bzE6MTIzOi4uLy4u"}, "cursor"},
			{"huge cursor", orders.ListParams{Cursor: string(make([]byte, 4096))}, "cursor"},
			{"cursor with page", orders.ListParams{Cursor: "x", Page: 2}, "cursor"},
			{"negative page", orders.ListParams{Page: -1}, "page"},
			{"page size too big", orders.ListParams{PageSize: 101}, "page_size"},
			{"negative page size", orders.ListParams{PageSize: -1}, "page_size"},
			{"page too large", orders.ListParams{Page: 1 << 40}, "page"},
			{"bad user id", orders.ListParams{UserID: "bob"}, "user_id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.List(ctx, alice, tc.p)
				assert.Contains(t, fieldsOf(t, err), tc.field)
			})
		}
	})
}
