// Command benchserver is the server of the cache-mode HTTP benchmark in
// scripts/bench/http.sh (issue 7): the same wiring as `ecolaura serve` in
// memory with the demo catalog, but with the product and response cache
// chosen by a flag, because the reference server has no switch to turn the
// cache off or to use Redis without client-side caching.
//
//	go run ./scripts/bench/benchserver -addr 127.0.0.1:18090 -cache memory
//	go run ./scripts/bench/benchserver -cache redis-nocsc -redis-url redis://127.0.0.1:16379/0
//
// Cache modes: none (every read goes to the store), memory (the in-process
// cache, as `ecolaura serve` without Redis), redis (rueidis with
// client-side caching, as `ecolaura serve` with ECOLAURA_REDIS_URL) and
// redis-nocsc (rueidis without client-side caching: every cache read is a
// Redis round trip). Rate limits are off; -admin-email and -admin-password
// create a staff account at start, as ECOLAURA_ADMIN_* do for the server. It serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	mode := flag.String("cache", "memory", "none, memory, redis or redis-nocsc")
	redisURL := flag.String("redis-url", "", "Redis URL (redis and redis-nocsc modes)")
	prefix := flag.String("redis-prefix", "ecolaura-bench:", "prefix of every Redis key")
	adminEmail := flag.String("admin-email", "", "staff account created at start (with -admin-password)")
	adminPassword := flag.String("admin-password", "", "password of the staff account")
	level := flag.String("log-level", "info", "debug, info, warn or error (info logs every request, as the server does)")
	flag.Parse()
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "benchserver: -log-level: %v\n", err)
		os.Exit(2)
	}
	// Batched like the access log of `ecolaura serve`: one write per 64 KiB
	// or 100 ms instead of one per request.
	out := newLineBuffer(os.Stderr, 100*time.Millisecond, 64<<10)
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lv}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, log, options{addr: *addr, mode: *mode, redisURL: *redisURL, prefix: *prefix,
		adminEmail: *adminEmail, adminPassword: *adminPassword})
	stop()
	if err != nil {
		log.Error("benchserver failed", slog.Any("err", err))
	}
	_ = out.Close()
	if err != nil {
		os.Exit(1)
	}
}

// lineBuffer batches whole log records and writes them when maxBytes
// accumulate or every interval (as cmd/ecolaura's access log does).
type lineBuffer struct {
	mu       sync.Mutex
	w        io.Writer
	buf      []byte
	maxBytes int
	stop     chan struct{}
	done     chan struct{}
}

func newLineBuffer(w io.Writer, interval time.Duration, maxBytes int) *lineBuffer {
	b := &lineBuffer{w: w, maxBytes: maxBytes, buf: make([]byte, 0, maxBytes), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write appends one record; it never fails.
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.maxBytes {
		_, _ = b.w.Write(b.buf)
		b.buf = b.buf[:0]
	}
	return len(p), nil
}

func (b *lineBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > 0 {
		_, _ = b.w.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

// Close stops the timer and flushes; call it once.
func (b *lineBuffer) Close() error {
	close(b.stop)
	<-b.done
	b.flush()
	return nil
}

type options struct {
	addr, mode, redisURL, prefix string
	adminEmail, adminPassword    string
}

func run(ctx context.Context, log *slog.Logger, o options) error {
	runner := memory.NewJobRunner(memory.WithRunnerLogger(log))
	db := memory.NewDatabase(memory.WithJobRunner(runner), memory.WithLogger(log))
	// The shop wires the catalog side; users and orders are wired below.
	shopOpts := []shop.Option{shop.WithServices(shop.CatalogService | shop.SustainabilityService),
		shop.WithDatabase(db), shop.WithLogger(log), shop.WithDemoCatalog()}
	var cache shop.Cache
	switch o.mode {
	case "none":
		shopOpts = append(shopOpts, shop.WithoutCache())
	case "memory":
		cache = memory.NewCache()
		shopOpts = append(shopOpts, shop.WithCache(cache))
	case "redis", "redis-nocsc":
		if o.redisURL == "" {
			return errors.New("-redis-url is required with -cache " + o.mode)
		}
		cfg := redis.DefaultConfig(o.redisURL)
		cfg.Prefix = o.prefix
		cfg.ClientSideCaching = o.mode == "redis"
		rc, err := redis.NewCache(ctx, cfg, redis.WithLogger(log))
		if err != nil {
			return fmt.Errorf("connect to redis: %w", err)
		}
		defer rc.Close()
		cache = rc
		shopOpts = append(shopOpts, shop.WithCache(cache))
	default:
		return fmt.Errorf("-cache: want none, memory, redis or redis-nocsc, got %q", o.mode)
	}
	s, err := shop.New(ctx, shopOpts...)
	if err != nil {
		return fmt.Errorf("wire services: %w", err)
	}
	defer func() { _ = s.Close(context.WithoutCancel(ctx)) }()

	key, err := jwt.GenerateDevelopmentKey(log)
	if err != nil {
		return err
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		return err
	}
	issuer, err := jwt.NewIssuer(jwt.DefaultConfig(), keys)
	if err != nil {
		return err
	}
	verifier, err := jwt.NewVerifier(jwt.DefaultConfig(), keys)
	if err != nil {
		return err
	}
	hasher, err := argon2id.New(argon2id.DefaultParams())
	if err != nil {
		return err
	}
	usr, err := users.New(s.Database, hasher, issuer, s.Clock, s.IDs, users.WithLogger(log))
	if err != nil {
		return err
	}
	ord, err := orders.New(s.Database, s.Clock, s.IDs, orders.WithLogger(log))
	if err != nil {
		return err
	}
	if o.adminEmail != "" {
		if _, _, err := usr.EnsureStaff(ctx, users.StaffAccount{Email: o.adminEmail, Name: "Bench admin", Password: o.adminPassword}); err != nil {
			return fmt.Errorf("-admin-email: %w", err)
		}
	}
	if err := runner.Start(context.WithoutCancel(ctx), ord); err != nil {
		return err
	}
	defer func() { _ = runner.Stop(context.WithoutCancel(ctx)) }()

	services := httpapi.Services{
		Catalog: s.Catalog, Orders: ord, Sustainability: s.Sustainability, Users: usr, Audit: s.Audit, Passports: s.Passports,
		Shipping: s.Shipping,
		JWKS:     keys.JWKS, Tokens: verifier, ResponseCache: cache,
	}
	services.Inventory = s.Inventory
	if sig := s.CacheSignals(); sig != nil {
		services.CacheSignals = sig
	}
	hc := httpapi.DefaultConfig()
	hc.DisableRateLimits = true
	srv, err := httpapi.New(hc, services, httpapi.WithLogger(log))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Warn("benchserver listening", slog.String("addr", ln.Addr().String()), slog.String("cache", o.mode))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	<-served
	return nil
}
