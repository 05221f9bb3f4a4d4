package ecolaura_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		cur     ecolaura.Currency
		want    int64
		wantErr bool
	}{
		{name: "cents", in: "19.99", cur: "EUR", want: 1999},
		{name: "whole", in: "5", cur: "EUR", want: 500},
		{name: "one decimal", in: "5.5", cur: "EUR", want: 550},
		{name: "trailing zeros beyond exponent", in: "19.990", cur: "EUR", want: 1999},
		{name: "leading zeros", in: "007.05", cur: "EUR", want: 705},
		{name: "zero", in: "0.00", cur: "EUR", want: 0},
		{name: "negative", in: "-0.05", cur: "EUR", want: -5},
		{name: "yen whole", in: "1200", cur: "JPY", want: 1200},
		{name: "yen with zero decimals", in: "1200.0", cur: "JPY", want: 1200},
		{name: "max int64 minor", in: "92233720368547758.07", cur: "EUR", want: math.MaxInt64},
		{name: "too many decimals", in: "19.999", cur: "EUR", wantErr: true},
		{name: "yen fraction", in: "12.5", cur: "JPY", wantErr: true},
		{name: "empty", in: "", cur: "EUR", wantErr: true},
		{name: "NaN", in: "NaN", cur: "EUR", wantErr: true},
		{name: "Inf", in: "Inf", cur: "EUR", wantErr: true},
		{name: "exponent", in: "1e3", cur: "EUR", wantErr: true},
		{name: "plus sign", in: "+1.00", cur: "EUR", wantErr: true},
		{name: "grouping comma", in: "1,000.00", cur: "EUR", wantErr: true},
		{name: "decimal comma", in: "19,99", cur: "EUR", wantErr: true},
		{name: "surrounding space is ignored", in: " 19.99", cur: "EUR", want: 1999},
		{name: "inner space", in: "19 .99", cur: "EUR", wantErr: true},
		{name: "bare dot", in: ".5", cur: "EUR", wantErr: true},
		{name: "trailing dot", in: "5.", cur: "EUR", wantErr: true},
		{name: "two dots", in: "1.2.3", cur: "EUR", wantErr: true},
		{name: "overflow", in: "92233720368547758.08", cur: "EUR", wantErr: true},
		{name: "huge", in: "99999999999999999999999999", cur: "EUR", wantErr: true},
		{name: "unknown currency", in: "1.00", cur: "XXX", wantErr: true},
		{name: "double minus", in: "--1", cur: "EUR", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ecolaura.ParseMoney(tt.in, tt.cur)
			if tt.wantErr {
				require.Error(t, err)
				assert.ErrorIs(t, err, ecolaura.ErrInvalid)
				var ve *ecolaura.ValidationError
				require.ErrorAs(t, err, &ve)
				assert.NotEmpty(t, ve.Fields)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.Amount)
			assert.Equal(t, tt.cur, m.Currency)
		})
	}
}

func TestParsePriceBounds(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "zero", in: "0"},
		{name: "max", in: "99999999.99"},
		{name: "above max", in: "100000000.00", wantErr: true},
		{name: "negative", in: "-0.01", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ecolaura.ParsePrice(tt.in, ecolaura.DefaultCurrency)
			if tt.wantErr {
				assert.ErrorIs(t, err, ecolaura.ErrInvalid)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestMoneyDecimal(t *testing.T) {
	tests := []struct {
		name string
		m    ecolaura.Money
		want string
	}{
		{name: "cents", m: ecolaura.NewMoney(1999, "EUR"), want: "19.99"},
		{name: "below one", m: ecolaura.NewMoney(5, "EUR"), want: "0.05"},
		{name: "zero", m: ecolaura.NewMoney(0, "EUR"), want: "0.00"},
		{name: "negative", m: ecolaura.NewMoney(-5, "EUR"), want: "-0.05"},
		{name: "yen", m: ecolaura.NewMoney(1200, "JPY"), want: "1200"},
		{name: "min int64", m: ecolaura.NewMoney(math.MinInt64, "EUR"), want: "-92233720368547758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.m.Decimal())
		})
	}
	assert.Equal(t, "19.99 EUR", ecolaura.NewMoney(1999, "EUR").String())
}

func TestMoneyArithmetic(t *testing.T) {
	a := ecolaura.NewMoney(1999, "EUR")
	sum, err := a.Add(ecolaura.NewMoney(1, "EUR"))
	require.NoError(t, err)
	assert.Equal(t, int64(2000), sum.Amount)

	_, err = a.Add(ecolaura.NewMoney(1, "USD"))
	assert.ErrorIs(t, err, ecolaura.ErrInvalid, "currencies must match")

	_, err = ecolaura.NewMoney(math.MaxInt64, "EUR").Add(ecolaura.NewMoney(1, "EUR"))
	assert.ErrorIs(t, err, ecolaura.ErrInvalid, "overflow")

	p, err := a.Mul(3)
	require.NoError(t, err)
	assert.Equal(t, int64(5997), p.Amount)

	_, err = ecolaura.NewMoney(math.MaxInt64/2+1, "EUR").Mul(2)
	assert.ErrorIs(t, err, ecolaura.ErrInvalid, "overflow")
}

func TestParseCurrency(t *testing.T) {
	c, err := ecolaura.ParseCurrency(" eur ")
	require.NoError(t, err)
	assert.Equal(t, ecolaura.Currency("EUR"), c)
	_, err = ecolaura.ParseCurrency("euro")
	assert.True(t, errors.Is(err, ecolaura.ErrInvalid))
}

// FuzzParseMoney checks that parsing never panics and that every accepted
// string formats back to a value that parses to the same amount.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"19.99", "0", "-0.05", "99999999.99", "1e3", "NaN", "19.999", "0007.10", ".5", "92233720368547758.07", "92233720368547758.08", "-", "1.", "١٢"} {
		f.Add(s, "EUR")
	}
	f.Add("1200", "JPY")
	f.Fuzz(func(t *testing.T, s, cur string) {
		m, err := ecolaura.ParseMoney(s, ecolaura.Currency(cur))
		if err != nil {
			if !errors.Is(err, ecolaura.ErrInvalid) {
				t.Fatalf("ParseMoney(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		out := m.Decimal()
		back, err := ecolaura.ParseMoney(out, m.Currency)
		if err != nil {
			t.Fatalf("round trip of %q via %q failed: %v", s, out, err)
		}
		if back != m {
			t.Fatalf("round trip of %q: got %v, want %v", s, back, m)
		}
	})
}
