package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// PostgreSQL error codes the adapter reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeQueryCanceled        = "57014"
)

// pgField returns the field a PostgreSQL error is about: its column, or
// else the column its constraint is named after ("stock" for
// products_stock_max or products_stock_check: the table's name and the
// constraint's last word removed), or "".
func pgField(err error) string {
	var column, constraint, table string
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		column, constraint, table = pe.ColumnName, pe.ConstraintName, pe.TableName
	}
	if column != "" || constraint == "" {
		return column
	}
	rest, ok := strings.CutPrefix(constraint, table+"_")
	if i := strings.LastIndexByte(rest, '_'); ok && i > 0 {
		return rest[:i]
	}
	return constraint
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var hidden *driverError
	if errors.As(err, &hidden) {
		return hidden.code
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports whether a transaction failing with err may be rerun.
func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// isConnectionError reports whether err means the server could not be
// reached or the connection was lost. It decides by the errors' types and
// SQLSTATE classes, never by their text.
func isConnectionError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if c := pgCode(err); c != "" {
		// Class 08: connection exception; 57P01-57P03: shutdown / cannot connect now.
		return strings.HasPrefix(c, "08") || c == "57P01" || c == "57P02" || c == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.As(err, &oe),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// driverError keeps a driver's error behind the port: it matches its
// sentinel (a domain error, the caller's context error, or none for an
// unexpected failure) and keeps the driver's text, but the driver's types
// (*pgconn.PgError, *pgconn.ConnectError, net errors, ...) are not reachable with
// errors.As, so they are not part of the SDK's API. It keeps the SQLSTATE
// for the adapter's own retry decisions.
type driverError struct {
	sentinel error
	code     string
	msg      string
}

func (e *driverError) Error() string {
	if e.sentinel == nil {
		return e.msg
	}
	return e.sentinel.Error() + ": " + e.msg
}

func (e *driverError) Unwrap() error { return e.sentinel }

// hide puts err behind sentinel (nil for none).
func hide(err, sentinel error) error {
	return &driverError{sentinel: sentinel, code: pgCode(err), msg: err.Error()}
}

// domainSentinels are the errors the adapter itself returns; an error
// matching one of them has been mapped already.
var domainSentinels = []error{
	ecolaura.ErrNotFound, ecolaura.ErrInvalid, ecolaura.ErrConflict, ecolaura.ErrInsufficientStock,
	ecolaura.ErrInvalidTransition, ecolaura.ErrUnavailable,
}

// mapped reports whether err is already behind the port: one of the
// adapter's own domain errors or a hidden driver error.
func mapped(err error) bool {
	var de *driverError
	if errors.As(err, &de) {
		return true
	}
	var ce *ecolaura.ConfigError
	if errors.As(err, &ce) {
		return true
	}
	for _, s := range domainSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// unavailable puts a driver's err behind the port: ecolaura.ErrUnavailable
// for a connection failure, the context's error when the caller gave up,
// no sentinel otherwise. Errors already behind the port pass unchanged.
func unavailable(err error) error {
	switch {
	case err == nil || mapped(err):
		return err
	case isConnectionError(err):
		return hide(err, ecolaura.ErrUnavailable)
	case errors.Is(err, context.Canceled):
		return hide(err, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return hide(err, context.DeadlineExceeded)
	}
	return hide(err, nil)
}

// mapInfra maps errors of the database itself to domain errors: unique
// violations and exhausted serialization retries to ErrConflict, constraint
// and range violations to a *ValidationError (ErrInvalid) naming the column
// or constraint, and the rest as [unavailable] does. The driver's error is
// kept as text only.
func mapInfra(err error) error {
	if err == nil || mapped(err) {
		return err
	}
	switch code := pgCode(err); code {
	case codeUniqueViolation, codeSerializationFailure, codeDeadlockDetected:
		return hide(err, ecolaura.ErrConflict)
	case codeQueryCanceled:
		// statement_timeout (Config.ReadTimeout), or a cancelled statement.
		return hide(err, ecolaura.ErrUnavailable)
	case "23502", "23503", "23514", "22001", "22003", "22P02", "22021", "22P05":
		// not null, foreign key, check, too long, out of range, bad text
		// representation, a character the encoding cannot hold (U+0000,
		// invalid UTF-8): the input broke a rule the schema enforces.
		field := cmp.Or(pgField(err), "input")
		return hide(err, ecolaura.Invalid(field, "violates a database constraint (SQLSTATE %s)", code))
	}
	return unavailable(err)
}

// wrap adds context to a failed statement and maps it with mapInfra.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, mapInfra(err))...)
}
