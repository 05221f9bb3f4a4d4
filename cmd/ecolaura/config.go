package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/ecolaura/ecolaura/adapters/stripe"
	"github.com/ecolaura/ecolaura/ecolaura/payments"
	"github.com/ecolaura/ecolaura/ports"
	"go.opentelemetry.io/otel/trace"
	"strconv"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/telemetry"
	"github.com/ecolaura/ecolaura/ecolaura"
)

// serveConfig is the configuration of `ecolaura serve`, read from the
// environment and overridden by flags.
type serveConfig struct {
	Addr           string
	Env            string
	JWTKeyFile     string
	JWTIssuer      string
	AdminEmail     string
	AdminPassword  string
	CORSOrigins    []string
	TrustedProxies []string
	// PublicURL and AllowedHosts decide what absolute URLs start with (see
	// httpapi.Config).
	PublicURL    string
	AllowedHosts []string
	DatabaseURL  string
	// DatabaseMaxConns sizes the process's one PostgreSQL pool (0: the
	// adapter's default, postgres.DefaultMaxConns).
	DatabaseMaxConns int
	RedisURL         string
	RedisPrefix      string
	MigrateOnStart   bool
	AuthRateLimit    httpapi.RateLimit
	WriteRateLimit   httpapi.RateLimit
	// SignInFailuresPerAccount and SignInFailuresPerIP limit failed
	// sign-ins (see httpapi.Config).
	SignInFailuresPerAccount httpapi.RateLimit
	SignInFailuresPerIP      httpapi.RateLimit
	ReadRateLimit            httpapi.RateLimit
	RateLimitsOff            bool
	// DBReadTimeout is the statement timeout of catalog reads (see
	// postgres.Config.ReadTimeout).
	DBReadTimeout time.Duration
	// NoWorkers runs the API without the in-process River workers, for API
	// replicas scaled apart from `ecolaura worker` (PostgreSQL only).
	NoWorkers bool
	// JobTimeout bounds one run of a job; a job whose worker died is run
	// again shortly after it (see postgres.RunnerConfig.RescueAfter).
	JobTimeout time.Duration
	// MediaDir holds the uploaded product images ("" : uploads are off).
	MediaDir        string
	ShutdownTimeout time.Duration
	// CacheMemory bounds the in-process cache (without Redis), in bytes.
	CacheMemory int64
	// DrainDelay and IdleDrainTimeout shape the drain on SIGTERM (see
	// httpapi.DrainConfig); both count within ShutdownTimeout.
	DrainDelay       time.Duration
	IdleDrainTimeout time.Duration
	LogFormat        string
	LogLevel         string
	Currency         ecolaura.Currency
	// TaxMode says whether prices include tax (ECOLAURA_TAX_MODE).
	TaxMode ecolaura.TaxMode
	// PaymentProvider is none, manual or stripe
	// (ECOLAURA_PAYMENT_PROVIDER); the Stripe keys come from
	// ECOLAURA_STRIPE_SECRET_KEY and ECOLAURA_STRIPE_WEBHOOK_SECRET and are
	// never printed.
	PaymentProvider     string
	StripeSecretKey     string
	StripeWebhookSecret string
	// Mail is where and how email goes.
	Mail mailConfig
	// RequireVerifiedEmail refuses checkouts of unverified accounts.
	RequireVerifiedEmail bool
	// BehindProxy declares a reverse proxy in front
	// (ECOLAURA_BEHIND_PROXY): TrustedProxies must then name it.
	BehindProxy bool
	// Ops is the operations listener (ECOLAURA_OPS_ADDR, ECOLAURA_PPROF).
	Ops opsConfig
	// Tracing is OpenTelemetry tracing (the OTEL_* variables).
	Tracing tracingConfig
	// Warnings are logged at start: unknown ECOLAURA_* variables.
	Warnings []string
}

func (c serveConfig) production() bool { return c.Env == "production" }

// getenv is how the CLI reads the environment (injectable for tests).
type getenv func(string) string

