package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
)

// keepAliveConn is a raw HTTP/1.1 client connection, so that a test decides
// exactly when requests are sent on it and sees when the server closes it.
type keepAliveConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialKeepAlive(t *testing.T, addr string) *keepAliveConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &keepAliveConn{t: t, conn: c, br: bufio.NewReader(c)}
}

// get sends GET path and returns the response with its body read.
func (k *keepAliveConn) get(path string) (*http.Response, map[string]any) {
	k.t.Helper()
	require.NoError(k.t, k.conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := io.WriteString(k.conn, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
	require.NoError(k.t, err)
	resp, err := http.ReadResponse(k.br, nil)
	require.NoError(k.t, err, "GET %s", path)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(k.t, err)
	var body map[string]any
	require.NoError(k.t, json.Unmarshal(raw, &body), "%s", raw)
	return resp, body
}

// closedByServer reports whether the server closed the connection (EOF or
// reset) within d.
func (k *keepAliveConn) closedByServer(d time.Duration) bool {
	k.t.Helper()
	require.NoError(k.t, k.conn.SetReadDeadline(time.Now().Add(d)))
	_, err := k.br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	require.Error(k.t, err, "the server sent bytes nobody asked for")
	return true
}

// TestDrainHandsConnectionsOver walks Server.Drain's steps: readiness fails
// and responses close their connection while new connections are still
// accepted for the delay; then new connections are refused, but a
// keep-alive connection the client still holds is served once more (and
// closed after that response) instead of being closed under it; Drain ends
// as soon as the clients closed their connections, long before the idle
// timeout.
func TestDrainHandsConnectionsOver(t *testing.T) {
	h := newHarness(t)
	addr := strings.TrimPrefix(h.listen(), "http://")

	reused := dialKeepAlive(t, addr)
	resp, _ := reused.get("/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.False(t, resp.Close, "keep-alive before the drain")
	quiet := dialKeepAlive(t, addr)
	resp, body := quiet.get("/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok", body["status"])

	const delay, idleTimeout = time.Second, 10 * time.Second // the delay leaves room for a busy machine
	start := time.Now()
	drained := make(chan error, 1)
	go func() {
		drained <- h.srv.Drain(context.Background(), httpapi.DrainConfig{Delay: delay, IdleTimeout: idleTimeout})
	}()

	// During the delay: new connections are served, readiness fails, and
	// every response says the connection closes.
	require.Eventually(t, func() bool {
		k := dialKeepAlive(t, addr)
		// Closed by the client: a connection answered before the drain
		// began stays open otherwise, and Drain waits for it.
		defer k.conn.Close()
		resp, body := k.get("/readyz")
		return resp.StatusCode == http.StatusServiceUnavailable && body["status"] == "draining" && resp.Close
	}, delay/2, 5*time.Millisecond, "readiness fails as soon as the drain starts")
	ready := h.do(req{Path: "/readyz"}) // checked against the OpenAPI document
	assert.Equal(t, http.StatusServiceUnavailable, ready.Status)
	assert.Equal(t, "draining", ready.JSON(t)["status"])
	fresh := dialKeepAlive(t, addr)
	resp, _ = fresh.get("/healthz")
	require.Less(t, time.Since(start), delay, "still within the delay")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "liveness does not fail during a drain")
	assert.True(t, resp.Close, "Connection: close during the drain")
	assert.True(t, fresh.closedByServer(time.Second), "the server closes a connection after a Connection: close response")

	// After the delay: refused.
	var refusedAt time.Duration
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refusedAt = time.Since(start)
			return true
		}
		_ = c.Close()
		return false
	}, 3*time.Second, 5*time.Millisecond, "new connections are refused after the delay")
	assert.GreaterOrEqual(t, refusedAt, delay, "connections were accepted for the whole delay")

	// The held keep-alive connections are still open: the client may be
	// sending on them right now.
	assert.False(t, reused.closedByServer(100*time.Millisecond), "an idle connection is left to its client")
	resp, _ = reused.get("/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a request on a held connection after the listener closed is served")
	assert.True(t, resp.Close, "and told that the connection closes")
	assert.True(t, reused.closedByServer(time.Second))

	select {
	case err := <-drained:
		t.Fatalf("Drain returned while a client still held a connection: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, quiet.conn.Close(), "the client closes its idle connection (as nginx does after its keep-alive timeout)")
	select {
	case err := <-drained:
		require.NoError(t, err)
		assert.Less(t, time.Since(start), idleTimeout/2, "Drain ends once the clients closed their connections")
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return after the last connection closed")
	}
}

// TestDrainIdleTimeout: a connection its client keeps idle is closed by the
// server after the idle timeout, or at once without one.
func TestDrainIdleTimeout(t *testing.T) {
	tests := []struct {
		name        string
		idleTimeout time.Duration
	}{
		{"after the idle timeout", 300 * time.Millisecond},
		{"at once without an idle timeout", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			addr := strings.TrimPrefix(h.listen(), "http://")
			idle := dialKeepAlive(t, addr)
			resp, _ := idle.get("/healthz")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			start := time.Now()
			require.NoError(t, h.srv.Drain(context.Background(), httpapi.DrainConfig{IdleTimeout: tc.idleTimeout}))
			took := time.Since(start)
			assert.GreaterOrEqual(t, took, tc.idleTimeout)
			assert.Less(t, took, tc.idleTimeout+2*time.Second)
			assert.True(t, idle.closedByServer(time.Second), "the idle connection is closed")
		})
	}
}

// gatedListener holds Accept until open is closed: connections clients
// make meanwhile wait in the kernel's accept queue, as they do on a busy
// server between two Accept calls.
type gatedListener struct {
	*net.TCPListener
	open chan struct{}
}

func (g *gatedListener) Accept() (net.Conn, error) {
	<-g.open
	return g.TCPListener.Accept()
}

// TestDrainServesQueuedConnections: a connection the kernel completed but
// the server had not accepted yet when the drain began is accepted and
// answered (with "Connection: close"), not reset by closing the listener
// under it. A proxy has already sent its request on such a connection and
// does not retry a POST it sent (nginx: non_idempotent), so a reset there
// is a failed checkout during a rolling restart.
func TestDrainServesQueuedConnections(t *testing.T) {
	h := newHarness(t)
	tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	gate := &gatedListener{TCPListener: tl, open: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(gate) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.srv.Shutdown(ctx)
	})
	addr := tl.Addr().String()

	// Requests sent on connections still in the accept queue.
	queued := make([]*keepAliveConn, 3)
	for i := range queued {
		queued[i] = dialKeepAlive(t, addr)
		require.NoError(t, queued[i].conn.SetDeadline(time.Now().Add(5*time.Second)))
		_, err := io.WriteString(queued[i].conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
		require.NoError(t, err)
	}

	drained := make(chan error, 1)
	go func() { drained <- h.srv.Drain(context.Background(), httpapi.DrainConfig{}) }()
	require.Eventually(t, func() bool {
		ready, _ := h.srv.Ready(context.Background())
		return !ready
	}, 2*time.Second, time.Millisecond, "the drain started")
	time.Sleep(50 * time.Millisecond) // the drain is under way when the server gets to accept again
	close(gate.open)

	for i, k := range queued {
		resp, err := http.ReadResponse(k.br, nil)
		require.NoError(t, err, "queued connection %d: its request is answered, not reset", i)
		_, _ = io.Copy(io.Discard, resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.True(t, resp.Close, "and told that the connection closes")
	}
	select {
	case err := <-drained:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return")
	}
	require.NoError(t, <-served)
	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "the listener is closed after the drain")
}
