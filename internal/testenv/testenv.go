// Package testenv gives tests their own PostgreSQL database and Redis key
// prefix on the machine's shared services, and decides what happens when a
// service is unreachable: the test skips with a loud message, unless
// ECOLAURA_REQUIRE_SERVICES=1, when it fails.
//
// Every database and key prefix is random and removed in t.Cleanup, so
// parallel packages and reruns never collide and nothing piles up.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Environment variables read by this package.
const (
	EnvDatabaseURL     = "ECOLAURA_TEST_DATABASE_URL"
	EnvRedisURL        = "ECOLAURA_TEST_REDIS_URL"
	EnvRequireServices = "ECOLAURA_REQUIRE_SERVICES"

	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// RequireServices reports whether unreachable services must fail tests.
func RequireServices() bool { return os.Getenv(EnvRequireServices) == "1" }

// Unavailable skips t loudly, or fails it when services are required.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	msg := fmt.Sprintf("!!! %s is unreachable: %v — SKIPPING service test (set %s=1 to make this a failure)", service, err, EnvRequireServices)
	if RequireServices() {
		t.Fatalf("%s is required (%s=1) but unreachable: %v", service, EnvRequireServices, err)
	}
	t.Skip(msg)
}

// RandomName returns prefix followed by 12 random hex digits.
func RandomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// AdminDatabaseURL is the URL of the shared server's maintenance database.
func AdminDatabaseURL() string {
	if v := os.Getenv(EnvDatabaseURL); v != "" {
		return v
	}
	return DefaultDatabaseURL
}

// Postgres creates a fresh, empty database for t and returns its URL. The
// database is dropped (with its connections terminated) when t finishes.
func Postgres(t testing.TB) string {
	t.Helper()
	return PostgresFrom(t, "")
}

// PostgresFrom is Postgres with a copy of the database template (CREATE
// DATABASE … TEMPLATE, which needs no session connected to template)
// instead of an empty database; an empty template means the server's
// default.
func PostgresFrom(t testing.TB, template string) string {
	t.Helper()
	admin := AdminDatabaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		Unavailable(t, "PostgreSQL", err)
	}
	name := RandomName("ecolaura_test_")
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	if _, err := db.ExecContext(ctx, create); err != nil {
		_ = db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		_ = db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns the URL of the shared Redis for tests.
func RedisURL() string {
	if v := os.Getenv(EnvRedisURL); v != "" {
		return v
	}
	return DefaultRedisURL
}

// RedisPrefix returns a random key prefix ("ecolaura-test-<hex>:") for t.
// Callers delete their keys under it in t.Cleanup (see the redis adapter's
// test helpers, which do so with SCAN + DEL).
func RedisPrefix() string {
	return strings.TrimSuffix(RandomName("ecolaura-test-"), "") + ":"
}
