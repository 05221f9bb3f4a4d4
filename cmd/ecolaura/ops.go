package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// defaultOpsAddr is the default of ECOLAURA_OPS_ADDR: the loopback
// interface, so that nothing outside the host reaches the metrics unless
// the operator says so (the image sets :9090, reached on the container's
// own address).
const defaultOpsAddr = "127.0.0.1:9090"

// opsConfig is the operations listener of serve and worker: /metrics,
// /healthz, /readyz and, when PProf is set, /debug/pprof/.
type opsConfig struct {
	// Addr is ECOLAURA_OPS_ADDR; "" (from "off") runs no listener.
	Addr  string
	PProf bool
	// bound, when not nil, receives the address the listener bound (tests
	// give port 0).
	bound func(addr string)
}

// opsFlags registers --ops-addr and --pprof with their environment
// variables as defaults. Call finish after parsing.
func opsFlags(fs *flag.FlagSet, env getenv) (finish func(errs *[]error) opsConfig) {
	addr := or(env("ECOLAURA_OPS_ADDR"), defaultOpsAddr)
	pprofSetting := env("ECOLAURA_PPROF")
	fs.StringVar(&addr, "ops-addr", addr, "address of the operations listener serving /metrics, /healthz and /readyz (and /debug/pprof/ with --pprof); off for none; keep it away from the public (ECOLAURA_OPS_ADDR)")
	pprofFlag := boolSetting{name: "ECOLAURA_PPROF / --pprof"}
	pprofFlag.set(pprofSetting)
	fs.Var(&pprofFlag, "pprof", "serve net/http/pprof under /debug/pprof/ on the operations listener: 1/0, true/false or on/off (ECOLAURA_PPROF)")
	return func(errs *[]error) opsConfig {
		c := opsConfig{Addr: addr, PProf: pprofFlag.value}
		if pprofFlag.err != nil {
			*errs = append(*errs, pprofFlag.err)
		}
		if strings.EqualFold(addr, "off") {
			c.Addr = ""
			if c.PProf {
				*errs = append(*errs, errors.New("ECOLAURA_PPROF / --pprof needs the operations listener: set ECOLAURA_OPS_ADDR (e.g. 127.0.0.1:9090), not off"))
			}
			return c
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			*errs = append(*errs, fmt.Errorf("ECOLAURA_OPS_ADDR / --ops-addr: want host:port like 127.0.0.1:9090 (or off), got %q", addr))
		}
		return c
	}
}

// readiness answers /readyz: whether the process takes work, and the body.
type readiness func(ctx context.Context) (bool, any)

// opsListener is a running operations listener.
type opsListener struct {
	srv  *http.Server
	done chan error
}

// startOps listens on cfg.Addr and serves the operations endpoints until
// the returned server is shut down. A nil server (and no error) means the
// listener is off.
func startOps(cfg opsConfig, reg *prometheus.Registry, ready readiness, log *slog.Logger) (*opsListener, error) {
	if cfg.Addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("operations listener on %s (ECOLAURA_OPS_ADDR): %w", cfg.Addr, err)
	}
	o := &opsListener{done: make(chan error, 1), srv: &http.Server{
		Handler: opsHandler(cfg, reg, ready), ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout: 2 * time.Minute, // a CPU profile takes 30 s by default
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() { o.done <- o.srv.Serve(ln) }()
	log.Info("operations listener", slog.String("addr", ln.Addr().String()), slog.Bool("pprof", cfg.PProf),
		slog.String("metrics", "http://"+ln.Addr().String()+"/metrics"))
	if cfg.bound != nil {
		cfg.bound(ln.Addr().String())
	}
	return o, nil
}

// Shutdown stops the listener, waiting for scrapes in flight until ctx
// ends.
func (o *opsListener) Shutdown(ctx context.Context) error {
	if o == nil {
		return nil
	}
	err := o.srv.Shutdown(ctx)
	if serr := <-o.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// opsHandler routes the operations endpoints.
func opsHandler(cfg opsConfig, reg *prometheus.Registry, ready readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeOpsJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": appVersion()})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, body := ready(r.Context())
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		writeOpsJSON(w, status, body)
	})
	if cfg.PProf {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func writeOpsJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// boolSetting is a boolean setting from the environment and a flag that
// accepts 1/0, true/false and on/off (any case) and refuses anything else;
// a bare --flag is true.
type boolSetting struct {
	name  string
	value bool
	err   error
}

// parseSwitch parses a boolean switch: 1, true, on / 0, false, off (any
// case, surrounding spaces ignored).
func parseSwitch(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "on":
		return true, nil
	case "0", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("want 1/0, true/false or on/off, got %q", s)
}

func (b *boolSetting) set(s string) {
	if s == "" {
		return
	}
	v, err := parseSwitch(s)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", b.name, err)
		return
	}
	b.value, b.err = v, nil
}

// Set implements flag.Value; a bad value is reported with the others
// after parsing.
func (b *boolSetting) Set(s string) error {
	b.set(s)
	if s == "" {
		b.err = fmt.Errorf("%s: want 1/0, true/false or on/off, got \"\"", b.name)
	}
	return nil
}

func (b *boolSetting) String() string {
	if b == nil {
		return "false"
	}
	return fmt.Sprint(b.value)
}

// IsBoolFlag lets --flag stand for --flag=true.
func (b *boolSetting) IsBoolFlag() bool { return true }
