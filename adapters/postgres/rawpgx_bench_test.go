package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

type rawJobArgs struct {
	JobKind string `json:"kind"`
	Payload []byte `json:"payload"`
}

func (rawJobArgs) Kind() string { return postgres.RiverKind }

// rawCheckout is the naive checkout transaction hand-written on a
// pgxpool with pgx's cached prepared statements, on the same tables: the
// guarded stock decrement of each line's variant first (no movement), then
// the order, its lines and the job. The floor the adapter is measured
// against.
func rawCheckout(ctx context.Context, pool *pgxpool.Pool, rc *river.Client[pgx.Tx], u ecolaura.User, a, b ecolaura.Product) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		now := porttest.Now()
		for _, p := range []ecolaura.Product{a, b} {
			var onHand int
			if err := tx.QueryRow(ctx, `UPDATE inventory_levels SET on_hand = on_hand - $2
				WHERE variant_id = $1 AND location_id = $3 AND on_hand >= $2 RETURNING on_hand`,
				p.ID, 1, ecolaura.DefaultLocationID).Scan(&onHand); err != nil {
				return err
			}
		}
		o := porttest.NewOrder(u.ID, porttest.Line(a, 1), porttest.Line(b, 1))
		if _, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor, total_minor,
			footprint_g, idempotency_key, request_hash, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, '', '', $8, $8, 1)`,
			o.ID, o.UserID, o.Status, o.Subtotal.Currency, o.Subtotal.Amount, o.Total.Amount, o.Footprint, now); err != nil {
			return err
		}
		l0, l1 := o.Lines[0], o.Lines[1]
		if _, err := tx.Exec(ctx, `INSERT INTO order_lines (order_id, line_no, product_id, variant_id, name, currency,
			unit_price_minor, quantity, total_minor, unit_footprint_g)
			VALUES ($1, 0, $2, $2, $3, $4, $5, $6, $7, $8), ($1, 1, $9, $9, $10, $4, $11, $12, $13, $14)`,
			o.ID, l0.ProductID, l0.Name, l0.UnitPrice.Currency, l0.UnitPrice.Amount, l0.Quantity, l0.Total.Amount, l0.UnitFootprint,
			l1.ProductID, l1.Name, l1.UnitPrice.Amount, l1.Quantity, l1.Total.Amount, l1.UnitFootprint); err != nil {
			return err
		}
		_, err := rc.InsertTx(ctx, tx, rawJobArgs{JobKind: "process_order", Payload: []byte(`{"order_id":"` + string(o.ID) + `"}`)}, nil)
		return err
	})
}

// BenchmarkCheckoutVsRawPgx runs the checkout transaction through the
// adapter and hand-written on raw pgx, same database, products and
// concurrency (8 goroutines, 8 connections each), twice alternately. Besides
// time per checkout it reports the CPU per checkout of this process and of
// the server (see cpuMeter): on the shared 2-core machine the CPU figures
// are the steadier comparison.
func BenchmarkCheckoutVsRawPgx(b *testing.B) {
	db, ps, u := benchDB(b, "")
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(db.Config().URL)
	require.NoError(b, err)
	pc.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(b, err)

	meter := &cpuMeter{pool: pool}
	run := func(b *testing.B, fn func(x, y ecolaura.Product) error) {
		b.SetParallelism(4) // 8 goroutines on 2 cores
		meter.start(ctx)
		defer meter.report(ctx, b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				x, y := ps[(7*i)%len(ps)], ps[(7*i+3)%len(ps)]
				if x.ID > y.ID {
					x, y = y, x
				}
				if err := fn(x, y); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for round := range 2 {
		b.Run(fmt.Sprintf("adapter/%d", round), func(b *testing.B) {
			run(b, func(x, y ecolaura.Product) error { return checkout(ctx, db, u, x, y) })
		})
		b.Run(fmt.Sprintf("raw-pgx/%d", round), func(b *testing.B) {
			run(b, func(x, y ecolaura.Product) error { return rawCheckout(ctx, pool, rc, u, x, y) })
		})
	}
}
