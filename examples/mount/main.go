// Command mount serves the Ecolaura API inside a host program, under the
// path prefix /shop, next to the host's own pages: either mounted in a host
// Fiber app, or as an http.Handler in a net/http mux. The API is built from
// an in-memory shop with httpapi.ShopServices.
//
//	go run ./examples/mount                      # Fiber host on 127.0.0.1:8080
//	go run ./examples/mount -host nethttp        # net/http host
//	curl -s 'localhost:8080/shop/api/v1/products/?page_size=2' | jq .next
//
// Under /shop the API behaves as it does on its own: its routes, error
// shapes, 405s, body limit and timeouts, and absolute URLs (Location, v1
// links) that keep the prefix.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "mount:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, when not nil, receives the base URL of
// the host once it listens.
func run(ctx context.Context, out io.Writer, args []string, ready chan<- string) (err error) {
	fs := flag.NewFlagSet("mount", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	kind := fs.String("host", "fiber", "host program: fiber or nethttp")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kind != "fiber" && *kind != "nethttp" {
		return fmt.Errorf("-host: want fiber or nethttp, got %q", *kind)
	}

	s, err := shop.New(ctx, shop.WithDemoCatalog())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Close(context.WithoutCancel(ctx))) }()
	svc, err := httpapi.ShopServices(s, memory.NewRateLimiter())
	if err != nil {
		return err
	}
	svc.ResponseCache = memory.NewCache()
	cfg := httpapi.DefaultConfig()
	// Absolute URLs start with the host the client named, if it is allowed
	// (set cfg.PublicURL instead in production).
	cfg.AllowedHosts = []string{"localhost", "127.0.0.1"}
	api, err := httpapi.New(cfg, svc, httpapi.WithLogger(slog.New(slog.NewTextHandler(out, nil))))
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "%s host on %s: the API is under %s/shop/api/v2/products\n", *kind, base, base)
	if ready != nil {
		ready <- base
	}
	if *kind == "fiber" {
		return serveFiber(ctx, ln, api, cfg)
	}
	return serveNetHTTP(ctx, ln, api, cfg)
}

// serveFiber mounts the API in a Fiber host under /shop.
func serveFiber(ctx context.Context, ln net.Listener, api *httpapi.Server, cfg httpapi.Config) error {
	host := fiber.New(fiber.Config{DisableStartupMessage: true})
	host.Get("/", func(c *fiber.Ctx) error { return c.SendString("The host's home page. The shop is at /shop/.\n") })
	host.Mount("/shop", api.App())
	served := make(chan error, 1)
	// NewListener: a 413 reaches clients that are still sending the body.
	go func() { served <- host.Listener(httpapi.NewListener(ln, cfg.ReadTimeout)) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return host.ShutdownWithContext(sctx)
}

// serveNetHTTP serves the API's http.Handler in a net/http mux under /shop.
func serveNetHTTP(ctx context.Context, ln net.Listener, api *httpapi.Server, cfg httpapi.Config) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "The host's home page. The shop is at /shop/.\n")
	})
	mux.Handle("/shop/", http.StripPrefix("/shop", api.Handler()))
	// The settings the API needs from the host (header size, timeouts).
	srv := httpapi.NewHTTPServer(cfg, mux)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
