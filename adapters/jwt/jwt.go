// Package jwt issues and verifies Ecolaura's access tokens: JWTs signed with
// EdDSA (Ed25519) by default, built on github.com/lestrrat-go/jwx/v2.
//
// An access token (RFC 9068 profile) carries the claims iss, aud, sub, iat,
// nbf, exp, jti, role and, for a signed-in session, sid, and the protected headers alg, kid and
// typ "at+jwt", so that no other kind of JWT (an ID token, a token of
// another service) can pass as an access token.
//
// The [Verifier] pins everything it does not have to trust: the algorithm
// comes from the key found by kid in the [KeySet], never from the token, so
// "alg": "none" and HMAC-signed-with-the-public-key confusion fail; unknown
// key IDs, any other typ, unknown protected headers (crit, jku, jwk, x5u,
// b64, ...), a wrong issuer or audience, and expired or not-yet-valid tokens
// (beyond a small configurable leeway) are rejected; input longer than
// [Config.MaxTokenBytes] is rejected before it is parsed. Every failure
// matches ecolaura.ErrUnauthenticated.
//
// Keys are loaded from PEM (PKCS#8) or JWK files ([LoadSigningKeyFile]);
// a [KeySet] holds one signing key and further verification keys for
// rotation, and exports its public keys as a JWKS document ([KeySet.JWKS]).
package jwt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// TokenType is the "typ" header of access tokens (RFC 9068).
const TokenType = "at+jwt"

// RoleClaim is the private claim that carries the principal's role.
const RoleClaim = "role"

// SessionClaim is the claim that carries the principal's session (the
// refresh-token family of the sign-in), "sid" as in OpenID Connect; absent
// when the principal has none.
const SessionClaim = "sid"

// Bounds of the configuration.
const (
	MinAccessTTL     = time.Minute
	MaxAccessTTL     = 24 * time.Hour
	MaxLeeway        = 5 * time.Minute
	MinMaxTokenBytes = 512
	MaxMaxTokenBytes = 64 << 10
)

// Config configures an [Issuer] and a [Verifier]. Start from
// [DefaultConfig] and set Issuer and Audience for the deployment.
type Config struct {
	// Issuer is the "iss" claim written and required (e.g. the public
	// base URL of the shop).
	Issuer string
	// Audience is the "aud" value written and required.
	Audience string
	// AccessTTL is the lifetime of an access token (default 15 minutes).
	AccessTTL time.Duration
	// Leeway is the clock skew tolerated on exp, nbf and iat (default 30 s).
	Leeway time.Duration
	// MaxTokenBytes is the longest token Verify looks at (default 4 KiB).
	MaxTokenBytes int
}

// DefaultConfig returns issuer "ecolaura", audience "ecolaura-api", 15-minute
// access tokens, 30 s leeway and a 4 KiB token limit.
func DefaultConfig() Config {
	return Config{
		Issuer:        "ecolaura",
		Audience:      "ecolaura-api",
		AccessTTL:     15 * time.Minute,
		Leeway:        30 * time.Second,
		MaxTokenBytes: 4096,
	}
}

// Validate checks the configuration. It returns an *ecolaura.ConfigError
// naming each bad field.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(strings.TrimSpace(c.Issuer) != "" && len(c.Issuer) <= 512, "issuer", "must be 1–512 characters")
	v.Check(strings.TrimSpace(c.Audience) != "" && len(c.Audience) <= 512, "audience", "must be 1–512 characters")
	v.Check(c.AccessTTL >= MinAccessTTL && c.AccessTTL <= MaxAccessTTL, "access_ttl", "must be between %s and %s", MinAccessTTL, MaxAccessTTL)
	v.Check(c.Leeway >= 0 && c.Leeway <= MaxLeeway, "leeway", "must be between 0 and %s", MaxLeeway)
	v.Check(c.MaxTokenBytes >= MinMaxTokenBytes && c.MaxTokenBytes <= MaxMaxTokenBytes, "max_token_bytes", "must be between %d and %d", MinMaxTokenBytes, MaxMaxTokenBytes)
	return v.ConfigErr()
}

// Option configures an [Issuer] or a [Verifier].
type Option func(*options)

type options struct {
	now func() time.Time
	bad ecolaura.Validator // options given a typed nil
}

