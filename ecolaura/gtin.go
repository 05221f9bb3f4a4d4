package ecolaura

// GTIN is a GS1 Global Trade Item Number in its 14-digit form (GTIN-14):
// GTIN-8, GTIN-12 (UPC-A) and GTIN-13 (EAN-13) are left-padded with zeros,
// as GS1 Digital Link URIs carry them ("https://id.example.org/01/09506000134352").
// Build one with [ParseGTIN]; the zero value "" means "no GTIN".
type GTIN string

// ParseGTIN validates s as a GTIN-8, -12, -13 or -14 (digits only, no
// spaces) with a correct GS1 mod-10 check digit (GS1 General
// Specifications, section 7.9.1) and returns it normalised to GTIN-14, so
// "4006381333931" (GTIN-13) and "04006381333931" (GTIN-14) are the same
// GTIN. Errors: a *ValidationError on field "gtin" for a wrong length, a
// character that is not a digit, or a wrong check digit (the message then
// names the expected digit).
func ParseGTIN(s string) (GTIN, error) {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return "", Invalid("gtin", "must have 8, 12, 13 or 14 digits")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", Invalid("gtin", "must consist of digits only")
		}
	}
	padded := "00000000000000"[:14-len(s)] + s
	if want := GTINCheckDigit(padded[:13]); padded[13] != want {
		return "", Invalid("gtin", "has a wrong check digit (%c expected for %s)", want, s[:len(s)-1])
	}
	return GTIN(padded), nil
}

// GTINCheckDigit returns the GS1 mod-10 check digit of body, the digits of
// a GTIN without its last one: from the right, digits are weighted 3, 1, 3,
// ...; the check digit brings the weighted sum to a multiple of ten. body
// must consist of ASCII digits.
func GTINCheckDigit(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// String returns the 14 digits.
func (g GTIN) String() string { return string(g) }
