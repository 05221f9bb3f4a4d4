package httpapi

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Responses made before routing: fasthttp refuses a request while reading
// it (body or headers too large, a read timeout, a malformed request) and
// Fiber refuses a method it does not know. Without care they leave with
// fasthttp's or Fiber's plain-text body, no request id or security headers,
// and are neither logged nor counted. Here they go through
// [Server.pipeline] like every other response.

// serveHTTP is the fasthttp handler of the server: Fiber's router, after
// refusing methods outside HTTP's registered set with 501 (Fiber would
// answer them with a bare 400 before any middleware runs).
func (s *Server) serveHTTP(router fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(fctx *fasthttp.RequestCtx) {
		// The request was read: its remembered line is no longer needed.
		s.lines.forget(&fctx.Request.Header)
		if methodLabel(fctx.Method()) == "other" {
			s.preRouting(fctx, newHTTPError(http.StatusNotImplemented, "method-not-implemented",
				"Method "+strconv.Quote(string(fctx.Method()))+" is not implemented."))
			return
		}
		router(fctx)
	}
}

// serverError is the fasthttp error handler: it answers a request fasthttp
// could not read, through the pipeline, and has the connection close
// lingering (see [NewListener]) since the rest of the request may still be
// on its way.
func (s *Server) serverError(fctx *fasthttp.RequestCtx, err error) {
	lingerOnClose(fctx)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	var herr *httpError
	// fasthttp resets the request when it fails to read it, but the
	// request line decides the error's shape: take it from what was
	// remembered while the body was read, or, when the headers could not
	// be read, from the error, which quotes them.
	if line, ok := s.lines.take(&fctx.Request.Header); ok {
		fctx.Request.Header.SetMethod(line.method)
		fctx.Request.SetRequestURI(line.uri)
	} else if method, uri, ok := requestLineFromError(err); ok {
		fctx.Request.Header.SetMethod(method)
		fctx.Request.SetRequestURI(uri)
	}
	switch {
	case errors.As(err, &small):
		herr = newHTTPError(http.StatusRequestHeaderFieldsTooLarge, "headers-too-large", "Request header fields too large.")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		herr = newHTTPError(http.StatusRequestEntityTooLarge, "payload-too-large", "Request body is too large.")
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, fasthttp.ErrTimeout):
		herr = newHTTPError(http.StatusRequestTimeout, "timeout", "Request timeout.")
	default:
		herr = newHTTPError(http.StatusBadRequest, "bad-request", "The request could not be read.")
	}
	s.preRouting(fctx, herr)
}

// preRouting answers fctx with err through the pipeline.
func (s *Server) preRouting(fctx *fasthttp.RequestCtx, err error) {
	c := s.app.AcquireCtx(fctx)
	defer s.app.ReleaseCtx(c)
	_ = s.pipeline(c, func(*fiber.Ctx) error { return err })
}

// requestLineFromError recovers the method and request target of a request
// whose headers fasthttp could not read (too large, malformed) from its
// error, which quotes the start of the read buffer (`... contents: "GET /api/v2/x HTTP/1.1\r\n..."...`).
func requestLineFromError(err error) (method, uri string, ok bool) {
	msg := err.Error()
	i := strings.Index(msg, "contents: ")
	if i < 0 {
		return "", "", false
	}
	quoted, qerr := strconv.QuotedPrefix(msg[i+len("contents: "):])
	if qerr != nil {
		return "", "", false
	}
	buf, qerr := strconv.Unquote(quoted)
	if qerr != nil {
		return "", "", false
	}
	line, _, _ := strings.Cut(buf, "\n")
	method, rest, found := strings.Cut(strings.TrimRight(line, "\r"), " ")
	if !found || methodLabel([]byte(method)) == "other" {
		return "", "", false
	}
	uri, _, _ = strings.Cut(rest, " ")
	if !strings.HasPrefix(uri, "/") {
		return "", "", false
	}
	return method, uri, true
}

// maxRequestLines bounds the remembered request lines; past it they are
// dropped (an error then falls back to the shape of an unknown path).
const maxRequestLines = 1 << 14

type requestLine struct{ method, uri string }

// requestLines remembers the request line of every request with a body
// while fasthttp reads the body: fasthttp resets the request when reading
// the body fails (a chunked body over the limit, a read timeout). Entries
// are keyed by the request's header, which [Server.serverError] receives
// again, and are forgotten when the request has been read (the server's
// handler, or the host's when mounted, runs) or failed (serverError).
type requestLines struct {
	n  atomic.Int64
	mu sync.Mutex
	m  map[*fasthttp.RequestHeader]requestLine
}

// headerReceived is the server's HeaderReceived hook: it remembers the
// request line of a request with a body and changes no setting.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if cl := h.ContentLength(); cl != 0 && cl != -2 {
		s.lines.remember(h)
	} else {
		// Drop what a previous request on this connection left, should
		// it not have reached the pipeline (a host's middleware answered).
		s.lines.forget(h)
	}
	// An image upload may be larger than the server's body limit (the
	// fasthttp server's MaxRequestBodySize is Config.BodyLimit).
	if method := string(h.Method()); method == fasthttp.MethodPost {
		if path := string(requestPath(h.RequestURI())); isUpload(method, path) {
			return fasthttp.RequestConfig{MaxRequestBodySize: s.bodyLimit(method, path)}
		}
	}
	return fasthttp.RequestConfig{}
}

func (l *requestLines) remember(h *fasthttp.RequestHeader) {
	line := requestLine{method: string(h.Method()), uri: string(h.RequestURI())}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= maxRequestLines {
		l.m = make(map[*fasthttp.RequestHeader]requestLine)
	}
	l.m[h] = line
	l.n.Store(int64(len(l.m)))
}

func (l *requestLines) take(h *fasthttp.RequestHeader) (requestLine, bool) {
	if l.n.Load() == 0 {
		return requestLine{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line, ok := l.m[h]
	if ok {
		delete(l.m, h)
		l.n.Store(int64(len(l.m)))
	}
	return line, ok
}

func (l *requestLines) forget(h *fasthttp.RequestHeader) { l.take(h) }

func (l *requestLines) has(h *fasthttp.RequestHeader) bool {
	if l.n.Load() == 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.m[h]
	return ok
}
