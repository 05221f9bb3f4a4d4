package ecolaura

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// A Digital Product Passport (DPP) is the machine-readable record of a
// product's composition, durability, repairability, substances, certificates,
// carbon footprint and end-of-life handling that the EU's Ecodesign for
// Sustainable Products Regulation (ESPR, Regulation (EU) 2024/1781, Articles
// 9–15 and Annex III) requires for the product groups its delegated acts
// name (textiles and batteries first). It is reached from a data carrier (a
// QR code) on the product through a GS1 Digital Link URI
// (https://ref.gs1.org/standards/digital-link/: "{base}/01/{gtin14}"), and
// published as JSON-LD with the UN Transparency Protocol's (UNTP) Digital
// Product Passport vocabulary where it fits (https://uncefact.github.io/spec-untp/),
// schema.org elsewhere: see docs/sustainability.md for the mapping.
//
// Every publication of a passport is an immutable [PassportVersion]: a QR
// code printed once keeps resolving, and older versions stay readable.

// Bounds of passport fields.
const (
	MaxPassportMaterials     = 50
	MaxPassportSubstances    = 100
	MaxPassportCertificates  = 50
	MaxPassportShortText     = 200
	MaxPassportLongText      = 5_000
	MaxLifetimeYears         = 200
	MaxSparePartsYears       = 100
	MaxRepairabilityScore    = 10
	passportHundredthsPlaces = 2
)

// Hundredths is a non-negative decimal number with at most two decimal
// places, held exactly as an integer number of hundredths (12.5 is 1250).
// Passport percentages (shares, recycled and renewable content, a
// substance's concentration) and the repairability score use it, so shares
// add up to exactly 100 %. In JSON it is a number ("12.5"), parsed with
// [ParseDecimal]'s rules (more than two decimal places is an error, never
// rounded).
type Hundredths int64

// Percent returns h with the "%" sign ("12.5%").
func (h Hundredths) Percent() string { return h.String() + "%" }

// String formats h as a decimal without trailing zeros ("12.5", "100").
func (h Hundredths) String() string {
	s := strconv.FormatInt(int64(h)/100, 10)
	if f := int64(h) % 100; f != 0 {
		if f < 0 {
			f = -f
		}
		s += strings.TrimRight("."+strconv.FormatInt(100+f, 10)[1:], "0")
	}
	return s
}

// Float returns h as a float64 (for display and ratios only).
func (h Hundredths) Float() float64 { return float64(h) / 100 }

// MarshalJSON writes h as a JSON number.
func (h Hundredths) MarshalJSON() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalJSON reads a JSON number (or a string holding one) exactly.
func (h *Hundredths) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseDecimal(s, passportHundredthsPlaces)
	if err != nil {
		return err
	}
	*h = Hundredths(v)
	return nil
}

// KgCO2e is a carbon footprint held in whole grams CO2e (like [CO2e]) that
// JSON shows in kilograms with up to three decimals ("1.25"), parsed exactly
// ([ParseFootprintKg]).
type KgCO2e CO2e

// MarshalJSON writes the footprint in kilograms as a JSON number.
func (k KgCO2e) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(CO2e(k).Kg(), 'f', -1, 64)), nil
}

// UnmarshalJSON reads kilograms (a JSON number or a string holding one).
func (k *KgCO2e) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	g, err := ParseFootprintKg(s)
	if err != nil {
		return err
	}
	*k = KgCO2e(g)
	return nil
}

// Date is a calendar date "YYYY-MM-DD" (ISO 8601 extended, no time zone).
type Date string

// Time returns the start of the day in UTC; ok is false when d is not a valid date.
func (d Date) Time() (t time.Time, ok bool) {
	t, err := time.Parse(time.DateOnly, string(d))
	return t, err == nil && t.Format(time.DateOnly) == string(d)
}

// DateOf returns the UTC calendar date of t.
func DateOf(t time.Time) Date { return Date(t.UTC().Format(time.DateOnly)) }

// Manufacturer identifies the economic operator responsible for the product
// (ESPR Annex III (g)–(h): name, postal address and contact).
type Manufacturer struct {
	Name string `json:"name"`
	// Address is the postal address, multi-line text.
	Address string `json:"address,omitempty"`
	// Contact is an email address, a phone number or a web address.
	Contact string `json:"contact,omitempty"`
}

// Material is one component of the material composition (UNTP
// "materialsProvenance"): its share of the product's mass and, of that
// share, how much is recycled and how much renewable, all in percent.
type Material struct {
	Material     string     `json:"material"`
	SharePct     Hundredths `json:"share_pct"`
	RecycledPct  Hundredths `json:"recycled_pct"`
	RenewablePct Hundredths `json:"renewable_pct"`
}

