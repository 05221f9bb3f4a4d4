// Package audit reads the audit trail of the Ecolaura SDK: the staff
// writes (catalog, orders, accounts, and whatever later services record)
// that the services append to ports.AuditLog in the transactions of the
// writes. Only staff may read it. See ports.AuditLog for how a service
// records a new kind of write.
package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Page sizes of [Service.List].
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Service reads the audit trail. It is safe for concurrent use.
type Service struct {
	log ports.AuditLog
}

// New returns the service over the audit log of a database. Errors: an
// *ecolaura.ConfigError for a nil log.
func New(log ports.AuditLog) (*Service, error) {
	if log == nil {
		return nil, fmt.Errorf("audit: %w", ecolaura.Misconfigured("log", "is required"))
	}
	return &Service{log: log}, nil
}

// ListParams selects a page of events, newest first. Zero fields do not
// filter.
type ListParams struct {
	ActorID  ecolaura.ID
	Entity   ecolaura.AuditEntity
	EntityID ecolaura.ID
	Action   ecolaura.AuditAction
	// Since keeps events at or after it, Until events strictly before it.
	Since, Until time.Time
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// PageSize is 1–200; 0 means [DefaultPageSize].
	PageSize int
}

// ListResult is one page of events.
type ListResult struct {
	Items []ecolaura.AuditEvent
	// NextCursor continues after the last item; "" on the last page.
	NextCursor string
}

// List returns a page of events, newest first. Staff only. Errors:
// ErrUnauthenticated; ErrForbidden; a *ecolaura.ValidationError on
// "actor_id", "entity", "entity_id", "action", "until", "cursor" or
// "page_size"; store failures.
func (s *Service) List(ctx context.Context, actor ecolaura.Principal, p ListParams) (ListResult, error) {
	if err := actor.RequireStaff(); err != nil {
		return ListResult{}, fmt.Errorf("list audit events: %w", err)
	}
	var v ecolaura.Validator
	if p.ActorID != "" {
		_, err := ecolaura.ParseID(string(p.ActorID))
		v.Check(err == nil, "actor_id", "must be a user ID (UUID)")
	}
	if p.EntityID != "" {
		_, err := ecolaura.ParseID(string(p.EntityID))
		v.Check(err == nil, "entity_id", "must be a UUID")
	}
	v.Check(p.Entity == "" || slug(string(p.Entity)), "entity", "must be an entity name such as product, order or user")
	v.Check(p.Action == "" || slug(string(p.Action)), "action", "must be an action name such as create, update or delete")
	v.Check(p.Since.IsZero() || p.Until.IsZero() || p.Since.Before(p.Until), "until", "must be after since")
	v.Check(p.PageSize >= 0 && p.PageSize <= MaxPageSize, "page_size", "must be between 1 and %d", MaxPageSize)
	var after *ports.AuditPosition
	if p.Cursor != "" {
		pos, err := decodeCursor(p.Cursor)
		v.Check(err == nil, "cursor", "is not a valid cursor")
		after = pos
	}
	if err := v.Err(); err != nil {
		return ListResult{}, fmt.Errorf("list audit events: %w", err)
	}
	size := p.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	page, err := s.log.List(ctx, ports.AuditQuery{ActorID: p.ActorID, Entity: p.Entity, EntityID: p.EntityID, Action: p.Action,
		Since: p.Since, Until: p.Until, After: after, Limit: size})
	if err != nil {
		return ListResult{}, fmt.Errorf("list audit events: %w", err)
	}
	res := ListResult{Items: page.Items}
	if page.HasMore && len(page.Items) > 0 {
		last := page.Items[len(page.Items)-1]
		res.NextCursor = encodeCursor(ports.AuditPosition{At: last.At, ID: last.ID})
	}
	return res, nil
}

func slug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Cursors are opaque to clients: base64url("a1:<unix nanoseconds>:<event id>").
const cursorPrefix = "a1:"

func encodeCursor(p ports.AuditPosition) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(p.At.UnixNano(), 10) + ":" + string(p.ID)))
}

func decodeCursor(c string) (*ports.AuditPosition, error) {
	if len(c) > 128 {
		return nil, errors.New("cursor too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return nil, errors.New("unknown cursor version")
	}
	ns, id, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("malformed cursor")
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return nil, err
	}
	eid, err := ecolaura.ParseID(id)
	if err != nil {
		return nil, err
	}
	return &ports.AuditPosition{At: time.Unix(0, n).UTC(), ID: eid}, nil
}
