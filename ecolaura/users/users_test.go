package users_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

const pw = "correct horse battery"

func fieldsOf(t *testing.T, err error) map[string][]string {
	t.Helper()
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	return ve.FieldMessages()
}

// fieldsSorted returns the distinct field names of a *ValidationError, sorted.
func fieldsSorted(t *testing.T, err error) []string {
	t.Helper()
	out := make([]string, 0)
	for f := range fieldsOf(t, err) {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func TestNewRequiresDependencies(t *testing.T) {
	db := memory.NewDatabase()
	h := &countingHasher{}
	var issuer ports.TokenIssuer = fakeIssuer{}
	clock := memory.NewManualClock(start)
	ids := memory.NewSequentialIDs()
	tests := []struct {
		name   string
		db     ports.Database
		hasher ports.PasswordHasher
		tokens ports.TokenIssuer
		clock  ports.Clock
		ids    ports.IDGenerator
		opts   []users.Option
		field  string
	}{
		{"no database", nil, h, issuer, clock, ids, nil, "database"},
		{"no hasher", db, nil, issuer, clock, ids, nil, "hasher"},
		{"no token issuer", db, h, nil, clock, ids, nil, "tokens"},
		{"no clock", db, h, issuer, nil, ids, nil, "clock"},
		{"no ids", db, h, issuer, clock, nil, nil, "ids"},
		{"refresh ttl too short", db, h, issuer, clock, ids, []users.Option{users.WithRefreshTTL(time.Minute)}, "refresh_ttl"},
		{"refresh ttl too long", db, h, issuer, clock, ids, []users.Option{users.WithRefreshTTL(365 * 24 * time.Hour)}, "refresh_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := users.New(tc.db, tc.hasher, tc.tokens, tc.clock, tc.ids, tc.opts...)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a wiring mistake is not invalid user input")
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Fields, 1)
			assert.Equal(t, tc.field, ce.Fields[0].Field)
		})
	}
	_, err := users.New(db, h, issuer, clock, ids)
	require.NoError(t, err)
}

type fakeIssuer struct{}

func (fakeIssuer) Issue(context.Context, ecolaura.Principal) (ports.AccessToken, error) {
	return ports.AccessToken{}, errors.New("unused")
}

func TestRegisterValidation(t *testing.T) { storetest.Run(t, testRegisterValidation) }

func testRegisterValidation(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	tests := []struct {
		name   string
		in     users.RegisterInput
		fields []string
	}{
		{"blank email", users.RegisterInput{Email: "  ", Name: "A", Password: pw}, []string{"email"}},
		{"not an email", users.RegisterInput{Email: "ada", Name: "A", Password: pw}, []string{"email"}},
		{"display name form", users.RegisterInput{Email: "Ada <ada@example.org>", Name: "A", Password: pw}, []string{"email"}},
		{"no domain dot", users.RegisterInput{Email: "ada@localhost", Name: "A", Password: pw}, []string{"email"}},
		{"email too long", users.RegisterInput{Email: strings.Repeat("a", 250) + "@example.org", Name: "A", Password: pw}, []string{"email"}},
		{"blank name", users.RegisterInput{Email: "ada@example.org", Name: "   ", Password: pw}, []string{"name"}},
		{"name too long", users.RegisterInput{Email: "ada@example.org", Name: strings.Repeat("é", 151), Password: pw}, []string{"name"}},
		{"name not UTF-8", users.RegisterInput{Email: "ada@example.org", Name: "\xff\xfe", Password: pw}, []string{"name"}},
		{"password too short", users.RegisterInput{Email: "ada@example.org", Name: "Ada", Password: "123456789"}, []string{"password"}},
		{"password too long", users.RegisterInput{Email: "ada@example.org", Name: "Ada", Password: strings.Repeat("x", 257)}, []string{"password"}},
		{"password is the email", users.RegisterInput{Email: "ada@example.org", Name: "Ada", Password: "ada@example.org"}, []string{"password"}},
		{"password is the email in another case", users.RegisterInput{Email: "Ada@Example.org", Name: "Ada", Password: "ADA@EXAMPLE.ORG"}, []string{"password"}},
		{"everything wrong", users.RegisterInput{Email: "x", Name: "", Password: "short"}, []string{"email", "name", "password"}},
		{"NUL in the name", users.RegisterInput{Email: "ada@example.org", Name: "Ada\x00", Password: pw}, []string{"name"}},
		{"control character in the name", users.RegisterInput{Email: "ada@example.org", Name: "A\u0085da", Password: pw}, []string{"name"}},
		{"NUL in the email", users.RegisterInput{Email: "ada\x00@example.org", Name: "Ada", Password: pw}, []string{"email"}},
		{"C1 control in the email", users.RegisterInput{Email: "a\u0085da@example.org", Name: "Ada", Password: pw}, []string{"email"}},
		{"email not UTF-8", users.RegisterInput{Email: "ad\xffa@example.org", Name: "Ada", Password: pw}, []string{"email"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.fields, fieldsSorted(t, tc.in.Validate()), "Validate reports what Register does")
			_, err := e.svc.Register(context.Background(), tc.in)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
			assert.NotErrorIs(t, err, ecolaura.ErrConflict)
			fields := fieldsOf(t, err)
			for _, f := range tc.fields {
				assert.Contains(t, fields, f)
			}
			assert.Len(t, fields, len(tc.fields))
		})
	}
	hashes, _ := e.hasher.counts()
	assert.Zero(t, hashes, "invalid input is rejected before any hashing")

	// Boundary values are accepted.
	u, err := e.svc.Register(context.Background(), users.RegisterInput{Email: "edge@example.org", Name: strings.Repeat("é", 150), Password: strings.Repeat("x", 10)})
	require.NoError(t, err)
	assert.Equal(t, ecolaura.RoleCustomer, u.Role)
}

