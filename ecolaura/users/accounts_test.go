package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

const newPW = "a brand new password"

func tokenErr(t *testing.T, err error) {
	t.Helper()
	assert.Equal(t, map[string][]string{"token": {"is invalid or has expired"}}, fieldsOf(t, err))
}

func TestEmailVerification(t *testing.T) { storetest.Run(t, testEmailVerification) }

func testEmailVerification(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	assert.False(t, u.EmailVerified())
	e.deliver(t)
	require.Equal(t, 1, e.outbox.Len(), "registration mails a verification link")
	m := e.outbox.Messages()[0]
	assert.Equal(t, "ada@example.org", m.To)
	assert.True(t, strings.HasPrefix(m.ID, "verify_email."), m.ID)
	tok := e.tokenIn(t, "ada@example.org")
	assert.Contains(t, m.HTML, "https://shop.example.org/verify-email?token="+tok)

	// Only the hash is stored.
	stored, err := e.db.AccountTokens().GetByHash(ctx, users.HashAccountToken(tok))
	require.NoError(t, err)
	assert.NotContains(t, stored.Hash, tok)
	assert.Equal(t, start.Add(30*time.Minute), stored.ExpiresAt)

	_, err = e.svc.VerifyEmail(ctx, "garbage")
	tokenErr(t, err)
	got, err := e.svc.VerifyEmail(ctx, tok)
	require.NoError(t, err)
	assert.True(t, got.EmailVerified())
	_, err = e.svc.VerifyEmail(ctx, tok)
	tokenErr(t, err) // single use

	require.Error(t, e.svc.RequestEmailVerification(ctx, u.Principal()), "verified already")
}

func TestPasswordReset(t *testing.T) { storetest.Run(t, testPasswordReset) }

func testPasswordReset(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	e.pending(t) // not the verification
	session := e.login(t, "ada@example.org", pw)

	require.NoError(t, e.svc.RequestPasswordReset(ctx, " ADA@example.org "))
	e.deliver(t)
	require.Equal(t, 1, e.outbox.Len())
	m := e.outbox.Messages()[0]
	assert.True(t, strings.HasPrefix(m.ID, "password_reset."), m.ID)
	tok := e.tokenIn(t, "ada@example.org")
	assert.Contains(t, m.Text, "https://shop.example.org/reset-password?token="+tok)

	tests := []struct {
		name string
		in   users.PasswordReset
		want map[string][]string
	}{
		{"malformed token", users.PasswordReset{Token: "short", NewPassword: newPW}, map[string][]string{"token": {"is invalid or has expired"}}},
		{"unknown token", users.PasswordReset{Token: strings.Repeat("A", 43), NewPassword: newPW}, map[string][]string{"token": {"is invalid or has expired"}}},
		{"weak new password", users.PasswordReset{Token: tok, NewPassword: "short"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.svc.ResetPassword(ctx, tc.in)
			if tc.want == nil {
				assert.Contains(t, fieldsOf(t, err), "password")
				return
			}
			assert.Equal(t, tc.want, fieldsOf(t, err))
		})
	}
	require.NoError(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: tok, NewPassword: newPW}))
	tokenErr(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: tok, NewPassword: "yet another password"}))
	_, err := e.svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: pw})
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "the old password is gone")
	e.login(t, "ada@example.org", newPW)
	_, err = e.svc.Refresh(ctx, session.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "every session ended")
	got, err := e.db.Users().Get(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerified(), "the reset proved the address")
	assert.Equal(t, start, got.PasswordChangedAt)
}

// TestResetTokenRules: expiry, a newer request, a password change, another
// purpose, a disabled account and another account's token.
func TestResetTokenRules(t *testing.T) { storetest.Run(t, testResetTokenRules) }

