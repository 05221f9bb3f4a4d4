package users

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// maxStatusEntries bounds the status cache; past it the cache starts over.
const maxStatusEntries = 100_000

// statusCache remembers, per user, what CurrentPrincipal last read of the
// account.
type statusCache struct {
	mu      sync.Mutex
	entries map[ecolaura.ID]statusEntry
}

type statusEntry struct {
	role   ecolaura.Role
	active bool // exists and is not disabled
	read   time.Time
}

func (c *statusCache) get(id ecolaura.ID, now time.Time, ttl time.Duration) (statusEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.read) >= ttl || now.Before(e.read) {
		return statusEntry{}, false
	}
	return e, true
}

func (c *statusCache) put(id ecolaura.ID, e statusEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxStatusEntries {
		c.entries = make(map[ecolaura.ID]statusEntry)
	}
	c.entries[id] = e
}

// forget drops what the cache knows of id: this process changed the
// account (disabled, demoted, deleted) and its next request must see it.
func (c *statusCache) forget(id ecolaura.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

// CurrentPrincipal returns the principal an access token stands for as the
// account is now: with the account's current role (a staff role revoked
// since the token was issued no longer counts) and the token's session.
// The HTTP adapter calls it on every authenticated request, so that
// disabling or deleting an account, or revoking a staff role, takes effect
// before the access tokens expire: at once in the process that made the
// change, within the status cache's lifetime ([DefaultStatusCacheTTL]) in
// the others, which read the account again after it. The System principal
// (no user) is returned as it is. Errors: ErrUnauthenticated for an
// anonymous principal or an account that was deleted or disabled; store
// failures.
func (s *Service) CurrentPrincipal(ctx context.Context, p ecolaura.Principal) (ecolaura.Principal, error) {
	if err := p.RequireAuthenticated(); err != nil {
		return ecolaura.Principal{}, err
	}
	if p.UserID == "" {
		return p, nil
	}
	now := s.clock.Now()
	e, ok := s.status.get(p.UserID, now, s.cfg.StatusCacheTTL)
	if !ok {
		u, err := s.db.Users().Get(ctx, p.UserID)
		switch {
		case errors.Is(err, ecolaura.ErrNotFound):
			e = statusEntry{read: now}
		case err != nil:
			return ecolaura.Principal{}, fmt.Errorf("current principal: %w", err)
		default:
			e = statusEntry{role: u.Role, active: u.Active(), read: now}
		}
		if s.cfg.StatusCacheTTL > 0 {
			s.status.put(p.UserID, e)
		}
	}
	if !e.active {
		return ecolaura.Principal{}, fmt.Errorf("current principal: account deleted or disabled: %w", ecolaura.ErrUnauthenticated)
	}
	p.Role = e.role
	return p, nil
}
