package ecolaura

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 alphabetic code such as "EUR".
type Currency string

// DefaultCurrency is used when none is given.
const DefaultCurrency Currency = "EUR"

// currencyExponents lists the supported currencies with their number of minor
// digits (ISO 4217).
var currencyExponents = map[Currency]int{
	"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2,
	"PLN": 2, "CZK": 2, "CAD": 2, "AUD": 2, "NZD": 2, "JPY": 0, "KRW": 0,
}

// ParseCurrency validates an ISO 4217 code (upper or lower case) against the
// supported set.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(strings.ToUpper(strings.TrimSpace(s)))
	if _, ok := currencyExponents[c]; !ok {
		return "", Invalid("currency", "unsupported currency %q", s)
	}
	return c, nil
}

// Currencies returns the supported currencies in alphabetical order. The
// PostgreSQL schema lists the same set in CHECK constraints (a migration
// must accompany a new currency; the conformance suites catch a mismatch).
func Currencies() []Currency {
	out := make([]Currency, 0, len(currencyExponents))
	for c := range currencyExponents {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Valid reports whether c is a supported currency.
func (c Currency) Valid() bool {
	_, ok := currencyExponents[c]
	return ok
}

// Exponent is the number of minor-unit digits (2 for EUR, 0 for JPY). Unknown
// currencies report 2.
func (c Currency) Exponent() int {
	if e, ok := currencyExponents[c]; ok {
		return e
	}
	return 2
}

// MaxPriceMinor bounds prices like the original DECIMAL(10,2): 99,999,999.99.
const MaxPriceMinor int64 = 9_999_999_999

// Money is an exact amount in integer minor units (cents) of a currency.
// Never use floating point for money.
type Money struct {
	Amount   int64
	Currency Currency
}

// NewMoney returns an amount in minor units of the currency.
func NewMoney(minor int64, c Currency) Money { return Money{Amount: minor, Currency: c} }

// ParseMoney parses a decimal string such as "19.99" or "5" in currency c
// exactly, with [ParseDecimal]'s rules: more decimals than the currency has
// are refused ("19.999" EUR, "12.5" JPY), never rounded. It returns a
// *ValidationError on field "amount" (or "currency" for an unsupported
// currency).
func ParseMoney(s string, c Currency) (Money, error) {
	if !c.Valid() {
		return Money{}, Invalid("currency", "unsupported currency %q", string(c))
	}
	minor, err := ParseDecimal(s, c.Exponent())
	if err != nil {
		return Money{}, Invalid("amount", "%s", err.Error())
	}
	return Money{Amount: minor, Currency: c}, nil
}

// ParsePrice parses a price: like [ParseMoney] but bounded to
// 0 … [MaxPriceMinor] minor units.
func ParsePrice(s string, c Currency) (Money, error) {
	m, err := ParseMoney(s, c)
	if err != nil {
		return Money{}, err
	}
	if err := m.ValidatePrice(); err != nil {
		return Money{}, err
	}
	return m, nil
}

// ValidatePrice checks that m is a valid product price.
func (m Money) ValidatePrice() error {
	var v Validator
	v.Check(m.Currency.Valid(), "currency", "unsupported currency %q", string(m.Currency))
	v.Check(m.Amount >= 0, "amount", "must not be negative")
	v.Check(m.Amount <= MaxPriceMinor, "amount", "must not exceed %s", Money{Amount: MaxPriceMinor, Currency: m.Currency}.Decimal())
	return v.Err()
}

// Decimal formats the amount as a plain decimal string with exactly the
// currency's number of decimals ("19.99", "-0.05", "1200" for JPY).
func (m Money) Decimal() string {
	exp := m.Currency.Exponent()
	a := m.Amount
	neg := a < 0
	var u uint64
	if neg {
		u = uint64(-(a + 1)) + 1 // safe for math.MinInt64
	} else {
		u = uint64(a)
	}
	digits := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// String formats as "19.99 EUR".
func (m Money) String() string { return m.Decimal() + " " + string(m.Currency) }

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Amount == 0 }

// Add returns m + o. Both must have the same currency and the sum must not
// overflow; otherwise it returns a *ValidationError.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, Invalid("currency", "cannot add %s to %s", o.Currency, m.Currency)
	}
	if (o.Amount > 0 && m.Amount > math.MaxInt64-o.Amount) || (o.Amount < 0 && m.Amount < math.MinInt64-o.Amount) {
		return Money{}, Invalid("amount", "is too large")
	}
	return Money{Amount: m.Amount + o.Amount, Currency: m.Currency}, nil
}

// Mul returns m × n, or a *ValidationError on overflow.
func (m Money) Mul(n int64) (Money, error) {
	if n != 0 && m.Amount != 0 {
		p := m.Amount * n
		if p/n != m.Amount || (m.Amount == -1 && n == math.MinInt64) || (n == -1 && m.Amount == math.MinInt64) {
			return Money{}, Invalid("amount", "is too large")
		}
		return Money{Amount: p, Currency: m.Currency}, nil
	}
	return Money{Amount: 0, Currency: m.Currency}, nil
}
