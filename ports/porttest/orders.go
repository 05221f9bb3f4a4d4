package porttest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// OrderStore checks the semantics of [ports.OrderStore]: orders stored and
// read with all their lines, copies in and out, ErrConflict on a taken ID or
// a (user, idempotency key) pair, GetByIdempotencyKey, List newest first with
// cursor and offset pages, Transition following the status machine with one
// winner among concurrent transitions, and MarkConfirmationSent. Orders
// reference users and products the suite stores first, so foreign keys may be
// enforced.
func OrderStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")

	t.Run("CreateGet", func(t *testing.T) { orderCreateGet(t, db) })
	t.Run("Copies", func(t *testing.T) { orderCopies(t, db) })
	t.Run("CreateConflict", func(t *testing.T) { orderCreateConflict(t, db) })
	t.Run("IdempotencyKey", func(t *testing.T) { orderIdempotencyKey(t, db) })
	t.Run("List", func(t *testing.T) { orderList(t, db) })
	t.Run("ListAllUsers", func(t *testing.T) { orderListAllUsers(t, db) })
	t.Run("Transition", func(t *testing.T) { orderTransition(t, db) })
	t.Run("TransitionConcurrent", func(t *testing.T) { orderTransitionConcurrent(t, db) })
	t.Run("MarkConfirmationSent", func(t *testing.T) { orderMarkConfirmationSent(t, db) })
	t.Run("Constraints", func(t *testing.T) { orderConstraints(t, db) })
	t.Run("DeliveryKept", func(t *testing.T) { orderDeliveryKept(t, db) })
}

// WithDelivery returns o delivered by a shipping method to a Berlin
// address billed to a company in Vienna, with the tax of an exclusive shop
// (totals and footprint adjusted).
func WithDelivery(o ecolaura.Order) ecolaura.Order {
	cur := o.Subtotal.Currency
	o.ShippingAddress = &ecolaura.Address{Name: "Ada Lovelace", Line1: "Unter den Linden 1", Line2: "Hof 2", PostalCode: "10117",
		City: "Berlin", Country: "DE", Phone: "+4930123456"}
	o.BillingAddress = &ecolaura.Address{Name: "Ada Lovelace", Company: "Analytical Engines GmbH", Line1: "Ringstraße 3", PostalCode: "1010",
		City: "Wien", Region: "Wien", Country: "AT"}
	o.Shipping = &ecolaura.OrderShipping{MethodID: NewID(), Method: "Cargo bike · same day", Carrier: "Velo Kurier", Price: ecolaura.NewMoney(690, cur), Footprint: 20}
	o.Tax = &ecolaura.OrderTax{Mode: ecolaura.TaxExclusive, Total: ecolaura.NewMoney(131, cur)}
	o.Total.Amount += 690 + 131
	o.Footprint += 20
	return o
}

// orderDeliveryKept: what an order recorded of its delivery comes back
// from List and survives status changes; orders without one have none.
func orderDeliveryKept(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, _ := orderFixture(t, db)
	plain := NewOrder(u.ID, Line(a, 1))
	delivered := WithDelivery(NewOrder(u.ID, Line(a, 2)))
	require.NoError(t, store.Create(ctx(t), plain))
	require.NoError(t, store.Create(ctx(t), delivered))
	page, err := store.List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 10})
	require.NoError(t, err)
	byID := map[ecolaura.ID]ecolaura.Order{}
	for _, o := range page.Items {
		byID[o.ID] = o
	}
	requireOrder(t, delivered, byID[delivered.ID], "List returns the delivery")
	got := byID[plain.ID]
	require.Nil(t, got.ShippingAddress)
	require.Nil(t, got.BillingAddress)
	require.Nil(t, got.Shipping)
	require.Nil(t, got.Tax)
	_, after, err := store.Transition(ctx(t), ports.StatusChange{OrderID: delivered.ID, To: ecolaura.StatusConfirmed, At: delivered.CreatedAt.Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, delivered.ShippingAddress, after.ShippingAddress)
	require.Equal(t, delivered.BillingAddress, after.BillingAddress)
	require.Equal(t, delivered.Shipping, after.Shipping)
	require.Equal(t, delivered.Tax, after.Tax)
}

