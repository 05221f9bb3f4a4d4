package main

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/redis"
)

// openDatabase opens PostgreSQL (ECOLAURA_DATABASE_URL), applies the
// migrations when *migrate is set (ECOLAURA_MIGRATE_ON_START; nil for a
// command without that setting) and checks that the schema is current: the
// one way serve, worker and seed open storage. The caller closes the
// database. tp, when not nil, traces it (see postgres.WithTracerProvider).
func openDatabase(ctx context.Context, cfg postgres.Config, migrate *bool, log *slog.Logger, tp trace.TracerProvider) (*postgres.Database, error) {
	pg, err := postgres.Open(ctx, cfg, postgres.WithLogger(log), postgres.WithTracerProvider(tp))
	if err != nil {
		return nil, fmt.Errorf("open database (ECOLAURA_DATABASE_URL): %w", err)
	}
	if migrate != nil && *migrate {
		st, err := postgres.Migrate(ctx, pg, postgres.MigrateUp)
		if err != nil {
			_ = pg.Close()
			return nil, fmt.Errorf("migrate on start: %w", err)
		}
		log.Info("database migrated", slog.String("status", st.String()))
	}
	if err := pg.CheckSchema(ctx); err != nil {
		_ = pg.Close()
		if migrate != nil {
			return nil, fmt.Errorf("%w (or start with ECOLAURA_MIGRATE_ON_START=true)", err)
		}
		return nil, err
	}
	return pg, nil
}

// openRedisCache connects to the shared cache (ECOLAURA_REDIS_URL) with the
// recommended configuration and prefix (ECOLAURA_REDIS_PREFIX): the only
// prefix of every key, so that serve replicas, workers and SDK programs
// configured alike share entries and invalidations. The caller closes it.
func openRedisCache(ctx context.Context, url, prefix string, log *slog.Logger, tp trace.TracerProvider) (*redis.Cache, error) {
	rcfg := redis.DefaultConfig(url)
	rcfg.Prefix = prefix
	rc, err := redis.NewCache(ctx, rcfg, redis.WithLogger(log), redis.WithTracerProvider(tp))
	if err != nil {
		return nil, fmt.Errorf("connect to redis (ECOLAURA_REDIS_URL): %w", err)
	}
	return rc, nil
}
