package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
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
)

// One pool per process: however many statements wait, a Database opens at
// most Config.MaxConns connections (Bun's, pgx's and River's inserts
// alike), and one more while a JobRunner runs (River's LISTEN connection),
// the figures docs/operations.md gives. Counted by the server.
func TestConnectionsOfOneProcess(t *testing.T) {
	const maxConns = 3
	db := openDB(t, postgres.Config{MaxConns: maxConns})
	u, err := url.Parse(db.Config().URL)
	require.NoError(t, err)
	dbName := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("pgx", testenv.AdminDatabaseURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	ctx := t.Context()

	// saturate runs 4×maxConns slow statements at once (half through Bun,
	// half in transactions that enqueue a job) and returns the most
	// connections the server saw for the database meanwhile.
	saturate := func() int {
		var wg sync.WaitGroup
		for i := range 4 * maxConns {
			wg.Go(func() {
				if i%2 == 0 {
					_, err := db.DB().ExecContext(ctx, "SELECT pg_sleep(0.3)")
					assert.NoError(t, err)
					return
				}
				assert.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					if err := tx.Jobs().Enqueue(ctx, ports.Job{Kind: "test", Payload: []byte(`"x"`)}); err != nil {
						return err
					}
					_, err := tx.Products().Get(ctx, "00000000-0000-0000-0000-000000000000")
					time.Sleep(300 * time.Millisecond)
					return ignoreNotFound(err)
				}))
			})
		}
		var most atomic.Int64
		stop := make(chan struct{})
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			for {
				var n int64
				if err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", dbName).Scan(&n); err == nil && n > most.Load() {
					most.Store(n)
				}
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		wg.Wait()
		close(stop)
		<-polled
		return int(most.Load())
	}

	assert.Equal(t, maxConns, saturate(), "the pool's connections, no more")
	startJobs(t, db, ports.JobHandlerFunc(func(context.Context, ports.Job) error { return nil }))
	assert.Equal(t, maxConns+1, saturate(), "with a job runner: one more, River's LISTEN connection")
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ecolaura.ErrNotFound) {
		return nil
	}
	return err
}