// loadServeConfig reads ECOLAURA_* variables, then flags from args. It
// returns every problem found, each with the variable or flag to fix.
func loadServeConfig(args []string, env getenv, fs *flag.FlagSet) (serveConfig, error) {
	def := httpapi.DefaultConfig()
	c := serveConfig{
		Addr: or(env("ECOLAURA_ADDR"), ":8080"), Env: or(env("ECOLAURA_ENV"), "development"),
		JWTKeyFile: env("ECOLAURA_JWT_KEY_FILE"), JWTIssuer: or(env("ECOLAURA_JWT_ISSUER"), "ecolaura"),
		AdminEmail: env("ECOLAURA_ADMIN_EMAIL"), AdminPassword: env("ECOLAURA_ADMIN_PASSWORD"),
		DatabaseURL: env("ECOLAURA_DATABASE_URL"), RedisURL: env("ECOLAURA_REDIS_URL"), RedisPrefix: or(env("ECOLAURA_REDIS_PREFIX"), "ecolaura:"),
		LogFormat: or(env("ECOLAURA_LOG_FORMAT"), "text"), LogLevel: or(env("ECOLAURA_LOG_LEVEL"), "info"),
		AuthRateLimit: def.AuthRateLimit, WriteRateLimit: def.WriteRateLimit, PublicURL: env("ECOLAURA_PUBLIC_URL"),
		MediaDir:                 env("ECOLAURA_MEDIA_DIR"),
		SignInFailuresPerAccount: def.SignInFailuresPerAccount, SignInFailuresPerIP: def.SignInFailuresPerIP,
		ReadRateLimit: def.ExpensiveReadRateLimit, DBReadTimeout: postgres.DefaultReadTimeout,
		ShutdownTimeout: 30 * time.Second, Currency: ecolaura.DefaultCurrency, JobTimeout: postgres.DefaultJobTimeout,
		CacheMemory: memory.DefaultCacheBytes,
	}
	var errs []error
	set := newSettings(fs, env)
	cors, proxies, hosts := env("ECOLAURA_CORS_ORIGINS"), env("ECOLAURA_TRUSTED_PROXIES"), env("ECOLAURA_ALLOWED_HOSTS")
	authLimit, writeLimit := env("ECOLAURA_AUTH_RATE_LIMIT"), env("ECOLAURA_WRITE_RATE_LIMIT")
	accountFailures, ipFailures := env("ECOLAURA_SIGNIN_FAILURES_PER_ACCOUNT"), env("ECOLAURA_SIGNIN_FAILURES_PER_IP")
	readLimit := env("ECOLAURA_READ_RATE_LIMIT")
	cacheMemory := or(env("ECOLAURA_CACHE_MEMORY"), "64MiB")
	currency := or(env("ECOLAURA_CURRENCY"), string(ecolaura.DefaultCurrency))
	taxMode := or(env("ECOLAURA_TAX_MODE"), string(ecolaura.TaxInclusive))
	c.PaymentProvider = or(env("ECOLAURA_PAYMENT_PROVIDER"), ecolaura.ProviderNone)
	c.StripeSecretKey, c.StripeWebhookSecret = env("ECOLAURA_STRIPE_SECRET_KEY"), env("ECOLAURA_STRIPE_WEBHOOK_SECRET")
	mail := mailFlags(fs, env, c.PublicURL)
	ops := opsFlags(fs, env)
	life := lifecycleSettings(set)

	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (ECOLAURA_ADDR)")
	fs.StringVar(&c.MediaDir, "media-dir", c.MediaDir, "directory of uploaded product images, served under /media/ (nginx may serve it too); empty turns uploads off (ECOLAURA_MEDIA_DIR)")
	requireVerified := set.Switch("ECOLAURA_REQUIRE_VERIFIED_EMAIL", "require-verified-email", false,
		"refuse checkouts until the customer verified their email; 1/0, true/false or on/off (ECOLAURA_REQUIRE_VERIFIED_EMAIL)")
	fs.StringVar(&c.Env, "env", c.Env, "development or production (ECOLAURA_ENV)")
	fs.StringVar(&c.JWTKeyFile, "jwt-key-file", c.JWTKeyFile, "PEM or JWK file with the token signing key (ECOLAURA_JWT_KEY_FILE)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL; empty runs in memory (ECOLAURA_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis URL for the shared cache and rate limits (ECOLAURA_REDIS_URL)")
	fs.StringVar(&cacheMemory, "cache-memory", cacheMemory, "bound of the in-process cache used without Redis, a `size` in bytes, KiB, MiB or GiB (ECOLAURA_CACHE_MEMORY)")
	fs.StringVar(&cors, "cors-origins", cors, "comma-separated allowed CORS origins (ECOLAURA_CORS_ORIGINS)")
	fs.StringVar(&proxies, "trusted-proxies", proxies, "comma-separated trusted proxy IPs or CIDRs (ECOLAURA_TRUSTED_PROXIES)")
	behindProxy := set.Switch("ECOLAURA_BEHIND_PROXY", "behind-proxy", false,
		"the API is reached through a reverse proxy (nginx, a load balancer); needs --trusted-proxies, and production refuses it without (ECOLAURA_BEHIND_PROXY)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "absolute URL clients reach the API at, e.g. https://shop.example.org; every absolute URL (Location, v1 links) starts with it (ECOLAURA_PUBLIC_URL)")
	fs.StringVar(&hosts, "allowed-hosts", hosts, "comma-separated host names requests may name in Host, e.g. shop.example.org,.example.net; default localhost,127.0.0.1,::1 without a public URL (ECOLAURA_ALLOWED_HOSTS)")
	fs.StringVar(&authLimit, "auth-rate-limit", authLimit, "auth requests (sign-in, refresh, register, logout) per client IP as RATE/PERIOD[:BURST] (default 120/1m:120) (ECOLAURA_AUTH_RATE_LIMIT)")
	fs.StringVar(&accountFailures, "signin-failures-per-account", accountFailures, "failed sign-ins per account as RATE/PERIOD[:BURST] (default 1/15m:5) (ECOLAURA_SIGNIN_FAILURES_PER_ACCOUNT)")
	fs.StringVar(&ipFailures, "signin-failures-per-ip", ipFailures, "failed sign-ins per client IP as RATE/PERIOD[:BURST] (default 20/15m:20) (ECOLAURA_SIGNIN_FAILURES_PER_IP)")
	fs.StringVar(&writeLimit, "write-rate-limit", writeLimit, "writes per user as RATE/PERIOD[:BURST] (default 60/1m:20) (ECOLAURA_WRITE_RATE_LIMIT)")
	fs.StringVar(&readLimit, "read-rate-limit", readLimit, "expensive reads (searches, deep v1 pages) per client IP as RATE/PERIOD[:BURST] (ECOLAURA_READ_RATE_LIMIT)")
	dbReadTimeout := set.Duration("ECOLAURA_DB_READ_TIMEOUT", "db-read-timeout", postgres.DefaultReadTimeout, 10*time.Millisecond, time.Hour, "2s",
		"statement timeout of catalog reads on PostgreSQL, a `duration` from 10ms to 1h (ECOLAURA_DB_READ_TIMEOUT)")
	rateOff := set.OffSwitch("ECOLAURA_RATE_LIMITS", "no-rate-limits", "disable rate limits, e.g. for load tests (ECOLAURA_RATE_LIMITS=off)")
	noWorkers := set.OffSwitch("ECOLAURA_WORKERS", "no-workers", "do not run the job workers in this process; run \"ecolaura worker\" instead (ECOLAURA_WORKERS=off, PostgreSQL only)")
	drainDelay := set.Duration("ECOLAURA_DRAIN_DELAY", "drain-delay", 0, 0, 0, "5s",
		"on SIGTERM, keep accepting connections this long while /readyz answers 503, for load balancers that poll readiness: a `duration`, e.g. 5s on Kubernetes; 0 behind nginx (ECOLAURA_DRAIN_DELAY)")
	idleDrain := set.Duration("ECOLAURA_IDLE_DRAIN_TIMEOUT", "idle-drain-timeout", 0, 0, 0, "5s",
		"then leave idle keep-alive connections to their clients this long before closing them: a `duration` above the proxy's upstream keep-alive timeout, e.g. 5s with deploy/nginx (ECOLAURA_IDLE_DRAIN_TIMEOUT)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json (ECOLAURA_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (ECOLAURA_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	c.CORSOrigins, c.TrustedProxies, c.AllowedHosts = splitList(cors), splitList(proxies), splitList(hosts)
	set.problems(&errs)
	c.RateLimitsOff, c.NoWorkers, c.BehindProxy = *rateOff, *noWorkers, *behindProxy
	c.RequireVerifiedEmail = *requireVerified
	c.DBReadTimeout, c.DrainDelay, c.IdleDrainTimeout = *dbReadTimeout, *drainDelay, *idleDrain
	c.MigrateOnStart, c.ShutdownTimeout, c.JobTimeout, c.DatabaseMaxConns = *life.migrate, *life.shutdown, *life.jobTimeout, *life.maxConns
	if authLimit != "" {
		l, err := parseRateLimit(authLimit)
		if err != nil {
			errs = append(errs, fmt.Errorf("ECOLAURA_AUTH_RATE_LIMIT / --auth-rate-limit: %w", err))
		}
		c.AuthRateLimit = l
	}
	for _, l := range []struct {
		value, name string
		dst         *httpapi.RateLimit
	}{
		{writeLimit, "ECOLAURA_WRITE_RATE_LIMIT / --write-rate-limit", &c.WriteRateLimit},
		{accountFailures, "ECOLAURA_SIGNIN_FAILURES_PER_ACCOUNT / --signin-failures-per-account", &c.SignInFailuresPerAccount},
		{ipFailures, "ECOLAURA_SIGNIN_FAILURES_PER_IP / --signin-failures-per-ip", &c.SignInFailuresPerIP},
	} {
		if l.value == "" {
			continue
		}
		limit, err := parseRateLimit(l.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.name, err))
		}
		*l.dst = limit
	}
	if readLimit != "" {
		l, err := parseRateLimit(readLimit)
		if err != nil {
			errs = append(errs, fmt.Errorf("ECOLAURA_READ_RATE_LIMIT / --read-rate-limit: %w", err))
		}
		c.ReadRateLimit = l
	}
	if n, err := parseBytes(cacheMemory); err != nil || n < 1<<20 {
		errs = append(errs, fmt.Errorf("ECOLAURA_CACHE_MEMORY / --cache-memory: want a size of at least 1MiB like 64MiB, got %q", cacheMemory))
	} else {
		c.CacheMemory = n
	}
	c.Currency = parseCurrencySetting(currency, &errs)
	c.TaxMode = ecolaura.TaxMode(taxMode)
	if !c.TaxMode.Valid() {
		errs = append(errs, fmt.Errorf("ECOLAURA_TAX_MODE: must be inclusive or exclusive, not %q", taxMode))
	}
	if env("ECOLAURA_SHOP_URL") == "" && mail.ShopURL == "http://localhost:8080" && c.PublicURL != "" {
		mail.ShopURL = c.PublicURL // --public-url given as a flag
	}
	c.Mail = *mail
	c.Ops = ops(&errs)
	c.Tracing = tracingConfig{env: env}
	if err := telemetry.Check(env); err != nil {
		errs = append(errs, err)
	}
	c.Warnings = unknownSettings(environ())
	if err := c.validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// validate checks cross-field rules, including production's refusals.
func (c serveConfig) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("ECOLAURA_ADDR / --addr must not be empty"))
	}
	if c.DrainDelay+c.IdleDrainTimeout >= c.ShutdownTimeout {
		errs = append(errs, fmt.Errorf("ECOLAURA_DRAIN_DELAY (%s) plus ECOLAURA_IDLE_DRAIN_TIMEOUT (%s) must be shorter than ECOLAURA_SHUTDOWN_TIMEOUT (%s), which bounds the whole shutdown",
			c.DrainDelay, c.IdleDrainTimeout, c.ShutdownTimeout))
	}
	if c.NoWorkers && c.DatabaseURL == "" {
		errs = append(errs, errors.New("ECOLAURA_WORKERS=off / --no-workers needs ECOLAURA_DATABASE_URL: in memory no other process can run the jobs"))
	}
	switch c.Env {
	case "development", "production":
	default:
		errs = append(errs, fmt.Errorf("ECOLAURA_ENV / --env: want development or production, got %q", c.Env))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		errs = append(errs, errors.New("ECOLAURA_ADMIN_EMAIL and ECOLAURA_ADMIN_PASSWORD must be set together"))
	}
	if c.AdminPassword != "" {
		if err := ecolaura.ValidatePassword(c.AdminPassword, strings.ToLower(strings.TrimSpace(c.AdminEmail))); err != nil {
			errs = append(errs, fmt.Errorf("ECOLAURA_ADMIN_PASSWORD does not meet the password policy: %w", err))
		}
	}
	if c.production() && c.PublicURL == "" && len(c.AllowedHosts) == 0 {
		errs = append(errs, errors.New("ECOLAURA_ENV=production needs ECOLAURA_PUBLIC_URL (https://shop.example.org) or ECOLAURA_ALLOWED_HOSTS: the API answers only localhost otherwise"))
	}
	if c.production() && c.JWTKeyFile == "" {
		errs = append(errs, errors.New("ECOLAURA_ENV=production refuses a generated JWT key: set ECOLAURA_JWT_KEY_FILE to a PEM or JWK file with an Ed25519 key (`ecolaura keygen /etc/ecolaura/jwt.pem` writes one); every replica needs the same"))
	}
	if c.production() && c.DatabaseURL == "" {
		errs = append(errs, errors.New("ECOLAURA_ENV=production refuses in-memory storage (orders and accounts would be lost on exit): set ECOLAURA_DATABASE_URL to a PostgreSQL URL, e.g. postgres://ecolaura@db:5432/ecolaura"))
	}
	if c.BehindProxy && len(c.TrustedProxies) == 0 {
		// Refused in development too: the setting declares the proxy.
		errs = append(errs, errors.New("ECOLAURA_BEHIND_PROXY is set but ECOLAURA_TRUSTED_PROXIES is empty: set ECOLAURA_TRUSTED_PROXIES to the proxy's addresses (e.g. 10.0.0.2 or 10.0.0.0/24), or every client would have the proxy's IP (rate limits, logs) and its X-Forwarded-Proto would be ignored"))
	}
	if _, err := c.paymentProvider(nil); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkLogging(c.LogFormat, c.LogLevel)...)
	errs = append(errs, c.Mail.validate(c.production())...)
	hc := c.httpConfig()
	if err := hc.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("HTTP settings (ECOLAURA_PUBLIC_URL, ECOLAURA_ALLOWED_HOSTS, ECOLAURA_CORS_ORIGINS, ECOLAURA_TRUSTED_PROXIES, rate limits): %w", err))
	}
	return errors.Join(errs...)
}

