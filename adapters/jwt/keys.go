package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Supported signature algorithms. EdDSA (Ed25519) is the default; ES256
// (ECDSA P-256) is accepted for keys of that type. The algorithm of a token
// is always taken from the key, never from the token's header.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

// maxKeyFileBytes bounds a key file or JWKS document.
const maxKeyFileBytes = 1 << 20

// VerificationKey is a public key with its key ID ("kid") and algorithm.
type VerificationKey struct {
	id     string
	alg    jwa.SignatureAlgorithm
	public crypto.PublicKey
}

// ID returns the key ID.
func (k VerificationKey) ID() string { return k.id }

// Algorithm returns the JWS algorithm ("EdDSA" or "ES256").
func (k VerificationKey) Algorithm() string { return k.alg.String() }

// SigningKey is a private key with its key ID and algorithm.
type SigningKey struct {
	VerificationKey
	private crypto.Signer
}

// Public returns the verification half of k.
func (k SigningKey) Public() VerificationKey { return k.VerificationKey }

// algorithmFor returns the algorithm for a public key, or an error for an
// unsupported key type.
func algorithmFor(pub crypto.PublicKey) (jwa.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", errors.New("jwt: invalid Ed25519 public key size")
		}
		return jwa.EdDSA, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("jwt: only the P-256 curve is supported for ECDSA keys")
		}
		return jwa.ES256, nil
	default:
		return "", fmt.Errorf("jwt: unsupported key type %T (want Ed25519 or ECDSA P-256)", pub)
	}
}

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of a public key in
// unpadded base64url; it is the default key ID.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("jwt: key thumbprint: %w", err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwt: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// NewVerificationKey wraps an Ed25519 or ECDSA P-256 public key. An empty
// kid means the key's RFC 7638 thumbprint. Errors: unsupported key type or
// an invalid key ID.
func NewVerificationKey(pub crypto.PublicKey, kid string) (VerificationKey, error) {
	alg, err := algorithmFor(pub)
	if err != nil {
		return VerificationKey{}, err
	}
	if kid == "" {
		if kid, err = Thumbprint(pub); err != nil {
			return VerificationKey{}, err
		}
	}
	if err := validKeyID(kid); err != nil {
		return VerificationKey{}, err
	}
	return VerificationKey{id: kid, alg: alg, public: pub}, nil
}

// NewSigningKey wraps an ed25519.PrivateKey or *ecdsa.PrivateKey (P-256).
// An empty kid means the public key's RFC 7638 thumbprint. Errors:
// unsupported key type or an invalid key ID.
func NewSigningKey(private crypto.Signer, kid string) (SigningKey, error) {
	if private == nil {
		return SigningKey{}, errors.New("jwt: nil signing key")
	}
	if k, ok := private.(ed25519.PrivateKey); ok && len(k) != ed25519.PrivateKeySize {
		return SigningKey{}, errors.New("jwt: invalid Ed25519 private key size")
	}
	vk, err := NewVerificationKey(private.Public(), kid)
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{VerificationKey: vk, private: private}, nil
}

func validKeyID(kid string) error {
	if len(kid) == 0 || len(kid) > 128 {
		return errors.New("jwt: key ID must be 1–128 characters")
	}
	for _, r := range kid {
		if r < 0x21 || r > 0x7e {
			return errors.New("jwt: key ID must be printable ASCII without spaces")
		}
	}
	return nil
}

// GenerateDevelopmentKey returns a fresh Ed25519 signing key and logs a
// loud warning: tokens signed with it do not survive a restart and cannot be
// verified by other processes. Production configurations must load a key
// from a file instead. A nil logger discards the warning.
func GenerateDevelopmentKey(logger *slog.Logger) (SigningKey, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("jwt: generate development key: %w", err)
	}
	k, err := NewSigningKey(priv, "")
	if err != nil {
		return SigningKey{}, err
	}
	logger.Warn("!!! USING A GENERATED DEVELOPMENT JWT SIGNING KEY — NOT FOR PRODUCTION !!! "+
		"Tokens become invalid on restart and other replicas cannot verify them. "+
		"Set a PEM (PKCS#8) or JWK key file for production.",
		slog.String("kid", k.ID()), slog.String("alg", k.Algorithm()))
	return k, nil
}

// LoadSigningKeyFile reads a private key from a PEM (PKCS#8 "PRIVATE KEY")
// or JWK file; see [ParseSigningKey].
func LoadSigningKeyFile(path string) (SigningKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return SigningKey{}, err
	}
	k, err := ParseSigningKey(data)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadVerificationKeysFile reads public keys from a PEM, JWK or JWKS file;
