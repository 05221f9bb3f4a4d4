package ecolaura

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Length limits of an [Address], in characters (Unicode code points) after
// trimming surrounding white space.
const (
	MaxAddressNameLength    = 150
	MaxAddressCompanyLength = 150
	MaxAddressLineLength    = 200
	MaxPostalCodeLength     = 20
	MaxCityLength           = 100
	MaxRegionLength         = 100
	// MaxPhoneLength is the longest E.164 number: "+" and 15 digits.
	MaxPhoneLength = 16
	// MaxAddressesPerUser bounds one customer's address book.
	MaxAddressesPerUser = 50
)

// Address is a postal address with a contact phone, as a customer keeps it
// in their address book and as an order snapshots it. Every field follows
// the single-line text rules (see [TextKind]) and is stored trimmed.
//
//   - Name (1–150) and Company (0–150) say who receives it;
//   - Line1 (1–200) and Line2 (0–200) are the street lines;
//   - PostalCode (0–20; some countries have none), City (1–100) and Region
//     (0–100: state, province, county);
//   - Country is an ISO 3166-1 alpha-2 code of an officially assigned
//     country ("DE", "FR", see [ValidCountryCode]), stored upper case;
//   - Phone is "" or a number in E.164 form ("+4930123456"), at most 16
//     characters. The domain checks its form; the users service parses
//     what a customer types (national or international form, with spaces)
//     with libphonenumber's data for Country and stores the E.164 form.
type Address struct {
	Name       string
	Company    string
	Line1      string
	Line2      string
	PostalCode string
	City       string
	Region     string
	Country    string
	Phone      string
}

// Normalized returns a with every field trimmed of surrounding white space
// and Country upper-cased. It changes nothing else.
func (a Address) Normalized() Address {
	t := strings.TrimSpace
	return Address{
		Name: t(a.Name), Company: t(a.Company), Line1: t(a.Line1), Line2: t(a.Line2),
		PostalCode: t(a.PostalCode), City: t(a.City), Region: t(a.Region),
		Country: strings.ToUpper(t(a.Country)), Phone: t(a.Phone),
	}
}

// Validate checks a normalised address (see [Address.Normalized]) against
// the rules documented on [Address] and returns a *ValidationError naming
// every failing field ("name", "line1", "country", ...), or nil.
func (a Address) Validate() error {
	var v Validator
	a.validate(&v)
	return v.Err()
}

func (a Address) validate(v *Validator) {
	field := func(name, s string, min, max int) {
		v.Text(name, s, SingleLine)
		n := utf8.RuneCountInString(s)
		switch {
		case s != strings.TrimSpace(s):
			v.Add(name, "must not start or end with white space")
		case min > 0 && n == 0:
			v.Add(name, "must not be blank")
		case n > max:
			v.Add(name, "must be at most %d characters", max)
		}
	}
	field("name", a.Name, 1, MaxAddressNameLength)
	field("company", a.Company, 0, MaxAddressCompanyLength)
	field("line1", a.Line1, 1, MaxAddressLineLength)
	field("line2", a.Line2, 0, MaxAddressLineLength)
	field("postal_code", a.PostalCode, 0, MaxPostalCodeLength)
	field("city", a.City, 1, MaxCityLength)
	field("region", a.Region, 0, MaxRegionLength)
	switch {
	case a.Country == "":
		v.Add("country", "must not be blank")
	case !ValidCountryCode(a.Country):
		v.Add("country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
	}
	v.Check(a.Phone == "" || ValidE164(a.Phone), "phone", "must be a phone number in E.164 form (+ and up to 15 digits)")
}

// ValidE164 reports whether s has the form of an E.164 number: "+", a
// non-zero digit, then 1–14 more digits. It checks the form only, not that
// the number is assigned.
func ValidE164(s string) bool {
	if len(s) < 3 || len(s) > MaxPhoneLength || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AddressUse is what a default address of an address book is for.
type AddressUse string

// The uses of a default address.
const (
	UseShipping AddressUse = "shipping"
	UseBilling  AddressUse = "billing"
)

// Valid reports whether u is a known use.
func (u AddressUse) Valid() bool { return u == UseShipping || u == UseBilling }

// SavedAddress is one entry of a customer's address book. At most one
// entry of a user is the default shipping address and at most one the
// default billing address (one entry may be both); the stores keep that
// by construction.
type SavedAddress struct {
	ID     ID
	UserID ID
	Address
	DefaultShipping bool
	DefaultBilling  bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version counts the updates of the entry (1 when created), for
	// optimistic concurrency. Marking it default does not change it.
	Version int
}

// ValidateStoredAddress checks what every store refuses: a saved address
// whose IDs are not UUIDs, whose address breaks [Address.Validate], whose
// times are missing or whose version is below 1. It returns a
// *ValidationError or nil.
func ValidateStoredAddress(a SavedAddress) error {
	var v Validator
	v.Check(isUUID(string(a.ID)), "id", "must be a UUID")
	v.Check(isUUID(string(a.UserID)), "user_id", "must be a UUID")
	a.validate(&v)
	v.Check(!a.CreatedAt.IsZero(), "created_at", "must be set")
	v.Check(!a.UpdatedAt.IsZero(), "updated_at", "must be set")
	v.Check(a.Version >= 1, "version", "must be at least 1")
	return v.Err()
}

// ValidCountryCode reports whether code is an officially assigned ISO 3166-1
// alpha-2 country code, in upper case (249 codes: the list of the ISO 3166
// Maintenance Agency, https://www.iso.org/obp/ui/#search/code/, as of 2024;
// user-assigned codes such as XK and reserved ones such as UK or EU are
// not countries).
func ValidCountryCode(code string) bool {
	if len(code) != 2 {
		return false
	}
	_, ok := countries[code]
	return ok
}

// Countries returns the officially assigned ISO 3166-1 alpha-2 codes in
// alphabetical order.
func Countries() []string {
	return strings.Fields(countryCodes)
}

// countryCodes is the ISO 3166-1 alpha-2 list (officially assigned codes).
const countryCodes = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
`

var countries = func() map[string]struct{} {
	m := make(map[string]struct{}, 249)
	for _, c := range strings.Fields(countryCodes) {
		m[c] = struct{}{}
	}
	return m
}()
