package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// DrainConfig says how [Server.Drain] hands traffic over to the other
// replicas before the server stops.
type DrainConfig struct {
	// Delay is how long the server keeps accepting new connections after
	// Drain starts while /readyz answers 503, so that load balancers that
	// learn from readiness (Kubernetes endpoints, HAProxy or cloud health
	// checks) stop sending first. Behind nginx, which has no active health
	// checks, leave it 0: a refused connection is retried on another
	// replica at once.
	Delay time.Duration
	// IdleTimeout is how long, once it stops accepting, the server leaves
	// idle keep-alive connections to their clients: a client either closes
	// one (a proxy after its upstream keep-alive timeout) or sends one more
	// request on it, which is answered with "Connection: close". Set it
	// above the proxy's upstream keep-alive timeout. 0 closes idle
	// connections at once, as [Server.Shutdown] does.
	IdleTimeout time.Duration
	// Logger receives the drain's progress (default: the server's logger).
	Logger *slog.Logger
}

// Drain stops the server for a rolling restart without failing a request
// sent through a load balancer or reverse proxy, then shuts it down like
// [Server.Shutdown]:
//
//  1. /readyz answers 503 {"status":"draining"} and every response carries
//     "Connection: close", so clients stop reusing their connections;
//  2. for cfg.Delay the server still accepts new connections;
//  3. the listeners close: new connections are refused, which a proxy can
//     retry on another replica whatever the request's method, since it sent
//     nothing (nginx: proxy_next_upstream error). Before it closes, a
//     listener hands the server the connections the kernel has already
//     completed, on which a proxy may have sent a request: closing a
//     listening socket resets them;
//  4. for at most cfg.IdleTimeout the server waits for its clients to close
//     their idle keep-alive connections or use them a last time. Closing an
//     idle connection itself would race with a request the client may be
//     sending on it at that moment, and a proxy does not retry a POST it
//     has sent (nginx: non_idempotent);
//  5. what is left is shut down: idle connections close, requests in
//     flight finish.
//
// It returns nil once every connection is closed, or ctx's error when ctx
// ends first. Drain is for a server started with [Server.Serve] or
// [Server.Listen]; a host program that mounts [Server.App] drains its own
// server.
func (s *Server) Drain(ctx context.Context, cfg DrainConfig) error {
	s.draining.Store(true)
	log := cfg.Logger
	if log == nil {
		log = s.log
	}
	log.Info("draining: /readyz answers 503 and connections close after their next response",
		slog.String("delay", cfg.Delay.String()), slog.String("idle_timeout", cfg.IdleTimeout.String()))
	if cfg.Delay > 0 {
		t := time.NewTimer(cfg.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return s.Shutdown(ctx)
		}
	}

	s.mu.Lock()
	s.stopped = true
	lns := s.listeners
	s.mu.Unlock()
	// Each listener hands over the connections the kernel already queued
	// (closing it at once would reset them), then closes.
	dones := make([]<-chan struct{}, len(lns))
	for i, ln := range lns {
		dones[i] = ln.stopAccepting()
	}
	hctx, cancel := context.WithTimeout(ctx, maxAcceptDrain+time.Second)
	for _, done := range dones {
		select {
		case <-done:
		case <-hctx.Done():
		}
	}
	cancel()
	for _, ln := range lns {
		if err := ln.Close(); err != nil {
			log.Warn("close listener", slog.Any("err", err))
		}
	}
	open := s.open.Load()
	log.Info("stopped accepting connections", slog.Int64("open_connections", open))

	if cfg.IdleTimeout > 0 && open > 0 {
		start := time.Now()
		deadline := time.NewTimer(cfg.IdleTimeout)
		defer deadline.Stop()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
	wait:
		for s.open.Load() > 0 {
			select {
			case <-tick.C:
			case <-deadline.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		if n := s.open.Load(); n > 0 {
			log.Info(fmt.Sprintf("closing %d connections the clients kept after %s", n, time.Since(start).Round(time.Millisecond)))
		} else {
			log.Info("clients closed every connection", slog.String("took", time.Since(start).String()))
		}
	}
	return s.Shutdown(ctx)
}
