package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// TestCatalogReadsHaveAStatementTimeout is issue 10 item 15: a catalog read
// outside a transaction that runs longer than Config.ReadTimeout is stopped
// by PostgreSQL itself (statement_timeout) and reported as ErrUnavailable,
// writes and reads inside transactions are not bound by
// it. The slow read is made deterministic by an exclusive lock on the
// table, which the read waits for. Reads and transactions share the one
// pool: its connections switch between the read timeout and none.
func TestCatalogReadsHaveAStatementTimeout(t *testing.T) {
	// Behind a transaction pooler (a mode other than cache_statement),
	// each read runs in a read-only transaction with SET LOCAL.
	for _, mode := range []string{"cache_statement", "exec"} {
		t.Run(mode, func(t *testing.T) {
			db := openDBWith(t, postgres.Config{ReadTimeout: 200 * time.Millisecond}, mode)
			ctx := context.Background()
			p := porttest.NewProduct("timeout")
			require.NoError(t, db.Products().Create(ctx, p))

			locked := make(chan struct{})
			release := make(chan struct{})
			lockDone := make(chan error, 1)
			go func() {
				lockDone <- db.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					if _, err := tx.ExecContext(ctx, "LOCK TABLE products IN ACCESS EXCLUSIVE MODE"); err != nil {
						return err
					}
					close(locked)
					<-release
					return nil
				})
			}()
			<-locked
			reads := []struct {
				name string
				read func() error
			}{
				{"list", func() error {
					_, err := db.Products().List(ctx, ports.ProductQuery{Limit: 10, WithTotal: true})
					return err
				}},
				{"search", func() error {
					_, err := db.Products().List(ctx, ports.ProductQuery{Limit: 10, Filter: ecolaura.ProductFilter{Query: "bamboo"}})
					return err
				}},
				{"get", func() error { _, err := db.Products().Get(ctx, p.ID); return err }},
				{"categories", func() error { _, err := db.Products().Categories(ctx); return err }},
				{"category stats", func() error { _, err := db.Products().CategoryStats(ctx); return err }},
			}
			for _, r := range reads {
				start := time.Now()
				err := r.read()
				took := time.Since(start)
				require.Error(t, err, "%s waited for the lock instead of timing out", r.name)
				assert.ErrorIs(t, err, ecolaura.ErrUnavailable, "%s", r.name)
				assert.Less(t, took, 2*time.Second, "%s took %s", r.name, took)
			}
			// A write waits for the lock as long as it takes.
			writeDone := make(chan error, 1)
			go func() {
				writeDone <- db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: time.Now()})
					return err
				})
			}()
			time.Sleep(500 * time.Millisecond) // longer than the read timeout
			close(release)
			require.NoError(t, <-lockDone)
			require.NoError(t, <-writeDone, "a write is not bound by the read timeout")
			got, err := db.Products().Get(ctx, p.ID)
			require.NoError(t, err, "reads work again once the lock is gone")
			assert.Equal(t, p.Stock-1, got.Stock)
			var active int
			require.NoError(t, db.DB().NewRaw(`SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'active' AND query LIKE '%FROM products%' AND pid <> pg_backend_pid()`).Scan(ctx, &active))
			assert.Zero(t, active, "no timed-out read is still running on the server")
		})
	}
}

// The pool's connections carry the read timeout only while reads use them:
// on a pool of two connections, one held by a transaction that locks a
// product, the other serves a read (and gets the timeout) and then waits
// for the lock longer than the timeout, in a transaction and then outside
// one, and both writes go through.
func TestReadTimeoutDoesNotFollowTheConnection(t *testing.T) {
	for _, mode := range []string{"cache_statement", "exec"} {
		t.Run(mode, func(t *testing.T) {
			const timeout = 200 * time.Millisecond
			db := openDBWith(t, postgres.Config{MaxConns: 2, ReadTimeout: timeout}, mode)
			ctx := t.Context()
			p := porttest.NewProduct(porttest.UniqueCategory())
			require.NoError(t, db.Products().Create(ctx, p))

			// lock holds p's row in a transaction on one connection for longer
			// than the timeout, while write runs on the other one.
			lock := func(write func() error) {
				t.Helper()
				locked, release := make(chan struct{}), make(chan struct{})
				done := make(chan error, 1)
				go func() {
					done <- db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
						if _, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()}); err != nil {
							return err
						}
						close(locked)
						<-release
						return nil
					})
				}()
				<-locked
				_, err := db.Products().Get(ctx, p.ID) // the read timeout on the free connection
				require.NoError(t, err)
				writeDone := make(chan error, 1)
				go func() { writeDone <- write() }()
				time.Sleep(3 * timeout)
				close(release)
				require.NoError(t, <-done)
				require.NoError(t, <-writeDone, "the write waited for the lock without the read timeout")
			}
			lock(func() error {
				return db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()})
					return err
				})
			})
			lock(func() error {
				_, err := porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()})
				return err
			})
			got, err := db.Products().Get(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, p.Stock-4, got.Stock, "both lockers and both writers took one")
		})
	}
}

// How a read carries the timeout, seen from the server while the read
// waits for a lock: on its own (the session's statement_timeout) in the
// default mode; in a transaction of its own, begun before the statement
// (SET LOCAL), in a mode for a transaction pooler, where a session setting
// would stay behind on a server connection other clients get next.
func TestReadTimeoutRoutes(t *testing.T) {
	tests := []struct {
		mode           string
		ownTransaction bool
	}{
		{"cache_statement", false},
		{"exec", true},
		{"cache_describe", true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			db := openDBWith(t, postgres.Config{ReadTimeout: time.Second}, tt.mode)
			ctx := t.Context()
			p := porttest.NewProduct(porttest.UniqueCategory())
			require.NoError(t, db.Products().Create(ctx, p))
			locked, release := make(chan struct{}), make(chan struct{})
			lockDone := make(chan error, 1)
			go func() {
				lockDone <- db.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					if _, err := tx.ExecContext(ctx, "LOCK TABLE products IN ACCESS EXCLUSIVE MODE"); err != nil {
						return err
					}
					close(locked)
					<-release
					return nil
				})
			}()
			<-locked
			readDone := make(chan error, 1)
			go func() { _, err := db.Products().Get(ctx, p.ID); readDone <- err }()
			var inTransaction bool
			require.Eventually(t, func() bool {
				err := db.DB().NewRaw(`SELECT xact_start < query_start FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT%FROM products%'`).Scan(ctx, &inTransaction)
				return err == nil
			}, 5*time.Second, 10*time.Millisecond, "the read waits for the lock")
			assert.Equal(t, tt.ownTransaction, inTransaction)
			require.ErrorIs(t, <-readDone, ecolaura.ErrUnavailable, "stopped by the timeout")
			close(release)
			require.NoError(t, <-lockDone)
		})
	}
}
