package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// PasswordHasher hashes and checks passwords.
type PasswordHasher interface {
	// Hash returns an encoded hash (a PHC string) with a fresh random salt.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, comparing in constant
	// time, and whether encoded should be replaced by a new Hash because its
	// parameters are below the current ones. A malformed encoded hash is an error.
	Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error)
}

// AccessToken is a signed, short-lived bearer token.
type AccessToken struct {
	Token     string
	ExpiresAt time.Time
}

// TokenIssuer signs access tokens for a principal.
type TokenIssuer interface {
	Issue(ctx context.Context, p ecolaura.Principal) (AccessToken, error)
}
