package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/ecolaura"
)

// TestPasswordResetThrottles: reset requests are limited per email (known
// or not, alike) and per client IP; invalid tokens per client IP, while
// valid-looking requests of other IPs pass.
func TestPasswordResetThrottles(t *testing.T) {
	h, clock := throttleHarness(t)
	ctx := context.Background()
	_ = ctx
	for _, email := range []string{"alice@example.org", "nobody@example.org"} {
		for i := range 3 {
			r, err := h.post(t, "/api/v2/auth/password-reset", "203.0.113."+string(rune('1'+i)), map[string]any{"email": email})
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		}
		r, err := h.post(t, "/api/v2/auth/password-reset", "203.0.113.9", map[string]any{"email": strings.ToUpper(email)})
		require.NoError(t, err)
		assertThrottled(t, r, time.Second, "Too many password resets for this account.")
	}
	for i := range 20 {
		r, err := h.post(t, "/api/v2/auth/password-reset", "198.51.100.7", map[string]any{"email": "user" + string(rune('a'+i)) + "@example.org"})
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.Status)
	}
	r, err := h.post(t, "/api/v2/auth/password-reset", "198.51.100.7", map[string]any{"email": "another@example.org"})
	require.NoError(t, err)
	assertThrottled(t, r, time.Second, "Too many password resets from this address.")

	bogus := strings.Repeat("x", 43)
	for range 10 {
		r, err := h.post(t, "/api/v2/auth/password-reset/confirm", "192.0.2.5", map[string]any{"token": bogus, "new_password": "a new password 1"})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	}
	r, err = h.post(t, "/api/v2/auth/verify-email", "192.0.2.5", map[string]any{"token": bogus})
	require.NoError(t, err)
	assertThrottled(t, r, time.Second, "Too many invalid links from this address.")
	r, err = h.post(t, "/api/v2/auth/verify-email", "192.0.2.6", map[string]any{"token": bogus})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, r.Status, "another address is not throttled")
	clock.Advance(15 * time.Minute)
	r, err = h.post(t, "/api/v2/auth/verify-email", "192.0.2.5", map[string]any{"token": bogus})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, r.Status, "the budget refills")
}

