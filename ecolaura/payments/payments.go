// Package payments holds the in-process payment providers — None (no
// payment step) and Manual (bank transfer, invoice, cash on delivery) —
// and Select, which picks the provider a shop is configured with. The
// Stripe provider is the adapter github.com/ecolaura/ecolaura/adapters/stripe.
// Every provider implements ports.PaymentProvider.
package payments

import (
	"context"
	"fmt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// None is the provider of a shop that takes no payment: an order is
// confirmed without one (today's behaviour, and the v1 API's). It is the
// default.
type None struct{}

var _ ports.PaymentProvider = None{}

// Name returns "none".
func (None) Name() string { return ecolaura.ProviderNone }

// CreatePayment answers PaymentNotRequired.
func (None) CreatePayment(_ context.Context, r ports.PaymentRequest) (ports.PaymentSession, error) {
	return ports.PaymentSession{Provider: ecolaura.ProviderNone, Reference: "none:" + string(r.OrderID), Status: ecolaura.PaymentNotRequired, Amount: r.Amount}, nil
}

// ConfirmPayment answers PaymentNotRequired.
func (None) ConfirmPayment(_ context.Context, orderID ecolaura.ID, reference string) (ports.PaymentSession, error) {
	return ports.PaymentSession{Provider: ecolaura.ProviderNone, Reference: reference, Status: ecolaura.PaymentNotRequired}, nil
}

// Refund refuses: nothing was taken. Errors: ErrInvalid.
func (None) Refund(context.Context, ports.RefundRequest) (ports.RefundResult, error) {
	return ports.RefundResult{}, ecolaura.Invalid("provider", "the shop takes no payments: there is nothing to refund")
}

// ParseWebhook refuses: there are no notifications. Errors: ErrNotFound.
func (None) ParseWebhook(context.Context, []byte, string) (ports.PaymentEvent, error) {
	return ports.PaymentEvent{}, fmt.Errorf("payments: provider none has no webhooks: %w", ecolaura.ErrNotFound)
}

// Manual is the provider of payments staff record by hand (bank transfer,
// invoice, cash on delivery): an order waits for its payment, whose
// instructions the customer receives; refunds are recorded and carried out
// by staff.
type Manual struct {
	// Instructions tell the customer how to pay ("Transfer the total to
	// IBAN …, reference: the order number"); the order ID is appended.
	Instructions string
}

var _ ports.PaymentProvider = Manual{}

// Name returns "manual".
func (Manual) Name() string { return ecolaura.ProviderManual }

// CreatePayment answers PaymentPending with the instructions.
func (m Manual) CreatePayment(_ context.Context, r ports.PaymentRequest) (ports.PaymentSession, error) {
	if r.Amount.Amount <= 0 || !r.Amount.Currency.Valid() {
		return ports.PaymentSession{}, ecolaura.Invalid("amount", "must be positive in a supported currency")
	}
	ins := m.Instructions
	if ins == "" {
		ins = "Pay the total by bank transfer"
	}
	return ports.PaymentSession{Provider: ecolaura.ProviderManual, Reference: "manual:" + string(r.OrderID), Status: ecolaura.PaymentPending,
		Amount: r.Amount, Instructions: fmt.Sprintf("%s (amount %s, reference %s).", ins, r.Amount, r.OrderID)}, nil
}

// ConfirmPayment answers PaymentPending: only staff know whether the money
// arrived (they record it as a payment record).
func (Manual) ConfirmPayment(_ context.Context, _ ecolaura.ID, reference string) (ports.PaymentSession, error) {
	return ports.PaymentSession{Provider: ecolaura.ProviderManual, Reference: reference, Status: ecolaura.PaymentPending}, nil
}

// Refund answers PaymentPending: staff give the money back by hand.
func (Manual) Refund(_ context.Context, r ports.RefundRequest) (ports.RefundResult, error) {
	if r.Amount.Amount <= 0 {
		return ports.RefundResult{}, ecolaura.Invalid("amount", "must be positive")
	}
	return ports.RefundResult{Reference: "manual-refund:" + r.Key, Status: ecolaura.PaymentPending}, nil
}

// ParseWebhook refuses: manual payments have no notifications. Errors:
// ErrNotFound.
func (Manual) ParseWebhook(context.Context, []byte, string) (ports.PaymentEvent, error) {
	return ports.PaymentEvent{}, fmt.Errorf("payments: provider manual has no webhooks: %w", ecolaura.ErrNotFound)
}

// Select returns the provider named name ("" is "none"): None, Manual
// with instructions, or stripe (which the caller builds, since it is an
// adapter; nil is a configuration error when name is "stripe"). Errors: an
// *ecolaura.ConfigError for an unknown name or a missing Stripe provider.
func Select(name, instructions string, stripe ports.PaymentProvider) (ports.PaymentProvider, error) {
	switch name {
	case "", ecolaura.ProviderNone:
		return None{}, nil
	case ecolaura.ProviderManual:
		return Manual{Instructions: instructions}, nil
	case ecolaura.ProviderStripe:
		if ecolaura.IsNil(stripe) {
			return nil, ecolaura.Misconfigured("stripe", "is required for provider stripe")
		}
		return stripe, nil
	}
	return nil, ecolaura.Misconfigured("payment_provider", "must be none, manual or stripe, not %q", name)
}
