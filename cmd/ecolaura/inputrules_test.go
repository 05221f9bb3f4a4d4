package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// rawResponse is a response with its body undecoded.
type rawResponse struct {
	status int
	body   []byte
}

// rawDo sends body (bytes sent as they are, so bodies that are not UTF-8
// reach the server unchanged) and reads the whole response.
func rawDo(t *testing.T, base, method, path, token string, headers map[string]string, body string) rawResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header[k] = []string{v} // as given, even bytes net/http would not set
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rawResponse{status: resp.StatusCode, body: raw}
}

// comparable is the part of an error response that must be the same on
// every store: v1's whole body, v2's problem without its per-request
// instance and request ID.
func comparable(t *testing.T, r rawResponse) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "%s", r.body)
	delete(m, "request_id")
	delete(m, "instance")
	return m
}

// startShop serves the shop on a free port with env and returns its base
// URL; it stops when the test ends.
func startShop(t *testing.T, env map[string]string) string {
	t.Helper()
	env["ECOLAURA_ADMIN_EMAIL"], env["ECOLAURA_ADMIN_PASSWORD"], env["ECOLAURA_RATE_LIMITS"] = "admin@example.org", "admin-password-123", "off"
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(env), flag.NewFlagSet("serve", flag.ContinueOnError))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuf
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, &logs, ready) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("server did not stop")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("server ended early: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start\n%s", logs.String())
	}
	return ""
}

