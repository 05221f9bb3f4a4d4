package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

const userID = ecolaura.ID("0190f5d2-7b1a-7c3e-8a4b-0123456789ab")

// fixedClock is a settable clock for deterministic expiry tests.
type fixedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fixedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fixedClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

var _ ports.Clock = (*fixedClock)(nil)

// fixture holds an issuer and verifier over one Ed25519 key, plus the raw
// key material so tests can craft tokens by hand.
type fixture struct {
	priv     ed25519.PrivateKey
	pub      ed25519.PublicKey
	kid      string
	keys     *jwt.KeySet
	cfg      jwt.Config
	clock    *fixedClock
	issuer   *jwt.Issuer
	verifier *jwt.Verifier
	cached   *jwt.CachedVerifier // over verifier
}

// tokenVerifier is what the API and the shop call.
type tokenVerifier interface {
	Verify(ctx context.Context, token string) (ecolaura.Principal, error)
}

// verifiers names the fixture's two verifiers, for tests that must hold
// for both.
func (f *fixture) verifiers() []struct {
	name string
	v    tokenVerifier
} {
	return []struct {
		name string
		v    tokenVerifier
	}{{"verifier", f.verifier}, {"cached", f.cached}}
}

var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sk, err := jwt.NewSigningKey(priv, "k1")
	require.NoError(t, err)
	keys, err := jwt.NewKeySet(sk)
	require.NoError(t, err)
	f := &fixture{priv: priv, pub: pub, kid: "k1", keys: keys, cfg: jwt.DefaultConfig(), clock: &fixedClock{now: epoch}}
	f.issuer, err = jwt.NewIssuer(f.cfg, keys, jwt.WithClock(f.clock))
	require.NoError(t, err)
	f.verifier, err = jwt.NewVerifier(f.cfg, keys, jwt.WithClock(f.clock))
	require.NoError(t, err)
	f.cached, err = jwt.NewCachedVerifier(f.verifier, 100)
	require.NoError(t, err)
	return f
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// craft builds a compact JWS from a header and claims, signed by sign
// (which gets the signing input), without going through the library.
func craft(t testing.TB, header, claims any, sign func(input []byte) []byte) string {
	t.Helper()
	input := b64(mustJSON(t, header)) + "." + b64(mustJSON(t, claims))
	return input + "." + b64(sign([]byte(input)))
}

func (f *fixture) edSign(input []byte) []byte { return ed25519.Sign(f.priv, input) }

func (f *fixture) header() map[string]any {
	return map[string]any{"alg": "EdDSA", "kid": f.kid, "typ": "at+jwt"}
}

func (f *fixture) claims() map[string]any {
	now := f.clock.Now().Unix()
	return map[string]any{
		"iss": f.cfg.Issuer, "aud": f.cfg.Audience, "sub": string(userID),
		"iat": now, "nbf": now, "exp": now + 900, "jti": "abc", "role": "customer",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestIssueAndVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, role := range []ecolaura.Role{ecolaura.RoleCustomer, ecolaura.RoleStaff} {
		t.Run(string(role), func(t *testing.T) {
			p := ecolaura.Principal{UserID: userID, Role: role}
			at, err := f.issuer.Issue(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, epoch.Add(15*time.Minute), at.ExpiresAt)

			got, err := f.verifier.Verify(ctx, at.Token)
			require.NoError(t, err)
			assert.Equal(t, p, got)

			// Header and claims are exactly as specified.
			parts := strings.Split(at.Token, ".")
			require.Len(t, parts, 3)
			var hdr map[string]any
			raw, err := base64.RawURLEncoding.DecodeString(parts[0])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &hdr))
			assert.Equal(t, map[string]any{"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}, hdr)
			var claims map[string]any
			raw, err = base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &claims))
			for _, c := range []string{"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "role"} {
				assert.Contains(t, claims, c)
			}
			assert.Equal(t, string(userID), claims["sub"])
			assert.Equal(t, string(role), claims["role"])
			assert.InDelta(t, float64(epoch.Unix()+900), claims["exp"], 0)
		})
	}
}