// orderFixture stores a user and two products and returns them.
func orderFixture(t *testing.T, db ports.Stores) (ecolaura.User, ecolaura.Product, ecolaura.Product) {
	t.Helper()
	u := mustCreateUser(t, db)
	cat := UniqueCategory()
	a := NewProduct(cat)
	b := NewProduct(cat, func(p *ecolaura.Product) { p.Name, p.Price.Amount, p.Metrics = "Porttest soap", 350, nil })
	mustCreateProducts(t, db, a, b)
	return u, a, b
}

func orderCreateGet(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, b := orderFixture(t, db)
	tests := []struct {
		name string
		o    ecolaura.Order
	}{
		{"one line", NewOrder(u.ID, Line(a, 1))},
		{"several lines", NewOrder(u.ID, Line(a, 3), Line(b, ecolaura.MaxLineQuantity))},
		{"with offset, key and confirmation", func() ecolaura.Order {
			o := NewOrder(u.ID, Line(b, 2), Line(a, 1))
			o.Offset = &ecolaura.CarbonOffset{Footprint: o.Footprint, Price: ecolaura.NewMoney(12, ecolaura.DefaultCurrency)}
			o.Total.Amount += 12
			o.IdempotencyKey = RandomToken("key-") + strings.Repeat("k", ecolaura.MaxIdempotencyKey-16)
			o.RequestHash = randomHex(32)
			o.ConfirmationSentAt = ptr(o.CreatedAt.Add(time.Second))
			o.Status = ecolaura.StatusShipped
			return o
		}()},
		{"with delivery, addresses and tax", func() ecolaura.Order { return WithDelivery(NewOrder(u.ID, Line(a, 2), Line(b, 1))) }()},
		{"with a shipping address only", func() ecolaura.Order {
			o := WithDelivery(NewOrder(u.ID, Line(a, 1)))
			o.BillingAddress = nil
			return o
		}()},
		{"many lines", func() ecolaura.Order {
			var lines []ecolaura.OrderLine
			cat := UniqueCategory()
			for i := range 25 {
				p := NewProduct(cat, func(p *ecolaura.Product) { p.Name, p.Price.Amount = fmt.Sprintf("Line product %02d", i), int64(100+i) })
				mustCreateProducts(t, db, p)
				lines = append(lines, Line(p, i+1))
			}
			return NewOrder(u.ID, lines...)
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, store.Create(ctx(t), tc.o))
			got, err := store.Get(ctx(t), tc.o.ID)
			require.NoError(t, err)
			requireOrder(t, tc.o, got, "Get returns the order with all its lines, in order")
		})
	}
	t.Run("not found", func(t *testing.T) {
		_, err := store.Get(ctx(t), NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
}

func orderCopies(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, b := orderFixture(t, db)
	mutate := func(o *ecolaura.Order) {
		o.Lines[0].Quantity = 999
		o.Lines[0].Name = "mutated"
		o.Offset.Price.Amount = 1
		*o.ConfirmationSentAt = time.Time{}
		o.Status = ecolaura.StatusCancelled
	}
	o := NewOrder(u.ID, Line(a, 1), Line(b, 2))
	o.Offset = &ecolaura.CarbonOffset{Footprint: o.Footprint, Price: ecolaura.NewMoney(5, ecolaura.DefaultCurrency)}
	o.Total.Amount += 5
	o.ConfirmationSentAt = ptr(o.CreatedAt)
	o.IdempotencyKey = RandomToken("key-")
	want := o.Clone()
	require.NoError(t, store.Create(ctx(t), o))
	mutate(&o)
	got, err := store.Get(ctx(t), want.ID)
	require.NoError(t, err)
	requireOrder(t, want, got, "mutating the value passed to Create changed the store")
	mutate(&got)
	byKey, err := store.GetByIdempotencyKey(ctx(t), u.ID, want.IdempotencyKey)
	require.NoError(t, err)
	requireOrder(t, want, byKey, "mutating a value returned by Get changed the store")
	mutate(&byKey)
	page, err := store.List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	requireOrder(t, want, page.Items[0], "mutating a value returned by GetByIdempotencyKey changed the store")
	mutate(&page.Items[0])
	got, err = store.Get(ctx(t), want.ID)
	require.NoError(t, err)
	requireOrder(t, want, got, "mutating a value returned by List changed the store")
}

func orderCreateConflict(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, b := orderFixture(t, db)
	o := NewOrder(u.ID, Line(a, 1))
	require.NoError(t, store.Create(ctx(t), o))
	dup := NewOrder(u.ID, Line(b, 5))
	dup.ID = o.ID
	require.ErrorIs(t, store.Create(ctx(t), dup), ecolaura.ErrConflict, "Create with an existing ID")
	got, err := store.Get(ctx(t), o.ID)
	require.NoError(t, err)
	requireOrder(t, o, got, "a conflicting Create must not change the stored order")
}

func orderIdempotencyKey(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, _ := orderFixture(t, db)
	other := mustCreateUser(t, db)
	key := RandomToken("idem-")

	first := NewOrder(u.ID, Line(a, 1))
	first.IdempotencyKey, first.RequestHash = key, "hash-1"
	require.NoError(t, store.Create(ctx(t), first))

	t.Run("same user same key conflicts", func(t *testing.T) {
		dup := NewOrder(u.ID, Line(a, 2))
		dup.IdempotencyKey, dup.RequestHash = key, "hash-2"
		require.ErrorIs(t, store.Create(ctx(t), dup), ecolaura.ErrConflict)
		_, err := store.Get(ctx(t), dup.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "the conflicting order must not be stored")
	})
	t.Run("other user same key", func(t *testing.T) {
		o := NewOrder(other.ID, Line(a, 1))
		o.IdempotencyKey = key
		require.NoError(t, store.Create(ctx(t), o), "keys are scoped to the user")
		got, err := store.GetByIdempotencyKey(ctx(t), other.ID, key)
		require.NoError(t, err)
		requireOrder(t, o, got)
	})
	t.Run("empty keys never conflict", func(t *testing.T) {
		for range 3 {
			require.NoError(t, store.Create(ctx(t), NewOrder(u.ID, Line(a, 1))))
		}
	})
	t.Run("lookup", func(t *testing.T) {
		got, err := store.GetByIdempotencyKey(ctx(t), u.ID, key)
		require.NoError(t, err)
		requireOrder(t, first, got)
	})
	t.Run("lookup misses", func(t *testing.T) {
		for name, q := range map[string]struct {
			user ecolaura.ID
			key  string
		}{
			"unknown key":              {u.ID, RandomToken("idem-")},
			"key of another user":      {mustCreateUser(t, db).ID, key},
			"unknown user":             {NewID(), key},
			"key differs only in case": {u.ID, strings.ToUpper(key)},
		} {
			_, err := store.GetByIdempotencyKey(ctx(t), q.user, q.key)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, name)
		}
	})
	t.Run("concurrent creates with one key", func(t *testing.T) {
		const n = 30
		key := RandomToken("idem-")
		errs := make([]error, n)
		race(n, func(i int) {
			o := NewOrder(u.ID, Line(a, 1))
			o.IdempotencyKey = key
			errs[i] = store.Create(ctx(t), o)
		})
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(t, err, ecolaura.ErrConflict, "goroutine %d", i)
		}
		require.Equal(t, 1, ok, "exactly one order per (user, key)")
	})
}