func TestRegisterNormalisesAndStoresOnlyAHash(t *testing.T) {
	storetest.Run(t, testRegisterNormalisesAndStoresOnlyAHash)
}

func testRegisterNormalisesAndStoresOnlyAHash(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	u := e.register(t, "  Ada.Lovelace@Example.ORG ", pw)
	assert.Equal(t, "ada.lovelace@example.org", u.Email)
	assert.Equal(t, "Test User", u.Name)
	assert.Equal(t, ecolaura.RoleCustomer, u.Role)
	assert.Equal(t, int64(1), u.Version)
	assert.Equal(t, start, u.CreatedAt)
	stored, err := e.db.Users().Get(context.Background(), u.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$"), stored.PasswordHash)
	assert.NotContains(t, stored.PasswordHash, pw)
}

func TestRegisterDuplicateEmailInAnotherCase(t *testing.T) {
	storetest.Run(t, testRegisterDuplicateEmailInAnotherCase)
}

func testRegisterDuplicateEmailInAnotherCase(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	e.register(t, "ada@example.org", pw)
	_, before := e.hasher.counts()
	hashesBefore, _ := e.hasher.counts()

	_, err := e.svc.Register(context.Background(), users.RegisterInput{Email: "  ADA@Example.Org", Name: "Other", Password: "another password"})
	require.Error(t, err)
	requireEmailTaken(t, err)
	hashes, verifies := e.hasher.counts()
	assert.Equal(t, hashesBefore, hashes, "a taken email costs no hashing")
	assert.Equal(t, before, verifies)
}

func TestRegisterConcurrentSameEmail(t *testing.T) { storetest.Run(t, testRegisterConcurrentSameEmail) }

func testRegisterConcurrentSameEmail(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "race@example.org"
			if i%2 == 1 {
				email = "RACE@example.org"
			}
			_, errs[i] = e.svc.Register(context.Background(), users.RegisterInput{Email: email, Name: "R", Password: pw})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		requireEmailTaken(t, err)
	}
	assert.Equal(t, 1, ok, "exactly one registration wins")
}

// requireEmailTaken asserts err is the conflict of a taken email, matching
// ErrConflict and no other sentinel.
func requireEmailTaken(t *testing.T, err error) {
	t.Helper()
	var ce *ecolaura.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "email", ce.Field)
	assert.ErrorIs(t, err, ecolaura.ErrConflict)
	assert.NotErrorIs(t, err, ecolaura.ErrInvalid, "one error matches one sentinel")
}

