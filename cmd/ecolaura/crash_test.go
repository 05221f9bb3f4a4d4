package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// crashLine is one line of a checkout request.
type crashLine struct {
	// VariantID is a default variant's ID: the product's ID (seeded products may have several variants).
	VariantID string `json:"variant_id"`
	Quantity  int    `json:"quantity"`
}

// crashRequest is a checkout sent during the load, by idempotency key.
type crashRequest struct {
	Lines []crashLine `json:"lines"`
}

// TestCrashSafetySIGKILLDuringCheckout kills `ecolaura serve` with SIGKILL
// in the middle of a checkout load on PostgreSQL, restarts it, and checks
// in SQL that no order was half written (every order has exactly the lines
// it was sent with, and its subtotal is theirs) and that for every product
// stock + units sold == initial stock. Requests whose response the crash
// swallowed are retried with their idempotency key on the restarted server,
// which must serve them exactly once.
//
// The case the test exists for happens in every run, not by luck: one
// checkout goes through a proxy that withholds the server's responses, the
// kill comes only once its order is committed (seen in SQL), so its client
// gets no answer, and its retry after the restart must replay that order.
// The first server runs without job workers, so every order is still
// pending at the kill; the restarted one runs them, and every order must
// end confirmed with its confirmation sent: the jobs committed with the
// orders survived the crash.
func TestCrashSafetySIGKILLDuringCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it against PostgreSQL")
	}
	dbURL := testenv.Postgres(t)
	bin := opsBuild(t)
	env := opsEnv("ECOLAURA_DATABASE_URL="+dbURL, "ECOLAURA_RATE_LIMITS=off", "ECOLAURA_LOG_LEVEL=warn")
	opsRun(t, bin, env, "migrate", "up")
	out := opsRun(t, bin, env, "seed", "--products", "6", "--batch", "4")
	require.Contains(t, out, "seeded 6 products")

	db := opsSQL(t, dbURL)
	// Known stock, low enough that some checkouts run out (409s).
	_, err := db.Exec("UPDATE inventory_levels SET on_hand = 25")
	require.NoError(t, err)
	initial := opsStocks(t, db)
	require.Len(t, initial, 6)
	ids := make([]string, 0, len(initial))
	for id := range initial {
		ids = append(ids, id)
	}

	// No job workers before the crash: every order it leaves is pending.
	srv := opsServe(t, bin, append(env, "ECOLAURA_WORKERS=off"))
	proxy := startBlackholeProxy(t, strings.TrimPrefix(srv.base, "http://"))
	hc := &http.Client{Timeout: 10 * time.Second}
	const customers = 6
	tokens := make([]string, customers)
	for i := range tokens {
		tokens[i] = opsCustomer(t, hc, srv.base, fmt.Sprintf("crash%d@example.org", i), "crash-password-123")
	}

	// The load: each customer places orders of 1–3 distinct products of the
	// first five until the server dies (the sixth keeps its stock for the
	// lost response). Every request is recorded before it is sent.
	loadIDs, spare := ids[:5], ids[5]
	var (
		mu       sync.Mutex
		sent     = map[string]crashRequest{} // by "customer:key"
		unknown  = map[string]int{}          // requests without a response, by "customer:key" -> customer
		created  = map[string]string{}       // order id -> "customer:key"
		statuses = map[int]int{}
	)
	var ok, answered atomic.Int64
	var lost lostResponse
	const killAt = 40 // answered requests; about a quarter run out of stock
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for c := range customers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for n := 0; ctx.Err() == nil && n < 300; n++ {
				key := fmt.Sprintf("crash-%d-%d", c, n)
				req := crashRequest{}
				for _, k := range rng.Perm(len(loadIDs))[:1+rng.IntN(3)] {
					req.Lines = append(req.Lines, crashLine{VariantID: loadIDs[k], Quantity: 1 + rng.IntN(3)})
				}
				mu.Lock()
				sent[fmt.Sprint(c, ":", key)] = req
				mu.Unlock()
				r, err := opsDo(context.Background(), hc, "POST", srv.base+"/api/v2/orders", tokens[c], map[string]string{"Idempotency-Key": key}, req)
				mu.Lock()
				if err != nil {
					unknown[fmt.Sprint(c, ":", key)] = c
					mu.Unlock()
					return // the server is gone
				}
				statuses[r.Status]++
				if r.Status == http.StatusCreated {
					created[r.Body["id"].(string)] = fmt.Sprint(c, ":", key)
				}
				mu.Unlock()
				if r.Status == http.StatusCreated {
					ok.Add(1)
				}
				if answered.Add(1) == killAt {
					lost = killAfterLostResponse(t, srv, proxy, db, tokens[0], "lost-response",
						crashRequest{Lines: []crashLine{{VariantID: spare, Quantity: 2}}})
					mu.Lock()
					sent["0:lost-response"] = lost.req
					unknown["0:lost-response"] = 0
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	stop()
	t.Logf("before the kill: %d orders created, statuses %v, %d requests without a response", ok.Load(), statuses, len(unknown))
	require.GreaterOrEqual(t, answered.Load(), int64(killAt), "the load never reached the kill point")
	require.NotZero(t, ok.Load(), "no order was created")
	assert.Zero(t, statuses[http.StatusInternalServerError], "no 500 before the crash")

	require.NotEmpty(t, lost.orderID, "the lost-response checkout was committed before the kill")
	crashCheck(t, db, initial, sent, created)
	var orders, pending int
	require.NoError(t, db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM orders`).Scan(&orders, &pending))
	require.Equal(t, orders, pending, "without workers, every order is still pending at the kill")

	// Restart: the same database, a new process (and signing key), with
	// job workers.
	srv2 := opsServe(t, bin, env)
	for c := range customers {
		tokens[c] = opsToken(t, hc, srv2.base, fmt.Sprintf("crash%d@example.org", c), "crash-password-123")
	}
	// Retry every request the crash left without an answer, same key and
	// body: it was either committed (the stored order comes back) or not
	// (it is placed now); never twice.
	retried := map[int]int{}
	for ck, c := range unknown {
		key := ck[len(fmt.Sprint(c, ":")):]
		r, err := opsDo(context.Background(), hc, "POST", srv2.base+"/api/v2/orders", tokens[c], map[string]string{"Idempotency-Key": key}, sent[ck])
		require.NoError(t, err)
		require.Contains(t, []int{http.StatusCreated, http.StatusOK, http.StatusConflict}, r.Status, "retry %s: %s", key, r.Raw)
		retried[r.Status]++
		if r.Header.Get("Idempotent-Replayed") == "true" {
			retried[0]++
		}
		if r.Status != http.StatusConflict {
			created[r.Body["id"].(string)] = ck
		}
		if ck == "0:lost-response" {
			assert.Equal(t, http.StatusCreated, r.Status, "a replay repeats the original status: %s", r.Raw)
			assert.Equal(t, "true", r.Header.Get("Idempotent-Replayed"), "the retry of the committed checkout is a replay")
			assert.Equal(t, lost.orderID, r.Body["id"], "the replay returns the order committed before the kill")
		}
	}
	assert.Contains(t, unknown, "0:lost-response")
	assert.GreaterOrEqual(t, retried[0], 1, "at least one retry replayed an order committed before the kill")
	t.Logf("retries after the restart: statuses %v (0 counts replays of orders committed before the crash)", retried)
	// The restarted server serves reads and new orders.
	r, err := opsDo(context.Background(), hc, "GET", srv2.base+"/readyz", "", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r, err = opsDo(context.Background(), hc, "GET", srv2.base+"/api/v2/products?limit=10", "", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	assert.Len(t, r.Body["items"], 6)
	last := crashRequest{Lines: []crashLine{{VariantID: ids[0], Quantity: 1}}}
	sent["0:after-restart"] = last
	r, err = opsDo(context.Background(), hc, "POST", srv2.base+"/api/v2/orders", tokens[0], map[string]string{"Idempotency-Key": "after-restart"}, last)
	require.NoError(t, err)
	require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, r.Status, "%s", r.Raw)
	if r.Status == http.StatusCreated {
		created[r.Body["id"].(string)] = "0:after-restart"
	}

	crashCheck(t, db, initial, sent, created)

	// The restarted server's workers run the jobs committed before the
	// crash: every order ends confirmed, its confirmation sent once.
	require.Eventually(t, func() bool {
		var left int
		err := db.QueryRow(`SELECT count(*) FROM orders
			WHERE status <> 'confirmed' OR confirmation_sent_at IS NULL`).Scan(&left)
		return err == nil && left == 0
	}, 60*time.Second, 100*time.Millisecond, "orders pending at the crash are confirmed after the restart")
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM orders`).Scan(&orders))
	t.Logf("%d orders confirmed after the restart (%d were pending at the kill)", orders, pending)
}