func testResetTokenRules(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	t.Run("expires after 30 minutes", func(t *testing.T) {
		e := newEnv(t, s)
		e.register(t, "ada@example.org", pw)
		e.pending(t)
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		e.deliver(t)
		tok := e.tokenIn(t, "ada@example.org")
		e.clock.Advance(30 * time.Minute)
		tokenErr(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: tok, NewPassword: newPW}))
	})
	t.Run("a newer request voids the older token, whatever order the jobs run in", func(t *testing.T) {
		e := newEnv(t, s)
		e.register(t, "ada@example.org", pw)
		e.pending(t)
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		older := e.pending(t)
		e.clock.Advance(time.Minute)
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		newer := e.pending(t)
		// The newer job runs first: the older one then mails nothing.
		require.NoError(t, e.mailer.HandleJob(ctx, newer[0]))
		newTok := e.tokenIn(t, "ada@example.org")
		require.NoError(t, e.mailer.HandleJob(ctx, older[0]))
		assert.Equal(t, 1, e.outbox.Len(), "a superseded request mails nothing")

		// And in order: the older token is revoked by the newer one.
		e2 := newEnv(t, s)
		e2.register(t, "bob@example.org", pw)
		e2.pending(t)
		require.NoError(t, e2.svc.RequestPasswordReset(ctx, "bob@example.org"))
		e2.deliver(t)
		oldTok := e2.tokenIn(t, "bob@example.org")
		e2.clock.Advance(time.Minute)
		require.NoError(t, e2.svc.RequestPasswordReset(ctx, "bob@example.org"))
		e2.deliver(t)
		tokenErr(t, e2.svc.ResetPassword(ctx, users.PasswordReset{Token: oldTok, NewPassword: newPW}))
		require.NoError(t, e2.svc.ResetPassword(ctx, users.PasswordReset{Token: e2.tokenIn(t, "bob@example.org"), NewPassword: newPW}))

		require.NoError(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: newTok, NewPassword: newPW}))
	})
	t.Run("a password change voids mailed and queued tokens", func(t *testing.T) {
		e := newEnv(t, s)
		u := e.register(t, "ada@example.org", pw)
		e.pending(t)
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		e.deliver(t)
		mailed := e.tokenIn(t, "ada@example.org")
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		queued := e.pending(t)
		e.clock.Advance(time.Second)
		require.NoError(t, e.svc.ChangePassword(ctx, u.Principal(), users.PasswordChange{Current: pw, New: newPW}))
		tokenErr(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: mailed, NewPassword: "yet another password"}))
		require.NoError(t, e.mailer.HandleJob(ctx, queued[0]))
		assert.Equal(t, 1, e.outbox.Len(), "a request older than the password change mails nothing")
	})
	t.Run("tokens of another purpose or another account", func(t *testing.T) {
		e := newEnv(t, s)
		e.register(t, "ada@example.org", pw)
		e.register(t, "bob@example.org", pw)
		e.deliver(t)
		verifyTok := e.tokenIn(t, "ada@example.org")
		tokenErr(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: verifyTok, NewPassword: newPW}))
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "bob@example.org"))
		e.deliver(t)
		bobTok := e.tokenIn(t, "bob@example.org")
		_, err := e.svc.VerifyEmail(ctx, bobTok)
		tokenErr(t, err)
		// Bob's token resets Bob's password, never Ada's.
		require.NoError(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: bobTok, NewPassword: newPW}))
		e.login(t, "ada@example.org", pw)
		e.login(t, "bob@example.org", newPW)
	})
	t.Run("a disabled account gets no link and cannot use one", func(t *testing.T) {
		e := newEnv(t, s)
		staff := e.staff(t)
		u := e.register(t, "ada@example.org", pw)
		e.pending(t)
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		e.deliver(t)
		tok := e.tokenIn(t, "ada@example.org")
		yes := true
		_, err := e.svc.Administer(ctx, staff, u.ID, users.AdminPatch{Disabled: &yes})
		require.NoError(t, err)
		tokenErr(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: tok, NewPassword: newPW}))
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		e.deliver(t)
		assert.Equal(t, 1, e.outbox.Len())
	})
}

