package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/media"
	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/telemetry"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ports"
)

const workerUsage = `Usage: ecolaura worker [flags]

Runs only the background job workers (River, on PostgreSQL): order
processing and every email (order confirmations, password resets, email
verification and changes), with no API: only the operations listener
(ECOLAURA_OPS_ADDR, default 127.0.0.1:9090) with /metrics, /healthz and
/readyz (200 while jobs are worked and the database answers) for probes. Start as many as
needed next to "ecolaura serve" replicas; River hands each job to one worker.
SIGTERM or SIGINT stops fetching jobs and waits for the running ones (up to
the shutdown timeout; the rest are retried later).

Needs ECOLAURA_DATABASE_URL and a migrated schema. Other environment
variables: ECOLAURA_DATABASE_MAX_CONNS (the pool; give it at least the
concurrency plus a few for River itself), ECOLAURA_REDIS_URL and
ECOLAURA_REDIS_PREFIX (the shared cache the API servers use, so changes made
by jobs invalidate it), ECOLAURA_CURRENCY, ECOLAURA_SECRET_KEY (the same as
the API servers': it keys the mailed links; required in production, with
ECOLAURA_ENV=production), ECOLAURA_ENV. Tracing: the OTEL_* variables (see
ecolaura serve --help).

Flags:
`

// workerConfig is the configuration of `ecolaura worker`.
type workerConfig struct {
	DatabaseURL string
	// DatabaseMaxConns sizes the process's one PostgreSQL pool (0: the
	// adapter's default).
	DatabaseMaxConns int
	RedisURL         string
	RedisPrefix      string
	MigrateOnStart   bool
	Concurrency      int
	JobTimeout       time.Duration
	ShutdownTimeout  time.Duration
	LogFormat        string
	LogLevel         string
	Currency         ecolaura.Currency
	Env              string
	Mail             mailConfig
	// Ops is the operations listener (ECOLAURA_OPS_ADDR, ECOLAURA_PPROF).
	Ops opsConfig
	// Tracing is OpenTelemetry tracing (the OTEL_* variables).
	Tracing tracingConfig
	// Warnings are logged at start: unknown ECOLAURA_* variables.
	Warnings []string
	// MediaDir, when set, makes the worker run the media cleanup too.
	MediaDir string
}

// loadWorkerConfig reads ECOLAURA_* variables, then flags from args, and
// returns every problem found.
func loadWorkerConfig(args []string, env getenv, fs *flag.FlagSet) (workerConfig, error) {
	c := workerConfig{
		DatabaseURL: env("ECOLAURA_DATABASE_URL"), RedisURL: env("ECOLAURA_REDIS_URL"), RedisPrefix: or(env("ECOLAURA_REDIS_PREFIX"), "ecolaura:"),
		Concurrency: 10, ShutdownTimeout: 30 * time.Second, JobTimeout: postgres.DefaultJobTimeout,
		LogFormat: or(env("ECOLAURA_LOG_FORMAT"), "text"), LogLevel: or(env("ECOLAURA_LOG_LEVEL"), "info"),
	}
	set := newSettings(fs, env)
	life := lifecycleSettings(set)
	concurrency := set.Int("ECOLAURA_WORKER_CONCURRENCY", "concurrency", 10, 1, 10_000, "jobs run at once, `n` from 1 to 10000 (ECOLAURA_WORKER_CONCURRENCY)")
	currency := or(env("ECOLAURA_CURRENCY"), string(ecolaura.DefaultCurrency))
	c.Env = or(env("ECOLAURA_ENV"), "development")
	c.MediaDir = env("ECOLAURA_MEDIA_DIR")
	mail := mailFlags(fs, env, env("ECOLAURA_PUBLIC_URL"))
	ops := opsFlags(fs, env)
	fs.StringVar(&c.MediaDir, "media-dir", c.MediaDir, "directory of uploaded product images: the worker then runs their cleanup (ECOLAURA_MEDIA_DIR)")
	fs.StringVar(&c.Env, "env", c.Env, "development or production (ECOLAURA_ENV)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL (ECOLAURA_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis URL of the shared cache (ECOLAURA_REDIS_URL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json (ECOLAURA_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (ECOLAURA_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("ECOLAURA_DATABASE_URL / --database-url is required: the workers take their jobs from PostgreSQL"))
	}
	set.problems(&errs)
	c.MigrateOnStart, c.ShutdownTimeout, c.JobTimeout, c.DatabaseMaxConns = *life.migrate, *life.shutdown, *life.jobTimeout, *life.maxConns
	c.Concurrency = *concurrency
	c.Currency = parseCurrencySetting(currency, &errs)
	errs = append(errs, checkLogging(c.LogFormat, c.LogLevel)...)
	switch c.Env {
	case "development", "production":
	default:
		errs = append(errs, fmt.Errorf("ECOLAURA_ENV / --env: want development or production, got %q", c.Env))
	}
	c.Mail = *mail
	c.Ops = ops(&errs)
	c.Tracing = tracingConfig{env: env}
	if err := telemetry.Check(env); err != nil {
		errs = append(errs, err)
	}
	c.Warnings = unknownSettings(environ())
	errs = append(errs, c.Mail.validate(c.Env == "production")...)
	return c, errors.Join(errs...)
}

