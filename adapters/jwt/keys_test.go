package jwt_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/ecolaura"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestLoadSigningKeyFilePEM(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := jwt.LoadSigningKeyFile(writeFile(t, "key.pem", pkcs8PEM(t, priv)))
	require.NoError(t, err)
	assert.Equal(t, "EdDSA", k.Algorithm())
	tp, err := jwt.Thumbprint(pub)
	require.NoError(t, err)
	assert.Equal(t, tp, k.ID(), "a PEM key's kid is its RFC 7638 thumbprint")
	assert.Len(t, k.ID(), 43)
}

func TestLoadSigningKeyFileJWK(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	jk, err := jwk.FromRaw(priv)
	require.NoError(t, err)
	require.NoError(t, jk.Set(jwk.KeyIDKey, "2026-11"))
	k, err := jwt.LoadSigningKeyFile(writeFile(t, "key.jwk", mustJSON(t, jk)))
	require.NoError(t, err)
	assert.Equal(t, "2026-11", k.ID())
	assert.Equal(t, "EdDSA", k.Algorithm())

	// The loaded key signs tokens the verifier accepts.
	signAndVerify(t, k)
}

func TestES256KeySignsAndVerifies(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwt.ParseSigningKey(pkcs8PEM(t, priv))
	require.NoError(t, err)
	assert.Equal(t, "ES256", k.Algorithm())
	signAndVerify(t, k)
}

func signAndVerify(t *testing.T, k jwt.SigningKey) {
	t.Helper()
	ks, err := jwt.NewKeySet(k)
	require.NoError(t, err)
	is, err := jwt.NewIssuer(jwt.DefaultConfig(), ks)
	require.NoError(t, err)
	v, err := jwt.NewVerifier(jwt.DefaultConfig(), ks)
	require.NoError(t, err)
	p := ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer}
	at, err := is.Issue(context.Background(), p)
	require.NoError(t, err)
	got, err := v.Verify(context.Background(), at.Token)
	require.NoError(t, err)
	assert.Equal(t, p, got)
}

func TestParseSigningKeyRejects(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pubJWK, err := jwk.FromRaw(pub)
	require.NoError(t, err)
	tests := map[string][]byte{
		"empty":              nil,
		"garbage":            []byte("hello"),
		"RSA key":            pkcs8PEM(t, rsaKey),
		"P-384 key":          pkcs8PEM(t, p384),
		"public key PEM":     publicPEM(t, pub),
		"two PEM blocks":     append(pkcs8PEM(t, priv), pkcs8PEM(t, priv)...),
		"broken PEM":         []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"truncated PEM":      []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw"),
		"public JWK":         mustJSON(t, pubJWK),
		"malformed JWK":      []byte(`{"kty":"OKP"`),
		"symmetric JWK":      []byte(`{"kty":"oct","k":"c2VjcmV0"}`),
		"SEC1 EC PEM":        pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: must(x509.MarshalECPrivateKey(p384))}),
		"kid with spaces":    []byte(`{"kty":"OKP","crv":"Ed25519","kid":"a b","d":"` + b64(priv.Seed()) + `","x":"` + b64(pub) + `"}`),
		"certificate header": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := jwt.ParseSigningKey(data)
			require.Error(t, err)
		})
	}
	_, err = jwt.LoadSigningKeyFile(filepath.Join(t.TempDir(), "missing.pem"))
	require.Error(t, err)
	big := writeFile(t, "big.pem", bytes.Repeat([]byte("A"), 2<<20))
	_, err = jwt.LoadSigningKeyFile(big)
	require.ErrorContains(t, err, "larger than")
}

func TestParseVerificationKeys(t *testing.T) {
	pub1, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pub2, priv2, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	keys, err := jwt.ParseVerificationKeys(append(publicPEM(t, pub1), publicPEM(t, pub2)...))
	require.NoError(t, err)
	require.Len(t, keys, 2)

	keys, err = jwt.ParseVerificationKeys(pkcs8PEM(t, priv2))
	require.NoError(t, err, "a private key yields its public half")
	require.Len(t, keys, 1)
	tp, _ := jwt.Thumbprint(pub2)
	assert.Equal(t, tp, keys[0].ID())

	_, err = jwt.ParseVerificationKeys([]byte(`{"keys":[]}`))
	require.Error(t, err)
	_, err = jwt.ParseVerificationKeys([]byte(`{"kty":"OKP","crv":"Ed25519","alg":"HS256","x":"` + b64(pub1) + `"}`))
	require.ErrorContains(t, err, "does not match")
}

