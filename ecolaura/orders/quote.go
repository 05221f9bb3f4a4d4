package orders

import (
	"context"
	"fmt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
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
// ecolaura.ComputeQuote and shipping.Service.Quote): each option's totals
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
	q, err := s.shipping.Quote(ctx, shipping.QuoteInput{Lines: in, Country: country, CarbonOffset: req.CarbonOffset})
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
