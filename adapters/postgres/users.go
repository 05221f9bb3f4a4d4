package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

const userCols = "id, email, name, password_hash, role, created_at, updated_at, version, email_verified_at, disabled_at, password_changed_at"

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID                string     `bun:"id,pk"`
	Email             string     `bun:"email"`
	Name              string     `bun:"name"`
	PasswordHash      string     `bun:"password_hash"`
	Role              string     `bun:"role"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
	Version           int64      `bun:"version"`
	EmailVerifiedAt   *time.Time `bun:"email_verified_at"`
	DisabledAt        *time.Time `bun:"disabled_at"`
	PasswordChangedAt time.Time  `bun:"password_changed_at"`
}

func (r *userRow) user() ecolaura.User {
	return ecolaura.User{
		ID: ecolaura.ID(r.ID), Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash,
		Role: ecolaura.Role(r.Role), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
		EmailVerifiedAt: utcPtr(r.EmailVerifiedAt), DisabledAt: utcPtr(r.DisabledAt), PasswordChangedAt: r.PasswordChangedAt.UTC(),
	}
}

// passwordChangedAt is what the row stores: the given time, or the
// creation time for a user that has none yet.
func passwordChangedAt(u ecolaura.User) time.Time {
	if u.PasswordChangedAt.IsZero() {
		return u.CreatedAt
	}
	return u.PasswordChangedAt
}

// userStore implements ports.UserStore. Emails are unique through the
// users_email_key index on lower(email).
type userStore struct {
	db   bun.IDB
	inTx bool
}

var _ ports.UserStore = (*userStore)(nil)

// Create stores a new user. Errors: ErrConflict when the ID or the email is
// taken; ErrInvalid when u breaks a rule of ports.ValidateStoredUser (the
// users table's constraints); ErrUnavailable.
func (s *userStore) Create(ctx context.Context, u ecolaura.User) error {
	if err := ports.ValidateStoredUser(u); err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	r := userRow{ID: string(u.ID), Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash,
		Role: string(u.Role), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version,
		EmailVerifiedAt: u.EmailVerifiedAt, DisabledAt: u.DisabledAt, PasswordChangedAt: passwordChangedAt(u)}
	if r.Version == 0 {
		r.Version = 1
	}
	// ON CONFLICT DO NOTHING covers the primary key and the email index
	// without aborting an enclosing transaction.
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "create user %s", u.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create user %s: id or email taken: %w", u.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Get returns the user. Errors: ErrNotFound; ErrUnavailable.
func (s *userStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.User, error) {
	if !validID(id) {
		return ecolaura.User{}, notFound("user", id)
	}
	return s.one(ctx, "id = ?", string(id), "user "+string(id))
}

// GetForUpdate returns the user, locking its row (SELECT ... FOR UPDATE)
// until the enclosing transaction ends; outside a transaction the lock ends
// with the statement, which makes it Get. Errors: ErrNotFound;
// ErrUnavailable.
func (s *userStore) GetForUpdate(ctx context.Context, id ecolaura.ID) (ecolaura.User, error) {
	if !validID(id) {
		return ecolaura.User{}, notFound("user", id)
	}
	return s.one(ctx, "id = ? FOR UPDATE", string(id), "user "+string(id))
}

// GetByEmail returns the user with that normalised email. Errors:
// ErrNotFound; ErrUnavailable.
func (s *userStore) GetByEmail(ctx context.Context, email string) (ecolaura.User, error) {
	if email == "" || !ports.Storable(email) {
		return ecolaura.User{}, fmt.Errorf("user with that email: %w", ecolaura.ErrNotFound)
	}
	return s.one(ctx, "lower(email) = lower(?)", email, "user with that email")
}

func (s *userStore) one(ctx context.Context, where string, arg any, what string) (ecolaura.User, error) {
	var r userRow
	err := s.db.NewRaw("SELECT "+userCols+" FROM users WHERE "+where, arg).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.User{}, fmt.Errorf("%s: %w", what, ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.User{}, wrap(err, "get %s", what)
	}
	return r.user(), nil
}

// Update replaces the user if the stored version is u.Version. Errors:
// ErrNotFound; ErrConflict on a version mismatch or a taken email;
// ErrInvalid as for Create; ErrUnavailable.
func (s *userStore) Update(ctx context.Context, u ecolaura.User) (ecolaura.User, error) {
	if !validID(u.ID) {
		return ecolaura.User{}, notFound("user", u.ID)
	}
	if err := ports.ValidateStoredUser(u); err != nil {
		return ecolaura.User{}, fmt.Errorf("update user %s: %w", u.ID, err)
	}
	if s.inTx {
		// A unique violation would abort the enclosing transaction; check
		// first (the unique index still decides races).
		taken, err := s.db.NewSelect().Table("users").
			Where("lower(email) = lower(?) AND id <> ?", u.Email, string(u.ID)).Exists(ctx)
		if err != nil {
			return ecolaura.User{}, wrap(err, "update user %s", u.ID)
		}
		if taken {
			return ecolaura.User{}, fmt.Errorf("update user %s: email taken: %w", u.ID, ecolaura.ErrConflict)
		}
	}
	var r userRow
	err := s.db.NewRaw(`UPDATE users SET email = ?, name = ?, password_hash = ?, role = ?,
		updated_at = ?, email_verified_at = ?, disabled_at = ?, password_changed_at = ?, version = version + 1
		WHERE id = ? AND version = ? RETURNING `+userCols,
		u.Email, u.Name, u.PasswordHash, string(u.Role), u.UpdatedAt, u.EmailVerifiedAt, u.DisabledAt, passwordChangedAt(u),
		string(u.ID), u.Version).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		exists, xerr := s.db.NewSelect().Table("users").Where("id = ?", string(u.ID)).Exists(ctx)
		if xerr != nil {
			return ecolaura.User{}, wrap(xerr, "update user %s", u.ID)
		}
		if !exists {
			return ecolaura.User{}, notFound("user", u.ID)
		}
		return ecolaura.User{}, fmt.Errorf("update user %s: version %d is stale: %w", u.ID, u.Version, ecolaura.ErrConflict)
	}
	if err != nil {
		return ecolaura.User{}, wrap(err, "update user %s", u.ID)
	}
	return r.user(), nil
}

// List returns a page of accounts, newest first (users_created_idx; the
// search uses the trigram indexes on email and name). Errors: ErrInvalid
// for a bad limit or cursor; ErrUnavailable.
func (s *userStore) List(ctx context.Context, q ports.UserQuery) (ports.UserPage, error) {
	var v ecolaura.Validator
	v.Check(q.Limit >= 1 && q.Limit <= 1000, "limit", "must be between 1 and 1000")
	v.Check(q.After == nil || validID(q.After.ID), "after", "must name a user ID")
	if err := v.Err(); err != nil {
		return ports.UserPage{}, err
	}
	sel := s.db.NewSelect().Model((*userRow)(nil)).Column("*").
		OrderExpr("created_at DESC, id DESC").Limit(int64(q.Limit + 1))
	if q.Search != "" {
		pattern := "%" + likeEscaper.Replace(q.Search) + "%"
		sel = sel.Where("(email ILIKE ? OR name ILIKE ?)", pattern, pattern)
	}
	if q.Role != "" {
		sel = sel.Where("role = ?", string(q.Role))
	}
	if q.Disabled != nil {
		if *q.Disabled {
			sel = sel.Where("disabled_at IS NOT NULL")
		} else {
			sel = sel.Where("disabled_at IS NULL")
		}
	}
	if q.After != nil {
		sel = sel.Where("(created_at, id) < (?, ?)", q.After.CreatedAt, string(q.After.ID))
	}
	var rows []userRow
	if err := sel.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ports.UserPage{}, wrap(err, "list users")
	}
	page := ports.UserPage{Items: make([]ecolaura.User, 0, min(len(rows), q.Limit))}
	for i := range rows {
		if i == q.Limit {
			page.HasMore = true
			break
		}
		page.Items = append(page.Items, rows[i].user())
	}
	return page, nil
}

// likeEscaper escapes the LIKE wildcards (and the escape character) of a
// search term, so it matches literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// CountActiveStaff counts the active staff accounts, locking their rows
// (FOR UPDATE) until the enclosing transaction ends: a concurrent
// transaction demoting or disabling one of them waits, and a later count
// re-reads the rows that changed meanwhile (PostgreSQL re-checks a locked
// row's WHERE after the lock holder commits), so it sees the demotion.
// Errors: ErrUnavailable.
func (s *userStore) CountActiveStaff(ctx context.Context) (int, error) {
	var ids []string
	err := s.db.NewRaw("SELECT id FROM users WHERE role = 'staff' AND disabled_at IS NULL FOR UPDATE").Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, wrap(err, "count active staff")
	}
	return len(ids), nil
}

// Delete removes the user; the schema removes its refresh and account
// tokens (ON DELETE CASCADE) and clears the user_id of its orders (ON
// DELETE SET NULL) in the same statement. Errors: ErrNotFound;
// ErrUnavailable.
func (s *userStore) Delete(ctx context.Context, id ecolaura.ID) error {
	if !validID(id) {
		return notFound("user", id)
	}
	res, err := s.db.NewRaw("DELETE FROM users WHERE id = ?", string(id)).Exec(ctx)
	if err != nil {
		return wrap(err, "delete user %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("user", id)
	}
	return nil
}

const tokenCols = "id, family_id, user_id, hash, issued_at, expires_at, used_at, revoked_at"

type tokenRow struct {
	bun.BaseModel `bun:"table:refresh_tokens"`

	ID        string     `bun:"id,pk"`
	FamilyID  string     `bun:"family_id"`
	UserID    string     `bun:"user_id"`
	Hash      string     `bun:"hash"`
	IssuedAt  time.Time  `bun:"issued_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// tokenStore implements ports.RefreshTokenStore.