func (c serveConfig) httpConfig() httpapi.Config {
	hc := httpapi.DefaultConfig()
	hc.CORSOrigins, hc.TrustedProxies = c.CORSOrigins, c.TrustedProxies
	hc.PublicURL, hc.AllowedHosts = c.PublicURL, c.AllowedHosts
	hc.AuthRateLimit, hc.WriteRateLimit, hc.DisableRateLimits = c.AuthRateLimit, c.WriteRateLimit, c.RateLimitsOff
	hc.SignInFailuresPerAccount, hc.SignInFailuresPerIP = c.SignInFailuresPerAccount, c.SignInFailuresPerIP
	hc.ExpensiveReadRateLimit = c.ReadRateLimit
	hc.Currency = c.Currency
	return hc
}

// lifecycle are the settings serve and worker share.
type lifecycle struct {
	migrate    *bool
	shutdown   *time.Duration
	jobTimeout *time.Duration
	maxConns   *int
}

// lifecycleSettings registers ECOLAURA_MIGRATE_ON_START,
// ECOLAURA_SHUTDOWN_TIMEOUT, ECOLAURA_JOB_TIMEOUT and
// ECOLAURA_DATABASE_MAX_CONNS with their flags.
func lifecycleSettings(set *settings) lifecycle {
	return lifecycle{
		migrate: set.Switch("ECOLAURA_MIGRATE_ON_START", "migrate", false,
			"apply database migrations at start; 1/0, true/false or on/off (ECOLAURA_MIGRATE_ON_START)"),
		shutdown: set.Duration("ECOLAURA_SHUTDOWN_TIMEOUT", "shutdown-timeout", 30*time.Second, time.Nanosecond, 0, "30s",
			"how long to drain requests and jobs on SIGTERM, a positive `duration` (ECOLAURA_SHUTDOWN_TIMEOUT)"),
		jobTimeout: set.Duration("ECOLAURA_JOB_TIMEOUT", "job-timeout", postgres.DefaultJobTimeout, time.Second, time.Hour, "1m",
			"bound of one job run, a `duration` from 1s to 1h; a job cut off by a crash runs again after 1.5 times it (ECOLAURA_JOB_TIMEOUT)"),
		maxConns: set.Int("ECOLAURA_DATABASE_MAX_CONNS", "database-max-conns", postgres.DefaultMaxConns, 2, 10_000, maxConnsUsage),
	}
}