// TestPasswordResetRequestLooksTheSameForEveryEmail: the request takes the
// same code path for an email with an account and one without: the same
// store calls, one job each, no early return. Only the job, later and
// elsewhere, tells them apart.
func TestPasswordResetRequestLooksTheSameForEveryEmail(t *testing.T) {
	storetest.Run(t, testPasswordResetRequestLooksTheSame)
}

func testPasswordResetRequestLooksTheSame(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	e.register(t, "ada@example.org", pw)
	e.pending(t)
	rec := &recordingDB{Database: e.db}
	svc, err := users.New(rec, e.hasher, e.issuer, e.clock, e.ids)
	require.NoError(t, err)
	calls := func(email string) []string {
		rec.reset()
		require.NoError(t, svc.RequestPasswordReset(ctx, email))
		return rec.log()
	}
	known, unknown := calls("ada@example.org"), calls("nobody@example.org")
	assert.Equal(t, known, unknown, "the same store calls for a known and an unknown email")
	assert.Equal(t, []string{"Do", "Jobs.Enqueue"}, known, "the request only enqueues a job")
	jobs := e.pending(t)
	require.Len(t, jobs, 2, "one job each")
	for _, j := range jobs {
		require.NoError(t, e.mailer.HandleJob(ctx, j))
	}
	require.Equal(t, 1, e.outbox.Len(), "only the account is mailed")
	assert.Equal(t, "ada@example.org", e.outbox.Messages()[0].To)

	// And the same time, give or take scheduling noise: the median of
	// alternating calls, compared. (An early return that skipped the
	// transaction would make the unknown email several times faster.)
	var tk, tu []time.Duration
	for range 40 {
		t0 := time.Now()
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		tk = append(tk, time.Since(t0))
		t0 = time.Now()
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "nobody@example.org"))
		tu = append(tu, time.Since(t0))
	}
	mk, mu := median(tk), median(tu)
	assert.Less(t, float64(mu), 3*float64(mk), "unknown %s vs known %s", mu, mk)
	assert.Less(t, float64(mk), 3*float64(mu), "unknown %s vs known %s", mu, mk)
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// recordingDB logs the calls a service makes on the database, by name.
type recordingDB struct {
	ports.Database
	mu    sync.Mutex
	calls []string
}

func (r *recordingDB) record(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, name)
}

func (r *recordingDB) reset() { r.mu.Lock(); r.calls = nil; r.mu.Unlock() }

func (r *recordingDB) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recordingDB) Users() ports.UserStore {
	r.record("Users")
	return r.Database.Users()
}

func (r *recordingDB) Do(ctx context.Context, fn func(ctx context.Context, tx ports.Tx) error) error {
	r.record("Do")
	return r.Database.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return fn(ctx, recordingTx{Tx: tx, r: r}) })
}

type recordingTx struct {
	ports.Tx
	r *recordingDB
}

func (t recordingTx) Users() ports.UserStore { t.r.record("Tx.Users"); return t.Tx.Users() }
func (t recordingTx) Jobs() ports.JobQueue   { return recordingQueue{JobQueue: t.Tx.Jobs(), r: t.r} }

type recordingQueue struct {
	ports.JobQueue
	r *recordingDB
}

func (q recordingQueue) Enqueue(ctx context.Context, j ports.Job) error {
	q.r.record("Jobs.Enqueue")
	return q.JobQueue.Enqueue(ctx, j)
}

