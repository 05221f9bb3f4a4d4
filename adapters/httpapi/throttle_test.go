package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// throttleHarness is a harness with the default rate limits (the harness
// raises the auth ceiling), a manual limiter clock, and app.Test's peer as a
// trusted proxy so that X-Forwarded-For picks the client IP.
func throttleHarness(t *testing.T, opts ...harnessOption) (*harness, *memory.ManualClock) {
	t.Helper()
	clock := memory.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts = append([]harnessOption{
		withFastHasher(),
		withConfig(func(c *httpapi.Config) {
			c.AuthRateLimit = httpapi.DefaultConfig().AuthRateLimit
			c.TrustedProxies = []string{"0.0.0.0"}
		}),
		withServices(func(s *httpapi.Services) { s.RateLimiter = memory.NewRateLimiter(memory.WithLimiterClock(clock)) }),
	}, opts...)
	return newHarness(t, opts...), clock
}

// post sends a JSON POST from client IP ip and checks the response against
// the OpenAPI document; safe to call from any goroutine (it reports errors
// without stopping the test).
func (h *harness) post(t errorReporter, path, ip string, body any) (response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	hr := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Forwarded-For", ip)
	resp, err := h.srv.App().Test(hr, 30_000)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	validateAgainstSpec(t, hr, out)
	return out, err
}

func (h *harness) signIn(t *testing.T, ip, email, password string) response {
	t.Helper()
	r, err := h.post(t, "/api/v2/auth/token", ip, map[string]any{"email": email, "password": password})
	require.NoError(t, err)
	return r
}

// assertThrottled checks a 429: a positive whole-second Retry-After, at
// least min, and the detail.
func assertThrottled(t *testing.T, r response, minRetry time.Duration, detail string) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	assert.GreaterOrEqual(t, time.Duration(secs)*time.Second, minRetry)
	assert.Contains(t, string(r.Body), detail)
}

// TestSignInDefaultsLetHonestClientsThrough is issue 10 item 10: every
// auth call spent one per-IP budget of 10, so a test run or an office
// behind one NAT was throttled after ten sign-ins. With the defaults, 50
// registrations and 50 sign-ins a minute from one IP pass.
func TestSignInDefaultsLetHonestClientsThrough(t *testing.T) {
	h, _ := throttleHarness(t)
	const n = 50
	statuses := make([]int, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("office-%02d@example.org", i)
			r, err := h.post(t, "/api/v2/auth/register", "198.51.100.10", map[string]any{"email": email, "name": "Office", "password": testPassword})
			statuses[i], errs[i] = r.Status, err
			if err != nil || r.Status != http.StatusCreated {
				return
			}
			path, body := "/api/v2/auth/token", map[string]any{"email": email, "password": testPassword}
			if i%2 == 0 {
				path, body = "/api/v1/token/", map[string]any{"username": email, "password": testPassword}
			}
			r, err = h.post(t, path, "198.51.100.10", body)
			statuses[n+i], errs[n+i] = r.Status, err
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.NoError(t, errs[n+i])
		assert.Equal(t, http.StatusCreated, statuses[i], "registration %d", i)
		assert.Equal(t, http.StatusOK, statuses[n+i], "sign-in %d", i)
	}
}

func TestSuccessfulSignInsAndRefreshesDoNotCount(t *testing.T) {
	h, _ := throttleHarness(t)
	var refresh string
	for i := range 30 {
		r := h.signIn(t, "198.51.100.20", "alice@example.org", testPassword)
		require.Equal(t, http.StatusOK, r.Status, "sign-in %d: %s", i, r.Body)
		refresh = r.JSON(t)["refresh_token"].(string)
	}
	for i := range 30 {
		r, err := h.post(t, "/api/v2/auth/refresh", "198.51.100.20", map[string]any{"refresh_token": refresh})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.Status, "refresh %d: %s", i, r.Body)
		refresh = r.JSON(t)["refresh_token"].(string)
	}
	// The account's whole failure budget is still there.
	for i := range 5 {
		assert.Equal(t, http.StatusUnauthorized, h.signIn(t, "198.51.100.20", "alice@example.org", "wrong-password").Status, "failure %d", i+1)
	}
	assertThrottled(t, h.signIn(t, "198.51.100.20", "alice@example.org", "wrong-password"), 10*time.Minute, "failed sign-ins for this account")
}

