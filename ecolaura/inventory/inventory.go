// Package inventory runs the stock use cases: staff set a variant's stock
// absolutely (a count) or adjust it relatively (a delivery of +40, a
// correction), each change recorded as an inventory movement (who, when,
// why, by how much); they list the movements and the stock locations and
// add locations. Stock is kept per variant and location apart from the
// catalog (see ports.InventoryStore): a change never touches the product.
package inventory

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Service runs the inventory use cases. It is safe for concurrent use.
type Service struct {
	db    ports.Database
	clock ports.Clock
	ids   ports.IDGenerator
	log   *slog.Logger
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// New returns an inventory service over db. It returns an
// *ecolaura.ConfigError when a dependency is nil.
func New(db ports.Database, clock ports.Clock, ids ports.IDGenerator, opts ...Option) (*Service, error) {
	var v ecolaura.Validator
	v.Required("database", db)
	v.Required("clock", clock)
	v.Required("ids", ids)
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	s := &Service{db: db, clock: clock, ids: ids, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.log = s.log.With("service", "inventory")
	return s, nil
}

// Change is a staff change of one variant's stock at one location.
type Change struct {
	VariantID ecolaura.ID
	// LocationID; "" is the default location.
	LocationID ecolaura.ID
	// Note says why (at most 500 characters), recorded in the movement.
	Note string
}

// Result is a level after a change, with the movement that recorded it.
type Result struct {
	Level    ecolaura.InventoryLevel
	Movement ecolaura.InventoryMovement
}

// Set makes the variant's on-hand units at the location exactly units (a
// stock count), recording a "set" movement with the difference and, in the
// same transaction, an audit event (entity "inventory", the variant's ID:
// on_hand.<location> before and after, reason, movement_id, note). Staff
// only.
// Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound (variant or
// location); ErrInvalid (units outside 0–ecolaura.MaxStock, a bad note).
func (s *Service) Set(ctx context.Context, actor ecolaura.Principal, c Change, units int) (Result, error) {
	return s.apply(ctx, actor, c, ports.InventoryChange{Set: true, Quantity: units, Reason: ecolaura.MoveSet})
}

// Adjust adds delta units (negative to take) to the variant's stock at the
// location, recording a movement with reason (ecolaura.MoveRestock or
// ecolaura.MoveAdjustment; "" means adjustment) and an audit event as Set
// does. Concurrent adjustments and
// sales never lose an update: each is one guarded write on the latest
// level. Staff only. Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound;
// ErrInsufficientStock (*ecolaura.InsufficientStockError) when the level
// would fall below zero; ErrInvalid (a result above ecolaura.MaxStock, a
// delta of 0, another reason, a bad note).
func (s *Service) Adjust(ctx context.Context, actor ecolaura.Principal, c Change, delta int, reason ecolaura.MovementReason) (Result, error) {
	if reason == "" {
		reason = ecolaura.MoveAdjustment
	}
	var v ecolaura.Validator
	v.Check(reason == ecolaura.MoveRestock || reason == ecolaura.MoveAdjustment, "reason", "must be restock or adjustment")
	v.Check(delta != 0, "delta", "must not be 0")
	if err := v.Err(); err != nil {
		return Result{}, fmt.Errorf("adjust stock: %w", err)
	}
	return s.apply(ctx, actor, c, ports.InventoryChange{Quantity: delta, Reason: reason})
}

func (s *Service) apply(ctx context.Context, actor ecolaura.Principal, c Change, ch ports.InventoryChange) (Result, error) {
	if err := actor.RequireStaff(); err != nil {
		return Result{}, fmt.Errorf("change stock: %w", err)
	}
	if _, err := ecolaura.ParseID(string(c.VariantID)); err != nil {
		return Result{}, fmt.Errorf("change stock: variant %q: %w", c.VariantID, ecolaura.ErrNotFound)
	}
	ch.VariantID, ch.LocationID, ch.Note = c.VariantID, c.LocationID, strings.TrimSpace(c.Note)
	ch.ActorID, ch.At = actor.UserID, s.clock.Now()
	var res ports.InventoryResult
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		var err error
		if res, err = tx.Inventory().Change(ctx, ch); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, stockEvent(s.ids.NewID(), actor, res))
	})
	if err != nil {
		return Result{}, fmt.Errorf("change stock of variant %s: %w", c.VariantID, err)
	}
	s.log.InfoContext(ctx, "stock changed", "variant_id", c.VariantID, "location_id", res.Movement.LocationID,
		"delta", res.Movement.Delta, "on_hand", res.After, "reason", res.Movement.Reason, "actor", actor.UserID)
	return Result{Level: ecolaura.InventoryLevel{VariantID: c.VariantID, LocationID: res.Movement.LocationID, OnHand: res.After},
		Movement: res.Movement}, nil
}

