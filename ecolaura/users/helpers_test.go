package users_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
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
	db       *storetest.DB
	clock    *memory.ManualClock
	ids      *memory.SequentialIDs
	hasher   *countingHasher
	issuer   *jwt.Issuer
	verifier *jwt.Verifier
	svc      *users.Service
	// outbox receives what mailer sends; jobs are the jobs committed so
	// far, not yet run (deliver runs them).
	outbox *mail.Recorder
	mailer *users.AccountMailer
	jobs   *jobCapture
	// survivor is the staff account left by a round of TestLastStaff….
	survivor ecolaura.ID
}

// jobCapture is the job handler of an env's database: it keeps the jobs,
// so that a test runs them when and in the order it wants.
type jobCapture struct {
	mu   sync.Mutex
	jobs []ports.Job
}

func (c *jobCapture) HandleJob(_ context.Context, j ports.Job) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobs = append(c.jobs, j)
	return nil
}

// pending waits for the committed jobs to reach the capture and returns
// them, forgetting them.
func (e *env) pending(t testing.TB) []ports.Job {
	t.Helper()
	e.db.WaitJobs(t)
	e.jobs.mu.Lock()
	defer e.jobs.mu.Unlock()
	out := e.jobs.jobs
	e.jobs.jobs = nil
	return out
}

// deliver runs every pending job through the account mailer.
func (e *env) deliver(t testing.TB) {
	t.Helper()
	for _, j := range e.pending(t) {
		require.NoError(t, e.mailer.HandleJob(context.Background(), j), "job %s", j.Kind)
	}
}

// tokenIn returns the token of the link in the newest message to to.
func (e *env) tokenIn(t testing.TB, to string) string {
	t.Helper()
	msgs := e.outbox.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To != to {
			continue
		}
		m := tokenPattern.FindStringSubmatch(msgs[i].Text)
		require.NotNil(t, m, "no link in %q", msgs[i].Text)
		return m[1]
	}
	t.Fatalf("no message to %s", to)
	return ""
}

var tokenPattern = regexp.MustCompile(`\?token=([A-Za-z0-9_-]{43})`)

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
		outbox: mail.NewRecorder(),
		jobs:   &jobCapture{},
	}
	e.db.StartJobs(t, e.jobs)
	tpl, err := mail.DefaultTemplates()
	require.NoError(t, err)
	n, err := notify.New(tpl, e.outbox, notify.Config{Shop: notify.Shop{Name: "Ecolaura", URL: "https://shop.example.org"}})
	require.NoError(t, err)
	e.mailer, err = users.NewAccountMailer(e.db, n, e.clock, users.WithTokenKey([]byte("0123456789abcdef0123456789abcdef")))
	require.NoError(t, err)
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
