package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
)

type localKey uint8

const (
	keyRequestID localKey = iota
	keyPrincipal
	keyRoute
	keyClientIP
	keyOrigin         // scheme://host of absolute URLs, from an allowed Host
	keyStrippedPrefix // path prefix a net/http host stripped (Handler)
	keyTLS            // the net/http host received the request over TLS (Handler)
)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-Id"

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(keyRequestID).(string)
	return id
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// outer is the first middleware of every routed request: it runs the
// request through [Server.pipeline] with the host check, the body limit and
// the rest of the chain (panics recovered) as the handler.
func (s *Server) outer(c *fiber.Ctx) error {
	return s.pipeline(c, s.admit)
}

// admit checks what must hold before any route runs, then runs the chain.
func (s *Server) admit(c *fiber.Ctx) error {
	if err := checkFraming(c); err != nil {
		return err
	}
	if err := s.checkHost(c); err != nil {
		return err
	}
	if err := s.checkBodyLimit(c); err != nil {
		return err
	}
	return s.recoverNext(c)
}

// checkFraming refuses a request whose body length is ambiguous, as RFC
// 9112 §6.3 requires, and closes its connection: Content-Length together
// with Transfer-Encoding (§6.1: a request smuggling vector when a proxy
// in front reads the other one), a Transfer-Encoding whose final coding is
// not chunked, or Content-Length lines (or list members) with different
// values. fasthttp reads such requests by its own choice (the chunked
// body, the last Content-Length) and keeps the connection open, so the
// raw header lines are checked here, before anything else. Repeating one
// value ("Content-Length: 5, 5") is allowed, as the RFC allows.
func checkFraming(c *fiber.Ctx) error {
	raw := c.Request().Header.RawHeaders()
	if len(raw) == 0 {
		return nil // not read from a wire (net/http host, tests): already checked
	}
	var lengths []string
	var codings []string
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(bytes.TrimSpace(name), []byte(fiber.HeaderContentLength)):
			for v := range strings.SplitSeq(string(value), ",") {
				lengths = append(lengths, strings.TrimSpace(v))
			}
		case bytes.EqualFold(bytes.TrimSpace(name), []byte(fiber.HeaderTransferEncoding)):
			for v := range strings.SplitSeq(string(value), ",") {
				if v = strings.TrimSpace(v); v != "" {
					codings = append(codings, strings.ToLower(v))
				}
			}
		}
	}
	bad := func(detail string) error {
		lingerOnClose(c.Context())
		c.Context().SetConnectionClose()
		return newHTTPError(http.StatusBadRequest, "bad-request", detail)
	}
	switch {
	case len(codings) > 0 && len(lengths) > 0:
		return bad("A request may not have both Content-Length and Transfer-Encoding (RFC 9112 section 6.1).")
	case len(codings) > 0 && codings[len(codings)-1] != "chunked":
		return bad("The final transfer coding of a request must be chunked (RFC 9112 section 6.3).")
	}
	for _, l := range lengths[min(1, len(lengths)):] {
		if l != lengths[0] {
			return bad("Content-Length has different values (RFC 9112 section 6.3).")
		}
	}
	return nil
}

// bodyLimit is the body limit of a request: [MaxUploadBody] for an image
// upload (or Config.BodyLimit when that is larger), Config.BodyLimit for
// every other.
func (s *Server) bodyLimit(method, path string) int {
	if isUpload(method, path) {
		return max(MaxUploadBody, s.cfg.BodyLimit)
	}
	return s.cfg.BodyLimit
}

// checkBodyLimit refuses a body over its limit (see bodyLimit). The listener refuses
// larger bodies while reading them; a host app that mounts the API may have
// read one under its own limit.
func (s *Server) checkBodyLimit(c *fiber.Ctx) error {
	if len(c.Request().Body()) > s.bodyLimit(c.Method(), s.apiPath(c)) {
		return newHTTPError(http.StatusRequestEntityTooLarge, "payload-too-large", "Request body is too large.")
	}
	return nil
}