// Repairability is the repairability score (0–10, as the French and EU
// repairability indexes give it) and how many years spare parts are
// available after the last unit was sold.
type Repairability struct {
	Score           Hundredths `json:"score"`
	SparePartsYears int        `json:"spare_parts_years"`
}

// Substance is a substance of concern the product contains (ESPR Article 7(5):
// name, CAS number when it has one, concentration in percent of mass).
type Substance struct {
	Name string `json:"name"`
	// CASNumber is the Chemical Abstracts Service registry number
	// ("7440-43-9"), check digit validated; "" when none.
	CASNumber string `json:"cas_number,omitempty"`
	// ConcentrationPct is nil when unknown.
	ConcentrationPct *Hundredths `json:"concentration_pct,omitempty"`
}

// PassportCertificate is a certificate held by the product: its scheme
// ("GOTS", "EU Ecolabel"), issuer, number, validity and where to verify it.
// A certificate outside its validity is shown as expired and does not count
// in the score ([PassportCertificate.StatusAt]).
type PassportCertificate struct {
	Scheme    string `json:"scheme"`
	Issuer    string `json:"issuer"`
	Number    string `json:"number"`
	ValidFrom Date   `json:"valid_from"`
	// ValidUntil is the last day of validity, "" when open-ended.
	ValidUntil      Date   `json:"valid_until,omitempty"`
	VerificationURL string `json:"verification_url,omitempty"`
}

// CertificateStatus is where a certificate stands on a date.
type CertificateStatus string

// The certificate statuses.
const (
	CertificateValid       CertificateStatus = "valid"
	CertificateExpired     CertificateStatus = "expired"
	CertificateNotYetValid CertificateStatus = "not_yet_valid"
)

// StatusAt returns the certificate's status on the UTC date of at.
func (c PassportCertificate) StatusAt(at time.Time) CertificateStatus {
	day := DateOf(at)
	switch {
	case day < c.ValidFrom:
		return CertificateNotYetValid
	case c.ValidUntil != "" && day > c.ValidUntil:
		return CertificateExpired
	}
	return CertificateValid
}

