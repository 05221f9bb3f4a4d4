package ecolaura_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		places int
		want   int64
		reason ecolaura.DecimalReason // 0: no error
	}{
		{"cents", "19.99", 2, 1999, 0},
		{"grams", "4.0005", 4, 40005, 0},
		{"whole", "7", 3, 7000, 0},
		{"trailing zeros are not precision", "1.2500000", 3, 1250, 0},
		{"negative", "-0.5", 1, -5, 0},
		{"zero", "-0.000", 2, 0, 0},
		{"max int64", "9223372036854775.807", 3, math.MaxInt64, 0},
		{"excess precision is refused, not rounded down", "4.0005", 3, 0, ecolaura.DecimalPrecision},
		{"excess precision is refused, not rounded up", "8.0005", 3, 0, ecolaura.DecimalPrecision},
		{"one digit too many", "0.001", 2, 0, ecolaura.DecimalPrecision},
		{"whole units only", "12.5", 0, 0, ecolaura.DecimalPrecision},
		{"above int64", "9223372036854775.808", 3, 0, ecolaura.DecimalRange},
		{"too long", "1" + string(make([]byte, 70)), 0, 0, ecolaura.DecimalRange},
		{"exponent", "1e3", 2, 0, ecolaura.DecimalSyntax},
		{"plus", "+1", 2, 0, ecolaura.DecimalSyntax},
		{"comma", "1,5", 2, 0, ecolaura.DecimalSyntax},
		{"bare dot", ".5", 2, 0, ecolaura.DecimalSyntax},
		{"trailing dot", "5.", 2, 0, ecolaura.DecimalSyntax},
		{"surrounding white space is ignored", " 5", 2, 500, 0},
		{"trailing space", "5 ", 2, 500, 0},
		{"tab", "\t1", 2, 100, 0},
		{"newline", "\n1.5", 2, 150, 0},
		{"no-break space", "1\u00a0", 2, 100, 0},
		{"inner space", "1 0", 2, 0, ecolaura.DecimalSyntax},
		{"space after the sign", "- 1", 2, 0, ecolaura.DecimalSyntax},
		{"only white space", " \t", 2, 0, ecolaura.DecimalSyntax},
		{"NaN", "NaN", 2, 0, ecolaura.DecimalSyntax},
		{"empty", "", 2, 0, ecolaura.DecimalSyntax},
		{"NUL", "1\x00", 2, 0, ecolaura.DecimalSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ecolaura.ParseDecimal(tt.in, tt.places)
			if tt.reason == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			var de *ecolaura.DecimalError
			require.True(t, errors.As(err, &de), "want a *DecimalError, got %v", err)
			assert.Equal(t, tt.reason, de.Reason)
			assert.Equal(t, tt.places, de.Places)
		})
	}
}

// TestOneDecimalRule is the QA report's item 5: white space around a
// decimal was trimmed in JSON bodies but refused by ParsePrice and in query
// parameters. One parser, one rule: every entry point answers alike.
func TestOneDecimalRule(t *testing.T) {
	for _, in := range []string{" 1", "1 ", "\t1", "1\u00a0"} {
		m, err := ecolaura.ParsePrice(in, ecolaura.DefaultCurrency)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, int64(100), m.Amount)
		g, err := ecolaura.ParseFootprintKg(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, ecolaura.CO2e(1000), g)
	}
	_, err := ecolaura.ParsePrice("12.001", ecolaura.DefaultCurrency)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at most 2 decimal places")
}

// The example: 4.0005 kg was stored as 4.000 kg and 8.0005 kg as
// 8.001 kg (float64 parsing). Both are now refused the same way.
func TestParseFootprintKg(t *testing.T) {
	tests := []struct {
		in   string
		want ecolaura.CO2e
		msg  string
	}{
		{"1.25", 1250, ""},
		{"0", 0, ""},
		{"0.001", 1, ""},
		{"1000000", ecolaura.MaxFootprint, ""},
		{"8.0010", 8001, ""},
		{"4.0005", 0, "must have at most 3 decimal places (whole grams)"},
		{"8.0005", 0, "must have at most 3 decimal places (whole grams)"},
		{"0.0001", 0, "must have at most 3 decimal places (whole grams)"},
		{"-0.5", 0, "must not be negative"},
		{"1000000.001", 0, "must not exceed 1000000 kg"},
		{"99999999999999999999", 0, "must not exceed 1000000 kg"},
		{"1e3", 0, "must be a decimal number of kilograms like 1.25"},
		{"NaN", 0, "must be a decimal number of kilograms like 1.25"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ecolaura.ParseFootprintKg(tt.in)
			if tt.msg == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, []ecolaura.FieldError{{Field: "carbon_footprint", Message: tt.msg}}, ve.Fields)
		})
	}
}

func TestCurrencies(t *testing.T) {
	cs := ecolaura.Currencies()
	assert.Len(t, cs, 14)
	assert.IsIncreasing(t, cs)
	for _, c := range cs {
		assert.True(t, c.Valid(), c)
	}
}
