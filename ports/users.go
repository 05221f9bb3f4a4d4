package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// UserQuery selects a page of accounts, newest first (created_at desc, id
// desc).
type UserQuery struct {
	// Search, when set, keeps the accounts whose email or name contains it,
	// ignoring letter case.
	Search string
	// Role, when set, keeps the accounts with that role.
	Role ecolaura.Role
	// Disabled, when set, keeps the disabled (true) or active (false) accounts.
	Disabled *bool
	// After, when set, returns only accounts strictly after this one in the
	// newest-first order (cursor pagination).
	After *UserPosition
	// Limit is the page size, 1–1000.
	Limit int
}

// UserPosition is where an account stands in the newest-first order.
type UserPosition struct {
	CreatedAt time.Time
	ID        ecolaura.ID
}

// UserPage is one page of accounts.
type UserPage struct {
	Items   []ecolaura.User
	HasMore bool
}

// UserStore stores accounts.
//
// Semantics (checked by porttest.UserStore): emails are stored normalised
// (the caller normalises) and are unique; values are copied in and out;
// every stored user follows ValidateStoredUser, the same rules in every
// store; a zero PasswordChangedAt is stored as CreatedAt.
type UserStore interface {
	// Create stores a new user (Version 1). Errors: ErrConflict when the ID
	// or the email is taken; ErrInvalid when u breaks a rule of
	// ValidateStoredUser.
	Create(ctx context.Context, u ecolaura.User) error
	// Get returns the user. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.User, error)
	// GetForUpdate returns the latest committed user and, inside a
	// transaction, keeps it locked until the transaction ends: a concurrent
	// GetForUpdate or write of the same user waits, so decisions that read
	// the user under this lock cannot interleave (one-time tokens, the
	// last-staff rule). Outside a transaction it is Get. Errors: ErrNotFound.
	GetForUpdate(ctx context.Context, id ecolaura.ID) (ecolaura.User, error)
	// GetByEmail returns the user with that normalised email. Errors:
	// ErrNotFound (also for an email no user can have, see Storable).
	GetByEmail(ctx context.Context, email string) (ecolaura.User, error)
	// Update replaces the user if the stored version equals u.Version,
	// storing Version u.Version+1, and returns what was stored. Errors:
	// ErrNotFound; ErrConflict on a version mismatch or a taken email;
	// ErrInvalid as for Create.
	Update(ctx context.Context, u ecolaura.User) (ecolaura.User, error)
	// List returns a page of accounts, newest first.
	List(ctx context.Context, q UserQuery) (UserPage, error)
	// CountActiveStaff returns how many staff accounts are not disabled.
	// Inside a transaction it also locks those accounts until the
	// transaction ends, so that of concurrent transactions that each demote
	// or disable staff accounts, a later one counts only after the earlier
	// one committed (the last-staff rule holds under concurrency).
	CountActiveStaff(ctx context.Context) (int, error)
	// Delete removes the user and, with it, its refresh and account tokens
	// and its address book;
	// its orders stay, with their UserID cleared (anonymised). An order
	// being created for the user concurrently either commits first (and is
	// anonymised too) or fails with ErrNotFound. Errors: ErrNotFound.
	Delete(ctx context.Context, id ecolaura.ID) error
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
	// RevokeOtherFamilies sets RevokedAt on every not yet revoked token of
	// the user outside the family keepFamilyID (an empty keepFamilyID keeps
	// none: every token is revoked).
	RevokeOtherFamilies(ctx context.Context, userID, keepFamilyID ecolaura.ID, at time.Time) error
}

// AccountTokenStore stores the one-time tokens mailed to users (password
// reset, email verification, email change) by hash.
//
// Semantics (checked by porttest.AccountTokenStore): values are copied in
// and out; Use is a compare-and-set, so a token is used at most once
// however many requests race.
type AccountTokenStore interface {
	// Create stores a new token. Errors: ErrConflict when the ID or the
	// hash exists; ErrInvalid when the user does not exist.
	Create(ctx context.Context, t ecolaura.AccountToken) error
	// Get returns the token. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.AccountToken, error)
	// GetByHash returns the token with that hash. Errors: ErrNotFound.
	GetByHash(ctx context.Context, hash string) (ecolaura.AccountToken, error)
	// Latest returns the user's newest token of the purpose (greatest
	// CreatedAt, then greatest ID), used or not. Errors: ErrNotFound.
	Latest(ctx context.Context, userID ecolaura.ID, purpose ecolaura.TokenPurpose) (ecolaura.AccountToken, error)
	// Use sets UsedAt if the token is neither used nor revoked, and reports
	// whether this call did. It does not look at the expiry. Errors:
	// ErrNotFound.
	Use(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error)
	// Revoke sets RevokedAt on every unused, not yet revoked token of the
	// user and purpose other than keepID (empty: every one), and returns
	// how many it revoked.
	Revoke(ctx context.Context, userID ecolaura.ID, purpose ecolaura.TokenPurpose, keepID ecolaura.ID, at time.Time) (int, error)
}
