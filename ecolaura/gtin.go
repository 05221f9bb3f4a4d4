package ecolaura

import "strings"

// GTIN is a Global Trade Item Number (GS1) in its normalised form: 14
// digits, shorter GTINs (GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13)) padded
// on the left with zeros, as GS1 Digital Link and GS1-128 carry them.
type GTIN string

// ParseGTIN validates a GTIN-8, -12, -13 or -14 (surrounding white space
// ignored): only digits, one of those lengths, and a GS1 mod-10 check digit
// (the last digit) that matches the others. It returns the GTIN normalised
// to 14 digits. Errors: a *ValidationError on "gtin" (ErrInvalid).
func ParseGTIN(s string) (GTIN, error) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return "", Invalid("gtin", "must have 8, 12, 13 or 14 digits")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", Invalid("gtin", "must contain only digits")
		}
	}
	s = strings.Repeat("0", 14-len(s)) + s
	if gtinCheckDigit(s[:13]) != s[13] {
		return "", Invalid("gtin", "has a wrong check digit")
	}
	return GTIN(s), nil
}

// gtinCheckDigit computes the GS1 mod-10 check digit of the digits before it:
// from the right, weights 3, 1, 3, ...
func gtinCheckDigit(body string) byte {
	sum := 0
	w := 3
	for i := len(body) - 1; i >= 0; i-- {
		sum += int(body[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

// String returns the 14 digits.
func (g GTIN) String() string { return string(g) }
