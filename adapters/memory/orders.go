package memory

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// orderRec is an immutable stored order.
type orderRec struct {
	o       ecolaura.Order
	created int64 // CreatedAt in Unix nanoseconds
}

func newOrderRec(o ecolaura.Order) *orderRec {
	return &orderRec{o: o.Clone(), created: o.CreatedAt.UnixNano()}
}

func byOrderID(a, b *orderRec) bool { return a.o.ID < b.o.ID }

// newestFirst orders by created_at desc, id desc.
func newestFirst(a, b *orderRec) bool {
	if a.created != b.created {
		return a.created > b.created
	}
	return a.o.ID > b.o.ID
}

func byUserNewestFirst(a, b *orderRec) bool {
	if a.o.UserID != b.o.UserID {
		return a.o.UserID < b.o.UserID
	}
	return newestFirst(a, b)
}

func byIdempotencyKey(a, b *orderRec) bool {
	if a.o.UserID != b.o.UserID {
		return a.o.UserID < b.o.UserID
	}
	return a.o.IdempotencyKey < b.o.IdempotencyKey
}

type userOrderCount struct {
	user ecolaura.ID
	n    int
}

// orderTables is the order part of a snapshot.
type orderTables struct {
	byID   *btree.BTreeG[*orderRec]
	newest *btree.BTreeG[*orderRec]
	byUser *btree.BTreeG[*orderRec]
	idem   *btree.BTreeG[*orderRec] // orders with a non-empty key
	counts *btree.BTreeG[userOrderCount]
}

func newOrderTables() *orderTables {
	return &orderTables{
		byID:   newTree(byOrderID),
		newest: newTree(newestFirst),
		byUser: newTree(byUserNewestFirst),
		idem:   newTree(byIdempotencyKey),
		counts: newTree(func(a, b userOrderCount) bool { return a.user < b.user }),
	}
}

func (ot *orderTables) clone() *orderTables {
	return &orderTables{byID: ot.byID.Clone(), newest: ot.newest.Clone(), byUser: ot.byUser.Clone(), idem: ot.idem.Clone(), counts: ot.counts.Clone()}
}

// anonymizeOrders clears the UserID of every order of the user (as
// PostgreSQL's ON DELETE SET NULL does: nothing else of the order changes).
// An anonymous order is in no per-user index: it has no user to be found
// by, and its idempotency key no longer names a user's request.
func (t *txn) anonymizeOrders(userID ecolaura.ID) {
	var recs []*orderRec
	t.w.orders.byUser.AscendGreaterOrEqual(&orderRec{o: ecolaura.Order{UserID: userID, ID: "\xff"}, created: math.MaxInt64}, func(r *orderRec) bool {
		if r.o.UserID != userID {
			return false
		}
		recs = append(recs, r)
		return true
	})
	if len(recs) == 0 {
		return
	}
	ot := t.orders()
	for _, r := range recs {
		ot.byUser.Delete(r)
		if r.o.IdempotencyKey != "" {
			ot.idem.Delete(r)
		}
		no := r.o.Clone()
		no.UserID = ""
		ot.replace(&orderRec{o: no, created: r.created})
	}
	ot.counts.Delete(userOrderCount{user: userID})
}

func (ot *orderTables) get(id ecolaura.ID) (*orderRec, bool) {
	return ot.byID.Get(&orderRec{o: ecolaura.Order{ID: id}})
}

// replace stores rec in place of an order with the same ID, user, time and
// key. An anonymous order (no user) goes into no per-user index.
func (ot *orderTables) replace(rec *orderRec) {
	ot.byID.ReplaceOrInsert(rec)
	ot.newest.ReplaceOrInsert(rec)
	if rec.o.UserID == "" {
		return
	}
	ot.byUser.ReplaceOrInsert(rec)
	if rec.o.IdempotencyKey != "" {
		ot.idem.ReplaceOrInsert(rec)
	}
}

// orderStore implements ports.OrderStore.
type orderStore struct {
	db *Database
	tx *txn
}

var _ ports.OrderStore = orderStore{}

// Create stores a copy of o with its lines. Errors: ErrConflict when the ID
// exists or the user already has an order with the same non-empty
// IdempotencyKey; *ValidationError (ErrInvalid) when o breaks a rule of
// ports.ValidateStoredOrder or its user does not exist.
func (s orderStore) Create(ctx context.Context, o ecolaura.Order) error {
	if err := ports.ValidateStoredOrder(o); err != nil {
		return fmt.Errorf("memory: create order %s: %w", o.ID, err)
	}
	rec := newOrderRec(o)
	for i := range rec.o.Lines {
		if rec.o.Lines[i].VariantID == "" {
			rec.o.Lines[i].VariantID = rec.o.Lines[i].ProductID
		}
	}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.users.get(o.UserID); !ok {
			// The foreign key of the PostgreSQL schema.
			return fmt.Errorf("memory: create order %s: %w", o.ID, ecolaura.Invalid("user_id", "user %s does not exist", o.UserID))
		}
		ot := t.w.orders
		if _, ok := ot.get(o.ID); ok {
			return fmt.Errorf("memory: create order %s: id taken: %w", o.ID, ecolaura.ErrConflict)
		}
		if o.IdempotencyKey != "" && ot.idem.Has(rec) {
			return fmt.Errorf("memory: create order %s: idempotency key taken: %w", o.ID, ecolaura.ErrConflict)
		}
		if _, ok := t.w.users.get(o.UserID); !ok {
			return fmt.Errorf("memory: create order %s: user %s: %w", o.ID, o.UserID, ecolaura.ErrNotFound)
		}
		ot = t.orders()
		ot.replace(rec)
		c, _ := ot.counts.Get(userOrderCount{user: o.UserID})
		ot.counts.ReplaceOrInsert(userOrderCount{user: o.UserID, n: c.n + 1})
		return nil
	})
}

