package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the SQL checks
)

// Helpers of the operational tests (crash safety, PostgreSQL outage, seed,
// worker): they run the real binary as an operator would.

// opsBuild builds the ecolaura binary into a temporary folder.
func opsBuild(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "ecolaura")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// opsEnv is the environment of a child process: the test's own without any
// ECOLAURA_ setting, plus an operations listener on a port of its own
// (never the default 9090, which another process may hold), plus kv.
func opsEnv(kv ...string) []string {
	env := []string{"ECOLAURA_OPS_ADDR=127.0.0.1:0"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ECOLAURA_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// opsRun runs a short command of the binary and returns its stdout; it
// fails the test on a non-zero exit.
func opsRun(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "ecolaura %s: %s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	return stdout.String()
}

// opsLog collects a child's output safely across goroutines.
type opsLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *opsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *opsLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// opsServer is a running `ecolaura serve` process.
type opsServer struct {
	cmd    *exec.Cmd
	base   string
	log    *opsLog
	exited chan error
	once   sync.Once
	err    error
}

// opsFreeAddr returns a loopback address with a port that was free.
func opsFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// opsServe starts `ecolaura serve` on a free port and waits until /healthz
// answers. The process is killed at cleanup; its log is shown on failure.
func opsServe(t *testing.T, bin string, env []string) *opsServer {
	t.Helper()
	return opsStart(t, exec.Command(bin, "serve"), env)
}

// envHelperArgs carries the command line a child test process runs (see
// TestHelperProcess).
const envHelperArgs = "ECOLAURA_TEST_HELPER_ARGS"

// TestHelperProcess is not a test: in a child process started by
// helperServe or helperStart it runs the ecolaura command line in
// envHelperArgs exactly as the binary would, and exits with its code. It
// lets the operational tests SIGKILL a server or a worker without building
// the binary.
func TestHelperProcess(t *testing.T) {
	args := os.Getenv(envHelperArgs)
	if args == "" {
		t.Skip("runs only as a child process of the operational tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, strings.Fields(args), os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// helperCommand is the test binary re-run as TestHelperProcess alone.
func helperCommand() *exec.Cmd {
	return exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
}

// helperServe starts `ecolaura serve` as a child process (the test binary,
// see TestHelperProcess) on a free port and waits until /healthz answers.
func helperServe(t *testing.T, env []string) *opsServer {
	t.Helper()
	return opsStart(t, helperCommand(), append(append([]string{}, env...), envHelperArgs+"=serve"))
}

// helperWorker starts `ecolaura worker` as a child process and waits until
// it works jobs. It is killed at cleanup; its log is shown on failure.
func helperWorker(t *testing.T, env []string) *opsServer {
	t.Helper()
	s := &opsServer{log: &opsLog{}, exited: make(chan error, 1)}
	s.cmd = helperCommand()
	s.cmd.Env = append(append([]string{}, env...), envHelperArgs+"=worker")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, s.cmd.Start())
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		s.wait()
		if t.Failed() {
			t.Logf("worker log:\n%s", s.log.String())
		}
	})
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), "working jobs") },
		60*time.Second, 20*time.Millisecond, "worker did not start: %s", s.log.String())
	return s
}

// opsStart starts cmd (an `ecolaura serve`) with env on a free port and
// waits until /healthz answers. The process is killed at cleanup; its log
// is shown on failure.
func opsStart(t *testing.T, cmd *exec.Cmd, env []string) *opsServer {
	t.Helper()
	addr := opsFreeAddr(t)
	s := &opsServer{base: "http://" + addr, log: &opsLog{}, exited: make(chan error, 1)}
	s.cmd = cmd
	s.cmd.Env = append(append([]string{}, env...), "ECOLAURA_ADDR="+addr)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// The server dies with the test binary, however that ends.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, s.cmd.Start())
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		s.wait()
		if t.Failed() {
			t.Logf("server %s log:\n%s", addr, s.log.String())
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := hc.Get(s.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "server did not come up: %s", s.log.String())
	return s
}

// wait waits for the process to exit and returns its Wait error.
func (s *opsServer) wait() error {
	s.once.Do(func() { s.err = <-s.exited })
	return s.err
}

// kill sends SIGKILL and waits for the process to die. It is safe to call
// from any goroutine.
func (s *opsServer) kill(t *testing.T) {
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("SIGKILL: %v", err)
	}
	_ = s.wait()
}

// opsResponse is a decoded HTTP response.
type opsResponse struct {
	Status      int
	ContentType string
	Header      http.Header
	Body        map[string]any
	Raw         []byte
}

// opsDo sends a JSON request. It returns an error (never fails the test)
// so that load goroutines can see connection failures.
func opsDo(ctx context.Context, hc *http.Client, method, url, token string, headers map[string]string, body any) (opsResponse, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return opsResponse{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return opsResponse{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return opsResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return opsResponse{}, err
	}
	out := opsResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Header: resp.Header, Raw: raw}
	if len(raw) > 0 && strings.Contains(out.ContentType, "json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			return out, fmt.Errorf("%s %s: decode %q: %w", method, url, raw, err)
		}
	}
	return out, nil
}

// opsCustomer registers a customer and returns an access token.
func opsCustomer(t *testing.T, hc *http.Client, base, email, password string) string {
	t.Helper()
	ctx := context.Background()
	r, err := opsDo(ctx, hc, "POST", base+"/api/v2/auth/register", "", nil, map[string]any{"email": email, "password": password, "name": "Load Tester"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, r.Status, "register %s: %s", email, r.Raw)
	return opsToken(t, hc, base, email, password)
}

// opsToken signs in and returns an access token.
func opsToken(t *testing.T, hc *http.Client, base, email, password string) string {
	t.Helper()
	r, err := opsDo(context.Background(), hc, "POST", base+"/api/v2/auth/token", "", nil, map[string]any{"email": email, "password": password})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "token %s: %s", email, r.Raw)
	tok, _ := r.Body["access_token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

// opsSQL opens url with database/sql for the test's own checks.
func opsSQL(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// opsStocks returns every product's stock by ID.
func opsStocks(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query("SELECT v.product_id::text, coalesce(sum(l.on_hand), 0) FROM product_variants v LEFT JOIN inventory_levels l ON l.variant_id = v.id GROUP BY v.product_id")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var stock int
		require.NoError(t, rows.Scan(&id, &stock))
		out[id] = stock
	}
	require.NoError(t, rows.Err())
	return out
}

// opsGetenv is an environment of exactly m.
func opsGetenv(m map[string]string) getenv { return envOf(m) }