// lostResponse is the checkout whose response the crash swallowed.
type lostResponse struct {
	req     crashRequest
	orderID string // committed before the kill
}

// killAfterLostResponse sends req with key for the customer of token
// through a proxy that withholds the server's responses, waits until its
// order is committed (seen in SQL), SIGKILLs the server and checks that the
// client got no answer: committed before the kill, response lost. The
// proxy is a startBlackholeProxy in front of srv. It may run on any
// goroutine (it reports with t.Errorf only).
func killAfterLostResponse(t *testing.T, srv *opsServer, proxy string, db *sql.DB, token, key string, req crashRequest) lostResponse {
	t.Helper()
	answer := make(chan error, 1)
	go func() {
		hc := &http.Client{Timeout: time.Minute}
		_, err := opsDo(context.Background(), hc, "POST", "http://"+proxy+"/api/v2/orders", token, map[string]string{"Idempotency-Key": key}, req)
		answer <- err
	}()
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.QueryRow(`SELECT id::text FROM orders WHERE idempotency_key = $1`, key).Scan(&id)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) || time.Now().After(deadline) {
			t.Errorf("the checkout through the proxy was never committed: %v", err)
			srv.kill(t)
			return lostResponse{req: req}
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.kill(t)
	if err := <-answer; err == nil {
		t.Errorf("the client of the committed checkout got an answer despite the proxy")
	}
	return lostResponse{req: req, orderID: id}
}

