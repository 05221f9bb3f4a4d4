package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProductionRefusals: ECOLAURA_ENV=production refuses each unsafe
// setting with a message naming the variable and the fix, and `serve`
// exits 2 on it before starting anything.
func TestProductionRefusals(t *testing.T) {
	ok := func() map[string]string {
		return production(map[string]string{"ECOLAURA_PUBLIC_URL": "https://shop.example.org"})
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the one refusal; none: the start is allowed
	}{
		{name: "safe production settings", env: ok()},
		{name: "memory storage", env: without(ok(), "ECOLAURA_DATABASE_URL"),
			want: []string{"ECOLAURA_ENV=production refuses in-memory storage", "set ECOLAURA_DATABASE_URL to a PostgreSQL URL"}},
		{name: "log mailer", env: without(ok(), "ECOLAURA_SMTP_URL"),
			want: []string{"ECOLAURA_ENV=production needs a real mailer", "set ECOLAURA_SMTP_URL (smtp://user:pass@host:587) and ECOLAURA_MAIL_FROM"}},
		{name: "generated signing key", env: without(ok(), "ECOLAURA_JWT_KEY_FILE"),
			want: []string{"ECOLAURA_ENV=production refuses a generated JWT key", "set ECOLAURA_JWT_KEY_FILE", "ecolaura keygen"}},
		{name: "development link key", env: without(ok(), "ECOLAURA_SECRET_KEY"),
			want: []string{"ECOLAURA_ENV=production needs ECOLAURA_SECRET_KEY", "openssl rand -base64 32"}},
		{name: "behind a proxy without trusted proxies", env: with(ok(), "ECOLAURA_BEHIND_PROXY", "true"),
			want: []string{"ECOLAURA_BEHIND_PROXY is set but ECOLAURA_TRUSTED_PROXIES is empty", "set ECOLAURA_TRUSTED_PROXIES to the proxy's addresses"}},
		{name: "behind a proxy with trusted proxies", env: with(with(ok(), "ECOLAURA_BEHIND_PROXY", "on"), "ECOLAURA_TRUSTED_PROXIES", "10.0.0.2")},
		{name: "no public URL or allowed hosts", env: without(ok(), "ECOLAURA_PUBLIC_URL"),
			want: []string{"ECOLAURA_ENV=production needs ECOLAURA_PUBLIC_URL", "or ECOLAURA_ALLOWED_HOSTS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err := loadServeConfig(nil, envOf(tt.env), fs)
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Len(t, strings.Split(err.Error(), "\n"), 1, "one refusal: %v", err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(context.Background(), []string{"serve"}, envOf(tt.env), &out, &errOut), "a configuration error exits 2")
			assert.Contains(t, errOut.String(), tt.want[0])
		})
	}
	t.Run("unknown trace exporter", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"serve"}, envOf(map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}), &out, &errOut)
		assert.Equal(t, 2, code, "an OTEL_* setting tracing would refuse is a configuration error")
		assert.Contains(t, errOut.String(), "OTEL_TRACES_EXPORTER")
		code = run(context.Background(), []string{"worker"}, envOf(map[string]string{"ECOLAURA_DATABASE_URL": "postgres://db/x", "OTEL_TRACES_EXPORTER": "zipkin"}), &out, &errOut)
		assert.Equal(t, 2, code)
	})
	t.Run("behind a proxy in development", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"serve", "--behind-proxy"}, envOf(nil), &out, &errOut)
		assert.Equal(t, 2, code, "the setting declares the proxy: refused in development too")
		assert.Contains(t, errOut.String(), "ECOLAURA_TRUSTED_PROXIES")
	})
}

