package httpapi

import (
	"errors"
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
	return &lingerListener{Listener: ln, linger: linger, open: open, closed: make(chan struct{})}
}

type lingerListener struct {
	net.Listener
	linger time.Duration
	open   *atomic.Int64

	// stopping is set by stopAccepting: Accept takes what the kernel has
	// queued, then closes the listener (see stopAccepting).
	stopping atomic.Bool
	// stopBy is when Accept closes the listener at the latest once
	// stopping (Unix nanoseconds).
	stopBy atomic.Int64

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{} // closed by Close
}

// acceptQuiet is how long a stopping listener's accept queue must stay
// empty before the listener closes; maxAcceptDrain bounds how long it takes
// the connections that keep coming (see stopAccepting).
const (
	acceptQuiet    = 20 * time.Millisecond
	maxAcceptDrain = time.Second
)

// deadliner is a listener whose Accept can be given a deadline
// (*net.TCPListener, *net.UnixListener).
type deadliner interface{ SetDeadline(time.Time) error }

func (l *lingerListener) Accept() (net.Conn, error) {
	for {
		fresh := false
		if l.stopping.Load() {
			dl, _ := l.Listener.(deadliner)
			if dl == nil || time.Now().UnixNano() >= l.stopBy.Load() {
				return nil, l.closeAndFail()
			}
			// A deadline in the future: the accept below takes a queued
			// connection at once, or waits acceptQuiet for one.
			if err := dl.SetDeadline(time.Now().Add(acceptQuiet)); err != nil {
				return nil, l.closeAndFail()
			}
			fresh = true
		}
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if l.stopping.Load() && errors.As(err, &ne) && ne.Timeout() {
				if fresh {
					// The queue stayed empty for acceptQuiet.
					return nil, l.closeAndFail()
				}
				continue // woken by stopAccepting: look at the queue again
			}
			return nil, err
		}
		if l.open != nil {
			l.open.Add(1)
		}
		return &lingerConn{Conn: c, linger: l.linger, open: l.open}, nil
	}
}

// closeAndFail closes the listener and returns the error Accept returns on
// a closed listener ("use of closed network connection"), which ends
// fasthttp's accept loop like a shutdown does.
func (l *lingerListener) closeAndFail() error {
	_ = l.Close()
	_, err := l.Listener.Accept()
	if err == nil { // cannot happen on a closed listener
		err = net.ErrClosed
	}
	return err
}

// stopAccepting makes the listener close once it has handed the server
// every connection the kernel already completed: Accept goes on taking
// queued connections until the queue stayed empty for acceptQuiet (at
// most maxAcceptDrain), then closes the listener. Closing a listening
// socket resets the connections in its accept queue, on which a client (a
// proxy) may already have sent its request, and a proxy does not retry a
// POST it has sent: a failed checkout. What is left is a window of
// microseconds between the last empty look at the queue and the close,
// instead of whatever the queue held. A listener without deadlines closes
// at once. done is closed once the listener is closed.
func (l *lingerListener) stopAccepting() (done <-chan struct{}) {
	dl, ok := l.Listener.(deadliner)
	if !ok {
		_ = l.Close()
		return l.closed
	}
	l.stopBy.Store(time.Now().Add(maxAcceptDrain).UnixNano())
	l.stopping.Store(true)
	// Wake an Accept waiting without a deadline; it looks at the queue
	// again with a fresh one.
	if err := dl.SetDeadline(time.Now()); err != nil {
		_ = l.Close()
	}
	return l.closed
}

// Close closes the listener once; later calls return the first call's
// result, so that fasthttp's shutdown, which closes its listeners again
// after [Server.Drain] closed them, does not stop at "use of closed network
// connection" and still waits for the open connections.
func (l *lingerListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.Listener.Close()
		close(l.closed)
	})
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