func TestAccountMailerRetriesMailTheSameLink(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		e.register(t, "ada@example.org", pw)
		e.pending(t)
		require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
		job := e.pending(t)[0]
		e.outbox.FailWith(errors.New("451 try later"))
		require.Error(t, e.mailer.HandleJob(ctx, job), "a transient failure is returned for a retry")
		e.outbox.FailWith(nil)
		require.NoError(t, e.mailer.HandleJob(ctx, job))
		require.NoError(t, e.mailer.HandleJob(ctx, job), "at least once: a duplicate delivery")
		msgs := e.outbox.Messages()
		require.Len(t, msgs, 2)
		assert.Equal(t, msgs[0], msgs[1], "the same message: Message-ID, link and all")

		// A worker with another key would mail a link that cannot work: it
		// refuses instead.
		other, err := users.NewAccountMailer(e.db, nil, e.clock)
		require.Error(t, err, "a notifier is required")
		_ = other
		tok := e.tokenIn(t, "ada@example.org")
		require.NoError(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: tok, NewPassword: newPW}))
		require.NoError(t, e.mailer.HandleJob(ctx, job), "the token is used: nothing more to mail")
		assert.Equal(t, 2, e.outbox.Len())

		var payload map[string]any
		require.NoError(t, json.Unmarshal(job.Payload, &payload))
		assert.NotContains(t, string(job.Payload), tok, "the job does not carry the token")
		bad := ports.Job{Kind: users.JobAccountEmail, Payload: []byte(`{"purpose":"password_reset"}`)}
		require.ErrorIs(t, e.mailer.HandleJob(ctx, bad), ports.ErrPermanent, "a malformed payload is not retried")
	})
}

func TestEmailChange(t *testing.T) { storetest.Run(t, testEmailChange) }

func testEmailChange(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	e.register(t, "bob@example.org", pw)
	e.deliver(t)
	_, err := e.svc.VerifyEmail(ctx, e.tokenIn(t, "ada@example.org"))
	require.NoError(t, err)
	require.NoError(t, e.svc.RequestPasswordReset(ctx, "ada@example.org"))
	e.deliver(t)
	oldReset := e.tokenIn(t, "ada@example.org")
	me := u.Principal()

	for _, tc := range []struct {
		name  string
		in    users.EmailChange
		check func(t *testing.T, err error)
	}{
		{"wrong password", users.EmailChange{NewEmail: "ada@example.net", Password: "nope nope nope"}, func(t *testing.T, err error) {
			assert.Contains(t, fieldsOf(t, err), "current_password")
		}},
		{"the same address", users.EmailChange{NewEmail: "ADA@example.org", Password: pw}, func(t *testing.T, err error) {
			assert.Contains(t, fieldsOf(t, err), "email")
		}},
		{"a taken address", users.EmailChange{NewEmail: "bob@example.org", Password: pw}, func(t *testing.T, err error) {
			var ce *ecolaura.ConflictError
			require.ErrorAs(t, err, &ce)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, e.svc.RequestEmailChange(ctx, me, tc.in)) })
	}
	require.NoError(t, e.svc.RequestEmailChange(ctx, me, users.EmailChange{NewEmail: "Ada@Example.net", Password: pw}))
	e.deliver(t)
	m := e.outbox.Messages()[e.outbox.Len()-1]
	assert.Equal(t, "ada@example.net", m.To, "the link goes to the new address")
	assert.True(t, strings.HasPrefix(m.ID, "email_change."))
	still, err := e.svc.Me(ctx, me)
	require.NoError(t, err)
	assert.Equal(t, "ada@example.org", still.Email, "nothing changes until the link is used")

	got, err := e.svc.VerifyEmail(ctx, e.tokenIn(t, "ada@example.net"))
	require.NoError(t, err)
	assert.Equal(t, "ada@example.net", got.Email)
	assert.True(t, got.EmailVerified())
	tokenErr(t, e.svc.ResetPassword(ctx, users.PasswordReset{Token: oldReset, NewPassword: newPW}))
	e.login(t, "ada@example.net", pw)
}

func TestChangePasswordKeepsTheCallingSession(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		e.register(t, "ada@example.org", pw)
		here := e.login(t, "ada@example.org", pw)
		there := e.login(t, "ada@example.org", pw)
		p, err := e.verifier.Verify(ctx, here.AccessToken)
		require.NoError(t, err)
		require.NotEmpty(t, p.SessionID)
		require.NoError(t, e.svc.ChangePassword(ctx, p, users.PasswordChange{Current: pw, New: newPW}))
		_, err = e.svc.Refresh(ctx, here.RefreshToken)
		require.NoError(t, err, "the session that changed the password stays")
		_, err = e.svc.Refresh(ctx, there.RefreshToken)
		require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "the others end")
	})
}

