package ecolaura

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// TaxClass is the tax class of a product or variant: which of a country's
// rates applies to it.
type TaxClass string

// The tax classes.
const (
	TaxStandard TaxClass = "standard"
	TaxReduced  TaxClass = "reduced"
	TaxZero     TaxClass = "zero"
)

// Valid reports whether c is a known tax class.
func (c TaxClass) Valid() bool { return c == TaxStandard || c == TaxReduced || c == TaxZero }

// TaxMode says whether the shop's prices include tax.
type TaxMode string

// The tax modes.
const (
	// TaxInclusive: prices include tax (EU style, VAT); the tax is the part
	// of the gross price the rate accounts for, and totals do not grow.
	TaxInclusive TaxMode = "inclusive"
	// TaxExclusive: prices exclude tax (US style, sales tax); the tax is
	// added to the total.
	TaxExclusive TaxMode = "exclusive"
)

// Valid reports whether m is a known tax mode.
func (m TaxMode) Valid() bool { return m == TaxInclusive || m == TaxExclusive }

// RateScale is the denominator of [TaxRate.Rate]: rates are stored as
// integer millionths (19 % = 190000, 8.875 % = 88750), so every rate with
// up to four decimals of a percent is exact.
const RateScale = 1_000_000

// MaxRate is the highest rate accepted: 100 %.
const MaxRate = RateScale

// TaxRate is the rate of one tax class in one country (unique per country
// and class). Rate is in millionths (see [RateScale]).
type TaxRate struct {
	ID        ID
	Country   string // ISO 3166-1 alpha-2
	Class     TaxClass
	Rate      int64
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// Validate checks the country, class and rate (0–100 %) and returns a
// *ValidationError or nil.
func (r TaxRate) Validate() error {
	var v Validator
	r.validate(&v)
	return v.Err()
}

func (r TaxRate) validate(v *Validator) {
	v.Check(ValidCountryCode(r.Country), "country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
	v.Check(r.Class.Valid(), "class", "must be standard, reduced or zero")
	v.Check(r.Rate >= 0 && r.Rate <= MaxRate, "rate", "must be between 0 and 100 percent")
	v.Check(r.Class != TaxZero || r.Rate == 0, "rate", "must be 0 for the zero class")
}

// ValidateStoredTaxRate checks what every store refuses: an ID that is not
// a UUID, a rate breaking [TaxRate.Validate], missing times or a version
// below 1.
func ValidateStoredTaxRate(r TaxRate) error {
	var v Validator
	v.Check(isUUID(string(r.ID)), "id", "must be a UUID")
	r.validate(&v)
	v.Check(!r.CreatedAt.IsZero(), "created_at", "must be set")
	v.Check(!r.UpdatedAt.IsZero(), "updated_at", "must be set")
	v.Check(r.Version >= 1, "version", "must be at least 1")
	return v.Err()
}

// ParsePercent parses a rate given as a decimal percentage ("19", "5.5",
// "8.875") exactly into millionths (see [RateScale]), with
// [ParseDecimal]'s rules: at most four decimals, never rounded. Errors: a
// *ValidationError on field.
func ParsePercent(s, field string) (int64, error) {
	r, err := ParseDecimal(s, 4)
	if err != nil {
		return 0, Invalid(field, "must be a percentage with at most 4 decimals (such as 19 or 5.5)")
	}
	// A percentage with four decimals, scaled by 10⁴, is the rate in
	// millionths: 19 % → 190000.
	if r < 0 || r > MaxRate {
		return 0, Invalid(field, "must be between 0 and 100 percent")
	}
	return r, nil
}

// FormatPercent renders a rate in millionths as a percentage with the
// decimals it needs ("19", "5.5", "8.875").
func FormatPercent(rate int64) string {
	s := fmt.Sprintf("%d.%04d", rate/10_000, rate%10_000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// RoundHalfEven returns num/den rounded to the nearest integer, ties to the
// even one (banker's rounding), for num ≥ 0 and den > 0. It computes
// exactly (math/big): no overflow, no floating point.
func RoundHalfEven(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Lsh(r, 1)
	switch twice.Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// TaxOf returns the tax in minor units of one amount (a line total, a
// shipping price) at rate (millionths) in mode, rounded half-even to the
// minor unit:
//
//   - exclusive: tax = round_half_even(net × r), the amount being net;
//   - inclusive: tax = round_half_even(gross × r / (1 + r)), the amount
//     being gross (the net is gross − tax).
//
// with r = rate / 1,000,000, computed exactly in integers. The amount must
// be non-negative.
func TaxOf(amount int64, rate int64, mode TaxMode) int64 {
	if amount <= 0 || rate <= 0 {
		return 0
	}
	num := new(big.Int).Mul(big.NewInt(amount), big.NewInt(rate))
	den := big.NewInt(RateScale)
	if mode == TaxInclusive {
		den.Add(den, big.NewInt(rate))
	}
	return RoundHalfEven(num, den).Int64()
}

// TaxTable finds the rate of a class in a country among a shop's rates.
type TaxTable struct {
	rates map[string]int64 // "DE/standard" → rate
}

// NewTaxTable indexes rates by country and class (a later duplicate wins).
func NewTaxTable(rates []TaxRate) TaxTable {
	t := TaxTable{rates: make(map[string]int64, len(rates))}
	for _, r := range rates {
		t.rates[r.Country+"/"+string(r.Class)] = r.Rate
	}
	return t
}

// Rate returns the rate of class in country and whether the shop has one.
// The zero class is 0 everywhere. A country for which the shop has no rate
// of the class is untaxed for it (0, false): a shop lists the rates of the
// countries it must charge tax in.
func (t TaxTable) Rate(country string, class TaxClass) (int64, bool) {
	if class == TaxZero {
		return 0, true
	}
	r, ok := t.rates[country+"/"+string(class)]
	return r, ok
}