// newestFirst sorts orders as OrderStore.List does.
func newestFirst(os []ecolaura.Order) []ecolaura.Order {
	out := slices.Clone(os)
	slices.SortFunc(out, func(a, b ecolaura.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID), string(a.ID))
	})
	return out
}

func orderAfter(o ecolaura.Order, pos ports.OrderPosition) bool {
	if c := o.CreatedAt.Compare(pos.CreatedAt); c != 0 {
		return c < 0
	}
	return o.ID < pos.ID
}

func orderList(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, _ := orderFixture(t, db)
	other := mustCreateUser(t, db)
	base := Now().Add(-time.Hour)
	var mine []ecolaura.Order
	for i := range 23 {
		o := NewOrder(u.ID, Line(a, 1+i%3))
		o.CreatedAt = base.Add(-time.Duration(i/3) * time.Second) // triples share a creation time
		o.UpdatedAt = o.CreatedAt
		mine = append(mine, o)
	}
	// Store them out of order, interleaved with another user's orders.
	for _, i := range []int{5, 0, 22, 1, 13, 2, 3, 4, 21, 20, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19} {
		require.NoError(t, store.Create(ctx(t), mine[i]))
		require.NoError(t, store.Create(ctx(t), NewOrder(other.ID, Line(a, 1))))
	}
	want := newestFirst(mine)

	t.Run("one page", func(t *testing.T) {
		page, err := store.List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 1000, WithTotal: true})
		require.NoError(t, err)
		require.Equal(t, orderIDs(want), orderIDs(page.Items), "newest first, ties by ID descending")
		for i := range want {
			requireOrder(t, want[i], page.Items[i], "orders are listed with their lines")
		}
		require.False(t, page.HasMore)
		require.Equal(t, len(want), page.Total)
	})
	for _, limit := range []int{1, 3, 5, 23} {
		t.Run(fmt.Sprintf("cursor pages of %d", limit), func(t *testing.T) {
			var all []ecolaura.Order
			q := ports.OrderQuery{UserID: u.ID, Limit: limit}
			for range len(want) + 2 {
				page, err := store.List(ctx(t), q)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page.Items), limit)
				require.Equal(t, -1, page.Total, "Total without WithTotal")
				all = append(all, page.Items...)
				if !page.HasMore {
					break
				}
				require.Len(t, page.Items, limit, "a page followed by more items must be full")
				last := page.Items[len(page.Items)-1]
				q.After = &ports.OrderPosition{CreatedAt: last.CreatedAt, ID: last.ID}
			}
			require.Equal(t, orderIDs(want), orderIDs(all))
		})
	}
	t.Run("cursor stable when newer orders arrive", func(t *testing.T) {
		page, err := store.List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 4})
		require.NoError(t, err)
		last := page.Items[3]
		newer := NewOrder(u.ID, Line(a, 1)) // the newest of all
		require.NoError(t, store.Create(ctx(t), newer))
		rest, err := store.List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 1000, After: &ports.OrderPosition{CreatedAt: last.CreatedAt, ID: last.ID}})
		require.NoError(t, err)
		require.Equal(t, orderIDs(want[4:]), orderIDs(rest.Items))
		mine = append(mine, newer)
		want = newestFirst(mine)
	})
	t.Run("offset pages", func(t *testing.T) {
		n := len(want)
		for _, offset := range []int{0, 1, 7, n - 1, n, n + 3} {
			for _, limit := range []int{1, 5, 1000} {
				page, err := store.List(ctx(t), ports.OrderQuery{UserID: u.ID, Offset: offset, Limit: limit, WithTotal: true})
				require.NoError(t, err)
				var wantPage []ecolaura.Order
				if offset < n {
					wantPage = want[offset:min(offset+limit, n)]
				}
				msg := fmt.Sprintf("offset %d limit %d of %d", offset, limit, n)
				require.Equal(t, orderIDs(wantPage), orderIDs(page.Items), msg)
				require.Equal(t, offset+limit < n, page.HasMore, "HasMore, %s", msg)
				require.Equal(t, n, page.Total, "Total, %s", msg)
			}
		}
	})
	t.Run("user without orders", func(t *testing.T) {
		page, err := store.List(ctx(t), ports.OrderQuery{UserID: mustCreateUser(t, db).ID, Limit: 10, WithTotal: true})
		require.NoError(t, err)
		require.Empty(t, page.Items)
		require.False(t, page.HasMore)
		require.Equal(t, 0, page.Total)
	})
}

