package ecolaura

import "fmt"

// ID identifies an entity. IDs are UUIDv7 strings in canonical form, so they
// sort by creation time.
type ID string

// String implements fmt.Stringer.
func (id ID) String() string { return string(id) }

// ParseID validates s as a canonical lower-case UUID (8-4-4-4-12 hex digits).
// It returns a *ValidationError on field "id" otherwise.
func ParseID(s string) (ID, error) {
	if !isUUID(s) {
		return "", Invalid("id", "must be a UUID")
	}
	return ID(s), nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleCustomer Role = "customer"
	RoleStaff    Role = "staff"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleCustomer || r == RoleStaff }

// Principal is the actor of a use case. The zero value is an anonymous caller.
// Every service call takes one, so authorization is decided in the services
// and an embedding program gets the same rules as the HTTP API.
type Principal struct {
	UserID ID
	Role   Role
	// SessionID is the refresh-token family of the sign-in an access token
	// was issued for (empty when unknown, and for the System principal): a
	// password change keeps that session and ends the others.
	SessionID ID
}

// Anonymous is the principal of an unauthenticated caller.
var Anonymous = Principal{}

// System returns the principal of trusted internal work (background jobs,
// seeding): staff rights and no user. It is a function, not a variable, so
// no package can change what it grants.
func System() Principal { return Principal{Role: RoleStaff} }

// Authenticated reports whether p stands for a signed-in user or the system.
func (p Principal) Authenticated() bool { return p.Role.Valid() }

// IsStaff reports whether p has staff rights.
func (p Principal) IsStaff() bool { return p.Role == RoleStaff }

// RequireAuthenticated returns [ErrUnauthenticated] for an anonymous principal.
func (p Principal) RequireAuthenticated() error {
	if !p.Authenticated() {
		return ErrUnauthenticated
	}
	return nil
}

// RequireStaff returns [ErrUnauthenticated] for an anonymous principal and
// [ErrForbidden] for a non-staff one.
func (p Principal) RequireStaff() error {
	if err := p.RequireAuthenticated(); err != nil {
		return err
	}
	if !p.IsStaff() {
		return fmt.Errorf("staff role required: %w", ErrForbidden)
	}
	return nil
}
