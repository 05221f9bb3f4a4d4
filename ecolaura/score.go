package ecolaura

import (
	"math"
	"strconv"
)

// ScoreFormulaVersion identifies the formula in [ComputeScore]. It changes
// whenever the weights or references change, so stored scores can be traced
// to the rules that produced them. See docs/sustainability.md.
const ScoreFormulaVersion = "2026.1"

// The weights of the score components; they add up to 100.
const (
	FootprintMaxPoints       = 40
	RecyclableMaxPoints      = 15
	BiodegradableMaxPoints   = 15
	RecycledContentMaxPoints = 15
	CertificationPoints      = 5
	CertificationsMaxPoints  = 15
)

// DefaultReferenceFootprint is used for categories without their own reference.
const DefaultReferenceFootprint CO2e = 5_000

// referenceFootprints is the typical per-unit footprint of a product in each
// category. A product at the reference gets half the footprint points, one at
// zero gets all of them, one at twice the reference or more gets none.
var referenceFootprints = map[string]CO2e{
	"kitchen":       4_000,
	"personal-care": 1_500,
	"home":          6_000,
	"clothing":      10_000,
	"outdoor":       8_000,
	"cleaning":      1_200,
	"electronics":   40_000,
	"baby":          3_000,
	"office":        2_000,
	"garden":        5_000,
	"food":          2_500,
	"pets":          3_000,
}

// ReferenceFootprint returns the category's reference footprint used by the score.
func ReferenceFootprint(category string) CO2e {
	if r, ok := referenceFootprints[category]; ok {
		return r
	}
	return DefaultReferenceFootprint
}

// ScoreComponent is one explained part of a [Score]. (Its JSON names are
// part of the /api/v2 contract, which embeds it in the score breakdown.)
type ScoreComponent struct {
	// Name is a stable identifier: "footprint", "recyclable", "biodegradable",
	// "recycled_content" or "certifications".
	Name      string `json:"name"`
	Points    int    `json:"points"`
	MaxPoints int    `json:"max_points"`
	// Reason says in words why the points were given.
	Reason string `json:"reason"`
}

// Score is a 0–100 sustainability score with its breakdown. For a computed
// score the points of the components add up to Value.
type Score struct {
	Value          int
	Computed       bool
	FormulaVersion string
	Components     []ScoreComponent
}

// ComputeScore applies the documented formula (version [ScoreFormulaVersion])
// to metrics of a product in category. It never fails: metrics must have been
// validated first; out-of-range values are clamped.
func ComputeScore(category string, m SustainabilityMetrics) Score {
	ref := ReferenceFootprint(category)
	ratio := float64(m.CarbonFootprint) / float64(ref)
	fp := int(math.Round(FootprintMaxPoints * clamp01(1-ratio/2)))
	comps := []ScoreComponent{{
		Name: "footprint", Points: fp, MaxPoints: FootprintMaxPoints,
		Reason: footprintReason(m.CarbonFootprint, ref),
	}}
	comps = append(comps, boolComponent("recyclable", m.Recyclable, RecyclableMaxPoints, "recyclable at end of life", "not recyclable"))
	comps = append(comps, boolComponent("biodegradable", m.Biodegradable, BiodegradableMaxPoints, "biodegradable", "not biodegradable"))
	rc := ScoreComponent{Name: "recycled_content", MaxPoints: RecycledContentMaxPoints, Reason: "recycled content unknown"}
	if m.RecycledContent != nil {
		share := min(max(*m.RecycledContent, 0), 100)
		rc.Points = int(math.Round(float64(RecycledContentMaxPoints) * float64(share) / 100))
		rc.Reason = strconv.Itoa(share) + "% recycled content"
	}
	comps = append(comps, rc)
	n := len(m.Certifications)
	cp := min(n*CertificationPoints, CertificationsMaxPoints)
	reason := "no certifications"
	if n > 0 {
		reason = strconv.Itoa(n) + " recognised certification(s)"
	}
	comps = append(comps, ScoreComponent{Name: "certifications", Points: cp, MaxPoints: CertificationsMaxPoints, Reason: reason})
	total := 0
	for _, c := range comps {
		total += c.Points
	}
	return Score{Value: min(total, 100), Computed: true, FormulaVersion: ScoreFormulaVersion, Components: comps}
}

// GivenScore is the score of a product without metrics: the value it was
// given, with no breakdown.
func GivenScore(v int) Score { return Score{Value: v} }

func boolComponent(name string, ok bool, maxPoints int, yes, no string) ScoreComponent {
	c := ScoreComponent{Name: name, MaxPoints: maxPoints, Reason: no}
	if ok {
		c.Points, c.Reason = maxPoints, yes
	}
	return c
}

func footprintReason(fp, ref CO2e) string {
	pct := int(math.Round(100 * float64(fp) / float64(ref)))
	return fp.String() + " per unit, " + strconv.Itoa(pct) + "% of the category reference " + ref.String()
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }
