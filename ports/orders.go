package ports

import (
	"context"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// OrderQuery selects a page of orders, newest first (created_at desc, id desc).
type OrderQuery struct {
	// UserID, when set, keeps only that user's orders (the orders of a
	// deleted account, whose UserID is empty, are listed only without it).
	UserID ecolaura.ID
	// After, when set, returns only orders strictly after this one in the
	// newest-first order (cursor pagination); the cursor is the last order of
	// the previous page.
	After *OrderPosition
	// Offset skips that many orders (numbered pages); used when After is nil.
	Offset int
	// Limit is the page size, 1–1000.
	Limit int
	// WithTotal asks for the total number of matching orders.
	WithTotal bool
}

// OrderPosition is where an order stands in the newest-first order.
type OrderPosition struct {
	CreatedAt time.Time
	ID        ecolaura.ID
}

// OrderPage is one page of orders.
type OrderPage struct {
	Items   []ecolaura.Order
	HasMore bool
	// Total is the number of matching orders when asked for, else -1.
	Total int
}

// StatusChange moves an order to a new status.
type StatusChange struct {
	OrderID ecolaura.ID
	To      ecolaura.OrderStatus
	At      time.Time
}

// OrderStore stores orders with their lines.
//
// Semantics (checked by porttest.OrderStore): values are copied in and out;
// an order is stored and read with all its lines or not at all; every
// stored order follows ValidateStoredOrder and belongs to an existing user,
// the same rules in every store.
type OrderStore interface {
	// Create stores a new order with its lines. Errors: ErrConflict when the
	// ID exists or when the user already has an order with the same non-empty
	// IdempotencyKey; ErrInvalid when o breaks a rule of ValidateStoredOrder
	// or its user does not exist (it may have been deleted meanwhile, see
	// UserStore.Delete).
	Create(ctx context.Context, o ecolaura.Order) error
	// Get returns the order. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.Order, error)
	// GetByIdempotencyKey returns the user's order created with key.
	// Errors: ErrNotFound (also for a key no order can have).
	GetByIdempotencyKey(ctx context.Context, userID ecolaura.ID, key string) (ecolaura.Order, error)
	// List returns a page of orders, newest first.
	List(ctx context.Context, q OrderQuery) (OrderPage, error)
	// Transition atomically moves the order to c.To if
	// ecolaura.CanTransition(current, c.To), bumping the version and setting
	// UpdatedAt, and returns the order as it was before the change and as it
	// is after. Of several concurrent transitions from the same status only
	// one succeeds. Errors: ErrNotFound; ErrInvalidTransition.
	Transition(ctx context.Context, c StatusChange) (before, after ecolaura.Order, err error)
	// MarkConfirmationSent sets ConfirmationSentAt if it is not set yet,
	// bumping Version (UpdatedAt stays), and reports whether this call set
	// it. Errors: ErrNotFound.
	MarkConfirmationSent(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error)
}