// TestSixthWrongPasswordIsThrottled: the 6th wrong password for one account
// within 15 minutes is refused, from whichever IP it comes (an attack
// spread over many IPs), with Retry-After; clients that failed for the
// account are locked out, the right password too, until a failure is
// allowed again. A client that has not failed still signs in with the
// right password (see TestLockoutDoesNotLockTheOwnerOut).
func TestSixthWrongPasswordIsThrottled(t *testing.T) {
	h, clock := throttleHarness(t)
	for i := range 5 {
		r := h.signIn(t, fmt.Sprintf("203.0.113.%d", i+1), "Alice@Example.org ", "wrong-password")
		require.Equal(t, http.StatusUnauthorized, r.Status, "failure %d: %s", i+1, r.Body)
		clock.Advance(2 * time.Minute)
	}
	r := h.signIn(t, "203.0.113.99", "alice@example.org", "wrong-password")
	assertThrottled(t, r, 5*time.Minute, "failed sign-ins for this account")
	assertThrottled(t, h.signIn(t, "203.0.113.99", "alice@example.org", testPassword), time.Minute, "failed sign-ins for this account")
	assertThrottled(t, h.signIn(t, "203.0.113.1", "alice@example.org", testPassword), time.Minute, "failed sign-ins for this account")
	r2, err := h.post(t, "/api/v1/token/", "203.0.113.2", map[string]any{"username": "ALICE@example.org", "password": testPassword})
	require.NoError(t, err)
	assertThrottled(t, r2, time.Minute, "failed sign-ins for this account")
	assert.Equal(t, http.StatusOK, h.signIn(t, "203.0.113.100", "alice@example.org", testPassword).Status, "a client that did not fail signs in")
	assert.Equal(t, http.StatusOK, h.signIn(t, "203.0.113.1", "bob@example.org", testPassword).Status, "other accounts are not locked")

	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err)
	clock.Advance(time.Duration(secs) * time.Second)
	assert.Equal(t, http.StatusOK, h.signIn(t, "203.0.113.1", "alice@example.org", testPassword).Status, "allowed again after Retry-After")
	assert.Equal(t, http.StatusUnauthorized, h.signIn(t, "203.0.113.1", "alice@example.org", "wrong-password").Status)
	assert.Equal(t, http.StatusTooManyRequests, h.signIn(t, "203.0.113.1", "alice@example.org", "wrong-password").Status,
		"one failure was allowed again, not five")
}

