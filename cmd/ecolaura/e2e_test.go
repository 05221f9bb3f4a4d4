package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEnd builds the binary, runs `ecolaura serve` on a free port with
// no configuration (in memory, demo catalog) and walks a customer's journey
// over real HTTP, then stops it with SIGTERM.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "ecolaura")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	addr := freeAddr(t)
	var logs syncBuf
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "ECOLAURA_ADDR="+addr, "ECOLAURA_OPS_ADDR=127.0.0.1:0", "ECOLAURA_ADMIN_EMAIL=admin@example.org", "ECOLAURA_ADMIN_PASSWORD=admin-password-123",
		"ECOLAURA_DATABASE_URL=", "ECOLAURA_REDIS_URL=", "ECOLAURA_ENV=", "ECOLAURA_JWT_KEY_FILE=")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	c := &client{t: t, base: base}

	start := time.Now()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "server did not come up")
	t.Logf("server ready after %s", time.Since(start))
	first, _, _ := strings.Cut(logs.String(), "\n")
	assert.Contains(t, first, "in-memory", "the first log line says it runs in memory")

	// Register, then sign in with the v1 (simplejwt) endpoint.
	st, _ := c.do("POST", "/api/v1/users/", "", nil, map[string]any{"email": "eve@example.org", "password": "eves-password-1", "name": "Eve"})
	require.Equal(t, http.StatusCreated, st)
	st, tok := c.do("POST", "/api/v1/token/", "", nil, map[string]any{"username": "eve@example.org", "password": "eves-password-1"})
	require.Equal(t, http.StatusOK, st)
	access, refresh := tok["access"].(string), tok["refresh"].(string)

	// Browse the demo catalog with a filter.
	st, page := c.do("GET", "/api/v2/products?category=kitchen&in_stock=true&sort=score&limit=3", "", nil, nil)
	require.Equal(t, http.StatusOK, st)
	items := page["items"].([]any)
	require.NotEmpty(t, items)
	product := items[0].(map[string]any)
	assert.Equal(t, "kitchen", product["category"])
	st, v1page := c.do("GET", "/api/v1/products/?category=kitchen", "", nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Greater(t, v1page["count"].(float64), 0.0)

	// Order, and see the background job confirm it.
	st, order := c.do("POST", "/api/v2/orders", access, map[string]string{"Idempotency-Key": "e2e-1"},
		map[string]any{"lines": []any{map[string]any{"product_id": product["id"], "quantity": 2}}})
	require.Equal(t, http.StatusCreated, st, "%v", order)
	id := order["id"].(string)
	require.Eventually(t, func() bool {
		_, o := c.do("GET", "/api/v2/orders/"+id, access, nil, nil)
		return o["status"] == "confirmed"
	}, 20*time.Second, 20*time.Millisecond, "the job did not confirm the order")

	// Cancel it: the stock comes back.
	st, cancelled := c.do("POST", "/api/v1/orders/"+id+"/cancel/", access, nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "cancelled", cancelled["status"])

	// Rotate the refresh token; reusing the old one is rejected.
	st, rotated := c.do("POST", "/api/v2/auth/refresh", "", nil, map[string]any{"refresh_token": refresh})
	require.Equal(t, http.StatusOK, st)
	require.NotEqual(t, refresh, rotated["refresh_token"])
	st, p := c.do("POST", "/api/v2/auth/refresh", "", nil, map[string]any{"refresh_token": refresh})
	assert.Equal(t, http.StatusUnauthorized, st)
	assert.Equal(t, "urn:ecolaura:problem:unauthenticated", p["type"])

	// The admin from the environment is staff.
	st, adminTok := c.do("POST", "/api/v2/auth/token", "", nil, map[string]any{"email": "admin@example.org", "password": "admin-password-123"})
	require.Equal(t, http.StatusOK, st)
	st, me := c.do("GET", "/api/v2/users/me", adminTok["access_token"].(string), nil, nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "staff", me["role"])

	// SIGTERM: a graceful stop with exit code 0.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		require.NoError(t, err, "exit status after SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30s of SIGTERM")
	}
	assert.Contains(t, logs.String(), "http server stopped")
	assert.Contains(t, logs.String(), "stopping job runner")
}

type client struct {
	t    *testing.T
	base string
}

func (c *client) do(method, path, token string, headers map[string]string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var m map[string]any
	if len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, &m), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode, m
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return fmt.Sprint(addr)
}
