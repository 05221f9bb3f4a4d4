package ecolaura

import (
	"cmp"
	"math/big"
	"slices"
)

// Limits of a quote.
const (
	MaxQuoteLines    = 100
	MaxQuoteQuantity = 1_000_000
)

// QuoteLine is one priced line of a basket: what the catalog says about the
// variant bought (unit price, weight in grams, tax class and footprint per
// unit) and how many. Ref is the caller's reference (a variant ID), kept
// as is.
type QuoteLine struct {
	Ref       string
	UnitPrice Money
	Quantity  int
	WeightG   int
	TaxClass  TaxClass
	Footprint CO2e
}

// QuoteRequest is everything [ComputeQuote] needs: the lines, the
// destination country, the shop's shipping methods and tax rates, its tax
// mode, and whether the customer compensates the footprint (at OffsetPerKg
// per kg CO2e, in the lines' currency).
type QuoteRequest struct {
	Lines        []QuoteLine
	Country      string
	Methods      []ShippingMethod
	TaxRates     []TaxRate
	TaxMode      TaxMode
	CarbonOffset bool
	OffsetPerKg  Money
}

// LineTax is the tax of one line (or of the shipping) at its rate.
type LineTax struct {
	Ref   string // the line's Ref; "" for shipping
	Class TaxClass
	Rate  int64 // millionths
	Base  Money // the amount taxed: gross when inclusive, net when exclusive
	Tax   Money
}

// RateTax sums the taxes of one class and rate (shipping included, in the
// standard class of the destination).
type RateTax struct {
	Class TaxClass
	Rate  int64
	Base  Money
	Tax   Money
}

// QuoteTotals are the totals of a basket delivered by one method.
//
//   - Subtotal is the sum of UnitPrice × Quantity over the lines (gross in
//     an inclusive shop, net in an exclusive one);
//   - Shipping is the method's price, taxed like a line of the standard
//     class of the destination;
//   - Lines holds each line's tax, in the order of the lines, then the
//     shipping's (Ref ""); ByRate sums them per class and rate (ascending
//     class then rate); Tax is their sum;
//   - Offset is the price of compensating FootprintTotal (0 without it),
//     outside the tax's scope;
//   - Total = Subtotal + Shipping + Offset, plus Tax when exclusive;
//   - FootprintProducts + FootprintDelivery = FootprintTotal (grams CO2e).
type QuoteTotals struct {
	Subtotal          Money
	Shipping          Money
	Lines             []LineTax
	ByRate            []RateTax
	Tax               Money
	Offset            Money
	Total             Money
	FootprintProducts CO2e
	FootprintDelivery CO2e
	FootprintTotal    CO2e
}

// ShippingOption is one method that can deliver the basket, with what the
// order would cost with it.
type ShippingOption struct {
	MethodID  ID
	Name      string
	Carrier   string
	Price     Money
	Days      DeliveryDays
	Footprint CO2e // the delivery's, grams CO2e
	// Greenest marks the options with the smallest delivery footprint.
	Greenest bool
	Totals   QuoteTotals
}

// Quote is every way the basket can be delivered, the greenest first.
type Quote struct {
	Currency Currency
	// WeightG is the parcel's weight: WeightG × Quantity over the lines.
	WeightG int
	Options []ShippingOption
}

