package ecolaura

import (
	"strings"
	"time"
	"unicode/utf8"
)

// PaymentStatus is the state of money in a payment record.
type PaymentStatus string

// The payment statuses.
const (
	// PaymentPending: asked for, not received yet (a PaymentIntent waiting
	// for the card, a bank transfer not arrived).
	PaymentPending PaymentStatus = "pending"
	// PaymentSucceeded: the money was received.
	PaymentSucceeded PaymentStatus = "succeeded"
	// PaymentFailed: the attempt failed; nothing was received.
	PaymentFailed PaymentStatus = "failed"
	// PaymentRefunded: the amount was given back.
	PaymentRefunded PaymentStatus = "refunded"
	// PaymentNotRequired: the shop takes no payment (provider none).
	PaymentNotRequired PaymentStatus = "not_required"
)

// Valid reports whether s is a known status.
func (s PaymentStatus) Valid() bool {
	switch s {
	case PaymentPending, PaymentSucceeded, PaymentFailed, PaymentRefunded, PaymentNotRequired:
		return true
	}
	return false
}

// Payment providers.
const (
	ProviderNone   = "none"
	ProviderManual = "manual"
	ProviderStripe = "stripe"
)

// Limits of a [Payment].
const (
	// MaxPaymentMinor bounds a payment's amount (10^15 minor units).
	MaxPaymentMinor           int64 = 1_000_000_000_000_000
	MaxPaymentReferenceLength       = 255
	MaxPaymentEventIDLength         = 255
)

// Payment is one record of money asked for, received or given back for an
// order: money received is recorded, never inferred from an order's
// status. Records are immutable; a later fact is a new record.
//
//   - Provider is "none", "manual" or "stripe";
//   - Reference is the provider's identifier (a PaymentIntent or refund ID
//     for Stripe, the staff's note of a bank transfer for manual), 1–255
//     printable ASCII characters;
//   - Amount is positive (a refund records the amount given back);
//   - EventID is the provider's event the record comes from ("" when it
//     comes from a call, not a webhook); a non-empty EventID is unique, so
//     a webhook delivered twice is recorded once.
type Payment struct {
	ID        ID
	OrderID   ID
	Provider  string
	Reference string
	Amount    Money
	Status    PaymentStatus
	EventID   string
	CreatedAt time.Time
}

// ValidateStoredPayment checks what every store refuses and returns a
// *ValidationError or nil.
func ValidateStoredPayment(p Payment) error {
	var v Validator
	v.Check(isUUID(string(p.ID)), "id", "must be a UUID")
	v.Check(isUUID(string(p.OrderID)), "order_id", "must be a UUID")
	v.Check(p.Provider == ProviderNone || p.Provider == ProviderManual || p.Provider == ProviderStripe, "provider", "must be none, manual or stripe")
	v.Check(printableASCII(p.Reference, 1, MaxPaymentReferenceLength), "reference", "must be 1 to %d printable ASCII characters", MaxPaymentReferenceLength)
	v.Check(p.EventID == "" || printableASCII(p.EventID, 1, MaxPaymentEventIDLength), "event_id", "must be empty or 1 to %d printable ASCII characters", MaxPaymentEventIDLength)
	v.Check(p.Amount.Currency.Valid(), "amount.currency", "unsupported currency %q", string(p.Amount.Currency))
	v.Check(p.Amount.Amount >= 0 && p.Amount.Amount <= MaxPaymentMinor, "amount", "must be between 0 and %d minor units", MaxPaymentMinor)
	v.Check(p.Status.Valid(), "status", "unknown status %q", string(p.Status))
	v.Check(!p.CreatedAt.IsZero(), "created_at", "must be set")
	return v.Err()
}

func printableASCII(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) < 0
}
