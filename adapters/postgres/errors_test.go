package postgres_test

import (
	"context"
	"errors"
	"math"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// requireBehindThePort asserts err matches want and exposes none of the
// drivers' types: they are not part of the SDK's API.
func requireBehindThePort(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	assert.False(t, errors.As(err, &pe), "*pgconn.PgError reachable in %v", err)
	assert.False(t, errors.As(err, &ce), "*pgconn.ConnectError reachable in %v", err)
	assert.False(t, errors.As(err, &ne), "net.Error reachable in %v", err)
	assert.False(t, errors.As(err, &oe), "*net.OpError reachable in %v", err)
}

// TestDriverErrorsStayBehindThePort: the errors of the database and of the
// connection reach callers as domain errors (with the driver's text), never
// as the driver's types, whichever way the statement went: Bun (through
// pgx's database/sql driver), pgx directly (stock, orders, COPY) or River.
func TestDriverErrorsStayBehindThePort(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))

	t.Run("unique violation", func(t *testing.T) {
		requireBehindThePort(t, db.Products().Create(ctx, p), ecolaura.ErrConflict)
	})
	t.Run("unique violation in COPY", func(t *testing.T) {
		requireBehindThePort(t, db.InsertProducts(ctx, []ecolaura.Product{p}), ecolaura.ErrConflict)
	})
	t.Run("constraint violation", func(t *testing.T) {
		// The stores check the rules they share before writing
		// (ports.ValidateStored*); an order of an unknown user is
		// refused by the schema's foreign key alone.
		err := db.Orders().Create(ctx, porttest.NewOrder(porttest.NewID(), porttest.Line(p, 1)))
		requireBehindThePort(t, err, ecolaura.ErrInvalid)
		var ve *ecolaura.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "user_id", ve.Fields[0].Field)
		assert.Contains(t, err.Error(), "23503", "the driver's text is kept")
	})
	t.Run("out of range in a transaction", func(t *testing.T) {
		err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			_, err := porttest.AdjustStock(ctx, tx, porttest.StockAdjustment{ProductID: p.ID, Delta: math.MaxInt64, At: porttest.Now()})
			return err
		})
		requireBehindThePort(t, err, ecolaura.ErrInvalid) // refused before it reaches the server
	})
	t.Run("caller gave up", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := db.Products().Get(cctx, p.ID)
		requireBehindThePort(t, err, context.Canceled)
		_, err = porttest.AdjustStock(cctx, db, porttest.StockAdjustment{ProductID: p.ID, Delta: -1, At: porttest.Now()})
		requireBehindThePort(t, err, context.Canceled)
		err = db.Do(cctx, func(ctx context.Context, tx ports.Tx) error {
			return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "test"})
		})
		requireBehindThePort(t, err, context.Canceled)
	})
	t.Run("unreachable server", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close()) // nothing listens there now
		_, err = postgres.Open(ctx, postgres.Config{URL: "postgres://postgres@" + addr + "/x?sslmode=disable",
			ConnectTimeout: time.Second})
		requireBehindThePort(t, err, ecolaura.ErrUnavailable)
	})
}
