package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// Example wires the API over an in-memory shop with the demo catalog and
// asks for the first page of kitchen products in the DRF-compatible v1 shape.
func Example() {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		panic(err)
	}
	key, _ := jwt.GenerateDevelopmentKey(quiet)
	keys, _ := jwt.NewKeySet(key)
	issuer, _ := jwt.NewIssuer(jwt.DefaultConfig(), keys)
	verifier, _ := jwt.NewVerifier(jwt.DefaultConfig(), keys)
	hasher, _ := argon2id.New(argon2id.DefaultParams())
	usr, _ := users.New(s.Database, hasher, issuer, users.WithClock(s.Clock), users.WithIDs(s.IDs))
	ord, _ := orders.New(s.Database, orders.WithClock(s.Clock), orders.WithIDs(s.IDs), orders.WithMailer(mail.NewLogMailer(quiet)))

	cfg := httpapi.DefaultConfig()
	cfg.PublicURL = "https://shop.example.org" // absolute URLs start with it, whatever the Host
	srv, err := httpapi.New(cfg, httpapi.Services{
		Catalog: s.Catalog, Orders: ord, Sustainability: s.Sustainability, Users: usr,
		JWKS: keys.JWKS, Tokens: verifier, RateLimiter: memory.NewRateLimiter(),
		CacheSignals: s.ProductCache, ResponseCache: memory.NewCache(),
	}, httpapi.WithLogger(quiet))
	if err != nil {
		panic(err)
	}
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/api/v1/products/?category=kitchen&page_size=5", nil))
	if err != nil {
		panic(err)
	}
	var page struct {
		Count   int               `json:"count"`
		Results []json.RawMessage `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), len(page.Results), page.Count > len(page.Results))
	// Output:
	// 200 application/json 5 true
}
