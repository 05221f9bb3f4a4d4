// Command rawcheckout is the baseline of the hot- and spread-product
// checkout benchmark of issue 12 (scripts/bench/checkout.sh): a minimal
// HTTP program on Fiber and raw pgx that runs the naive checkout
// transaction — update the stock of line 1, update the stock of line 2,
// insert the order, insert its lines, commit — with no authentication, no
// idempotency, no job queue and no access log.
//
//	go run ./scripts/bench/rawcheckout -addr 127.0.0.1:18095 -database-url postgres://…
//
// It serves POST /orders with a body {"lines":[{"variant_id","quantity"},…]}
// and answers 201 {"id","total_minor"}; 409 when a line's stock is short,
// 400 on a bad body. Its tables (raw_stock, raw_orders, raw_order_lines) are
// created by the benchmark script from the shop's inventory rows, so both
// programs sell the same variants with the same stock. The pool has
// -max-conns connections (the shop's default, 20).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type line struct {
	VariantID string `json:"variant_id"`
	Quantity  int    `json:"quantity"`
}

type request struct {
	Lines []line `json:"lines"`
}

var errShort = errors.New("insufficient stock")

func main() {
	addr := flag.String("addr", "127.0.0.1:18095", "listen address")
	dbURL := flag.String("database-url", "", "PostgreSQL URL (required)")
	maxConns := flag.Int("max-conns", 20, "pool size")
	flag.Parse()
	if *dbURL == "" {
		log.Fatal("rawcheckout: -database-url is required")
	}
	cfg, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		log.Fatalf("rawcheckout: %v", err)
	}
	cfg.MaxConns = int32(*maxConns)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		log.Fatalf("rawcheckout: %v", err)
	}
	defer pool.Close()

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/orders", func(c *fiber.Ctx) error {
		var req request
		if err := json.Unmarshal(c.Body(), &req); err != nil || len(req.Lines) == 0 {
			return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "bad body"})
		}
		for _, l := range req.Lines {
			if _, err := uuid.Parse(l.VariantID); err != nil || l.Quantity < 1 {
				return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "bad line"})
			}
		}
		id, total, err := checkout(c.UserContext(), pool, req)
		switch {
		case errors.Is(err, errShort):
			return c.Status(fiber.StatusConflict).JSON(fiber.Map{"error": err.Error()})
		case err != nil:
			log.Printf("checkout: %v", err)
			return c.SendStatus(fiber.StatusInternalServerError)
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": id, "total_minor": total})
	})
	log.Fatal(app.Listen(*addr))
}

// checkout is the naive transaction: the stock of every line in request
// order (each a guarded decrement returning the unit price), then the order
// and its lines, then commit.
func checkout(ctx context.Context, pool *pgxpool.Pool, req request) (string, int64, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", 0, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	prices := make([]int64, len(req.Lines))
	var total int64
	for i, l := range req.Lines {
		err := tx.QueryRow(ctx, `UPDATE raw_stock SET on_hand = on_hand - $2
			WHERE variant_id = $1 AND on_hand >= $2 RETURNING price_minor`, l.VariantID, l.Quantity).Scan(&prices[i])
		if errors.Is(err, pgx.ErrNoRows) {
			return "", 0, errShort
		}
		if err != nil {
			return "", 0, err
		}
		total += prices[i] * int64(l.Quantity)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO raw_orders (id, total_minor, created_at) VALUES ($1, $2, $3)`,
		id, total, time.Now()); err != nil {
		return "", 0, err
	}
	for i, l := range req.Lines {
		if _, err := tx.Exec(ctx, `INSERT INTO raw_order_lines (order_id, position, variant_id, quantity, unit_price_minor)
			VALUES ($1, $2, $3, $4, $5)`, id, i, l.VariantID, l.Quantity, prices[i]); err != nil {
			return "", 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", 0, err
	}
	return id.String(), total, nil
}
