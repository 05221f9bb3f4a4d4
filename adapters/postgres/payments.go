package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

type paymentRow struct {
	bun.BaseModel `bun:"table:payments"`

	ID        string    `bun:"id,pk"`
	OrderID   string    `bun:"order_id"`
	Provider  string    `bun:"provider"`
	Reference string    `bun:"reference"`
	Amount    int64     `bun:"amount"`
	Currency  string    `bun:"currency"`
	Status    string    `bun:"status"`
	EventID   *string   `bun:"event_id"`
	CreatedAt time.Time `bun:"created_at"`
}

func (r *paymentRow) payment() ecolaura.Payment {
	p := ecolaura.Payment{ID: ecolaura.ID(r.ID), OrderID: ecolaura.ID(r.OrderID), Provider: r.Provider, Reference: r.Reference,
		Amount: ecolaura.NewMoney(r.Amount, ecolaura.Currency(r.Currency)), Status: ecolaura.PaymentStatus(r.Status), CreatedAt: r.CreatedAt.UTC()}
	if r.EventID != nil {
		p.EventID = *r.EventID
	}
	return p
}

// paymentStore implements ports.PaymentStore over the append-only payments
// table (a unique index on event_id dedupes webhook deliveries).
type paymentStore struct {
	db bun.IDB
}

var _ ports.PaymentStore = (*paymentStore)(nil)

// Record inserts the record. Errors: ErrInvalid (also for an unknown
// order); ErrConflict for a taken ID or event ID; ErrUnavailable.
func (s *paymentStore) Record(ctx context.Context, p ecolaura.Payment) error {
	if err := ecolaura.ValidateStoredPayment(p); err != nil {
		return fmt.Errorf("record payment %s: %w", p.ID, err)
	}
	r := paymentRow{ID: string(p.ID), OrderID: string(p.OrderID), Provider: p.Provider, Reference: p.Reference, Amount: p.Amount.Amount,
		Currency: string(p.Amount.Currency), Status: string(p.Status), CreatedAt: p.CreatedAt}
	if p.EventID != "" {
		r.EventID = &p.EventID
	}
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		var ve *ecolaura.ValidationError
		if err = wrap(err, "record payment %s", p.ID); errors.As(err, &ve) && ve.Fields[0].Field == "order_id" {
			return fmt.Errorf("record payment %s: %w", p.ID, ecolaura.Invalid("order_id", "order %s does not exist", p.OrderID))
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("record payment %s: id or event %q recorded already: %w", p.ID, p.EventID, ecolaura.ErrConflict)
	}
	return nil
}

// Get returns a record. Errors: ErrNotFound; ErrUnavailable.
func (s *paymentStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Payment, error) {
	if !validID(id) {
		return ecolaura.Payment{}, notFound("payment", id)
	}
	var r paymentRow
	err := s.db.NewSelect().Model(&r).Where("id = ?", string(id)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.Payment{}, notFound("payment", id)
	}
	if err != nil {
		return ecolaura.Payment{}, wrap(err, "get payment %s", id)
	}
	return r.payment(), nil
}

// ListByOrder returns the order's records, oldest first. Errors:
// ErrUnavailable.
func (s *paymentStore) ListByOrder(ctx context.Context, orderID ecolaura.ID) ([]ecolaura.Payment, error) {
	out := []ecolaura.Payment{}
	if !validID(orderID) {
		return out, nil
	}
	var rows []paymentRow
	if err := s.db.NewSelect().Model(&rows).Where("order_id = ?", string(orderID)).OrderExpr("created_at, id").Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list payments of %s", orderID)
	}
	for i := range rows {
		out = append(out, rows[i].payment())
	}
	return out, nil
}