func TestSessionClaim(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sid := ecolaura.ID("0191f5e2-7a3b-7c4d-8e5f-0123456789ab")
	p := ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer, SessionID: sid}
	at, err := f.issuer.Issue(ctx, p)
	require.NoError(t, err)
	got, err := f.verifier.Verify(ctx, at.Token)
	require.NoError(t, err)
	assert.Equal(t, p, got, "the session travels in the token")
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(at.Token, ".")[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	assert.Equal(t, string(sid), claims["sid"])

	_, err = f.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer, SessionID: "not-an-id"})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
	tok := craft(t, f.header(), with(f.claims(), "sid", "not-an-id"), f.edSign)
	_, err = f.verifier.Verify(ctx, tok)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "a malformed sid")
	tok = craft(t, f.header(), with(f.claims(), "sid", 42), f.edSign)
	_, err = f.verifier.Verify(ctx, tok)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "a sid that is not a string")
}

func TestIssueUniqueJTI(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for range 50 {
		at, err := f.issuer.Issue(context.Background(), ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer})
		require.NoError(t, err)
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(at.Token, ".")[1])
		require.NoError(t, err)
		var c struct{ JTI string }
		require.NoError(t, json.Unmarshal(raw, &c))
		require.False(t, seen[c.JTI], "jti repeated")
		seen[c.JTI] = true
	}
}

func TestIssueRejectsNonUserPrincipal(t *testing.T) {
	f := newFixture(t)
	for name, p := range map[string]ecolaura.Principal{
		"anonymous":    ecolaura.Anonymous,
		"system":       ecolaura.System(),
		"unknown role": {UserID: userID, Role: "admin"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.issuer.Issue(context.Background(), p)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
		})
	}
}

// TestCraftedValidTokenAccepted proves the crafting helper produces tokens
// the verifier accepts, so every rejection below is caused by the one thing
// each case changes.
func TestCraftedValidTokenAccepted(t *testing.T) {
	f := newFixture(t)
	tok := craft(t, f.header(), f.claims(), f.edSign)
	p, err := f.verifier.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer}, p)

	// "application/at+jwt" and any letter case are the same media type.
	for _, typ := range []string{"application/at+jwt", "AT+JWT"} {
		tok := craft(t, with(f.header(), "typ", typ), f.claims(), f.edSign)
		_, err := f.verifier.Verify(context.Background(), tok)
		require.NoError(t, err, typ)
	}
}

