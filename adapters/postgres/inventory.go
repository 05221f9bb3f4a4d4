package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

func newMovementID() ecolaura.ID { return ecolaura.ID(uuid.Must(uuid.NewV7()).String()) }

// inventoryStore implements ports.InventoryStore on the inventory_levels,
// inventory_movements and stock_locations tables.
type inventoryStore struct {
	db     bun.IDB
	reads  *readGate
	counts *queryCounter
	d      *Database
	tx     *txStores // nil outside a transaction
}

var _ ports.InventoryStore = (*inventoryStore)(nil)

// atomically runs fn in the store's transaction, or in one of its own.
func (s *inventoryStore) atomically(ctx context.Context, fn func(ctx context.Context, t *txStores) error) error {
	if s.tx != nil {
		return fn(ctx, s.tx)
	}
	return s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return fn(ctx, tx.(*txStores)) })
}

// Locations returns every stock location by position. Errors: ErrUnavailable.
func (s *inventoryStore) Locations(ctx context.Context) ([]ecolaura.StockLocation, error) {
	var rows []struct {
		ID       string `bun:"id"`
		Name     string `bun:"name"`
		Ships    bool   `bun:"ships"`
		Position int    `bun:"position"`
	}
	if err := s.db.NewRaw("SELECT id, name, ships, position FROM stock_locations ORDER BY position").Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list stock locations")
	}
	out := make([]ecolaura.StockLocation, len(rows))
	for i, r := range rows {
		out[i] = ecolaura.StockLocation{ID: ecolaura.ID(r.ID), Name: r.Name, Ships: r.Ships, Position: r.Position}
	}
	return out, nil
}

// CreateLocation adds a location. Errors: ErrInvalid (a taken position);
// ErrConflict (a taken ID); ErrUnavailable.
func (s *inventoryStore) CreateLocation(ctx context.Context, l ecolaura.StockLocation) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("create stock location: %w", err)
	}
	res, err := s.db.NewRaw("INSERT INTO stock_locations (id, name, ships, position) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
		string(l.ID), l.Name, l.Ships, l.Position).Exec(ctx)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == "stock_locations_position_key" {
		return fmt.Errorf("create stock location: %w", ecolaura.Invalid("position", "is taken by another location"))
	}
	if err != nil {
		return wrap(err, "create stock location %s", l.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create stock location %s: id exists: %w", l.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Levels returns the levels of the variants by variant ID, then location
// position. Errors: ErrUnavailable.
func (s *inventoryStore) Levels(ctx context.Context, variantIDs []ecolaura.ID) ([]ecolaura.InventoryLevel, error) {
	keys := make([]string, 0, len(variantIDs))
	for _, id := range variantIDs {
		if validID(id) {
			keys = append(keys, string(id))
		}
	}
	out := []ecolaura.InventoryLevel{}
	if len(keys) == 0 {
		return out, nil
	}
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "inventory levels")
	}
	defer leave()
	var rows []struct {
		VariantID  string `bun:"variant_id"`
		LocationID string `bun:"location_id"`
		OnHand     int    `bun:"on_hand"`
	}
	err = db.NewRaw(`SELECT l.variant_id, l.location_id, l.on_hand FROM inventory_levels l
		JOIN stock_locations sl ON sl.id = l.location_id
		WHERE l.variant_id = ANY(?::uuid[]) ORDER BY l.variant_id, sl.position`, pgdialect.Array(keys)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "inventory levels")
	}
	for _, r := range rows {
		out = append(out, ecolaura.InventoryLevel{VariantID: ecolaura.ID(r.VariantID), LocationID: ecolaura.ID(r.LocationID), OnHand: r.OnHand})
	}
	return out, nil
}

// insertMovement is the statement that changes one level to $3 and records
// the movement, returning the product ID.
const changeLevel = `WITH l AS (UPDATE inventory_levels SET on_hand = $3 WHERE variant_id = $1::uuid AND location_id = $2::uuid
		RETURNING variant_id, location_id, on_hand)
	INSERT INTO inventory_movements (id, variant_id, location_id, delta, on_hand, reason, actor_id, order_id, note, at)
	SELECT $4::uuid, variant_id, location_id, $5, on_hand, $6, $7::uuid, $8::uuid, $9, $10 FROM l`

