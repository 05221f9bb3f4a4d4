package httpapi

import (
	"errors"

	"github.com/ecolaura/ecolaura/ecolaura/shop"
)

// ShopServices returns the Services that present the shop s over HTTP: its
// catalog, orders, sustainability and users services, its access-token
// verifier and the JWK Set of its key set, its product cache's signals (when
// caching is on) and a readiness probe of its database. limiter enforces the
// rate limits (memory.NewRateLimiter in one process, redis.NewRateLimiter
// across replicas). Set ResponseCache on the result to keep rendered product
// responses and checkout replays.
//
// Errors: s or limiter is nil; the shop has no key set (it was built with
// shop.WithTokens: set JWKS on the result yourself instead).
func ShopServices(s *shop.Shop, limiter RateLimiter) (Services, error) {
	if s == nil {
		return Services{}, errors.New("httpapi: ShopServices needs a shop")
	}
	if limiter == nil {
		return Services{}, errors.New("httpapi: ShopServices needs a rate limiter (memory.NewRateLimiter in one process)")
	}
	svc := Services{
		Catalog: s.Catalog, Orders: s.Orders, Sustainability: s.Sustainability, Users: s.Users,
		Tokens: s.Tokens, RateLimiter: limiter,
		Probes: []Probe{{Name: "database", Check: s.Database.Ping}},
	}
	if s.ProductCache != nil {
		svc.CacheSignals = s.ProductCache
	}
	if s.Keys == nil {
		return svc, errors.New("httpapi: the shop has no key set (built with shop.WithTokens): set Services.JWKS to publish the verification keys")
	}
	svc.JWKS = s.Keys.JWKS
	return svc, nil
}
