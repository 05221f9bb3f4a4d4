package postgres

import (
	"context"
	"database/sql/driver"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// bunConnector is Bun's database/sql connector: pgx's own on the pool
// (stdlib.GetPoolConnector), whose connections run queries without
// arguments on the simple protocol.
//
// It caches nothing. Bun formats every statement client-side, arguments
// included, and sends it without arguments, so nearly every text is new.
// In pgx's default mode (cache_statement) each such query would become a
// named prepared statement: three round trips instead of one (deallocate
// the statement it evicts, prepare, execute) and up to 512 of them kept
// per connection by the server (measured: BenchmarkStore Get twice as
// slow, docs/benchmarks.md). Passing pgx.QueryExecModeSimpleProtocol as
// the first argument is pgx's documented per-query switch. Statements
// with arguments (River's, the stores' pgx statements) keep the pool's
// mode and its statement cache; pgx already runs Exec without arguments on
// the simple protocol.
type bunConnector struct{ driver.Connector }

// Connect implements driver.Connector.
func (c bunConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return dc, nil
	}
	return &bunConn{sc}, nil
}

// bunConn is a *stdlib.Conn whose queries without arguments use the simple
// protocol.
type bunConn struct{ *stdlib.Conn }

var simpleProtocol = []driver.NamedValue{{Ordinal: 1, Value: pgx.QueryExecModeSimpleProtocol}}

// QueryContext implements driver.QueryerContext.
func (c *bunConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		args = simpleProtocol
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// pgxConn returns the pgx connection under a database/sql driver
// connection of bunConnector.
func pgxConn(dc any) (*pgx.Conn, bool) {
	switch c := dc.(type) {
	case *bunConn:
		return c.Conn.Conn(), true
	case *stdlib.Conn:
		return c.Conn(), true
	}
	return nil, false
}