func nullID(id ecolaura.ID) *string {
	if id == "" {
		return nil
	}
	s := string(id)
	return &s
}

// Change locks the level (creating it at 0 when the variant has none at the
// location yet), applies the change and records the movement, in the
// caller's transaction or one of its own. Errors: ErrNotFound;
// *ecolaura.InsufficientStockError; ErrInvalid; ErrUnavailable.
func (s *inventoryStore) Change(ctx context.Context, c ports.InventoryChange) (ports.InventoryResult, error) {
	if c.LocationID == "" {
		c.LocationID = ecolaura.DefaultLocationID
	}
	if err := ports.ValidateInventoryChange(c); err != nil {
		return ports.InventoryResult{}, fmt.Errorf("inventory change: %w", err)
	}
	if !validID(c.VariantID) {
		return ports.InventoryResult{}, notFound("variant", c.VariantID)
	}
	if !validID(c.LocationID) {
		return ports.InventoryResult{}, notFound("stock location", c.LocationID)
	}
	var out ports.InventoryResult
	err := s.atomically(ctx, func(ctx context.Context, t *txStores) error {
		return t.onTx(func(q pgxQuerier) error {
			var (
				product *string
				name    *string
				locOK   bool
			)
			err := q.QueryRow(ctx, `SELECT v.product_id::text, p.name, EXISTS (SELECT 1 FROM stock_locations WHERE id = $2::uuid)
				FROM (SELECT 1) AS one LEFT JOIN product_variants v ON v.id = $1::uuid LEFT JOIN products p ON p.id = v.product_id`,
				string(c.VariantID), string(c.LocationID)).Scan(&product, &name, &locOK)
			if err != nil {
				return wrap(err, "inventory change")
			}
			if product == nil {
				return notFound("variant", c.VariantID)
			}
			if !locOK {
				return notFound("stock location", c.LocationID)
			}
			if _, err := q.Exec(ctx, `INSERT INTO inventory_levels (variant_id, location_id, on_hand) VALUES ($1::uuid, $2::uuid, 0)
				ON CONFLICT DO NOTHING`, string(c.VariantID), string(c.LocationID)); err != nil {
				return wrap(err, "inventory change")
			}
			var before int
			if err := q.QueryRow(ctx, `SELECT on_hand FROM inventory_levels WHERE variant_id = $1::uuid AND location_id = $2::uuid FOR UPDATE`,
				string(c.VariantID), string(c.LocationID)).Scan(&before); err != nil {
				if errors.Is(err, pgx.ErrNoRows) { // the variant was deleted meanwhile
					return notFound("variant", c.VariantID)
				}
				return wrap(err, "inventory change")
			}
			after, err := c.Result(before)
			if err != nil {
				var ise *ecolaura.InsufficientStockError
				if errors.As(err, &ise) {
					ise.ProductID = ecolaura.ID(*product)
					if name != nil {
						ise.Name = *name
					}
				}
				return err
			}
			m := ecolaura.InventoryMovement{ID: newMovementID(), VariantID: c.VariantID, LocationID: c.LocationID,
				Delta: after - before, OnHand: after, Reason: c.Reason, ActorID: c.ActorID, OrderID: c.OrderID, Note: c.Note, At: c.At}
			s.counts.n.Add(4)
			if _, err := q.Exec(ctx, changeLevel, string(c.VariantID), string(c.LocationID), int64(after), string(m.ID),
				int64(m.Delta), string(m.Reason), nullID(m.ActorID), nullID(m.OrderID), m.Note, m.At); err != nil {
				return wrap(err, "inventory change")
			}
			out = ports.InventoryResult{ProductID: ecolaura.ID(*product), Before: before, After: after, Movement: m}
			return nil
		})
	})
	return out, err
}

