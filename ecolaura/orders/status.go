package orders

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Cancel cancels a pending or confirmed order and puts every line's units
// back in stock (where its sale took them, with "cancel" inventory
// movements), in the same transaction. The owner or staff may cancel; a
// cancellation by staff is recorded in the audit log, in the same
// transaction.
// Of several concurrent cancels exactly one wins and restocks; the others
// get ErrInvalidTransition, so stock is returned exactly once. A line whose
// product has since been deleted is not restocked (and logged), and a
// product whose stock staff meanwhile set near [ecolaura.MaxStock] is
// restocked only up to the maximum (the units that do not fit are logged):
// a cancellation is never refused because of the stock.
// Errors: ErrUnauthenticated; ErrNotFound (also for another customer's
// order); ErrInvalidTransition when the order is shipped, delivered or
// already cancelled.
func (s *Service) Cancel(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error) {
	var out ecolaura.Order
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if _, err := loadVisible(ctx, tx.Orders(), actor, id); err != nil {
			return err
		}
		now := s.clock.Now()
		before, after, err := tx.Orders().Transition(ctx, ports.StatusChange{OrderID: id, To: ecolaura.StatusCancelled, At: now})
		if err != nil {
			return fmt.Errorf("cancel order %s: %w", id, err)
		}
		// Only the transaction that made the transition restocks.
		if err := s.restock(ctx, tx, actor, before, now); err != nil {
			return err
		}
		out = after
		if actor.IsStaff() {
			return s.audit(ctx, tx, actor, id, before, after)
		}
		return nil
	})
	if err != nil {
		return ecolaura.Order{}, err
	}
	s.log.InfoContext(ctx, "order cancelled", "order_id", id, "by", actor.UserID, "units_restocked", out.Units())
	return out, nil
}

// Ship marks a confirmed order as shipped and records it in the audit log.
// Staff only.
// Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound; ErrInvalidTransition.
func (s *Service) Ship(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error) {
	return s.staffTransition(ctx, actor, id, ecolaura.StatusShipped)
}

// Deliver marks a shipped order as delivered and records it in the audit
// log. Staff only.
// Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound; ErrInvalidTransition.
func (s *Service) Deliver(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error) {
	return s.staffTransition(ctx, actor, id, ecolaura.StatusDelivered)
}

func (s *Service) staffTransition(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, to ecolaura.OrderStatus) (ecolaura.Order, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Order{}, err
	}
	if _, err := ecolaura.ParseID(string(id)); err != nil {
		return ecolaura.Order{}, fmt.Errorf("order %q: %w", id, ecolaura.ErrNotFound)
	}
	var after ecolaura.Order
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		before, changed, err := tx.Orders().Transition(ctx, ports.StatusChange{OrderID: id, To: to, At: s.clock.Now()})
		if err != nil {
			return err
		}
		after = changed
		return s.audit(ctx, tx, actor, id, before, after)
	})
	if err != nil {
		return ecolaura.Order{}, fmt.Errorf("mark order %s %s: %w", id, to, err)
	}
	s.log.InfoContext(ctx, "order status changed", "order_id", id, "status", to, "by", actor.UserID)
	return after, nil
}

// restock puts the units of a cancelled order back: to the levels its sale
// movements took them from, or, for an order from before inventory
// movements, to the default location of each line's variant. Levels are
// changed in variant-ID order, like checkout, so lock order is the same.
func (s *Service) restock(ctx context.Context, tx ports.Tx, actor ecolaura.Principal, o ecolaura.Order, now time.Time) error {
	type put struct {
		variant, location ecolaura.ID
		units             int
	}
	var puts []put
	moves, err := tx.Inventory().Movements(ctx, ports.MovementQuery{OrderID: o.ID, Limit: 1000})
	if err != nil {
		return fmt.Errorf("restock order %s: %w", o.ID, err)
	}
	for _, m := range moves {
		if m.Reason == ecolaura.MoveSale {
			puts = append(puts, put{m.VariantID, m.LocationID, -m.Delta})
		}
	}
	if len(puts) == 0 {
		for _, l := range o.Lines {
			puts = append(puts, put{cmp.Or(l.VariantID, l.ProductID), ecolaura.DefaultLocationID, l.Quantity})
		}
	}
	slices.SortFunc(puts, func(a, b put) int {
		return cmp.Or(cmp.Compare(a.variant, b.variant), cmp.Compare(a.location, b.location))
	})
	for _, p := range puts {
		res, err := tx.Inventory().Change(ctx, ports.InventoryChange{VariantID: p.variant, LocationID: p.location, Quantity: p.units,
			Saturate: true, Reason: ecolaura.MoveCancel, ActorID: actor.UserID, OrderID: o.ID, At: now})
		switch {
		case errors.Is(err, ecolaura.ErrNotFound):
			s.log.WarnContext(ctx, "cancelled order line not restocked: variant deleted", "order_id", o.ID, "variant_id", p.variant, "quantity", p.units)
		case err != nil:
			return fmt.Errorf("restock variant %s: %w", p.variant, err)
		case res.After == ecolaura.MaxStock:
			s.log.WarnContext(ctx, "cancelled order line restocked up to the maximum stock; units above it, if any, were dropped",
				"order_id", o.ID, "variant_id", p.variant, "quantity", p.units, "max_stock", ecolaura.MaxStock)
		}
	}
	return nil
}
