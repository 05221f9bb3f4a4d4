package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Serving the API inside a host program.
//
// In a Fiber program, mount the app under any prefix:
//
//	host.Mount("/shop", srv.App())
//
// Routing, the 404/405 answers and their shapes, credential endpoints and
// every absolute URL (Location, v1 links) then work relative to the prefix.
// Mounting installs a fasthttp HeaderReceived hook on the host's server so
// that requests under the prefix get Config.BodyLimit (refused with 413
// before the body is read), Config.ReadTimeout and Config.WriteTimeout;
// Config.HandlerTimeout bounds every request's context as always. The host's
// IdleTimeout governs its connections. Mount before the host starts
// listening, and wrap the host's listener with [NewListener] so that a 413
// reaches clients that send the body without waiting.
//
// In a net/http program, serve [Server.Handler], usually behind
// http.StripPrefix, from a server made by [NewHTTPServer]:
//
//	mux.Handle("/shop/", http.StripPrefix("/shop", srv.Handler()))
//	host := httpapi.NewHTTPServer(cfg, mux)
//
// The handler applies the API's body and header limits itself (413 and 431
// in the API's shapes) and reads what a client still sends after a 413, so
// that clients which send the whole body before reading get the answer.

// onMount is the app's OnMount hook. It makes the host's server treat
// requests under the mount prefix as this server treats its own: this API's
// body limit and read and write timeouts, and the answers to requests that
// fail while being read (413, 431, 408) through the pipeline, in this API's
// shapes. The host's settings, and any hooks it had, stay for the rest.
func (s *Server) onMount(parent *fiber.App) error {
	srv := parent.Server()
	if srv == nil {
		return nil
	}
	prevHeader, prevError, prevHandler := srv.HeaderReceived, srv.ErrorHandler, srv.Handler
	if prevHandler != nil {
		srv.Handler = func(fctx *fasthttp.RequestCtx) {
			s.lines.forget(&fctx.Request.Header) // read in full: not a failed request
			prevHandler(fctx)
		}
	}
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if path := requestPath(h.RequestURI()); underPrefix(path, s.app.MountPath()) {
			s.headerReceived(h)
			rest := string(path[len(strings.TrimRight(s.app.MountPath(), "/")):])
			return fasthttp.RequestConfig{ReadTimeout: s.cfg.ReadTimeout, WriteTimeout: s.cfg.WriteTimeout,
				MaxRequestBodySize: s.bodyLimit(string(h.Method()), rest)}
		}
		s.lines.forget(h)
		if prevHeader != nil {
			return prevHeader(h)
		}
		return fasthttp.RequestConfig{}
	}
	srv.ErrorHandler = func(fctx *fasthttp.RequestCtx, err error) {
		if s.ownsFailedRequest(fctx, err) || prevError == nil {
			s.serverError(fctx, err)
			return
		}
		prevError(fctx, err)
	}
	return nil
}

// ownsFailedRequest reports whether a request the host's server failed to
// read was for this API: its request line, as remembered, as still in the
// header, or as quoted by the error, is under the mount prefix.
func (s *Server) ownsFailedRequest(fctx *fasthttp.RequestCtx, err error) bool {
	if s.lines.has(&fctx.Request.Header) {
		return true
	}
	prefix := s.app.MountPath()
	if _, uri, ok := requestLineFromError(err); ok {
		return underPrefix(requestPath([]byte(uri)), prefix)
	}
	uri := fctx.Request.Header.RequestURI()
	return len(uri) > 1 && underPrefix(requestPath(uri), prefix)
}

// requestPath returns the path of a request target (origin form or absolute
// form), without its query.
func requestPath(uri []byte) []byte {
	if i := bytes.Index(uri, []byte("://")); i >= 0 && bytes.IndexByte(uri[:i], '/') < 0 {
		rest := uri[i+3:]
		j := bytes.IndexByte(rest, '/')
		if j < 0 {
			return []byte("/")
		}
		uri = rest[j:]
	}
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// underPrefix reports whether path is prefix or below it.
func underPrefix(path []byte, prefix string) bool {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return true
	}
	if !bytes.HasPrefix(path, []byte(prefix)) {
		return false
	}
	rest := path[len(prefix):]
	return len(rest) == 0 || rest[0] == '/'
}