// pipeline is what every response goes through, routed or not (an error
// raised while reading the request, before any route, comes here from
// [Server.handleError] and [Server.serverError]): request id, client IP,
// security and CORS headers, the per-request context with its timeout, the
// error rendering in the shape of the request's API version, the access log
// and the request metrics. Doing all of them in one place means every
// response, including errors and recovered panics, carries the headers and
// is logged and counted with its final status.
func (s *Server) pipeline(c *fiber.Ctx, next func(*fiber.Ctx) error) error {
	start := time.Now()
	id := string(c.Request().Header.Peek(HeaderRequestID))
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Locals(keyRequestID, id)
	c.Set(HeaderRequestID, id)
	ip := s.proxies.clientIP(c.Context().RemoteIP(), headerList(&c.Request().Header, fiber.HeaderXForwardedFor))
	c.Locals(keyClientIP, ip)
	s.securityHeaders(c)
	s.corsHeaders(c)

	// The request's context is the one before it (the tracing middleware's
	// span, a host app's when mounted): Background unless one was set.
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.HandlerTimeout)
	defer cancel()
	c.SetUserContext(ctx)

	if herr := next(c); herr != nil {
		if werr := s.handleError(c, herr); werr != nil {
			s.log.Error("write error response", slog.Any("err", werr))
		}
	}
	if s.draining.Load() {
		// The client must not send another request on this connection:
		// the server is about to close it (see Server.Drain).
		c.Response().SetConnectionClose()
	}
	status := c.Response().StatusCode()
	route, _ := c.Locals(keyRoute).(string)
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	if s.metrics != nil {
		s.metrics.observe(methodLabel(c.Request().Header.Method()), route, status, d)
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case route == "/healthz" || route == "/readyz":
		// Probes arrive every few seconds: keep them out of
		// the info log unless they fail.
		if status < 400 {
			level = slog.LevelDebug
		}
	}
	// Method and path are copied: Fiber's strings point into the request
	// buffer, which the next request on the connection overwrites, and a
	// handler may keep the record (batching, asynchronous handlers).
	s.log.LogAttrs(ctx, level, "request",
		slog.String("request_id", id),
		slog.String("method", strings.Clone(c.Method())),
		slog.String("path", strings.Clone(c.Path())),
		slog.String("route", route),
		slog.Int("status", status),
		// A Go duration string ("1.234ms"), never integer nanoseconds
		// (which slog.Duration becomes in JSON).
		slog.String("duration", d.String()),
		slog.Int("bytes", len(c.Response().Body())),
		slog.String("client_ip", ip),
	)
	return nil
}

// spanName names a request's span after its method and route template
// ("POST /api/v2/orders"), never its path, which holds IDs.
func spanName(c *fiber.Ctx) string {
	route, _ := c.Locals(keyRoute).(string)
	if route == "" {
		route = "unmatched"
	}
	return c.Method() + " " + route
}

// recoverNext runs the rest of the chain and turns a panic into an internal
// error whose details are logged, never sent.
func (s *Server) recoverNext(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", slog.String("request_id", requestID(c)), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			c.Response().Header.Del(fiber.HeaderContentType)
			c.Response().ResetBody()
			err = errPanic
		}
	}()
	return c.Next()
}

var errPanic = errors.New("recovered panic")

func (s *Server) securityHeaders(c *fiber.Ctx) {
	h := &c.Response().Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
	if s.scheme(c) == "https" {
		h.Set(fiber.HeaderStrictTransportSecurity, "max-age=63072000; includeSubDomains")
	}
}

// corsHeaders tags the response for an allowed origin (every response,
// errors included, so that a browser may read it).
func (s *Server) corsHeaders(c *fiber.Ctx) {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return
	}
	c.Vary(fiber.HeaderOrigin)
	if _, ok := s.origins[origin]; !ok {
		return
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Set(fiber.HeaderAccessControlExposeHeaders, "ETag, Location, Retry-After, X-Request-Id")
}

// cors answers preflights: 204 with the allowed methods and headers for an
// allowed origin, 403 for any other.
func (s *Server) cors(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || c.Method() != fiber.MethodOptions || c.Get(fiber.HeaderAccessControlRequestMethod) == "" {
		return c.Next()
	}
	if _, ok := s.origins[origin]; !ok {
		return newHTTPError(http.StatusForbidden, "cors-origin-not-allowed", "Origin not allowed.")
	}
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Request-Id")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	c.Vary(fiber.HeaderAccessControlRequestMethod, fiber.HeaderAccessControlRequestHeaders)
	return c.SendStatus(http.StatusNoContent)
}

// jsonOnly refuses request bodies that are not JSON with 415.
func (s *Server) jsonOnly(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch:
	default:
		return c.Next()
	}
	if isUpload(c.Method(), s.apiPath(c)) {
		if err := checkUploadType(c); err != nil {
			return err
		}
		return c.Next()
	}
	ct := c.Get(fiber.HeaderContentType)
	if ct == "" && len(c.Body()) == 0 {
		return c.Next()
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != fiber.MIMEApplicationJSON && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return newHTTPError(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Unsupported media type "+strconv.Quote(ct)+" in request.")
	}
	return c.Next()
}

