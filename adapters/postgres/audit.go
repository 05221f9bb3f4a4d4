package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_events"`

	ID       string          `bun:"id,pk"`
	ActorID  *string         `bun:"actor_id"`
	At       time.Time       `bun:"at"`
	Action   string          `bun:"action"`
	Entity   string          `bun:"entity"`
	EntityID string          `bun:"entity_id"`
	Changes  json.RawMessage `bun:"changes,type:jsonb"`
}

// auditChange is the stored JSON of one change.
type auditChange struct {
	Field string  `json:"field"`
	From  *string `json:"from"`
	To    *string `json:"to"`
}

func (r *auditRow) event() (ecolaura.AuditEvent, error) {
	e := ecolaura.AuditEvent{ID: ecolaura.ID(r.ID), At: r.At.UTC(), Action: ecolaura.AuditAction(r.Action),
		Entity: ecolaura.AuditEntity(r.Entity), EntityID: ecolaura.ID(r.EntityID)}
	if r.ActorID != nil {
		e.ActorID = ecolaura.ID(*r.ActorID)
	}
	var cs []auditChange
	if err := json.Unmarshal(r.Changes, &cs); err != nil {
		return ecolaura.AuditEvent{}, fmt.Errorf("audit event %s: decode changes: %w", r.ID, err)
	}
	for _, c := range cs {
		e.Changes = append(e.Changes, ecolaura.AuditChange{Field: c.Field, From: c.From, To: c.To})
	}
	return e, nil
}

// auditLog implements ports.AuditLog over the audit_events table, which
// the schema makes append-only (its triggers refuse UPDATE, DELETE and
// TRUNCATE).
type auditLog struct {
	db bun.IDB
}

var _ ports.AuditLog = (*auditLog)(nil)

// Append inserts the event. Errors: *ValidationError (ErrInvalid) for an
// invalid event; ErrConflict when the ID exists; ErrUnavailable.
func (l *auditLog) Append(ctx context.Context, e ecolaura.AuditEvent) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	cs := make([]auditChange, 0, len(e.Changes))
	for _, c := range e.Changes {
		cs = append(cs, auditChange{Field: c.Field, From: c.From, To: c.To})
	}
	changes, err := json.Marshal(cs)
	if err != nil {
		return fmt.Errorf("append audit event %s: encode changes: %w", e.ID, err)
	}
	r := auditRow{ID: string(e.ID), At: e.At, Action: string(e.Action), Entity: string(e.Entity), EntityID: string(e.EntityID), Changes: changes}
	if e.ActorID != "" {
		a := string(e.ActorID)
		r.ActorID = &a
	}
	res, err := l.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "append audit event %s", e.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("append audit event %s: id exists: %w", e.ID, ecolaura.ErrConflict)
	}
	return nil
}

// List returns a page of events, newest first. Errors: ErrInvalid for a bad
// limit or filter; ErrUnavailable.
func (l *auditLog) List(ctx context.Context, q ports.AuditQuery) (ports.AuditPage, error) {
	var v ecolaura.Validator
	v.Check(q.Limit >= 1 && q.Limit <= 1000, "limit", "must be between 1 and 1000")
	v.Check(q.ActorID == "" || validID(q.ActorID), "actor_id", "must be a UUID")
	v.Check(q.EntityID == "" || validID(q.EntityID), "entity_id", "must be a UUID")
	v.Check(q.After == nil || validID(q.After.ID), "after", "must name an event ID")
	if err := v.Err(); err != nil {
		return ports.AuditPage{}, err
	}
	sel := l.db.NewSelect().Model((*auditRow)(nil)).Column("*").OrderExpr("at DESC, id DESC").Limit(int64(q.Limit + 1))
	if q.ActorID != "" {
		sel = sel.Where("actor_id = ?", string(q.ActorID))
	}
	if q.Entity != "" {
		sel = sel.Where("entity = ?", string(q.Entity))
	}
	if q.EntityID != "" {
		sel = sel.Where("entity_id = ?", string(q.EntityID))
	}
	if q.Action != "" {
		sel = sel.Where("action = ?", string(q.Action))
	}
	if !q.Since.IsZero() {
		sel = sel.Where("at >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		sel = sel.Where("at < ?", q.Until)
	}
	if q.After != nil {
		sel = sel.Where("(at, id) < (?, ?)", q.After.At, string(q.After.ID))
	}
	var rows []auditRow
	if err := sel.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ports.AuditPage{}, wrap(err, "list audit events")
	}
	page := ports.AuditPage{Items: make([]ecolaura.AuditEvent, 0, min(len(rows), q.Limit))}
	for i := range rows {
		if i == q.Limit {
			page.HasMore = true
			break
		}
		e, err := rows[i].event()
		if err != nil {
			return ports.AuditPage{}, err
		}
		page.Items = append(page.Items, e)
	}
	return page, nil
}
