package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/media"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/adapters/telemetry"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
)

const serveUsage = `Usage: ecolaura serve [flags]

Runs the shop's HTTP API (/api/v1, /api/v2, /healthz, /readyz) and the
operations listener (ECOLAURA_OPS_ADDR, default 127.0.0.1:9090: /metrics,
/healthz, /readyz, and /debug/pprof/ with ECOLAURA_PPROF=1).
With no configuration it runs in memory with the demo catalog, the
in-process job runner and a mailer that logs. Every flag has an environment
variable; flags win.

Other environment variables:
  ECOLAURA_ADMIN_EMAIL, ECOLAURA_ADMIN_PASSWORD   staff account created at start if missing
  ECOLAURA_JWT_ISSUER                             "iss" of access tokens (default ecolaura)
  ECOLAURA_CURRENCY                               shop currency (default EUR)
  ECOLAURA_REDIS_PREFIX                           prefix of every Redis key (default ecolaura:)
  ECOLAURA_SECRET_KEY                             key of the links mailed for password resets and
                                                  email verification (>= 32 bytes; required in
                                                  production; serve and worker need the same)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME, …
                                                  OpenTelemetry tracing, off unless an exporter
                                                  is named or an OTLP endpoint set

Switches take 1/0, true/false or on/off. ECOLAURA_ENV=production refuses
unsafe settings; a configuration error exits 2. Unknown ECOLAURA_* variables
are logged at start, with the closest setting.

Flags:
`

func newLogger(cfg serveConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationStrings}
	// Every line logged within a traced context carries its trace_id and
	// span_id.
	if cfg.LogFormat == "json" {
		return slog.New(telemetry.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(telemetry.LogHandler(slog.NewTextHandler(w, opts)))
}

// durationStrings writes durations as Go duration strings ("1.5s"): the
// JSON handler would write integer nanoseconds. It covers every component
// logging through the process's logger (River's among them).
func durationStrings(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

func serve(ctx context.Context, args []string, env getenv, _, stderr io.Writer) int {
	fs := newFlagSet("serve", serveUsage, stderr)
	cfg, err := loadServeConfig(args, env, fs)
	return runConfigured(stderr, "serve", err, func() error { return runServer(ctx, cfg, stderr, nil) },
		func() *slog.Logger { return newLogger(cfg, stderr) })
}

// newFlagSet returns a flag set for a command whose --help prints usage and
// the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		printFlags(fs)
	}
	return fs
}

// printFlags prints the flags of fs as PrintDefaults does, but without
// the credentials of the URLs their defaults were taken from (the
// environment's ECOLAURA_DATABASE_URL, ECOLAURA_REDIS_URL,
// ECOLAURA_SMTP_URL, ...): --help and a mistyped flag print this usage,
// often into a log.
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasSuffix(f.Name, "-url") {
			f.DefValue = redactedURL(f.DefValue)
		}
	})
	fs.PrintDefaults()
}

// redactedURL is raw without its password ("postgres://u:xxxxx@host/db"),
// or a placeholder when raw is not a URL with a scheme (a key=value DSN
// may hold a password anywhere) or its query may name one.
func redactedURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || strings.Contains(strings.ToLower(u.RawQuery), "pass") {
		return "(set; not shown)"
	}
	return u.Redacted()
}

// runConfigured turns a command's configuration error and run into an exit
// code: 0 after --help or success, 2 for an invalid configuration, 1 when
// run fails (logged with the command's logger).
func runConfigured(stderr io.Writer, name string, cfgErr error, run func() error, logger func() *slog.Logger) int {
	if errors.Is(cfgErr, flag.ErrHelp) {
		return 0
	}
	if cfgErr != nil {
		fmt.Fprintf(stderr, "ecolaura %s: invalid configuration:\n%v\n", name, cfgErr)
		noteUnknownSettings(stderr)
		return 2
	}
	if err := run(); err != nil {
		logger().Error(name+" failed", slog.Any("err", err))
		return 1
	}
	return 0
}