// staff creates a staff account and returns its principal.
func (e *env) staff(t testing.TB) ecolaura.Principal {
	t.Helper()
	u, err := e.svc.CreateAccount(context.Background(), ecolaura.System(), users.NewAccount{
		Email: "staff-" + string(e.ids.NewID())[24:] + "@example.org", Name: "Staff", Password: pw, Role: ecolaura.RoleStaff})
	require.NoError(t, err)
	return u.Principal()
}

func TestDisablingAnAccount(t *testing.T) { storetest.Run(t, testDisablingAnAccount) }

func testDisablingAnAccount(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	staff := e.staff(t)
	u := e.register(t, "ada@example.org", pw)
	pair := e.login(t, "ada@example.org", pw)
	p, err := e.verifier.Verify(ctx, pair.AccessToken)
	require.NoError(t, err)
	// Another process (another service over the same database) has read
	// the account already: it trusts what it read for the cache's TTL.
	other := e.newService(t, e.hasher, e.issuer)
	_, err = other.CurrentPrincipal(ctx, p)
	require.NoError(t, err)
	_, err = e.svc.CurrentPrincipal(ctx, p)
	require.NoError(t, err)

	yes, no := true, false
	got, err := e.svc.Administer(ctx, staff, u.ID, users.AdminPatch{Disabled: &yes})
	require.NoError(t, err)
	assert.False(t, got.Active())
	_, err = e.svc.CurrentPrincipal(ctx, p)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "refused at once where it was disabled")
	_, err = other.CurrentPrincipal(ctx, p)
	require.NoError(t, err, "another process may trust its cache a moment longer")
	e.clock.Advance(users.DefaultStatusCacheTTL)
	_, err = other.CurrentPrincipal(ctx, p)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "and no longer than the cache's TTL")
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "its sessions ended")
	_, err = e.svc.Login(ctx, users.Credentials{Email: "ada@example.org", Password: pw})
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "it cannot sign in")

	_, err = e.svc.Administer(ctx, staff, u.ID, users.AdminPatch{Disabled: &no})
	require.NoError(t, err)
	e.login(t, "ada@example.org", pw)

	// A demotion takes effect on the next request too.
	staffRole, customer := ecolaura.RoleStaff, ecolaura.RoleCustomer
	_, err = e.svc.Administer(ctx, staff, u.ID, users.AdminPatch{Role: &staffRole})
	require.NoError(t, err)
	cur, err := e.svc.CurrentPrincipal(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.RoleStaff, cur.Role, "the current role, not the token's")
	_, err = e.svc.Administer(ctx, staff, u.ID, users.AdminPatch{Role: &customer})
	require.NoError(t, err)
	cur, err = e.svc.CurrentPrincipal(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.RoleCustomer, cur.Role)

	events, err := e.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityUser, EntityID: u.ID, Limit: 10})
	require.NoError(t, err)
	var seen []string
	for _, ev := range events.Items {
		assert.Equal(t, staff.UserID, ev.ActorID)
		for _, c := range ev.Changes {
			seen = append(seen, c.Field+":"+*c.From+"→"+*c.To)
		}
	}
	assert.Equal(t, []string{"role:staff→customer", "role:customer→staff", "disabled:true→false", "disabled:false→true"}, seen)
}

func TestAdministerRules(t *testing.T) { storetest.Run(t, testAdministerRules) }

