package ecolaura

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// CO2e is a mass of carbon-dioxide equivalent in whole grams. Footprints are
// kept as integers so order totals add up exactly; the API shows kilograms.
type CO2e int64

// MaxFootprint bounds a per-unit footprint: 1,000,000 kg CO2e.
const MaxFootprint CO2e = 1_000_000_000

// FootprintPlaces is the number of decimal places of a footprint given in
// kilograms: whole grams.
const FootprintPlaces = 3

// ParseFootprintKg parses a decimal number of kilograms CO2e ("1.25") exactly
// into grams, with [ParseDecimal]'s rules: more than three decimal places
// (finer than a gram) are refused, never rounded, so "4.0005" and "8.0005"
// are both errors rather than 4.000 and 8.001 kg. It returns a
// *ValidationError on field "carbon_footprint" for a malformed, too precise,
// negative or too large (above [MaxFootprint]) value.
func ParseFootprintKg(s string) (CO2e, error) {
	g, err := ParseDecimal(s, FootprintPlaces)
	if err != nil {
		var msg string
		switch err.(*DecimalError).Reason {
		case DecimalPrecision:
			msg = "must have at most 3 decimal places (whole grams)"
		case DecimalRange:
			msg = fmt.Sprintf("must not exceed %d kg", MaxFootprint/1000)
		default:
			msg = "must be a decimal number of kilograms like 1.25"
		}
		return 0, Invalid("carbon_footprint", "%s", msg)
	}
	if g < 0 {
		return 0, Invalid("carbon_footprint", "must not be negative")
	}
	if CO2e(g) > MaxFootprint {
		return 0, Invalid("carbon_footprint", "must not exceed %d kg", MaxFootprint/1000)
	}
	return CO2e(g), nil
}

// FootprintFromKg converts kilograms held in a float64 to grams, rounding to
// the nearest gram. A float64 cannot hold most decimal fractions exactly
// (8.0005 is 8.000499999…), so the rounding of a value given in text depends
// on its binary neighbour: parse decimal text with [ParseFootprintKg]
// instead. It returns a *ValidationError on field "carbon_footprint" for
// NaN, infinite, negative or too large values.
func FootprintFromKg(kg float64) (CO2e, error) {
	if math.IsNaN(kg) || math.IsInf(kg, 0) {
		return 0, Invalid("carbon_footprint", "must be a finite number")
	}
	if kg < 0 {
		return 0, Invalid("carbon_footprint", "must not be negative")
	}
	if kg > float64(MaxFootprint)/1000 {
		return 0, Invalid("carbon_footprint", "must not exceed %d kg", MaxFootprint/1000)
	}
	return CO2e(math.Round(kg * 1000)), nil
}

// Kg returns the mass in kilograms.
func (c CO2e) Kg() float64 { return float64(c) / 1000 }

// String formats as "1.234 kg CO2e".
func (c CO2e) String() string { return strconv.FormatFloat(c.Kg(), 'f', -1, 64) + " kg CO2e" }

// Certification is a recognised eco label.
type Certification string

// The recognised certifications.
const (
	CertFSC                Certification = "fsc"
	CertFairtrade          Certification = "fairtrade"
	CertEUEcolabel         Certification = "eu-ecolabel"
	CertGOTS               Certification = "gots"
	CertCradleToCradle     Certification = "cradle-to-cradle"
	CertBCorp              Certification = "b-corp"
	CertEnergyStar         Certification = "energy-star"
	CertRainforestAlliance Certification = "rainforest-alliance"
)

// Certifications lists every recognised certification.
func Certifications() []Certification {
	return []Certification{CertFSC, CertFairtrade, CertEUEcolabel, CertGOTS, CertCradleToCradle, CertBCorp, CertEnergyStar, CertRainforestAlliance}
}

// Valid reports whether c is recognised.
func (c Certification) Valid() bool { return slices.Contains(Certifications(), c) }

// SustainabilityMetrics are the measured facts about one product, from which
// its [Score] is computed.
type SustainabilityMetrics struct {
	// CarbonFootprint per unit, cradle to gate.
	CarbonFootprint CO2e
	Recyclable      bool
	Biodegradable   bool
	// RecycledContent is the recycled share of the material in percent
	// (0–100); nil when unknown.
	RecycledContent *int
	// Certifications held, without duplicates, in canonical order.
	Certifications []Certification
}

// Clone returns a deep copy.
func (m SustainabilityMetrics) Clone() SustainabilityMetrics {
	if m.RecycledContent != nil {
		v := *m.RecycledContent
		m.RecycledContent = &v
	}
	m.Certifications = slices.Clone(m.Certifications)
	return m
}

// Normalize sorts and de-duplicates the certifications. It leaves them as
// they are when one is unknown, so that Validate's errors
// ("certifications[2]") point at the list as it was given.
func (m *SustainabilityMetrics) Normalize() {
	if len(m.Certifications) == 0 {
		m.Certifications = nil
		return
	}
	for _, c := range m.Certifications {
		if !c.Valid() {
			return
		}
	}
	slices.Sort(m.Certifications)
	m.Certifications = slices.Compact(m.Certifications)
}

// Validate checks every field and returns a *ValidationError listing all
// problems.
func (m SustainabilityMetrics) Validate() error {
	var v Validator
	v.Check(m.CarbonFootprint >= 0, "carbon_footprint", "must not be negative")
	v.Check(m.CarbonFootprint <= MaxFootprint, "carbon_footprint", "must not exceed %d kg", MaxFootprint/1000)
	if m.RecycledContent != nil {
		v.Check(*m.RecycledContent >= 0 && *m.RecycledContent <= 100, "recycled_content", "must be between 0 and 100")
	}
	for i, c := range m.Certifications {
		v.Check(c.Valid(), "certifications["+strconv.Itoa(i)+"]", "unknown certification %q", string(c))
	}
	return v.Err()
}
