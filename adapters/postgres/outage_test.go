package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// cutProxy forwards TCP connections to target until Cut, which closes the
// listener and every open connection, as if the server went away; Restore
// listens on the same address again.
type cutProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	p := &cutProxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

func (p *cutProxy) Restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.serve(ln)
}

// While the database cannot be reached, calls fail fast with
// ErrUnavailable (Ping for readiness too); once it is back, the same
// Database recovers without being reopened.
func TestOutageIsUnavailableAndRecovers(t *testing.T) {
	dbURL := testenv.Postgres(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr
	ctx := t.Context()
	db, err := postgres.Open(ctx, postgres.Config{URL: u.String(), ConnectTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = postgres.Migrate(ctx, db, postgres.MigrateUp)
	require.NoError(t, err)
	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))

	proxy.Cut()
	_, err = db.Products().Get(ctx, p.ID)
	require.ErrorIs(t, err, ecolaura.ErrUnavailable)
	require.ErrorIs(t, db.Ping(ctx), ecolaura.ErrUnavailable)
	err = db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()})
		return err
	})
	require.ErrorIs(t, err, ecolaura.ErrUnavailable)

	proxy.Restore(t)
	require.Eventually(t, func() bool { return db.Ping(ctx) == nil }, 30*time.Second, 50*time.Millisecond)
	got, err := db.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.Stock, got.Stock, "the failed transaction left nothing behind")
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	_, err = postgres.Open(t.Context(), postgres.Config{URL: "postgres://postgres@" + addr + "/x?sslmode=disable",
		ConnectTimeout: time.Second})
	require.ErrorIs(t, err, ecolaura.ErrUnavailable)
}

// Two transactions taking two rows in opposite orders deadlock; PostgreSQL
// aborts one (40P01) and Do runs it again, so both commit and each change
// is applied exactly once.
func TestDoRetriesDeadlock(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	a := porttest.NewProduct(porttest.UniqueCategory())
	b := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, a))
	require.NoError(t, db.Products().Create(ctx, b))

	var calls atomic.Int64
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	take := func(first, second ecolaura.Product) error {
		var attempt int
		return db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			calls.Add(1)
			attempt++
			adj := func(p ecolaura.Product) error {
				_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()})
				return err
			}
			if err := adj(first); err != nil {
				return err
			}
			if attempt == 1 {
				firstLocks.Done()
				firstLocks.Wait() // both hold their first row now
			}
			return adj(second)
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- take(a, b) }()
	go func() { errs <- take(b, a) }()
	for range 2 {
		err := <-errs
		require.NoError(t, err)
		require.False(t, errors.Is(err, ecolaura.ErrConflict))
	}
	assert.EqualValues(t, 3, calls.Load(), "one transaction ran twice")
	for _, p := range []ecolaura.Product{a, b} {
		got, err := db.Products().Get(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, p.Stock-2, got.Stock)
	}
}