type tokenStore struct {
	db bun.IDB
}

var _ ports.RefreshTokenStore = (*tokenStore)(nil)

// Create stores a new token. Errors: ErrConflict when the ID or hash
// exists; ErrInvalid for a token that breaks a rule of
// ports.ValidateStoredRefreshToken or whose user does not exist (the
// foreign key); ErrUnavailable.
func (s *tokenStore) Create(ctx context.Context, t ecolaura.RefreshToken) error {
	if err := ports.ValidateStoredRefreshToken(t); err != nil {
		return fmt.Errorf("create refresh token %s: %w", t.ID, err)
	}
	r := tokenRow{ID: string(t.ID), FamilyID: string(t.FamilyID), UserID: string(t.UserID), Hash: t.Hash,
		IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt, RevokedAt: t.RevokedAt}
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "create refresh token %s", t.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create refresh token %s: id or hash exists: %w", t.ID, ecolaura.ErrConflict)
	}
	return nil
}

// GetByHash returns the token with that hash. Errors: ErrNotFound; ErrUnavailable.
func (s *tokenStore) GetByHash(ctx context.Context, hash string) (ecolaura.RefreshToken, error) {
	if hash == "" || !ports.Storable(hash) {
		return ecolaura.RefreshToken{}, fmt.Errorf("refresh token: %w", ecolaura.ErrNotFound)
	}
	var r tokenRow
	err := s.db.NewRaw("SELECT "+tokenCols+" FROM refresh_tokens WHERE hash = ?", hash).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.RefreshToken{}, fmt.Errorf("refresh token: %w", ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.RefreshToken{}, wrap(err, "get refresh token")
	}
	return ecolaura.RefreshToken{
		ID: ecolaura.ID(r.ID), FamilyID: ecolaura.ID(r.FamilyID), UserID: ecolaura.ID(r.UserID), Hash: r.Hash,
		IssuedAt: r.IssuedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt), RevokedAt: utcPtr(r.RevokedAt),
	}, nil
}