// RecognisedScheme returns the recognised eco label ([Certification]) the
// certificate's scheme names, comparing case-insensitively and ignoring
// spaces, hyphens and underscores ("EU Ecolabel" is eu-ecolabel); ok is
// false for other schemes.
func (c PassportCertificate) RecognisedScheme() (Certification, bool) {
	key := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch r {
			case ' ', '-', '_':
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	k := key(c.Scheme)
	for _, cert := range Certifications() {
		if key(string(cert)) == k {
			return cert, true
		}
	}
	return "", false
}

// The system boundaries a carbon footprint may be declared for (ISO 14067).
const (
	BoundaryCradleToGate   = "cradle-to-gate"
	BoundaryCradleToGrave  = "cradle-to-grave"
	BoundaryGateToGate     = "gate-to-gate"
	BoundaryCradleToCradle = "cradle-to-cradle"
)

// FootprintBoundaries lists the accepted boundaries.
func FootprintBoundaries() []string {
	return []string{BoundaryCradleToGate, BoundaryCradleToGrave, BoundaryGateToGate, BoundaryCradleToCradle}
}

// PassportFootprint is the product carbon footprint per unit, with the
// method it was calculated by ("ISO 14067", "PEF 3.1") and its system
// boundary (one of [FootprintBoundaries]).
type PassportFootprint struct {
	KgCO2e   KgCO2e `json:"kg_co2e"`
	Method   string `json:"method"`
	Boundary string `json:"boundary"`
}

// Passport is the Digital Product Passport of one product (see the
// comment at the top of this file). Optional parts are nil or empty when
// unknown. Its JSON names are the /api/v2 contract's and the stored form's.
type Passport struct {
	// GTIN is the unique product identifier the passport is published for
	// (ESPR Article 9(2)(b), UNTP "product.identifier"): the GS1 GTIN of the
	// trade item in its 14-digit form, "" when none. The GS1 Digital Link
	// resolver (/01/{gtin}) and the QR code find the passport by it.
	GTIN         GTIN         `json:"gtin,omitempty"`
	Manufacturer Manufacturer `json:"manufacturer"`
	// CountryOfOrigin is an ISO 3166-1 alpha-2 code ("PT"), "" when unknown.
	CountryOfOrigin string     `json:"country_of_origin,omitempty"`
	Materials       []Material `json:"materials"`
	// RecycledContentPct is the recycled share of the whole product; nil
	// means "derived from the materials" ([Passport.RecycledContent]).
	RecycledContentPct *Hundredths `json:"recycled_content_pct,omitempty"`
	// ExpectedLifetimeYears is the expected lifetime in years, nil when unknown.
	ExpectedLifetimeYears *int                  `json:"expected_lifetime_years,omitempty"`
	Repairability         *Repairability        `json:"repairability,omitempty"`
	SubstancesOfConcern   []Substance           `json:"substances_of_concern"`
	Certifications        []PassportCertificate `json:"certifications"`
	CarbonFootprint       *PassportFootprint    `json:"carbon_footprint,omitempty"`
	CareInstructions      string                `json:"care_instructions,omitempty"`
	EndOfLife             string                `json:"end_of_life,omitempty"`
}

// Clone returns a deep copy that shares no memory with p.
func (p Passport) Clone() Passport {
	p.Materials = slices.Clone(p.Materials)
	p.SubstancesOfConcern = slices.Clone(p.SubstancesOfConcern)
	for i, s := range p.SubstancesOfConcern {
		p.SubstancesOfConcern[i].ConcentrationPct = clonePtr(s.ConcentrationPct)
	}
	p.Certifications = slices.Clone(p.Certifications)
	p.RecycledContentPct = clonePtr(p.RecycledContentPct)
	p.ExpectedLifetimeYears = clonePtr(p.ExpectedLifetimeYears)
	p.Repairability = clonePtr(p.Repairability)
	p.CarbonFootprint = clonePtr(p.CarbonFootprint)
	return p
}

// Normalize trims every text, upper-cases the country code and makes empty
// lists nil-free (empty, not nil), so equal passports compare and encode
// equally. It does not validate.
func (p *Passport) Normalize() {
	trim := strings.TrimSpace
	if g, err := ParseGTIN(string(p.GTIN)); err == nil {
		p.GTIN = g
	}
	p.Manufacturer.Name, p.Manufacturer.Address, p.Manufacturer.Contact = trim(p.Manufacturer.Name), trim(p.Manufacturer.Address), trim(p.Manufacturer.Contact)
	p.CountryOfOrigin = strings.ToUpper(trim(p.CountryOfOrigin))
	if p.Materials == nil {
		p.Materials = []Material{}
	}
	for i := range p.Materials {
		p.Materials[i].Material = trim(p.Materials[i].Material)
	}
	if p.SubstancesOfConcern == nil {
		p.SubstancesOfConcern = []Substance{}
	}
	for i := range p.SubstancesOfConcern {
		s := &p.SubstancesOfConcern[i]
		s.Name, s.CASNumber = trim(s.Name), trim(s.CASNumber)
	}
	if p.Certifications == nil {
		p.Certifications = []PassportCertificate{}
	}
	for i := range p.Certifications {
		c := &p.Certifications[i]
		c.Scheme, c.Issuer, c.Number = trim(c.Scheme), trim(c.Issuer), trim(c.Number)
		c.ValidFrom, c.ValidUntil, c.VerificationURL = Date(trim(string(c.ValidFrom))), Date(trim(string(c.ValidUntil))), trim(c.VerificationURL)
	}
	if f := p.CarbonFootprint; f != nil {
		f.Method, f.Boundary = trim(f.Method), strings.ToLower(trim(f.Boundary))
	}
	p.CareInstructions, p.EndOfLife = trim(p.CareInstructions), trim(p.EndOfLife)
}

// Validate checks every field and returns a *ValidationError naming each
// problem by its JSON path ("materials[1].share_pct"). Rules: the GTIN,
// when given, is valid and normalised ([ParseGTIN]); the manufacturer's name is required (1–200 characters, single line), address
// and contact optional (address multi-line up to 1,000, contact up to 200);
// the country of origin is an assigned ISO 3166-1 alpha-2 country code;
// materials (at most 50) have a name and a share above 0 and at most 100,
// recycled and renewable shares 0–100, and the shares add up to exactly
// 100 % when any are given; percentages are 0–100; the expected lifetime is
// 1–200 years; the repairability score 0–10 and spare parts 0–100 years;
// substances (at most 100) have a name and, when given, a valid CAS number
// (check digit) and a concentration 0–100; certificates (at most 50) have a
// scheme, an issuer, a number, a valid_from date and, when given, a
// valid_until date not before it and an absolute http(s) verification URL;
// the carbon footprint is 0–1,000,000 kg with a method and one of
// [FootprintBoundaries]; care instructions and end of life are multi-line
// text up to 5,000 characters.
func (p Passport) Validate() error {
	var v Validator
	short := func(field, s string, required bool) {
		n := utf8.RuneCountInString(s)
		v.Text(field, s, SingleLine)
		v.Check(!required || n > 0, field, "must not be blank")
		v.Check(n <= MaxPassportShortText, field, "must be at most %d characters", MaxPassportShortText)
	}
	long := func(field, s string, most int) {
		v.Text(field, s, MultiLine)
		v.Check(utf8.RuneCountInString(s) <= most, field, "must be at most %d characters", most)
	}
	pct := func(field string, h Hundredths) {
		v.Check(h >= 0 && h <= 100_00, field, "must be between 0 and 100")
	}
	if p.GTIN != "" {
		g, err := ParseGTIN(string(p.GTIN))
		v.Check(err == nil, "gtin", "must be a GTIN-8, -12, -13 or -14 with a correct check digit")
		v.Check(err != nil || g == p.GTIN, "gtin", "must be normalised to 14 digits")
	}
	short("manufacturer.name", p.Manufacturer.Name, true)
	long("manufacturer.address", p.Manufacturer.Address, 1_000)
	short("manufacturer.contact", p.Manufacturer.Contact, false)
	if p.CountryOfOrigin != "" {
		v.Check(ValidCountry(p.CountryOfOrigin), "country_of_origin", "must be an ISO 3166-1 alpha-2 country code such as PT")
	}
	v.Check(len(p.Materials) <= MaxPassportMaterials, "materials", "must have at most %d entries", MaxPassportMaterials)
	var total Hundredths
	for i, m := range p.Materials {
		f := "materials[" + strconv.Itoa(i) + "]"
		short(f+".material", m.Material, true)
		v.Check(m.SharePct > 0 && m.SharePct <= 100_00, f+".share_pct", "must be above 0 and at most 100")
		pct(f+".recycled_pct", m.RecycledPct)
		pct(f+".renewable_pct", m.RenewablePct)
		total += max(m.SharePct, 0)
	}
	if len(p.Materials) > 0 {
		v.Check(total == 100_00, "materials", "shares must add up to 100%% (they add up to %s%%)", total)
	}
	if p.RecycledContentPct != nil {
		pct("recycled_content_pct", *p.RecycledContentPct)
	}
	if y := p.ExpectedLifetimeYears; y != nil {
		v.Check(*y >= 1 && *y <= MaxLifetimeYears, "expected_lifetime_years", "must be between 1 and %d", MaxLifetimeYears)
	}
	if r := p.Repairability; r != nil {
		v.Check(r.Score >= 0 && r.Score <= MaxRepairabilityScore*100, "repairability.score", "must be between 0 and %d", MaxRepairabilityScore)
		v.Check(r.SparePartsYears >= 0 && r.SparePartsYears <= MaxSparePartsYears, "repairability.spare_parts_years", "must be between 0 and %d", MaxSparePartsYears)
	}
	v.Check(len(p.SubstancesOfConcern) <= MaxPassportSubstances, "substances_of_concern", "must have at most %d entries", MaxPassportSubstances)
	for i, s := range p.SubstancesOfConcern {
		f := "substances_of_concern[" + strconv.Itoa(i) + "]"
		short(f+".name", s.Name, true)
		if s.CASNumber != "" {
			v.Check(ValidCASNumber(s.CASNumber), f+".cas_number", "must be a CAS registry number such as 7440-43-9 (with a correct check digit)")
		}
		if s.ConcentrationPct != nil {
			pct(f+".concentration_pct", *s.ConcentrationPct)
		}
	}
	v.Check(len(p.Certifications) <= MaxPassportCertificates, "certifications", "must have at most %d entries", MaxPassportCertificates)
	for i, c := range p.Certifications {
		f := "certifications[" + strconv.Itoa(i) + "]"
		short(f+".scheme", c.Scheme, true)
		short(f+".issuer", c.Issuer, true)
		short(f+".number", c.Number, true)
		_, fromOK := c.ValidFrom.Time()
		v.Check(fromOK, f+".valid_from", "must be a date YYYY-MM-DD")
		if c.ValidUntil != "" {
			_, ok := c.ValidUntil.Time()
			v.Check(ok, f+".valid_until", "must be a date YYYY-MM-DD")
			v.Check(!ok || !fromOK || c.ValidUntil >= c.ValidFrom, f+".valid_until", "must not be before valid_from")
		}
		if c.VerificationURL != "" {
			v.Check(validWebURL(c.VerificationURL), f+".verification_url", "must be an absolute http or https URL")
		}
	}
	if fp := p.CarbonFootprint; fp != nil {
		v.Check(fp.KgCO2e >= 0 && CO2e(fp.KgCO2e) <= MaxFootprint, "carbon_footprint.kg_co2e", "must be between 0 and %d", MaxFootprint/1000)
		short("carbon_footprint.method", fp.Method, true)
		v.Check(slices.Contains(FootprintBoundaries(), fp.Boundary), "carbon_footprint.boundary", "must be one of %s", strings.Join(FootprintBoundaries(), ", "))
	}
	long("care_instructions", p.CareInstructions, MaxPassportLongText)
	long("end_of_life", p.EndOfLife, MaxPassportLongText)
	return v.Err()
}

// RecycledContent returns the recycled share of the whole product: the
// declared RecycledContentPct, or else the share-weighted average of the
// materials' recycled shares (rounded to hundredths of a percent); ok is
// false when neither is known.
func (p Passport) RecycledContent() (pct Hundredths, declared, ok bool) {
	if p.RecycledContentPct != nil {
		return *p.RecycledContentPct, true, true
	}
	if len(p.Materials) == 0 {
		return 0, false, false
	}
	var sum int64
	for _, m := range p.Materials {
		sum += int64(m.SharePct) * int64(m.RecycledPct)
	}
	return Hundredths((sum + 50_00) / 100_00), false, true
}

// ValidCertificates returns the certificates valid on the UTC date of at.
func (p Passport) ValidCertificates(at time.Time) []PassportCertificate {
	var out []PassportCertificate
	for _, c := range p.Certifications {
		if c.StatusAt(at) == CertificateValid {
			out = append(out, c)
		}
	}
	return out
}

// ValidCountry reports whether s is an ISO 3166-1 alpha-2 country code in
// upper case ("PT"; not "EU" or "ZZ"), as the CLDR region data of
// golang.org/x/text knows them (which also accepts the exceptionally
// reserved "UK" and the user-assigned "XK" for Kosovo).
func ValidCountry(s string) bool {
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return false
	}
	r, err := language.ParseRegion(s)
	return err == nil && r.IsCountry() && r.String() == s
}