func testAdministerRules(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	staff := e.staff(t)
	u := e.register(t, "ada@example.org", pw)
	yes := true
	customer, admin := ecolaura.RoleCustomer, ecolaura.Role("admin")
	for _, tc := range []struct {
		name   string
		actor  ecolaura.Principal
		id     ecolaura.ID
		patch  users.AdminPatch
		target error
		field  string
	}{
		{"a customer", u.Principal(), u.ID, users.AdminPatch{Disabled: &yes}, ecolaura.ErrForbidden, ""},
		{"anonymous", ecolaura.Anonymous, u.ID, users.AdminPatch{Disabled: &yes}, ecolaura.ErrUnauthenticated, ""},
		{"unknown account", staff, "00000000-0000-7000-8000-00000000ffff", users.AdminPatch{Disabled: &yes}, ecolaura.ErrNotFound, ""},
		{"demoting oneself", staff, staff.UserID, users.AdminPatch{Role: &customer}, ecolaura.ErrInvalid, "role"},
		{"disabling oneself", staff, staff.UserID, users.AdminPatch{Disabled: &yes}, ecolaura.ErrInvalid, "disabled"},
		{"an unknown role", staff, u.ID, users.AdminPatch{Role: &admin}, ecolaura.ErrInvalid, "role"},
		{"the last staff account, by the operator", ecolaura.System(), staff.UserID, users.AdminPatch{Role: &customer}, ecolaura.ErrConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Administer(ctx, tc.actor, tc.id, tc.patch)
			require.ErrorIs(t, err, tc.target)
			if tc.field != "" {
				assert.Contains(t, fieldsOf(t, err), tc.field)
			}
		})
	}
	var re *ecolaura.RuleError
	_, err := e.svc.Administer(ctx, ecolaura.System(), staff.UserID, users.AdminPatch{Disabled: &yes})
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ecolaura.RuleLastStaff, re.Rule)
	before, err := e.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityUser, Limit: 100})
	require.NoError(t, err)
	_, err = e.svc.Administer(ctx, staff, u.ID, users.AdminPatch{Role: &customer})
	require.NoError(t, err, "a patch that changes nothing")
	after, err := e.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityUser, Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, len(before.Items), len(after.Items), "records nothing")
}

// TestLastStaffUnderConcurrentDemotions: two staff members demote each
// other at the same moment; the rule holds, exactly one demotion wins.
func TestLastStaffUnderConcurrentDemotions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		customer := ecolaura.RoleCustomer
		for round := range 5 {
			a, b := e.staff(t), e.staff(t)
			if round > 0 {
				// Only these two are staff: the others were demoted.
				page, err := e.db.Users().CountActiveStaff(ctx)
				require.NoError(t, err)
				require.Equal(t, 3, page, "round %d: the previous survivor and the two new ones", round)
				// Retire the previous survivor through the operator.
				prev := e.survivor
				_, err = e.svc.Administer(ctx, ecolaura.System(), prev, users.AdminPatch{Role: &customer})
				require.NoError(t, err)
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			startGun := make(chan struct{})
			for i, pair := range [][2]ecolaura.Principal{{a, b}, {b, a}} {
				wg.Go(func() {
					<-startGun
					_, errs[i] = e.svc.Administer(ctx, pair[0], pair[1].UserID, users.AdminPatch{Role: &customer})
				})
			}
			close(startGun)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
					continue
				}
				var re *ecolaura.RuleError
				require.ErrorAs(t, err, &re, "round %d", round)
			}
			require.Equal(t, 1, wins, "round %d: exactly one demotion", round)
			n, err := e.db.Users().CountActiveStaff(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, "round %d: one active staff account remains", round)
			for _, p := range []ecolaura.Principal{a, b} {
				u, err := e.db.Users().Get(ctx, p.UserID)
				require.NoError(t, err)
				if u.Role == ecolaura.RoleStaff {
					e.survivor = u.ID
				}
			}
		}
	})
}

func TestExportAndDelete(t *testing.T) { storetest.Run(t, testExportAndDelete) }

