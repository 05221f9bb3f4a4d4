package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// Statements with arguments (here the stock update, through pgx) are
// prepared once per connection and reused; Bun's, formatted client-side
// and new nearly every time, are never prepared (the simple protocol), so
// the server does not collect one prepared statement per product read.
func TestOnlyStatementsWithArgumentsArePrepared(t *testing.T) {
	db := openDB(t, postgres.Config{MaxConns: 2})
	ctx := t.Context()
	ps := make([]ecolaura.Product, 10)
	for i := range ps {
		ps[i] = porttest.NewProduct(porttest.UniqueCategory())
		require.NoError(t, db.Products().Create(ctx, ps[i]))
	}

	// Hold one of the two connections in a transaction, so everything
	// below runs on the other one.
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Do(ctx, func(context.Context, ports.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	defer func() {
		close(release)
		require.NoError(t, <-done)
	}()

	for range 3 {
		for _, p := range ps {
			_, err := db.Products().Get(ctx, p.ID)
			require.NoError(t, err)
			_, err = porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()})
			require.NoError(t, err)
		}
	}
	var stmts []string
	require.NoError(t, db.DB().NewRaw("SELECT statement FROM pg_prepared_statements").Scan(ctx, &stmts))
	var stock, reads int
	for _, s := range stmts {
		switch {
		case strings.HasPrefix(s, "WITH l AS (UPDATE inventory_levels SET"):
			stock++
		case strings.HasPrefix(s, "SELECT id, name"):
			reads++
		}
	}
	assert.Equal(t, 1, stock, "the stock update is prepared once and reused: %q", stmts)
	assert.Zero(t, reads, "Bun's product reads are not prepared: %q", stmts)
}