// TestSwitches: every boolean setting takes 1/0, true/false and on/off in
// any case, from its variable or its flag, and refuses anything else
// naming the variable (or the flag).
func TestSwitches(t *testing.T) {
	db := map[string]string{"ECOLAURA_DATABASE_URL": "postgres://db/x", "ECOLAURA_TRUSTED_PROXIES": "10.0.0.2"}
	switches := []struct {
		variable, flag string
		get            func(serveConfig) bool
		inverse        bool // the setting turns something off (ECOLAURA_RATE_LIMITS=off)
	}{
		{"ECOLAURA_MIGRATE_ON_START", "migrate", func(c serveConfig) bool { return c.MigrateOnStart }, false},
		{"ECOLAURA_REQUIRE_VERIFIED_EMAIL", "require-verified-email", func(c serveConfig) bool { return c.RequireVerifiedEmail }, false},
		{"ECOLAURA_PPROF", "pprof", func(c serveConfig) bool { return c.Ops.PProf }, false},
		{"ECOLAURA_BEHIND_PROXY", "behind-proxy", func(c serveConfig) bool { return c.BehindProxy }, false},
		{"ECOLAURA_RATE_LIMITS", "no-rate-limits", func(c serveConfig) bool { return !c.RateLimitsOff }, true},
		{"ECOLAURA_WORKERS", "no-workers", func(c serveConfig) bool { return !c.NoWorkers }, true},
	}
	values := []struct {
		raw  string
		want bool
		ok   bool
	}{
		{"1", true, true}, {"0", false, true}, {"true", true, true}, {"false", false, true},
		{"on", true, true}, {"off", false, true}, {"TRUE", true, true}, {"Off", false, true}, {" on ", true, true},
		{"yes", false, false}, {"no", false, false}, {"t", false, false}, {"2", false, false}, {"enabled", false, false},
	}
	for _, sw := range switches {
		for _, v := range values {
			t.Run(sw.variable+"="+v.raw, func(t *testing.T) {
				fs := flag.NewFlagSet("serve", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				c, err := loadServeConfig(nil, envOf(with(db, sw.variable, v.raw)), fs)
				if !v.ok {
					require.Error(t, err)
					assert.Regexp(t, `(^|\n)`+sw.variable+`( / --`+sw.flag+`)?: want 1/0, true/false or on/off, got `+regexp.QuoteMeta(strconv.Quote(strings.TrimSpace(v.raw))), err.Error())
					return
				}
				require.NoError(t, err)
				assert.Equal(t, v.want, sw.get(c))
			})
		}
		t.Run("--"+sw.flag, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := loadServeConfig([]string{"--" + sw.flag}, envOf(db), fs)
			require.NoError(t, err)
			assert.Equal(t, !sw.inverse, sw.get(c), "the flag alone means true")
			fs = flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err = loadServeConfig([]string{"--" + sw.flag + "=OFF"}, envOf(db), fs)
			require.NoError(t, err)
			assert.Equal(t, sw.inverse, sw.get(c))
			fs = flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err = loadServeConfig([]string{"--" + sw.flag + "=maybe"}, envOf(db), fs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--"+sw.flag+": want 1/0, true/false or on/off, got \"maybe\"")
		})
	}
}