// TestInputRulesAgreeOnBothStores sends the same inputs to a shop in
// memory and to one on PostgreSQL. Issue 10 found text that PostgreSQL
// rejects answered with a 500 there and stored by the memory store, and an
// order that one store refused to cancel forever while the other let the
// stock pass its maximum. Both stores must now give the same answer, a 400
// naming the field for what is refused, and both must cancel the order.
func TestInputRulesAgreeOnBothStores(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	dbURL := testenv.Postgres(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"migrate", "up"}, envOf(map[string]string{"ECOLAURA_DATABASE_URL": dbURL}), &out, &errOut), errOut.String())
	shops := map[string]string{
		"memory":     startShop(t, map[string]string{}),
		"postgresql": startShop(t, map[string]string{"ECOLAURA_DATABASE_URL": dbURL}),
	}

	type request struct {
		name, method, path string
		staff              bool // else the customer
		headers            map[string]string
		body               string
	}
	requests := []request{
		{name: "v1 product name with NUL", method: "POST", path: "/api/v1/products/", staff: true, body: `{"name":"Soap\u0000","category":"home","price":"3.50"}`},
		{name: "v1 product description with NUL", method: "POST", path: "/api/v1/products/", staff: true, body: `{"name":"Soap","description":"\u0000","category":"home","price":"3.50"}`},
		{name: "v2 product name with NUL", method: "POST", path: "/api/v2/products", staff: true, body: `{"name":"Soap\u0000","category":"home","price":{"amount":"3.50"}}`},
		{name: "v2 product description with escape", method: "POST", path: "/api/v2/products", staff: true, body: `{"name":"Soap","description":"\u001b[2J","category":"home","price":{"amount":"3.50"}}`},
		{name: "v2 product name with C1 control", method: "POST", path: "/api/v2/products", staff: true, body: `{"name":"So\u0085ap","category":"home","price":{"amount":"3.50"}}`},
		{name: "v1 registration name with NUL", method: "POST", path: "/api/v1/users/", body: `{"email":"nul1@example.org","password":"long-enough-pw","name":"Nul\u0000"}`},
		{name: "v2 registration name with NUL", method: "POST", path: "/api/v2/auth/register", body: `{"email":"nul2@example.org","password":"long-enough-pw","name":"Nul\u0000"}`},
		{name: "v2 registration email with C1 control", method: "POST", path: "/api/v2/auth/register", body: `{"email":"n\u0085ul@example.org","password":"long-enough-pw","name":"Nul"}`},
		{name: "v2 search with NUL", method: "GET", path: "/api/v2/products?q=soap%00"},
		{name: "v2 search that is not UTF-8", method: "GET", path: "/api/v2/products?q=%FF"},
		{name: "v2 product body that is not UTF-8", method: "POST", path: "/api/v2/products", staff: true, body: "{\"name\":\"Soap \xff\",\"category\":\"home\",\"price\":{\"amount\":\"3.50\"}}"},
		{name: "v1 body with a lone surrogate", method: "POST", path: "/api/v1/products/", staff: true, body: `{"name":"Soap \ud800","category":"home","price":"3.50"}`},
		{name: "v2 idempotency key that is not ASCII", method: "POST", path: "/api/v2/orders", headers: map[string]string{"Idempotency-Key": "cl\xc3\xa9"},
			body: `{"lines":[{"product_id":"01234567-89ab-7def-8123-456789abcdef","quantity":1}]}`},
		{name: "v1 footprint finer than a gram", method: "POST", path: "/api/v1/products/", staff: true,
			body: `{"name":"Cup","category":"home","price":"3.50","sustainability_metric":{"carbon_footprint":8.0005}}`},
		{name: "v2 price in another currency", method: "POST", path: "/api/v2/products", staff: true, body: `{"name":"Cup","category":"home","price":{"amount":"1200","currency":"JPY"}}`},
		{name: "v2 stock above the maximum", method: "POST", path: "/api/v2/products", staff: true, body: `{"name":"Cup","category":"home","price":{"amount":"1"},"stock":1000000001}`},
	}
	tokens := map[string][2]string{}
	for name, base := range shops {
		c := &client{t: t, base: base}
		st, m := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "admin@example.org", "password": "admin-password-123"})
		require.Equal(t, http.StatusOK, st, "%s: %v", name, m)
		st, _ = c.do("POST", "/api/v2/auth/register", "", nil, map[string]any{"email": "pat@example.org", "password": "pats-password-1", "name": "Pat"})
		require.Equal(t, http.StatusCreated, st, name)
		_, tok := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "pat@example.org", "password": "pats-password-1"})
		tokens[name] = [2]string{m["access_token"].(string), tok["access_token"].(string)}
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			got := map[string]rawResponse{}
			for name, base := range shops {
				tok := tokens[name][1]
				if rq.staff {
					tok = tokens[name][0]
				}
				got[name] = rawDo(t, base, rq.method, rq.path, tok, rq.headers, rq.body)
				assert.Equal(t, http.StatusBadRequest, got[name].status, "%s: %s", name, got[name].body)
			}
			assert.Equal(t, comparable(t, got["memory"]), comparable(t, got["postgresql"]), "both stores give the same answer")
		})
	}

	// Issue 10's cancellation: 1,000 units of a product at the maximum
	// stock ordered, the stock set back to the maximum, the order
	// cancelled. Both stores cancel, keep the stock at the maximum and let
	// the product be edited.
	for name, base := range shops {
		t.Run("cancel at the maximum stock on "+name, func(t *testing.T) {
			c := &client{t: t, base: base}
			staff, customer := tokens[name][0], tokens[name][1]
			st, p := c.do("POST", "/api/v2/products", staff, nil, map[string]any{"name": "Crate", "category": "home",
				"price": map[string]any{"amount": "1.00"}, "stock": ecolaura.MaxStock})
			require.Equal(t, http.StatusCreated, st, "%v", p)
			id := p["id"].(string)
			st, o := c.do("POST", "/api/v1/orders/", customer, nil, map[string]any{"items": []any{map[string]any{"product": id, "quantity": ecolaura.MaxLineQuantity}}})
			require.Equal(t, http.StatusCreated, st, "%v", o)
			st, _ = c.do("PATCH", "/api/v1/products/"+id+"/", staff, nil, map[string]any{"stock": ecolaura.MaxStock})
			require.Equal(t, http.StatusOK, st)
			st, o = c.do("POST", "/api/v1/orders/"+o["id"].(string)+"/cancel/", customer, nil, nil)
			require.Equal(t, http.StatusOK, st, "a cancellation is never stuck: %v", o)
			st, p = c.do("PATCH", "/api/v1/products/"+id+"/", staff, nil, map[string]any{"name": "Crate XL"})
			require.Equal(t, http.StatusOK, st, "the product stays editable: %v", p)
			assert.EqualValues(t, ecolaura.MaxStock, p["stock"])
		})
	}
}
