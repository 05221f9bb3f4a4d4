// Package porttest holds the conformance suites that every implementation of
// the storage, cache and job ports must pass: the memory adapter, the
// PostgreSQL and Redis adapters, and any adapter an SDK user writes.
//
// Run a suite from an ordinary test:
//
//	func TestConformance(t *testing.T) {
//		porttest.ProductStore(t, func(t *testing.T, jobs ports.JobHandler) ports.Database {
//			return newMyDatabase(t, jobs) // closed in t.Cleanup
//		})
//	}
//
// The suites are backend-neutral: every subtest uses its own random IDs,
// emails, categories and keys, so they also pass on a shared database that
// already holds data, and they never assert how fast something happens.
// Waiting for asynchronous work (job delivery, TTL expiry, rate-limit refill)
// is a bounded poll whose bound, [Liveness], is a liveness limit, not a speed
// target.
//
// The suites read the semantics from the port documentation in package
// ports; a failure names the property that was broken.
package porttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/google/uuid"
	"testing"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Liveness bounds every wait for asynchronous work (a committed job to be
// delivered, a TTL to expire, a rate limit to refill). It is generous on
// purpose: it only turns a hang into a failure.
var Liveness = 30 * time.Second

// pollEvery is how often the bounded polls look again.
const pollEvery = 10 * time.Millisecond

// DatabaseFactory returns a ready Database for one suite run and arranges its
// clean-up with t.Cleanup. Every job committed through a [ports.Tx] of the
// returned Database must eventually be delivered to jobs (asynchronously is
// fine), at least once, with retries when jobs returns an error. Jobs of other
// Databases the factory returned need not (and should not) reach jobs. The
// Database may share its backend with other runs: the suites use random data.
type DatabaseFactory func(t *testing.T, jobs ports.JobHandler) ports.Database

// NewID returns a fresh UUIDv7 (RFC 9562) in canonical lower-case form.
func NewID() ecolaura.ID { return ecolaura.ID(uuid.Must(uuid.NewV7()).String()) }

// Now returns the current UTC time truncated to microseconds, as stored by
// every adapter.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// RandomToken returns prefix followed by 12 random lower-case hex digits.
func RandomToken(prefix string) string { return prefix + randomHex(6) }

// randomHex returns n random bytes in lower-case hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// UniqueCategory returns a valid category slug that no other test uses.
func UniqueCategory() string { return RandomToken("pt-") }

// NewProduct returns a valid product with a fresh ID in category: price 9.99
// EUR, 10 in stock, metrics (1.5 kg CO2e, recyclable, 40 % recycled content,
// FSC) and the score they give, created now with Version 1. Options change
// it before it is returned; the result is not stored.
func NewProduct(category string, opts ...func(*ecolaura.Product)) ecolaura.Product {
	now := Now()
	rc := 40
	p := ecolaura.Product{
		ID:          NewID(),
		Name:        "Porttest bamboo brush",
		Description: "A brush made for the conformance suite.",
		Category:    category,
		Price:       ecolaura.NewMoney(999, ecolaura.DefaultCurrency),
		Stock:       10,
		Metrics: &ecolaura.SustainabilityMetrics{
			CarbonFootprint: 1500,
			Recyclable:      true,
			RecycledContent: &rc,
			Certifications:  []ecolaura.Certification{ecolaura.CertFSC},
		},
		CreatedAt: now,
		UpdatedAt: now,
		Version:   1,
	}
	p.Rescore()
	for _, o := range opts {
		o(&p)
	}
	return p
}

// NewUser returns a valid customer with a fresh ID and a unique normalised
// email, created now with Version 1. The result is not stored.
func NewUser() ecolaura.User {
	now := Now()
	id := NewID()
	return ecolaura.User{
		ID:           id,
		Email:        RandomToken("porttest-") + "@example.org",
		Name:         "Porttest User",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		Role:         ecolaura.RoleCustomer,
		CreatedAt:    now,
		UpdatedAt:    now,
		Version:      1,

		PasswordChangedAt: now,
	}
}

// Line returns an order line buying qty units of p at its current price and
// footprint.
func Line(p ecolaura.Product, qty int) ecolaura.OrderLine {
	fp, _ := p.Footprint()
	return ecolaura.OrderLine{
		ProductID:     p.ID,
		Name:          p.Name,
		UnitPrice:     p.Price,
		Quantity:      qty,
		Total:         ecolaura.NewMoney(p.Price.Amount*int64(qty), p.Price.Currency),
		UnitFootprint: fp,
	}
}

// NewOrder returns a pending order of userID with a fresh ID and the given
// lines, totals computed, created now with Version 1. The result is not
// stored. The user and the products of the lines must exist when it is
// (stores may enforce foreign keys).
func NewOrder(userID ecolaura.ID, lines ...ecolaura.OrderLine) ecolaura.Order {
	now := Now()
	sub := ecolaura.NewMoney(0, ecolaura.DefaultCurrency)
	var fp ecolaura.CO2e
	for _, l := range lines {
		sub.Amount += l.Total.Amount
		fp += l.UnitFootprint * ecolaura.CO2e(l.Quantity)
	}
	return ecolaura.Order{
		ID:        NewID(),
		UserID:    userID,
		Status:    ecolaura.StatusPending,
		Lines:     append([]ecolaura.OrderLine(nil), lines...),
		Subtotal:  sub,
		Total:     sub,
		Footprint: fp,
		CreatedAt: now,
		UpdatedAt: now,
		Version:   1,
	}
}

// NewRefreshToken returns a refresh token of userID in family familyID with a
// fresh ID and a unique hash, issued now and expiring in 14 days. The result
// is not stored; the user must exist when it is.
func NewRefreshToken(userID, familyID ecolaura.ID) ecolaura.RefreshToken {
	now := Now()
	return ecolaura.RefreshToken{
		ID:        NewID(),
		FamilyID:  familyID,
		UserID:    userID,
		Hash:      randomHex(32),
		IssuedAt:  now,
		ExpiresAt: now.Add(14 * 24 * time.Hour),
	}
}

// ctx returns a context cancelled when the test ends.
func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

// NewAccountToken returns an account token of userID for purpose with a
// fresh ID and a unique hash, created now and expiring after
// ecolaura.AccountTokenTTL. The result is not stored; the user must exist
// when it is.
func NewAccountToken(userID ecolaura.ID, purpose ecolaura.TokenPurpose) ecolaura.AccountToken {
	now := Now()
	return ecolaura.AccountToken{
		ID:        NewID(),
		UserID:    userID,
		Purpose:   purpose,
		Hash:      randomHex(32),
		Email:     RandomToken("token-") + "@example.org",
		CreatedAt: now,
		ExpiresAt: now.Add(ecolaura.AccountTokenTTL),
	}
}
