package ecolaura_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func pct(v int) *int { return &v }

func TestComputeScore(t *testing.T) {
	tests := []struct {
		name     string
		category string
		m        ecolaura.SustainabilityMetrics
		want     int
		points   map[string]int
	}{
		{
			// The worked example of docs/sustainability.md.
			name: "worked example: stainless bottle", category: "kitchen",
			m: ecolaura.SustainabilityMetrics{
				CarbonFootprint: 2_400, Recyclable: true, Biodegradable: false,
				RecycledContent: pct(60), Certifications: []ecolaura.Certification{ecolaura.CertBCorp},
			},
			want:   57,
			points: map[string]int{"footprint": 28, "recyclable": 15, "biodegradable": 0, "recycled_content": 9, "certifications": 5},
		},
		{
			name: "perfect", category: "cleaning",
			m: ecolaura.SustainabilityMetrics{
				CarbonFootprint: 0, Recyclable: true, Biodegradable: true, RecycledContent: pct(100),
				Certifications: []ecolaura.Certification{ecolaura.CertFSC, ecolaura.CertGOTS, ecolaura.CertBCorp, ecolaura.CertFairtrade},
			},
			want:   100,
			points: map[string]int{"footprint": 40, "recyclable": 15, "biodegradable": 15, "recycled_content": 15, "certifications": 15},
		},
		{
			name: "worst", category: "electronics",
			m:      ecolaura.SustainabilityMetrics{CarbonFootprint: 80_000},
			want:   0,
			points: map[string]int{"footprint": 0, "recyclable": 0, "biodegradable": 0, "recycled_content": 0, "certifications": 0},
		},
		{
			name: "at reference gets half the footprint points", category: "unknown-category",
			m:      ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.DefaultReferenceFootprint},
			want:   20,
			points: map[string]int{"footprint": 20},
		},
		{
			name: "beyond twice the reference gets none", category: "kitchen",
			m:      ecolaura.SustainabilityMetrics{CarbonFootprint: 1_000_000, Recyclable: true},
			want:   15,
			points: map[string]int{"footprint": 0, "recyclable": 15},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ecolaura.ComputeScore(tt.category, tt.m)
			assert.Equal(t, tt.want, s.Value)
			assert.True(t, s.Computed)
			assert.Equal(t, ecolaura.ScoreFormulaVersion, s.FormulaVersion)
			sum, maxSum := 0, 0
			got := map[string]int{}
			for _, c := range s.Components {
				sum += c.Points
				maxSum += c.MaxPoints
				got[c.Name] = c.Points
				assert.NotEmpty(t, c.Reason, c.Name)
				assert.LessOrEqual(t, c.Points, c.MaxPoints, c.Name)
			}
			assert.Equal(t, s.Value, sum, "components add up to the score")
			assert.Equal(t, 100, maxSum, "weights add up to 100")
			for name, want := range tt.points {
				assert.Equal(t, want, got[name], name)
			}
		})
	}
}

func TestScoreMonotonicInFootprint(t *testing.T) {
	prev := 101
	for g := ecolaura.CO2e(0); g <= 20_000; g += 250 {
		v := ecolaura.ComputeScore("kitchen", ecolaura.SustainabilityMetrics{CarbonFootprint: g}).Value
		assert.LessOrEqual(t, v, prev, "a larger footprint never scores higher (at %d g)", g)
		prev = v
	}
}

func TestGivenScore(t *testing.T) {
	s := ecolaura.GivenScore(95)
	assert.Equal(t, 95, s.Value)
	assert.False(t, s.Computed)
	assert.Empty(t, s.Components)
}