func workerCmd(ctx context.Context, args []string, env getenv, _, stderr io.Writer) int {
	fs := newFlagSet("worker", workerUsage, stderr)
	cfg, err := loadWorkerConfig(args, env, fs)
	return runConfigured(stderr, "worker", err, func() error { return runWorker(ctx, cfg, stderr, nil) },
		func() *slog.Logger {
			return newLogger(serveConfig{LogFormat: cfg.LogFormat, LogLevel: cfg.LogLevel}, stderr)
		})
}

// runWorker wires the orders service over PostgreSQL exactly as serve does
// (same shop, cache and mailer), works jobs until ctx ends, then stops
// gracefully. started, when not nil, is closed once River runs.
func runWorker(ctx context.Context, cfg workerConfig, logWriter io.Writer, started chan<- struct{}) (err error) {
	log := newLogger(serveConfig{LogFormat: cfg.LogFormat, LogLevel: cfg.LogLevel}, logWriter)
	tracing, err := cfg.Tracing.open(ctx)
	if err != nil {
		return err
	}
	tp := tracing.Tracer() // nil when off: nothing is instrumented
	mailer, mailMode, err := cfg.Mail.mailer(log, tp)
	if err != nil {
		_ = tracing.Shutdown(ctx)
		return err
	}
	log.Info("ecolaura worker starting: River job workers only, no HTTP, "+mailMode, slog.String("version", appVersion()),
		slog.Int("concurrency", cfg.Concurrency), slog.String("mailer", mailMode), slog.String("env", cfg.Env), slog.String("tracing", tracing.Exporter))
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}

	closers := []func(context.Context) error{tracing.Shutdown} // spans are flushed last
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i](cctx))
		}
	}()

	// The operations listener (probes and metrics for worker pods) starts
	// first and stops last. /readyz answers 200 while River works jobs and
	// the database answers, 503 while starting and once stopping.
	reg, err := newProcessRegistry()
	if err != nil {
		return err
	}
	// state: 0 starting, 1 working jobs, 2 stopping.
	var state atomic.Int32
	var db atomic.Pointer[postgres.Database]
	ops, err := startOps(cfg.Ops, reg, func(ctx context.Context) (bool, any) {
		switch state.Load() {
		case 0:
			return false, httpapi.Readiness{Status: "starting", Checks: map[string]string{}}
		case 2:
			return false, httpapi.Readiness{Status: "stopping", Checks: map[string]string{}}
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := db.Load().Ping(pctx); err != nil {
			log.Warn("readiness probe failed", slog.String("probe", "database"), slog.Any("err", err))
			return false, httpapi.Readiness{Status: "unavailable", Checks: map[string]string{"database": "unavailable"}}
		}
		return true, httpapi.Readiness{Status: "ok", Checks: map[string]string{"database": "ok"}}
	}, log)
	if err != nil {
		return err
	}
	closers = append(closers, ops.Shutdown)
	pm := &processMetrics{log: log}
	if err := reg.Register(pm); err != nil {
		return err
	}

	pg, err := openDatabase(ctx, postgres.Config{URL: cfg.DatabaseURL, MaxConns: cfg.DatabaseMaxConns}, &cfg.MigrateOnStart, log, tp)
	if err != nil {
		return err
	}
	closers = append(closers, func(context.Context) error { return pg.Close() })
	pm.db = pg
	db.Store(pg)

	svcLog := log
	if cfg.LogLevel != "debug" {
		svcLog = newLogger(serveConfig{LogFormat: cfg.LogFormat, LogLevel: "warn"}, logWriter)
	}
	// River enqueues periodic jobs on its elected leader only, which may be
	// this process: every runner lists the media cleanup.
	runner, err := pg.NewJobRunner(postgres.RunnerConfig{Logger: log, MaxWorkers: cfg.Concurrency, JobTimeout: cfg.JobTimeout,
		PeriodicJobs: []ports.PeriodicJob{catalog.MediaCleanupJob(0)}})
	if err != nil {
		return fmt.Errorf("job runner: %w", err)
	}
	pm.runner = runner
	// The same wiring as serve, à la carte: the worker needs only the
	// services that run jobs, orders and account emails (no catalog,
	// sign-in or token keys). The shop starts the runner with their job
	// handler and stops it (waiting for running jobs) in Close. With Redis
	// the services use the shared product cache, so changes made by jobs
	// invalidate what the API servers cache; without it, no cache (a
	// private one would only go stale).
	mailOpts, err := cfg.Mail.shopOptions(mailer, log)
	if err != nil {
		return err
	}
	services := shop.OrdersService | shop.AccountMailService
	var mediaOpts []shop.Option
	if cfg.MediaDir != "" {
		store, err := media.Open(cfg.MediaDir)
		if err != nil {
			return fmt.Errorf("ECOLAURA_MEDIA_DIR: %w", err)
		}
		// The catalog service runs the media cleanup job.
		services |= shop.CatalogService
		mediaOpts = append(mediaOpts, shop.WithMedia(store))
	}
	shopOpts := append([]shop.Option{
		shop.WithServices(services),
		shop.WithDatabase(pg), shop.WithJobRunner(runner), shop.WithLogger(svcLog), shop.WithCurrency(cfg.Currency),
	}, append(mailOpts, mediaOpts...)...)
	if cfg.RedisURL != "" {
		rc, err := openRedisCache(ctx, cfg.RedisURL, cfg.RedisPrefix, log, tp)
		if err != nil {
			return err
		}
		closers = append(closers, func(context.Context) error { rc.Close(); return nil })
		shopOpts = append(shopOpts, shop.WithCache(rc))
		pm.cache = rc
	} else {
		shopOpts = append(shopOpts, shop.WithoutCache())
	}
	s, err := shop.New(ctx, shopOpts...)
	if err != nil {
		return fmt.Errorf("wire services: %w", err)
	}
	pm.mail = func() *notify.Notifier { return s.Notifier }
	state.Store(1)
	log.Info("working jobs")
	if started != nil {
		close(started)
	}
	<-ctx.Done()
	state.Store(2)
	log.Info("shutting down: waiting for running jobs", slog.String("timeout", cfg.ShutdownTimeout.String()))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := s.Close(sctx); err != nil {
		return err
	}
	log.Info("job runner stopped", slog.String("took", time.Since(start).String()))
	return nil
}
