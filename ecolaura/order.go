package ecolaura

import (
	"slices"
	"time"
)

// OrderStatus is a state of the order status machine.
type OrderStatus string

// The order statuses.
const (
	StatusPending   OrderStatus = "pending"
	StatusConfirmed OrderStatus = "confirmed"
	StatusShipped   OrderStatus = "shipped"
	StatusDelivered OrderStatus = "delivered"
	StatusCancelled OrderStatus = "cancelled"
)

// Valid reports whether s is a known status.
func (s OrderStatus) Valid() bool {
	switch s {
	case StatusPending, StatusConfirmed, StatusShipped, StatusDelivered, StatusCancelled:
		return true
	}
	return false
}

// CanTransition reports whether the status machine allows from → to:
// pending → confirmed → shipped → delivered, and pending or confirmed →
// cancelled.
func CanTransition(from, to OrderStatus) bool {
	switch from {
	case StatusPending:
		return to == StatusConfirmed || to == StatusCancelled
	case StatusConfirmed:
		return to == StatusShipped || to == StatusCancelled
	case StatusShipped:
		return to == StatusDelivered
	}
	return false
}

// Limits of an order.
const (
	MaxOrderLines     = 100
	MaxLineQuantity   = 1_000
	MaxIdempotencyKey = 255
)

// OrderLine snapshots what was bought at purchase time.
type OrderLine struct {
	ProductID ID
	// VariantID is the variant bought (for orders from before variants: the
	// product's default variant, whose ID is the product's).
	VariantID ID
	// SKU is the variant's SKU at purchase ("" when it had none).
	SKU       string
	Name      string
	UnitPrice Money
	Quantity  int
	// Total is UnitPrice × Quantity.
	Total Money
	// UnitFootprint is the product's per-unit footprint at purchase (0 when unknown).
	UnitFootprint CO2e
}

// CarbonOffset is an optional charge that compensates the order's footprint.
type CarbonOffset struct {
	Footprint CO2e
	Price     Money
}

// OrderShipping is the delivery an order was placed with, as it was at
// checkout (the method may change or go later): the method's ID, name and
// carrier, the price charged and the delivery's footprint in grams CO2e.
type OrderShipping struct {
	MethodID  ID
	Method    string
	Carrier   string
	Price     Money
	Footprint CO2e
}

// OrderTax is the tax of an order: the shop's mode at checkout and the sum
// of the per-line taxes (shipping included). In an exclusive shop it is
// part of the Total; in an inclusive one it is contained in the prices.
type OrderTax struct {
	Mode  TaxMode
	Total Money
}

// Order is a customer's purchase.
type Order struct {
	ID     ID
	UserID ID
	Status OrderStatus
	Lines  []OrderLine
	// Subtotal is the sum of the line totals.
	Subtotal Money
	// Offset is nil when no carbon offset was bought.
	Offset *CarbonOffset
	// Total is Subtotal plus the offset price.
	Total Money
	// Footprint is the sum of UnitFootprint × Quantity over the lines,
	// plus Shipping.Footprint when the order has a delivery.
	Footprint CO2e
	// ShippingAddress and BillingAddress snapshot the addresses at
	// checkout; nil for an order without delivery (v1, and v2 orders
	// placed without them).
	ShippingAddress *Address
	BillingAddress  *Address
	// Shipping is the delivery chosen at checkout (nil without one).
	Shipping *OrderShipping
	// Tax is the order's tax (nil for an order placed without delivery,
	// which is not taxed by Ecolaura).
	Tax *OrderTax
	// IdempotencyKey is the client's key (unique per user), "" when none.
	IdempotencyKey string
	// RequestHash fingerprints the checkout request, to detect a key reused
	// with a different request.
	RequestHash string
	// ConfirmationSentAt is set once the confirmation email went out.
	ConfirmationSentAt *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Version            int64
}

// Clone returns a deep copy.
func (o Order) Clone() Order {
	o.Lines = slices.Clone(o.Lines)
	if o.Offset != nil {
		v := *o.Offset
		o.Offset = &v
	}
	if o.ConfirmationSentAt != nil {
		v := *o.ConfirmationSentAt
		o.ConfirmationSentAt = &v
	}
	o.ShippingAddress = clonePtr(o.ShippingAddress)
	o.BillingAddress = clonePtr(o.BillingAddress)
	o.Shipping = clonePtr(o.Shipping)
	o.Tax = clonePtr(o.Tax)
	return o
}

// Units returns the total quantity over all lines.
func (o Order) Units() int {
	n := 0
	for _, l := range o.Lines {
		n += l.Quantity
	}
	return n
}
