package shipping

import (
	"context"
	"fmt"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// TaxRateInput is a new tax rate: a country, a class and the rate in
// millionths (see ecolaura.ParsePercent).
type TaxRateInput struct {
	Country string
	Class   ecolaura.TaxClass
	Rate    int64
}

// TaxRates returns the shop's rates of country ("" for every country), by
// country then class. Tax rates are public: anyone may read them. Errors: a
// *ValidationError for an unknown country.
func (s *Service) TaxRates(ctx context.Context, country string) ([]ecolaura.TaxRate, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if country != "" && !ecolaura.ValidCountryCode(country) {
		return nil, ecolaura.Invalid("country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
	}
	out, err := s.db.TaxRates().List(ctx, country)
	if err != nil {
		return nil, fmt.Errorf("list tax rates: %w", err)
	}
	return out, nil
}

// TaxRate returns one rate. Errors: ErrNotFound.
func (s *Service) TaxRate(ctx context.Context, id ecolaura.ID) (ecolaura.TaxRate, error) {
	r, err := s.db.TaxRates().Get(ctx, id)
	if err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("get tax rate: %w", err)
	}
	return r, nil
}

// CreateTaxRate stores a rate (staff), audited. Errors: ErrUnauthenticated,
// ErrForbidden; a *ValidationError; an *ecolaura.ConflictError on "class"
// when the country has a rate of the class already.
func (s *Service) CreateTaxRate(ctx context.Context, actor ecolaura.Principal, in TaxRateInput) (ecolaura.TaxRate, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("create tax rate: %w", err)
	}
	now := s.clock.Now()
	r := ecolaura.TaxRate{ID: s.ids.NewID(), Country: strings.ToUpper(strings.TrimSpace(in.Country)), Class: in.Class, Rate: in.Rate,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := r.Validate(); err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("create tax rate: %w", err)
	}
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if err := tx.TaxRates().Create(ctx, r); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionCreate, ecolaura.EntityTaxRate, r.ID, rateChanges(nil, &r))
	})
	if err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("create tax rate: %w", err)
	}
	return r, nil
}

// UpdateTaxRate changes a rate's value (staff), audited; its country and
// class do not change. Errors: ErrUnauthenticated, ErrForbidden;
// ErrNotFound; a *ValidationError.
func (s *Service) UpdateTaxRate(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, rate int64) (ecolaura.TaxRate, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("update tax rate: %w", err)
	}
	var out ecolaura.TaxRate
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.TaxRates().Get(ctx, id)
		if err != nil {
			return err
		}
		next := cur
		next.Rate, next.UpdatedAt = rate, s.clock.Now()
		if err := next.Validate(); err != nil {
			return err
		}
		if out, err = tx.TaxRates().Update(ctx, next); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionUpdate, ecolaura.EntityTaxRate, id, rateChanges(&cur, &out))
	})
	if err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("update tax rate: %w", err)
	}
	return out, nil
}

// DeleteTaxRate removes a rate (staff), audited: the country is then
// untaxed for the class. Errors: ErrUnauthenticated, ErrForbidden;
// ErrNotFound.
func (s *Service) DeleteTaxRate(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error {
	if err := actor.RequireStaff(); err != nil {
		return fmt.Errorf("delete tax rate: %w", err)
	}
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.TaxRates().Get(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.TaxRates().Delete(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionDelete, ecolaura.EntityTaxRate, id, rateChanges(&cur, nil))
	})
	if err != nil {
		return fmt.Errorf("delete tax rate: %w", err)
	}
	return nil
}

func rateChanges(before, after *ecolaura.TaxRate) []ecolaura.AuditChange {
	fields := func(r *ecolaura.TaxRate) map[string]string {
		if r == nil {
			return nil
		}
		return map[string]string{"country": r.Country, "class": string(r.Class), "rate": ecolaura.FormatPercent(r.Rate) + "%"}
	}
	return diff(fields(before), fields(after))
}

// QuoteInput is a basket to price: lines priced from the catalog (unit
// price, weight, tax class and footprint per unit), the destination
// country and whether the customer compensates the footprint.
type QuoteInput struct {
	Lines        []ecolaura.QuoteLine
	Country      string
	CarbonOffset bool
}

// Quote prices the basket for every active method that can deliver it to
// the country, with the shop's tax mode and the country's rates (see
// ecolaura.ComputeQuote), the greenest first. Anyone may ask. Errors: a
// *ValidationError for a bad basket or country.
func (s *Service) Quote(ctx context.Context, in QuoteInput) (ecolaura.Quote, error) {
	country := strings.ToUpper(strings.TrimSpace(in.Country))
	if !ecolaura.ValidCountryCode(country) {
		return ecolaura.Quote{}, ecolaura.Invalid("shipping_address.country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
	}
	methods, err := s.db.ShippingMethods().List(ctx, ports.ShippingMethodQuery{ActiveOnly: true, Country: country})
	if err != nil {
		return ecolaura.Quote{}, fmt.Errorf("quote: %w", err)
	}
	rates, err := s.db.TaxRates().List(ctx, country)
	if err != nil {
		return ecolaura.Quote{}, fmt.Errorf("quote: %w", err)
	}
	req := ecolaura.QuoteRequest{Lines: in.Lines, Country: country, Methods: methods, TaxRates: rates, TaxMode: s.cfg.TaxMode, CarbonOffset: in.CarbonOffset}
	if len(in.Lines) > 0 {
		cur := in.Lines[0].UnitPrice.Currency
		req.OffsetPerKg = defaultOffsetPrice(cur)
		if s.cfg.OffsetPerKg != nil && s.cfg.OffsetPerKg.Currency == cur {
			req.OffsetPerKg = *s.cfg.OffsetPerKg
		}
	}
	q, err := ecolaura.ComputeQuote(req)
	if err != nil {
		return ecolaura.Quote{}, fmt.Errorf("quote: %w", err)
	}
	return q, nil
}

// defaultOffsetPrice is the orders service's default price of one kg CO2e
// (orders.DefaultCarbonOffsetPrice): 0.02 in the currency, at least one
// minor unit.
func defaultOffsetPrice(c ecolaura.Currency) ecolaura.Money {
	minor := int64(2)
	switch c.Exponent() {
	case 0, 1:
		minor = 1
	case 3:
		minor = 20
	}
	return ecolaura.NewMoney(minor, c)
}