// TestLockoutDoesNotLockTheOwnerOut is the QA report's item 8: one wrong
// guess every 15 minutes kept the account's budget spent, so its owner's
// right password was refused for as long as the attacker liked. A client
// that is not itself failing for the account has its password checked
// (from a second budget of the account), while the attacker's client is
// refused without a check, and every wrong guess still gets a 429.
func TestLockoutDoesNotLockTheOwnerOut(t *testing.T) {
	counting := &countingUsers{}
	h, clock := throttleHarness(t, withServices(func(s *httpapi.Services) {
		counting.Users = s.Users
		s.Users = counting
	}))
	const attacker, owner = "198.51.100.66", "192.0.2.10"
	for i := range 5 {
		require.Equal(t, http.StatusUnauthorized, h.signIn(t, attacker, "alice@example.org", fmt.Sprintf("guess-%d-password", i)).Status)
	}
	for hour := range 8 { // two hours of one guess every 15 minutes
		if hour == 0 {
			assertThrottled(t, h.signIn(t, "203.0.113.7", "alice@example.org", "guess-password"), time.Minute, "failed sign-ins for this account")
		}
		checked := counting.calls.Load()
		// The guess uses the one failure the budget allows again (or is
		// refused when the budget is still spent): either way the account
		// stays locked.
		ra := h.signIn(t, attacker, "alice@example.org", fmt.Sprintf("trickle-%d-password", hour))
		assert.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, ra.Status)
		assertThrottled(t, h.signIn(t, attacker, "alice@example.org", testPassword), time.Second, "failed sign-ins for this account")
		r := h.signIn(t, owner, "alice@example.org", testPassword)
		assert.Equal(t, http.StatusOK, r.Status, "after %d minutes: the owner signs in: %s", 15*hour, r.Body)
		assert.LessOrEqual(t, counting.calls.Load()-checked, int64(2), "the attacker's guesses: one checked at most")
		clock.Advance(15 * time.Minute)
	}
	// The owner's own mistake while the account is locked: a 429, and the
	// owner's client now waits like any failing client.
	for range 5 {
		h.signIn(t, attacker, "alice@example.org", "another-guess-password")
	}
	assertThrottled(t, h.signIn(t, owner, "alice@example.org", "typo-password"), time.Second, "failed sign-ins for this account")
	assertThrottled(t, h.signIn(t, owner, "alice@example.org", testPassword), time.Second, "failed sign-ins for this account")
	assert.Equal(t, http.StatusOK, h.signIn(t, "192.0.2.11", "alice@example.org", testPassword).Status, "another of the owner's clients")
}

func TestUnknownAccountsAreCountedLikeKnownOnes(t *testing.T) {
	h, _ := throttleHarness(t)
	for i := range 5 {
		assert.Equal(t, http.StatusUnauthorized, h.signIn(t, fmt.Sprintf("203.0.113.%d", i+1), "nobody@example.org", "wrong-password").Status)
	}
	assertThrottled(t, h.signIn(t, "203.0.113.50", "nobody@example.org", "wrong-password"), time.Minute, "failed sign-ins for this account")
}

// TestFailedSignInsPerIP: one IP trying many accounts (password spraying)
// is refused after 20 failures, for any account; other IPs are not.
func TestFailedSignInsPerIP(t *testing.T) {
	h, _ := throttleHarness(t)
	for i := range 20 {
		r := h.signIn(t, "198.51.100.66", fmt.Sprintf("user%d@example.org", i), "wrong-password")
		require.Equal(t, http.StatusUnauthorized, r.Status, "failure %d", i+1)
	}
	assertThrottled(t, h.signIn(t, "198.51.100.66", "user99@example.org", "wrong-password"), 10*time.Second, "failed sign-ins from this address")
	assertThrottled(t, h.signIn(t, "198.51.100.66", "alice@example.org", testPassword), 10*time.Second, "failed sign-ins from this address")
	assert.Equal(t, http.StatusOK, h.signIn(t, "198.51.100.67", "alice@example.org", testPassword).Status)
}

// TestFailedSignInsPerIPv6Network: the addresses of one IPv6 /64 share
// their budgets, or a client would change its address for each guess.
func TestFailedSignInsPerIPv6Network(t *testing.T) {
	h, _ := throttleHarness(t)
	for i := range 20 {
		r := h.signIn(t, fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("user%d@example.org", i), "wrong-password")
		require.Equal(t, http.StatusUnauthorized, r.Status, "failure %d", i+1)
	}
	assertThrottled(t, h.signIn(t, "2001:db8:1:2:ffff::1", "alice@example.org", testPassword), time.Second, "from this address")
	assert.Equal(t, http.StatusOK, h.signIn(t, "2001:db8:1:3::1", "alice@example.org", testPassword).Status, "another /64")
}

// countingUsers counts the sign-ins that reach the users service and how
// many run at once.
type countingUsers struct {
	httpapi.Users
	calls, inFlight, maxInFlight atomic.Int64
}

