package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
)

// Example wires the API over an in-memory shop with the demo catalog and
// asks for the first page of kitchen products in the DRF-compatible v1 shape.
func Example() {
	ctx := context.Background()
	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		panic(err)
	}
	defer s.Close(ctx)
	svc, err := httpapi.ShopServices(s, memory.NewRateLimiter())
	if err != nil {
		panic(err)
	}
	svc.ResponseCache = memory.NewCache()
	cfg := httpapi.DefaultConfig()
	cfg.PublicURL = "https://shop.example.org" // absolute URLs start with it, whatever the Host
	srv, err := httpapi.New(cfg, svc, httpapi.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/api/v1/products/?category=kitchen&page_size=5", nil))
	if err != nil {
		panic(err)
	}
	var page struct {
		Count   int               `json:"count"`
		Next    string            `json:"next"`
		Results []json.RawMessage `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), len(page.Results), page.Count > len(page.Results))
	fmt.Println(page.Next)
	// Output:
	// 200 application/json 5 true
	// https://shop.example.org/api/v1/products/?category=kitchen&page=2&page_size=5
}

// ExampleServer_Handler serves the API from a net/http program under
// /shop: http.StripPrefix hands it the paths it knows, and the absolute
// URLs it writes keep the prefix.
func ExampleServer_Handler() {
	ctx := context.Background()
	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		panic(err)
	}
	defer s.Close(ctx)
	svc, err := httpapi.ShopServices(s, memory.NewRateLimiter())
	if err != nil {
		panic(err)
	}
	cfg := httpapi.DefaultConfig()
	cfg.AllowedHosts = []string{"127.0.0.1"}
	srv, err := httpapi.New(cfg, svc, httpapi.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/shop/", http.StripPrefix("/shop", srv.Handler()))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/shop/api/v1/products/?page_size=1")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Next string `json:"next"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, strings.TrimPrefix(page.Next, ts.URL))
	resp, err = http.Post(ts.URL+"/shop/api/v2/nothing", "application/json", nil)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 200 /shop/api/v1/products/?page=2&page_size=1
	// 404 application/problem+json
}

// ExampleServer_App mounts the API under /shop in a host Fiber program.
// Under the prefix the API's routes, error shapes, body limit and timeouts
// apply; the rest of the host is its own.
func ExampleServer_App() {
	ctx := context.Background()
	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		panic(err)
	}
	defer s.Close(ctx)
	svc, err := httpapi.ShopServices(s, memory.NewRateLimiter())
	if err != nil {
		panic(err)
	}
	cfg := httpapi.DefaultConfig()
	cfg.PublicURL = "https://example.org"
	srv, err := httpapi.New(cfg, svc, httpapi.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}

	host := fiber.New(fiber.Config{DisableStartupMessage: true})
	host.Get("/", func(c *fiber.Ctx) error { return c.SendString("the host's home page") })
	host.Mount("/shop", srv.App())
	// A real host listens with host.Listener(httpapi.NewListener(ln, 10*time.Second)).

	for _, r := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/shop/api/v1/products/?page_size=1"}, {"DELETE", "/shop/api/v1/products/"},
	} {
		resp, err := host.Test(httptest.NewRequest(r.method, r.path, nil))
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		var page struct {
			Next string `json:"next"`
		}
		_ = json.Unmarshal(body, &page)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s: %d %s%s", r.method, r.path, resp.StatusCode, resp.Header.Get("Allow"), page.Next)))
	}
	// Output:
	// GET /: 200
	// GET /shop/api/v1/products/?page_size=1: 200 https://example.org/shop/api/v1/products/?page=2&page_size=1
	// DELETE /shop/api/v1/products/: 405 GET, HEAD, POST, OPTIONS
}
