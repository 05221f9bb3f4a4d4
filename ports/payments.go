package ports

import (
	"context"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// PaymentRequest asks a provider to take an order's payment.
type PaymentRequest struct {
	OrderID ecolaura.ID
	// Amount is the order's total, in its currency.
	Amount ecolaura.Money
	// Email is the customer's contact address ("" when unknown).
	Email string
}

// PaymentSession is what a provider answers to a PaymentRequest or a
// confirmation: its reference, the status of the money, and what the
// storefront needs (Stripe's client secret; payment instructions for a
// bank transfer).
type PaymentSession struct {
	Provider     string
	Reference    string
	Status       ecolaura.PaymentStatus
	Amount       ecolaura.Money
	ClientSecret string
	Instructions string
}

// RefundRequest asks a provider to give back Amount of the payment
// Reference of an order.
type RefundRequest struct {
	OrderID   ecolaura.ID
	Reference string
	Amount    ecolaura.Money
	Reason    string
	// Key makes the refund idempotent at the provider (the same Key refunds
	// once); derive it from the order and the refund record.
	Key string
}

// RefundResult is the provider's answer to a refund.
type RefundResult struct {
	Reference string
	// Status is PaymentRefunded when the money went back, PaymentPending
	// when the provider (or staff, for manual) still has to act.
	Status ecolaura.PaymentStatus
}

// PaymentEvent is a verified notification from a provider (a webhook).
type PaymentEvent struct {
	// ID is the provider's event ID: the dedupe key of the payment record.
	ID string
	// Type is the provider's event type ("payment_intent.succeeded").
	Type string
	// Status is what the event says of the money (PaymentSucceeded,
	// PaymentFailed, PaymentRefunded), or "" for an event that says nothing
	// about it (ignored).
	Status    ecolaura.PaymentStatus
	OrderID   ecolaura.ID
	Reference string
	Amount    ecolaura.Money
}

// PaymentProvider takes payments for orders: none (no payment step),
// manual (bank transfer, invoice, cash on delivery: staff record what
// arrives) and Stripe (cards; the outcome comes only from signed
// webhooks). Providers never see card data.
//
// Errors: ErrInvalid for a request the provider refuses (an amount it
// cannot take); ErrUnauthenticated from ParseWebhook for a payload whose
// signature does not verify (tampered, expired, wrong secret);
// ErrUnavailable when the provider cannot be reached.
type PaymentProvider interface {
	// Name is the provider's name: "none", "manual" or "stripe".
	Name() string
	// CreatePayment starts the payment of an order. Calling it again for
	// the same order and amount returns the same payment (idempotent).
	CreatePayment(ctx context.Context, r PaymentRequest) (PaymentSession, error)
	// ConfirmPayment returns the payment's current state at the provider.
	ConfirmPayment(ctx context.Context, orderID ecolaura.ID, reference string) (PaymentSession, error)
	// Refund gives back r.Amount of a payment.
	Refund(ctx context.Context, r RefundRequest) (RefundResult, error)
	// ParseWebhook verifies a notification's signature and parses it.
	ParseWebhook(ctx context.Context, payload []byte, signature string) (PaymentEvent, error)
}

// PaymentStore keeps the payment records (ecolaura.Payment), append-only.
//
// Semantics (checked by porttest.PaymentStore): values are copied in and
// out; every stored record follows ecolaura.ValidateStoredPayment and names
// an existing order; a non-empty EventID is unique, so of concurrent
// deliveries of one webhook exactly one Record succeeds.
type PaymentStore interface {
	// Record stores a new record. Errors: ErrConflict when the ID or the
	// (non-empty) EventID exists; ErrInvalid when p breaks
	// ValidateStoredPayment or its order does not exist.
	Record(ctx context.Context, p ecolaura.Payment) error
	// Get returns a record. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.Payment, error)
	// ListByOrder returns an order's records, oldest first (by CreatedAt,
	// then ID).
	ListByOrder(ctx context.Context, orderID ecolaura.ID) ([]ecolaura.Payment, error)
}
