package users_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

var start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// countingHasher wraps a real hasher and records its calls, so tests can
// see which path a login took without timing anything.
type countingHasher struct {
	inner    ports.PasswordHasher
	hashes   atomic.Int64
	verifies atomic.Int64
	mu       sync.Mutex
	encoded  []string // the hashes Verify was called with
}

func (c *countingHasher) Hash(ctx context.Context, password string) (string, error) {
	c.hashes.Add(1)
	return c.inner.Hash(ctx, password)
}

func (c *countingHasher) Verify(ctx context.Context, password, encoded string) (bool, bool, error) {
	c.verifies.Add(1)
	c.mu.Lock()
	c.encoded = append(c.encoded, encoded)
	c.mu.Unlock()
	return c.inner.Verify(ctx, password, encoded)
}

func (c *countingHasher) lastVerified() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.encoded[len(c.encoded)-1]
}

func (c *countingHasher) counts() (hashes, verifies int64) {
	return c.hashes.Load(), c.verifies.Load()
}

var _ ports.PasswordHasher = (*countingHasher)(nil)

type env struct {
	db       ports.Database
	clock    *memory.ManualClock
	ids      *memory.SequentialIDs
	hasher   *countingHasher
	issuer   *jwt.Issuer
	verifier *jwt.Verifier
	svc      *users.Service
}

func newArgon(t testing.TB, modify func(*argon2id.Params)) *argon2id.Hasher {
	t.Helper()
	p := argon2id.DefaultParams()
	if modify != nil {
		modify(&p)
	}
	h, err := argon2id.New(p)
	require.NoError(t, err)
	return h
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv builds the service over a fresh database of store s, the real
// Argon2id hasher (wrapped for counting) and the real JWT issuer.
func newEnv(t testing.TB, s storetest.Store) *env {
	t.Helper()
	e := &env{
		db:     s.Open(t, storetest.JobsConfig{}),
		clock:  memory.NewManualClock(start),
		ids:    memory.NewSequentialIDs(),
		hasher: &countingHasher{inner: newArgon(t, nil)},
	}
	key, err := jwt.GenerateDevelopmentKey(discard())
	require.NoError(t, err)
	keys, err := jwt.NewKeySet(key)
	require.NoError(t, err)
	e.issuer, err = jwt.NewIssuer(jwt.DefaultConfig(), keys, jwt.WithClock(e.clock))
	require.NoError(t, err)
	e.verifier, err = jwt.NewVerifier(jwt.DefaultConfig(), keys, jwt.WithClock(e.clock))
	require.NoError(t, err)
	e.svc = e.newService(t, e.hasher, e.issuer)
	return e
}

func (e *env) newService(t testing.TB, h ports.PasswordHasher, issuer ports.TokenIssuer) *users.Service {
	t.Helper()
	svc, err := users.New(e.db, h, issuer, e.clock, e.ids, users.WithLogger(discard()))
	require.NoError(t, err)
	return svc
}

func (e *env) register(t testing.TB, email, password string) ecolaura.User {
	t.Helper()
	u, err := e.svc.Register(context.Background(), users.RegisterInput{Email: email, Name: "Test User", Password: password})
	require.NoError(t, err)
	return u
}

func (e *env) login(t testing.TB, email, password string) users.TokenPair {
	t.Helper()
	p, err := e.svc.Login(context.Background(), users.Credentials{Email: email, Password: password})
	require.NoError(t, err)
	return p
}
