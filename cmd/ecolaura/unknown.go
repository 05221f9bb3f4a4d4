package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// knownSettings are the ECOLAURA_* variables some command reads (the
// README's configuration table lists each; TestKnownSettingsAreDocumented
// keeps the two equal).
var knownSettings = []string{
	"ECOLAURA_ADDR", "ECOLAURA_ADMIN_EMAIL", "ECOLAURA_ADMIN_PASSWORD", "ECOLAURA_ALLOWED_HOSTS", "ECOLAURA_AUTH_RATE_LIMIT",
	"ECOLAURA_BEHIND_PROXY", "ECOLAURA_CACHE_MEMORY", "ECOLAURA_CORS_ORIGINS", "ECOLAURA_CURRENCY", "ECOLAURA_DATABASE_MAX_CONNS",
	"ECOLAURA_DATABASE_URL", "ECOLAURA_DB_READ_TIMEOUT", "ECOLAURA_DRAIN_DELAY", "ECOLAURA_ENV", "ECOLAURA_IDLE_DRAIN_TIMEOUT",
	"ECOLAURA_JOB_TIMEOUT", "ECOLAURA_JWT_ISSUER", "ECOLAURA_JWT_KEY_FILE", "ECOLAURA_LOG_FORMAT", "ECOLAURA_LOG_LEVEL",
	"ECOLAURA_MAIL_FROM", "ECOLAURA_MEDIA_DIR", "ECOLAURA_MIGRATE_ON_START", "ECOLAURA_OPS_ADDR", "ECOLAURA_PAYMENT_PROVIDER",
	"ECOLAURA_PPROF", "ECOLAURA_PUBLIC_URL", "ECOLAURA_RATE_LIMITS", "ECOLAURA_READ_RATE_LIMIT", "ECOLAURA_REDIS_PREFIX",
	"ECOLAURA_REDIS_URL", "ECOLAURA_REQUIRE_VERIFIED_EMAIL", "ECOLAURA_SECRET_KEY", "ECOLAURA_SHOP_NAME", "ECOLAURA_SHOP_URL",
	"ECOLAURA_SHUTDOWN_TIMEOUT", "ECOLAURA_SIGNIN_FAILURES_PER_ACCOUNT", "ECOLAURA_SIGNIN_FAILURES_PER_IP", "ECOLAURA_SMTP_URL",
	"ECOLAURA_STRIPE_SECRET_KEY", "ECOLAURA_STRIPE_WEBHOOK_SECRET", "ECOLAURA_SUPPORT_EMAIL", "ECOLAURA_TAX_MODE",
	"ECOLAURA_TEMPLATES_DIR", "ECOLAURA_TRUSTED_PROXIES", "ECOLAURA_WORKERS", "ECOLAURA_WORKER_CONCURRENCY", "ECOLAURA_WRITE_RATE_LIMIT",
}

// testSettings are the variables of the project's tests and CI
// (internal/testenv), which share the prefix (written without it here, so
// that the README check does not take them for settings): never reported,
// nor is any ECOLAURA_TEST_… variable.
var testSettings = []string{"REQUIRE_SERVICES", "MAILPIT", "STRIPE_MOCK"}

// environ lists the process environment as KEY=value (a variable for
// tests).
var environ = os.Environ

// unknownSettings returns a warning for each ECOLAURA_* variable of
// environ that no command reads, with the closest known name when one is
// near ("ECOLAURA_DATABSE_URL is not a setting and is ignored: did you mean
// ECOLAURA_DATABASE_URL?"), in environ's order. Values are never quoted.
func unknownSettings(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ECOLAURA_") || slices.Contains(knownSettings, name) ||
			slices.Contains(testSettings, strings.TrimPrefix(name, "ECOLAURA_")) || strings.HasPrefix(name, "ECOLAURA_TEST_") {
			continue
		}
		msg := name + " is not a setting and is ignored"
		if s := closestSetting(name); s != "" {
			msg += ": did you mean " + s + "?"
		} else {
			msg += " (the settings are listed by `ecolaura serve --help` and in the README)"
		}
		out = append(out, msg)
	}
	return out
}

// closestSetting is the known name nearest to name by edit distance, when
// it is near enough to be a typo (at most a third of its length, and 4,
// apart); "" otherwise.
func closestSetting(name string) string {
	best, bestDist := "", 0
	for _, k := range knownSettings {
		d := editDistance(name, k)
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	suffix := len(strings.TrimPrefix(name, "ECOLAURA_"))
	if bestDist > min(4, max(1, suffix/3)) {
		return ""
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment: insertions, deletions, substitutions and transpositions of
// neighbours each cost 1) between two ASCII names.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// noteUnknownSettings writes unknownSettings(environ()) to w, one a line:
// a command refused for its configuration names them with its error,
// since a misspelt variable is often the cause (ECOLAURA_DATABSE_URL set,
// ECOLAURA_DATABASE_URL asked for).
func noteUnknownSettings(w io.Writer) {
	for _, msg := range unknownSettings(environ()) {
		fmt.Fprintln(w, msg)
	}
}
