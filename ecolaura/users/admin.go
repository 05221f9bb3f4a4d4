package users

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Page sizes of [Service.List].
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	// MaxSearchLength bounds a search term, in characters.
	MaxSearchLength = 100
)

// ListParams selects a page of accounts, newest first.
type ListParams struct {
	// Search keeps the accounts whose email or name contains it, ignoring
	// letter case.
	Search string
	// Role keeps the accounts with that role ("" for every role).
	Role ecolaura.Role
	// Disabled keeps the disabled (true) or active (false) accounts.
	Disabled *bool
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// PageSize is 1–100; 0 means [DefaultPageSize].
	PageSize int
}

// ListResult is one page of accounts.
type ListResult struct {
	Items []ecolaura.User
	// NextCursor continues after the last item; "" on the last page.
	NextCursor string
}

// List returns a page of accounts, newest first. Staff only.
// Errors: ErrUnauthenticated; ErrForbidden; a *ecolaura.ValidationError on
// "search", "role", "cursor" or "page_size"; store failures.
func (s *Service) List(ctx context.Context, actor ecolaura.Principal, p ListParams) (ListResult, error) {
	if err := actor.RequireStaff(); err != nil {
		return ListResult{}, fmt.Errorf("list users: %w", err)
	}
	var v ecolaura.Validator
	v.Check(utf8.RuneCountInString(p.Search) <= MaxSearchLength && utf8.ValidString(p.Search), "search", "must be at most %d characters", MaxSearchLength)
	v.Check(p.Role == "" || p.Role.Valid(), "role", "must be customer or staff")
	v.Check(p.PageSize >= 0 && p.PageSize <= MaxPageSize, "page_size", "must be between 1 and %d", MaxPageSize)
	var after *ports.UserPosition
	if p.Cursor != "" {
		pos, err := decodeUserCursor(p.Cursor)
		v.Check(err == nil, "cursor", "is not a valid cursor")
		after = pos
	}
	if err := v.Err(); err != nil {
		return ListResult{}, fmt.Errorf("list users: %w", err)
	}
	size := p.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	page, err := s.db.Users().List(ctx, ports.UserQuery{Search: strings.TrimSpace(p.Search), Role: p.Role, Disabled: p.Disabled, After: after, Limit: size})
	if err != nil {
		return ListResult{}, fmt.Errorf("list users: %w", err)
	}
	res := ListResult{Items: page.Items}
	if page.HasMore && len(page.Items) > 0 {
		last := page.Items[len(page.Items)-1]
		res.NextCursor = encodeUserCursor(ports.UserPosition{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return res, nil
}

// Cursors are opaque to clients: base64url("u1:<unix nanoseconds>:<user id>").
const userCursorPrefix = "u1:"

func encodeUserCursor(p ports.UserPosition) string {
	return base64.RawURLEncoding.EncodeToString([]byte(userCursorPrefix + strconv.FormatInt(p.CreatedAt.UnixNano(), 10) + ":" + string(p.ID)))
}

func decodeUserCursor(c string) (*ports.UserPosition, error) {
	if len(c) > 128 {
		return nil, errors.New("cursor too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(string(raw), userCursorPrefix)
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
	uid, err := ecolaura.ParseID(id)
	if err != nil {
		return nil, err
	}
	return &ports.UserPosition{CreatedAt: time.Unix(0, n).UTC(), ID: uid}, nil
}

// FindByEmail returns the account with that email, in any letter case.
// Staff only (the CLI finds accounts with it). Errors: ErrUnauthenticated;
// ErrForbidden; ErrNotFound (also for a malformed email).
func (s *Service) FindByEmail(ctx context.Context, actor ecolaura.Principal, email string) (ecolaura.User, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.User{}, fmt.Errorf("find user: %w", err)
	}
	normalized, err := ecolaura.NormalizeEmail(email)
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("find user: %w", ecolaura.ErrNotFound)
	}
	u, err := s.db.Users().GetByEmail(ctx, normalized)
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// AdminPatch is what staff change of an account; nil fields stay.
type AdminPatch struct {
	// Disabled disables (true) or enables (false) the account.
	Disabled *bool
	// Role grants (staff) or revokes (customer) the staff role.
	Role *ecolaura.Role
}

// Administer disables or enables an account and grants or revokes the
// staff role, and records the change in the audit log, in one transaction.
// Disabling revokes every session of the account; its access tokens stop
// working as [Service.CurrentPrincipal] says. A staff member cannot remove
// their own staff role or disable themselves, and the last active staff
// account cannot be demoted or disabled (concurrent demotions included).
// A patch that changes nothing returns the account, with no audit event.
// Staff only. Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound; a
// *ecolaura.ValidationError on "role" or "disabled" (an unknown role, a
// change of one's own account); an *ecolaura.RuleError (ErrConflict) for
// the last active staff account; store failures.
func (s *Service) Administer(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch AdminPatch) (ecolaura.User, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.User{}, fmt.Errorf("administer user: %w", err)
	}
	if _, err := ecolaura.ParseID(string(id)); err != nil {
		return ecolaura.User{}, fmt.Errorf("administer user %q: %w", id, ecolaura.ErrNotFound)
	}
	var v ecolaura.Validator
	if patch.Role != nil {
		v.Check(patch.Role.Valid(), "role", "must be customer or staff")
		v.Check(actor.UserID != id || *patch.Role == ecolaura.RoleStaff, "role", "you cannot remove your own staff role")
	}
	if patch.Disabled != nil {
		v.Check(actor.UserID != id || !*patch.Disabled, "disabled", "you cannot disable your own account")
	}
	if err := v.Err(); err != nil {
		return ecolaura.User{}, fmt.Errorf("administer user %s: %w", id, err)
	}
	var out ecolaura.User
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := s.clock.Now()
		u, err := tx.Users().GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		before := u.Clone()
		if patch.Role != nil {
			u.Role = *patch.Role
		}
		if patch.Disabled != nil && *patch.Disabled != !u.Active() {
			if *patch.Disabled {
				u.DisabledAt = &now
			} else {
				u.DisabledAt = nil
			}
		}
		var d ecolaura.AuditDiff
		d.Compare("role", string(before.Role), string(u.Role))
		d.Compare("disabled", strconv.FormatBool(!before.Active()), strconv.FormatBool(!u.Active()))
		if len(d.Changes()) == 0 {
			out = before
			return nil
		}
		wasStaff := before.Role == ecolaura.RoleStaff && before.Active()
		if wasStaff && !(u.Role == ecolaura.RoleStaff && u.Active()) {
			if err := lastStaffGuard(ctx, tx); err != nil {
				return err
			}
		}
		u.UpdatedAt = now
		if out, err = tx.Users().Update(ctx, u); err != nil {
			return err
		}
		if !u.Active() && before.Active() {
			if err := tx.RefreshTokens().RevokeUser(ctx, u.ID, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionUpdate, u.ID, d)
	})
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("administer user %s: %w", id, err)
	}
	s.status.forget(id)
	s.log.InfoContext(ctx, "account administered", slog.String("user_id", string(id)), slog.String("by", string(actor.UserID)),
		slog.String("role", string(out.Role)), slog.Bool("disabled", !out.Active()))
	return out, nil
}

// NewAccount is an account staff or the operator create.
type NewAccount struct {
	Email    string
	Name     string
	Password string
	Role     ecolaura.Role
}

// CreateAccount creates an account with any role, mails its verification
// link and records the creation in the audit log. Staff or the System
// principal only (the CLI's `ecolaura user create`). Errors:
// ErrUnauthenticated; ErrForbidden; a *ecolaura.ValidationError for an
// invalid email, name, password or role; an *ecolaura.ConflictError on
// "email" for a taken address.
func (s *Service) CreateAccount(ctx context.Context, actor ecolaura.Principal, in NewAccount) (ecolaura.User, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.User{}, fmt.Errorf("create account: %w", err)
	}
	if !in.Role.Valid() {
		return ecolaura.User{}, fmt.Errorf("create account: %w", ecolaura.Invalid("role", "must be customer or staff"))
	}
	u, err := s.create(ctx, in.Email, in.Name, in.Password, in.Role, &actor)
	if err != nil {
		return ecolaura.User{}, fmt.Errorf("create account: %w", err)
	}
	s.log.InfoContext(ctx, "account created", slog.String("user_id", string(u.ID)), slog.String("role", string(u.Role)), slog.String("by", string(actor.UserID)))
	return u, nil
}

