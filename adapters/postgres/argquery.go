package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
)

// argStmt runs a constant statement with $n placeholders and hands its
// arguments to the driver instead of formatting them into the text as bun
// does, so the driver's statement cache (stmtCacheConn on pgdriver, pgx's
// own on DriverPgx) parses and plans it once per connection. Checkout's
// statements use it: the order insert with its lines is a CTE whose
// planning, repeated for every client-side-formatted text, cost about as
// much as the rest of the transaction (measured, BenchmarkCheckoutVsRawPgx
// on pgdriver: ~69 % of raw pgx before, ~97 % after).
type argStmt struct {
	db     *bun.DB // for bun's row mapping
	q      sqlQuerier
	counts *queryCounter
	err    error // an unsupported handle
}

// sqlQuerier is what *sql.DB, *sql.Conn and *sql.Tx share.
type sqlQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// newArgStmt returns an argStmt on idb's pool, connection or transaction.
func newArgStmt(idb bun.IDB, counts *queryCounter) argStmt {
	switch v := idb.(type) {
	case bun.Tx:
		return argStmt{db: v.NewRaw("").DB(), q: v.Tx, counts: counts}
	case *bun.DB:
		return argStmt{db: v, q: v.DB, counts: counts}
	case bun.Conn:
		return argStmt{db: v.NewRaw("").DB(), q: v.Conn, counts: counts}
	}
	return argStmt{err: fmt.Errorf("unsupported bun handle %T", idb)}
}

// scanRow runs query and scans its first row into dest (a bun model or
// scalars); sql.ErrNoRows when there is none. It counts in
// Database.QueryCount like bun's statements.
func (a argStmt) scanRow(ctx context.Context, dest any, query string, args ...any) error {
	if a.err != nil {
		return a.err
	}
	if a.counts != nil {
		a.counts.n.Add(1)
	}
	rows, err := a.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := a.db.ScanRow(ctx, rows, dest); err != nil {
		return err
	}
	for rows.Next() { //nolint:revive // drain, so a later error is seen
	}
	return rows.Err()
}