// WithClock sets the clock that stamps and checks tokens (default: the
// wall clock, time.Now). Give the shop's clock so that tokens follow it.
// nil keeps the default; a typed nil (a nil *ManualClock) is refused by
// the constructor with an *ecolaura.ConfigError.
func WithClock(c ports.Clock) Option {
	return func(o *options) {
		switch {
		case c == nil:
		case ecolaura.IsNil(c):
			o.bad.Required("clock", c)
		default:
			o.now = c.Now
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Issuer signs access tokens with the signing key of a [KeySet].
type Issuer struct {
	cfg  Config
	keys *KeySet
	now  func() time.Time
}

var _ ports.TokenIssuer = (*Issuer)(nil)

// NewIssuer returns an Issuer. Errors: an invalid cfg (*ecolaura.ConfigError)
// or a nil key set.
func NewIssuer(cfg Config, keys *KeySet, opts ...Option) (*Issuer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jwt issuer config: %w", err)
	}
	if keys == nil {
		return nil, errors.New("jwt issuer: nil key set")
	}
	o := buildOptions(opts)
	if err := o.bad.ConfigErr(); err != nil {
		return nil, fmt.Errorf("jwt issuer: %w", err)
	}
	return &Issuer{cfg: cfg, keys: keys, now: o.now}, nil
}

// Issue signs an access token for p, valid from now for the configured
// lifetime (times are whole seconds, as JWT numeric dates are). Errors: a
// *ecolaura.ValidationError on field "principal" when p has no user ID or an
// unknown role; a wrapped error when signing fails.
func (is *Issuer) Issue(ctx context.Context, p ecolaura.Principal) (ports.AccessToken, error) {
	if p.UserID == "" || !p.Role.Valid() {
		return ports.AccessToken{}, ecolaura.Invalid("principal", "must be a user with a known role")
	}
	now := is.now().Truncate(time.Second)
	exp := now.Add(is.cfg.AccessTTL)
	jti, err := newJTI()
	if err != nil {
		return ports.AccessToken{}, err
	}
	b := jwxjwt.NewBuilder().
		Issuer(is.cfg.Issuer).
		Audience([]string{is.cfg.Audience}).
		Subject(string(p.UserID)).
		IssuedAt(now).
		NotBefore(now).
		Expiration(exp).
		JwtID(jti).
		Claim(RoleClaim, string(p.Role))
	if p.SessionID != "" {
		if _, err := ecolaura.ParseID(string(p.SessionID)); err != nil {
			return ports.AccessToken{}, ecolaura.Invalid("principal", "session must be an ID")
		}
		b = b.Claim(SessionClaim, string(p.SessionID))
	}
	tok, err := b.Build()
	if err != nil {
		return ports.AccessToken{}, fmt.Errorf("jwt: build token: %w", err)
	}
	k := is.keys.signing
	hdrs := jws.NewHeaders()
	if err := hdrs.Set(jws.KeyIDKey, k.id); err != nil {
		return ports.AccessToken{}, fmt.Errorf("jwt: header: %w", err)
	}
	if err := hdrs.Set(jws.TypeKey, TokenType); err != nil {
		return ports.AccessToken{}, fmt.Errorf("jwt: header: %w", err)
	}
	signed, err := jwxjwt.Sign(tok, jwxjwt.WithKey(k.alg, k.private, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return ports.AccessToken{}, fmt.Errorf("jwt: sign: %w", err)
	}
	return ports.AccessToken{Token: string(signed), ExpiresAt: exp}, nil
}

func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("jwt: token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Verifier checks access tokens against the verification keys of a [KeySet].
// It is the token verifier of the HTTP adapter (httpapi.TokenVerifier) and
// of the SDK's shop (shop.TokenVerifier).
type Verifier struct {
	cfg   Config
	keys  *KeySet
	clock jwxjwt.Clock
}

// NewVerifier returns a Verifier. Errors: an invalid cfg
// (*ecolaura.ConfigError) or a nil key set.
func NewVerifier(cfg Config, keys *KeySet, opts ...Option) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jwt verifier config: %w", err)
	}
	if keys == nil {
		return nil, errors.New("jwt verifier: nil key set")
	}
	o := buildOptions(opts)
	if err := o.bad.ConfigErr(); err != nil {
		return nil, fmt.Errorf("jwt verifier: %w", err)
	}
	return &Verifier{cfg: cfg, keys: keys, clock: jwxjwt.ClockFunc(o.now)}, nil
}

// JWKS returns the public keys tokens are verified with, as a JSON Web Key
// Set (see [KeySet.JWKS]).
func (v *Verifier) JWKS() ([]byte, error) { return v.keys.JWKS() }

func unauthenticated(reason string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: access token %s: %v", ecolaura.ErrUnauthenticated, reason, err)
	}
	return fmt.Errorf("%w: access token %s", ecolaura.ErrUnauthenticated, reason)
}

// header is the only protected header an access token may have.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

var allowedHeaders = map[string]bool{"alg": true, "kid": true, "typ": true}

// Verify checks token and returns its principal. Every failure — too long,
// not a compact JWS, unknown header, alg other than the key's, unknown kid,
// typ other than at+jwt, bad signature, wrong iss or aud, expired, not yet
// valid, missing claims, a subject that is not an ID, an unknown role, a
// sid that is not an ID — returns an error matching
// ecolaura.ErrUnauthenticated.
func (v *Verifier) Verify(ctx context.Context, token string) (ecolaura.Principal, error) {
	p, _, err := v.verify(ctx, token)
	return p, err
}

// validity is the time window a verified token is valid in: from nbf to
// exp, without the leeway.
type validity struct{ notBefore, expires time.Time }

// verify is Verify, also returning the token's validity window.
func (v *Verifier) verify(ctx context.Context, token string) (ecolaura.Principal, validity, error) {
	p, tok, err := v.parse(ctx, token)
	if err != nil {
		return p, validity{}, err
	}
	return p, validity{notBefore: tok.NotBefore(), expires: tok.Expiration()}, nil
}

func (v *Verifier) parse(ctx context.Context, token string) (ecolaura.Principal, jwxjwt.Token, error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return ecolaura.Principal{}, nil, unauthenticated("too long", nil)
	}
	first := strings.IndexByte(token, '.')
	if first < 0 || strings.Count(token, ".") != 2 {
		return ecolaura.Principal{}, nil, unauthenticated("is not a compact JWS", nil)
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c == '.' || c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return ecolaura.Principal{}, nil, unauthenticated("has a character outside base64url", nil)
		}
	}
	key, err := v.checkHeader(token[:first])
	if err != nil {
		return ecolaura.Principal{}, nil, err
	}
	tok, err := jwxjwt.Parse([]byte(token),
		jwxjwt.WithKey(key.alg, key.public),
		jwxjwt.WithValidate(true),
		jwxjwt.WithContext(ctx),
		jwxjwt.WithClock(v.clock),
		jwxjwt.WithAcceptableSkew(v.cfg.Leeway),
		jwxjwt.WithIssuer(v.cfg.Issuer),
		jwxjwt.WithAudience(v.cfg.Audience),
		jwxjwt.WithRequiredClaim(jwxjwt.SubjectKey),
		jwxjwt.WithRequiredClaim(jwxjwt.JwtIDKey),
		jwxjwt.WithRequiredClaim(jwxjwt.IssuedAtKey),
		jwxjwt.WithRequiredClaim(jwxjwt.NotBeforeKey),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithRequiredClaim(RoleClaim),
		jwxjwt.WithMaxDelta(v.cfg.AccessTTL, jwxjwt.ExpirationKey, jwxjwt.IssuedAtKey),
	)
	if err != nil {
		return ecolaura.Principal{}, nil, unauthenticated("rejected", err)
	}
	id, err := ecolaura.ParseID(tok.Subject())
	if err != nil {
		return ecolaura.Principal{}, nil, unauthenticated("subject is not a user ID", nil)
	}
	raw, _ := tok.Get(RoleClaim)
	roleName, _ := raw.(string)
	role := ecolaura.Role(roleName)
	if !role.Valid() {
		return ecolaura.Principal{}, nil, unauthenticated("role is unknown", nil)
	}
	p := ecolaura.Principal{UserID: id, Role: role}
	if raw, ok := tok.Get(SessionClaim); ok {
		sid, _ := raw.(string)
		if _, err := ecolaura.ParseID(sid); err != nil {
			return ecolaura.Principal{}, nil, unauthenticated("sid is not a session ID", nil)
		}
		p.SessionID = ecolaura.ID(sid)
	}
	return p, tok, nil
}

