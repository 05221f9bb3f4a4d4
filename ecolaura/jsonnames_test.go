package ecolaura_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// TestDomainTypesCarryNoJSONNames: transports render the domain through
// their own types (DTOs), so the domain's JSON names would be dead and would
// invite rendering a domain value directly. Only the types some encoder does
// marshal keep theirs: FieldError and ScoreComponent (embedded in /api/v2
// documents) and the category aggregates (stored as JSON by the product
// cache). A secret is never marshalled, even by mistake.
func TestDomainTypesCarryNoJSONNames(t *testing.T) {
	for _, v := range []any{
		ecolaura.Product{}, ecolaura.Money{}, ecolaura.SustainabilityMetrics{}, ecolaura.Score{},
		ecolaura.Order{}, ecolaura.OrderLine{}, ecolaura.CarbonOffset{},
		ecolaura.User{}, ecolaura.RefreshToken{}, ecolaura.Principal{},
		ecolaura.ProductFilter{}, ecolaura.ProductPosition{},
	} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("json")
			if typ == reflect.TypeFor[ecolaura.User]() && f.Name == "PasswordHash" {
				assert.Equal(t, "-", tag, "the password hash never marshals")
				continue
			}
			assert.False(t, ok, "%s.%s has a JSON name (%q): render it through a transport type", typ.Name(), f.Name, tag)
		}
	}
}