// runServer wires the shop, serves until ctx ends, then shuts down
// gracefully. ready, when not nil, receives the listening address.
func runServer(ctx context.Context, cfg serveConfig, logWriter io.Writer, ready chan<- string) (err error) {
	log := newLogger(cfg, logWriter)
	mode := "in-memory (demo catalog, in-process job runner; data is lost on exit)"
	if cfg.DatabaseURL != "" {
		mode = "postgres (River job runner)"
		if cfg.NoWorkers {
			mode = "postgres (no job workers in this process: run `ecolaura worker`)"
		}
	}
	tracing, err := cfg.Tracing.open(ctx)
	if err != nil {
		return err
	}
	tp := tracing.Tracer() // nil when off: nothing is instrumented
	payment, err := cfg.paymentProvider(tp)
	if err != nil {
		_ = tracing.Shutdown(ctx)
		return err
	}
	cacheMode := "in-process cache"
	if cfg.RedisURL != "" {
		cacheMode = "redis cache and rate limits"
	}
	// The access log and the mail log are batched: one write per 64 KiB or
	// 100 ms instead of one per request. They are flushed last, after the
	// server and the jobs have drained.
	accessLog := newLineBuffer(logWriter, 100*time.Millisecond, 64<<10)
	batchedLog := newLogger(cfg, accessLog)
	mailer, mailMode, err := cfg.Mail.mailer(batchedLog, tp)
	if err != nil {
		_ = accessLog.Close()
		_ = tracing.Shutdown(ctx)
		return err
	}
	log.Info("ecolaura starting: "+mode+", "+cacheMode+", "+mailMode, slog.String("mode", mode), slog.String("cache", cacheMode),
		slog.String("mailer", mailMode), slog.String("env", cfg.Env), slog.String("version", appVersion()), slog.String("addr", cfg.Addr),
		slog.String("payments", payment.Name()), slog.String("tracing", tracing.Exporter))

	for _, w := range cfg.Warnings {
		log.Warn(w)
	}

	// The spans are flushed last, after the access log.
	closers := []func(context.Context) error{tracing.Shutdown, func(context.Context) error { return accessLog.Close() }}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i](cctx))
		}
	}()

	// The operations listener starts first and stops last: probes and
	// metrics answer during the start and the whole drain. /readyz there
	// answers what the API's does, 503 until the API serves.
	metrics, err := httpapi.NewMetrics()
	if err != nil {
		return err
	}
	var api atomic.Pointer[httpapi.Server]
	ops, err := startOps(cfg.Ops, metrics.Registry(), func(ctx context.Context) (bool, any) {
		srv := api.Load()
		if srv == nil {
			return false, httpapi.Readiness{Status: "starting", Checks: map[string]string{}}
		}
		return srv.Ready(ctx)
	}, log)
	if err != nil {
		return err
	}
	closers = append(closers, ops.Shutdown)
	pm := &processMetrics{log: log}
	if err := metrics.Registry().Register(pm); err != nil {
		return err
	}

	// Media files, and their periodic cleanup by the job runner.
	var store *media.Store
	var periodic []ports.PeriodicJob
	if cfg.MediaDir != "" {
		if store, err = media.Open(cfg.MediaDir); err != nil {
			return fmt.Errorf("ECOLAURA_MEDIA_DIR: %w", err)
		}
		periodic = append(periodic, catalog.MediaCleanupJob(0))
		log.Info("product images stored in "+store.Dir(), slog.String("media_dir", store.Dir()))
	} else {
		log.Info("product image uploads are off: set ECOLAURA_MEDIA_DIR to turn them on")
	}

	// Storage and the job runner.
	var db ports.Database
	var runner ports.JobRunner
	var probes []httpapi.Probe
	if cfg.DatabaseURL != "" {
		pg, err := openDatabase(ctx, postgres.Config{URL: cfg.DatabaseURL, ReadTimeout: cfg.DBReadTimeout, MaxConns: cfg.DatabaseMaxConns}, &cfg.MigrateOnStart, log, tp)
		if err != nil {
			return err
		}
		closers = append(closers, func(context.Context) error { return pg.Close() })
		db = pg
		pm.db = pg
		if !cfg.NoWorkers {
			r, err := pg.NewJobRunner(postgres.RunnerConfig{Logger: log, JobTimeout: cfg.JobTimeout, PeriodicJobs: periodic})
			if err != nil {
				return fmt.Errorf("job runner: %w", err)
			}
			runner = r
			pm.runner = r
		}
	} else {
		r := memory.NewJobRunner(memory.WithRunnerLogger(log), memory.WithPeriodicJobs(periodic...))
		db, runner = memory.NewDatabase(memory.WithJobRunner(r), memory.WithLogger(log)), r
	}
	probes = append(probes, httpapi.Probe{Name: "database", Check: db.Ping})

	// Cache and rate limits.
	var cache shop.Cache = memory.NewCache(memory.WithMaxBytes(cfg.CacheMemory))
	var limiter httpapi.RateLimiter = memory.NewRateLimiter()
	var redisCache *redis.Cache
	if cfg.RedisURL != "" {
		rc, err := openRedisCache(ctx, cfg.RedisURL, cfg.RedisPrefix, log, tp)
		if err != nil {
			return err
		}
		closers = append(closers, func(context.Context) error { rc.Close(); return nil })
		rl, err := redis.NewRateLimiter(ctx, redis.LimiterConfig{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix}, redis.WithLogger(log),
			redis.WithTracerProvider(tp))
		if err != nil {
			return fmt.Errorf("redis rate limiter (ECOLAURA_REDIS_URL): %w", err)
		}
		closers = append(closers, func(context.Context) error { rl.Close(); return nil })
		cache, limiter, redisCache = rc, rl, rc
		pm.cache, pm.limiter = rc, rl
	}

	// Services.
	// The services log at warn and above unless debugging: the access log
	// already records every request, and the demo load would log 60 lines.
	svcLog := log
	if cfg.LogLevel != "debug" {
		svcLog = newLogger(serveConfig{LogFormat: cfg.LogFormat, LogLevel: "warn"}, logWriter)
	}
	var key jwt.SigningKey
	if cfg.JWTKeyFile != "" {
		key, err = jwt.LoadSigningKeyFile(cfg.JWTKeyFile)
		if err != nil {
			return fmt.Errorf("ECOLAURA_JWT_KEY_FILE: %w", err)
		}
	} else {
		key, err = jwt.GenerateDevelopmentKey(log)
		if err != nil {
			return fmt.Errorf("generate development JWT key: %w", err)
		}
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		return fmt.Errorf("JWT keys: %w", err)
	}
	jcfg := jwt.DefaultConfig()
	jcfg.Issuer = cfg.JWTIssuer
	clock := system.Clock{} // the shop's and the tokens'
	issuer, err := jwt.NewIssuer(jcfg, keys, jwt.WithClock(clock))
	if err != nil {
		return fmt.Errorf("JWT issuer: %w", err)
	}
	uncached, err := jwt.NewVerifier(jcfg, keys, jwt.WithClock(clock))
	if err != nil {
		return fmt.Errorf("JWT verifier: %w", err)
	}
	verifier, err := jwt.NewCachedVerifier(uncached, jwt.DefaultCachedTokens)
	if err != nil {
		return fmt.Errorf("JWT verifier: %w", err)
	}

	mailOpts, err := cfg.Mail.shopOptions(mailer, log)
	if err != nil {
		return err
	}

	// The shop starts the job runner with the orders service as handler and
	// stops it (waiting for running jobs) in Close, which runs after the
	// HTTP server has drained.
	s, err := cfg.newShop(ctx, serveDeps{db: db, cache: cache, log: svcLog, clock: clock, issuer: issuer, verifier: verifier,
		mail: mailOpts, runner: runner, media: store, payment: payment})
	if err != nil {
		return fmt.Errorf("wire services: %w", err)
	}
	closers = append(closers, func(ctx context.Context) error {
		log.Info("stopping job runner")
		return s.Close(ctx)
	})

	if cfg.AdminEmail != "" {
		if err := ensureAdmin(ctx, s.Users, cfg.AdminEmail, cfg.AdminPassword, log); err != nil {
			return err
		}
	}

	if _, caching := s.CacheStats(); caching {
		if err := metrics.ObserveCache(func() httpapi.CacheCounts {
			st, _ := s.CacheStats()
			c := httpapi.CacheCounts{
				Hits: st.ProductHits + st.ListHits + st.CategoryHits, Misses: st.ProductMisses + st.ListMisses + st.CategoryMisses,
				Errors: st.Errors,
			}
			if redisCache != nil {
				c.Outages = redisCache.Stats().Outages
			}
			return c
		}); err != nil {
			return err
		}
	}
	pm.mail = func() *notify.Notifier { return s.Notifier }
	services := httpapi.Services{
		Catalog: s.Catalog, Orders: s.Orders, Sustainability: s.Sustainability, Users: s.Users, Audit: s.Audit, Passports: s.Passports,
		Shipping: s.Shipping,
		JWKS:     keys.JWKS, Tokens: verifier, RateLimiter: limiter, ResponseCache: cache, Probes: probes,
	}
	services.Inventory = s.Inventory
	if sig := s.CacheSignals(); sig != nil {
		services.CacheSignals = sig
	}
	if store != nil {
		services.Media = store
	}
	srv, err := httpapi.New(cfg.httpConfig(), services, httpapi.WithLogger(batchedLog),
		httpapi.WithMetrics(metrics), httpapi.WithVersion(appVersion()), httpapi.WithTracing(tp, tracing.Propagator))
	if err != nil {
		return err
	}

	// Bootstrap (the demo load, the admin's Argon2id hash of 19 MiB) leaves
	// garbage behind: return it to the OS so the idle footprint stays small.
	runtime.GC()
	debug.FreeOSMemory()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (ECOLAURA_ADDR): %w", cfg.Addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	api.Store(srv)
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("url", "http://"+ln.Addr().String()+"/api/v2/products"))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", slog.String("timeout", cfg.ShutdownTimeout.String()))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := srv.Drain(sctx, httpapi.DrainConfig{Delay: cfg.DrainDelay, IdleTimeout: cfg.IdleDrainTimeout, Logger: log}); err != nil {
		return fmt.Errorf("drain http: %w", err)
	}
	<-served
	log.Info("http server stopped", slog.String("took", time.Since(start).String()))
	return nil
}

