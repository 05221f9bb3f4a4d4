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
	if linger <= 0 {
		linger = DefaultReadTimeout
	}
	return &lingerListener{Listener: ln, linger: linger}
}

type lingerListener struct {
	net.Listener
	linger time.Duration
}

func (l *lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c, linger: l.linger}, nil
}

// lingerConn closes lingering once told that the server answered before it
// read the whole request.
type lingerConn struct {
	net.Conn
	linger  time.Duration
	pending atomic.Bool
	once    sync.Once
	err     error
}

func (c *lingerConn) Close() error {
	c.once.Do(func() {
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
