package postgres

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/uptrace/bun/driver/pgdriver"
)

// maxCachedStmts bounds the prepared statements kept per connection. River
// issues a few dozen distinct statements; bun sends none with arguments.
const maxCachedStmts = 256

// stmtCacheConnector wraps pgdriver's connector so that statements sent with
// arguments are prepared once per connection and then only bound and
// executed, as pgx's statement cache does. Bun formats its statements
// client-side and sends them without arguments (simple protocol, unchanged);
// River's statements (job inserts in checkout, the runner's fetches) are
// constant texts with arguments, whose parsing and planning the server
// would otherwise repeat on every call. Prepared statements live in the
// session, outside transactions, so they change nothing about what commits
// or rolls back.
type stmtCacheConnector struct{ *pgdriver.Connector }

// Connect implements driver.Connector.
func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cn, ok := dc.(*pgdriver.Conn)
	if !ok {
		return dc, nil
	}
	return &stmtCacheConn{Conn: cn, stmts: make(map[string]driver.Stmt)}, nil
}

// stmtCacheConn is a *pgdriver.Conn with a per-connection cache of prepared
// statements for queries with arguments. database/sql uses a connection
// from one goroutine at a time, so the map needs no lock.
type stmtCacheConn struct {
	*pgdriver.Conn
	stmts map[string]driver.Stmt
}

// stmt returns the cached prepared statement for query, preparing it on
// first use; nil (and no error) when the cache is full.
func (c *stmtCacheConn) stmt(ctx context.Context, query string) (driver.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.Conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.checkErr(query, err)
	}
	c.stmts[query] = st
	return st, nil
}

// QueryContext implements driver.QueryerContext.
func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return viaStmt(c, ctx, query, args, c.Conn.QueryContext, func(st driver.Stmt) (driver.Rows, error) {
		return st.(driver.StmtQueryContext).QueryContext(ctx, args)
	})
}

// ExecContext implements driver.ExecerContext.
func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return viaStmt(c, ctx, query, args, c.Conn.ExecContext, func(st driver.Stmt) (driver.Result, error) {
		return st.(driver.StmtExecContext).ExecContext(ctx, args)
	})
}

// viaStmt runs a statement with arguments through the connection's cached
// prepared statement; statements without arguments (and those the cache
// declines) go to the connection directly.
func viaStmt[T any](c *stmtCacheConn, ctx context.Context, query string, args []driver.NamedValue,
	direct func(context.Context, string, []driver.NamedValue) (T, error), run func(driver.Stmt) (T, error)) (T, error) {
	var zero T
	if len(args) == 0 {
		return direct(ctx, query, args)
	}
	if !c.IsValid() {
		return zero, driver.ErrBadConn
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return zero, err
	}
	if st == nil {
		return direct(ctx, query, args)
	}
	out, err := run(st)
	if err != nil {
		return zero, c.checkErr(query, err)
	}
	return out, nil
}

// checkErr does what pgdriver does for its own statements: a broken
// connection is closed, so database/sql discards it. A statement whose plan
// the server rejects (schema changed under it, or the statement is gone)
// leaves the cache, to be prepared afresh on next use.
func (c *stmtCacheConn) checkErr(query string, err error) error {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		switch pgErr.Field('C') {
		case "0A000", // cached plan must not change result type
			"26000": // prepared statement does not exist
			delete(c.stmts, query)
		}
	}
	if badConn(err) {
		_ = c.Close()
	}
	return err
}

// badConn mirrors pgdriver's rule for errors that leave the connection
// unusable: anything but a server error, a FATAL or PANIC server error, or
// an aborted transaction or cancelled statement.
func badConn(err error) bool {
	if errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pgErr pgdriver.Error
	if !errors.As(err, &pgErr) {
		return true
	}
	switch pgErr.Field('V') {
	case "FATAL", "PANIC":
		return true
	}
	switch pgErr.Field('C') {
	case "25P02", "57014":
		return true
	}
	return false
}
