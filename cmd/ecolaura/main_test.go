package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/postgres"
)

// envOf is an environment of the variables in m; unless m names it, the
// operations listener takes a free port (never the default 9090, which
// another test or process may hold).
func envOf(m map[string]string) getenv {
	return func(k string) string {
		if v, ok := m[k]; ok || k != "ECOLAURA_OPS_ADDR" {
			return v
		}
		return "127.0.0.1:0"
	}
}

func TestLoadServeConfig(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		want  string // substring of the error; "" for success
		check func(t *testing.T, c serveConfig)
	}{
		{name: "defaults", check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, ":8080", c.Addr)
			assert.Equal(t, "development", c.Env)
			assert.Empty(t, c.DatabaseURL)
			assert.Equal(t, 30*time.Second, c.ShutdownTimeout)
			assert.Equal(t, time.Minute, c.JobTimeout)
		}},
		{name: "job timeout", env: map[string]string{"ECOLAURA_JOB_TIMEOUT": "20s"}, check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, 20*time.Second, c.JobTimeout)
		}},
		{name: "job timeout too short", args: []string{"--job-timeout", "10ms"}, want: "ECOLAURA_JOB_TIMEOUT"},
		{name: "read limits", env: map[string]string{"ECOLAURA_READ_RATE_LIMIT": "10/1m:5", "ECOLAURA_DB_READ_TIMEOUT": "500ms"}, check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, httpapi.RateLimit{Rate: 10, Burst: 5, Period: time.Minute}, c.ReadRateLimit)
			assert.Equal(t, 10, c.httpConfig().ExpensiveReadRateLimit.Rate)
			assert.Equal(t, 500*time.Millisecond, c.DBReadTimeout)
		}},
		{name: "read limit defaults", check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, httpapi.RateLimit{Rate: 60, Burst: 20, Period: time.Minute}, c.ReadRateLimit)
			assert.Equal(t, 2*time.Second, c.DBReadTimeout)
		}},
		{name: "bad read limit", env: map[string]string{"ECOLAURA_READ_RATE_LIMIT": "many"}, want: "ECOLAURA_READ_RATE_LIMIT"},
		{name: "bad db read timeout", env: map[string]string{"ECOLAURA_DB_READ_TIMEOUT": "1ms"}, want: "ECOLAURA_DB_READ_TIMEOUT"},
		{name: "cache memory", env: map[string]string{"ECOLAURA_CACHE_MEMORY": "16MiB"}, check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, int64(16<<20), c.CacheMemory)
		}},
		{name: "cache memory default", check: func(t *testing.T, c serveConfig) { assert.Equal(t, int64(64<<20), c.CacheMemory) }},
		{name: "cache memory in bytes", args: []string{"--cache-memory", "2097152"}, check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, int64(2<<20), c.CacheMemory)
		}},
		{name: "cache memory too small", env: map[string]string{"ECOLAURA_CACHE_MEMORY": "10KiB"}, want: "ECOLAURA_CACHE_MEMORY"},
		{name: "cache memory garbage", env: map[string]string{"ECOLAURA_CACHE_MEMORY": "lots"}, want: "ECOLAURA_CACHE_MEMORY"},
		{name: "env and flags", env: map[string]string{"ECOLAURA_ADDR": ":9000", "ECOLAURA_CORS_ORIGINS": "https://a.example, https://b.example", "ECOLAURA_AUTH_RATE_LIMIT": "5/1s:2"},
			args: []string{"--addr", "127.0.0.1:9100", "--trusted-proxies", "10.0.0.0/8"},
			check: func(t *testing.T, c serveConfig) {
				assert.Equal(t, "127.0.0.1:9100", c.Addr, "flags win")
				assert.Equal(t, []string{"https://a.example", "https://b.example"}, c.CORSOrigins)
				assert.Equal(t, []string{"10.0.0.0/8"}, c.TrustedProxies)
				assert.Equal(t, httpapi.RateLimit{Rate: 5, Burst: 2, Period: time.Second}, c.AuthRateLimit)
			}},
		{name: "database pool size", env: map[string]string{"ECOLAURA_DATABASE_URL": "postgres://db/x", "ECOLAURA_DATABASE_MAX_CONNS": "40"},
			check: func(t *testing.T, c serveConfig) { assert.Equal(t, 40, c.DatabaseMaxConns) }},
		{name: "database pool size flag wins", env: map[string]string{"ECOLAURA_DATABASE_MAX_CONNS": "40"}, args: []string{"--database-max-conns", "8"},
			check: func(t *testing.T, c serveConfig) { assert.Equal(t, 8, c.DatabaseMaxConns) }},
		{name: "default database pool size", check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, postgres.DefaultMaxConns, c.DatabaseMaxConns, "the adapter's default")
		}},
		{name: "database pool of one", env: map[string]string{"ECOLAURA_DATABASE_MAX_CONNS": "1"}, want: "ECOLAURA_DATABASE_MAX_CONNS"},
		{name: "bad database pool size", args: []string{"--database-max-conns", "many"}, want: "--database-max-conns"},
		{name: "rate limits off", env: map[string]string{"ECOLAURA_RATE_LIMITS": "off"}, check: func(t *testing.T, c serveConfig) { assert.True(t, c.RateLimitsOff) }},
		{name: "workers off on postgres", env: map[string]string{"ECOLAURA_WORKERS": "off", "ECOLAURA_DATABASE_URL": "postgres://db/x"}, check: func(t *testing.T, c serveConfig) { assert.True(t, c.NoWorkers) }},
		{name: "workers off in memory", env: map[string]string{"ECOLAURA_WORKERS": "off"}, want: "needs ECOLAURA_DATABASE_URL"},
		{name: "production refuses a generated key", env: map[string]string{"ECOLAURA_ENV": "production"}, want: "refuses a generated JWT key"},
		{name: "production with a key file", env: production(map[string]string{"ECOLAURA_PUBLIC_URL": "https://shop.example.org"})},
		{name: "production with allowed hosts", env: production(map[string]string{"ECOLAURA_ALLOWED_HOSTS": "shop.example.org"})},
		{name: "production needs a real mailer", env: without(production(map[string]string{"ECOLAURA_PUBLIC_URL": "https://shop.example.org"}), "ECOLAURA_SMTP_URL"),
			want: "ECOLAURA_ENV=production needs a real mailer"},
		{name: "production needs a secret key", env: without(production(map[string]string{"ECOLAURA_PUBLIC_URL": "https://shop.example.org"}), "ECOLAURA_SECRET_KEY"),
			want: "ECOLAURA_ENV=production needs ECOLAURA_SECRET_KEY"},
		{name: "a short secret key", env: map[string]string{"ECOLAURA_SECRET_KEY": "too-short"}, want: "ECOLAURA_SECRET_KEY must be at least 32 bytes"},
		{name: "SMTP without a sender", env: map[string]string{"ECOLAURA_SMTP_URL": "smtp://mail.example.org"}, want: "ECOLAURA_MAIL_FROM"},
		{name: "mail settings", env: map[string]string{"ECOLAURA_SMTP_URL": "smtps://u:p@mail.example.org", "ECOLAURA_MAIL_FROM": "Shop <shop@example.org>",
			"ECOLAURA_PUBLIC_URL": "https://shop.example.org", "ECOLAURA_SUPPORT_EMAIL": "help@example.org", "ECOLAURA_REQUIRE_VERIFIED_EMAIL": "true"},
			check: func(t *testing.T, c serveConfig) {
				assert.Equal(t, "https://shop.example.org", c.Mail.ShopURL, "links start with the public URL by default")
				assert.Equal(t, "help@example.org", c.Mail.SupportEmail)
				assert.True(t, c.RequireVerifiedEmail)
			}},
		{name: "production needs a public URL or allowed hosts", env: map[string]string{"ECOLAURA_ENV": "production", "ECOLAURA_JWT_KEY_FILE": "/etc/ecolaura/key.pem"}, want: "ECOLAURA_PUBLIC_URL"},
		{name: "public URL, hosts and sign-in limits", env: map[string]string{
			"ECOLAURA_PUBLIC_URL": "https://shop.example.org", "ECOLAURA_ALLOWED_HOSTS": "shop.example.org, .example.net",
			"ECOLAURA_SIGNIN_FAILURES_PER_ACCOUNT": "1/10m:3"}, args: []string{"--signin-failures-per-ip", "50/1h"},
			check: func(t *testing.T, c serveConfig) {
				assert.Equal(t, "https://shop.example.org", c.PublicURL)
				assert.Equal(t, []string{"shop.example.org", ".example.net"}, c.AllowedHosts)
				assert.Equal(t, httpapi.RateLimit{Rate: 1, Burst: 3, Period: 10 * time.Minute}, c.SignInFailuresPerAccount)
				assert.Equal(t, httpapi.RateLimit{Rate: 50, Burst: 50, Period: time.Hour}, c.SignInFailuresPerIP)
				hc := c.httpConfig()
				assert.Equal(t, c.PublicURL, hc.PublicURL)
				assert.Equal(t, c.AllowedHosts, hc.AllowedHosts)
				assert.Equal(t, c.SignInFailuresPerAccount, hc.SignInFailuresPerAccount)
				assert.Equal(t, c.SignInFailuresPerIP, hc.SignInFailuresPerIP)
			}},
		{name: "default sign-in limits", check: func(t *testing.T, c serveConfig) {
			assert.Equal(t, httpapi.RateLimit{Rate: 120, Burst: 120, Period: time.Minute}, c.AuthRateLimit)
			assert.Equal(t, httpapi.RateLimit{Rate: 1, Burst: 5, Period: 15 * time.Minute}, c.SignInFailuresPerAccount)
			assert.Equal(t, httpapi.RateLimit{Rate: 20, Burst: 20, Period: 15 * time.Minute}, c.SignInFailuresPerIP)
		}},
		{name: "bad public URL", env: map[string]string{"ECOLAURA_PUBLIC_URL": "shop.example.org"}, want: "public URL"},
		{name: "wildcard allowed host", env: map[string]string{"ECOLAURA_ALLOWED_HOSTS": "*"}, want: "allowed host"},
		{name: "bad sign-in limit", env: map[string]string{"ECOLAURA_SIGNIN_FAILURES_PER_IP": "many"}, want: "ECOLAURA_SIGNIN_FAILURES_PER_IP"},
		{name: "unknown env", env: map[string]string{"ECOLAURA_ENV": "staging"}, want: "want development or production"},
		{name: "admin email without password", env: map[string]string{"ECOLAURA_ADMIN_EMAIL": "a@example.org"}, want: "must be set together"},
		{name: "weak admin password", env: map[string]string{"ECOLAURA_ADMIN_EMAIL": "a@example.org", "ECOLAURA_ADMIN_PASSWORD": "short"}, want: "password policy"},
		{name: "bad rate limit", env: map[string]string{"ECOLAURA_WRITE_RATE_LIMIT": "lots"}, want: "ECOLAURA_WRITE_RATE_LIMIT"},
		{name: "bad CORS origin", env: map[string]string{"ECOLAURA_CORS_ORIGINS": "*"}, want: "CORS"},
		{name: "bad proxy", args: []string{"--trusted-proxies", "nope"}, want: "trusted proxy"},
		{name: "bad migrate flag", env: map[string]string{"ECOLAURA_MIGRATE_ON_START": "sometimes"}, want: "ECOLAURA_MIGRATE_ON_START"},
		{name: "bad shutdown timeout", env: map[string]string{"ECOLAURA_SHUTDOWN_TIMEOUT": "-1s"}, want: "ECOLAURA_SHUTDOWN_TIMEOUT"},
		{name: "bad currency", env: map[string]string{"ECOLAURA_CURRENCY": "XXX"}, want: "ECOLAURA_CURRENCY"},
		{name: "bad tax mode", env: map[string]string{"ECOLAURA_TAX_MODE": "vat"}, want: "ECOLAURA_TAX_MODE"},
		{name: "unknown payment provider", env: map[string]string{"ECOLAURA_PAYMENT_PROVIDER": "paypal"}, want: "ECOLAURA_PAYMENT_PROVIDER"},
		{name: "stripe without keys", env: map[string]string{"ECOLAURA_PAYMENT_PROVIDER": "stripe", "ECOLAURA_STRIPE_SECRET_KEY": "pk_live_notsecret"}, want: "ECOLAURA_STRIPE_SECRET_KEY"},
		{name: "stripe keys without stripe", env: map[string]string{"ECOLAURA_STRIPE_WEBHOOK_SECRET": "whsec_topsecret"}, want: "ECOLAURA_PAYMENT_PROVIDER"},
		{name: "drain settings", env: map[string]string{"ECOLAURA_DRAIN_DELAY": "5s"}, args: []string{"--idle-drain-timeout", "6s"},
			check: func(t *testing.T, c serveConfig) {
				assert.Equal(t, 5*time.Second, c.DrainDelay)
				assert.Equal(t, 6*time.Second, c.IdleDrainTimeout)
			}},
		{name: "drain defaults", check: func(t *testing.T, c serveConfig) {
			assert.Zero(t, c.DrainDelay, "no delay: a refused connection is retried by nginx at once")
			assert.Zero(t, c.IdleDrainTimeout, "idle connections close at once, as before")
		}},
		{name: "negative drain delay", env: map[string]string{"ECOLAURA_DRAIN_DELAY": "-1s"}, want: "ECOLAURA_DRAIN_DELAY"},
		{name: "bad idle drain timeout", env: map[string]string{"ECOLAURA_IDLE_DRAIN_TIMEOUT": "soon"}, want: "ECOLAURA_IDLE_DRAIN_TIMEOUT"},
		{name: "drain longer than the shutdown timeout", env: map[string]string{"ECOLAURA_DRAIN_DELAY": "20s", "ECOLAURA_IDLE_DRAIN_TIMEOUT": "10s"},
			want: "must be shorter than ECOLAURA_SHUTDOWN_TIMEOUT"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := loadServeConfig(tc.args, envOf(tc.env), fs)
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseRateLimit(t *testing.T) {
	for in, want := range map[string]httpapi.RateLimit{
		"20/1m:10": {Rate: 20, Burst: 10, Period: time.Minute},
		"1000/1s":  {Rate: 1000, Burst: 1000, Period: time.Second},
	} {
		got, err := parseRateLimit(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "20", "20/", "x/1m", "20/1m:0", "-1/1m", "20/0s", "20/1m:x"} {
		_, err := parseRateLimit(in)
		assert.Error(t, err, in)
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, 2, "", "Usage: ecolaura"},
		{"help", []string{"--help"}, 0, "Commands:", ""},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "ecolaura dev", ""},
		{"version help", []string{"version", "--help"}, 0, "", "Usage: ecolaura version"},
		{"--version", []string{"--version"}, 0, "ecolaura dev (", ""},
		{"keygen help", []string{"keygen", "--help"}, 0, "", "Usage: ecolaura keygen"},
		{"healthcheck help", []string{"healthcheck", "--help"}, 0, "", "Usage: ecolaura healthcheck"},
		{"serve help", []string{"serve", "--help"}, 0, "", "ECOLAURA_ADDR"},
		{"serve bad config", []string{"serve", "--env", "production"}, 2, "", "ECOLAURA_JWT_KEY_FILE"},
		{"migrate help", []string{"migrate", "--help"}, 0, "", "Usage: ecolaura migrate"},
		{"migrate without action", []string{"migrate"}, 2, "", "Usage: ecolaura migrate"},
		{"migrate bad action", []string{"migrate", "sideways"}, 2, "", "unknown action"},
		{"migrate without URL", []string{"migrate", "up"}, 2, "", "ECOLAURA_DATABASE_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, envOf(nil), &out, &errOut)
			assert.Equal(t, tc.code, code, "stderr: %s", errOut.String())
			if tc.stdout != "" {
				assert.Contains(t, out.String(), tc.stdout)
			}
			if tc.stderr != "" {
				assert.Contains(t, errOut.String(), tc.stderr)
			}
		})
	}
}