// TestTypedSettings: durations and counts are typed flags with their
// defaults (the environment's value when set) in --help, and a bad value
// from the variable or the flag names both spellings.
func TestTypedSettings(t *testing.T) {
	help := func(cmd string, env map[string]string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(context.Background(), []string{cmd, "--help"}, envOf(env), &out, &errOut))
		return out.String() + errOut.String()
	}
	serveHelp := help("serve", nil)
	for _, want := range []string{
		"-shutdown-timeout duration", "(default 30s)", "-job-timeout duration", "(default 1m0s)", "-db-read-timeout duration", "(default 2s)",
		"-drain-delay duration", "-database-max-conns n", "(default 20)", "-cache-memory size", `(default "64MiB")`,
		"-migrate\n", "-behind-proxy\n", "-no-workers\n",
	} {
		assert.Contains(t, serveHelp, want)
	}
	assert.Contains(t, help("serve", map[string]string{"ECOLAURA_SHUTDOWN_TIMEOUT": "45s", "ECOLAURA_DATABASE_MAX_CONNS": "12"}), "(default 45s)",
		"the environment's value is the flag's default")
	workerHelp := help("worker", map[string]string{"ECOLAURA_WORKER_CONCURRENCY": "4"})
	assert.Contains(t, workerHelp, "-concurrency n")
	assert.Contains(t, workerHelp, "(default 4)")

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"duration variable", map[string]string{"ECOLAURA_SHUTDOWN_TIMEOUT": "soon"}, nil, `ECOLAURA_SHUTDOWN_TIMEOUT / --shutdown-timeout: want a duration like 30s, got "soon"`},
		{"duration flag", nil, []string{"--shutdown-timeout", "soon"}, `ECOLAURA_SHUTDOWN_TIMEOUT / --shutdown-timeout: want a duration like 30s, got "soon"`},
		{"negative duration", nil, []string{"--shutdown-timeout=-1s"}, "ECOLAURA_SHUTDOWN_TIMEOUT / --shutdown-timeout: want a duration of at least"},
		{"duration out of range", map[string]string{"ECOLAURA_JOB_TIMEOUT": "2h"}, nil, `ECOLAURA_JOB_TIMEOUT / --job-timeout: want a duration from 1s to 1h0m0s like 1m, got "2h"`},
		{"negative drain", map[string]string{"ECOLAURA_DRAIN_DELAY": "-5s"}, nil, "ECOLAURA_DRAIN_DELAY / --drain-delay"},
		{"count variable", map[string]string{"ECOLAURA_DATABASE_MAX_CONNS": "lots"}, nil, `ECOLAURA_DATABASE_MAX_CONNS / --database-max-conns: want 2 to 10000, got "lots"`},
		{"count flag", nil, []string{"--database-max-conns", "1"}, `ECOLAURA_DATABASE_MAX_CONNS / --database-max-conns: want 2 to 10000, got "1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			_, err := loadServeConfig(tt.args, envOf(tt.env), fs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("worker", func(t *testing.T) {
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c, err := loadWorkerConfig([]string{"--concurrency", "3", "--shutdown-timeout", "5s"}, envOf(map[string]string{"ECOLAURA_DATABASE_URL": "postgres://db/x"}), fs)
		require.NoError(t, err)
		assert.Equal(t, 3, c.Concurrency)
		assert.Equal(t, 5*time.Second, c.ShutdownTimeout)
	})
}

// TestUnknownSettings: an ECOLAURA_* variable no command reads is
// reported, with the closest known name when it looks like a typo; the
// tests' own variables and other prefixes are not; values are never
// quoted.
func TestUnknownSettings(t *testing.T) {
	tests := []struct {
		variable string
		want     string // "" : not reported
	}{
		{"ECOLAURA_DATABSE_URL", "ECOLAURA_DATABSE_URL is not a setting and is ignored: did you mean ECOLAURA_DATABASE_URL?"},
		{"ECOLAURA_REDIS_ULR", "did you mean ECOLAURA_REDIS_URL?"},
		{"ECOLAURA_LOGLEVEL", "did you mean ECOLAURA_LOG_LEVEL?"},
		{"ECOLAURA_JWT_KEYFILE", "did you mean ECOLAURA_JWT_KEY_FILE?"},
		{"ECOLAURA_SMTP_URI", "did you mean ECOLAURA_SMTP_URL?"},
		{"ECOLAURA_TRUSTED_PROXY", "did you mean ECOLAURA_TRUSTED_PROXIES?"},
		{"ECOLAURA_WORKER", "did you mean ECOLAURA_WORKERS?"},
		{"ECOLAURA_STRIPE_KEY", "ECOLAURA_STRIPE_KEY is not a setting and is ignored (the settings are listed by `ecolaura serve --help` and in the README)"},
		{"ECOLAURA_COLOUR_SCHEME", "ECOLAURA_COLOUR_SCHEME is not a setting and is ignored (the settings"},
		{"ECOLAURA_DATABASE_URL", ""},
		{"ECOLAURA_BEHIND_PROXY", ""},
		{"ECOLAURA_TEST_DATABASE_URL", ""},
		{"ECOLAURA_TEST_ANYTHING", ""},
		{"ECOLAURA_REQUIRE_SERVICES", ""},
		{"ECOLAURA_MAILPIT", ""},
		{"ECOLAURA_STRIPE_MOCK", ""},
		{"DATABASE_URL", ""},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			got := unknownSettings([]string{tt.variable + "=s3cret-value"})
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			assert.Contains(t, got[0], tt.want)
			assert.NotContains(t, got[0], "s3cret-value")
		})
	}
	assert.Equal(t, []string{
		"ECOLAURA_ADRR is not a setting and is ignored: did you mean ECOLAURA_ADDR?",
		"ECOLAURA_ENVIRONMENT is not a setting and is ignored (the settings are listed by `ecolaura serve --help` and in the README)",
	}, unknownSettings([]string{"PATH=/bin", "ECOLAURA_ADRR=:8080", "ECOLAURA_ENV=production", "ECOLAURA_ENVIRONMENT=production"}), "in order")
}

// TestUnknownSettingsAreLoggedAtStart: serve and worker log the warnings
// as their first lines.
func TestUnknownSettingsAreLoggedAtStart(t *testing.T) {
	saved := environ
	environ = func() []string {
		return []string{"ECOLAURA_DATABSE_URL=postgres://x:pw@db/x", "ECOLAURA_ADDR=127.0.0.1:0"}
	}
	t.Cleanup(func() { environ = saved })

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(nil), fs)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuf
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, &logs, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("server ended early: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start\n%s", logs.String())
	}
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, logs.String(), `level=WARN msg="ECOLAURA_DATABSE_URL is not a setting and is ignored: did you mean ECOLAURA_DATABASE_URL?"`)
	assert.NotContains(t, logs.String(), "pw@db")

	fs = flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	wc, err := loadWorkerConfig(nil, envOf(map[string]string{"ECOLAURA_DATABASE_URL": "postgres://db/x"}), fs)
	require.NoError(t, err)
	assert.Equal(t, []string{"ECOLAURA_DATABSE_URL is not a setting and is ignored: did you mean ECOLAURA_DATABASE_URL?"}, wc.Warnings)
}

// TestKnownSettingsAreTheSettingsRead: the list unknown variables are
// checked against is exactly the set of variables the commands read.
func TestKnownSettingsAreTheSettingsRead(t *testing.T) {
	read := settingsRead(t)
	known := slices.Clone(knownSettings)
	slices.Sort(known)
	slices.Sort(read)
	assert.Equal(t, read, known)
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "", 3}, {"DATABSE", "DATABASE", 1},
		{"ULR", "URL", 1}, {"kitten", "sitting", 3}, {"LOGLEVEL", "LOG_LEVEL", 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, editDistance(tt.a, tt.b), "%s / %s", tt.a, tt.b)
		assert.Equal(t, tt.want, editDistance(tt.b, tt.a), "symmetric: %s / %s", tt.b, tt.a)
	}
}

// with returns a copy of m with key set to value.
func with(m map[string]string, key, value string) map[string]string {
	out := map[string]string{key: value}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// TestUnknownSettingsWithConfigurationErrors: a command refused for its
// configuration names the unknown ECOLAURA_* variables too, which are
// often the cause (ECOLAURA_DATABSE_URL set, ECOLAURA_DATABASE_URL asked
// for), never with their values.
func TestUnknownSettingsWithConfigurationErrors(t *testing.T) {
	saved := environ
	environ = func() []string { return []string{"ECOLAURA_DATABSE_URL=postgres://x:pw@db/x"} }
	t.Cleanup(func() { environ = saved })
	const hint = "ECOLAURA_DATABSE_URL is not a setting and is ignored: did you mean ECOLAURA_DATABASE_URL?"
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"worker", []string{"worker"}, nil},
		{"serve in production", []string{"serve"}, map[string]string{"ECOLAURA_ENV": "production"}},
		{"migrate", []string{"migrate", "up"}, nil},
		{"seed", []string{"seed"}, nil},
		{"user", []string{"user", "list"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, envOf(tc.env), &out, &errOut)
			assert.Equal(t, 2, code, "%s", errOut.String())
			assert.Contains(t, errOut.String(), "ECOLAURA_DATABASE_URL", "the configuration error")
			assert.Contains(t, errOut.String(), hint)
			assert.NotContains(t, errOut.String(), "pw@db")
		})
	}
}