// checkHeader decodes the protected header strictly and returns the key it
// names, with the algorithm pinned to that key's.
func (v *Verifier) checkHeader(segment string) (VerificationKey, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return VerificationKey{}, unauthenticated("header is not base64url", nil)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return VerificationKey{}, unauthenticated("header is not a JSON object", nil)
	}
	for name := range fields {
		if !allowedHeaders[name] {
			return VerificationKey{}, unauthenticated(fmt.Sprintf("header %q is not allowed", name), nil)
		}
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return VerificationKey{}, unauthenticated("header fields are not strings", nil)
	}
	if !strings.EqualFold(h.Typ, TokenType) && !strings.EqualFold(h.Typ, "application/"+TokenType) {
		return VerificationKey{}, unauthenticated(fmt.Sprintf("typ %q is not %q", h.Typ, TokenType), nil)
	}
	key, ok := v.keys.lookup(h.Kid)
	if !ok {
		return VerificationKey{}, unauthenticated("kid is unknown", nil)
	}
	if h.Alg != key.alg.String() {
		return VerificationKey{}, unauthenticated(fmt.Sprintf("alg %q is not the key's %q", h.Alg, key.alg), nil)
	}
	return key, nil
}

// contains reports whether t is within the window: nbf ≤ t < exp.
func (w validity) contains(t time.Time) bool {
	return !t.Before(w.notBefore) && t.Before(w.expires)
}