func TestLoginIssuesVerifiableTokens(t *testing.T) { storetest.Run(t, testLoginIssuesVerifiableTokens) }

func testLoginIssuesVerifiableTokens(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	u := e.register(t, "ada@example.org", pw)
	pair := e.login(t, "  ADA@example.org", pw)

	p, err := e.verifier.Verify(context.Background(), pair.AccessToken)
	require.NoError(t, err)
	rt0, err := e.db.RefreshTokens().GetByHash(context.Background(), users.HashRefreshToken(pair.RefreshToken))
	require.NoError(t, err)
	want := u.Principal()
	want.SessionID = rt0.FamilyID
	assert.Equal(t, want, p, "the access token names the session (the refresh-token family)")
	assert.Equal(t, start.Add(15*time.Minute), pair.AccessExpiresAt)
	assert.Equal(t, start.Add(14*24*time.Hour), pair.RefreshExpiresAt)

	// The refresh token is 256 random bits in base64url, stored only as its hex SHA-256.
	assert.Len(t, pair.RefreshToken, 43)
	sum := sha256.Sum256([]byte(pair.RefreshToken))
	assert.Equal(t, hex.EncodeToString(sum[:]), users.HashRefreshToken(pair.RefreshToken))
	rt, err := e.db.RefreshTokens().GetByHash(context.Background(), users.HashRefreshToken(pair.RefreshToken))
	require.NoError(t, err)
	assert.Equal(t, u.ID, rt.UserID)
	assert.NotContains(t, rt.Hash, pair.RefreshToken)
	_, err = e.db.RefreshTokens().GetByHash(context.Background(), pair.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)

	// Two logins give two independent token families.
	other := e.login(t, "ada@example.org", pw)
	assert.NotEqual(t, pair.RefreshToken, other.RefreshToken)
	rt2, err := e.db.RefreshTokens().GetByHash(context.Background(), users.HashRefreshToken(other.RefreshToken))
	require.NoError(t, err)
	assert.NotEqual(t, rt.FamilyID, rt2.FamilyID)
}

// TestLoginFailuresLookAlike: an unknown email and a wrong password give
// the same error, and both run exactly one password verification — the
// unknown email against a dummy hash with the current parameters.
func TestLoginFailuresLookAlike(t *testing.T) { storetest.Run(t, testLoginFailuresLookAlike) }

func testLoginFailuresLookAlike(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	e.register(t, "ada@example.org", pw)
	ctx := context.Background()

	login := func(email, password string) (error, int64, int64) {
		h0, v0 := e.hasher.counts()
		_, err := e.svc.Login(ctx, users.Credentials{Email: email, Password: password})
		h1, v1 := e.hasher.counts()
		return err, h1 - h0, v1 - v0
	}

	wrongErr, wrongHashes, wrongVerifies := login("ada@example.org", "wrong password!")
	require.ErrorIs(t, wrongErr, ecolaura.ErrUnauthenticated)
	assert.Equal(t, int64(1), wrongVerifies)
	assert.Zero(t, wrongHashes)

	// The first unknown email also creates the dummy hash (once per service).
	unknownErr, hashes, verifies := login("nobody@example.org", "wrong password!")
	require.ErrorIs(t, unknownErr, ecolaura.ErrUnauthenticated)
	assert.Equal(t, int64(1), verifies, "the dummy-hash path runs")
	assert.Equal(t, int64(1), hashes)
	assert.Equal(t, wrongErr.Error(), unknownErr.Error(), "same error for both")
	assert.True(t, strings.HasPrefix(e.hasher.lastVerified(), "$argon2id$v=19$m=19456,t=2,p=1$"),
		"the dummy hash uses the current parameters, so it costs the same")

	// Later unknown emails cost exactly what a wrong password costs.
	unknownErr, hashes, verifies = login("someone.else@example.org", pw)
	require.ErrorIs(t, unknownErr, ecolaura.ErrUnauthenticated)
	assert.Equal(t, wrongVerifies, verifies)
	assert.Equal(t, wrongHashes, hashes)
	assert.Equal(t, wrongErr.Error(), unknownErr.Error())

	for name, c := range map[string]users.Credentials{
		"malformed email":    {Email: "not-an-email", Password: pw},
		"empty":              {},
		"over-long password": {Email: "ada@example.org", Password: strings.Repeat("p", 300)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Login(ctx, c)
			require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
			assert.Equal(t, wrongErr.Error(), err.Error())
		})
	}
}