// orderListAllUsers lists without a user filter. On a shared database other
// orders may interleave, so it checks that every page is in newest-first
// order and that its own orders (dated in the future, where few others
// live) come in the expected relative order.
func orderListAllUsers(t *testing.T, db ports.Database) {
	store := db.Orders()
	_, a, _ := orderFixture(t, db)
	users := []ecolaura.User{mustCreateUser(t, db), mustCreateUser(t, db), mustCreateUser(t, db)}
	future := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(time.Now().UnixNano()%1e6) * time.Second)
	var mine []ecolaura.Order
	for i := range 12 {
		o := NewOrder(users[i%3].ID, Line(a, 1))
		o.CreatedAt = future.Add(-time.Duration(i/2) * time.Millisecond)
		o.UpdatedAt = o.CreatedAt
		mine = append(mine, o)
		require.NoError(t, store.Create(ctx(t), o))
	}
	want := newestFirst(mine)
	ours := map[ecolaura.ID]bool{}
	for _, o := range mine {
		ours[o.ID] = true
	}
	start := &ports.OrderPosition{CreatedAt: want[0].CreatedAt.Add(time.Microsecond), ID: want[0].ID}
	q := ports.OrderQuery{Limit: 5, After: start}
	var seen []ecolaura.ID
	var prev *ecolaura.Order
	for range 1000 {
		page, err := store.List(ctx(t), q)
		require.NoError(t, err)
		for i := range page.Items {
			o := page.Items[i]
			require.True(t, orderAfter(o, *start), "order %s is not after the cursor", o.ID)
			if prev != nil {
				require.True(t, orderAfter(o, ports.OrderPosition{CreatedAt: prev.CreatedAt, ID: prev.ID}), "orders out of newest-first order")
			}
			prev = &page.Items[i]
			if ours[o.ID] {
				seen = append(seen, o.ID)
			}
		}
		if !page.HasMore || len(seen) == len(want) {
			break
		}
		q.After = &ports.OrderPosition{CreatedAt: prev.CreatedAt, ID: prev.ID}
	}
	require.Equal(t, orderIDs(want), seen, "the suite's orders in newest-first order across users")
}