// SetPassword sets the password of an account, revokes all its sessions
// and mailed reset tokens, and records it in the audit log (without the
// password). Staff or the System principal only (the CLI's `ecolaura user
// set-password`). Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound; a
// *ecolaura.ValidationError on "password" for one that breaks the policy;
// store failures.
func (s *Service) SetPassword(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, password string) error {
	if err := actor.RequireStaff(); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	u, err := s.Get(ctx, actor, id)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := ecolaura.ValidatePassword(password, u.Email); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("set password: hash: %w", err)
	}
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		now := s.clock.Now()
		cur, err := tx.Users().GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		cur.PasswordHash = hash
		cur.UpdatedAt, cur.PasswordChangedAt = now, now
		if _, err := tx.Users().Update(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.AccountTokens().Revoke(ctx, id, ecolaura.PurposePasswordReset, "", now); err != nil {
			return err
		}
		if err := tx.RefreshTokens().RevokeUser(ctx, id, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionSetPassword, id, ecolaura.AuditDiff{})
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	s.log.InfoContext(ctx, "password set; every session revoked", slog.String("user_id", string(id)), slog.String("by", string(actor.UserID)))
	return nil
}

// audit appends an event about the user id to the audit log of tx.
func (s *Service) audit(ctx context.Context, tx ports.Tx, actor ecolaura.Principal, action ecolaura.AuditAction, id ecolaura.ID, d ecolaura.AuditDiff) error {
	return tx.Audit().Append(ctx, ecolaura.AuditEvent{
		ID: s.ids.NewID(), ActorID: actor.UserID, At: s.clock.Now(), Action: action,
		Entity: ecolaura.EntityUser, EntityID: id, Changes: d.Changes(),
	})
}
