package ecolaura_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestParseGTIN(t *testing.T) {
	tests := []struct {
		name, in string
		want     ecolaura.GTIN
		wantErr  string
	}{
		{name: "GTIN-13 is padded", in: "4006381333931", want: "04006381333931"},
		{name: "GTIN-14 kept", in: "04006381333931", want: "04006381333931"},
		{name: "GTIN-12 (UPC-A)", in: "036000291452", want: "00036000291452"},
		{name: "GTIN-8", in: "96385074", want: "00000096385074"},
		{name: "GS1 example GTIN-14", in: "09506000134352", want: "09506000134352"},
		{name: "wrong check digit", in: "4006381333932", wantErr: "wrong check digit"},
		{name: "letters", in: "40063813339a1", wantErr: "only digits"},
		{name: "bad length", in: "123456789", wantErr: "8, 12, 13 or 14 digits"},
		{name: "empty", in: "", wantErr: "8, 12, 13 or 14 digits"},
		{name: "white space around", in: " 4006381333931\n", want: "04006381333931"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ecolaura.ParseGTIN(tc.in)
			if tc.wantErr != "" {
				var ve *ecolaura.ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "gtin", ve.Fields[0].Field)
				assert.Contains(t, ve.Fields[0].Message, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, g)
		})
	}
}

func validPassport() ecolaura.Passport {
	life, rc := 8, ecolaura.Hundredths(35_00)
	conc := ecolaura.Hundredths(5)
	return ecolaura.Passport{
		Manufacturer:    ecolaura.Manufacturer{Name: "Tecelagem Verde, Lda.", Address: "Rua 1\n4800 Guimarães", Contact: "info@example.pt"},
		CountryOfOrigin: "PT",
		Materials: []ecolaura.Material{
			{Material: "organic cotton", SharePct: 70_00, RecycledPct: 0, RenewablePct: 100_00},
			{Material: "recycled polyester", SharePct: 29_50, RecycledPct: 100_00},
			{Material: "elastane", SharePct: 50},
		},
		RecycledContentPct:    &rc,
		ExpectedLifetimeYears: &life,
		Repairability:         &ecolaura.Repairability{Score: 7_40, SparePartsYears: 5},
		SubstancesOfConcern:   []ecolaura.Substance{{Name: "Antimony trioxide", CASNumber: "1309-64-4", ConcentrationPct: &conc}},
		Certifications: []ecolaura.PassportCertificate{
			{Scheme: "GOTS", Issuer: "Control Union", Number: "CU-123", ValidFrom: "2025-01-01", ValidUntil: "2027-12-31", VerificationURL: "https://example.org/verify/CU-123"},
		},
		CarbonFootprint:  &ecolaura.PassportFootprint{KgCO2e: 4_250, Method: "ISO 14067", Boundary: ecolaura.BoundaryCradleToGate},
		CareInstructions: "Wash at 30 °C.",
		EndOfLife:        "Textile collection point.",
	}
}

func TestPassportValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p *ecolaura.Passport)
		fields []string
	}{
		{name: "valid", edit: func(*ecolaura.Passport) {}},
		{name: "minimal", edit: func(p *ecolaura.Passport) { *p = ecolaura.Passport{Manufacturer: ecolaura.Manufacturer{Name: "Acme"}} }},
		{name: "shares must add up to 100", edit: func(p *ecolaura.Passport) { p.Materials[2].SharePct = 49 }, fields: []string{"materials"}},
		{name: "zero share", edit: func(p *ecolaura.Passport) { p.Materials[2].SharePct = 0; p.Materials[1].SharePct = 30_00 }, fields: []string{"materials[2].share_pct"}},
		{name: "recycled above 100", edit: func(p *ecolaura.Passport) { p.Materials[0].RecycledPct = 100_01 }, fields: []string{"materials[0].recycled_pct"}},
		{name: "manufacturer required", edit: func(p *ecolaura.Passport) { p.Manufacturer.Name = "" }, fields: []string{"manufacturer.name"}},
		{name: "country", edit: func(p *ecolaura.Passport) { p.CountryOfOrigin = "EU" }, fields: []string{"country_of_origin"}},
		{name: "lifetime", edit: func(p *ecolaura.Passport) { z := 0; p.ExpectedLifetimeYears = &z }, fields: []string{"expected_lifetime_years"}},
		{name: "repairability", edit: func(p *ecolaura.Passport) {
			p.Repairability = &ecolaura.Repairability{Score: 10_01, SparePartsYears: -1}
		},
			fields: []string{"repairability.score", "repairability.spare_parts_years"}},
		{name: "CAS check digit", edit: func(p *ecolaura.Passport) { p.SubstancesOfConcern[0].CASNumber = "1309-64-5" }, fields: []string{"substances_of_concern[0].cas_number"}},
		{name: "certificate dates and URL", edit: func(p *ecolaura.Passport) {
			c := &p.Certifications[0]
			c.ValidFrom, c.ValidUntil, c.VerificationURL = "2025-02-30", "2024-01-01", "ftp://x"
		}, fields: []string{"certifications[0].valid_from", "certifications[0].verification_url"}},
		{name: "until before from", edit: func(p *ecolaura.Passport) { p.Certifications[0].ValidUntil = "2024-12-31" }, fields: []string{"certifications[0].valid_until"}},
		{name: "footprint boundary and method", edit: func(p *ecolaura.Passport) { p.CarbonFootprint.Boundary, p.CarbonFootprint.Method = "moon", "" },
			fields: []string{"carbon_footprint.boundary", "carbon_footprint.method"}},
		{name: "control characters", edit: func(p *ecolaura.Passport) { p.EndOfLife = "a\x00b" }, fields: []string{"end_of_life"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPassport()
			tc.edit(&p)
			p.Normalize()
			err := p.Validate()
			if len(tc.fields) == 0 {
				require.NoError(t, err)
				return
			}
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			require.True(t, errors.Is(err, ecolaura.ErrInvalid))
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			assert.ElementsMatch(t, tc.fields, got)
		})
	}
}

func TestPassportJSONRoundTrip(t *testing.T) {
	p := validPassport()
	p.Normalize()
	b, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"share_pct":29.5`)
	assert.Contains(t, string(b), `"kg_co2e":4.25`)
	assert.Contains(t, string(b), `"score":7.4`)
	var back ecolaura.Passport
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, p, back)

	var h ecolaura.Hundredths
	require.Error(t, json.Unmarshal([]byte("12.345"), &h), "more than two places is refused, not rounded")
}

func TestPassportDerivedFigures(t *testing.T) {
	p := validPassport()
	pct, declared, ok := p.RecycledContent()
	assert.True(t, ok && declared)
	assert.Equal(t, ecolaura.Hundredths(35_00), pct)
	p.RecycledContentPct = nil
	pct, declared, ok = p.RecycledContent()
	assert.True(t, ok)
	assert.False(t, declared)
	assert.Equal(t, ecolaura.Hundredths(29_50), pct, "share-weighted: 29.5 % of the mass is fully recycled")

	c := p.Certifications[0]
	day := func(s string) time.Time { tm, _ := time.Parse(time.DateOnly, s); return tm.Add(23 * time.Hour) }
	assert.Equal(t, ecolaura.CertificateNotYetValid, c.StatusAt(day("2024-12-31")))
	assert.Equal(t, ecolaura.CertificateValid, c.StatusAt(day("2027-12-31")), "the last day is still valid")
	assert.Equal(t, ecolaura.CertificateExpired, c.StatusAt(day("2028-01-01")))
	assert.Len(t, p.ValidCertificates(day("2028-01-01")), 0)
	scheme, ok := ecolaura.PassportCertificate{Scheme: "EU Ecolabel"}.RecognisedScheme()
	assert.True(t, ok)
	assert.Equal(t, ecolaura.CertEUEcolabel, scheme)
}
