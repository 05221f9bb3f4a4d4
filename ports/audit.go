package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// AuditLog is the append-only record of staff writes (see
// ecolaura.AuditEvent): every use case that changes the catalog, an order
// or an account on behalf of staff (or of the System principal) appends one
// event through the AuditLog of the same transaction as the write, so the
// event exists if and only if the write committed.
//
// Adding an audited write (inventory, shipping methods, settings, ...) is
// one call in the service, inside its ports.UnitOfWork transaction:
//
//	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
//		// ... the write through tx ...
//		var d ecolaura.AuditDiff
//		d.Compare("price", before.Price.String(), after.Price.String())
//		return tx.Audit().Append(ctx, ecolaura.AuditEvent{
//			ID: s.ids.NewID(), ActorID: actor.UserID, At: s.clock.Now(),
//			Action: ecolaura.ActionUpdate, Entity: ecolaura.EntityProduct, EntityID: id,
//			Changes: d.Changes(),
//		})
//	})
//
// with a new ecolaura.AuditEntity (or AuditAction) constant when the kind
// of entity is new. Entities and actions are free slugs to the stores, so
// no store changes; keep personal data out of the changes.
//
// Semantics (checked by porttest.AuditLog): values are copied in and out;
// nothing updates or deletes an event (the PostgreSQL adapter also refuses
// it in the database); List filters exactly as AuditQuery says.
type AuditLog interface {
	// Append stores a new event. Errors: ErrInvalid (*ValidationError) for
	// an event that fails ecolaura.AuditEvent.Validate; ErrConflict when the
	// ID exists.
	Append(ctx context.Context, e ecolaura.AuditEvent) error
	// List returns a page of events, newest first (at desc, id desc).
	List(ctx context.Context, q AuditQuery) (AuditPage, error)
}

// AuditQuery selects a page of audit events. Zero fields do not filter.
type AuditQuery struct {
	ActorID  ecolaura.ID
	Entity   ecolaura.AuditEntity
	EntityID ecolaura.ID
	Action   ecolaura.AuditAction
	// Since keeps events at or after it; Until events strictly before it.
	Since time.Time
	Until time.Time
	// After, when set, returns only events strictly after this one in the
	// newest-first order (cursor pagination).
	After *AuditPosition
	// Limit is the page size, 1–1000.
	Limit int
}

// AuditPosition is where an event stands in the newest-first order.
type AuditPosition struct {
	At time.Time
	ID ecolaura.ID
}

// AuditPage is one page of events.
type AuditPage struct {
	Items   []ecolaura.AuditEvent
	HasMore bool
}