// sellDefault is a sale's hot path: one guarded decrement at the default
// location with its movement, in one statement. No row but the level is
// locked; the product row is not touched.
const sellDefault = `WITH l AS (UPDATE inventory_levels SET on_hand = on_hand - $2
		WHERE variant_id = $1::uuid AND location_id = $3::uuid AND on_hand >= $2
		RETURNING on_hand),
	m AS (INSERT INTO inventory_movements (id, variant_id, location_id, delta, on_hand, reason, actor_id, order_id, at)
		SELECT $4::uuid, $1::uuid, $3::uuid, -$2, on_hand, 'sale', $5::uuid, $6::uuid, $7 FROM l)
	SELECT on_hand, (SELECT product_id::text FROM product_variants WHERE id = $1::uuid) FROM l`

// sellBatch is the hot path of a sale of several variants: in one
// statement it locks the default location's levels of every variant in
// variant-ID order (whatever they hold, so the slow path that may follow
// keeps the order: default levels first, then the others variant by
// variant), and only when each holds its sale's units takes them all and
// records the movements. It returns no row when some level is missing or
// short. No row but the levels is locked; the product rows are not touched.
const sellBatch = `WITH req AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[]) AS r (variant_id, qty, movement_id)),
	locked AS MATERIALIZED (SELECT l.variant_id, l.on_hand, req.qty, req.movement_id
		FROM inventory_levels l JOIN req ON req.variant_id = l.variant_id
		WHERE l.location_id = $4::uuid ORDER BY l.variant_id FOR NO KEY UPDATE OF l),
	ok AS (SELECT count(*) FILTER (WHERE on_hand >= qty) = $5 AS all_held FROM locked),
	l AS (UPDATE inventory_levels l SET on_hand = l.on_hand - k.qty FROM locked k, ok
		WHERE ok.all_held AND l.variant_id = k.variant_id AND l.location_id = $4::uuid
		RETURNING l.variant_id, l.on_hand, k.qty, k.movement_id),
	m AS (INSERT INTO inventory_movements (id, variant_id, location_id, delta, on_hand, reason, actor_id, order_id, at)
		SELECT movement_id, variant_id, $4::uuid, -qty, on_hand, 'sale', $6::uuid, $7::uuid, $8 FROM l)
	SELECT l.variant_id::text, l.on_hand, l.movement_id::text, v.product_id::text
	FROM l JOIN product_variants v ON v.id = l.variant_id ORDER BY l.variant_id`

