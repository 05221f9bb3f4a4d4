package ecolaura

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of user fields and passwords.
const (
	MaxEmailLength    = 254
	MaxUserNameLength = 150
	MinPasswordBytes  = 10
	MaxPasswordBytes  = 256
)

// User is an account of the shop. Transports render it through their own
// types; it carries no JSON names, and its secret never marshals.
type User struct {
	ID ID
	// Email is normalised (trimmed, lower-case) and unique.
	Email string
	Name  string
	// PasswordHash is a PHC string such as "$argon2id$v=19$m=19456,t=2,p=1$…".
	PasswordHash string `json:"-"`
	Role         Role
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version increases with every stored change.
	Version int64
}

// Principal returns the principal acting as u.
func (u User) Principal() Principal { return Principal{UserID: u.ID, Role: u.Role} }

// NormalizeEmail trims and lower-cases an address and checks that it is a
// plain addr-spec ("name@example.org", no display name) of at most 254
// bytes without control characters. It returns a *ValidationError on field
// "email".
func NormalizeEmail(s string) (string, error) {
	e := strings.TrimSpace(s)
	if e == "" {
		return "", Invalid("email", "must not be blank")
	}
	if len(e) > MaxEmailLength {
		return "", Invalid("email", "must be at most %d characters", MaxEmailLength)
	}
	if !ValidText(e, SingleLine) { // before lower-casing, which turns invalid UTF-8 into U+FFFD
		return "", Invalid("email", "must be a valid email address")
	}
	e = strings.ToLower(e)
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", Invalid("email", "must be a valid email address")
	}
	return e, nil
}

// ValidateUserName checks a display name: 1–150 characters after trimming,
// following the single-line text rules (see [TextKind]).
func ValidateUserName(name string) error {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	var v Validator
	v.Text("name", name, SingleLine)
	v.Check(n >= 1, "name", "must not be blank")
	v.Check(n <= MaxUserNameLength, "name", "must be at most %d characters", MaxUserNameLength)
	return v.Err()
}

// ValidatePassword applies the password policy: 10–256 bytes and not equal to
// the (normalised) email address.
func ValidatePassword(password, email string) error {
	var v Validator
	v.Check(len(password) >= MinPasswordBytes, "password", "must be at least %d characters", MinPasswordBytes)
	v.Check(len(password) <= MaxPasswordBytes, "password", "must be at most %d bytes", MaxPasswordBytes)
	if email != "" {
		v.Check(!strings.EqualFold(strings.TrimSpace(password), email), "password", "must not be the email address")
	}
	return v.Err()
}

// RefreshToken is the stored form of an opaque refresh token: only its hash is
// kept. Tokens issued by rotation share a FamilyID with the one they replace.
type RefreshToken struct {
	ID       ID
	FamilyID ID
	UserID   ID
	// Hash is the hex SHA-256 of the opaque token.
	Hash      string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// UsedAt is set when the token was exchanged for a new one.
	UsedAt *time.Time
	// RevokedAt is set when the token (or its family, or all of the user's
	// tokens) was revoked.
	RevokedAt *time.Time
}

// Clone returns a deep copy.
func (t RefreshToken) Clone() RefreshToken {
	if t.UsedAt != nil {
		v := *t.UsedAt
		t.UsedAt = &v
	}
	if t.RevokedAt != nil {
		v := *t.RevokedAt
		t.RevokedAt = &v
	}
	return t
}
