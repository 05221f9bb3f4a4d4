package memory

import (
	"context"
	"fmt"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// auditRec is an immutable stored audit event.
type auditRec struct {
	e  ecolaura.AuditEvent
	at int64 // At in Unix nanoseconds
}

// auditNewestFirst orders by at desc, id desc.
func auditNewestFirst(a, b *auditRec) bool {
	if a.at != b.at {
		return a.at > b.at
	}
	return a.e.ID > b.e.ID
}

// auditTables is the audit part of a snapshot: one index, newest first.
// Nothing but Append writes it.
type auditTables struct {
	ids    map[ecolaura.ID]struct{}
	newest *btree.BTreeG[*auditRec]
}

func newAuditTables() *auditTables {
	return &auditTables{ids: map[ecolaura.ID]struct{}{}, newest: newTree(auditNewestFirst)}
}

func (at *auditTables) clone() *auditTables {
	ids := make(map[ecolaura.ID]struct{}, len(at.ids)+1)
	for id := range at.ids {
		ids[id] = struct{}{}
	}
	return &auditTables{ids: ids, newest: at.newest.Clone()}
}

// auditLog implements ports.AuditLog. It has no way to change or remove an
// event: append-only by construction.
type auditLog struct {
	db *Database
	tx *txn
}

var _ ports.AuditLog = auditLog{}

// Append stores a copy of e. Errors: *ValidationError (ErrInvalid) for an
// invalid event; ErrConflict when the ID exists.
func (l auditLog) Append(ctx context.Context, e ecolaura.AuditEvent) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("memory: append audit event: %w", err)
	}
	rec := &auditRec{e: e.Clone(), at: e.At.UnixNano()}
	return update(ctx, l.db, l.tx, func(t *txn) error {
		if _, ok := t.w.audit.ids[e.ID]; ok {
			return fmt.Errorf("memory: append audit event %s: id taken: %w", e.ID, ecolaura.ErrConflict)
		}
		tables := t.auditLog()
		tables.ids[e.ID] = struct{}{}
		tables.newest.ReplaceOrInsert(rec)
		return nil
	})
}

// List returns a page of events, newest first, walking the index from the
// cursor (or from Until) and filtering. Errors: *ValidationError
// (ErrInvalid) for a bad limit.
func (l auditLog) List(ctx context.Context, q ports.AuditQuery) (ports.AuditPage, error) {
	if q.Limit < minLimit || q.Limit > maxLimit {
		return ports.AuditPage{}, fmt.Errorf("memory: list audit events: %w", ecolaura.Invalid("limit", "must be between %d and %d", minLimit, maxLimit))
	}
	page := ports.AuditPage{Items: []ecolaura.AuditEvent{}}
	err := view(l.db, l.tx, func(sn *snapshot) error {
		walk := func(r *auditRec) bool {
			if q.After != nil && r.at == q.After.At.UnixNano() && r.e.ID == q.After.ID {
				return true
			}
			if !q.Since.IsZero() && r.at < q.Since.UnixNano() {
				return false // older ones follow
			}
			switch {
			case !q.Until.IsZero() && r.at >= q.Until.UnixNano(),
				q.ActorID != "" && r.e.ActorID != q.ActorID,
				q.Entity != "" && r.e.Entity != q.Entity,
				q.EntityID != "" && r.e.EntityID != q.EntityID,
				q.Action != "" && r.e.Action != q.Action:
				return true
			}
			if len(page.Items) == q.Limit {
				page.HasMore = true
				return false
			}
			page.Items = append(page.Items, r.e.Clone())
			return true
		}
		if q.After != nil {
			sn.audit.newest.AscendGreaterOrEqual(&auditRec{e: ecolaura.AuditEvent{ID: q.After.ID}, at: q.After.At.UnixNano()}, walk)
		} else {
			sn.audit.newest.Ascend(walk)
		}
		return nil
	})
	if err != nil {
		return ports.AuditPage{}, err
	}
	return page, nil
}