func TestLoginRehashesWhenParametersRaised(t *testing.T) {
	storetest.Run(t, testLoginRehashesWhenParametersRaised)
}

func testLoginRehashesWhenParametersRaised(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw) // m=19456, t=2

	stronger := &countingHasher{inner: newArgon(t, func(p *argon2id.Params) { p.Iterations = 3 })}
	svc := e.newService(t, stronger, e.issuer)
	_, err := svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: pw})
	require.NoError(t, err)
	hashes, _ := stronger.counts()
	assert.Equal(t, int64(1), hashes, "rehashed once")
	stored, err := e.db.Users().Get(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=19456,t=3,p=1$"), stored.PasswordHash)
	assert.Equal(t, int64(2), stored.Version)

	// Now current: no further rehash, and the password still works.
	_, err = svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: pw})
	require.NoError(t, err)
	hashes, _ = stronger.counts()
	assert.Equal(t, int64(1), hashes)

	// A wrong password never triggers a rehash.
	_, err = svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: "wrong password"})
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	hashes, _ = stronger.counts()
	assert.Equal(t, int64(1), hashes)
}

func TestRefreshRotates(t *testing.T) { storetest.Run(t, testRefreshRotates) }

func testRefreshRotates(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	first := e.login(t, "ada@example.org", pw)

	e.clock.Advance(time.Hour)
	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.Equal(t, first.RefreshExpiresAt, second.RefreshExpiresAt, "the family keeps its absolute expiry")
	assert.Equal(t, start.Add(time.Hour+15*time.Minute), second.AccessExpiresAt)
	p, err := e.verifier.Verify(ctx, second.AccessToken)
	require.NoError(t, err)
	rt1, err := e.db.RefreshTokens().GetByHash(ctx, users.HashRefreshToken(first.RefreshToken))
	require.NoError(t, err)
	assert.Equal(t, ecolaura.Principal{UserID: u.ID, Role: u.Role, SessionID: rt1.FamilyID}, p, "a refresh stays in its session")

	third, err := e.svc.Refresh(ctx, second.RefreshToken)
	require.NoError(t, err)

	old, err := e.db.RefreshTokens().GetByHash(ctx, users.HashRefreshToken(first.RefreshToken))
	require.NoError(t, err)
	require.NotNil(t, old.UsedAt)
	newest, err := e.db.RefreshTokens().GetByHash(ctx, users.HashRefreshToken(third.RefreshToken))
	require.NoError(t, err)
	assert.Equal(t, old.FamilyID, newest.FamilyID)
	assert.Nil(t, newest.UsedAt)
	assert.Nil(t, newest.RevokedAt)
}

// TestRefreshReuseRevokesFamily: replaying a used token fails and revokes
// its family, so even the newest token of that family stops working, while
// another family (another device) is untouched.
func TestRefreshReuseRevokesFamily(t *testing.T) { storetest.Run(t, testRefreshReuseRevokesFamily) }

func testRefreshReuseRevokesFamily(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	e.register(t, "ada@example.org", pw)
	stolen := e.login(t, "ada@example.org", pw)
	otherDevice := e.login(t, "ada@example.org", pw)

	legit, err := e.svc.Refresh(ctx, stolen.RefreshToken)
	require.NoError(t, err)
	newest, err := e.svc.Refresh(ctx, legit.RefreshToken)
	require.NoError(t, err)

	_, err = e.svc.Refresh(ctx, stolen.RefreshToken) // the attacker replays
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)

	_, err = e.svc.Refresh(ctx, newest.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "the whole family is revoked")
	rt, err := e.db.RefreshTokens().GetByHash(ctx, users.HashRefreshToken(newest.RefreshToken))
	require.NoError(t, err)
	require.NotNil(t, rt.RevokedAt)

	_, err = e.svc.Refresh(ctx, otherDevice.RefreshToken)
	require.NoError(t, err, "other families are not affected")
}