// see [ParseVerificationKeys].
func LoadVerificationKeysFile(path string) ([]VerificationKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	ks, err := ParseVerificationKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwt: open key file: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwt: read key file %s: %w", path, err)
	}
	if n > maxKeyFileBytes {
		return nil, fmt.Errorf("jwt: key file %s is larger than %d bytes", path, maxKeyFileBytes)
	}
	return buf.Bytes(), nil
}

// ParseSigningKey parses one private key: a PEM block "PRIVATE KEY"
// (PKCS#8) holding an Ed25519 or ECDSA P-256 key, whose key ID is its
// thumbprint, or a private JWK (kty OKP/Ed25519 or EC/P-256), whose "kid" is
// used when present. Errors: malformed input or an unsupported key.
func ParseSigningKey(data []byte) (SigningKey, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		block, rest := pem.Decode(trimmed)
		if block == nil {
			return SigningKey{}, errors.New("jwt: no PEM block found")
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return SigningKey{}, errors.New("jwt: want exactly one PEM block")
		}
		if block.Type != "PRIVATE KEY" {
			return SigningKey{}, fmt.Errorf("jwt: PEM block %q, want \"PRIVATE KEY\" (PKCS#8)", block.Type)
		}
		raw, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return SigningKey{}, fmt.Errorf("jwt: parse PKCS#8 key: %w", err)
		}
		signer, ok := raw.(crypto.Signer)
		if !ok {
			return SigningKey{}, fmt.Errorf("jwt: unsupported private key type %T", raw)
		}
		return NewSigningKey(signer, "")
	case bytes.HasPrefix(trimmed, []byte("{")):
		key, err := jwk.ParseKey(trimmed)
		if err != nil {
			return SigningKey{}, fmt.Errorf("jwt: parse JWK: %w", err)
		}
		private, err := jwk.IsPrivateKey(key)
		if err != nil || !private {
			return SigningKey{}, errors.New("jwt: the JWK is not a private key")
		}
		var raw any
		if err := key.Raw(&raw); err != nil {
			return SigningKey{}, fmt.Errorf("jwt: JWK: %w", err)
		}
		signer, ok := raw.(crypto.Signer)
		if !ok {
			return SigningKey{}, fmt.Errorf("jwt: unsupported private key type %T", raw)
		}
		if signer, ok = normalizeSigner(signer); !ok {
			return SigningKey{}, fmt.Errorf("jwt: unsupported private key type %T", raw)
		}
		return NewSigningKey(signer, key.KeyID())
	default:
		return SigningKey{}, errors.New("jwt: key is neither PEM nor JWK")
	}
}

// normalizeSigner turns a pointer to an Ed25519 key into the value form.
func normalizeSigner(s crypto.Signer) (crypto.Signer, bool) {
	switch k := s.(type) {
	case *ed25519.PrivateKey:
		return *k, k != nil
	case ed25519.PrivateKey, *ecdsa.PrivateKey:
		return s, true
	default:
		return nil, false
	}
}

// ParseVerificationKeys parses public keys for verification: one or more
// PEM "PUBLIC KEY" (PKIX) blocks, one public JWK, or a JWKS document
// ({"keys": [...]}). Private keys are accepted and reduced to their public
// half. Errors: malformed input, an unsupported key or no key at all.
func ParseVerificationKeys(data []byte) ([]VerificationKey, error) {
	trimmed := bytes.TrimSpace(data)
	var out []VerificationKey
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		rest := trimmed
		for len(bytes.TrimSpace(rest)) > 0 {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				return nil, errors.New("jwt: malformed PEM")
			}
			var pub crypto.PublicKey
			switch block.Type {
			case "PUBLIC KEY":
				k, err := x509.ParsePKIXPublicKey(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("jwt: parse public key: %w", err)
				}
				pub = k
			case "PRIVATE KEY":
				k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("jwt: parse PKCS#8 key: %w", err)
				}
				s, ok := k.(crypto.Signer)
				if !ok {
					return nil, fmt.Errorf("jwt: unsupported private key type %T", k)
				}
				pub = s.Public()
			default:
				return nil, fmt.Errorf("jwt: unexpected PEM block %q", block.Type)
			}
			vk, err := NewVerificationKey(pub, "")
			if err != nil {
				return nil, err
			}
			out = append(out, vk)
		}
	case bytes.HasPrefix(trimmed, []byte("{")):
		var probe struct {
			Keys json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, fmt.Errorf("jwt: parse JWK: %w", err)
		}
		var set jwk.Set
		if probe.Keys != nil {
			s, err := jwk.Parse(trimmed)
			if err != nil {
				return nil, fmt.Errorf("jwt: parse JWKS: %w", err)
			}
			set = s
		} else {
			k, err := jwk.ParseKey(trimmed)
			if err != nil {
				return nil, fmt.Errorf("jwt: parse JWK: %w", err)
			}
			set = jwk.NewSet()
			if err := set.AddKey(k); err != nil {
				return nil, fmt.Errorf("jwt: JWK: %w", err)
			}
		}
		for i := 0; i < set.Len(); i++ {
			k, _ := set.Key(i)
			pk, err := jwk.PublicKeyOf(k)
			if err != nil {
				return nil, fmt.Errorf("jwt: JWK %d: %w", i, err)
			}
			var raw any
			if err := pk.Raw(&raw); err != nil {
				return nil, fmt.Errorf("jwt: JWK %d: %w", i, err)
			}
			if p, ok := raw.(*ed25519.PublicKey); ok && p != nil {
				raw = *p
			}
			if a := k.Algorithm().String(); a != "" {
				want, err := algorithmFor(raw)
				if err == nil && a != want.String() {
					return nil, fmt.Errorf("jwt: JWK %d: alg %q does not match its key type (%s)", i, a, want)
				}
			}
			vk, err := NewVerificationKey(raw, k.KeyID())
			if err != nil {
				return nil, fmt.Errorf("JWK %d: %w", i, err)
			}
			out = append(out, vk)
		}
	default:
		return nil, errors.New("jwt: keys are neither PEM nor JWK")
	}
	if len(out) == 0 {
		return nil, errors.New("jwt: no key found")
	}
	return out, nil
}

