// Package httpapi presents the Ecolaura services over HTTP with Fiber: the
// Django-REST-Framework-compatible /api/v1, the modern /api/v2 (money
// objects, cursor pages, RFC 9457 problems, idempotent checkout), the
// probes /healthz and /readyz, and its own OpenAPI document at /openapi.yaml.
// Its Prometheus metrics are not on the API: serve [Metrics.Handler] on an
// operations listener (cmd/ecolaura does, on ECOLAURA_OPS_ADDR).
//
// The package is a thin presenter: authorization and every business rule
// live in the services it drives. Build a server with [New] (over a
// *shop.Shop, [ShopServices] gathers the services), serve it with
// [Server.Listen] or [Server.Serve], and stop it with [Server.Shutdown]. In
// a host program, mount [Server.App] in a Fiber app under any prefix, or
// serve [Server.Handler] from a net/http one (see mount.go).
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/otelfiber/v2"
	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/docs"
)

// Probe is a named readiness check, such as a database ping.
type Probe struct {
	Name  string
	Check func(ctx context.Context) error
}

// Server is the HTTP API: a configured Fiber app over the services.
type Server struct {
	cfg     Config
	svc     Services
	app     *fiber.App
	log     *slog.Logger
	metrics *Metrics
	proxies proxySet
	origins map[string]struct{}
	// publicURL is Config.PublicURL without its trailing slash;
	// allowedHosts the Host allow-list, nil when none is checked.
	publicURL    string
	allowedHosts []string
	lines        requestLines
	routes       []route
	version      string
	// tracer and propagator trace requests (see WithTracing); nil: off.
	tracer     trace.TracerProvider
	propagator propagation.TextMapPropagator
	// openAPIDoc is docs/openapi.yaml, served at /openapi.yaml with
	// openAPIETag.
	openAPIDoc  []byte
	openAPIETag string

	mu        sync.Mutex
	stopped   bool
	listeners []*lingerListener
	// open counts the connections accepted by Serve and not closed yet;
	// draining is set by Drain (see drain.go).
	open     atomic.Int64
	draining atomic.Bool
}

// Option configures optional parts of a [Server].
type Option func(*Server)

// WithLogger sets the logger of the access log and error reports (default:
// discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithMetrics uses m instead of a fresh set of metrics (so that the host
// serves them, with its other collectors, from one registry).
func WithMetrics(m *Metrics) Option {
	return func(s *Server) {
		if m != nil {
			s.metrics = m
		}
	}
}

// WithTracing traces every request with OpenTelemetry
// (github.com/gofiber/contrib/otelfiber): a server span named "METHOD
// /route/template" whose context the handlers, services and stores below
// receive, so their spans (SQL, Redis, job inserts) are its children. The
// trace context of an incoming W3C traceparent header (read with
// propagator; nil: W3C trace context and baggage) is the span's parent, and
// the response carries the span's traceparent. The access log line of the
// request is logged within the span's context.
func WithTracing(tp trace.TracerProvider, propagator propagation.TextMapPropagator) Option {
	return func(s *Server) {
		if tp == nil {
			return
		}
		if propagator == nil {
			propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
		}
		s.tracer, s.propagator = tp, propagator
	}
}

// WithVersion sets the version reported by /healthz.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// New validates cfg and deps and builds the server with every route.
// It returns an error, never panics, on an invalid configuration.
func New(cfg Config, deps Services, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("http config: %w", err)
	}
	if err := deps.Validate(); err != nil {
		return nil, fmt.Errorf("http services: %w", err)
	}
	proxies, _ := parseTrustedProxies(cfg.TrustedProxies)
	s := &Server{cfg: cfg, svc: deps, log: slog.New(slog.DiscardHandler), proxies: proxies, origins: map[string]struct{}{}, version: "dev",
		publicURL: normalizePublicURL(cfg.PublicURL), openAPIDoc: []byte(docs.OpenAPI())}
	s.openAPIETag = strongETag(s.openAPIDoc)
	switch {
	case len(cfg.AllowedHosts) > 0:
		s.allowedHosts = normalizeAllowedHosts(cfg.AllowedHosts)
	case s.publicURL == "":
		s.allowedHosts = defaultAllowedHosts()
	}
	for _, o := range cfg.CORSOrigins {
		s.origins[o] = struct{}{}
	}
	for _, o := range opts {
		o(s)
	}
	if s.metrics == nil {
		m, err := NewMetrics()
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.app = fiber.New(fiber.Config{
		AppName:                 "ecolaura",
		BodyLimit:               cfg.BodyLimit, // larger for an image upload: see headerReceived
		ReadTimeout:             cfg.ReadTimeout,
		WriteTimeout:            cfg.WriteTimeout,
		IdleTimeout:             cfg.IdleTimeout,
		DisableStartupMessage:   true,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          cfg.TrustedProxies,
		ErrorHandler:            s.handleError,
		JSONEncoder:             jsonMarshal,
		JSONDecoder:             json.Unmarshal,
		ReadBufferSize:          MaxHeaderBytes,
	})
	if s.tracer != nil {
		s.app.Use(otelfiber.Middleware(otelfiber.WithTracerProvider(s.tracer), otelfiber.WithPropagators(s.propagator),
			otelfiber.WithSpanNameFormatter(spanName)))
	}
	s.app.Use(s.outer)
	s.app.Use(s.cors)
	s.app.Use(s.jsonOnly)

	s.get(s.app, "/healthz", s.healthz)
	s.get(s.app, "/readyz", s.readyz)
	s.get(s.app, "/openapi.yaml", s.openAPI)
	s.registerAPI()
	s.app.Use(s.fallback)
	// Requests refused while being read, and methods Fiber does not know,
	// are answered through the pipeline too (see prerouting.go).
	srv := s.app.Server()
	srv.Handler = s.serveHTTP(s.app.Handler())
	srv.ErrorHandler = s.serverError
	srv.HeaderReceived = s.headerReceived
	s.app.Hooks().OnMount(s.onMount)
	return s, nil
}