// TestConcurrentRefreshOneWinner: of many concurrent refreshes of one
// token exactly one succeeds. The others presented a token that had been
// used, which is reuse: the family is revoked, so the winner's new token
// is dead too (documented behaviour; the client must log in again).
func TestConcurrentRefreshOneWinner(t *testing.T) { storetest.Run(t, testConcurrentRefreshOneWinner) }

func testConcurrentRefreshOneWinner(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	e.register(t, "ada@example.org", pw)
	pair := e.login(t, "ada@example.org", pw)

	const n = 16
	var (
		wg      sync.WaitGroup
		startGo = make(chan struct{})
		results = make([]users.TokenPair, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGo
			results[i], errs[i] = e.svc.Refresh(ctx, pair.RefreshToken)
		}()
	}
	close(startGo)
	wg.Wait()
	var winners []users.TokenPair
	for i, err := range errs {
		if err == nil {
			winners = append(winners, results[i])
			continue
		}
		require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	}
	require.Len(t, winners, 1, "exactly one refresh wins")
	_, err := e.svc.Refresh(ctx, winners[0].RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "the losers' reuse revoked the family")
}

// refreshRace is a ports.Database on which the first two refresh-token
// look-ups inside a transaction wait for each other after both have read,
// so two refreshes of one token both see it unused and both go on to
// MarkUsed: the race READ COMMITTED allows (ports.UnitOfWork). It counts the
// MarkUsed calls that lost, i.e. the runs of Refresh's losing branch.
type refreshRace struct {
	ports.Database
	arrivals atomic.Int32
	both     chan struct{}
	lost     atomic.Int32
}

func (r *refreshRace) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	return r.Database.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return fn(ctx, refreshRaceTx{Tx: tx, r: r})
	})
}

type refreshRaceTx struct {
	ports.Tx
	r *refreshRace
}

func (t refreshRaceTx) RefreshTokens() ports.RefreshTokenStore {
	return refreshRaceTokens{RefreshTokenStore: t.Tx.RefreshTokens(), r: t.r}
}

type refreshRaceTokens struct {
	ports.RefreshTokenStore
	r *refreshRace
}

func (s refreshRaceTokens) GetByHash(ctx context.Context, hash string) (ecolaura.RefreshToken, error) {
	rt, err := s.RefreshTokenStore.GetByHash(ctx, hash)
	if n := s.r.arrivals.Add(1); n <= 2 {
		if n == 2 {
			close(s.r.both)
		}
		select {
		case <-s.r.both:
		case <-time.After(10 * time.Second):
			return ecolaura.RefreshToken{}, errors.New("refreshRace: the second refresh never read the token")
		}
	}
	return rt, err
}

func (s refreshRaceTokens) MarkUsed(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	won, err := s.RefreshTokenStore.MarkUsed(ctx, id, at)
	if err == nil && !won {
		s.r.lost.Add(1)
	}
	return won, err
}

func TestConcurrentRefreshLoserRevokesFamily(t *testing.T) {
	storetest.Run(t, testConcurrentRefreshLoserRevokesFamily)
}

// testConcurrentRefreshLoserRevokesFamily makes two refreshes of one token
// both find it unused, so one of them loses MarkUsed (the branch that runs
// only when transactions interleave): the loser must answer
// ErrUnauthenticated and revoke the family, killing the winner's new token.
func testConcurrentRefreshLoserRevokesFamily(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	e.register(t, "ada@example.org", pw)
	pair := e.login(t, "ada@example.org", pw)
	otherDevice := e.login(t, "ada@example.org", pw)

	race := &refreshRace{Database: e.db, both: make(chan struct{})}
	svc, err := users.New(race, e.hasher, e.issuer, e.clock, e.ids, users.WithLogger(discard()))
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]users.TokenPair, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = svc.Refresh(ctx, pair.RefreshToken) })
	}
	wg.Wait()

	require.EqualValues(t, 1, race.lost.Load(), "one refresh lost MarkUsed: the losing branch ran")
	winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	require.NotEqual(t, -1, winner, "one refresh wins: %v", errs)
	require.ErrorIs(t, errs[1-winner], ecolaura.ErrUnauthenticated, "the loser is refused")

	newest, err := e.db.RefreshTokens().GetByHash(ctx, users.HashRefreshToken(results[winner].RefreshToken))
	require.NoError(t, err)
	require.NotNil(t, newest.RevokedAt, "the loser revoked the family, the winner's new token included")
	_, err = e.svc.Refresh(ctx, results[winner].RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	_, err = e.svc.Refresh(ctx, otherDevice.RefreshToken)
	require.NoError(t, err, "another family is untouched")
}

