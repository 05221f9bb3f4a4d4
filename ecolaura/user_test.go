package ecolaura_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "lower-cased and trimmed", in: "  Ada@Example.ORG ", want: "ada@example.org"},
		{name: "plus address", in: "ada+shop@example.org", want: "ada+shop@example.org"},
		{name: "blank", in: "  ", wantErr: true},
		{name: "no at", in: "ada.example.org", wantErr: true},
		{name: "display name", in: "Ada <ada@example.org>", wantErr: true},
		{name: "no dot in domain", in: "ada@localhost", wantErr: true},
		{name: "too long", in: strings.Repeat("a", 250) + "@example.org", wantErr: true},
		{name: "header injection", in: "ada@example.org\r\nBcc: x@y.z", wantErr: true},
		// The QA report's look-alikes (RFC 8265 UsernameCaseMapped).
		{name: "zero width space", in: "ada\u200b@example.org", wantErr: true},
		{name: "fullwidth letter", in: "\uff41da@example.org", want: "ada@example.org"},
		{name: "fullwidth domain and at sign", in: "ada\uff20\uff45xample.org", want: "ada@example.org"},
		{name: "zero width joiner", in: "a\u200dda@example.org", wantErr: true},
		{name: "soft hyphen", in: "a\u00adda@example.org", wantErr: true},
		{name: "bidi override", in: "\u202eada@example.org", wantErr: true},
		{name: "zero width space in the domain", in: "ada@exa\u200bmple.org", wantErr: true},
		{name: "ligature", in: "\ufb01@example.org", wantErr: true},
		{name: "mathematical bold letter", in: "\U0001d41ada@example.org", wantErr: true},
		{name: "decomposed accent is composed", in: "jose\u0301@example.org", want: "jos\u00e9@example.org"},
		{name: "other scripts are letters", in: "\u0410\u0434\u0430@example.org", want: "\u0430\u0434\u0430@example.org"},
		{name: "empty domain label", in: "ada@example..org", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ecolaura.NormalizeEmail(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, ecolaura.ErrInvalid)
				assert.Equal(t, []string{"email"}, fieldsOf(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		email    string
		wantErr  bool
	}{
		{name: "ok", password: "correct horse battery", email: "ada@example.org"},
		{name: "exactly 10 bytes", password: "0123456789"},
		{name: "9 bytes", password: "012345678", wantErr: true},
		{name: "256 bytes", password: strings.Repeat("x", 256)},
		{name: "257 bytes", password: strings.Repeat("x", 257), wantErr: true},
		{name: "equal to email", password: "ADA@example.org", email: "ada@example.org", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ecolaura.ValidatePassword(tt.password, tt.email)
			if tt.wantErr {
				assert.Equal(t, []string{"password"}, fieldsOf(t, err))
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestValidateUserName(t *testing.T) {
	assert.NoError(t, ecolaura.ValidateUserName("Ada"))
	assert.ErrorIs(t, ecolaura.ValidateUserName("  "), ecolaura.ErrInvalid)
	assert.ErrorIs(t, ecolaura.ValidateUserName(strings.Repeat("a", 151)), ecolaura.ErrInvalid)
}

func TestPrincipal(t *testing.T) {
	assert.ErrorIs(t, ecolaura.Anonymous.RequireAuthenticated(), ecolaura.ErrUnauthenticated)
	assert.ErrorIs(t, ecolaura.Anonymous.RequireStaff(), ecolaura.ErrUnauthenticated)
	customer := ecolaura.Principal{UserID: "u", Role: ecolaura.RoleCustomer}
	assert.NoError(t, customer.RequireAuthenticated())
	assert.ErrorIs(t, customer.RequireStaff(), ecolaura.ErrForbidden)
	assert.NoError(t, ecolaura.Principal{UserID: "s", Role: ecolaura.RoleStaff}.RequireStaff())
	assert.True(t, ecolaura.System().IsStaff())
}

func TestParseID(t *testing.T) {
	_, err := ecolaura.ParseID("0190a6d2-0000-7000-8000-000000000001")
	assert.NoError(t, err)
	for _, bad := range []string{"", "1", "0190A6D2-0000-7000-8000-000000000001", "0190a6d2x0000-7000-8000-000000000001", "0190a6d2-0000-7000-8000-00000000000g"} {
		_, err := ecolaura.ParseID(bad)
		assert.ErrorIs(t, err, ecolaura.ErrInvalid, bad)
	}
}
