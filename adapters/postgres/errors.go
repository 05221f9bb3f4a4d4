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
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// PostgreSQL error codes the adapter reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// pgField returns the column (or else the constraint) a PostgreSQL error
// names, or "".
func pgField(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return cmp.Or(pe.ColumnName, pe.ConstraintName)
	}
	var de pgdriver.Error
	if errors.As(err, &de) {
		return cmp.Or(de.Field('c'), de.Field('n'))
	}
	return ""
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	var de pgdriver.Error
	if errors.As(err, &de) {
		return de.Field('C')
	}
	return ""
}

// retryable reports whether a transaction failing with err may be rerun.
func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// isConnectionError reports whether err means the server could not be
// reached or the connection was lost.
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
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "failed to connect") || strings.Contains(msg, "broken pipe")
}

// unavailable wraps err with ecolaura.ErrUnavailable when it is a
// connection failure, and returns it unchanged otherwise.
func unavailable(err error) error {
	if isConnectionError(err) {
		return fmt.Errorf("%w: %w", ecolaura.ErrUnavailable, err)
	}
	return err
}

// mapInfra maps errors of the database itself to domain errors: connection
// failures to ErrUnavailable, unique violations and exhausted
// serialization retries to ErrConflict, constraint and range violations to
// a *ValidationError (ErrInvalid) naming the column or constraint. Other
// errors are returned as is.
func mapInfra(err error) error {
	if err == nil {
		return nil
	}
	switch code := pgCode(err); code {
	case codeUniqueViolation, codeSerializationFailure, codeDeadlockDetected:
		if errors.Is(err, ecolaura.ErrConflict) {
			return err
		}
		return fmt.Errorf("%w: %w", ecolaura.ErrConflict, err)
	case "23502", "23503", "23514", "22001", "22003", "22P02":
		// not null, foreign key, check, too long, out of range, bad text
		// representation: the input broke a rule the schema enforces.
		field := cmp.Or(pgField(err), "input")
		return fmt.Errorf("%w (%w)", ecolaura.Invalid(field, "violates a database constraint (SQLSTATE %s)", code), err)
	}
	if errors.Is(err, ecolaura.ErrUnavailable) {
		return err
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
