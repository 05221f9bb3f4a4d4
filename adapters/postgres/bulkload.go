package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// bulkTables are the tables a BulkLoad fills.
var bulkTables = []string{"products", "product_variants", "inventory_levels", "inventory_movements", "search_words"}

// BulkLoad loads products into an empty catalog in one transaction with
// the well-known bulk-load technique: the tables' secondary indexes, their
// non-primary unique constraints and their foreign keys are dropped first,
// the rows are copied, and the same indexes and constraints are created
// again (one sort per index and one validating query per foreign key
// instead of maintaining them row by row) before the commit. As everything
// happens in one transaction, a failure or a cancellation at any point
// rolls back to the catalog and schema of before: nothing is stored and
// every index and constraint is still there. The tables are locked
// (ACCESS EXCLUSIVE) until Commit or Rollback, so readers of the catalog
// wait: use it for seeding and imports into a new shop. Generated columns
// (search_doc, price_key, footprint_key) are computed by COPY as by any
// insert, so the rows are the same as InsertProducts stores.
type BulkLoad struct {
	conn    *pgxpool.Conn
	tx      pgx.Tx
	restore []string
	done    bool
}

// BeginBulkLoad starts a BulkLoad when the catalog (the products table) is
// empty. It returns nil and no error when the catalog is not empty: then
// use InsertProducts. Errors: ErrUnavailable.
func (d *Database) BeginBulkLoad(ctx context.Context) (*BulkLoad, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, wrap(err, "bulk load: acquire")
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, wrap(err, "bulk load: begin")
	}
	l := &BulkLoad{conn: conn, tx: tx}
	empty, err := l.prepare(ctx)
	if err != nil || !empty {
		l.Rollback(ctx)
		return nil, wrap(err, "bulk load: prepare")
	}
	return l, nil
}

func (l *BulkLoad) prepare(ctx context.Context) (empty bool, err error) {
	for _, q := range []string{
		"SET LOCAL synchronous_commit = off",
		"SET LOCAL maintenance_work_mem = '256MB'",
		"LOCK TABLE products, product_variants, inventory_levels, inventory_movements, search_words IN ACCESS EXCLUSIVE MODE",
	} {
		if _, err := l.tx.Exec(ctx, q); err != nil {
			return false, err
		}
	}
	var exists bool
	if err := l.tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM products)").Scan(&exists); err != nil || exists {
		return false, err
	}
	// What to drop, and how to create it again: foreign keys first (and
	// last again), then unique constraints no foreign key depends on, then
	// the indexes that back no constraint. Primary keys stay.
	rows, err := l.tx.Query(ctx, `
		SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
		       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)),
		       CASE c.contype WHEN 'f' THEN 0 ELSE 1 END
		  FROM pg_constraint c
		 WHERE c.conrelid = ANY($1::regclass[])
		   AND (c.contype = 'f' OR (c.contype = 'u'
		        AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))
		UNION ALL
		SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 2
		  FROM pg_index i
		 WHERE i.indrelid = ANY($1::regclass[])
		   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
		                   AND c.contype IN ('p', 'u', 'x'))
		 ORDER BY 3, 1`, bulkTables)
	if err != nil {
		return false, err
	}
	type item struct{ drop, create string }
	var items []item
	for rows.Next() {
		var it item
		var order int
		if err := rows.Scan(&it.drop, &it.create, &order); err != nil {
			return false, err
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, it := range items {
		if _, err := l.tx.Exec(ctx, it.drop); err != nil {
			return false, err
		}
	}
	// Create in the reverse order: indexes, unique constraints, foreign keys.
	for i := len(items) - 1; i >= 0; i-- {
		l.restore = append(l.restore, items[i].create)
	}
	return true, nil
}

// Insert copies products (as InsertProducts does: variants, levels,
// "initial" movements and search words) within the load's transaction.
// Errors: ErrInvalid for an ID that is not a UUID; ErrUnavailable. After an
// error, call Rollback.
func (l *BulkLoad) Insert(ctx context.Context, ps []ecolaura.Product) error {
	rows, err := PrepareProducts(ps)
	if err != nil {
		return err
	}
	return l.InsertRows(ctx, rows)
}

// ProductRows are products turned into the rows of the catalog tables
// (products, variants, levels, movements, search words), ready to copy.
type ProductRows struct {
	b *copyBatch
	n int
}

// PrepareProducts turns products into rows for BulkLoad.InsertRows, so that
// a loader can prepare the next batch while the previous one is copied.
// Errors: ErrInvalid for an ID that is not a UUID.
func PrepareProducts(ps []ecolaura.Product) (*ProductRows, error) {
	if len(ps) == 0 {
		return &ProductRows{}, nil
	}
	b, err := prepareBatch(ps)
	if err != nil {
		return nil, err
	}
	return &ProductRows{b: b, n: len(ps)}, nil
}

// Len is the number of products of r.
func (r *ProductRows) Len() int { return r.n }

// InsertRows is Insert for prepared rows. Errors: ErrUnavailable.
func (l *BulkLoad) InsertRows(ctx context.Context, r *ProductRows) error {
	if r.n == 0 {
		return nil
	}
	return wrap(r.b.copy(ctx, l.tx), "bulk load: copy %d products", r.n)
}

// Commit creates the dropped indexes and constraints again and commits.
// Errors: ErrConflict when the loaded rows break a unique constraint (an
// ID or SKU twice; nothing is stored); ErrUnavailable.
func (l *BulkLoad) Commit(ctx context.Context) error {
	if l.done {
		return errors.New("bulk load: already finished")
	}
	for _, q := range l.restore {
		if _, err := l.tx.Exec(ctx, q); err != nil {
			l.Rollback(ctx)
			return wrap(err, "bulk load: restore")
		}
	}
	err := l.tx.Commit(ctx)
	l.done = true
	l.conn.Release()
	return wrap(err, "bulk load: commit")
}

// Rollback discards the load (nothing is stored, every index and
// constraint stays). It is a no-op after Commit or Rollback.
func (l *BulkLoad) Rollback(ctx context.Context) {
	if l.done {
		return
	}
	l.done = true
	_ = l.tx.Rollback(context.WithoutCancel(ctx))
	l.conn.Release()
}
