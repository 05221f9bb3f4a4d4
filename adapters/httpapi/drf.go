package httpapi

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// v1 numbers follow Django REST Framework's fields exactly, so that a
// client of the original API sees the same acceptances and messages; v2
// keeps strict JSON types. DRF parses JSON with Python's json module, so a
// JSON number with a fraction or an exponent is a Python float before a
// field sees it, and the fields work on str() of the value.

// drfMaxStringLength is DRF's Field.MAX_STRING_LENGTH: longer strings are
// refused before they are parsed.
const drfMaxStringLength = 1000

// drfInteger is a v1 integer as DRF's IntegerField reads it:
//
//	int(re.sub(r'\.0*\s*$', '', str(data)))
//
// so 3, "3", " 3 ", "+3", "3.0", "3." and 3.0 are 3, "1_000" is 1000, and
// 1.5, "1.5", "abc", "1e3", true and a float of 1e16 or more (whose str()
// has an exponent) are "A valid integer is required." Python's int()
// accepts any Unicode decimal digit; ASCII digits only are accepted here.
// Values beyond int64 saturate, so that the range check refuses them.
type drfInteger struct{ n int64 }

// UnmarshalJSON implements json.Unmarshaler.
func (d *drfInteger) UnmarshalJSON(b []byte) error {
	bad := &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[drfInteger]()}
	var s string
	switch {
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil || len([]rune(s)) > drfMaxStringLength {
			return bad
		}
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		lit := string(b)
		if !strings.ContainsAny(lit, ".eE") {
			s = lit // a Python int
			break
		}
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || math.IsInf(f, 0) {
			return bad
		}
		if f != math.Trunc(f) || math.Abs(f) >= 1e16 {
			return bad // str() is "1.5" or "1e+16": not an int
		}
		s = strconv.FormatFloat(f, 'f', 0, 64)
	default:
		return bad
	}
	n, ok := pythonInt(trimDecimalZeros(s))
	if !ok {
		return bad
	}
	d.n = n
	return nil
}

// trimDecimalZeros removes what DRF's re_decimal (`\.0*\s*$`) matches: a
// trailing '.', the zeros after it and trailing white space.
func trimDecimalZeros(s string) string {
	t := strings.TrimRightFunc(s, unicode.IsSpace)
	t = strings.TrimRight(t, "0")
	if strings.HasSuffix(t, ".") {
		return t[:len(t)-1]
	}
	return s
}

// pythonInt parses s as Python's int(s) does (base 10): surrounding white
// space, an optional sign, digits with single underscores between them.
// It saturates at the int64 bounds.
func pythonInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	digits := strings.ReplaceAll(s, "_", "")
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return 0, false
	}
	if neg {
		v.Neg(v)
	}
	return saturate(v), true
}

