package productcache

import (
	"context"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Journal is what a wrapped [ports.Database] implements to make
// invalidations durable: a table of product IDs whose cached entries are
// stale, written in the transaction of the write itself whenever the cache
// cannot be told before the commit (Redis down, hung or cut off), and read
// back by any process sharing the cache once the cache answers again. With
// it, no process serves a product older than a committed write once the
// cache is reachable, whichever process died in the meantime. The
// PostgreSQL and memory adapters implement it; a database that does not
// falls back to remembering failed invalidations in the writing process.
//
// Rows are removed once applied; applying a row twice is harmless.
type Journal interface {
	// StaleProducts returns up to limit of the oldest recorded rows: their
	// sequence numbers, the union of their product IDs and whether any of
	// them changed lists (a catalog edit or a stock crossing zero). Errors:
	// ecolaura.ErrUnavailable.
	StaleProducts(ctx context.Context, limit int) (seqs []int64, ids []ecolaura.ID, lists bool, err error)
	// ForgetStaleProducts removes the rows with the given sequence numbers;
	// unknown ones are ignored. Errors: ecolaura.ErrUnavailable.
	ForgetStaleProducts(ctx context.Context, seqs []int64) error
}

// JournalTx is what the [ports.Tx] of a [Journal] database implements: the
// row it records commits or rolls back with the transaction.
type JournalTx interface {
	// RecordStaleProducts records that ids (and lists, when set) are stale
	// once the transaction commits, and returns the row's sequence number.
	// Errors: ecolaura.ErrUnavailable.
	RecordStaleProducts(ctx context.Context, ids []ecolaura.ID, lists bool) (int64, error)
}