// TestRotation: a verifier holding the old key as an extra verification key
// accepts tokens of both keys; one without it rejects the old tokens.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	_, oldPriv, _ := ed25519.GenerateKey(rand.Reader)
	_, newPriv, _ := ed25519.GenerateKey(rand.Reader)
	oldKey, err := jwt.NewSigningKey(oldPriv, "old")
	require.NoError(t, err)
	newKey, err := jwt.NewSigningKey(newPriv, "new")
	require.NoError(t, err)

	oldSet, err := jwt.NewKeySet(oldKey)
	require.NoError(t, err)
	rotated, err := jwt.NewKeySet(newKey, oldKey.Public())
	require.NoError(t, err)
	assert.Equal(t, "new", rotated.SigningKeyID())
	assert.Equal(t, []string{"new", "old"}, rotated.VerificationKeyIDs())
	dropped, err := jwt.NewKeySet(newKey)
	require.NoError(t, err)

	p := ecolaura.Principal{UserID: userID, Role: ecolaura.RoleCustomer}
	oldIssuer, _ := jwt.NewIssuer(jwt.DefaultConfig(), oldSet)
	newIssuer, _ := jwt.NewIssuer(jwt.DefaultConfig(), rotated)
	oldTok, err := oldIssuer.Issue(ctx, p)
	require.NoError(t, err)
	newTok, err := newIssuer.Issue(ctx, p)
	require.NoError(t, err)

	v, _ := jwt.NewVerifier(jwt.DefaultConfig(), rotated)
	for _, tok := range []string{oldTok.Token, newTok.Token} {
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
	}
	v2, _ := jwt.NewVerifier(jwt.DefaultConfig(), dropped)
	_, err = v2.Verify(ctx, oldTok.Token)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	_, err = v2.Verify(ctx, newTok.Token)
	require.NoError(t, err)
}

func TestKeySetRejectsDuplicateKID(t *testing.T) {
	_, a, _ := ed25519.GenerateKey(rand.Reader)
	_, b, _ := ed25519.GenerateKey(rand.Reader)
	ka, err := jwt.NewSigningKey(a, "same")
	require.NoError(t, err)
	kb, err := jwt.NewSigningKey(b, "same")
	require.NoError(t, err)
	_, err = jwt.NewKeySet(ka, kb.Public())
	require.ErrorContains(t, err, "same")
	// The same key twice is harmless.
	_, err = jwt.NewKeySet(ka, ka.Public())
	require.NoError(t, err)
	_, err = jwt.NewKeySet(jwt.SigningKey{})
	require.Error(t, err)
}

func TestJWKS(t *testing.T) {
	ctx := context.Background()
	_, p1, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k1, err := jwt.NewSigningKey(p1, "ed")
	require.NoError(t, err)
	k2, err := jwt.NewSigningKey(ec, "ec")
	require.NoError(t, err)
	ks, err := jwt.NewKeySet(k1, k2.Public())
	require.NoError(t, err)

	doc, err := ks.JWKS()
	require.NoError(t, err)
	var parsed struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(doc, &parsed))
	require.Len(t, parsed.Keys, 2)
	for _, k := range parsed.Keys {
		assert.NotContains(t, k, "d", "no private material")
		assert.Equal(t, "sig", k["use"])
	}
	assert.Equal(t, "ec", parsed.Keys[0]["kid"])
	assert.Equal(t, "ES256", parsed.Keys[0]["alg"])
	assert.Equal(t, "ed", parsed.Keys[1]["kid"])
	assert.Equal(t, "EdDSA", parsed.Keys[1]["alg"])
	assert.Equal(t, "OKP", parsed.Keys[1]["kty"])

	// A verifier built only from the published JWKS accepts our tokens.
	published, err := jwt.ParseVerificationKeys(doc)
	require.NoError(t, err)
	_, unrelated, _ := ed25519.GenerateKey(rand.Reader)
	uk, _ := jwt.NewSigningKey(unrelated, "unrelated")
	remote, err := jwt.NewKeySet(uk, published...)
	require.NoError(t, err)
	is, _ := jwt.NewIssuer(jwt.DefaultConfig(), ks)
	v, _ := jwt.NewVerifier(jwt.DefaultConfig(), remote)
	at, err := is.Issue(ctx, ecolaura.Principal{UserID: userID, Role: ecolaura.RoleStaff})
	require.NoError(t, err)
	_, err = v.Verify(ctx, at.Token)
	require.NoError(t, err)
}

func TestGenerateDevelopmentKeyWarnsLoudly(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	k, err := jwt.GenerateDevelopmentKey(logger)
	require.NoError(t, err)
	assert.Equal(t, "EdDSA", k.Algorithm())
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.Equal(t, "WARN", rec["level"])
	assert.Contains(t, rec["msg"], "NOT FOR PRODUCTION")
	assert.Equal(t, k.ID(), rec["kid"])
	assert.False(t, strings.Contains(buf.String(), `"d"`))

	k2, err := jwt.GenerateDevelopmentKey(logger)
	require.NoError(t, err)
	assert.NotEqual(t, k.ID(), k2.ID(), "a fresh key every time")
}