// stockEvent is the audit event of a staff stock change: the level's
// on-hand units before and after at its location, the reason and the
// movement that recorded it.
func stockEvent(id ecolaura.ID, actor ecolaura.Principal, res ports.InventoryResult) ecolaura.AuditEvent {
	m := res.Movement
	var d ecolaura.AuditDiff
	d.Compare("on_hand."+string(m.LocationID), strconv.Itoa(res.Before), strconv.Itoa(res.After))
	d.Set("reason", string(m.Reason))
	d.Set("movement_id", string(m.ID))
	if m.Note != "" {
		d.Set("note", m.Note)
	}
	return ecolaura.AuditEvent{ID: id, ActorID: actor.UserID, At: m.At, Action: ecolaura.ActionUpdate,
		Entity: ecolaura.EntityInventory, EntityID: m.VariantID, Changes: d.Changes()}
}

// Levels returns a variant's levels at every location that has one.
// Staff only. Errors: ErrUnauthenticated; ErrForbidden.
func (s *Service) Levels(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID) ([]ecolaura.InventoryLevel, error) {
	if err := actor.RequireStaff(); err != nil {
		return nil, fmt.Errorf("inventory levels: %w", err)
	}
	return s.db.Inventory().Levels(ctx, []ecolaura.ID{variantID})
}

// Movements lists movements newest first: of one variant, one order, or
// all (limit 1–1000). Staff only. Errors: ErrUnauthenticated; ErrForbidden;
// ErrInvalid (limit).
func (s *Service) Movements(ctx context.Context, actor ecolaura.Principal, q ports.MovementQuery) ([]ecolaura.InventoryMovement, error) {
	if err := actor.RequireStaff(); err != nil {
		return nil, fmt.Errorf("inventory movements: %w", err)
	}
	out, err := s.db.Inventory().Movements(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("inventory movements: %w", err)
	}
	return out, nil
}

// Locations lists the stock locations in position order. Staff only.
func (s *Service) Locations(ctx context.Context, actor ecolaura.Principal) ([]ecolaura.StockLocation, error) {
	if err := actor.RequireStaff(); err != nil {
		return nil, fmt.Errorf("stock locations: %w", err)
	}
	return s.db.Inventory().Locations(ctx)
}

// LocationInput describes a new stock location.
type LocationInput struct {
	Name string
	// Ships: orders are shipped from it, so its units count as available.
	Ships bool
}

// CreateLocation adds a stock location after the existing ones. Staff only.
// Errors: ErrUnauthenticated; ErrForbidden; ErrInvalid (name);
// ErrInvalid on "position" when another location was added at the same
// time (retry).
func (s *Service) CreateLocation(ctx context.Context, actor ecolaura.Principal, in LocationInput) (ecolaura.StockLocation, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.StockLocation{}, fmt.Errorf("create stock location: %w", err)
	}
	locs, err := s.db.Inventory().Locations(ctx)
	if err != nil {
		return ecolaura.StockLocation{}, fmt.Errorf("create stock location: %w", err)
	}
	l := ecolaura.StockLocation{ID: s.ids.NewID(), Name: strings.TrimSpace(in.Name), Ships: in.Ships}
	if n := len(locs); n > 0 {
		l.Position = locs[n-1].Position + 1
	}
	if err := s.db.Inventory().CreateLocation(ctx, l); err != nil {
		return ecolaura.StockLocation{}, fmt.Errorf("create stock location: %w", err)
	}
	return l, nil
}
