package ecolaura_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func validAddress() ecolaura.Address {
	return ecolaura.Address{Name: "Ada Lovelace", Line1: "Unter den Linden 1", PostalCode: "10117", City: "Berlin", Country: "DE", Phone: "+49301234567"}
}

func TestAddressValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(a *ecolaura.Address)
		fields []string
	}{
		{name: "valid", edit: func(*ecolaura.Address) {}},
		{name: "valid without phone, postal code, region", edit: func(a *ecolaura.Address) { a.Phone, a.PostalCode, a.Region = "", "", "" }},
		{name: "limits reached", edit: func(a *ecolaura.Address) {
			a.Name, a.Company = strings.Repeat("é", 150), strings.Repeat("c", 150)
			a.Line1, a.Line2 = strings.Repeat("l", 200), strings.Repeat("m", 200)
			a.PostalCode, a.City, a.Region = strings.Repeat("9", 20), strings.Repeat("k", 100), strings.Repeat("r", 100)
		}},
		{name: "limits passed", edit: func(a *ecolaura.Address) {
			a.Name, a.Company = strings.Repeat("é", 151), strings.Repeat("c", 151)
			a.Line1, a.Line2 = strings.Repeat("l", 201), strings.Repeat("m", 201)
			a.PostalCode, a.City, a.Region = strings.Repeat("9", 21), strings.Repeat("k", 101), strings.Repeat("r", 101)
		}, fields: []string{"city", "company", "line1", "line2", "name", "postal_code", "region"}},
		{name: "required fields blank", edit: func(a *ecolaura.Address) { a.Name, a.Line1, a.City, a.Country = "", "", "", "" },
			fields: []string{"city", "country", "line1", "name"}},
		{name: "control characters", edit: func(a *ecolaura.Address) { a.Name, a.Line2 = "Ada\x00", "Hof\nlinks" },
			fields: []string{"line2", "name"}},
		{name: "untrimmed", edit: func(a *ecolaura.Address) { a.City = " Berlin" }, fields: []string{"city"}},
		{name: "unknown country", edit: func(a *ecolaura.Address) { a.Country = "UK" }, fields: []string{"country"}},
		{name: "lower-case country", edit: func(a *ecolaura.Address) { a.Country = "de" }, fields: []string{"country"}},
		{name: "phone not E.164", edit: func(a *ecolaura.Address) { a.Phone = "030 1234567" }, fields: []string{"phone"}},
		{name: "phone too long", edit: func(a *ecolaura.Address) { a.Phone = "+4930123456789012" }, fields: []string{"phone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAddress()
			tc.edit(&a)
			err := a.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, err, &ve)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			assert.Equal(t, tc.fields, got)
		})
	}
}

func TestAddressNormalized(t *testing.T) {
	a := ecolaura.Address{Name: "  Ada ", Line1: "\tMain St 1 ", City: " Paris", Country: " fr ", Phone: " +33123456789 "}.Normalized()
	assert.Equal(t, ecolaura.Address{Name: "Ada", Line1: "Main St 1", City: "Paris", Country: "FR", Phone: "+33123456789"}, a)
	require.NoError(t, a.Validate())
}

// TestCountries holds the list to the real one: 249 officially assigned
// codes, each a country for CLDR (golang.org/x/text), and the codes that
// look like countries but are not (reserved, user-assigned, groupings)
// refused.
func TestCountries(t *testing.T) {
	cs := ecolaura.Countries()
	require.Len(t, cs, 249)
	assert.IsIncreasing(t, cs)
	for _, c := range cs {
		r, err := language.ParseRegion(c)
		require.NoError(t, err, c)
		assert.True(t, r.IsCountry(), "%s is a country for CLDR", c)
		assert.Equal(t, c, r.String(), "%s is canonical", c)
		assert.True(t, ecolaura.ValidCountryCode(c))
	}
	for _, c := range []string{"UK", "EU", "XK", "ZZ", "AA", "QO", "UN", "de", "D", "DEU", ""} {
		assert.False(t, ecolaura.ValidCountryCode(c), c)
	}
}

func TestValidE164(t *testing.T) {
	for s, want := range map[string]bool{
		"+49301234567": true, "+12": true, "+123456789012345": true,
		"+1234567890123456": false, "+0301234": false, "49301234567": false, "+49 30 1234567": false, "+": false, "": false,
	} {
		assert.Equal(t, want, ecolaura.ValidE164(s), s)
	}
}