func TestRefreshExpiry(t *testing.T) { storetest.Run(t, testRefreshExpiry) }

func testRefreshExpiry(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	e.register(t, "ada@example.org", pw)
	pair := e.login(t, "ada@example.org", pw)

	// Rotating every few days does not extend the family beyond 14 days.
	for range 4 {
		e.clock.Advance(3 * 24 * time.Hour)
		next, err := e.svc.Refresh(ctx, pair.RefreshToken)
		require.NoError(t, err)
		assert.Equal(t, start.Add(14*24*time.Hour), next.RefreshExpiresAt)
		pair = next
	}
	e.clock.Set(start.Add(14*24*time.Hour - time.Second))
	pair, err := e.svc.Refresh(ctx, pair.RefreshToken)
	require.NoError(t, err, "one second before the end")
	e.clock.Set(start.Add(14 * 24 * time.Hour))
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "expired at exactly 14 days")

	// An expired token is not "used": presenting it again is still just expired.
	rt, err := e.db.RefreshTokens().GetByHash(ctx, users.HashRefreshToken(pair.RefreshToken))
	require.NoError(t, err)
	assert.Nil(t, rt.UsedAt)
}

func TestRefreshRejectsGarbage(t *testing.T) { storetest.Run(t, testRefreshRejectsGarbage) }

func testRefreshRejectsGarbage(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	for name, tok := range map[string]string{
		"empty":                "",
		"short":                "abc",
		"right length, bad":    strings.Repeat("*", 43),
		"padded":               strings.Repeat("A", 42) + "=",
		"unknown":              strings.Repeat("A", 43),
		"non-canonical base64": strings.Repeat("A", 42) + "B",
		"huge":                 strings.Repeat("A", 1<<20),
		"an access token":      "eyJhbGciOiJFZERTQSJ9.e30.sig",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Refresh(context.Background(), tok)
			require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
			require.ErrorIs(t, e.svc.Logout(context.Background(), tok), ecolaura.ErrUnauthenticated)
		})
	}
}

func TestRefreshForDeletedOrChangedUser(t *testing.T) {
	storetest.Run(t, testRefreshForDeletedOrChangedUser)
}

func testRefreshForDeletedOrChangedUser(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	pair := e.login(t, "ada@example.org", pw)
	// Promote the user directly in the store: the refreshed access token
	// carries the current role.
	stored, err := e.db.Users().Get(ctx, u.ID)
	require.NoError(t, err)
	stored.Role = ecolaura.RoleStaff
	_, err = e.db.Users().Update(ctx, stored)
	require.NoError(t, err)
	next, err := e.svc.Refresh(ctx, pair.RefreshToken)
	require.NoError(t, err)
	p, err := e.verifier.Verify(ctx, next.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.RoleStaff, p.Role)
}

func TestLogout(t *testing.T) { storetest.Run(t, testLogout) }

