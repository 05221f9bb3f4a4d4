package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
)

// ---- checkout quote (v2) ----

// v2AddressFields is an address in a request body (no address-book
// members).
type v2AddressFields struct {
	Name       *string `json:"name"`
	Company    *string `json:"company"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	City       *string `json:"city"`
	Region     *string `json:"region"`
	Country    *string `json:"country"`
	Phone      *string `json:"phone"`
}

func (a v2AddressFields) address() ecolaura.Address {
	return ecolaura.Address{Name: deref(a.Name), Company: deref(a.Company), Line1: deref(a.Line1), Line2: deref(a.Line2),
		PostalCode: deref(a.PostalCode), City: deref(a.City), Region: deref(a.Region), Country: deref(a.Country), Phone: deref(a.Phone)}
}

type v2QuoteInput struct {
	Lines           []v2OrderLineInput `json:"lines"`
	ShippingAddress *v2AddressFields   `json:"shipping_address"`
	CarbonOffset    *bool              `json:"carbon_offset"`
}

type v2LineTax struct {
	// VariantID is the line's variant; null for the shipping.
	VariantID *string `json:"variant_id"`
	Class     string  `json:"class"`
	Rate      string  `json:"rate"`
	Base      v2Money `json:"base"`
	Tax       v2Money `json:"tax"`
}

type v2RateTax struct {
	Class string  `json:"class"`
	Rate  string  `json:"rate"`
	Base  v2Money `json:"base"`
	Tax   v2Money `json:"tax"`
}

type v2Tax struct {
	Mode  string      `json:"mode"`
	Lines []v2LineTax `json:"lines"`
	Rates []v2RateTax `json:"rates"`
	Total v2Money     `json:"total"`
}

type v2FootprintSplit struct {
	ProductsG int64 `json:"products_g"`
	DeliveryG int64 `json:"delivery_g"`
	TotalG    int64 `json:"total_g"`
}

type v2QuoteTotals struct {
	Subtotal  v2Money          `json:"subtotal"`
	Shipping  v2Money          `json:"shipping"`
	Tax       v2Tax            `json:"tax"`
	Offset    v2Money          `json:"offset"`
	Total     v2Money          `json:"total"`
	Footprint v2FootprintSplit `json:"footprint"`
}

type v2ShippingOption struct {
	ShippingMethodID string         `json:"shipping_method_id"`
	Name             string         `json:"name"`
	Carrier          string         `json:"carrier"`
	Price            v2Money        `json:"price"`
	DeliveryDays     v2DeliveryDays `json:"delivery_days"`
	FootprintG       int64          `json:"footprint_g"`
	Greenest         bool           `json:"greenest"`
	Totals           v2QuoteTotals  `json:"totals"`
}

type v2Quote struct {
	Currency        string             `json:"currency"`
	WeightG         int                `json:"weight_g"`
	TaxMode         string             `json:"tax_mode"`
	CarbonOffset    bool               `json:"carbon_offset"`
	ShippingOptions []v2ShippingOption `json:"shipping_options"`
}

func toV2QuoteTotals(t ecolaura.QuoteTotals, mode ecolaura.TaxMode) v2QuoteTotals {
	out := v2QuoteTotals{Subtotal: toV2Money(t.Subtotal), Shipping: toV2Money(t.Shipping), Offset: toV2Money(t.Offset), Total: toV2Money(t.Total),
		Tax:       v2Tax{Mode: string(mode), Lines: make([]v2LineTax, 0, len(t.Lines)), Rates: make([]v2RateTax, 0, len(t.ByRate)), Total: toV2Money(t.Tax)},
		Footprint: v2FootprintSplit{ProductsG: int64(t.FootprintProducts), DeliveryG: int64(t.FootprintDelivery), TotalG: int64(t.FootprintTotal)}}
	for _, l := range t.Lines {
		lt := v2LineTax{Class: string(l.Class), Rate: ecolaura.FormatPercent(l.Rate), Base: toV2Money(l.Base), Tax: toV2Money(l.Tax)}
		if l.Ref != "" {
			ref := l.Ref
			lt.VariantID = &ref
		}
		out.Tax.Lines = append(out.Tax.Lines, lt)
	}
	for _, r := range t.ByRate {
		out.Tax.Rates = append(out.Tax.Rates, v2RateTax{Class: string(r.Class), Rate: ecolaura.FormatPercent(r.Rate), Base: toV2Money(r.Base), Tax: toV2Money(r.Tax)})
	}
	return out
}

func toV2Quote(q ecolaura.Quote, mode ecolaura.TaxMode, offset bool) v2Quote {
	out := v2Quote{Currency: string(q.Currency), WeightG: q.WeightG, TaxMode: string(mode), CarbonOffset: offset,
		ShippingOptions: make([]v2ShippingOption, 0, len(q.Options))}
	for _, o := range q.Options {
		out.ShippingOptions = append(out.ShippingOptions, v2ShippingOption{ShippingMethodID: string(o.MethodID), Name: o.Name, Carrier: o.Carrier,
			Price: toV2Money(o.Price), DeliveryDays: v2DeliveryDays(o.Days), FootprintG: int64(o.Footprint), Greenest: o.Greenest,
			Totals: toV2QuoteTotals(o.Totals, mode)})
	}
	return out
}

// decodeV2Quote decodes {"lines": [{"variant_id" or "product_id",
// "quantity"}], "shipping_address": Address, "carbon_offset"} strictly and
// reports every problem at once, as decodeV2Order does.
func decodeV2Quote(body []byte) (orders.QuoteRequest, error) {
	var in v2QuoteInput
	var errs fieldErrors
	if err := decodeBody(body, &in, true, v2Dialect, &errs); err != nil {
		return orders.QuoteRequest{}, err
	}
	errs.require(in.Lines != nil, "lines", v2Dialect)
	errs.require(in.ShippingAddress != nil, "shipping_address", v2Dialect)
	req := orders.QuoteRequest{CarbonOffset: deref(in.CarbonOffset), Lines: make([]orders.LineRequest, 0, len(in.Lines)),
		SingleVariantProductLines: true}
	if in.ShippingAddress != nil {
		req.ShippingAddress = in.ShippingAddress.address()
		if in.ShippingAddress.Country == nil && !errs.covers("shipping_address.country") {
			errs.add("shipping_address.country", "is required")
		}
	}
	byVariant := map[string]bool{}
	for i, l := range in.Lines {
		f := "lines[" + strconv.Itoa(i) + "]"
		if l.ProductID == nil && l.VariantID == nil && !errs.covers(f+".variant_id") && !errs.covers(f+".product_id") {
			errs.add(f+".variant_id", "is required (or product_id for a product with a single variant)")
		}
		if l.ProductID == nil && !errs.covers(f+".product_id") {
			byVariant[f+".product_id"] = true
		}
		errs.require(l.Quantity != nil, f+".quantity", v2Dialect)
		req.Lines = append(req.Lines, orders.LineRequest{ProductID: ecolaura.ID(deref(l.ProductID)), VariantID: ecolaura.ID(deref(l.VariantID)),
			Quantity: deref(l.Quantity)})
	}
	if len(errs.list) > 0 {
		rename := func(name string) string {
			if byVariant[name] {
				return strings.TrimSuffix(name, ".product_id") + ".variant_id"
			}
			return name
		}
		if err := errs.mergeDomain(orders.CheckoutRequest{Lines: req.Lines}.Validate(), rename); err != nil {
			return req, err
		}
	}
	return req, errs.err()
}

// v2CheckoutQuote: POST /api/v2/checkout/quote → 200 {"currency",
// "weight_g", "tax_mode", "carbon_offset", "shipping_options": [...]}:
// every active shipping method that can deliver the lines to the
// address's country, the greenest first, each with the order's totals.
// Anyone may ask.
func (s *Server) v2CheckoutQuote(c *fiber.Ctx) error {
	if err := s.expensiveRead(c); err != nil {
		return err
	}
	req, err := decodeV2Quote(c.Body())
	if err != nil {
		return err
	}
	q, err := s.svc.Orders.Quote(c.UserContext(), principal(c), req)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSON(c, http.StatusOK, toV2Quote(q, s.svc.Shipping.TaxMode(), req.CarbonOffset))
}