func TestPasswordResetOverHTTP(t *testing.T) {
	h := newHarness(t)
	known := h.do(req{Method: "POST", Path: "/api/v2/auth/password-reset", Body: map[string]any{"email": "alice@example.org"}})
	unknown := h.do(req{Method: "POST", Path: "/api/v2/auth/password-reset", Body: map[string]any{"email": "nobody@example.org"}})
	require.Equal(t, http.StatusAccepted, known.Status)
	assert.Equal(t, known.Status, unknown.Status)
	assert.Equal(t, string(known.Body), string(unknown.Body), "the same answer")
	require.NoError(t, h.runner.WaitIdle(context.Background()))
	msgs := h.mailer.Messages()
	require.Len(t, msgs, 1, "a link for the account only")
	link := msgs[0].Text[strings.Index(msgs[0].Text, "https://shop.example.org/reset-password?token="):]
	token := strings.Fields(link)[0][len("https://shop.example.org/reset-password?token="):]

	r := h.do(req{Method: "POST", Path: "/api/v2/auth/password-reset/confirm", Body: map[string]any{"token": token, "new_password": "short"}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, string(r.Body), `"field":"new_password"`, "the field of the request")
	r = h.do(req{Method: "POST", Path: "/api/v2/auth/password-reset/confirm", Body: map[string]any{"token": token, "new_password": "alices new password"}})
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	r = h.do(req{Method: "POST", Path: "/api/v2/auth/token", Body: map[string]any{"email": "alice@example.org", "password": "alices new password"}})
	require.Equal(t, http.StatusOK, r.Status)
	r = h.do(req{Method: "POST", Path: "/api/v2/auth/password-reset", Body: map[string]any{"email": "not an email"}})
	assert.Equal(t, http.StatusBadRequest, r.Status, "a malformed address is the input's fault")
}

func TestSelfServiceOverHTTP(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: h.alice, Body: map[string]any{"name": "Alice Liddell"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "Alice Liddell", r.JSON(t)["name"])
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: h.alice, Body: map[string]any{"email": "alice@example.net"}})
	require.Equal(t, http.StatusBadRequest, r.Status, "an email change needs the password")
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: h.alice, Body: map[string]any{"email": "bob@example.org", "current_password": testPassword}})
	require.Equal(t, http.StatusBadRequest, r.Status, "a taken address")
	assert.Contains(t, string(r.Body), `"field":"email"`)
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: h.alice, Body: map[string]any{"email": "alice@example.net", "current_password": testPassword}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "alice@example.net", r.JSON(t)["pending_email"])
	assert.Equal(t, "alice@example.org", r.JSON(t)["email"], "unchanged until the link is used")
	r = h.do(req{Method: "POST", Path: "/api/v2/users/me/password", Token: h.alice, Body: map[string]any{"current_password": "wrong one!", "new_password": "alices new password"}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	r = h.do(req{Method: "POST", Path: "/api/v2/users/me/password", Token: h.alice, Body: map[string]any{"current_password": testPassword, "new_password": "alices new password"}})
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	r = h.do(req{Method: "GET", Path: "/api/v2/users/me/export", Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, r.Header.Get("Content-Disposition"), "attachment")
	r = h.do(req{Method: "POST", Path: "/api/v2/users/me/verify-email", Token: h.alice})
	assert.Equal(t, http.StatusBadRequest, r.Status, "verified already (the harness verifies its accounts)")
	r = h.do(req{Method: "DELETE", Path: "/api/v2/users/me", Token: h.bob, Body: map[string]any{"password": testPassword}})
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	r = h.do(req{Method: "GET", Path: "/api/v2/users/me", Token: h.bob})
	assert.Equal(t, http.StatusUnauthorized, r.Status, "a deleted account's token is refused")
	r = h.do(req{Method: "GET", Path: "/api/v1/users/me/", Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
	assert.NotContains(t, r.JSON(t), "email_verified", "v1 keeps its contract")
}

func TestStaffAdministrationOverHTTP(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Path: "/api/v2/users?q=ALICE", Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 1)
	alice := items[0].(map[string]any)["id"].(string)
	for _, path := range []string{"/api/v2/users", "/api/v2/users/" + alice, "/api/v2/audit-events"} {
		assert.Equal(t, http.StatusForbidden, h.do(req{Path: path, Token: h.bob}).Status, path)
		assert.Equal(t, http.StatusUnauthorized, h.do(req{Path: path}).Status, path)
	}
	assert.Equal(t, http.StatusBadRequest, h.do(req{Path: "/api/v2/users?status=sleeping", Token: h.staff}).Status)

	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/" + alice, Token: h.staff, Body: map[string]any{"disabled": true}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, true, r.JSON(t)["disabled"])
	assert.Equal(t, http.StatusUnauthorized, h.do(req{Path: "/api/v2/users/me", Token: h.alice}).Status, "her token stops working")
	r = h.do(req{Path: "/api/v2/users?status=disabled", Token: h.staff})
	require.Len(t, r.JSON(t)["items"], 1)

	var staffID string
	r = h.do(req{Path: "/api/v2/users/me", Token: h.staff})
	staffID = r.JSON(t)["id"].(string)
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/" + staffID, Token: h.staff, Body: map[string]any{"role": "customer"}})
	assert.Equal(t, http.StatusBadRequest, r.Status, "not oneself")
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/" + alice, Token: h.staff, Body: map[string]any{"role": "staff", "disabled": false}})
	require.Equal(t, http.StatusOK, r.Status)
	// Alice, now staff, demotes the original staff member; then the
	// original staff member, the only one left... is Alice.
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/" + staffID, Token: h.alice, Body: map[string]any{"role": "customer"}})
	require.Equal(t, http.StatusOK, r.Status, "a revoked-and-granted role is read from the account: %s", r.Body)
	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/" + alice, Token: h.issue(t, staffID, ecolaura.RoleStaff), Body: map[string]any{"role": "customer"}})
	require.Equal(t, http.StatusForbidden, r.Status, "a demoted staff member's token no longer carries staff rights")
	r = h.do(req{Method: "DELETE", Path: "/api/v2/users/me", Token: h.alice, Body: map[string]any{"password": testPassword}})
	require.Equal(t, http.StatusConflict, r.Status, "the last active staff account")
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(r.Body, &p))
	assert.Equal(t, "urn:ecolaura:problem:last-staff", p.Type)

	r = h.do(req{Path: "/api/v2/audit-events?entity=user&entity_id=" + alice, Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	events := r.JSON(t)["items"].([]any)
	require.Len(t, events, 2)
	last := events[0].(map[string]any)
	assert.Equal(t, staffID, last["actor_id"])
	assert.Equal(t, map[string]any{"from": "customer", "to": "staff"}, last["changes"].(map[string]any)["role"])
	assert.Equal(t, http.StatusBadRequest, h.do(req{Path: "/api/v2/audit-events?since=yesterday", Token: h.alice}).Status)
	r = h.do(req{Path: "/api/v2/audit-events?limit=1&actor_id=" + staffID, Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
	cursor, _ := r.JSON(t)["next_cursor"].(string)
	require.NotEmpty(t, cursor)
	r = h.do(req{Path: "/api/v2/audit-events?limit=1&actor_id=" + staffID + "&cursor=" + cursor, Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
	require.Len(t, r.JSON(t)["items"], 1)
}

func TestUnverifiedEmailCannotCheckOut(t *testing.T) {
	h := newHarness(t, withVerifiedEmailRequired())
	p := h.product("Soap", "bathroom", 350, 10, nil)
	// A customer who registered and did not verify.
	r := h.do(req{Method: "POST", Path: "/api/v2/auth/register", Body: map[string]any{"email": "carol@example.org", "name": "Carol", "password": testPassword}})
	require.Equal(t, http.StatusCreated, r.Status)
	r = h.do(req{Method: "POST", Path: "/api/v2/auth/token", Body: map[string]any{"email": "carol@example.org", "password": testPassword}})
	carol := r.JSON(t)["access_token"].(string)
	body := map[string]any{"lines": []map[string]any{{"product_id": p.ID, "quantity": 1}}}
	r = h.do(req{Method: "POST", Path: "/api/v2/orders", Token: carol, Body: body, Headers: map[string]string{"Idempotency-Key": "c-1"}})
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
	var prob httpapi.Problem
	require.NoError(t, json.Unmarshal(r.Body, &prob))
	assert.Equal(t, "urn:ecolaura:problem:email-not-verified", prob.Type)
	assert.Contains(t, prob.Detail, "Verify your email address")
	r = h.do(req{Method: "POST", Path: "/api/v1/orders/", Token: carol, Body: map[string]any{"items": []map[string]any{{"product": p.ID, "quantity": 1}}}})
	assert.Equal(t, http.StatusForbidden, r.Status, "v1 too")
	r = h.do(req{Method: "POST", Path: "/api/v2/orders", Token: h.alice, Body: body, Headers: map[string]string{"Idempotency-Key": "a-1"}})
	assert.Equal(t, http.StatusCreated, r.Status, "a verified customer checks out")
}

// issue signs an access token for a user as the harness's issuer does.
func (h *harness) issue(t *testing.T, id string, role ecolaura.Role) string {
	t.Helper()
	tok, err := h.issuer.Issue(context.Background(), ecolaura.Principal{UserID: ecolaura.ID(id), Role: role})
	require.NoError(t, err)
	return tok.Token
}

// TestAccountListsFollowV2QueryRules: the staff lists of accounts and audit
// events read their query as every v2 list does (docs/input.md): limit is
// 1..max (0 is not a size), a parameter given twice and a pair that is not
// percent-encoded correctly are field errors.
func TestAccountListsFollowV2QueryRules(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name  string
		path  string
		field string
	}{
		{"users limit 0", "/api/v2/users?limit=0", "limit"},
		{"users limit above the maximum", "/api/v2/users?limit=101", "limit"},
		{"users q twice", "/api/v2/users?q=alice&q=bob", "q"},
		{"users role twice", "/api/v2/users?role=staff&role=customer", "role"},
		{"users bad percent-encoding", "/api/v2/users?q=%zz", "q"},
		{"audit limit 0", "/api/v2/audit-events?limit=0", "limit"},
		{"audit limit above the maximum", "/api/v2/audit-events?limit=201", "limit"},
		{"audit entity twice", "/api/v2/audit-events?entity=user&entity=product", "entity"},
		{"audit bad percent-encoding", "/api/v2/audit-events?action=%zz", "action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(req{Path: tc.path, Token: h.staff})
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			assert.Contains(t, string(r.Body), `"field":"`+tc.field+`"`)
		})
	}
	for _, path := range []string{"/api/v2/users?limit=100", "/api/v2/audit-events?limit=200", "/api/v2/users?limit=1", "/api/v2/audit-events"} {
		assert.Equal(t, http.StatusOK, h.do(req{Path: path, Token: h.staff}).Status, path)
	}
}

// TestEmailChangeRequestIsAllOrNothing: a PATCH of /users/me that is
// refused (here for its name) mails no link, and the pending address the
// answer names is the one the link went to (normalised like every email,
// RFC 8265, not just lower-cased).
func TestEmailChangeRequestIsAllOrNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	r := h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: h.alice,
		Body: map[string]any{"name": "   ", "email": "alice@example.net", "current_password": testPassword}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	assert.Contains(t, string(r.Body), `"field":"name"`)
	require.NoError(t, h.runner.WaitIdle(ctx))
	assert.Empty(t, h.mailer.Messages(), "a refused request mails nothing")

	r = h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: h.alice,
		Body: map[string]any{"email": " ＡLICE@Example.NET ", "current_password": testPassword}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "alice@example.net", r.JSON(t)["pending_email"])
	require.NoError(t, h.runner.WaitIdle(ctx))
	msgs := h.mailer.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "alice@example.net", msgs[0].To, "the link went to the pending address")
}

// TestAccountMailsThrottledPerAddress: like password resets, the other
// links a signed-in user can have mailed are limited per recipient, so a
// customer cannot flood someone's mailbox: email-change confirmations per
// new address (whichever account asks), verification links per account.
func TestAccountMailsThrottledPerAddress(t *testing.T) {
	h, clock := throttleHarness(t)
	change := func(token, email string) response {
		return h.do(req{Method: "PATCH", Path: "/api/v2/users/me", Token: token,
			Body: map[string]any{"email": email, "current_password": testPassword}})
	}
	for range 3 {
		r := change(h.alice, "target@example.org")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	assertThrottled(t, change(h.alice, "target@example.org"), time.Second, "Too many links mailed to this address.")
	assertThrottled(t, change(h.bob, " TARGET@example.org"), time.Second, "Too many links mailed to this address.")
	r := change(h.alice, "elsewhere@example.org")
	assert.Equal(t, http.StatusOK, r.Status, "another address has its own budget: %s", r.Body)

	r = h.do(req{Method: "POST", Path: "/api/v2/auth/register", Body: map[string]any{"email": "carol@example.org", "name": "Carol", "password": testPassword}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = h.do(req{Method: "POST", Path: "/api/v2/auth/token", Body: map[string]any{"email": "carol@example.org", "password": testPassword}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	carol := r.JSON(t)["access_token"].(string)
	for range 3 {
		r = h.do(req{Method: "POST", Path: "/api/v2/users/me/verify-email", Token: carol})
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	}
	assertThrottled(t, h.do(req{Method: "POST", Path: "/api/v2/users/me/verify-email", Token: carol}), time.Second, "Too many links mailed to this address.")

	clock.Advance(time.Hour)
	assert.Equal(t, http.StatusOK, change(h.bob, "target@example.org").Status, "the budget refills")
	assert.Equal(t, http.StatusAccepted, h.do(req{Method: "POST", Path: "/api/v2/users/me/verify-email", Token: carol}).Status, "the budget refills")
}