// MarkUsed sets UsedAt if the token is neither used nor revoked (a
// compare-and-set) and reports whether this call did. Errors: ErrNotFound;
// ErrUnavailable.
func (s *tokenStore) MarkUsed(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	if !validID(id) {
		return false, notFound("refresh token", id)
	}
	res, err := s.db.NewRaw(`UPDATE refresh_tokens SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`, at, string(id)).Exec(ctx)
	if err != nil {
		return false, wrap(err, "mark refresh token %s used", id)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	exists, err := s.db.NewSelect().Table("refresh_tokens").Where("id = ?", string(id)).Exists(ctx)
	if err != nil {
		return false, wrap(err, "mark refresh token %s used", id)
	}
	if !exists {
		return false, notFound("refresh token", id)
	}
	return false, nil
}

// RevokeFamily revokes every not yet revoked token of the family.
// Errors: ErrUnavailable.
func (s *tokenStore) RevokeFamily(ctx context.Context, familyID ecolaura.ID, at time.Time) error {
	if !validID(familyID) {
		return nil
	}
	_, err := s.db.NewRaw("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", at, string(familyID)).Exec(ctx)
	return wrap(err, "revoke token family %s", familyID)
}

// RevokeUser revokes every not yet revoked token of the user.
// Errors: ErrUnavailable.
func (s *tokenStore) RevokeUser(ctx context.Context, userID ecolaura.ID, at time.Time) error {
	if !validID(userID) {
		return nil
	}
	_, err := s.db.NewRaw("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", at, string(userID)).Exec(ctx)
	return wrap(err, "revoke tokens of user %s", userID)
}

// RevokeOtherFamilies revokes every not yet revoked token of the user
// outside keepFamilyID. Errors: ErrUnavailable.
func (s *tokenStore) RevokeOtherFamilies(ctx context.Context, userID, keepFamilyID ecolaura.ID, at time.Time) error {
	if !validID(userID) {
		return nil
	}
	if keepFamilyID == "" {
		return s.RevokeUser(ctx, userID, at)
	}
	_, err := s.db.NewRaw("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND family_id <> ? AND revoked_at IS NULL",
		at, string(userID), string(keepFamilyID)).Exec(ctx)
	return wrap(err, "revoke other token families of user %s", userID)
}
