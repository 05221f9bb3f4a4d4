package httpapi

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// maxLingerBytes bounds how much of an unread request a lingering close
// discards before it gives up and closes anyway.
const maxLingerBytes = 64 << 20

// NewListener wraps ln so that an answer the server sends before it has
// read the whole request still reaches the client. A 413 for a body over the
// limit, a 431 for oversized headers or a 408 is sent while the client may
// still be sending; closing the socket with unread data in it makes the
// kernel answer with a TCP reset, and the client's kernel then drops the
// response it had not read yet (ordinary clients such as Python's urllib
// or Go's net/http without "Expect: 100-continue" see "connection reset"
// instead of the 413). For such a connection the server instead closes its
// sending side (the client sees the end of the response), discards what
// the client still sends for at most linger (and at most 64 MiB), then
// closes: the same lingering close net/http does.
//
// [Server.Serve] and [Server.Listen] wrap their listener with it (linger
// being Config.ReadTimeout); a host program that serves the API mounted in
// its own Fiber app wraps its listener itself: host.Listener(NewListener(ln, d)).
func NewListener(ln net.Listener, linger time.Duration) net.Listener {
	return newLingerListener(ln, linger, nil)
}

// newLingerListener is [NewListener] that also counts the connections it
// accepted and has not closed yet in open, when not nil.
func newLingerListener(ln net.Listener, linger time.Duration, open *atomic.Int64) *lingerListener {
	if linger <= 0 {
		linger = DefaultReadTimeout
	}
	return &lingerListener{Listener: ln, linger: linger, open: open}
}

type lingerListener struct {
	net.Listener
	linger time.Duration
	open   *atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

func (l *lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.open != nil {
		l.open.Add(1)
	}
	return &lingerConn{Conn: c, linger: l.linger, open: l.open}, nil
}

// Close closes the listener once; later calls return the first call's
// result, so that fasthttp's shutdown, which closes its listeners again
// after [Server.Drain] closed them, does not stop at "use of closed network
// connection" and still waits for the open connections.
func (l *lingerListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// lingerConn closes lingering once told that the server answered before it
// read the whole request.
type lingerConn struct {
	net.Conn
	linger  time.Duration
	open    *atomic.Int64
	pending atomic.Bool
	once    sync.Once
	err     error
}

func (c *lingerConn) Close() error {
	c.once.Do(func() {
		if c.open != nil {
			defer c.open.Add(-1)
		}
		if c.pending.Load() {
			if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
			_ = c.Conn.SetReadDeadline(time.Now().Add(c.linger))
			_, _ = io.CopyN(io.Discard, c.Conn, maxLingerBytes)
		}
		c.err = c.Conn.Close()
	})
	return c.err
}

// lingerOnClose marks the connection of fctx, when it came from
// [NewListener], to close lingering.
func lingerOnClose(fctx *fasthttp.RequestCtx) {
	if lc, ok := fctx.Conn().(*lingerConn); ok {
		lc.pending.Store(true)
	}
}