// ValidCASNumber reports whether s is a CAS registry number: 2–7 digits, a
// hyphen, 2 digits, a hyphen and a check digit equal to the sum of the
// other digits, each multiplied by its position counted from the right,
// modulo 10.
func ValidCASNumber(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 2 || len(parts[0]) > 7 || len(parts[1]) != 2 || len(parts[2]) != 1 {
		return false
	}
	digits := parts[0] + parts[1]
	sum := 0
	for i := 0; i < len(digits); i++ {
		c := digits[len(digits)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		sum += (i + 1) * int(c-'0')
	}
	c := parts[2][0]
	return c >= '0' && c <= '9' && int(c-'0') == sum%10
}

// validWebURL reports whether s is an absolute http(s) URL with a host.
func validWebURL(s string) bool {
	if len(s) > 2_000 || !ValidText(s, SingleLine) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// PassportVersion is one immutable publication of a product's passport:
// its number (1, 2, ... per product), when and by whom (a staff user; empty
// for the System principal) it was published.
type PassportVersion struct {
	ProductID   ID
	Number      int
	PublishedAt time.Time
	PublishedBy ID
	Passport    Passport
}

// Clone returns a deep copy.
func (v PassportVersion) Clone() PassportVersion {
	v.Passport = v.Passport.Clone()
	return v
}

// Validate checks the version as stores require it: a product UUID, a
// number of at least 1, a publication time, a UUID or empty publisher, and
// a valid passport. Errors: a *ValidationError.
func (v PassportVersion) Validate() error {
	var val Validator
	val.Check(isUUID(string(v.ProductID)), "product_id", "must be a UUID")
	val.Check(v.Number >= 1, "version", "must be at least 1")
	val.Check(!v.PublishedAt.IsZero(), "published_at", "must be set")
	val.Check(v.PublishedBy == "" || isUUID(string(v.PublishedBy)), "published_by", "must be a UUID or empty (the system)")
	val.Merge("", v.Passport.Validate())
	return val.Err()
}

// PassportVersionInfo describes a version without its passport.
type PassportVersionInfo struct {
	Number      int
	PublishedAt time.Time
	PublishedBy ID
}

// Info returns the version's description.
func (v PassportVersion) Info() PassportVersionInfo {
	return PassportVersionInfo{Number: v.Number, PublishedAt: v.PublishedAt, PublishedBy: v.PublishedBy}
}