func TestServeInProcessStartsAndStops(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(nil), fs)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuf
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, &logs, ready) }()
	select {
	case addr := <-ready:
		assert.NotEmpty(t, addr)
	case err := <-done:
		t.Fatalf("server ended early: %v\n%s", err, logs.String())
	}
	cancel()
	require.NoError(t, <-done)
	first, _, _ := strings.Cut(logs.String(), "\n")
	assert.Contains(t, first, "in-memory", "the first log line says how the server runs")
	assert.Contains(t, logs.String(), "http server stopped")
}

// production returns the settings production needs, plus extra.
func production(extra map[string]string) map[string]string {
	m := map[string]string{"ECOLAURA_ENV": "production", "ECOLAURA_JWT_KEY_FILE": "/etc/ecolaura/key.pem", "ECOLAURA_DATABASE_URL": "postgres://ecolaura@db/ecolaura",
		"ECOLAURA_SMTP_URL": "smtp://shop:pw@mail.example.org:587", "ECOLAURA_MAIL_FROM": "Shop <shop@example.org>",
		"ECOLAURA_SECRET_KEY": "0123456789abcdef0123456789abcdef"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// without returns m without key.
func without(m map[string]string, key string) map[string]string {
	delete(m, key)
	return m
}

func TestBadSMTPURLHidesItsPassword(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := loadServeConfig(nil, envOf(map[string]string{
		"ECOLAURA_SMTP_URL": "smtp://u:hunter2-pw@mail.example.org?tls=maybe", "ECOLAURA_MAIL_FROM": "shop@example.org"}), fs)
	require.ErrorContains(t, err, "ECOLAURA_SMTP_URL")
	assert.NotContains(t, err.Error(), "hunter2")
}
