package porttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// NewPayment returns a valid succeeded Stripe record of the order for
// 19.99 EUR with a fresh ID and no event, created now. The result is not
// stored.
func NewPayment(orderID ecolaura.ID) ecolaura.Payment {
	return ecolaura.Payment{ID: NewID(), OrderID: orderID, Provider: ecolaura.ProviderStripe, Reference: RandomToken("pi_"),
		Amount: ecolaura.NewMoney(1999, ecolaura.DefaultCurrency), Status: ecolaura.PaymentSucceeded, CreatedAt: Now()}
}

// PaymentStore checks the semantics of [ports.PaymentStore]: records read
// back exactly, by order oldest first; ErrConflict on a taken ID or event
// ID (and exactly one winner among concurrent deliveries of one event);
// ErrInvalid for an unknown order or a broken rule; rollback with the
// transaction.
func PaymentStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.Payments()
	newOrder := func(t *testing.T) ecolaura.Order {
		t.Helper()
		u := mustCreateUser(t, db)
		p := mustCreateProduct(t, db)
		o := NewOrder(u.ID, Line(p, 1))
		require.NoError(t, db.Orders().Create(ctx(t), o))
		return o
	}

	t.Run("RecordList", func(t *testing.T) {
		o := newOrder(t)
		first := NewPayment(o.ID)
		first.Status, first.Provider, first.Reference = ecolaura.PaymentPending, ecolaura.ProviderManual, "bank transfer 2026-12-01"
		second := NewPayment(o.ID)
		second.EventID, second.CreatedAt = RandomToken("evt_"), first.CreatedAt.Add(time.Second)
		refund := NewPayment(o.ID)
		refund.Status, refund.Amount, refund.CreatedAt = ecolaura.PaymentRefunded, ecolaura.NewMoney(500, ecolaura.DefaultCurrency), first.CreatedAt.Add(2*time.Second)
		for _, p := range []ecolaura.Payment{refund, first, second} {
			require.NoError(t, store.Record(ctx(t), p))
		}
		got, err := store.Get(ctx(t), second.ID)
		require.NoError(t, err)
		assert.Equal(t, second, got)
		list, err := store.ListByOrder(ctx(t), o.ID)
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.Payment{first, second, refund}, list, "oldest first")
		none, err := store.ListByOrder(ctx(t), NewID())
		require.NoError(t, err)
		assert.Empty(t, none)
		require.NotNil(t, none)
		_, err = store.Get(ctx(t), NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("Refused", func(t *testing.T) {
		o := newOrder(t)
		p := NewPayment(o.ID)
		p.EventID = RandomToken("evt_")
		require.NoError(t, store.Record(ctx(t), p))
		sameID := NewPayment(o.ID)
		sameID.ID = p.ID
		require.ErrorIs(t, store.Record(ctx(t), sameID), ecolaura.ErrConflict, "taken ID")
		sameEvent := NewPayment(o.ID)
		sameEvent.EventID = p.EventID
		require.ErrorIs(t, store.Record(ctx(t), sameEvent), ecolaura.ErrConflict, "an event is recorded once")
		require.ErrorIs(t, store.Record(ctx(t), NewPayment(NewID())), ecolaura.ErrInvalid, "unknown order")
		for name, edit := range map[string]func(*ecolaura.Payment){
			"unknown provider": func(p *ecolaura.Payment) { p.Provider = "paypal" },
			"empty reference":  func(p *ecolaura.Payment) { p.Reference = "" },
			"non-ASCII event":  func(p *ecolaura.Payment) { p.EventID = "évt" },
			"negative amount":  func(p *ecolaura.Payment) { p.Amount.Amount = -1 },
			"unknown status":   func(p *ecolaura.Payment) { p.Status = "maybe" },
		} {
			bad := NewPayment(o.ID)
			edit(&bad)
			require.ErrorIs(t, store.Record(ctx(t), bad), ecolaura.ErrInvalid, name)
		}
		list, err := store.ListByOrder(ctx(t), o.ID)
		require.NoError(t, err)
		assert.Len(t, list, 1, "refused records store nothing")
	})
	t.Run("ConcurrentDeliveries", func(t *testing.T) {
		o := newOrder(t)
		event := RandomToken("evt_")
		const n = 5
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := NewPayment(o.ID)
				p.EventID = event
				errs[i] = store.Record(ctx(t), p)
			}()
		}
		wg.Wait()
		won, dup := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, ecolaura.ErrConflict):
				dup++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 1, won, "one delivery recorded")
		assert.Equal(t, n-1, dup, "the duplicates refused")
		list, err := store.ListByOrder(ctx(t), o.ID)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})
	t.Run("Rollback", func(t *testing.T) {
		o := newOrder(t)
		p := NewPayment(o.ID)
		boom := errors.New("porttest: roll back")
		require.ErrorIs(t, db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Payments().Record(ctx, p); err != nil {
				return err
			}
			return boom
		}), boom)
		_, err := store.Get(ctx(t), p.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
}
