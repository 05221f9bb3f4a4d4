package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
)

// QuoteRequest is a basket to price before checkout: the lines as a
// checkout takes them, where they go and whether the customer compensates
// the footprint.
type QuoteRequest struct {
	// Lines are validated as CheckoutRequest.Lines (1–100 variants, each
	// once, quantities 1–1,000).
	Lines []LineRequest
	// ShippingAddress is where the basket goes. Only its Country (ISO
	// 3166-1 alpha-2, any case) decides the quote: the methods serving it
	// and its tax rates. The checkout validates the whole address.
	ShippingAddress ecolaura.Address
	// CarbonOffset prices compensating the footprint of the products and
	// of the delivery.
	CarbonOffset bool
	// SingleVariantProductLines works as in CheckoutRequest.
	SingleVariantProductLines bool
}

// Quote prices the basket for every active shipping method that can
// deliver it to the address's country, with the shop's tax mode and the
// country's rates, the greenest delivery first (see
// ecolaura.ComputeQuote; the offset at the orders service's price): each option's totals
// are what an order of the same lines, address, method and offset choice
// costs if the catalog and the shipping settings do not change meanwhile.
// Lines are priced from the catalog as Checkout prices them (the variant's
// price, its shipping weight, its footprint); every line is taxed in the
// standard class (the catalog has no tax classes yet). A basket nothing
// can deliver (no method serves the country, or it is too heavy) has no
// options. Anyone may ask; stock is not checked (the checkout does).
//
// Errors: a *ValidationError naming every bad field ("lines",
// "lines[i].quantity", "lines[i].variant_id", "lines[i].product_id" for
// an unknown, draft or archived product, "shipping_address.country");
// ErrUnavailable without a shipping service ([WithShipping]).
func (s *Service) Quote(ctx context.Context, actor ecolaura.Principal, req QuoteRequest) (ecolaura.Quote, error) {
	_ = actor // public: the catalog's rules for checkout apply to everyone
	if s.shipping == nil {
		return ecolaura.Quote{}, fmt.Errorf("quote: no shipping service (orders.WithShipping): %w", ecolaura.ErrUnavailable)
	}
	var v ecolaura.Validator
	v.Merge("", CheckoutRequest{Lines: req.Lines}.Validate())
	country := ecolaura.Address{Country: req.ShippingAddress.Country}.Normalized().Country
	switch {
	case country == "":
		v.Add("shipping_address.country", "must not be blank")
	case !ecolaura.ValidCountryCode(country):
		v.Add("shipping_address.country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
	}
	if err := v.Err(); err != nil {
		return ecolaura.Quote{}, err
	}
	lines, weights, err := s.priceLines(ctx, s.db, req.Lines, req.SingleVariantProductLines)
	if err != nil {
		return ecolaura.Quote{}, err
	}
	in, tooHeavy := quoteLines(lines, weights)
	// The methods, rates, tax mode and offset price the checkout uses
	// (see deliver), so that the quote is what the order will cost.
	methods, err := s.db.ShippingMethods().List(ctx, ports.ShippingMethodQuery{ActiveOnly: true, Country: country})
	if err != nil {
		return ecolaura.Quote{}, fmt.Errorf("quote: %w", err)
	}
	rates, err := s.db.TaxRates().List(ctx, country)
	if err != nil {
		return ecolaura.Quote{}, fmt.Errorf("quote: %w", err)
	}
	q, err := ecolaura.ComputeQuote(ecolaura.QuoteRequest{Lines: in, Country: country, Methods: methods, TaxRates: rates,
		TaxMode: s.shipping.TaxMode(), CarbonOffset: req.CarbonOffset, OffsetPerKg: s.offsetPrice})
	if err != nil {
		return ecolaura.Quote{}, err
	}
	if tooHeavy {
		q.Options = q.Options[:0]
	}
	return q, nil
}

// quoteLines turns priced order lines and their variants' weights into the
// lines of ecolaura.ComputeQuote, and reports a variant heavier than any
// parcel (which nothing can carry).
func quoteLines(lines []ecolaura.OrderLine, weights []int) ([]ecolaura.QuoteLine, bool) {
	out := make([]ecolaura.QuoteLine, len(lines))
	tooHeavy := false
	for i, l := range lines {
		w := weights[i]
		if w > ecolaura.MaxParcelWeightG {
			w, tooHeavy = ecolaura.MaxParcelWeightG, true
		}
		out[i] = ecolaura.QuoteLine{Ref: string(l.VariantID), UnitPrice: l.UnitPrice, Quantity: l.Quantity, WeightG: w,
			TaxClass: ecolaura.TaxStandard, Footprint: l.UnitFootprint}
	}
	return out, tooHeavy
}

// deliveryTerms are what an order with a delivery records: the normalised
// addresses, the chosen option and its totals, and the tax mode.
type deliveryTerms struct {
	shipTo, billTo ecolaura.Address
	option         ecolaura.ShippingOption
	totals         ecolaura.QuoteTotals
	mode           ecolaura.TaxMode
}

// deliver prices the order's delivery inside tx exactly as Quote prices
// it (ecolaura.ComputeQuote over the chosen method, the destination's
// rates, the shop's tax mode and offset price). Errors: a
// *ValidationError on "shipping_method_id" for a method that does not
// exist, is inactive or cannot deliver the order there (its country,
// weight or currency); ErrUnavailable without a shipping service.
func (s *Service) deliver(ctx context.Context, tx ports.Tx, req CheckoutRequest, lines []ecolaura.OrderLine, weights []int) (deliveryTerms, error) {
	if s.shipping == nil {
		return deliveryTerms{}, fmt.Errorf("checkout with a delivery: no shipping service (orders.WithShipping): %w", ecolaura.ErrUnavailable)
	}
	shipTo, err := users.NormalizeAddress(*req.ShippingAddress)
	if err != nil {
		return deliveryTerms{}, prefixed("shipping_address", err)
	}
	billTo := shipTo
	if req.BillingAddress != nil {
		if billTo, err = users.NormalizeAddress(*req.BillingAddress); err != nil {
			return deliveryTerms{}, prefixed("billing_address", err)
		}
	}
	m, err := tx.ShippingMethods().Get(ctx, req.ShippingMethodID)
	if errors.Is(err, ecolaura.ErrNotFound) || (err == nil && !m.Active) {
		return deliveryTerms{}, ecolaura.Invalid("shipping_method_id", "shipping method %s does not exist", req.ShippingMethodID)
	}
	if err != nil {
		return deliveryTerms{}, fmt.Errorf("checkout: load shipping method: %w", err)
	}
	rates, err := tx.TaxRates().List(ctx, shipTo.Country)
	if err != nil {
		return deliveryTerms{}, fmt.Errorf("checkout: load tax rates: %w", err)
	}
	in, tooHeavy := quoteLines(lines, weights)
	mode := s.shipping.TaxMode()
	q, err := ecolaura.ComputeQuote(ecolaura.QuoteRequest{Lines: in, Country: shipTo.Country, Methods: []ecolaura.ShippingMethod{m},
		TaxRates: rates, TaxMode: mode, CarbonOffset: req.CarbonOffset, OffsetPerKg: s.offsetPrice})
	if err != nil {
		return deliveryTerms{}, err
	}
	if tooHeavy || len(q.Options) == 0 {
		return deliveryTerms{}, ecolaura.Invalid("shipping_method_id", "%s cannot deliver this order to %s", m.Name, shipTo.Country)
	}
	return deliveryTerms{shipTo: shipTo, billTo: billTo, option: q.Options[0], totals: q.Options[0].Totals, mode: mode}, nil
}

// prefixed names the fields of a *ValidationError under prefix.
func prefixed(prefix string, err error) error {
	var v ecolaura.Validator
	v.Merge(prefix, err)
	return v.Err()
}
