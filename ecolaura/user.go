package ecolaura

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/width"
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
	// EmailVerifiedAt is when the owner proved they receive mail at Email
	// (by presenting a token mailed there); nil until then, and again after
	// the email changes to an address that was not verified.
	EmailVerifiedAt *time.Time
	// DisabledAt is when staff disabled the account; nil for an active one.
	// A disabled account cannot sign in or refresh, and its access tokens
	// are refused (see the users service).
	DisabledAt *time.Time
	// PasswordChangedAt is when the password was last set (at creation,
	// by a change or by a reset). A password-reset token requested before
	// it is void.
	PasswordChangedAt time.Time
}

// Principal returns the principal acting as u (with no session).
func (u User) Principal() Principal { return Principal{UserID: u.ID, Role: u.Role} }

// Active reports whether the account may act: it is not disabled.
func (u User) Active() bool { return u.DisabledAt == nil }

// EmailVerified reports whether the current email address was verified.
func (u User) EmailVerified() bool { return u.EmailVerifiedAt != nil }

// Clone returns a deep copy.
func (u User) Clone() User {
	u.EmailVerifiedAt = clonePtr(u.EmailVerifiedAt)
	u.DisabledAt = clonePtr(u.DisabledAt)
	return u
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// NormalizeEmail returns the one form under which an address is stored and
// looked up, or a *ValidationError on field "email". Every place that takes
// an email (registration, sign-in, the staff bootstrap, the sign-in limits,
// and any change or reset to come) uses it, so that two texts a person
// cannot tell apart are one account or are refused:
//
//   - surrounding white space is trimmed; the address is a plain addr-spec
//     ("name@example.org": no display name, a dot in the domain) of at most
//     254 bytes without control characters;
//   - the local part and each label of the domain are enforced and
//     normalised with the PRECIS UsernameCaseMapped profile (RFC 8265):
//     fullwidth and halfwidth characters are mapped to their ordinary forms
//     ("ａda" is "ada"), letters are lower-cased and the text put in
//     Unicode NFC; invisible format characters (U+200B ZERO WIDTH SPACE,
//     U+00AD SOFT HYPHEN, bidirectional controls), spaces, symbols and
//     compatibility characters (U+FB01 "ﬁ", mathematical letters such as
//     "𝐚") are refused. Letters of other scripts are allowed (PRECIS does
//     not judge confusable scripts, such as a Cyrillic "а").
func NormalizeEmail(s string) (string, error) {
	invalid := func() (string, error) { return "", Invalid("email", "must be a valid email address") }
	e := strings.TrimSpace(s)
	if e == "" {
		return "", Invalid("email", "must not be blank")
	}
	if len(e) > MaxEmailLength {
		return "", Invalid("email", "must be at most %d characters", MaxEmailLength)
	}
	if !ValidText(e, SingleLine) { // before any mapping, which turns invalid UTF-8 into U+FFFD
		return invalid()
	}
	e = width.Fold.String(e) // "＠" is "@" before the address is split
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return invalid()
	}
	local, err := precis.UsernameCaseMapped.String(e[:at])
	if err != nil {
		return invalid()
	}
	labels := strings.Split(e[at+1:], ".")
	for i, l := range labels {
		if labels[i], err = precis.UsernameCaseMapped.String(l); err != nil {
			return invalid()
		}
	}
	e = local + "@" + strings.Join(labels, ".")
	if len(e) > MaxEmailLength {
		return "", Invalid("email", "must be at most %d characters", MaxEmailLength)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || len(labels) < 2 {
		return invalid()
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
	t.UsedAt = clonePtr(t.UsedAt)
	t.RevokedAt = clonePtr(t.RevokedAt)
	return t
}

// TokenPurpose is what a one-time account token is for.
type TokenPurpose string

// The purposes of account tokens.
const (
	// PurposePasswordReset lets whoever receives the mail set a new password.
	PurposePasswordReset TokenPurpose = "password_reset"
	// PurposeVerifyEmail proves the owner receives mail at the account's address.
	PurposeVerifyEmail TokenPurpose = "verify_email"
	// PurposeEmailChange moves the account to a new address, proving the
	// owner receives mail there.
	PurposeEmailChange TokenPurpose = "email_change"
)

// Valid reports whether p is a known purpose.
func (p TokenPurpose) Valid() bool {
	return p == PurposePasswordReset || p == PurposeVerifyEmail || p == PurposeEmailChange
}

// AccountTokenTTL is how long a mailed account token can be used:
// 30 minutes from the request, as OWASP's Forgot Password Cheat Sheet advises.
const AccountTokenTTL = 30 * time.Minute

// AccountToken is the stored form of a one-time token mailed to a user
// (password reset, email verification, email change): only the hash of
// the token is kept. It can be used once, before ExpiresAt, unless it was
// revoked (by a newer request of the same purpose, or a password change).
type AccountToken struct {
	ID     ID
	UserID ID
	// Purpose says what the token allows.
	Purpose TokenPurpose
	// Hash is the hex SHA-256 of the token.
	Hash string
	// Email is the address the token was mailed to: the account's address
	// for a reset or a verification, the new address for an email change.
	Email string
	// CreatedAt is when the token was requested; ExpiresAt when it stops
	// working (CreatedAt + AccountTokenTTL).
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is set when the token was used.
	UsedAt *time.Time
	// RevokedAt is set when a newer request or a password change voided it.
	RevokedAt *time.Time
}

// Clone returns a deep copy.
func (t AccountToken) Clone() AccountToken {
	t.UsedAt = clonePtr(t.UsedAt)
	t.RevokedAt = clonePtr(t.RevokedAt)
	return t
}

// Live reports whether the token can still be used at now: neither used,
// revoked nor expired.
func (t AccountToken) Live(now time.Time) bool {
	return t.UsedAt == nil && t.RevokedAt == nil && now.Before(t.ExpiresAt)
}
