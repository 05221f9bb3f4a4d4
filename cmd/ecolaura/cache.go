package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ecolaura/ecolaura/adapters/redis"
)

const cacheUsage = `Usage: ecolaura cache flush [flags]

Deletes everything the servers keep in the shared Redis cache (products,
list pages, rendered responses), keeping the rate limits. Run it after the
database changed behind the servers' back: a manual SQL fix, a restore (see
docs/operations.md); the next reads load from the database. Needs
ECOLAURA_REDIS_URL (and the servers' ECOLAURA_REDIS_PREFIX). Without Redis
every server caches in its own memory: restart the servers instead.

Flags:
`

// cacheCmd runs `ecolaura cache flush`: 0 when flushed, 1 when Redis
// cannot be reached, 2 for a usage or configuration error.
func cacheCmd(ctx context.Context, args []string, env getenv, stdout, stderr io.Writer) int {
	fs := newFlagSet("cache", cacheUsage, stderr)
	url := env("ECOLAURA_REDIS_URL")
	prefix := or(env("ECOLAURA_REDIS_PREFIX"), redis.DefaultPrefix)
	fs.StringVar(&url, "redis-url", url, "Redis URL of the shared cache (ECOLAURA_REDIS_URL)")
	if err := fs.Parse(args); err != nil {
		return helpCode(err)
	}
	if fs.NArg() == 0 || fs.Arg(0) != "flush" {
		fs.Usage()
		return 2
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil { // flags may follow the action
		return helpCode(err)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if url == "" {
		fmt.Fprintln(stderr, "ecolaura cache flush: set ECOLAURA_REDIS_URL (or --redis-url): without Redis each server caches in its own memory; restart the servers to empty their caches")
		noteUnknownSettings(stderr)
		return 2
	}
	cfg := redis.DefaultConfig(url)
	cfg.Prefix = prefix
	cfg.ClientSideCaching = false
	c, err := redis.NewCache(ctx, cfg, redis.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura cache flush: %v\n", err)
		return 2
	}
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		fmt.Fprintf(stderr, "ecolaura cache flush: Redis is unreachable: %v\n", err)
		return 1
	}
	n, err := c.Flush(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura cache flush: flushed %d keys, then: %v\n", n, err)
		return 1
	}
	fmt.Fprintf(stdout, "flushed %d keys under prefix %q (rate limits kept)\n", n, prefix)
	return 0
}
