package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura"
)

// A server process wires one Cache and one RateLimiter on the same Redis.
// Hot reads are served from process memory; writes anywhere invalidate them.
// (Compiled, not run: it needs a Redis.)
func ExampleNewCache() {
	ctx := context.Background()
	cfg := redis.DefaultConfig("redis://127.0.0.1:6379/0") // prefix "ecolaura:", client-side caching on
	cache, err := redis.NewCache(ctx, cfg)                 // Redis down: a Cache that fails fast until Redis is back
	if err != nil {
		log.Fatal(err) // a bad configuration
	}
	if err := cache.Ping(ctx); errors.Is(err, ecolaura.ErrUnavailable) {
		log.Print("Redis unreachable for now: reads go to the store until it is back")
	}
	defer cache.Close()

	// Concurrent misses for one key run the load once in this process.
	page, err := cache.GetOrLoad(ctx, "products:list:gen=7:page=1", 15*time.Minute,
		func(ctx context.Context) ([]byte, error) { return []byte(`{"results":[]}`), nil })
	if err != nil {
		log.Fatal(err) // only the load's own error ends up here
	}
	fmt.Println(len(page) > 0, cache.Stats().Healthy)

	limiter, err := redis.NewRateLimiter(ctx, redis.LimiterConfig{URL: cfg.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer limiter.Close()
	// The HTTP adapter enforces its limits with it: give it as
	// httpapi.Services.RateLimiter.
	fmt.Println(limiter.Healthy())
}