func TestVerifyRejectsAttacks(t *testing.T) {
	f := newFixture(t)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(f.pub))})
	jwks, err := f.keys.JWKS()
	require.NoError(t, err)
	hmacWith := func(key []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(input)
			return m.Sum(nil)
		}
	}
	_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	none := func([]byte) []byte { return nil }
	now := f.clock.Now().Unix()
	valid := craft(t, f.header(), f.claims(), f.edSign)
	vparts := strings.Split(valid, ".")

	tests := []struct {
		name   string
		token  string
		reason string // a fragment of the error, so each case fails for its own reason
	}{
		{"alg none", craft(t, with(f.header(), "alg", "none"), f.claims(), none), "alg"},
		{"alg None", craft(t, with(f.header(), "alg", "None"), f.claims(), none), "alg"},
		{"alg none with a signature", craft(t, with(f.header(), "alg", "none"), f.claims(), f.edSign), "alg"},
		{"EdDSA with empty signature", craft(t, f.header(), f.claims(), none), "rejected"},
		{"HS256 keyed with raw public key", craft(t, with(f.header(), "alg", "HS256"), f.claims(), hmacWith(f.pub)), "alg"},
		{"HS256 keyed with public PEM", craft(t, with(f.header(), "alg", "HS256"), f.claims(), hmacWith(pubPEM)), "alg"},
		{"HS256 keyed with JWKS", craft(t, with(f.header(), "alg", "HS256"), f.claims(), hmacWith(jwks)), "alg"},
		{"HS512 keyed with public key", craft(t, with(f.header(), "alg", "HS512"), f.claims(), hmacWith(f.pub)), "alg"},
		{"ES256 claimed for an Ed25519 kid", craft(t, with(f.header(), "alg", "ES256"), f.claims(), func(in []byte) []byte {
			h := sha256.Sum256(in)
			sig, _ := ecdsa.SignASN1(rand.Reader, ecPriv, h[:])
			return sig
		}), "alg"},
		{"unknown kid", craft(t, with(f.header(), "kid", "k2"), f.claims(), func(in []byte) []byte { return ed25519.Sign(otherPriv, in) }), "kid"},
		{"missing kid", craft(t, with(f.header(), "kid", nil), f.claims(), f.edSign), "kid"},
		{"right kid, other key", craft(t, f.header(), f.claims(), func(in []byte) []byte { return ed25519.Sign(otherPriv, in) }), "rejected"},
		{"embedded attacker jwk", craft(t, with(f.header(), "jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(otherPriv.Public().(ed25519.PublicKey))}), f.claims(), func(in []byte) []byte { return ed25519.Sign(otherPriv, in) }), "jwk"},
		{"jku header", craft(t, with(f.header(), "jku", "https://evil.example/jwks.json"), f.claims(), f.edSign), "jku"},
		{"x5u header", craft(t, with(f.header(), "x5u", "https://evil.example/cert.pem"), f.claims(), f.edSign), "x5u"},
		{"crit header", craft(t, with(f.header(), "crit", []string{"exp"}), f.claims(), f.edSign), "crit"},
		{"b64 false", craft(t, with(f.header(), "b64", false), f.claims(), f.edSign), "b64"},
		{"typ JWT", craft(t, with(f.header(), "typ", "JWT"), f.claims(), f.edSign), "typ"},
		{"typ missing", craft(t, with(f.header(), "typ", nil), f.claims(), f.edSign), "typ"},
		{"typ id token", craft(t, with(f.header(), "typ", "id+jwt"), f.claims(), f.edSign), "typ"},
		{"typ not a string", craft(t, with(f.header(), "typ", 1), f.claims(), f.edSign), "header"},
		{"header is an array", craft(t, []any{"EdDSA"}, f.claims(), f.edSign), "header"},
		{"wrong issuer", craft(t, f.header(), with(f.claims(), "iss", "https://evil.example"), f.edSign), "iss"},
		{"missing issuer", craft(t, f.header(), with(f.claims(), "iss", nil), f.edSign), "iss"},
		{"wrong audience", craft(t, f.header(), with(f.claims(), "aud", "other-api"), f.edSign), "aud"},
		{"missing audience", craft(t, f.header(), with(f.claims(), "aud", nil), f.edSign), "aud"},
		{"expired", craft(t, f.header(), with(f.claims(), "iat", now-1000, "nbf", now-1000, "exp", now-100), f.edSign), "exp"},
		{"not yet valid", craft(t, f.header(), with(f.claims(), "iat", now+100, "nbf", now+100, "exp", now+900), f.edSign), "rejected"},
		{"nbf in the future", craft(t, f.header(), with(f.claims(), "nbf", now+100), f.edSign), "nbf"},
		{"lifetime above the configured TTL", craft(t, f.header(), with(f.claims(), "exp", now+24*3600), f.edSign), "rejected"},
		{"missing exp", craft(t, f.header(), with(f.claims(), "exp", nil), f.edSign), "exp"},
		{"missing iat", craft(t, f.header(), with(f.claims(), "iat", nil), f.edSign), "iat"},
		{"missing nbf", craft(t, f.header(), with(f.claims(), "nbf", nil), f.edSign), "nbf"},
		{"missing sub", craft(t, f.header(), with(f.claims(), "sub", nil), f.edSign), "sub"},
		{"missing jti", craft(t, f.header(), with(f.claims(), "jti", nil), f.edSign), "jti"},
		{"missing role", craft(t, f.header(), with(f.claims(), "role", nil), f.edSign), "role"},
		{"unknown role", craft(t, f.header(), with(f.claims(), "role", "admin"), f.edSign), "role"},
		{"role not a string", craft(t, f.header(), with(f.claims(), "role", true), f.edSign), "role"},
		{"subject not a user ID", craft(t, f.header(), with(f.claims(), "sub", "admin"), f.edSign), "subject"},
		{"exp not a number", craft(t, f.header(), with(f.claims(), "exp", "tomorrow"), f.edSign), "rejected"},
		{"tampered payload", vparts[0] + "." + b64(mustJSON(t, with(f.claims(), "role", "staff"))) + "." + vparts[2], "rejected"},
		{"tampered signature", vparts[0] + "." + vparts[1] + "." + b64(make([]byte, 64)), "rejected"},
		{"padded segments", vparts[0] + "=." + vparts[1] + "." + vparts[2], "base64url"},
		{"JSON serialization", `{"payload":"` + vparts[1] + `","protected":"` + vparts[0] + `","signature":"` + vparts[2] + `"}`, "compact"},
		{"four dots (JWE shape)", valid + ".x.y", "compact"},
		{"two parts", vparts[0] + "." + vparts[1], "compact"},
		{"empty", "", "compact"},
		{"dots only", "..", "header"},
		{"whitespace around", " " + valid + " ", "base64url"},
		{"non-ASCII", valid + "é", "base64url"},
		{"too long", valid + strings.Repeat("A", 5000), "too long"},
		{"gigantic", strings.Repeat("A", 10<<20), "too long"},
	}
	// The cached verifier remembers the valid token: none of its variants
	// may hit.
	_, err = f.cached.Verify(context.Background(), valid)
	require.NoError(t, err)
	require.Equal(t, 1, f.cached.Len())
	for _, vf := range f.verifiers() {
		for _, tc := range tests {
			t.Run(vf.name+"/"+tc.name, func(t *testing.T) {
				p, err := vf.v.Verify(context.Background(), tc.token)
				require.Error(t, err)
				assert.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
				assert.Contains(t, err.Error(), tc.reason)
				assert.Equal(t, ecolaura.Principal{}, p)
			})
		}
	}
	assert.Equal(t, 1, f.cached.Len(), "a refused token is never remembered")
}

func TestExpiryAndLeeway(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at, err := f.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer})
	require.NoError(t, err)
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"just issued", epoch, true},
		{"one second before expiry", epoch.Add(15*time.Minute - time.Second), true},
		{"within leeway after expiry", epoch.Add(15*time.Minute + 29*time.Second), true},
		{"beyond leeway after expiry", epoch.Add(15*time.Minute + 31*time.Second), false},
		{"within leeway before issue", epoch.Add(-29 * time.Second), true},
		{"beyond leeway before issue", epoch.Add(-31 * time.Second), false},
	}
	for _, vf := range f.verifiers() {
		for _, tc := range tests {
			t.Run(vf.name+"/"+tc.name, func(t *testing.T) {
				// The cached verifier saw the token when it was issued.
				_, err := vf.v.Verify(ctx, at.Token)
				require.NoError(t, err)
				f.clock.Set(tc.at)
				t.Cleanup(func() { f.clock.Set(epoch) })
				_, err = vf.v.Verify(ctx, at.Token)
				if tc.ok {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
				}
			})
		}
	}
}

