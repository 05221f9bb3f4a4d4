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
	Orders() OrderStore
	Users() UserStore
	RefreshTokens() RefreshTokenStore
}

// Tx is one transaction: stores bound to it, and a job queue whose
// enqueues commit or roll back with it.
type Tx interface {
	Stores
	Jobs() JobQueue
}

// UnitOfWork runs functions in a transaction.
type UnitOfWork interface {
	// Do runs fn in one transaction: when fn returns nil everything it wrote
	// through tx is committed atomically (and enqueued jobs become visible to
	// workers); when fn returns an error or panics nothing of it is.
	// Transactions are serializable with respect to each other: two
	// concurrent transactions that write the same rows cannot both commit
	// results based on stale reads. On a serialization failure or deadlock
	// the implementation may run fn again (a bounded number of times), so fn
	// must have no effects outside tx. Do returns fn's error unchanged
	// (wrapped errors keep their errors.Is identity). Nested Do calls are
	// not supported.
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
