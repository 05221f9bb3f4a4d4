// Package ports declares the interfaces the Ecolaura core needs from the
// outside world: stores with a transaction boundary, cache, job queue,
// mailer, password hasher, token issuer and verifier, clock and ID generator.
//
// Adapters (memory, postgres, redis, jwt, ...) implement them; the exported
// conformance suites in ports/porttest check that an implementation honours
// the semantics documented here. No database, HTTP or Redis type appears in a
// port. Every call that can block takes a context.Context first.
package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Clock tells the time. Inject a fixed clock for deterministic tests.
type Clock interface {
	Now() time.Time
}

// IDGenerator makes new, unique, time-ordered IDs (UUIDv7).
type IDGenerator interface {
	NewID() ecolaura.ID
}

// Stores gives access to every store. Outside a transaction each call is
// atomic on its own; inside [UnitOfWork.Do] the stores of the [Tx] see the
// transaction's own writes and commit or roll back with it.
type Stores interface {
	Products() ProductStore
	Inventory() InventoryStore
	Orders() OrderStore
	Users() UserStore
	RefreshTokens() RefreshTokenStore
	AccountTokens() AccountTokenStore
	Audit() AuditLog
	Addresses() AddressStore
	ShippingMethods() ShippingMethodStore
	TaxRates() TaxRateStore
	Payments() PaymentStore
	Passports() PassportStore
	Images() ImageStore
}

// Tx is one transaction: stores bound to it, and a job queue whose
// enqueues commit or roll back with it.
type Tx interface {
	Stores
	Jobs() JobQueue
}

// UnitOfWork runs functions in a transaction.
//
// Isolation is READ COMMITTED (PostgreSQL's default), with exactly these
// guarantees, which porttest.UnitOfWork checks on every adapter:
//
//   - Atomic: everything fn writes through tx commits together, or nothing
//     of it does.
//   - No dirty reads: no read, inside or outside a transaction, sees another
//     transaction's uncommitted writes.
//   - Read committed, not a snapshot: each read inside fn sees what was
//     committed before it began, plus fn's own writes. Two reads of one row
//     in one transaction may differ, and a row fn read may have changed by
//     the time fn writes it.
//   - Guarded writes: every store write is one conditional statement (a
//     version check, a stock guard, allowed status predecessors, "not used
//     yet", a unique key) evaluated against the latest committed row, which
//     it then keeps locked until the transaction ends. A transaction writing
//     a row another one has written waits for that one to end and evaluates
//     its condition against the outcome. So two transactions cannot both
//     win on a stale read, but a decision must rest on the write's result
//     (ErrConflict, ErrInsufficientStock, ErrInvalidTransition, a false
//     "did it" flag), never on an earlier read alone: of two transactions
//     that both read a refresh token as unused, only one MarkUsed succeeds.
//
// Transactions are not serializable: a transaction that only reads, or
// that writes rows other than those it read, may commit a result that no
// serial order would produce. Callers that need more take it from a
// guarded write.
type UnitOfWork interface {
	// Do runs fn in one transaction: when fn returns nil everything it wrote
	// through tx is committed atomically (and enqueued jobs become visible to
	// workers); when fn returns an error or panics nothing of it is. On a
	// serialization failure or deadlock the implementation may run fn again
	// (a bounded number of times), so fn must have no effects outside tx.
	// Do returns fn's error unchanged (wrapped errors keep their errors.Is
	// identity). Nested Do calls are not supported.
	Do(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Database is a complete storage backend: stores for single atomic calls and a
// unit of work for transactions.
type Database interface {
	Stores
	UnitOfWork
	// Ping reports whether the backend is reachable (for readiness checks).
	Ping(ctx context.Context) error
}