// ensureAdmin creates the staff account of ECOLAURA_ADMIN_EMAIL when it is
// missing. An account with that address that is not staff is never
// promoted. That stops the start only when the shop has no active staff
// account at all (the address was taken before the first start, and no
// one could administer the shop); once staff exist, it is an account they
// demoted (PATCH /api/v2/users/{id}) or a customer's, and a restart must
// neither undo that decision nor fail: it is logged as a warning.
func ensureAdmin(ctx context.Context, svc *users.Service, email, password string, log *slog.Logger) error {
	u, created, err := svc.EnsureStaff(ctx, users.StaffAccount{Email: email, Name: "Administrator", Password: password})
	if errors.Is(err, ecolaura.ErrConflict) {
		active := false
		staff, lerr := svc.List(ctx, ecolaura.System(), users.ListParams{Role: ecolaura.RoleStaff, Disabled: &active, PageSize: 1})
		if lerr != nil {
			return fmt.Errorf("ECOLAURA_ADMIN_EMAIL: %w", errors.Join(err, lerr))
		}
		if len(staff.Items) > 0 {
			log.Warn("ECOLAURA_ADMIN_EMAIL names an account that is not staff (demoted by staff, or a customer's): not promoted; the shop has other staff accounts",
				slog.String("email", email))
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("ECOLAURA_ADMIN_EMAIL: %w", err)
	}
	log.Info("staff account ready", slog.String("email", u.Email), slog.Bool("created", created))
	return nil
}

// serveDeps are the adapters serve builds the shop over.
type serveDeps struct {
	db       ports.Database
	cache    shop.Cache
	log      *slog.Logger
	clock    ports.Clock
	issuer   ports.TokenIssuer
	verifier shop.TokenVerifier
	mail     []shop.Option
	runner   ports.JobRunner // nil: no job workers in this process
	media    *media.Store    // nil: image uploads off
	payment  ports.PaymentProvider
}

// newShop wires the shop of serve over d with the settings of c: the
// currency, tax mode, verified-email rule, the payment provider of
// ECOLAURA_PAYMENT_PROVIDER, and the demo catalog when in memory.
func (c serveConfig) newShop(ctx context.Context, d serveDeps) (*shop.Shop, error) {
	opts := append([]shop.Option{
		shop.WithDatabase(d.db), shop.WithCache(d.cache), shop.WithLogger(d.log), shop.WithClock(d.clock),
		shop.WithCurrency(c.Currency), shop.WithTaxMode(c.TaxMode), shop.WithTokens(d.issuer, d.verifier),
		shop.WithVerifiedEmailRequired(c.RequireVerifiedEmail),
	}, d.mail...)
	if d.runner != nil {
		opts = append(opts, shop.WithJobRunner(d.runner))
	}
	if d.media != nil {
		opts = append(opts, shop.WithMedia(d.media))
	}
	if d.payment != nil {
		opts = append(opts, shop.WithPaymentProvider(d.payment))
	}
	if c.DatabaseURL == "" {
		opts = append(opts, shop.WithDemoCatalog())
	}
	return shop.New(ctx, opts...)
}
