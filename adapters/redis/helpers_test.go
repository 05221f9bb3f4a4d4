package redis

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/internal/testenv"
)

// discardLogger is for tests that do not look at logs.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// rawClient opens a plain rueidis client (no client-side cache) for test
// bookkeeping: inspecting keys, SCAN+DEL cleanup, INFO commandstats.
func rawClient(url string) (rueidis.Client, error) {
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.ForceSingleClient = true
	opt.DisableCache = true
	opt.Dialer.Timeout = 2 * time.Second
	return rueidis.NewClient(opt)
}

// sharedRedis returns the URL of the machine's shared Redis, or skips loudly
// (fails when ECOLAURA_REQUIRE_SERVICES=1) when it is unreachable.
func sharedRedis(t testing.TB) string {
	t.Helper()
	url := testenv.RedisURL()
	c, err := rawClient(url)
	if err != nil {
		testenv.Unavailable(t, "Redis", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		testenv.Unavailable(t, "Redis", err)
	}
	return url
}

// testPrefix returns a fresh random key prefix on url. When t ends, every key
// under it is deleted with SCAN + DEL, and t fails if any key is left.
// Register it before creating the clients that use it, so that they are
// closed (cleanups run last-in first-out) before the sweep.
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	prefix := testenv.RedisPrefix()
	t.Cleanup(func() {
		c, err := rawClient(url)
		if err != nil {
			t.Errorf("cleanup of %s: %v", prefix, err)
			return
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := deletePrefix(ctx, c, prefix); err != nil {
			t.Errorf("cleanup of %s: %v", prefix, err)
			return
		}
		left, err := scanPrefix(ctx, c, prefix)
		if assert.NoError(t, err) {
			assert.Empty(t, left, "keys left behind under %s", prefix)
		}
	})
	return prefix
}

// scanPrefix lists every key under prefix.
func scanPrefix(ctx context.Context, c rueidis.Client, prefix string) ([]string, error) {
	var keys []string
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			return nil, err
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys, nil
		}
	}
}

// deletePrefix deletes every key under prefix and returns how many it deleted.
func deletePrefix(ctx context.Context, c rueidis.Client, prefix string) (int, error) {
	keys, err := scanPrefix(ctx, c, prefix)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	n, err := c.Do(ctx, c.B().Del().Key(keys...).Build()).AsInt64()
	return int(n), err
}

// testTimeout is the call timeout of tests that are not about timeouts: the
// 2 CPUs of the test machine are shared by many test processes, and a
// 100 ms budget would turn scheduling delays into spurious outages.
const testTimeout = 2 * time.Second

// newTestCache returns a Cache on url under a fresh prefix (cleaned up at
// the end of t) with cfg's other fields.
func newTestCache(t testing.TB, url string, mutate func(*Config), opts ...Option) *Cache {
	t.Helper()
	cfg := DefaultConfig(url)
	cfg.Prefix = testPrefix(t, url)
	cfg.Timeout = testTimeout
	if mutate != nil {
		mutate(&cfg)
	}
	return openCache(t, cfg, opts...)
}

// openCache opens a Cache with exactly cfg and closes it at the end of t.
func openCache(t testing.TB, cfg Config, opts ...Option) *Cache {
	t.Helper()
	if len(opts) == 0 {
		opts = []Option{WithLogger(discardLogger())}
	}
	c, err := NewCache(context.Background(), cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// openLimiter opens a RateLimiter with cfg (Timeout defaulting to
// testTimeout) and closes it at the end of t.
func openLimiter(t testing.TB, cfg LimiterConfig, opts ...Option) *RateLimiter {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = testTimeout
	}
	if len(opts) == 0 {
		opts = []Option{WithLogger(discardLogger())}
	}
	l, err := NewRateLimiter(context.Background(), cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

// commandCalls returns the number of times Redis ran each command, from
// INFO commandstats (keys are lower-case command names such as "get").
func commandCalls(t testing.TB, c rueidis.Client) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.Do(ctx, c.B().Info().Section("commandstats").Build()).ToString()
	require.NoError(t, err)
	out := make(map[string]int64)
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, field := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				out[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return out
}

// privateRedis is a redis-server child process on a free port that a test
// may kill and restart; the shared Redis is never touched.
type privateRedis struct {
	t    testing.TB
	bin  string
	port int
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

// startPrivateRedis starts a private redis-server and stops it when t ends.
// Without a redis-server binary it skips loudly (or fails, when services are
// required).
func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server (for a private instance)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	p := &privateRedis{t: t, bin: bin, port: port, dir: t.TempDir()}
	t.Cleanup(p.kill)
	p.start()
	return p
}

// URL is the private server's URL.
func (p *privateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", p.port) }

// start runs redis-server on p's port and waits until it answers PING.
func (p *privateRedis) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Nil(p.t, p.cmd, "private redis already running")
	out := new(bytes.Buffer)
	cmd := exec.Command(p.bin,
		"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--dir", p.dir, "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = out, out
	// Should the test binary die without running its cleanups (a timeout
	// panic), take the server down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(p.t, cmd.Start())
	p.cmd, p.out = cmd, out

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := rawClient(p.URL())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = c.Do(ctx, c.B().Ping().Build()).Error()
			cancel()
			c.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("private redis-server on port %d did not start: %v\n%s", p.port, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// process returns the running server process.
func (p *privateRedis) process() *os.Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotNil(p.t, p.cmd, "private redis not running")
	return p.cmd.Process
}

// kill stops the server with SIGKILL and waits for it to exit.
func (p *privateRedis) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// logRecorder is a slog.Handler that keeps every record, for asserting that
// an outage is logged once.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many records at level contain substr in their message
// and have the attribute component=component.
func (h *logRecorder) count(level slog.Level, substr, component string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level != level || !strings.Contains(r.Message, substr) {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "component" && a.Value.String() == component {
				n++
				return false
			}
			return true
		})
	}
	return n
}

// eventually polls cond every millisecond until it holds or within passes,
// and reports whether it held.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}