// authenticate resolves the bearer token into the request's principal, as
// the account is now (Users.CurrentPrincipal: a disabled or deleted
// account's token is refused, a revoked staff role no longer counts). A
// missing token leaves the caller anonymous; a bad one is refused with 401.
func (s *Server) authenticate(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	if h == "" || credentialEndpoint(s.apiPath(c)) {
		return c.Next()
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return unauthenticated("Authorization header must be: Bearer <token>.")
	}
	p, err := s.svc.Tokens.Verify(c.UserContext(), strings.TrimSpace(token))
	if err == nil {
		// The token is genuine; the account behind it may have been
		// disabled, deleted or demoted since it was issued.
		p, err = s.svc.Users.CurrentPrincipal(c.UserContext(), p)
	}
	if err != nil {
		if errors.Is(err, ecolaura.ErrUnauthenticated) {
			return unauthenticated("Given token not valid for any token type.")
		}
		return err
	}
	c.Locals(keyPrincipal, p)
	return c.Next()
}

// credentialEndpoint reports whether path exchanges credentials (sign-in,
// refresh, logout, registration): like simplejwt's views they ignore a stale
// Authorization header instead of refusing the request.
func credentialEndpoint(path string) bool {
	return strings.HasPrefix(path, "/api/v1/token") || strings.HasPrefix(path, "/api/v2/auth/") ||
		path == "/api/v1/users" || path == "/api/v1/users/"
}

func unauthenticated(detail string) *httpError {
	return newHTTPError(http.StatusUnauthorized, "unauthenticated", detail, [2]string{fiber.HeaderWWWAuthenticate, `Bearer realm="api"`})
}

func principal(c *fiber.Ctx) ecolaura.Principal {
	p, _ := c.Locals(keyPrincipal).(ecolaura.Principal)
	return p
}

func clientIP(c *fiber.Ctx) string {
	ip, _ := c.Locals(keyClientIP).(string)
	return ip
}

// authLimit is the per-client-IP ceiling of the auth endpoints.
func (s *Server) authLimit(c *fiber.Ctx) error {
	if err := s.take(c, "auth:"+rateIP(clientIP(c)), s.cfg.AuthRateLimit, ""); err != nil {
		return err
	}
	return c.Next()
}

// writeLimit limits writes per signed-in user (anonymous writes are refused
// by the services or limited per IP on the auth endpoints).
func (s *Server) writeLimit(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		if p := principal(c); p.UserID != "" {
			if err := s.take(c, "write:"+string(p.UserID), s.cfg.WriteRateLimit, ""); err != nil {
				return err
			}
		}
	}
	return c.Next()
}

// expensiveRead spends one unit of the client IP's budget of reads whose
// cost grows with the catalog; it returns the 429 when it is spent.
func (s *Server) expensiveRead(c *fiber.Ctx) error {
	return s.take(c, "read:"+clientIP(c), s.cfg.ExpensiveReadRateLimit, "")
}

// route is one registered endpoint.
type route struct {
	method string
	path   string // Fiber template, e.g. /api/v1/products/:id/
	segs   []string
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (r route) matches(segs []string) bool {
	if len(segs) != len(r.segs) {
		return false
	}
	for i, s := range r.segs {
		if strings.HasPrefix(s, ":") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if s != segs[i] {
			return false
		}
	}
	return true
}

// allowed lists the methods registered for path.
func (s *Server) allowed(path string) []string {
	segs := splitPath(path)
	var out []string
	seen := map[string]bool{}
	for _, r := range s.routes {
		if r.matches(segs) && !seen[r.method] {
			seen[r.method] = true
			out = append(out, r.method)
			if r.method == fiber.MethodGet && !seen[fiber.MethodHead] {
				seen[fiber.MethodHead] = true
				out = append(out, fiber.MethodHead)
			}
		}
	}
	if len(out) > 0 {
		out = append(out, fiber.MethodOptions)
	}
	return out
}

// fallback answers requests no route took: OPTIONS with Allow, 405 with
// Allow for a known path, else 404.
func (s *Server) fallback(c *fiber.Ctx) error {
	methods := s.allowed(s.apiPath(c))
	if len(methods) == 0 {
		return newHTTPError(http.StatusNotFound, "not-found", "Not found.")
	}
	allow := strings.Join(methods, ", ")
	c.Locals(keyRoute, "unmatched")
	if c.Method() == fiber.MethodOptions {
		c.Set(fiber.HeaderAllow, allow)
		return c.SendStatus(http.StatusNoContent)
	}
	return newHTTPError(http.StatusMethodNotAllowed, "method-not-allowed",
		"Method "+strconv.Quote(c.Method())+" not allowed.", [2]string{fiber.HeaderAllow, allow})
}