func TestCachedVerifier(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer}
	at, err := f.issuer.Issue(ctx, alice)
	require.NoError(t, err)

	p, err := f.cached.Verify(ctx, at.Token)
	require.NoError(t, err)
	require.Equal(t, alice, p)
	require.Equal(t, 1, f.cached.Len())
	p, err = f.cached.Verify(ctx, at.Token)
	require.NoError(t, err)
	assert.Equal(t, alice, p, "the remembered principal")
	assert.Equal(t, 1, f.cached.Len())

	// The cache keeps its own copy of a token: a caller's string over
	// memory that is reused for the next request (as Fiber's headers are)
	// cannot change a remembered key.
	bob := ecolaura.Principal{UserID: ecolaura.ID("01a21425-113c-717b-a1b2-b610b1e20002"), Role: ecolaura.RoleCustomer}
	bt, err := f.issuer.Issue(ctx, bob)
	require.NoError(t, err)
	ct, err := f.issuer.Issue(ctx, alice)
	require.NoError(t, err)
	require.Len(t, bt.Token, len(ct.Token))
	buf := []byte(ct.Token)
	_, err = f.cached.Verify(ctx, unsafe.String(&buf[0], len(buf)))
	require.NoError(t, err)
	copy(buf, bt.Token) // the next request's header in the same buffer
	p, err = f.cached.Verify(ctx, unsafe.String(&buf[0], len(buf)))
	require.NoError(t, err)
	assert.Equal(t, bob, p, "another token's bytes in a reused buffer are verified as that token")
	p, err = f.cached.Verify(ctx, ct.Token)
	require.NoError(t, err)
	assert.Equal(t, alice, p)

	// Past exp the entry is dropped, not answered.
	f.clock.Set(epoch.Add(time.Hour))
	_, err = f.cached.Verify(ctx, at.Token)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	assert.Equal(t, 2, f.cached.Len(), "the other two tokens were issued later")

	// Bounded: the least recently used token leaves first.
	f.clock.Set(epoch)
	small, err := jwt.NewCachedVerifier(f.verifier, 2)
	require.NoError(t, err)
	for range 3 {
		at, err := f.issuer.Issue(ctx, alice)
		require.NoError(t, err)
		_, err = small.Verify(ctx, at.Token)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, small.Len())

	for _, tc := range []struct {
		name string
		v    *jwt.Verifier
		size int
	}{
		{"nil verifier", nil, 10},
		{"zero size", f.verifier, 0},
		{"too large", f.verifier, jwt.MaxCachedTokens + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwt.NewCachedVerifier(tc.v, tc.size)
			require.Error(t, err)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, jwt.DefaultConfig().Validate())
	tests := []struct {
		name   string
		modify func(*jwt.Config)
		field  string
	}{
		{"no issuer", func(c *jwt.Config) { c.Issuer = " " }, "issuer"},
		{"no audience", func(c *jwt.Config) { c.Audience = "" }, "audience"},
		{"zero ttl", func(c *jwt.Config) { c.AccessTTL = 0 }, "access_ttl"},
		{"ttl too long", func(c *jwt.Config) { c.AccessTTL = 48 * time.Hour }, "access_ttl"},
		{"negative leeway", func(c *jwt.Config) { c.Leeway = -time.Second }, "leeway"},
		{"leeway too long", func(c *jwt.Config) { c.Leeway = time.Hour }, "leeway"},
		{"token limit too small", func(c *jwt.Config) { c.MaxTokenBytes = 10 }, "max_token_bytes"},
		{"token limit too large", func(c *jwt.Config) { c.MaxTokenBytes = 1 << 20 }, "max_token_bytes"},
	}
	f := newFixture(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := jwt.DefaultConfig()
			tc.modify(&c)
			err := c.Validate()
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Fields, 1)
			assert.Equal(t, tc.field, ce.Fields[0].Field)
			_, err = jwt.NewIssuer(c, f.keys)
			require.ErrorAs(t, err, &ce)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a bad config is a wiring mistake, not user input")
			_, err = jwt.NewVerifier(c, f.keys)
			require.ErrorAs(t, err, &ce)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid)
		})
	}
	_, err := jwt.NewIssuer(jwt.DefaultConfig(), nil)
	require.Error(t, err)
	_, err = jwt.NewVerifier(jwt.DefaultConfig(), nil)
	require.Error(t, err)
}

