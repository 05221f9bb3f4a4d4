package memory

import (
	"cmp"
	"context"
	"fmt"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// paymentTables holds the payment records of a snapshot (immutable values
// in copy-on-write trees).
type paymentTables struct {
	byID    *btree.BTreeG[ecolaura.Payment]
	byOrder *btree.BTreeG[ecolaura.Payment] // order, created, id
	events  *btree.BTreeG[string]           // the non-empty event IDs
}

func newPaymentTables() *paymentTables {
	return &paymentTables{
		byID: newTree(func(a, b ecolaura.Payment) bool { return a.ID < b.ID }),
		byOrder: newTree(func(a, b ecolaura.Payment) bool {
			return cmp.Or(cmp.Compare(a.OrderID, b.OrderID), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) < 0
		}),
		events: newTree(func(a, b string) bool { return a < b }),
	}
}

func (pt *paymentTables) clone() *paymentTables {
	return &paymentTables{byID: pt.byID.Clone(), byOrder: pt.byOrder.Clone(), events: pt.events.Clone()}
}

func (t *txn) payments() *paymentTables { return own(t, &t.ownPay, &t.w.payments) }

// paymentStore implements ports.PaymentStore.
type paymentStore struct {
	db *Database
	tx *txn
}

var _ ports.PaymentStore = paymentStore{}

// Record stores p. Errors: ErrInvalid; ErrConflict (ID or event ID).
func (s paymentStore) Record(ctx context.Context, p ecolaura.Payment) error {
	if err := ecolaura.ValidateStoredPayment(p); err != nil {
		return fmt.Errorf("memory: record payment %s: %w", p.ID, err)
	}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if t.w.payments.byID.Has(ecolaura.Payment{ID: p.ID}) {
			return fmt.Errorf("memory: record payment %s: id taken: %w", p.ID, ecolaura.ErrConflict)
		}
		if p.EventID != "" && t.w.payments.events.Has(p.EventID) {
			return fmt.Errorf("memory: record payment %s: event %s recorded already: %w", p.ID, p.EventID, ecolaura.ErrConflict)
		}
		if _, ok := t.w.orders.get(p.OrderID); !ok {
			return fmt.Errorf("memory: record payment %s: %w", p.ID, ecolaura.Invalid("order_id", "order %s does not exist", p.OrderID))
		}
		pt := t.payments()
		pt.byID.ReplaceOrInsert(p)
		pt.byOrder.ReplaceOrInsert(p)
		if p.EventID != "" {
			pt.events.ReplaceOrInsert(p.EventID)
		}
		return nil
	})
}

// Get returns a record. Errors: ErrNotFound.
func (s paymentStore) Get(_ context.Context, id ecolaura.ID) (ecolaura.Payment, error) {
	var out ecolaura.Payment
	err := view(s.db, s.tx, func(sn *snapshot) error {
		p, ok := sn.payments.byID.Get(ecolaura.Payment{ID: id})
		if !ok {
			return fmt.Errorf("memory: get payment %s: %w", id, ecolaura.ErrNotFound)
		}
		out = p
		return nil
	})
	return out, err
}

// ListByOrder returns the order's records, oldest first.
func (s paymentStore) ListByOrder(_ context.Context, orderID ecolaura.ID) ([]ecolaura.Payment, error) {
	out := []ecolaura.Payment{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		sn.payments.byOrder.AscendGreaterOrEqual(ecolaura.Payment{OrderID: orderID}, func(p ecolaura.Payment) bool {
			if p.OrderID != orderID {
				return false
			}
			out = append(out, p)
			return true
		})
		return nil
	})
	return out, err
}