// App returns the Fiber app, for tests with app.Test or for mounting in a
// host Fiber app under a prefix (host.Mount("/shop", srv.App())): the API
// then works relative to the prefix and keeps its limits and timeouts.
func (s *Server) App() *fiber.App { return s.app }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Routes lists the registered endpoints as "METHOD /path/template" in
// registration order (HEAD and OPTIONS are implied).
func (s *Server) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, r.method+" "+r.path)
	}
	return out
}

// Listen serves on addr until [Server.Shutdown].
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve serves on ln until [Server.Shutdown]; it returns nil after a
// shutdown. A Serve called after Shutdown closes ln and returns at once.
func (s *Server) Serve(ln net.Listener) error {
	wrapped := newLingerListener(ln, s.cfg.ReadTimeout, &s.open)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, wrapped)
	s.mu.Unlock()
	err := s.app.Listener(wrapped)
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for in-flight requests to
// finish, or for ctx to end. It is safe to call before or while Serve starts.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	lns := s.listeners
	s.mu.Unlock()
	err := s.app.ShutdownWithContext(ctx)
	// fasthttp only closes the listeners it already serves: close the
	// others (a Serve that had not reached Accept yet) too.
	for _, ln := range lns {
		_ = ln.Close()
	}
	return err
}

// handle registers a route and remembers its template for 405 answers, the
// metrics label and the OpenAPI coverage test.
func (s *Server) handle(r fiber.Router, method, path string, handlers ...fiber.Handler) {
	full := path
	if g, ok := r.(*fiber.Group); ok {
		full = g.Prefix + path
	}
	s.routes = append(s.routes, route{method: method, path: full, segs: splitPath(full)})
	tag := func(c *fiber.Ctx) error {
		c.Locals(keyRoute, full)
		return c.Next()
	}
	hs := append([]fiber.Handler{tag}, handlers...)
	if method == fiber.MethodGet {
		r.Add(fiber.MethodHead, path, hs...)
	}
	r.Add(method, path, hs...)
}

func (s *Server) get(r fiber.Router, path string, h ...fiber.Handler) {
	s.handle(r, fiber.MethodGet, path, h...)
}

// openAPI serves docs/openapi.yaml, the document of this API.
func (s *Server) openAPI(c *fiber.Ctx) error {
	doc, etag := s.openAPIDoc, s.openAPIETag
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, "public, no-cache")
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(http.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(doc)
}

func (s *Server) healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"status": "ok", "version": s.version})
}

// Readiness is the answer of /readyz: Status "ok", "unavailable" (a probe
// failed) or "draining" (see [Server.Drain]), and each probe's "ok" or
// "unavailable" by name (empty while draining).
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Ready reports whether the server takes traffic: false while draining,
// whatever the probes say; otherwise every probe runs concurrently, each
// bounded by 2 seconds (a failure is logged, never shown). /readyz answers
// it, and an operations listener can too.
func (s *Server) Ready(ctx context.Context) (bool, Readiness) {
	if s.draining.Load() {
		return false, Readiness{Status: "draining", Checks: map[string]string{}}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	results := make(map[string]string, len(s.svc.Probes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := true
	for _, p := range s.svc.Probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runProbe(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ok = false
				results[p.Name] = "unavailable"
				s.log.Warn("readiness probe failed", slog.String("probe", p.Name), slog.Any("err", err))
				return
			}
			results[p.Name] = "ok"
		}()
	}
	wg.Wait()
	if !ok {
		return false, Readiness{Status: "unavailable", Checks: results}
	}
	return true, Readiness{Status: "ok", Checks: results}
}

// readyz answers [Server.Ready]: 200, or 503 when not ready.
func (s *Server) readyz(c *fiber.Ctx) error {
	ok, r := s.Ready(c.UserContext())
	c.Set(fiber.HeaderCacheControl, "no-store")
	if !ok {
		c.Status(http.StatusServiceUnavailable)
	}
	return c.JSON(r)
}

// runProbe runs one check, turning a panic into a failure.
func runProbe(ctx context.Context, p Probe) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("probe %s panicked: %v", p.Name, r)
		}
	}()
	return p.Check(ctx)
}

// jsonMarshal encodes v without HTML escaping (URLs keep their "&") and
// without the encoder's trailing newline.
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