// ComputeQuote prices a basket for every method that can deliver it to
// req.Country (see [ShippingMethod.Offer]; methods priced in another
// currency than the lines are left out), taxes it per line with [TaxOf]
// at the destination's rates ([TaxTable]: a class without a rate there is
// untaxed; shipping takes the standard rate) and adds the optional carbon
// offset. Options come ordered by delivery footprint, then price, then the
// longest delivery estimate, then method ID; the ones with the smallest
// footprint are flagged Greenest. A basket nothing can deliver has no
// options (not an error). It is a pure function of req.
//
// Errors: a *ValidationError for 0 or more than MaxQuoteLines lines, a
// quantity outside 1–MaxQuoteQuantity, a negative price, weight or
// footprint, lines in different currencies, an unknown tax class or mode,
// an unknown country, an offset price in another currency.
func ComputeQuote(req QuoteRequest) (Quote, error) {
	var v Validator
	v.Check(len(req.Lines) >= 1 && len(req.Lines) <= MaxQuoteLines, "lines", "must have 1 to %d lines", MaxQuoteLines)
	v.Check(ValidCountryCode(req.Country), "shipping_address.country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
	v.Check(req.TaxMode.Valid(), "tax_mode", "must be inclusive or exclusive")
	var cur Currency
	if len(req.Lines) > 0 {
		cur = req.Lines[0].UnitPrice.Currency
	}
	for i, l := range req.Lines {
		f := "lines[" + itoa(i) + "]"
		v.Check(l.Quantity >= 1 && l.Quantity <= MaxQuoteQuantity, f+".quantity", "must be between 1 and %d", MaxQuoteQuantity)
		v.Check(l.UnitPrice.Amount >= 0 && l.UnitPrice.Amount <= MaxPriceMinor, f+".unit_price", "must be between 0 and %d minor units", MaxPriceMinor)
		v.Check(l.UnitPrice.Currency == cur && cur.Valid(), f+".unit_price.currency", "every line must be in one supported currency")
		v.Check(l.WeightG >= 0 && l.WeightG <= MaxParcelWeightG, f+".weight_g", "must be between 0 and %d", MaxParcelWeightG)
		v.Check(l.TaxClass.Valid(), f+".tax_class", "must be standard, reduced or zero")
		v.Check(l.Footprint >= 0 && l.Footprint <= MaxFootprint, f+".footprint", "must be between 0 and %d grams", MaxFootprint)
	}
	v.Check(!req.CarbonOffset || (req.OffsetPerKg.Currency == cur && req.OffsetPerKg.Amount >= 0), "carbon_offset", "the offset price must be in the lines' currency")
	if err := v.Err(); err != nil {
		return Quote{}, err
	}

	table := NewTaxTable(req.TaxRates)
	var subtotal int64
	var products CO2e
	weight := 0
	lineTaxes := make([]LineTax, 0, len(req.Lines)+1)
	for _, l := range req.Lines {
		amount := l.UnitPrice.Amount * int64(l.Quantity) // ≤ 1e10 × 1e6: fits
		subtotal += amount                               // ≤ 100 lines × 1e16: fits
		products += l.Footprint * CO2e(l.Quantity)       // ≤ 1e9 × 1e6 × 100: fits
		weight += l.WeightG * l.Quantity
		rate, _ := table.Rate(req.Country, l.TaxClass)
		lineTaxes = append(lineTaxes, LineTax{Ref: l.Ref, Class: l.TaxClass, Rate: rate, Base: NewMoney(amount, cur),
			Tax: NewMoney(TaxOf(amount, rate, req.TaxMode), cur)})
	}
	q := Quote{Currency: cur, WeightG: weight, Options: []ShippingOption{}}
	if weight > MaxParcelWeightG {
		return q, nil // nothing carries it
	}
	shipRate, _ := table.Rate(req.Country, TaxStandard)
	for _, m := range req.Methods {
		if m.Price.Currency() != cur {
			continue
		}
		offer, ok := m.Offer(Parcel{WeightG: weight, Subtotal: NewMoney(subtotal, cur), Country: req.Country})
		if !ok {
			continue
		}
		t := QuoteTotals{Subtotal: NewMoney(subtotal, cur), Shipping: offer.Price,
			FootprintProducts: products, FootprintDelivery: offer.Footprint, FootprintTotal: products + offer.Footprint}
		t.Lines = append(slices.Clone(lineTaxes), LineTax{Class: TaxStandard, Rate: shipRate, Base: offer.Price,
			Tax: NewMoney(TaxOf(offer.Price.Amount, shipRate, req.TaxMode), cur)})
		var tax int64
		for _, lt := range t.Lines {
			tax += lt.Tax.Amount
			i := slices.IndexFunc(t.ByRate, func(r RateTax) bool { return r.Class == lt.Class && r.Rate == lt.Rate })
			if i < 0 {
				t.ByRate = append(t.ByRate, RateTax{Class: lt.Class, Rate: lt.Rate, Base: NewMoney(0, cur), Tax: NewMoney(0, cur)})
				i = len(t.ByRate) - 1
			}
			t.ByRate[i].Base.Amount += lt.Base.Amount
			t.ByRate[i].Tax.Amount += lt.Tax.Amount
		}
		slices.SortFunc(t.ByRate, func(a, b RateTax) int { return cmp.Or(cmp.Compare(a.Class, b.Class), cmp.Compare(a.Rate, b.Rate)) })
		t.Tax = NewMoney(tax, cur)
		t.Offset = NewMoney(0, cur)
		if req.CarbonOffset {
			t.Offset = NewMoney(offsetCharge(t.FootprintTotal, req.OffsetPerKg.Amount), cur)
		}
		total := subtotal + offer.Price.Amount + t.Offset.Amount
		if req.TaxMode == TaxExclusive {
			total += tax
		}
		t.Total = NewMoney(total, cur)
		q.Options = append(q.Options, ShippingOption{MethodID: m.ID, Name: m.Name, Carrier: m.Carrier, Price: offer.Price,
			Days: offer.Days, Footprint: offer.Footprint, Totals: t})
	}
	slices.SortFunc(q.Options, func(a, b ShippingOption) int {
		return cmp.Or(cmp.Compare(a.Footprint, b.Footprint), cmp.Compare(a.Price.Amount, b.Price.Amount),
			cmp.Compare(a.Days.Max, b.Days.Max), cmp.Compare(a.MethodID, b.MethodID))
	})
	for i := range q.Options {
		q.Options[i].Greenest = q.Options[i].Footprint == q.Options[0].Footprint
	}
	return q, nil
}

// offsetCharge is the price of compensating footprint grams at perKg minor
// units per kilogram, rounded up to the minor unit (as the orders service
// charges it).
func offsetCharge(footprint CO2e, perKg int64) int64 {
	if footprint <= 0 || perKg <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(int64(footprint)), big.NewInt(perKg))
	n.Add(n, big.NewInt(999))
	return n.Quo(n, big.NewInt(1000)).Int64()
}