func saturate(v *big.Int) int64 {
	switch {
	case v.IsInt64():
		return v.Int64()
	case v.Sign() > 0:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}

// drfIntegerProblem checks n against DRF's min_value and max_value and
// returns DRF's message, or "".
func drfIntegerProblem(n, lo, hi int64) string {
	switch {
	case n < lo:
		return "Ensure this value is greater than or equal to " + strconv.FormatInt(lo, 10) + "."
	case n > hi:
		return "Ensure this value is less than or equal to " + strconv.FormatInt(hi, 10) + "."
	}
	return ""
}

// drfDecimalField is a DRF DecimalField: max_digits (0: none) and
// decimal_places, and the bounds of its validators in 10^-places units.
type drfDecimalField struct {
	maxDigits, places int
	lo, hi            int64
}

// parse reads v as DRF's DecimalField does and returns the value in
// 10^-places units, or DRF's message. A JSON string is stripped and read
// as Python's Decimal (so "+1", "1e3", ".5", "5." and "1_000" are numbers;
// "NaN" and "Infinity" are not); a JSON number is read as the digits of
// the shortest text of its float, as Python's str() of it would give them
// (19.990 is 19.99), but from the exact literal: no number is rounded
// through floating point (one of more than 17 significant digits keeps
// them, where DRF's float would round it). Then DRF's precision rules
// (max_digits, decimal_places, max_whole_digits, in this order), then the
// bounds.
func (f drfDecimalField) parse(v decimalValue) (int64, string) {
	const invalid = "A valid number is required."
	var coef string // decimal digits, leading zeros removed
	var exp int     // the value is coef × 10^exp
	var neg, ok bool
	if v.number {
		neg, coef, exp, ok = pythonDecimal(v.text)
		if ok {
			coef, exp = floatDigits(coef, exp)
		}
	} else {
		if len([]rune(v.text)) > drfMaxStringLength {
			return 0, "String value too large."
		}
		neg, coef, exp, ok = pythonDecimal(strings.TrimSpace(v.text))
	}
	if !ok {
		return 0, invalid
	}
	var total, whole, places int
	switch n := len(coef); {
	case exp >= 0:
		total, whole, places = n+exp, n+exp, 0
	case n > -exp:
		total, whole, places = n, n+exp, -exp
	default:
		total, whole, places = -exp, 0, -exp
	}
	switch {
	case f.maxDigits > 0 && total > f.maxDigits:
		return 0, "Ensure that there are no more than " + strconv.Itoa(f.maxDigits) + " digits in total."
	case places > f.places:
		return 0, "Ensure that there are no more than " + strconv.Itoa(f.places) + " decimal places."
	case f.maxDigits > 0 && whole > f.maxDigits-f.places:
		return 0, "Ensure that there are no more than " + strconv.Itoa(f.maxDigits-f.places) + " digits before the decimal point."
	}
	val := new(big.Int)
	val.SetString(coef, 10)
	if scale := exp + f.places; scale > 0 {
		if scale > 40 {
			scale = 40 // far beyond any bound: saturates below
		}
		val.Mul(val, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	}
	if neg {
		val.Neg(val)
	}
	n := saturate(val)
	switch {
	case n < f.lo:
		return 0, "Ensure this value is greater than or equal to " + decimalText(f.lo, f.places) + "."
	case n > f.hi:
		return 0, "Ensure this value is less than or equal to " + decimalText(f.hi, f.places) + "."
	}
	return n, ""
}

// pythonDecimal parses s with the syntax of Python's Decimal(s) for finite
// numbers: an optional sign, digits with an optional '.' (at least one
// digit on either side), single underscores between digits, and an
// optional exponent. It returns the coefficient's digits without leading
// zeros (at least "0") and the exponent.
func pythonDecimal(s string) (neg bool, coef string, exp int, ok bool) {
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	mant, e, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		n, ok := pythonInt(e)
		if !ok || strings.TrimSpace(e) != e || n > 1e6 || n < -1e6 {
			return false, "", 0, false
		}
		exp = int(n)
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digitsOK := func(p string) bool {
		if p == "" {
			return true
		}
		if p[0] == '_' || p[len(p)-1] == '_' || strings.Contains(p, "__") {
			return false
		}
		for i := 0; i < len(p); i++ {
			if (p[i] < '0' || p[i] > '9') && p[i] != '_' {
				return false
			}
		}
		return true
	}
	if intPart+frac == "" || !digitsOK(intPart) || !digitsOK(frac) {
		return false, "", 0, false
	}
	intPart, frac = strings.ReplaceAll(intPart, "_", ""), strings.ReplaceAll(frac, "_", "")
	coef = strings.TrimLeft(intPart+frac, "0")
	if coef == "" {
		coef = "0"
	}
	return neg, coef, exp - len(frac), true
}

// floatDigits turns the exact digits of a JSON number into those of
// Python's str() of its float, without rounding: trailing zeros of the
// fraction are dropped (str(19.990) is "19.99"), and an integral value
// written in fixed notation (from 1e-4 to below 1e16) gets Python's
// ".0" (str(100.0) is "100.0": one decimal place, as DRF counts it).
func floatDigits(coef string, exp int) (string, int) {
	for exp < 0 && len(coef) > 1 && strings.HasSuffix(coef, "0") {
		coef, exp = coef[:len(coef)-1], exp+1
	}
	if coef == "0" {
		return "0", -1 // str(0.0) is "0.0"
	}
	// The decimal exponent of the leading digit, as in 1.2345e+E.
	lead := exp + len(coef) - 1
	if exp >= 0 && lead < 16 {
		return coef + strings.Repeat("0", exp) + "0", -1
	}
	return coef, exp
}