func TestVerifierRejectsOtherIssuerConfig(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at, err := f.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleStaff})
	require.NoError(t, err)
	for name, modify := range map[string]func(*jwt.Config){
		"other issuer":   func(c *jwt.Config) { c.Issuer = "https://other.example" },
		"other audience": func(c *jwt.Config) { c.Audience = "billing-api" },
	} {
		t.Run(name, func(t *testing.T) {
			c := jwt.DefaultConfig()
			modify(&c)
			v, err := jwt.NewVerifier(c, f.keys, jwt.WithClock(f.clock))
			require.NoError(t, err)
			_, err = v.Verify(ctx, at.Token)
			require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
		})
	}
}

func TestConcurrentIssueVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				at, err := f.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer})
				if err == nil {
					_, err = f.verifier.Verify(ctx, at.Token)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	p := ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.Issue(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify compares the verifier with the cached verifier on a
// token seen before (a client's repeated requests).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	at, err := f.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer})
	require.NoError(b, err)
	for _, vf := range f.verifiers() {
		b.Run(vf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := vf.v.Verify(ctx, at.Token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	at, err := f.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer})
	require.NoError(b, err)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.verifier.Verify(ctx, at.Token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	ctx := context.Background()
	at, err := fx.issuer.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleStaff})
	require.NoError(f, err)
	parts := strings.Split(at.Token, ".")
	f.Add(at.Token)
	f.Add(craft(f, with(fx.header(), "alg", "none"), fx.claims(), func([]byte) []byte { return nil }))
	f.Add(craft(f, with(fx.header(), "alg", "HS256"), fx.claims(), func(in []byte) []byte {
		m := hmac.New(sha256.New, fx.pub)
		m.Write(in)
		return m.Sum(nil)
	}))
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add("..")
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := fx.verifier.Verify(ctx, token)
		if err != nil {
			if !errorsIs(err, ecolaura.ErrUnauthenticated) {
				t.Fatalf("error does not match ErrUnauthenticated: %v", err)
			}
			return
		}
		// Anything accepted must be a genuine token of ours: it carries a
		// valid principal (only the issued token or byte-identical
		// re-encodings can get here, since the signature binds it).
		if !p.Role.Valid() || p.UserID != userID {
			t.Fatalf("accepted forged principal %+v from %q", p, token)
		}
	})
}
