package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// pgBinDir holds Debian's PostgreSQL 15 server programs.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// privatePostgres is a PostgreSQL server that one test starts, stops and
// restarts; never the shared one on 5432.
type privatePostgres struct {
	dir, data, port string
	cred            *syscall.Credential // the postgres OS user, when running as root
	proc            *exec.Cmd
	exited          chan struct{}
}

// startPrivatePostgres initdbs a cluster into a fresh temporary folder and
// starts it on a free loopback port, as the postgres OS user when the test
// runs as root. The server is a direct child of the test (not daemonized by
// pg_ctl) that dies with the test binary even when it is killed; it is
// stopped and removed at cleanup.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	for _, p := range []string{"initdb", "postgres", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(pgBinDir, p)); err != nil {
			testenv.Unavailable(t, "PostgreSQL 15 server programs ("+pgBinDir+")", err)
		}
	}
	pg := &privatePostgres{}
	// Not t.TempDir(): its parents are private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "ecolaura-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "the postgres OS user", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	pg.dir, pg.data = dir, filepath.Join(dir, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	pg.port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())

	initdb := pg.cmd("initdb", "-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	out, err := initdb.CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)
	t.Cleanup(func() { pg.stop(t) })
	pg.start(t)
	return pg
}

// cmd runs one of the server programs, as the postgres user when root.
func (pg *privatePostgres) cmd(prog string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(pgBinDir, prog), args...)
	// The server dies with the test binary, however that ends.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: pg.cred}
	return c
}

