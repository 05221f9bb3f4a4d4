package jwt

import (
	"context"
	"errors"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// MaxCachedTokens bounds NewCachedVerifier's size.
const MaxCachedTokens = 1_000_000

// DefaultCachedTokens is the cache size of the reference server: at most
// this many verified access tokens are remembered (a token is at most
// Config.MaxTokenBytes, typically about 400 bytes, so about 4 MB).
const DefaultCachedTokens = 10_000

// CachedVerifier is a [Verifier] that remembers the principals of the
// access tokens it verified, least recently used first out, so a client's
// repeated requests with one token pay the signature check and the claim
// parsing (about 100–200 µs of CPU with Ed25519 on this project's 2-core
// benchmark machine, a quarter of a checkout's CPU in the API process) once.
//
// It accepts nothing the Verifier would refuse: only the exact token bytes
// that verified hit the cache, and a remembered token is accepted only
// between its nbf and exp claims without the leeway (near those edges it is
// verified again, with the leeway). A Verifier's key set cannot change, so
// entries need no invalidation; whether the account behind a token was
// disabled, deleted or demoted is checked after Verify by the caller, as
// with the Verifier.
type CachedVerifier struct {
	v     *Verifier
	cache *lru.Cache[string, cachedToken]
}

type cachedToken struct {
	principal ecolaura.Principal
	valid     validity
}

// NewCachedVerifier wraps v with a cache of size tokens. Errors: a nil v;
// size outside 1–MaxCachedTokens.
func NewCachedVerifier(v *Verifier, size int) (*CachedVerifier, error) {
	if v == nil {
		return nil, errors.New("jwt cached verifier: nil verifier")
	}
	if size < 1 || size > MaxCachedTokens {
		return nil, fmt.Errorf("jwt cached verifier: size must be between 1 and %d, got %d", MaxCachedTokens, size)
	}
	c, err := lru.New[string, cachedToken](size)
	if err != nil {
		return nil, fmt.Errorf("jwt cached verifier: %w", err)
	}
	return &CachedVerifier{v: v, cache: c}, nil
}

// Verify is [Verifier.Verify], answered from the cache for a token that
// verified before and is within its validity window. Errors: those of
// Verifier.Verify, all matching ecolaura.ErrUnauthenticated.
func (c *CachedVerifier) Verify(ctx context.Context, token string) (ecolaura.Principal, error) {
	if len(token) > c.v.cfg.MaxTokenBytes { // refused unhashed
		return c.v.Verify(ctx, token)
	}
	now := c.v.clock.Now()
	if e, ok := c.cache.Get(token); ok {
		if e.valid.contains(now) {
			return e.principal, nil
		}
		c.cache.Remove(token)
	}
	p, valid, err := c.v.verify(ctx, token)
	if err != nil {
		return p, err
	}
	if valid.contains(now) {
		// A copy: the caller's string may share memory that is reused
		// (Fiber's request headers are), which would change the key.
		c.cache.Add(strings.Clone(token), cachedToken{principal: p, valid: valid})
	}
	return p, nil
}

// JWKS returns the wrapped Verifier's JSON Web Key Set.
func (c *CachedVerifier) JWKS() ([]byte, error) { return c.v.JWKS() }

// Len reports how many tokens are remembered.
func (c *CachedVerifier) Len() int { return c.cache.Len() }
