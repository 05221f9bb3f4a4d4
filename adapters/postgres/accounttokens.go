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

const accountTokenCols = "id, user_id, purpose, hash, email, created_at, expires_at, used_at, revoked_at"

type accountTokenRow struct {
	bun.BaseModel `bun:"table:account_tokens"`

	ID        string     `bun:"id,pk"`
	UserID    string     `bun:"user_id"`
	Purpose   string     `bun:"purpose"`
	Hash      string     `bun:"hash"`
	Email     string     `bun:"email"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

func (r *accountTokenRow) token() ecolaura.AccountToken {
	return ecolaura.AccountToken{
		ID: ecolaura.ID(r.ID), UserID: ecolaura.ID(r.UserID), Purpose: ecolaura.TokenPurpose(r.Purpose), Hash: r.Hash,
		Email: r.Email, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt), RevokedAt: utcPtr(r.RevokedAt),
	}
}

// accountTokenStore implements ports.AccountTokenStore.
type accountTokenStore struct {
	db bun.IDB
}

var _ ports.AccountTokenStore = (*accountTokenStore)(nil)

// Create stores a new token. Errors: ErrConflict when the ID or hash
// exists; ErrInvalid for IDs that are not UUIDs, a user that does not exist
// (the foreign key) or a value the schema refuses; ErrUnavailable.
func (s *accountTokenStore) Create(ctx context.Context, t ecolaura.AccountToken) error {
	var v ecolaura.Validator
	v.Check(validID(t.ID), "id", "must be a UUID")
	v.Check(validID(t.UserID), "user_id", "must be a UUID")
	v.Check(t.Purpose.Valid(), "purpose", "unknown purpose %q", string(t.Purpose))
	if err := v.Err(); err != nil {
		return err
	}
	r := accountTokenRow{ID: string(t.ID), UserID: string(t.UserID), Purpose: string(t.Purpose), Hash: t.Hash, Email: t.Email,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt, RevokedAt: t.RevokedAt}
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "create account token %s", t.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create account token %s: id or hash exists: %w", t.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Get returns the token. Errors: ErrNotFound; ErrUnavailable.
func (s *accountTokenStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.AccountToken, error) {
	if !validID(id) {
		return ecolaura.AccountToken{}, notFound("account token", id)
	}
	return s.one(ctx, "id = ?", []any{string(id)}, "account token "+string(id))
}

// GetByHash returns the token with that hash. Errors: ErrNotFound; ErrUnavailable.
func (s *accountTokenStore) GetByHash(ctx context.Context, hash string) (ecolaura.AccountToken, error) {
	return s.one(ctx, "hash = ?", []any{hash}, "account token")
}

// Latest returns the user's newest token of the purpose. Errors:
// ErrNotFound; ErrUnavailable.
func (s *accountTokenStore) Latest(ctx context.Context, userID ecolaura.ID, purpose ecolaura.TokenPurpose) (ecolaura.AccountToken, error) {
	if !validID(userID) {
		return ecolaura.AccountToken{}, fmt.Errorf("latest account token: %w", ecolaura.ErrNotFound)
	}
	return s.one(ctx, "user_id = ? AND purpose = ? ORDER BY created_at DESC, id DESC LIMIT 1",
		[]any{string(userID), string(purpose)}, "latest "+string(purpose)+" token of user "+string(userID))
}

func (s *accountTokenStore) one(ctx context.Context, where string, args []any, what string) (ecolaura.AccountToken, error) {
	var r accountTokenRow
	err := s.db.NewRaw("SELECT "+accountTokenCols+" FROM account_tokens WHERE "+where, args...).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.AccountToken{}, fmt.Errorf("%s: %w", what, ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.AccountToken{}, wrap(err, "get %s", what)
	}
	return r.token(), nil
}

// Use sets used_at if the token is neither used nor revoked (a
// compare-and-set) and reports whether this call did. Errors: ErrNotFound;
// ErrUnavailable.
func (s *accountTokenStore) Use(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	if !validID(id) {
		return false, notFound("account token", id)
	}
	res, err := s.db.NewRaw(`UPDATE account_tokens SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`, at, string(id)).Exec(ctx)
	if err != nil {
		return false, wrap(err, "use account token %s", id)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	exists, err := s.db.NewSelect().Table("account_tokens").Where("id = ?", string(id)).Exists(ctx)
	if err != nil {
		return false, wrap(err, "use account token %s", id)
	}
	if !exists {
		return false, notFound("account token", id)
	}
	return false, nil
}

// Revoke revokes every unused, unrevoked token of the user and purpose
// other than keepID. Errors: ErrUnavailable.
func (s *accountTokenStore) Revoke(ctx context.Context, userID ecolaura.ID, purpose ecolaura.TokenPurpose, keepID ecolaura.ID, at time.Time) (int, error) {
	if !validID(userID) {
		return 0, nil
	}
	q := s.db.NewRaw(`UPDATE account_tokens SET revoked_at = ?
		WHERE user_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL`, at, string(userID), string(purpose))
	if keepID != "" {
		q = s.db.NewRaw(`UPDATE account_tokens SET revoked_at = ?
			WHERE user_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL AND id::text <> ?`,
			at, string(userID), string(purpose), string(keepID))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, wrap(err, "revoke %s tokens of user %s", purpose, userID)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
