package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// Reads outside transactions run under Config.ReadTimeout on the one pool:
// the connection a read borrows gets the timeout as its session's
// statement_timeout, set when the pool hands it out (prepareConn) and only
// when it changes, so a connection that serves read after read, or
// transaction after transaction, pays nothing. Transactions set their own
// (SET LOCAL in the statement that begins them), so they take any
// connection as it is; every other use (River, COPY, migrations, writes
// outside transactions) gets the session's default back.

// sessionTimeoutKey marks the context a pool connection is acquired with:
// a time.Duration (the read timeout) or anyTimeoutValue.
type sessionTimeoutKey struct{}

// anyTimeoutValue marks an acquisition that takes a connection with
// whatever statement_timeout its session has.
type anyTimeoutValue struct{}

// customTimeout is the key, in a connection's pgconn CustomData, of the
// statement_timeout this package set on its session (absent: the default).
const customTimeout = "ecolaura.statement_timeout"

// anyTimeout returns ctx for acquiring a connection whose statement_timeout
// does not matter (a transaction, which sets its own, or a ping).
func anyTimeout(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionTimeoutKey{}, anyTimeoutValue{})
}

// prepareConn is the pool's PrepareConn hook: it gives the connection the
// statement_timeout its acquisition asks for, in one round trip when it
// differs from the session's current one. A connection it cannot set is
// destroyed and the acquisition fails.
func prepareConn(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var want time.Duration
	switch v := ctx.Value(sessionTimeoutKey{}).(type) {
	case anyTimeoutValue:
		return true, nil
	case time.Duration:
		want = v
	}
	data := conn.PgConn().CustomData()
	have, _ := data[customTimeout].(time.Duration)
	if have == want {
		return true, nil
	}
	sql := "RESET statement_timeout"
	if want > 0 {
		sql = "SET statement_timeout = " + strconv.FormatInt(max(want.Milliseconds(), 1), 10)
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return false, err
	}
	if want > 0 {
		data[customTimeout] = want
	} else {
		delete(data, customTimeout)
	}
	return true, nil
}

// begin starts a transaction on conn, free of any read timeout its session
// has: the SET LOCAL goes in the same message as BEGIN.
func begin(ctx context.Context, conn *pgx.Conn) (pgx.Tx, error) {
	if _, ok := conn.PgConn().CustomData()[customTimeout]; !ok {
		return conn.Begin(ctx)
	}
	return conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL statement_timeout TO DEFAULT"})
}

// readGate admits the reads outside transactions: at most
// Config.MaxReadConns at once, each under Config.ReadTimeout.
type readGate struct {
	slots   chan struct{}
	timeout time.Duration // none when not positive
	// inTx, behind a transaction pooler (see Open), runs each read in a
	// read-only transaction of its own whose SET LOCAL carries the
	// timeout: a session setting would stay with a server connection the
	// pooler hands to other clients.
	inTx *Database
}

// enter waits for a slot and returns the handle and context to run the
// read with (db and ctx but for the timeout, or the connection of the
// read's own transaction) and the function that ends the read. A nil gate
// (a store inside a transaction) admits at once and changes nothing.
// Errors: ctx's error; ErrUnavailable when the read's transaction cannot
// begin.
func (g *readGate) enter(ctx context.Context, db bun.IDB) (bun.IDB, context.Context, func(), error) {
	if g == nil {
		return db, ctx, func() {}, nil
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return db, ctx, nil, ctx.Err()
	}
	free := func() { <-g.slots }
	if g.timeout <= 0 {
		return db, ctx, free, nil
	}
	if g.inTx == nil {
		return db, context.WithValue(ctx, sessionTimeoutKey{}, g.timeout), free, nil
	}
	conn, err := g.inTx.db.Conn(ctx)
	if err != nil {
		free()
		return db, ctx, nil, err
	}
	var tx pgx.Tx
	begin := "BEGIN READ ONLY; SET LOCAL statement_timeout = " + strconv.FormatInt(max(g.timeout.Milliseconds(), 1), 10)
	if err := conn.Raw(func(dc any) error {
		pc, ok := pgxConn(dc)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		tx, err = pc.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
		return err
	}); err != nil {
		_ = conn.Close()
		free()
		return db, ctx, nil, err
	}
	leave := func() {
		// A read changes nothing: rolling back ends it as well as a
		// commit, and also after a failed statement.
		_ = conn.Raw(func(any) error { return tx.Rollback(ctx) })
		_ = conn.Close()
		free()
	}
	return conn, ctx, leave, nil
}