// Get returns a copy of the order. Errors: ErrNotFound.
func (s orderStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Order, error) {
	var out ecolaura.Order
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.orders.get(id)
		if !ok {
			return fmt.Errorf("memory: get order %s: %w", id, ecolaura.ErrNotFound)
		}
		out = r.o.Clone()
		return nil
	})
	return out, err
}

// GetByIdempotencyKey returns a copy of the user's order created with key.
// Errors: ErrNotFound (also for an empty key).
func (s orderStore) GetByIdempotencyKey(ctx context.Context, userID ecolaura.ID, key string) (ecolaura.Order, error) {
	var out ecolaura.Order
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.orders.idem.Get(&orderRec{o: ecolaura.Order{UserID: userID, IdempotencyKey: key}})
		if key == "" || !ok {
			return fmt.Errorf("memory: get order of user %s by idempotency key: %w", userID, ecolaura.ErrNotFound)
		}
		out = r.o.Clone()
		return nil
	})
	return out, err
}

// List returns a page of orders, newest first, seeking in the global or the
// per-user index: O(log n + page) with a cursor, O(offset + page) with an
// offset; the total comes from maintained counts. Errors: *ValidationError
// (ErrInvalid) for a bad limit or offset.
func (s orderStore) List(ctx context.Context, q ports.OrderQuery) (ports.OrderPage, error) {
	var v ecolaura.Validator
	v.Check(q.Limit >= minLimit && q.Limit <= maxLimit, "limit", "must be between %d and %d", minLimit, maxLimit)
	v.Check(q.Offset >= 0, "offset", "must not be negative")
	if err := v.Err(); err != nil {
		return ports.OrderPage{Total: -1}, fmt.Errorf("memory: list orders: %w", err)
	}
	page := ports.OrderPage{Items: []ecolaura.Order{}, Total: -1}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		ot := sn.orders
		tree, start := ot.newest, (*orderRec)(nil)
		if q.UserID != "" {
			tree = ot.byUser
			// The first entry of the user: newer than any real order.
			start = &orderRec{o: ecolaura.Order{UserID: q.UserID, ID: "\xff"}, created: math.MaxInt64}
		}
		var cursor *orderRec
		if q.After != nil {
			cursor = &orderRec{o: ecolaura.Order{UserID: q.UserID, ID: q.After.ID}, created: q.After.CreatedAt.UnixNano()}
			start = cursor
		}
		skip := 0
		if q.After == nil {
			skip = q.Offset
		}
		walk := func(r *orderRec) bool {
			if q.UserID != "" && r.o.UserID != q.UserID {
				return false
			}
			if cursor != nil && r.created == cursor.created && r.o.ID == cursor.o.ID {
				return true
			}
			if skip > 0 {
				skip--
				return true
			}
			if len(page.Items) == q.Limit {
				page.HasMore = true
				return false
			}
			page.Items = append(page.Items, r.o.Clone())
			return true
		}
		if start != nil {
			tree.AscendGreaterOrEqual(start, walk)
		} else {
			tree.Ascend(walk)
		}
		if q.WithTotal {
			if q.UserID == "" {
				page.Total = ot.byID.Len()
			} else {
				c, _ := ot.counts.Get(userOrderCount{user: q.UserID})
				page.Total = c.n
			}
		}
		return nil
	})
	if err != nil {
		return ports.OrderPage{Total: -1}, err
	}
	return page, nil
}

// Transition atomically moves the order to c.To when
// ecolaura.CanTransition allows it, bumping the version and setting
// UpdatedAt to c.At, and returns copies of the order before and after.
// Of concurrent transitions from one status only the first succeeds.
// Errors: ErrNotFound; ErrInvalidTransition.
func (s orderStore) Transition(ctx context.Context, c ports.StatusChange) (before, after ecolaura.Order, err error) {
	err = update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.orders.get(c.OrderID)
		if !ok {
			return fmt.Errorf("memory: transition order %s: %w", c.OrderID, ecolaura.ErrNotFound)
		}
		if !ecolaura.CanTransition(old.o.Status, c.To) {
			return fmt.Errorf("memory: transition order %s from %s to %s: %w", c.OrderID, old.o.Status, c.To, ecolaura.ErrInvalidTransition)
		}
		no := old.o.Clone()
		no.Status = c.To
		no.Version++
		no.UpdatedAt = c.At
		rec := &orderRec{o: no, created: old.created}
		t.orders().replace(rec)
		before, after = old.o.Clone(), no.Clone()
		return nil
	})
	if err != nil {
		return ecolaura.Order{}, ecolaura.Order{}, err
	}
	return before, after, nil
}

// MarkConfirmationSent sets ConfirmationSentAt (and bumps the version) if it
// is not set yet and reports whether this call set it. Errors: ErrNotFound.
func (s orderStore) MarkConfirmationSent(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	set := false
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.orders.get(id)
		if !ok {
			return fmt.Errorf("memory: mark confirmation of order %s sent: %w", id, ecolaura.ErrNotFound)
		}
		if old.o.ConfirmationSentAt != nil {
			return nil
		}
		no := old.o.Clone()
		no.ConfirmationSentAt = &at
		no.Version++
		t.orders().replace(&orderRec{o: no, created: old.created})
		set = true
		return nil
	})
	return set, err
}