func orderTransition(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, _ := orderFixture(t, db)
	statuses := []ecolaura.OrderStatus{ecolaura.StatusPending, ecolaura.StatusConfirmed, ecolaura.StatusShipped, ecolaura.StatusDelivered, ecolaura.StatusCancelled}
	for _, from := range statuses {
		for _, to := range statuses {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				o := NewOrder(u.ID, Line(a, 1))
				o.Status = from
				require.NoError(t, store.Create(ctx(t), o))
				at := o.CreatedAt.Add(time.Minute)
				before, after, err := store.Transition(ctx(t), ports.StatusChange{OrderID: o.ID, To: to, At: at})
				if !ecolaura.CanTransition(from, to) {
					require.ErrorIs(t, err, ecolaura.ErrInvalidTransition)
					got, err := store.Get(ctx(t), o.ID)
					require.NoError(t, err)
					requireOrder(t, o, got, "a rejected transition must change nothing")
					return
				}
				require.NoError(t, err)
				requireOrder(t, o, before, "before is the order as it was")
				want := o.Clone()
				want.Status, want.UpdatedAt, want.Version = to, at, o.Version+1
				requireOrder(t, want, after, "after is the order as it is now")
				got, err := store.Get(ctx(t), o.ID)
				require.NoError(t, err)
				requireOrder(t, want, got)
			})
		}
	}
	t.Run("not found", func(t *testing.T) {
		_, _, err := store.Transition(ctx(t), ports.StatusChange{OrderID: NewID(), To: ecolaura.StatusConfirmed, At: Now()})
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("full path", func(t *testing.T) {
		o := NewOrder(u.ID, Line(a, 1))
		require.NoError(t, store.Create(ctx(t), o))
		for i, to := range []ecolaura.OrderStatus{ecolaura.StatusConfirmed, ecolaura.StatusShipped, ecolaura.StatusDelivered} {
			_, after, err := store.Transition(ctx(t), ports.StatusChange{OrderID: o.ID, To: to, At: Now()})
			require.NoError(t, err)
			require.Equal(t, to, after.Status)
			require.Equal(t, o.Version+int64(i)+1, after.Version)
		}
	})
}

func orderTransitionConcurrent(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, _ := orderFixture(t, db)
	// Every target below leaves a status from which no other target of the
	// same case is reachable, so a serial execution has exactly one winner.
	for _, tc := range []struct {
		name string
		from ecolaura.OrderStatus
		to   func(i int) ecolaura.OrderStatus
	}{
		{"cancel pending", ecolaura.StatusPending, func(int) ecolaura.OrderStatus { return ecolaura.StatusCancelled }},
		{"confirm pending", ecolaura.StatusPending, func(int) ecolaura.OrderStatus { return ecolaura.StatusConfirmed }},
		{"ship or cancel confirmed", ecolaura.StatusConfirmed, func(i int) ecolaura.OrderStatus {
			if i%2 == 0 {
				return ecolaura.StatusShipped
			}
			return ecolaura.StatusCancelled
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOrder(u.ID, Line(a, 1))
			o.Status = tc.from
			require.NoError(t, store.Create(ctx(t), o))
			const n = 20
			errs := make([]error, n)
			befores := make([]ecolaura.Order, n)
			race(n, func(i int) {
				befores[i], _, errs[i] = store.Transition(ctx(t), ports.StatusChange{OrderID: o.ID, To: tc.to(i), At: Now()})
			})
			won := -1
			for i, err := range errs {
				if err == nil {
					require.Equal(t, -1, won, "two concurrent transitions from %s both succeeded (%d and %d)", tc.from, won, i)
					won = i
					require.Equal(t, tc.from, befores[i].Status)
					continue
				}
				require.ErrorIs(t, err, ecolaura.ErrInvalidTransition, "goroutine %d", i)
			}
			require.NotEqual(t, -1, won, "no transition succeeded")
			got, err := store.Get(ctx(t), o.ID)
			require.NoError(t, err)
			require.Equal(t, tc.to(won), got.Status)
			require.Equal(t, o.Version+1, got.Version)
		})
	}
}

func orderMarkConfirmationSent(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, _ := orderFixture(t, db)
	t.Run("once", func(t *testing.T) {
		o := NewOrder(u.ID, Line(a, 1))
		require.NoError(t, store.Create(ctx(t), o))
		at := o.CreatedAt.Add(time.Minute)
		set, err := store.MarkConfirmationSent(ctx(t), o.ID, at)
		require.NoError(t, err)
		require.True(t, set, "first call sets it")
		set, err = store.MarkConfirmationSent(ctx(t), o.ID, at.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, set, "second call must report it was already set")
		got, err := store.Get(ctx(t), o.ID)
		require.NoError(t, err)
		require.NotNil(t, got.ConfirmationSentAt)
		require.True(t, at.Equal(*got.ConfirmationSentAt), "ConfirmationSentAt is the time of the first call, got %v", *got.ConfirmationSentAt)
		require.Equal(t, o.Status, got.Status)
		require.Equal(t, canonOrder(o).Lines, got.Lines)
		require.Equal(t, o.Version+1, got.Version, "setting the time bumps the version once")
		require.True(t, o.UpdatedAt.Equal(got.UpdatedAt), "UpdatedAt stays")
	})
	t.Run("concurrent", func(t *testing.T) {
		o := NewOrder(u.ID, Line(a, 1))
		require.NoError(t, store.Create(ctx(t), o))
		const n = 20
		sets := make([]bool, n)
		errs := make([]error, n)
		race(n, func(i int) { sets[i], errs[i] = store.MarkConfirmationSent(ctx(t), o.ID, Now()) })
		won := 0
		for i := range n {
			require.NoError(t, errs[i])
			if sets[i] {
				won++
			}
		}
		require.Equal(t, 1, won, "exactly one concurrent MarkConfirmationSent reports that it set the time")
	})
}