// start starts the server and waits until it accepts connections.
func (pg *privatePostgres) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(pg.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer log.Close()
	pg.proc = pg.cmd("postgres", "-D", pg.data, "-p", pg.port, "-k", pg.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=50")
	pg.proc.Stdout, pg.proc.Stderr = log, log
	require.NoError(t, pg.proc.Start())
	exited := make(chan struct{})
	pg.exited = exited
	go func(c *exec.Cmd) { _ = c.Wait(); close(exited) }(pg.proc)
	require.Eventually(t, func() bool {
		select {
		case <-exited:
			return true // reported below
		default:
		}
		return exec.Command(filepath.Join(pgBinDir, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", pg.port).Run() == nil
	}, 60*time.Second, 50*time.Millisecond, "private PostgreSQL did not start")
	select {
	case <-exited:
		raw, _ := os.ReadFile(filepath.Join(pg.dir, "server.log"))
		t.Fatalf("private PostgreSQL exited at start:\n%s", raw)
	default:
	}
}

// stop shuts the server down immediately (SIGQUIT, what pg_ctl stop -m
// immediate sends: no shutdown checkpoint, like a crash) and waits for it.
func (pg *privatePostgres) stop(t *testing.T) {
	t.Helper()
	if pg.proc == nil {
		return
	}
	select {
	case <-pg.exited:
		return
	default:
	}
	_ = pg.proc.Process.Signal(syscall.SIGQUIT)
	select {
	case <-pg.exited:
	case <-time.After(30 * time.Second):
		_ = pg.proc.Process.Kill()
		<-pg.exited
	}
}

// url is the connection URL of the maintenance database.
func (pg *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + pg.port + "/postgres?sslmode=disable"
}

// TestPostgresRestartDuringLoad runs `ecolaura serve` on a private
// PostgreSQL, stops that PostgreSQL under a checkout load and checks that
// requests fail fast with 503 problem responses and /readyz says not ready;
// then starts PostgreSQL again and checks that the same server process
// recovers on its own: orders succeed, their jobs run, and /readyz is 200
// again.
func TestPostgresRestartDuringLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL and runs the binary")
	}
	pg := startPrivatePostgres(t)
	bin := opsBuild(t)
	env := opsEnv("ECOLAURA_DATABASE_URL="+pg.url(), "ECOLAURA_RATE_LIMITS=off", "ECOLAURA_LOG_LEVEL=warn")
	opsRun(t, bin, env, "migrate", "up")
	require.Contains(t, opsRun(t, bin, env, "seed"), "seeded")
	_, err := opsSQL(t, pg.url()).Exec("UPDATE inventory_levels SET on_hand = 100000") // the load never runs out
	require.NoError(t, err)
	srv := opsServe(t, bin, env)
	hc := &http.Client{Timeout: 15 * time.Second}
	token := opsCustomer(t, hc, srv.base, "outage@example.org", "outage-password-1")
	ctx := context.Background()
	r, err := opsDo(ctx, hc, "GET", srv.base+"/api/v2/products?limit=4&in_stock=true", "", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	items := r.Body["items"].([]any)
	require.Len(t, items, 4)
	var products []string
	for _, it := range items {
		products = append(products, it.(map[string]any)["id"].(string))
	}

	// order places one order with a fresh key and returns the response.
	var seq sync.Mutex
	n := 0
	order := func() (opsResponse, time.Duration, error) {
		seq.Lock()
		n++
		key := fmt.Sprintf("outage-%d", n)
		p := products[n%len(products)]
		seq.Unlock()
		start := time.Now()
		r, err := opsDo(ctx, hc, "POST", srv.base+"/api/v2/orders", token, map[string]string{"Idempotency-Key": key},
			map[string]any{"lines": []any{map[string]any{"product_id": p, "quantity": 1}}})
		return r, time.Since(start), err
	}
	ready := func() int {
		r, err := opsDo(ctx, hc, "GET", srv.base+"/readyz", "", nil, nil)
		require.NoError(t, err)
		return r.Status
	}
	require.Equal(t, http.StatusOK, ready())

	// Load from four goroutines through the whole outage.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		others   []string
		wg       sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				r, _, err := order()
				mu.Lock()
				if err != nil {
					others = append(others, err.Error())
				} else {
					statuses[r.Status]++
					if r.Status != http.StatusCreated && r.Status != http.StatusServiceUnavailable {
						others = append(others, fmt.Sprintf("%d %s", r.Status, r.Raw))
					}
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	defer func() { stopLoad(); wg.Wait() }()

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return statuses[http.StatusCreated] >= 10
	}, 30*time.Second, 10*time.Millisecond, "no orders before the outage")

	pg.stop(t)
	outageStart := time.Now()

	// During the outage: 503 problem responses, quickly, and not ready.
	var slowest time.Duration
	for i := range 5 {
		r, took, err := order()
		require.NoError(t, err, "request %d during the outage must be answered", i)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
		assert.Contains(t, r.ContentType, "application/problem+json")
		assert.Equal(t, float64(http.StatusServiceUnavailable), r.Body["status"], "%s", r.Raw)
		assert.Equal(t, "urn:ecolaura:problem:unavailable", r.Body["type"], "%s", r.Raw)
		slowest = max(slowest, took)
	}
	// v1 answers the same way in DRF's shape.
	r, err = opsDo(ctx, hc, "POST", srv.base+"/api/v1/orders/", token, nil,
		map[string]any{"items": []any{map[string]any{"product": products[0], "quantity": 1}}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	assert.NotEmpty(t, r.Body["detail"], "v1 503 has a DRF detail: %s", r.Raw)
	t.Logf("during the outage the slowest checkout answered 503 in %s", slowest)
	assert.Equal(t, http.StatusServiceUnavailable, ready(), "/readyz during the outage")
	// Reads of the catalog may still come from the cache; the health check
	// (liveness) stays up: the process itself is fine.
	r, err = opsDo(ctx, hc, "GET", srv.base+"/healthz", "", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.Status)

	time.Sleep(300 * time.Millisecond) // let the load see the outage too
	pg.start(t)
	t.Logf("PostgreSQL was down for %s", time.Since(outageStart).Round(time.Millisecond))

	// Recovery without restarting the server.
	require.Eventually(t, func() bool { return ready() == http.StatusOK }, 30*time.Second, 50*time.Millisecond, "/readyz did not recover")
	var recovered string
	require.Eventually(t, func() bool {
		r, _, err := order()
		if err == nil && r.Status == http.StatusCreated {
			recovered, _ = r.Body["id"].(string)
			return true
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "checkout did not recover")
	// The in-process River workers recovered too: the new order's job runs.
	require.Eventually(t, func() bool {
		r, err := opsDo(ctx, hc, "GET", srv.base+"/api/v2/orders/"+recovered, token, nil, nil)
		return err == nil && r.Body["status"] == "confirmed"
	}, 30*time.Second, 50*time.Millisecond, "the job runner did not recover: order %s stays pending", recovered)
	mu.Lock()
	before := statuses[http.StatusCreated]
	mu.Unlock()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return statuses[http.StatusCreated] >= before+10
	}, 30*time.Second, 10*time.Millisecond, "the load did not recover")
	stopLoad()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("load statuses: %v", statuses)
	assert.NotZero(t, statuses[http.StatusServiceUnavailable], "the load saw the outage as 503s")
	assert.Empty(t, others, "only 201 and 503 answers, never a dropped connection or a 500")
	select {
	case err := <-srv.exited:
		srv.exited <- err
		t.Fatalf("the server exited during the outage: %v", errors.Join(err))
	default:
	}
}
