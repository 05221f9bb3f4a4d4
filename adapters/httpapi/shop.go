package httpapi

import (
	"errors"
	"fmt"

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
// Errors: s or limiter is nil; the shop cannot publish the keys its tokens
// are verified with (see shop.Shop.JWKS: a verifier given with
// shop.WithTokens that cannot publish them; set JWKS on the result yourself
// instead).
func ShopServices(s *shop.Shop, limiter RateLimiter) (Services, error) {
	if s == nil {
		return Services{}, errors.New("httpapi: ShopServices needs a shop")
	}
	if limiter == nil {
		return Services{}, errors.New("httpapi: ShopServices needs a rate limiter (memory.NewRateLimiter in one process)")
	}
	svc := Services{
		Catalog: s.Catalog, Orders: s.Orders, Sustainability: s.Sustainability, Users: s.Users, Audit: s.Audit, Passports: s.Passports,
		Shipping: s.Shipping,
		Tokens:   s.Tokens, RateLimiter: limiter,
		Probes: []Probe{{Name: "database", Check: s.Database.Ping}},
	}
	svc.Inventory = s.Inventory
	if sig := s.CacheSignals(); sig != nil {
		svc.CacheSignals = sig
	}
	if _, err := s.JWKS(); err != nil {
		return svc, fmt.Errorf("httpapi: the shop cannot publish its verification keys (%w): set Services.JWKS", err)
	}
	svc.JWKS = s.JWKS
	return svc, nil
}