func testExportAndDelete(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	u := e.register(t, "ada@example.org", pw)
	other := e.register(t, "bob@example.org", pw)
	ord, p := e.orders(t)
	mine, err := ord.Checkout(ctx, u.Principal(), orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: p.ID, Quantity: 2}}})
	require.NoError(t, err)
	_, err = ord.Checkout(ctx, other.Principal(), orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: p.ID, Quantity: 1}}})
	require.NoError(t, err)

	home, err := e.svc.CreateAddress(ctx, u.Principal(), users.AddressInput{Address: ecolaura.Address{Name: "Ada", Line1: "Main St 1", City: "Paris", Country: "FR"}})
	require.NoError(t, err)
	_, err = e.svc.CreateAddress(ctx, other.Principal(), users.AddressInput{Address: ecolaura.Address{Name: "Bob", Line1: "High St 2", City: "Leeds", Country: "GB"}})
	require.NoError(t, err)

	x, err := e.svc.Export(ctx, u.Principal())
	require.NoError(t, err)
	assert.Equal(t, u.ID, x.User.ID)
	assert.Equal(t, []ecolaura.SavedAddress{home}, x.Addresses, "her address book, only hers")
	require.Len(t, x.Orders, 1, "only her orders")
	assert.Equal(t, mine.Order.ID, x.Orders[0].ID)
	_, err = e.svc.Export(ctx, ecolaura.Anonymous)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)

	assert.Contains(t, fieldsOf(t, e.svc.DeleteAccount(ctx, u.Principal(), "wrong password")), "password")
	session := e.login(t, "ada@example.org", pw)
	require.NoError(t, e.svc.DeleteAccount(ctx, u.Principal(), pw))
	_, err = e.svc.Me(ctx, u.Principal())
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	_, err = e.svc.CurrentPrincipal(ctx, u.Principal())
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	_, err = e.svc.Refresh(ctx, session.RefreshToken)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	o, err := e.db.Orders().Get(ctx, mine.Order.ID)
	require.NoError(t, err, "the order stays for accounting")
	assert.Empty(t, o.UserID, "anonymised")
	assert.Equal(t, mine.Order.Total, o.Total)
	assert.Len(t, o.Lines, 1)
	book, err := e.db.Addresses().List(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, book, "the address book is deleted")
	e.register(t, "ada@example.org", pw) // the address is free again

	staff := e.staff(t)
	var re *ecolaura.RuleError
	require.ErrorAs(t, e.svc.DeleteAccount(ctx, staff, pw), &re, "the last active staff account stays")
}

// TestDeletionRacingCheckout: checkouts of an account race its deletion.
// Each checkout either committed first (its order is anonymised) or is
// refused as unauthenticated, taking no stock.
func TestDeletionRacingCheckout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		ord, p := e.orders(t)
		refused, anonymised := 0, 0
		for round := range 4 {
			u := e.register(t, "racer"+string(rune('a'+round))+"@example.org", pw)
			const n = 6
			results := make([]orders.CheckoutResult, n)
			errs := make([]error, n+1)
			var wg sync.WaitGroup
			startGun := make(chan struct{})
			for i := range n + 1 {
				wg.Go(func() {
					<-startGun
					if i == n {
						errs[i] = e.svc.DeleteAccount(ctx, u.Principal(), pw)
						return
					}
					results[i], errs[i] = ord.Checkout(ctx, u.Principal(), orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: p.ID, Quantity: 1}}})
				})
			}
			close(startGun)
			wg.Wait()
			require.NoError(t, errs[n], "round %d: the deletion", round)
			for i := range n {
				if errs[i] != nil {
					require.ErrorIs(t, errs[i], ecolaura.ErrUnauthenticated, "round %d", round)
					refused++
					continue
				}
				o, err := e.db.Orders().Get(ctx, results[i].Order.ID)
				require.NoError(t, err)
				require.Empty(t, o.UserID, "round %d: an order placed before the deletion is anonymised", round)
				anonymised++
			}
		}
		all, err := e.db.Orders().List(ctx, ports.OrderQuery{Limit: 1000})
		require.NoError(t, err)
		taken := 0
		for _, o := range all.Items {
			taken += o.Units()
		}
		cur, err := e.db.Products().Get(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, 1000-taken, cur.Stock, "refused checkouts took no stock")
		assert.Equal(t, anonymised, len(all.Items))
		t.Logf("%s: %d checkouts committed before the deletion, %d refused", s, anonymised, refused)
	})
}

