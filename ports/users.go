package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// UserStore stores accounts.
//
// Semantics (checked by porttest.UserStore): emails are stored normalised
// (the caller normalises) and are unique; values are copied in and out;
// every stored user follows ValidateStoredUser, the same rules in every
// store.
type UserStore interface {
	// Create stores a new user (Version 1). Errors: ErrConflict when the ID
	// or the email is taken; ErrInvalid when u breaks a rule of
	// ValidateStoredUser.
	Create(ctx context.Context, u ecolaura.User) error
	// Get returns the user. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.User, error)
	// GetByEmail returns the user with that normalised email. Errors:
	// ErrNotFound (also for an email no user can have, see Storable).
	GetByEmail(ctx context.Context, email string) (ecolaura.User, error)
	// Update replaces the user if the stored version equals u.Version,
	// storing Version u.Version+1, and returns what was stored. Errors:
	// ErrNotFound; ErrConflict on a version mismatch or a taken email;
	// ErrInvalid as for Create.
	Update(ctx context.Context, u ecolaura.User) (ecolaura.User, error)
}

// RefreshTokenStore stores refresh tokens by hash.
//
// Semantics (checked by porttest.RefreshTokenStore): MarkUsed is a
// compare-and-set, so of two concurrent uses of one token only one wins.
type RefreshTokenStore interface {
	// Create stores a new token. Errors: ErrConflict when the ID or hash
	// exists; ErrInvalid when t breaks a rule of ValidateStoredRefreshToken
	// or its user does not exist.
	Create(ctx context.Context, t ecolaura.RefreshToken) error
	// GetByHash returns the token with that hash. Errors: ErrNotFound (also
	// for a hash no token can have).
	GetByHash(ctx context.Context, hash string) (ecolaura.RefreshToken, error)
	// MarkUsed sets UsedAt if the token is neither used nor revoked, and
	// reports whether this call did. Errors: ErrNotFound.
	MarkUsed(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error)
	// RevokeFamily sets RevokedAt on every not yet revoked token of the family.
	RevokeFamily(ctx context.Context, familyID ecolaura.ID, at time.Time) error
	// RevokeUser sets RevokedAt on every not yet revoked token of the user.
	RevokeUser(ctx context.Context, userID ecolaura.ID, at time.Time) error
}