// KeySet is the key material of an issuer and a verifier: one signing key
// and any number of further verification keys (the previous signing keys
// during a rotation, or keys of other issuers of the same audience). It is
// immutable and safe for concurrent use.
//
// Rotation: start every replica with the new key as an extra verification
// key, then switch the signing key and keep the old one as a verification
// key for at least the access-token lifetime.
type KeySet struct {
	signing SigningKey
	verify  map[string]VerificationKey
	ids     []string // sorted, for a stable JWKS
}

// NewKeySet builds a key set. The signing key's public half is always a
// verification key. Errors: a zero signing key, or two different keys with
// the same key ID.
func NewKeySet(signing SigningKey, verification ...VerificationKey) (*KeySet, error) {
	if signing.private == nil {
		return nil, errors.New("jwt: key set needs a signing key")
	}
	s := &KeySet{signing: signing, verify: make(map[string]VerificationKey, 1+len(verification))}
	for _, k := range append([]VerificationKey{signing.Public()}, verification...) {
		if k.public == nil {
			return nil, errors.New("jwt: zero verification key")
		}
		if old, dup := s.verify[k.id]; dup {
			if sameKey(old.public, k.public) {
				continue
			}
			return nil, fmt.Errorf("jwt: two different keys share the key ID %q", k.id)
		}
		s.verify[k.id] = k
		s.ids = append(s.ids, k.id)
	}
	sort.Strings(s.ids)
	return s, nil
}

func sameKey(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

// SigningKeyID returns the key ID new tokens are signed with.
func (s *KeySet) SigningKeyID() string { return s.signing.id }

// VerificationKeyIDs returns the IDs of every verification key, sorted.
func (s *KeySet) VerificationKeyIDs() []string { return append([]string(nil), s.ids...) }

func (s *KeySet) lookup(kid string) (VerificationKey, bool) {
	k, ok := s.verify[kid]
	return k, ok
}

// JWKS returns the public verification keys as a JSON Web Key Set (RFC
// 7517) with "kid", "alg" and "use": "sig" on every key, for
// /.well-known/jwks.json. It never contains private key material.
func (s *KeySet) JWKS() ([]byte, error) {
	set := jwk.NewSet()
	for _, id := range s.ids {
		k := s.verify[id]
		jk, err := jwk.FromRaw(k.public)
		if err != nil {
			return nil, fmt.Errorf("jwt: JWKS key %s: %w", id, err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.id, jwk.AlgorithmKey: k.alg, jwk.KeyUsageKey: "sig"} {
			if err := jk.Set(name, v); err != nil {
				return nil, fmt.Errorf("jwt: JWKS key %s: %w", id, err)
			}
		}
		if err := set.AddKey(jk); err != nil {
			return nil, fmt.Errorf("jwt: JWKS key %s: %w", id, err)
		}
	}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwt: JWKS: %w", err)
	}
	if strings.Contains(string(out), `"d"`) {
		return nil, errors.New("jwt: JWKS would contain private key material")
	}
	return out, nil
}