func (u *countingUsers) Login(ctx context.Context, c users.Credentials) (users.TokenPair, error) {
	u.calls.Add(1)
	n := u.inFlight.Add(1)
	defer u.inFlight.Add(-1)
	for {
		m := u.maxInFlight.Load()
		if n <= m || u.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // as long as Argon2id takes: the window a real race has
	return u.Users.Login(ctx, c)
}

// TestConcurrentGuessesCannotExceedTheAccountBudget: 40 wrong passwords for
// one account at once from 40 IPs check at most 5 + 5 passwords, and only
// 5 are answered as wrong.
func TestConcurrentGuessesCannotExceedTheAccountBudget(t *testing.T) {
	counting := &countingUsers{}
	h, _ := throttleHarness(t, withServices(func(s *httpapi.Services) {
		counting.Users = s.Users
		s.Users = counting
	}))
	const attackers = 40
	statuses := make([]int, attackers)
	errs := make([]error, attackers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Go(func() {
			<-start
			r, err := h.post(t, "/api/v2/auth/token", fmt.Sprintf("203.0.113.%d", i+1), map[string]any{"email": "alice@example.org", "password": "wrong-password"})
			statuses[i], errs[i] = r.Status, err
		})
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	for i := range attackers {
		require.NoError(t, errs[i])
		counts[statuses[i]]++
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 5, http.StatusTooManyRequests: attackers - 5}, counts)
	// The account's budget, and at most as many from clients that had not
	// failed for it (TestLockoutDoesNotLockTheOwnerOut).
	assert.LessOrEqual(t, counting.calls.Load(), int64(10), "at most twice the budget of passwords was checked")
	assert.Greater(t, counting.maxInFlight.Load(), int64(1), "the guesses really ran at the same time")
}

// TestEvery429HasRetryAfter: every throttled answer (auth ceiling, write
// limit, account and IP sign-in limits, in both versions) says when to
// retry.
func TestEvery429HasRetryAfter(t *testing.T) {
	h, _ := throttleHarness(t, withConfig(func(c *httpapi.Config) {
		c.AuthRateLimit = httpapi.RateLimit{Rate: 1, Burst: 2, Period: time.Hour}
		c.WriteRateLimit = httpapi.RateLimit{Rate: 1, Burst: 1, Period: time.Hour}
		c.SignInFailuresPerAccount = httpapi.RateLimit{Rate: 1, Burst: 1, Period: time.Hour}
	}))
	// Auth ceiling, v1 and v2.
	for _, tc := range []struct{ path, ip string }{{"/api/v1/token/refresh/", "198.51.100.1"}, {"/api/v2/auth/refresh", "198.51.100.2"}} {
		var last response
		for range 3 {
			var err error
			last, err = h.post(t, tc.path, tc.ip, map[string]any{"refresh": "x", "refresh_token": "x"})
			require.NoError(t, err)
		}
		assertThrottled(t, last, 30*time.Minute, "Request was throttled")
	}
	// Account.
	assert.Equal(t, http.StatusUnauthorized, h.signIn(t, "198.51.100.3", "bob@example.org", "wrong-password").Status)
	assertThrottled(t, h.signIn(t, "198.51.100.4", "bob@example.org", "wrong-password"), 30*time.Minute, "for this account")
	// Writes.
	body := map[string]any{"name": "Soap", "category": "home", "price": "3.50", "stock": 1}
	require.Equal(t, http.StatusCreated, h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: body}).Status)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: body})
	assertThrottled(t, r, 30*time.Minute, "Request was throttled")
}

// TestSignInFailsOpenWhenTheLimiterFails: the limiter protects, it is not a
// dependency.
func TestSignInFailsOpenWhenTheLimiterFails(t *testing.T) {
	h := newHarness(t, withServices(func(s *httpapi.Services) { s.RateLimiter = failingLimiter{} }))
	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "alice@example.org", "password": testPassword}})
	assert.Equal(t, http.StatusOK, r.Status)
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/token", Body: map[string]any{"email": "alice@example.org", "password": "wrong-password"}})
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Contains(t, h.logs.String(), "rate limiter failed")
}