// orders returns an orders service over e's database and a product with
// 1000 units.
func (e *env) orders(t testing.TB) (*orders.Service, ecolaura.Product) {
	t.Helper()
	svc, err := orders.New(e.db, e.clock, e.ids)
	require.NoError(t, err)
	p := ecolaura.Product{ID: e.ids.NewID(), Name: "Soap", Category: "bathroom", Price: ecolaura.NewMoney(350, "EUR"), Stock: 1000,
		Score: 50, CreatedAt: start, UpdatedAt: start, Version: 1}
	require.NoError(t, e.db.Products().Create(context.Background(), p))
	return svc, p
}

func TestListUsers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		staff := e.staff(t)
		for _, email := range []string{"ada@example.org", "bob@example.org", "adele@example.net"} {
			e.register(t, email, pw)
			e.clock.Advance(time.Second)
		}
		res, err := e.svc.List(ctx, staff, users.ListParams{Search: "AD"})
		require.NoError(t, err)
		var emails []string
		for _, u := range res.Items {
			emails = append(emails, u.Email)
		}
		assert.Equal(t, []string{"adele@example.net", "ada@example.org"}, emails, "newest first")
		page, err := e.svc.List(ctx, staff, users.ListParams{Role: ecolaura.RoleCustomer, PageSize: 2})
		require.NoError(t, err)
		require.Len(t, page.Items, 2)
		require.NotEmpty(t, page.NextCursor)
		next, err := e.svc.List(ctx, staff, users.ListParams{Role: ecolaura.RoleCustomer, PageSize: 2, Cursor: page.NextCursor})
		require.NoError(t, err)
		require.Len(t, next.Items, 1)
		assert.Equal(t, "ada@example.org", next.Items[0].Email)
		_, err = e.svc.List(ctx, ecolaura.Principal{UserID: next.Items[0].ID, Role: ecolaura.RoleCustomer}, users.ListParams{})
		require.ErrorIs(t, err, ecolaura.ErrForbidden)
		_, err = e.svc.List(ctx, staff, users.ListParams{Cursor: "bogus"})
		assert.Contains(t, fieldsOf(t, err), "cursor")
	})
}

func TestOperatorAccountsAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		u, err := e.svc.CreateAccount(ctx, ecolaura.System(), users.NewAccount{Email: "op@example.org", Name: "Op", Password: pw, Role: ecolaura.RoleStaff})
		require.NoError(t, err)
		session := e.login(t, "op@example.org", pw)
		require.NoError(t, e.svc.SetPassword(ctx, ecolaura.System(), u.ID, newPW))
		_, err = e.svc.Refresh(ctx, session.RefreshToken)
		require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "setting a password ends the sessions")
		e.login(t, "op@example.org", newPW)
		_, err = e.svc.CreateAccount(ctx, ecolaura.Principal{UserID: u.ID, Role: ecolaura.RoleCustomer}, users.NewAccount{Email: "x@example.org", Name: "X", Password: pw, Role: ecolaura.RoleStaff})
		require.ErrorIs(t, err, ecolaura.ErrForbidden)
		page, err := e.db.Audit().List(ctx, ports.AuditQuery{EntityID: u.ID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 2)
		assert.Equal(t, ecolaura.ActionSetPassword, page.Items[0].Action)
		assert.Empty(t, page.Items[0].Changes, "no password material")
		assert.Equal(t, ecolaura.ActionCreate, page.Items[1].Action)
		assert.Equal(t, ecolaura.ID(""), page.Items[1].ActorID, "the operator is the system")
		assert.Equal(t, "staff", *page.Items[1].Changes[0].To)
	})
}
