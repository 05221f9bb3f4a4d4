package ecolaura_test

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// TestTaxOfRealCases is the documented table: 3 × 19.99 (a line of
// 59.97) at the German standard (19 %) and reduced (7 %) rates and at 0 %,
// in both modes, plus the ties that show the half-even rounding.
func TestTaxOfRealCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		amount int64
		rate   string
		mode   ecolaura.TaxMode
		want   int64
	}{
		// exclusive: tax = round_half_even(net × r)
		{"3 × 19.99 net at 19 %: 11.3943 → 11.39", 5997, "19", ecolaura.TaxExclusive, 1139},
		{"3 × 19.99 net at 7 %: 4.1979 → 4.20", 5997, "7", ecolaura.TaxExclusive, 420},
		{"3 × 19.99 net at 0 %", 5997, "0", ecolaura.TaxExclusive, 0},
		// inclusive: tax = round_half_even(gross × r / (1 + r))
		{"3 × 19.99 gross at 19 %: 9.57504… → 9.58", 5997, "19", ecolaura.TaxInclusive, 958},
		{"3 × 19.99 gross at 7 %: 3.92327… → 3.92", 5997, "7", ecolaura.TaxInclusive, 392},
		{"3 × 19.99 gross at 0 %", 5997, "0", ecolaura.TaxInclusive, 0},
		// ties go to the even cent
		{"0.50 net at 19 %: 0.095 → 0.10 (tie, up to even)", 50, "19", ecolaura.TaxExclusive, 10},
		{"1.50 net at 19 %: 0.285 → 0.28 (tie, down to even)", 150, "19", ecolaura.TaxExclusive, 28},
		{"0.05 net at 10 %: 0.005 → 0.00 (tie, down to even)", 5, "10", ecolaura.TaxExclusive, 0},
		{"0.15 net at 10 %: 0.015 → 0.02 (tie, up to even)", 15, "10", ecolaura.TaxExclusive, 2},
		{"1.19 gross at 19 %: exactly 0.19", 119, "19", ecolaura.TaxInclusive, 19},
		{"0.105 × 10 ... 1.05 gross at 5 %: exactly 0.05", 105, "5", ecolaura.TaxInclusive, 5},
		{"9.99 net at 5.5 % (France reduced): 0.54945 → 0.55", 999, "5.5", ecolaura.TaxExclusive, 55},
		{"100.00 net at 8.875 % (New York City): 8.875 → 8.88 (tie, up to even)", 10000, "8.875", ecolaura.TaxExclusive, 888},
		{"huge amounts do not overflow", 9_999_999_999 * 1_000_000, "19", ecolaura.TaxExclusive, 1_899_999_999_810_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate, err := ecolaura.ParsePercent(tc.rate, "rate")
			require.NoError(t, err)
			assert.Equal(t, tc.want, ecolaura.TaxOf(tc.amount, rate, tc.mode))
		})
	}
}

func TestRoundHalfEven(t *testing.T) {
	for _, tc := range []struct{ num, den, want int64 }{
		{5, 10, 0}, {15, 10, 2}, {25, 10, 2}, {35, 10, 4}, {14, 10, 1}, {16, 10, 2}, {0, 7, 0}, {7, 7, 1},
	} {
		assert.Equal(t, tc.want, ecolaura.RoundHalfEven(big.NewInt(tc.num), big.NewInt(tc.den)).Int64(), "%d/%d", tc.num, tc.den)
	}
}

func TestParseAndFormatPercent(t *testing.T) {
	for s, want := range map[string]int64{"19": 190_000, "5.5": 55_000, "8.875": 88_750, "0": 0, "100": 1_000_000, "0.0001": 1, " 7 ": 70_000} {
		got, err := ecolaura.ParsePercent(s, "rate")
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"100.0001", "-1", "19.00001", "abc", "", "1e2"} {
		_, err := ecolaura.ParsePercent(s, "rate")
		require.ErrorIs(t, err, ecolaura.ErrInvalid, s)
	}
	for rate, want := range map[int64]string{190_000: "19", 55_000: "5.5", 88_750: "8.875", 0: "0", 1: "0.0001", 1_000_000: "100"} {
		assert.Equal(t, want, ecolaura.FormatPercent(rate))
	}
}

func TestTaxRateValidate(t *testing.T) {
	ok := ecolaura.TaxRate{Country: "DE", Class: ecolaura.TaxStandard, Rate: 190_000}
	require.NoError(t, ok.Validate())
	for name, r := range map[string]ecolaura.TaxRate{
		"unknown country":     {Country: "UK", Class: ecolaura.TaxStandard, Rate: 1},
		"unknown class":       {Country: "DE", Class: "luxury", Rate: 1},
		"above 100 %":         {Country: "DE", Class: ecolaura.TaxStandard, Rate: 1_000_001},
		"negative":            {Country: "DE", Class: ecolaura.TaxReduced, Rate: -1},
		"zero class not zero": {Country: "DE", Class: ecolaura.TaxZero, Rate: 10},
	} {
		require.ErrorIs(t, r.Validate(), ecolaura.ErrInvalid, name)
	}
}

func TestTaxTable(t *testing.T) {
	tt := ecolaura.NewTaxTable([]ecolaura.TaxRate{
		{Country: "DE", Class: ecolaura.TaxStandard, Rate: 190_000}, {Country: "DE", Class: ecolaura.TaxReduced, Rate: 70_000},
	})
	r, ok := tt.Rate("DE", ecolaura.TaxReduced)
	assert.True(t, ok)
	assert.EqualValues(t, 70_000, r)
	r, ok = tt.Rate("DE", ecolaura.TaxZero)
	assert.True(t, ok, "the zero class is known everywhere")
	assert.Zero(t, r)
	_, ok = tt.Rate("FR", ecolaura.TaxStandard)
	assert.False(t, ok, "no rate: untaxed")
}
