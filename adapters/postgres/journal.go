package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// The product-cache journal (productcache.Journal) is the table
// product_cache_journal: a row per write that could not tell the shared
// cache before its commit, inserted in that write's transaction.

// RecordStaleProducts inserts a journal row within the transaction and
// returns its sequence number. IDs that are not UUIDs name no stored product
// and are left out. It implements productcache.JournalTx. Errors:
// ErrUnavailable.
func (t *txStores) RecordStaleProducts(ctx context.Context, ids []ecolaura.ID, lists bool) (int64, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) {
			keys = append(keys, string(id))
		}
	}
	if len(keys) == 0 && !lists {
		return 0, ecolaura.Invalid("ids", "must name at least one product")
	}
	var seq int64
	err := t.conn.NewRaw("INSERT INTO product_cache_journal (product_ids, lists) VALUES (?::uuid[], ?) RETURNING seq",
		pgdialect.Array(keys), lists).Scan(ctx, &seq)
	if err != nil {
		return 0, wrap(err, "record stale products")
	}
	return seq, nil
}

// StaleProducts returns up to limit of the oldest committed journal rows:
// their sequence numbers, the union of their product IDs and whether any
// changed lists. It implements productcache.Journal. Errors: ErrUnavailable.
func (d *Database) StaleProducts(ctx context.Context, limit int) ([]int64, []ecolaura.ID, bool, error) {
	var rows []struct {
		Seq        int64    `bun:"seq"`
		ProductIDs []string `bun:"product_ids,array"`
		Lists      bool     `bun:"lists"`
	}
	err := d.db.NewRaw("SELECT seq, product_ids::text[] AS product_ids, lists FROM product_cache_journal ORDER BY seq LIMIT ?",
		max(limit, 0)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, false, wrap(err, "read the product-cache journal")
	}
	var (
		seqs  []int64
		ids   []ecolaura.ID
		lists bool
		seen  = map[string]bool{}
	)
	for _, r := range rows {
		seqs = append(seqs, r.Seq)
		lists = lists || r.Lists
		for _, id := range r.ProductIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, ecolaura.ID(id))
			}
		}
	}
	return seqs, ids, lists, nil
}

// ForgetStaleProducts deletes the journal rows with the given sequence
// numbers; unknown ones are ignored. It implements productcache.Journal.
// Errors: ErrUnavailable.
func (d *Database) ForgetStaleProducts(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := d.db.NewRaw("DELETE FROM product_cache_journal WHERE seq = ANY(?::bigint[])", pgdialect.Array(seqs)).Exec(ctx); err != nil {
		return wrap(err, "forget product-cache journal rows")
	}
	return nil
}
