package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// tokenLink finds the link of a mailed token in a body and returns the
// token from its query.
var tokenLink = regexp.MustCompile(`https://shop\.example\.test/(reset-password|verify-email)\?token=([A-Za-z0-9_-]{43})`)

// mailedToken waits for a message to to whose subject contains subject,
// checks that its text and HTML parts carry the same link to path, and
// returns the token.
func mailedToken(t *testing.T, mp *testenv.Mailpit, to, subject, path string) (string, testenv.MailpitMessage) {
	t.Helper()
	msg := mp.WaitFor(t, to, subject, 30*time.Second)
	m := tokenLink.FindStringSubmatch(msg.Text)
	require.NotNil(t, m, "a link in the text part: %s", msg.Text)
	assert.Equal(t, path, m[1])
	assert.Contains(t, msg.HTML, `href="`+m[0]+`"`, "the same link in the HTML part")
	u, err := url.Parse(m[0])
	require.NoError(t, err)
	return u.Query().Get("token"), msg
}

// TestAccountsEndToEnd is the whole account journey over HTTP, with the
// server on PostgreSQL (River runs the jobs) and ECOLAURA_SMTP_URL pointing
// at a real SMTP server (Mailpit): a customer registers, verifies the
// address from the received mail, resets a forgotten password from the
// received mail, changes their name, orders, exports and finally deletes
// their data; staff find the customer, see the order, ship it, disable and
// enable the account, and every staff action is in the audit trail.
func TestAccountsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mp := testenv.StartMailpit(t)
	dbURL := testenv.Postgres(t)
	bin := opsBuild(t)
	const smtpPassword = "smtp-s3cret-pw"
	srv := opsServe(t, bin, opsEnv(
		"ECOLAURA_DATABASE_URL="+dbURL, "ECOLAURA_MIGRATE_ON_START=true",
		"ECOLAURA_SMTP_URL=smtp://shop:"+smtpPassword+"@"+mp.SMTPAddr+"?tls=none", "ECOLAURA_MAIL_FROM=Ecolaura <shop@example.test>",
		"ECOLAURA_SHOP_URL=https://shop.example.test", "ECOLAURA_SHOP_NAME=Ecolaura Test Shop", "ECOLAURA_SUPPORT_EMAIL=help@example.test",
		"ECOLAURA_SECRET_KEY=0123456789abcdef0123456789abcdef-e2e",
		"ECOLAURA_ADMIN_EMAIL=admin@example.test", "ECOLAURA_ADMIN_PASSWORD=admin-password-123",
	))
	first, _, _ := strings.Cut(srv.log.String(), "\n")
	assert.Contains(t, first, "smtp mailer smtp://shop@"+mp.SMTPAddr+"?tls=none (no TLS)", "the first log line names the mailer")
	assert.NotContains(t, srv.log.String(), smtpPassword, "the SMTP password is never printed")
	c := &client{t: t, base: srv.base}

	signIn := func(email, password string) (int, string, string) {
		st, body := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": email, "password": password})
		if st != http.StatusOK {
			return st, "", ""
		}
		return st, body["access_token"].(string), body["refresh_token"].(string)
	}
	st, staff, _ := signIn("admin@example.test", "admin-password-123")
	require.Equal(t, http.StatusOK, st)
	st, body := c.do("GET", "/api/v2/users/me", staff, nil, nil)
	require.Equal(t, http.StatusOK, st)
	staffID := body["id"].(string)

	// A customer registers; the verification link arrives.
	const eve = "eve@example.test"
	st, body = c.do("POST", "/api/v2/auth/register", "", nil, map[string]any{"email": eve, "name": "Eve", "password": "eves-first-password"})
	require.Equal(t, http.StatusCreated, st)
	eveID := body["id"].(string)
	verifyToken, msg := mailedToken(t, mp, eve, "Confirm your email address", "verify-email")
	assert.True(t, strings.HasPrefix(msg.MessageID, "verify_email."), "a stable Message-ID: %s", msg.MessageID)
	assert.True(t, strings.HasSuffix(msg.MessageID, "@example.test"), "in the sender's domain: %s", msg.MessageID)
	assert.Contains(t, msg.Subject, "Ecolaura Test Shop", "the shop's name from the configuration")
	assert.Contains(t, msg.Text, "help@example.test", "the support address from the configuration")

	st, access, _ := signIn(eve, "eves-first-password")
	require.Equal(t, http.StatusOK, st)
	st, body = c.do("GET", "/api/v2/users/me", access, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, false, body["email_verified"])
	require.Equal(t, http.StatusNoContent, status(c.do("POST", "/api/v2/auth/verify-email", "", nil, map[string]any{"token": verifyToken})))
	st, body = c.do("GET", "/api/v2/users/me", access, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, true, body["email_verified"], "verified from the received mail")
	require.Equal(t, http.StatusBadRequest, status(c.do("POST", "/api/v2/auth/verify-email", "", nil, map[string]any{"token": verifyToken})), "a link works once")

	// She forgets her password: the same answer for her address and an unknown one.
	st, known := c.do("POST", "/api/v2/auth/password-reset", "", nil, map[string]any{"email": eve})
	require.Equal(t, http.StatusAccepted, st)
	st, unknown := c.do("POST", "/api/v2/auth/password-reset", "", nil, map[string]any{"email": "nobody@example.test"})
	require.Equal(t, http.StatusAccepted, st)
	assert.Equal(t, known, unknown, "the answer does not tell whether the address has an account")
	resetToken, msg := mailedToken(t, mp, eve, "Reset your", "reset-password")
	assert.True(t, strings.HasPrefix(msg.MessageID, "password_reset."))
	require.Equal(t, http.StatusNoContent, status(c.do("POST", "/api/v2/auth/password-reset/confirm", "", nil,
		map[string]any{"token": resetToken, "new_password": "eves-second-password"})))
	require.Equal(t, http.StatusBadRequest, status(c.do("POST", "/api/v2/auth/password-reset/confirm", "", nil,
		map[string]any{"token": resetToken, "new_password": "eves-third-password"})), "a reset link works once")
	require.Equal(t, http.StatusUnauthorized, first3(signIn(eve, "eves-first-password")), "the old password is gone")
	st, access, _ = signIn(eve, "eves-second-password")
	require.Equal(t, http.StatusOK, st, "the new one works")
	for _, m := range mp.Messages(t) {
		for _, to := range m.To {
			assert.NotEqual(t, "nobody@example.test", to.Address, "nothing is mailed to an address without an account")
		}
	}

	// She changes her name and orders a product staff added.
	st, body = c.do("PATCH", "/api/v2/users/me", access, nil, map[string]any{"name": "Eve Green"})
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "Eve Green", body["name"])
	st, body = c.do("POST", "/api/v2/products", staff, nil, map[string]any{"name": "Linen tote", "category": "home",
		"price": map[string]any{"amount": "12.50", "currency": "EUR"}, "stock": 5, "score": 60})
	require.Equal(t, http.StatusCreated, st, "%v", body)
	productID := body["id"].(string)
	st, body = c.do("POST", "/api/v2/orders", access, map[string]string{"Idempotency-Key": "eve-1"},
		map[string]any{"lines": []map[string]any{{"product_id": productID, "quantity": 2}}})
	require.Equal(t, http.StatusCreated, st, "%v", body)
	orderID := body["id"].(string)
	confirmation := mp.WaitFor(t, eve, "is confirmed", 30*time.Second)
	assert.Equal(t, "order_confirmation."+orderID+"@example.test", confirmation.MessageID)
	assert.Contains(t, confirmation.Text, "Linen tote")
	assert.Contains(t, confirmation.HTML, "Linen tote")

	// She exports her data.
	st, export := c.do("GET", "/api/v2/users/me/export", access, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "Eve Green", export["profile"].(map[string]any)["name"])
	require.Len(t, export["orders"], 1)
	assert.Equal(t, orderID, export["orders"].([]any)[0].(map[string]any)["id"])

	// Staff find her, see her order and ship it.
	st, body = c.do("GET", "/api/v2/users?q=green", staff, nil, nil)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, body["items"], 1)
	assert.Equal(t, eveID, body["items"].([]any)[0].(map[string]any)["id"])
	st, body = c.do("GET", "/api/v2/users/"+eveID, staff, nil, nil)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, body["orders"], 1)
	assert.Equal(t, orderID, body["orders"].([]any)[0].(map[string]any)["id"])
	require.Eventually(t, func() bool {
		_, o := c.do("GET", "/api/v2/orders/"+orderID, staff, nil, nil)
		return o["status"] == "confirmed"
	}, 30*time.Second, 50*time.Millisecond, "the worker confirms the order")
	require.Equal(t, http.StatusOK, status(c.do("POST", "/api/v2/orders/"+orderID+"/ship", staff, nil, nil)))

	// Staff disable the account: her token stops at once, and so does signing in.
	st, body = c.do("PATCH", "/api/v2/users/"+eveID, staff, nil, map[string]any{"disabled": true})
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, true, body["disabled"])
	require.Equal(t, http.StatusUnauthorized, status(c.do("GET", "/api/v2/users/me", access, nil, nil)), "a disabled account's token is refused")
	require.Equal(t, http.StatusUnauthorized, first3(signIn(eve, "eves-second-password")))
	require.Equal(t, http.StatusBadRequest, status(c.do("PATCH", "/api/v2/users/"+staffID, staff, nil, map[string]any{"role": "customer"})),
		"staff cannot demote themselves")
	require.Equal(t, http.StatusOK, status(c.do("PATCH", "/api/v2/users/"+eveID, staff, nil, map[string]any{"disabled": false})))

	// She deletes her data; the order stays, anonymised.
	st, access, _ = signIn(eve, "eves-second-password")
	require.Equal(t, http.StatusOK, st, "enabled again")
	require.Equal(t, http.StatusBadRequest, status(c.do("DELETE", "/api/v2/users/me", access, nil, map[string]any{"password": "wrong password!"})))
	require.Equal(t, http.StatusNoContent, status(c.do("DELETE", "/api/v2/users/me", access, nil, map[string]any{"password": "eves-second-password"})))
	require.Equal(t, http.StatusUnauthorized, status(c.do("GET", "/api/v2/users/me", access, nil, nil)))
	require.Equal(t, http.StatusNotFound, status(c.do("GET", "/api/v2/users/"+eveID, staff, nil, nil)))
	st, body = c.do("GET", "/api/v2/orders/"+orderID, staff, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Nil(t, body["user_id"], "anonymised")
	assert.Equal(t, "shipped", body["status"])

	// Every staff action is in the audit trail.
	st, body = c.do("GET", "/api/v2/audit-events?actor_id="+staffID, staff, nil, nil)
	require.Equal(t, http.StatusOK, st)
	var got []string
	for _, it := range body["items"].([]any) {
		e := it.(map[string]any)
		got = append(got, fmt.Sprintf("%s %s %s", e["entity"], e["action"], changes(e["changes"])))
		assert.Equal(t, staffID, e["actor_id"])
	}
	assert.Equal(t, []string{
		"user update disabled:true→false",
		"user update disabled:false→true",
		"order status status:confirmed→shipped",
		"product create category:∅→home description:∅→ name:∅→Linen tote price:∅→12.50 EUR score:∅→60 status:∅→active stock:∅→5",
	}, got, "newest first")
	st, body = c.do("GET", "/api/v2/audit-events?entity=user&entity_id="+eveID, staff, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, body["items"], 2)
	require.Equal(t, http.StatusForbidden, status(c.do("GET", "/api/v2/audit-events", access2(t, c), nil, nil)), "customers cannot read it")
}

// status returns the status of c.do's answer.
func status(st int, _ map[string]any) int { return st }

func first3(st int, _, _ string) int { return st }

// changes renders the changes of an audit event as "field:from→to", sorted.
func changes(v any) string {
	m, _ := v.(map[string]any)
	var parts []string
	for field, ch := range m {
		c := ch.(map[string]any)
		val := func(x any) string {
			if x == nil {
				return "∅"
			}
			return fmt.Sprint(x)
		}
		parts = append(parts, field+":"+val(c["from"])+"→"+val(c["to"]))
	}
	sortStrings(parts)
	return strings.Join(parts, " ")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// access2 registers another customer and returns its access token.
func access2(t *testing.T, c *client) string {
	t.Helper()
	st, _ := c.do("POST", "/api/v2/auth/register", "", nil, map[string]any{"email": "finn@example.test", "name": "Finn", "password": "finns-password-1"})
	require.Equal(t, http.StatusCreated, st)
	st, body := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "finn@example.test", "password": "finns-password-1"})
	require.Equal(t, http.StatusOK, st)
	return body["access_token"].(string)
}