// Sell takes every sale or none (see ports.InventoryStore.Sell): first in
// one statement from the default location (the common case: sellDefault
// for one sale, sellBatch for several); when some variant's default level
// holds too few, sale by sale in variant-ID order, each from the default
// location when it can, else from every location that ships (sellSpread).
// Errors: ErrInvalid; ErrNotFound; *ecolaura.InsufficientStockError;
// ErrUnavailable.
func (s *inventoryStore) Sell(ctx context.Context, sales ...ports.Sale) ([]ports.InventoryResult, error) {
	sorted, err := ports.ValidateSales(sales)
	if err != nil {
		return nil, err
	}
	for _, sale := range sorted {
		if !validID(sale.VariantID) {
			return nil, notFound("variant", sale.VariantID)
		}
	}
	var out []ports.InventoryResult
	err = s.atomically(ctx, func(ctx context.Context, t *txStores) error {
		out = nil
		return t.onTx(func(q pgxQuerier) error {
			if len(sorted) > 1 && oneOrigin(sorted) {
				done, err := s.sellAll(ctx, q, sorted, &out)
				if err != nil || done {
					return err
				}
			}
			for _, sale := range sorted {
				if err := s.sellOne(ctx, q, sale, &out); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return out, err
}

// oneOrigin reports whether sales share their order, actor and time (the
// sales of one checkout), which sellBatch records once for all.
func oneOrigin(sales []ports.Sale) bool {
	for _, s := range sales[1:] {
		if s.OrderID != sales[0].OrderID || s.ActorID != sales[0].ActorID || !s.At.Equal(sales[0].At) {
			return false
		}
	}
	return true
}

// sellAll runs sellBatch; done is false when it took nothing.
func (s *inventoryStore) sellAll(ctx context.Context, q pgxQuerier, sales []ports.Sale, out *[]ports.InventoryResult) (done bool, err error) {
	n := len(sales)
	variants, qty, moves := make([]string, n), make([]int32, n), make([]string, n)
	for i, sale := range sales {
		variants[i], qty[i], moves[i] = string(sale.VariantID), int32(sale.Quantity), string(newMovementID())
	}
	first := sales[0] // see oneOrigin
	s.counts.n.Add(1)
	rows, err := q.Query(ctx, sellBatch, variants, qty, moves, defaultLocation, n,
		nullID(first.ActorID), nullID(first.OrderID), first.At)
	if err != nil {
		return false, wrap(err, "sell %d variants", n)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var variant, move, product string
		var after int
		if err := rows.Scan(&variant, &after, &move, &product); err != nil {
			return false, wrap(err, "sell %d variants", n)
		}
		sale := sales[i]
		*out = append(*out, ports.InventoryResult{ProductID: ecolaura.ID(product), Before: after + sale.Quantity, After: after,
			Movement: ecolaura.InventoryMovement{ID: ecolaura.ID(move), VariantID: sale.VariantID, LocationID: ecolaura.DefaultLocationID,
				Delta: -sale.Quantity, OnHand: after, Reason: ecolaura.MoveSale, ActorID: sale.ActorID, OrderID: sale.OrderID, At: sale.At}})
		i++
	}
	if err := rows.Err(); err != nil {
		return false, wrap(err, "sell %d variants", n)
	}
	return i > 0, nil
}

// sellOne takes one sale: in one statement from the default location
// when it holds the units, else through sellSpread.
func (s *inventoryStore) sellOne(ctx context.Context, q pgxQuerier, sale ports.Sale, out *[]ports.InventoryResult) error {
	id := newMovementID()
	var (
		after   int
		product *string
	)
	s.counts.n.Add(1)
	err := q.QueryRow(ctx, sellDefault, string(sale.VariantID), int64(sale.Quantity), defaultLocation,
		string(id), nullID(sale.ActorID), nullID(sale.OrderID), sale.At).Scan(&after, &product)
	if err == nil && product != nil {
		*out = append(*out, ports.InventoryResult{ProductID: ecolaura.ID(*product), Before: after + sale.Quantity, After: after,
			Movement: ecolaura.InventoryMovement{ID: id, VariantID: sale.VariantID, LocationID: ecolaura.DefaultLocationID,
				Delta: -sale.Quantity, OnHand: after, Reason: ecolaura.MoveSale, ActorID: sale.ActorID, OrderID: sale.OrderID, At: sale.At}})
		return nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return wrap(err, "sell variant %s", sale.VariantID)
	}
	return s.sellSpread(ctx, q, sale, out)
}

// sellSpread is Sell's slow path.
func (s *inventoryStore) sellSpread(ctx context.Context, q pgxQuerier, sale ports.Sale, out *[]ports.InventoryResult) error {
	type level struct {
		loc    string
		onHand int
	}
	var levels []level
	s.counts.n.Add(1)
	rows, err := q.Query(ctx, `SELECT l.location_id::text, l.on_hand FROM inventory_levels l
		JOIN stock_locations sl ON sl.id = l.location_id AND sl.ships
		WHERE l.variant_id = $1::uuid ORDER BY sl.position FOR UPDATE OF l`, string(sale.VariantID))
	if err != nil {
		return wrap(err, "sell variant %s", sale.VariantID)
	}
	total := 0
	for rows.Next() {
		var l level
		if err := rows.Scan(&l.loc, &l.onHand); err != nil {
			rows.Close()
			return wrap(err, "sell variant %s", sale.VariantID)
		}
		total += l.onHand
		levels = append(levels, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap(err, "sell variant %s", sale.VariantID)
	}
	var product, name *string
	if err := q.QueryRow(ctx, `SELECT v.product_id::text, p.name FROM (SELECT 1) AS one
		LEFT JOIN product_variants v ON v.id = $1::uuid LEFT JOIN products p ON p.id = v.product_id`,
		string(sale.VariantID)).Scan(&product, &name); err != nil {
		return wrap(err, "sell variant %s", sale.VariantID)
	}
	if product == nil {
		return notFound("variant", sale.VariantID)
	}
	if total < sale.Quantity {
		ise := &ecolaura.InsufficientStockError{ProductID: ecolaura.ID(*product), VariantID: sale.VariantID,
			Requested: sale.Quantity, Available: total}
		if name != nil {
			ise.Name = *name
		}
		return fmt.Errorf("sell: %w", ise)
	}
	need := sale.Quantity
	for _, l := range levels {
		if need == 0 {
			break
		}
		if l.onHand == 0 {
			continue
		}
		take := min(need, l.onHand)
		need -= take
		m := ecolaura.InventoryMovement{ID: newMovementID(), VariantID: sale.VariantID, LocationID: ecolaura.ID(l.loc),
			Delta: -take, OnHand: l.onHand - take, Reason: ecolaura.MoveSale, ActorID: sale.ActorID, OrderID: sale.OrderID, At: sale.At}
		s.counts.n.Add(1)
		if _, err := q.Exec(ctx, changeLevel, string(sale.VariantID), l.loc, int64(m.OnHand), string(m.ID), int64(m.Delta),
			string(m.Reason), nullID(m.ActorID), nullID(m.OrderID), "", m.At); err != nil {
			return wrap(err, "sell variant %s", sale.VariantID)
		}
		*out = append(*out, ports.InventoryResult{ProductID: ecolaura.ID(*product), Before: l.onHand, After: m.OnHand, Movement: m})
	}
	return nil
}

// Movements returns movements newest first. Errors: ErrInvalid (limit);
// ErrUnavailable.
func (s *inventoryStore) Movements(ctx context.Context, q ports.MovementQuery) ([]ecolaura.InventoryMovement, error) {
	if q.Limit < 1 || q.Limit > 1000 {
		return nil, ecolaura.Invalid("limit", "must be between 1 and 1000")
	}
	out := []ecolaura.InventoryMovement{}
	if (q.VariantID != "" && !validID(q.VariantID)) || (q.OrderID != "" && !validID(q.OrderID)) {
		return out, nil
	}
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "list movements")
	}
	defer leave()
	sel := db.NewSelect().Table("inventory_movements").
		ColumnExpr("id, variant_id, location_id, delta, on_hand, reason, coalesce(actor_id::text, '') AS actor_id, coalesce(order_id::text, '') AS order_id, note, at")
	if q.VariantID != "" {
		sel = sel.Where("variant_id = ?", string(q.VariantID))
	}
	if q.OrderID != "" {
		sel = sel.Where("order_id = ?", string(q.OrderID))
	}
	if b := q.Before; b != nil {
		if !validID(b.ID) {
			return out, nil
		}
		sel = sel.Where("(at, id) < (?::timestamptz, ?::uuid)", b.At.UTC(), string(b.ID))
	}
	var rows []struct {
		ID         string    `bun:"id"`
		VariantID  string    `bun:"variant_id"`
		LocationID string    `bun:"location_id"`
		Delta      int       `bun:"delta"`
		OnHand     int       `bun:"on_hand"`
		Reason     string    `bun:"reason"`
		ActorID    string    `bun:"actor_id"`
		OrderID    string    `bun:"order_id"`
		Note       string    `bun:"note"`
		At         time.Time `bun:"at"`
	}
	if err := sel.OrderExpr("at DESC, id DESC").Limit(int64(q.Limit)).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list movements")
	}
	for _, r := range rows {
		out = append(out, ecolaura.InventoryMovement{ID: ecolaura.ID(r.ID), VariantID: ecolaura.ID(r.VariantID),
			LocationID: ecolaura.ID(r.LocationID), Delta: r.Delta, OnHand: r.OnHand, Reason: ecolaura.MovementReason(r.Reason),
			ActorID: ecolaura.ID(r.ActorID), OrderID: ecolaura.ID(r.OrderID), Note: r.Note, At: r.At.UTC()})
	}
	return out, nil
}
