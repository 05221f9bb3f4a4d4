package ecolaura

import (
	"strconv"
	"strings"
)

// DecimalReason says why [ParseDecimal] refused a text.
type DecimalReason uint8

// The reasons of a [DecimalError].
const (
	// DecimalSyntax: not a plain decimal number ("abc", "1e3", "+1", "1,5",
	// ".5", "NaN", "").
	DecimalSyntax DecimalReason = iota + 1
	// DecimalPrecision: more significant decimal places than allowed.
	DecimalPrecision
	// DecimalRange: too many digits for an int64 of the smallest unit.
	DecimalRange
)

// DecimalError is the error of [ParseDecimal].
type DecimalError struct {
	Reason DecimalReason
	// Places is the number of decimal places that were allowed.
	Places int
}

// Error implements error with a field message ("must have at most 2
// decimal places").
func (e *DecimalError) Error() string {
	switch e.Reason {
	case DecimalPrecision:
		if e.Places == 0 {
			return "must be a whole number in this currency"
		}
		return "must have at most " + strconv.Itoa(e.Places) + " decimal places"
	case DecimalRange:
		return "is too large"
	}
	return "must be a decimal number like 19.99"
}

// maxDecimalLength bounds the text [ParseDecimal] reads.
const maxDecimalLength = 64

// ParseDecimal parses s, a plain decimal number such as "19.99", "-0.5" or
// "7", exactly (no floating point) into an integer count of 10^-places
// units: ParseDecimal("19.99", 2) is 1999, ParseDecimal("4.0005", 4) is
// 40005.
//
// White space around the number is ignored (as around names, and as
// Django REST Framework strips it): leading and trailing characters for
// which unicode.IsSpace is true, such as " 1", "1\t" or "1\u00a0". The
// number itself is an optional leading '-', one or more digits, and
// optionally a '.' followed by one or more digits; nothing else (no '+',
// exponent, inner spaces, grouping or NaN). This is the syntax of JSON
// numbers without an exponent.
//
// Excess precision is refused, never rounded: this is Ecolaura's one rule
// for every decimal it accepts (prices, footprints, filters), the rule of
// Django REST Framework's DecimalField. Trailing zeros are not excess
// precision ("19.990" with 2 places is 1999): they do not change the value.
//
// Errors: a *[DecimalError] (DecimalSyntax, DecimalPrecision or
// DecimalRange when the result does not fit an int64).
func ParseDecimal(s string, places int) (int64, error) {
	bad := func(r DecimalReason) (int64, error) { return 0, &DecimalError{Reason: r, Places: places} }
	s = strings.TrimSpace(s)
	if s == "" || places < 0 || places > 18 {
		return bad(DecimalSyntax)
	}
	if len(s) > maxDecimalLength {
		return bad(DecimalRange)
	}
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return bad(DecimalSyntax)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return bad(DecimalSyntax)
			}
		}
	}
	if len(frac) > places {
		if strings.TrimRight(frac[places:], "0") != "" {
			return bad(DecimalPrecision)
		}
		frac = frac[:places]
	}
	frac += strings.Repeat("0", places-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 19 {
		return bad(DecimalRange)
	}
	if neg {
		digits = "-" + digits
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return bad(DecimalRange)
	}
	return v, nil
}