// parseBytes parses a size in bytes with an optional binary unit: 1048576,
// 512KiB, 64MiB, 1GiB.
func parseBytes(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	return n * mult, nil
}

// maxConnsUsage documents ECOLAURA_DATABASE_MAX_CONNS for serve and worker.
const maxConnsUsage = "connections of the process's one PostgreSQL pool, `n` from 2 to 10000 (ECOLAURA_DATABASE_MAX_CONNS; River's LISTEN connection comes on top while job workers run)"

// parseCurrencySetting parses ECOLAURA_CURRENCY.
func parseCurrencySetting(s string, errs *[]error) ecolaura.Currency {
	cur, err := ecolaura.ParseCurrency(s)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("ECOLAURA_CURRENCY: unsupported currency %q", s))
	}
	return cur
}

// checkLogging validates ECOLAURA_LOG_FORMAT and ECOLAURA_LOG_LEVEL.
func checkLogging(format, level string) []error {
	var errs []error
	switch format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("ECOLAURA_LOG_FORMAT / --log-format: want text or json, got %q", format))
	}
	switch level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("ECOLAURA_LOG_LEVEL / --log-level: want debug, info, warn or error, got %q", level))
	}
	return errs
}

// parseRateLimit parses RATE/PERIOD[:BURST], e.g. "20/1m:10" or "1000/1s".
// The burst defaults to the rate.
func parseRateLimit(s string) (httpapi.RateLimit, error) {
	bad := fmt.Errorf("want RATE/PERIOD[:BURST] like 20/1m:10, got %q", s)
	rate, rest, ok := strings.Cut(s, "/")
	if !ok {
		return httpapi.RateLimit{}, bad
	}
	period, burst, hasBurst := strings.Cut(rest, ":")
	r, err := strconv.Atoi(rate)
	if err != nil || r <= 0 {
		return httpapi.RateLimit{}, bad
	}
	d, err := time.ParseDuration(period)
	if err != nil || d <= 0 {
		return httpapi.RateLimit{}, bad
	}
	b := r
	if hasBurst {
		b, err = strconv.Atoi(burst)
		if err != nil || b <= 0 {
			return httpapi.RateLimit{}, bad
		}
	}
	return httpapi.RateLimit{Rate: r, Burst: b, Period: d}, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// paymentProvider builds the configured payment provider, validating its
// settings; its errors name the variables, never a secret's value.
func (c serveConfig) paymentProvider(tp trace.TracerProvider) (ports.PaymentProvider, error) {
	var sp ports.PaymentProvider
	switch c.PaymentProvider {
	case ecolaura.ProviderNone, ecolaura.ProviderManual:
		if c.StripeSecretKey != "" || c.StripeWebhookSecret != "" {
			return nil, fmt.Errorf("ECOLAURA_STRIPE_SECRET_KEY / ECOLAURA_STRIPE_WEBHOOK_SECRET are set but ECOLAURA_PAYMENT_PROVIDER is %q: set it to stripe, or unset them", c.PaymentProvider)
		}
	case ecolaura.ProviderStripe:
		p, err := stripe.New(stripe.Config{SecretKey: c.StripeSecretKey, WebhookSecret: c.StripeWebhookSecret, TracerProvider: tp})
		if err != nil {
			return nil, errors.New("ECOLAURA_PAYMENT_PROVIDER=stripe needs ECOLAURA_STRIPE_SECRET_KEY (sk_… or rk_…) and ECOLAURA_STRIPE_WEBHOOK_SECRET (whsec_…)")
		}
		sp = p
	default:
		return nil, fmt.Errorf("ECOLAURA_PAYMENT_PROVIDER: want none, manual or stripe, got %q", c.PaymentProvider)
	}
	return payments.Select(c.PaymentProvider, "", sp)
}