// startBlackholeProxy forwards TCP connections to upstream but never
// returns a byte of the upstream's replies; a client connection closes when
// its upstream connection does. It returns the proxy's address.
func startBlackholeProxy(t *testing.T, upstream string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = c.Close()
				continue
			}
			go func() { _, _ = io.Copy(u, c) }()
			go func() {
				_, _ = io.Copy(io.Discard, u) // the response is swallowed
				_ = c.Close()
				_ = u.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// crashCheck verifies the invariants in SQL: no order without lines; every
// order has exactly the lines of the request its idempotency key names
// (line numbers 0..n-1, subtotal = sum of the line totals); every order
// the API reported exists; stock + units sold == initial stock.
func crashCheck(t *testing.T, db *sql.DB, initial map[string]int, sent map[string]crashRequest, created map[string]string) {
	t.Helper()
	var orphans int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)`).Scan(&orphans))
	assert.Zero(t, orphans, "orders without lines")

	rows, err := db.Query(`
		SELECT o.id::text, u.email, o.idempotency_key, o.subtotal_minor,
		       count(l.*), coalesce(sum(l.total_minor), 0), coalesce(max(l.line_no), -1), coalesce(sum(l.quantity), 0)
		FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN order_lines l ON l.order_id = o.id
		GROUP BY o.id, u.email`)
	require.NoError(t, err)
	defer rows.Close()
	seen := map[string]bool{}
	n := 0
	for rows.Next() {
		var id, email, key string
		var subtotal, lineTotal int64
		var lines, maxNo, units int
		require.NoError(t, rows.Scan(&id, &email, &key, &subtotal, &lines, &lineTotal, &maxNo, &units))
		n++
		seen[id] = true
		var c int
		_, err := fmt.Sscanf(email, "crash%d@example.org", &c)
		require.NoError(t, err, email)
		req, ok := sent[fmt.Sprint(c, ":", key)]
		if !assert.True(t, ok, "order %s has key %q that was never sent", id, key) {
			continue
		}
		wantUnits := 0
		for _, l := range req.Lines {
			wantUnits += l.Quantity
		}
		assert.Equal(t, len(req.Lines), lines, "order %s (%s): line count", id, key)
		assert.Equal(t, lines-1, maxNo, "order %s: line numbers 0..n-1", id)
		assert.Equal(t, subtotal, lineTotal, "order %s: subtotal = sum of its lines", id)
		assert.Equal(t, wantUnits, units, "order %s (%s): units", id, key)
	}
	require.NoError(t, rows.Err())
	for id, key := range created {
		assert.True(t, seen[id], "order %s (%s) was reported created but is not stored", id, key)
	}

	sold := map[string]int{}
	srows, err := db.Query(`SELECT l.product_id::text, sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE o.status <> 'cancelled' GROUP BY l.product_id`)
	require.NoError(t, err)
	defer srows.Close()
	for srows.Next() {
		var id string
		var q int
		require.NoError(t, srows.Scan(&id, &q))
		sold[id] = q
	}
	require.NoError(t, srows.Err())
	stock := opsStocks(t, db)
	for id, init := range initial {
		assert.Equal(t, init, stock[id]+sold[id], "product %s: stock %d + sold %d must equal the initial %d", id, stock[id], sold[id], init)
	}
	t.Logf("checked %d orders; units sold %v", n, sold)
}