func testLogout(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	e.register(t, "ada@example.org", pw)
	phone := e.login(t, "ada@example.org", pw)
	laptop := e.login(t, "ada@example.org", pw)
	rotated, err := e.svc.Refresh(ctx, phone.RefreshToken)
	require.NoError(t, err)

	// Logging out with an older token of the family ends the whole session.
	require.NoError(t, e.svc.Logout(ctx, phone.RefreshToken))
	_, err = e.svc.Refresh(ctx, rotated.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	require.NoError(t, e.svc.Logout(ctx, rotated.RefreshToken), "logging out twice is fine")

	_, err = e.svc.Refresh(ctx, laptop.RefreshToken)
	require.NoError(t, err, "other sessions stay")
}

func TestChangePassword(t *testing.T) { storetest.Run(t, testChangePassword) }

func testChangePassword(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	a := e.login(t, "ada@example.org", pw)
	b := e.login(t, "ada@example.org", pw)
	actor := u.Principal()

	tests := []struct {
		name  string
		actor ecolaura.Principal
		in    users.PasswordChange
		check func(t *testing.T, err error)
	}{
		{"anonymous", ecolaura.Anonymous, users.PasswordChange{Current: pw, New: "a brand new password"}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
		}},
		{"system has no account", ecolaura.System(), users.PasswordChange{Current: pw, New: "a brand new password"}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, ecolaura.ErrNotFound)
		}},
		{"wrong current password", actor, users.PasswordChange{Current: "not my password", New: "a brand new password"}, func(t *testing.T, err error) {
			assert.Equal(t, map[string][]string{"current_password": {"is incorrect"}}, fieldsOf(t, err))
		}},
		{"over-long current password", actor, users.PasswordChange{Current: strings.Repeat("x", 1000), New: "a brand new password"}, func(t *testing.T, err error) {
			assert.Contains(t, fieldsOf(t, err), "current_password")
		}},
		{"new password too short", actor, users.PasswordChange{Current: pw, New: "short"}, func(t *testing.T, err error) {
			assert.Contains(t, fieldsOf(t, err), "password")
		}},
		{"new password is the email", actor, users.PasswordChange{Current: pw, New: "Ada@Example.org"}, func(t *testing.T, err error) {
			assert.Contains(t, fieldsOf(t, err), "password")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, e.svc.ChangePassword(ctx, tc.actor, tc.in))
		})
	}
	// Nothing above changed anything.
	_, err := e.svc.Refresh(ctx, a.RefreshToken)
	require.NoError(t, err)

	require.NoError(t, e.svc.ChangePassword(ctx, actor, users.PasswordChange{Current: pw, New: "a brand new password"}))
	_, err = e.svc.Refresh(ctx, b.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "every refresh token of the user is revoked")
	_, err = e.svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: pw})
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	e.login(t, "ada@example.org", "a brand new password")
}

func TestGetAuthorization(t *testing.T) { storetest.Run(t, testGetAuthorization) }

func testGetAuthorization(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	ada := e.register(t, "ada@example.org", pw)
	bob := e.register(t, "bob@example.org", pw)
	staff, created, err := e.svc.EnsureStaff(ctx, users.StaffAccount{Email: "admin@example.org", Name: "Admin", Password: "admin password 1"})
	require.NoError(t, err)
	require.True(t, created)

	tests := []struct {
		name  string
		actor ecolaura.Principal
		id    ecolaura.ID
		err   error
	}{
		{"anonymous", ecolaura.Anonymous, ada.ID, ecolaura.ErrUnauthenticated},
		{"customer reads itself", ada.Principal(), ada.ID, nil},
		{"customer reads another", ada.Principal(), bob.ID, ecolaura.ErrNotFound},
		{"customer reads staff", bob.Principal(), staff.ID, ecolaura.ErrNotFound},
		{"staff reads a customer", staff.Principal(), bob.ID, nil},
		{"system reads a customer", ecolaura.System(), ada.ID, nil},
		{"staff reads a missing user", staff.Principal(), "00000000-0000-7000-8000-0000000000ff", ecolaura.ErrNotFound},
		{"unknown role", ecolaura.Principal{UserID: ada.ID, Role: "admin"}, ada.ID, ecolaura.ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := e.svc.Get(ctx, tc.actor, tc.id)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.id, u.ID)
		})
	}

	me, err := e.svc.Me(ctx, ada.Principal())
	require.NoError(t, err)
	assert.Equal(t, ada.ID, me.ID)
	_, err = e.svc.Me(ctx, ecolaura.Anonymous)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	_, err = e.svc.Me(ctx, ecolaura.System())
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func TestUpdateProfile(t *testing.T) { storetest.Run(t, testUpdateProfile) }