// Handler returns the API as an http.Handler, for net/http programs. It
// behaves as the server does on its own listener: the same routes, shapes,
// headers, logging and metrics; Config.BodyLimit (413 without reading a
// body announced larger, and as soon as a streamed one grows past it),
// Config.ReadTimeout and Config.WriteTimeout for the request (through
// http.ResponseController; the host server's own timeouts still apply to
// its connections) and Config.HandlerTimeout. Repeated header lines are kept
// (X-Forwarded-For is read in full). Behind http.StripPrefix, absolute URLs
// keep the stripped prefix:
//
//	mux.Handle("/shop/", http.StripPrefix("/shop", srv.Handler()))
func (s *Server) Handler() http.Handler {
	router := s.serveHTTP(s.app.Handler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		_ = rc.SetReadDeadline(now.Add(s.cfg.ReadTimeout))
		_ = rc.SetWriteDeadline(now.Add(s.cfg.WriteTimeout))

		req := fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		req.Header.SetMethod(r.Method)
		req.SetRequestURI(r.URL.RequestURI())
		req.Header.SetHost(r.Host)
		for key, values := range r.Header {
			for _, v := range values {
				req.Header.Add(key, v)
			}
		}
		var readErr error
		tooLargeHead := headerBytes(r) > MaxHeaderBytes
		switch {
		case tooLargeHead:
			// The host read them under its own limit (net/http's default is
			// 1 MB): the API's is the one it documents.
			readErr = errHeadersTooLarge
		case r.Body != nil && r.Body != http.NoBody:
			limit := s.bodyLimit(r.Method, r.URL.Path)
			if r.ContentLength > int64(limit) {
				readErr = fasthttp.ErrBodyTooLarge
			} else {
				body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
				switch {
				case err != nil:
					readErr = err
				case len(body) > limit:
					readErr = fasthttp.ErrBodyTooLarge
				default:
					req.SetBodyRaw(body)
				}
			}
		}
		req.Header.SetContentLength(len(req.Body()))

		var fctx fasthttp.RequestCtx
		fctx.Init(req, remoteAddr(r.RemoteAddr), nil)
		fctx.SetUserValue(keyStrippedPrefix, strippedByHost(r))
		if r.TLS != nil {
			fctx.SetUserValue(keyTLS, true)
		}
		if readErr != nil {
			if tooLargeHead {
				s.preRouting(&fctx, newHTTPError(http.StatusRequestHeaderFieldsTooLarge, "headers-too-large", "Request header fields too large."))
			} else {
				s.serverError(&fctx, readErr)
			}
			// The rest of the body may not have been read: the connection
			// is not reused.
			w.Header().Set("Connection", "close")
			// Let the body be read after the answer is written (HTTP/1.1
			// handlers otherwise lose it at the first write), see below.
			_ = rc.EnableFullDuplex()
		} else {
			router(&fctx)
		}
		fctx.Response.Header.VisitAll(func(k, v []byte) {
			switch string(k) {
			case fiber.HeaderContentLength, fiber.HeaderConnection, "Server", fiber.HeaderDate:
				return
			}
			w.Header().Add(string(k), string(v))
		})
		w.WriteHeader(fctx.Response.StatusCode())
		if r.Method != http.MethodHead {
			_, _ = w.Write(fctx.Response.Body())
		}
		if readErr != nil && r.Body != nil && r.Body != http.NoBody {
			// The client may still be sending the body (Python's urllib and
			// Go's net/http without "Expect: 100-continue" send it all
			// before they read). net/http closes such a connection with
			// the rest unread, and the kernel then answers with a reset
			// that makes the client drop the 413 it has not read yet. So
			// send the answer now, then read what the client still sends,
			// within the read deadline and up to 64 MiB: the connection
			// then closes cleanly and the client reads its 413.
			_ = rc.Flush()
			_, _ = io.CopyN(io.Discard, r.Body, maxLingerBytes)
		}
	})
}

var errHeadersTooLarge = errors.New("request header fields too large")

// MaxHeaderBytes is the largest request head (request line and header
// fields) the API accepts: 431 above it, on its own listener and under
// [Server.Handler] alike.
const MaxHeaderBytes = 16 << 10

// headerBytes is the size of r's request line and header fields as sent
// (approximately: net/http has parsed them).
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len(r.Host) + 8
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// NewHTTPServer returns an http.Server for h (typically a mux that serves
// [Server.Handler] under a prefix) with the settings the API needs from a
// net/http host: ReadHeaderTimeout and IdleTimeout from cfg, and
// MaxHeaderBytes at 64 KiB, so that heads between the API's own limit
// ([MaxHeaderBytes], 16 KiB, answered by the handler with a 431 in the
// API's shape) and 64 KiB still reach the handler, and larger ones are
// refused by net/http before they cost memory (net/http's default is
// 1 MB). Request read and write deadlines are set per request by
// [Server.Handler] (Config.ReadTimeout and WriteTimeout), so the server
// sets no connection-wide ReadTimeout or WriteTimeout that would cut a
// long-lived response of the host's own.
func NewHTTPServer(cfg Config, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    4 * MaxHeaderBytes,
	}
}

// remoteAddr parses a net/http RemoteAddr ("ip:port", or an address without
// a port) into the address the API sees as the peer.
func remoteAddr(s string) net.Addr {
	host, port := s, "0"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, port))
	if err != nil || addr.IP == nil {
		return &net.TCPAddr{IP: net.IPv4zero}
	}
	return addr
}

// strippedByHost returns the path prefix the host removed from the request
// before handing it over (http.StripPrefix keeps the original in
// RequestURI): "/shop" for RequestURI "/shop/api/v2/orders" and URL.Path
// "/api/v2/orders".
func strippedByHost(r *http.Request) string {
	if r.RequestURI == "" || r.URL == nil {
		return ""
	}
	orig, _, _ := strings.Cut(r.RequestURI, "?")
	if i := strings.Index(orig, "://"); i >= 0 {
		if j := strings.IndexByte(orig[i+3:], '/'); j >= 0 {
			orig = orig[i+3+j:]
		} else {
			orig = "/"
		}
	}
	now := r.URL.EscapedPath()
	if now == "" || !strings.HasSuffix(orig, now) || len(orig) == len(now) {
		return ""
	}
	return strings.Clone(orig[:len(orig)-len(now)])
}
