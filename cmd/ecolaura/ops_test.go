package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// httpGet returns the status and body of a GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestOpsConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    opsConfig
		wantErr string
	}{
		{name: "default on the loopback interface", env: map[string]string{"ECOLAURA_OPS_ADDR": ""}, want: opsConfig{Addr: "127.0.0.1:9090"}},
		{name: "environment", env: map[string]string{"ECOLAURA_OPS_ADDR": ":9191", "ECOLAURA_PPROF": "on"}, want: opsConfig{Addr: ":9191", PProf: true}},
		{name: "pprof 1", env: map[string]string{"ECOLAURA_PPROF": "1"}, want: opsConfig{Addr: "127.0.0.1:0", PProf: true}},
		{name: "pprof FALSE", env: map[string]string{"ECOLAURA_PPROF": "FALSE"}, want: opsConfig{Addr: "127.0.0.1:0"}},
		{name: "flags win", env: map[string]string{"ECOLAURA_PPROF": "off"}, args: []string{"--ops-addr", "127.0.0.1:9999", "--pprof"}, want: opsConfig{Addr: "127.0.0.1:9999", PProf: true}},
		{name: "flag false", env: map[string]string{"ECOLAURA_PPROF": "on"}, args: []string{"--pprof=off"}, want: opsConfig{Addr: "127.0.0.1:0"}},
		{name: "off", env: map[string]string{"ECOLAURA_OPS_ADDR": "off"}, want: opsConfig{}},
		{name: "pprof needs the listener", env: map[string]string{"ECOLAURA_OPS_ADDR": "off", "ECOLAURA_PPROF": "1"}, wantErr: "ECOLAURA_PPROF / --pprof needs the operations listener"},
		{name: "bad pprof", env: map[string]string{"ECOLAURA_PPROF": "yes please"}, wantErr: `ECOLAURA_PPROF / --pprof: want 1/0, true/false or on/off, got "yes please"`},
		{name: "bad pprof flag", args: []string{"--pprof=maybe"}, wantErr: `ECOLAURA_PPROF / --pprof: want 1/0, true/false or on/off, got "maybe"`},
		{name: "bad address", env: map[string]string{"ECOLAURA_OPS_ADDR": "9090"}, wantErr: "ECOLAURA_OPS_ADDR / --ops-addr: want host:port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range []string{"serve", "worker"} {
				env := map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1/x"}
				for k, v := range tc.env {
					env[k] = v
				}
				fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				var got opsConfig
				var err error
				if cmd == "serve" {
					var c serveConfig
					c, err = loadServeConfig(tc.args, envOf(env), fs)
					got = c.Ops
				} else {
					var c workerConfig
					c, err = loadWorkerConfig(tc.args, envOf(env), fs)
					got = c.Ops
				}
				if tc.wantErr != "" {
					require.Error(t, err, cmd)
					assert.Contains(t, err.Error(), tc.wantErr, cmd)
					continue
				}
				require.NoError(t, err, cmd)
				assert.Equal(t, tc.want, got, cmd)
			}
		})
	}
}

// TestOpsListener: serve's operations listener has the metrics the API
// port no longer serves, the probes, and pprof only when asked for.
func TestOpsListener(t *testing.T) {
	for _, pprofOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "without pprof", true: "with pprof"}[pprofOn], func(t *testing.T) {
			env := map[string]string{"ECOLAURA_LOG_FORMAT": "json"}
			if pprofOn {
				env["ECOLAURA_PPROF"] = "1"
			}
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, envOf(env), fs)
			require.NoError(t, err)
			opsBound := make(chan string, 1)
			cfg.Ops.bound = func(a string) { opsBound <- a }
			ctx, cancel := context.WithCancel(context.Background())
			var logs syncBuf
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- runServer(ctx, cfg, &logs, ready) }()
			var api string
			select {
			case api = <-ready:
			case err := <-done:
				t.Fatalf("serve: %v\n%s", err, logs.String())
			}
			ops := "http://" + <-opsBound
			api = "http://" + api

			st, body := httpGet(t, api+"/api/v2/products?limit=1")
			require.Equal(t, http.StatusOK, st, body)
			st, body = httpGet(t, ops+"/metrics")
			require.Equal(t, http.StatusOK, st)
			assert.Contains(t, body, `ecolaura_http_requests_total{method="GET",route="/api/v2/products",status="200"} 1`)
			assert.Contains(t, body, "go_goroutines")
			st, body = httpGet(t, api+"/metrics")
			assert.Equal(t, http.StatusNotFound, st, "the API port serves no metrics")
			assert.NotContains(t, body, "go_goroutines")

			st, body = httpGet(t, ops+"/healthz")
			assert.Equal(t, http.StatusOK, st)
			assert.Contains(t, body, `"status":"ok"`)
			st, body = httpGet(t, ops+"/readyz")
			assert.Equal(t, http.StatusOK, st, body)
			assert.JSONEq(t, `{"status":"ok","checks":{"database":"ok"}}`, body)

			st, body = httpGet(t, ops+"/debug/pprof/")
			if pprofOn {
				assert.Equal(t, http.StatusOK, st)
				assert.Contains(t, body, "goroutine")
				st, _ = httpGet(t, ops+"/debug/pprof/heap")
				assert.Equal(t, http.StatusOK, st)
			} else {
				assert.Equal(t, http.StatusNotFound, st, "pprof is off unless ECOLAURA_PPROF is set")
			}
			st, _ = httpGet(t, api+"/debug/pprof/")
			assert.Equal(t, http.StatusNotFound, st, "never on the API port")

			cancel()
			require.NoError(t, <-done)
			// Durations in logs are Go duration strings, never nanoseconds.
			var sawDuration bool
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
				for _, k := range []string{"duration", "took", "timeout"} {
					if v, ok := rec[k]; ok {
						sawDuration = true
						s, isString := v.(string)
						require.True(t, isString, "%s is a duration string in %s", k, line)
						_, err := time.ParseDuration(s)
						assert.NoError(t, err, line)
					}
				}
			}
			assert.True(t, sawDuration, "the log has durations: %s", logs.String())
		})
	}
}

// TestOpsListenerAddressTaken: a port already in use stops the start,
// naming the variable.
func TestOpsListenerAddressTaken(t *testing.T) {
	taken := freeAddr(t)
	hold, err := net.Listen("tcp", taken)
	require.NoError(t, err)
	t.Cleanup(func() { _ = hold.Close() })
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0", "--ops-addr", taken}, envOf(nil), fs)
	require.NoError(t, err)
	err = runServer(context.Background(), cfg, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ECOLAURA_OPS_ADDR")
}

// TestLoggerDurations: whatever a component logs with slog.Duration comes
// out as a Go duration string in JSON too.
func TestLoggerDurations(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(serveConfig{LogFormat: "json", LogLevel: "info"}, &buf)
	log.Info("x", slog.Duration("took", 1500*time.Millisecond), slog.Group("g", slog.Duration("d", time.Second)))
	assert.Contains(t, buf.String(), `"took":"1.5s"`)
	assert.Contains(t, buf.String(), `"g":{"d":"1s"}`)
}