func testUpdateProfile(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	ada := e.register(t, "ada@example.org", pw)
	name := func(s string) *string { return &s }

	tests := []struct {
		name  string
		actor ecolaura.Principal
		patch users.ProfilePatch
		want  string
		err   error
	}{
		{"rename, trimmed", ada.Principal(), users.ProfilePatch{Name: name("  Ada Lovelace ")}, "Ada Lovelace", nil},
		{"empty patch", ada.Principal(), users.ProfilePatch{}, "Ada Lovelace", nil},
		{"blank name", ada.Principal(), users.ProfilePatch{Name: name(" ")}, "", ecolaura.ErrInvalid},
		{"name too long", ada.Principal(), users.ProfilePatch{Name: name(strings.Repeat("n", 151))}, "", ecolaura.ErrInvalid},
		{"anonymous", ecolaura.Anonymous, users.ProfilePatch{Name: name("X")}, "", ecolaura.ErrUnauthenticated},
		{"system", ecolaura.System(), users.ProfilePatch{Name: name("X")}, "", ecolaura.ErrNotFound},
		{"deleted account", ecolaura.Principal{UserID: "00000000-0000-7000-8000-0000000000ff", Role: ecolaura.RoleCustomer}, users.ProfilePatch{Name: name("X")}, "", ecolaura.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := e.svc.UpdateProfile(ctx, tc.actor, tc.patch)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, u.Name)
		})
	}

	// Concurrent renames all succeed: each lost race means another rename
	// won, so 8 writers need at most 7 retries (the service allows 16).
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.UpdateProfile(ctx, ada.Principal(), users.ProfilePatch{Name: name(strings.Repeat("a", i+1))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	final, err := e.db.Users().Get(ctx, ada.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1+1+8), final.Version)
}

func TestEnsureStaff(t *testing.T) { storetest.Run(t, testEnsureStaff) }

func testEnsureStaff(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	acc := users.StaffAccount{Email: "Admin@Example.org", Name: "Admin", Password: "admin password 1"}

	u, created, err := e.svc.EnsureStaff(ctx, acc)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, ecolaura.RoleStaff, u.Role)
	assert.Equal(t, "admin@example.org", u.Email)

	// Idempotent; the password is not reset by a different configured one.
	again, created, err := e.svc.EnsureStaff(ctx, users.StaffAccount{Email: "admin@example.org", Name: "Admin", Password: "another password 2"})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, u.ID, again.ID)
	pair := e.login(t, "admin@example.org", "admin password 1")
	p, err := e.verifier.Verify(ctx, pair.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.RoleStaff, p.Role)

	// A customer who registered the address first is not promoted.
	e.register(t, "squatter@example.org", pw)
	_, _, err = e.svc.EnsureStaff(ctx, users.StaffAccount{Email: "squatter@example.org", Name: "Admin", Password: "admin password 1"})
	require.ErrorIs(t, err, ecolaura.ErrConflict)
	sq, err := e.db.Users().GetByEmail(ctx, "squatter@example.org")
	require.NoError(t, err)
	assert.Equal(t, ecolaura.RoleCustomer, sq.Role)

	for name, bad := range map[string]users.StaffAccount{
		"bad email":      {Email: "admin", Name: "A", Password: "admin password 1"},
		"weak password":  {Email: "new-admin@example.org", Name: "A", Password: "short"},
		"blank name":     {Email: "new-admin@example.org", Name: "", Password: "admin password 1"},
		"password=email": {Email: "new-admin@example.org", Name: "A", Password: "new-admin@example.org"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := e.svc.EnsureStaff(ctx, bad)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
		})
	}
}

func TestWarmPreparesTheDummyHash(t *testing.T) { storetest.Run(t, testWarmPreparesTheDummyHash) }

func testWarmPreparesTheDummyHash(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	require.NoError(t, e.svc.Warm(ctx))
	h0, v0 := e.hasher.counts()
	assert.Equal(t, int64(1), h0)
	require.NoError(t, e.svc.Warm(ctx), "idempotent")
	_, err := e.svc.Login(ctx, users.Credentials{Email: "nobody@example.org", Password: pw})
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	h1, v1 := e.hasher.counts()
	assert.Equal(t, h0, h1, "no hashing on the first unknown-email login after Warm")
	assert.Equal(t, v0+1, v1)
}

func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, storetest.Memory)
	e.register(b, "ada@example.org", pw)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: pw}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b, storetest.Memory)
	e.register(b, "ada@example.org", pw)
	pair := e.login(b, "ada@example.org", pw)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		next, err := e.svc.Refresh(ctx, pair.RefreshToken)
		if err != nil {
			b.Fatal(err)
		}
		pair = next
	}
}
