// Package argon2id implements [ports.PasswordHasher] with Argon2id
// (RFC 9106) from golang.org/x/crypto/argon2.
//
// Hashes are stored as PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in standard base64 without padding. The default
// parameters are OWASP's current minimum for Argon2id (m = 19 MiB, t = 2,
// p = 1) with a 16-byte random salt and a 32-byte key; [Params.Validate]
// refuses anything weaker. Stored hashes are parsed strictly and their
// parameters are bounded ([MaxMemoryKiB], [MaxIterations], ...), so a hostile
// or corrupted hash is an error, never a panic or a multi-gigabyte allocation.
// A hash made with weaker parameters than the current ones still verifies and
// is reported as needing a rehash.
package argon2id

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// OWASP minimum parameters for Argon2id (Password Storage Cheat Sheet).
const (
	MinMemoryKiB   = 19 * 1024
	MinIterations  = 2
	MinParallelism = 1
	MinSaltLength  = 16
	MinKeyLength   = 32
)

// Upper bounds for configured parameters and for the parameters of any
// stored hash that is verified. They cap the memory and time one Verify call
// can cost, whatever the stored string says.
const (
	MaxMemoryKiB   = 256 * 1024 // 256 MiB
	MaxIterations  = 16
	MaxParallelism = 16
	MaxSaltLength  = 64
	MaxKeyLength   = 64
	// MaxPasswordBytes bounds the password a Hash or Verify call accepts.
	// The domain's policy (ecolaura.MaxPasswordBytes) is stricter; this is
	// a last line of defence.
	MaxPasswordBytes = 4096
	// maxEncodedLength bounds the PHC string accepted by Verify.
	maxEncodedLength = 512
	// minStoredSaltLength and minStoredKeyLength are the smallest salt and
	// key accepted in a stored hash (older, weaker hashes still verify and
	// are reported as needing a rehash).
	minStoredSaltLength = 8
	minStoredKeyLength  = 16
)

// Params are the Argon2id cost parameters.
type Params struct {
	// MemoryKiB is the memory cost in KiB (m).
	MemoryKiB uint32
	// Iterations is the time cost (t).
	Iterations uint32
	// Parallelism is the number of lanes (p).
	Parallelism uint8
	// SaltLength is the length of the random salt in bytes.
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes.
	KeyLength uint32
}

// DefaultParams returns OWASP's minimum: m = 19 MiB, t = 2, p = 1, a 16-byte
// salt and a 32-byte key.
func DefaultParams() Params {
	return Params{
		MemoryKiB:   MinMemoryKiB,
		Iterations:  MinIterations,
		Parallelism: MinParallelism,
		SaltLength:  MinSaltLength,
		KeyLength:   MinKeyLength,
	}
}

// Validate checks that p is at or above the OWASP minimum and within the
// upper bounds. It returns an *ecolaura.ConfigError naming each bad field.
func (p Params) Validate() error {
	var v ecolaura.Validator
	v.Check(p.MemoryKiB >= MinMemoryKiB && p.MemoryKiB <= MaxMemoryKiB, "memory_kib", "must be between %d and %d", MinMemoryKiB, MaxMemoryKiB)
	v.Check(p.Iterations >= MinIterations && p.Iterations <= MaxIterations, "iterations", "must be between %d and %d", MinIterations, MaxIterations)
	v.Check(p.Parallelism >= MinParallelism && p.Parallelism <= MaxParallelism, "parallelism", "must be between %d and %d", MinParallelism, MaxParallelism)
	v.Check(p.SaltLength >= MinSaltLength && p.SaltLength <= MaxSaltLength, "salt_length", "must be between %d and %d", MinSaltLength, MaxSaltLength)
	v.Check(p.KeyLength >= MinKeyLength && p.KeyLength <= MaxKeyLength, "key_length", "must be between %d and %d", MinKeyLength, MaxKeyLength)
	return v.ConfigErr()
}

// weakerThan reports whether p (from a stored hash) is below current in any
// security-relevant parameter.
func (p Params) weakerThan(current Params) bool {
	return p.MemoryKiB < current.MemoryKiB ||
		p.Iterations < current.Iterations ||
		p.SaltLength < current.SaltLength ||
		p.KeyLength < current.KeyLength
}

// Hasher hashes and verifies passwords with Argon2id. It is safe for
// concurrent use. At most a bounded number of hash computations run at once
// (see [WithMaxConcurrent]), so a burst of logins cannot allocate more than
// that many times the memory cost.
type Hasher struct {
	params Params
	rand   io.Reader
	sem    chan struct{}
}

var _ ports.PasswordHasher = (*Hasher)(nil)

// Option configures a [Hasher].
type Option func(*Hasher)

// WithRandom sets the source of salts (crypto/rand by default).
func WithRandom(r io.Reader) Option { return func(h *Hasher) { h.rand = r } }

// WithMaxConcurrent bounds how many hash computations run at once (default:
// the number of CPUs). Callers beyond it wait, or give up when their context
// ends. Values below 1 are ignored.
func WithMaxConcurrent(n int) Option {
	return func(h *Hasher) {
		if n >= 1 {
			h.sem = make(chan struct{}, n)
		}
	}
}

// New returns a Hasher that hashes with params. Errors: an
// *ecolaura.ConfigError when params are below the OWASP minimum or above
// the bounds.
func New(params Params, opts ...Option) (*Hasher, error) {
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("argon2id params: %w", err)
	}
	h := &Hasher{
		params: params,
		rand:   rand.Reader,
		sem:    make(chan struct{}, max(1, runtime.NumCPU())),
	}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns a PHC string for password with a fresh random salt. Errors: a
// *ecolaura.ValidationError on field "password" when it is longer than
// [MaxPasswordBytes]; the context's error when it ends while waiting for a
// hashing slot; a wrapped error when the random source fails.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ecolaura.Invalid("password", "must be at most %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, h.params.SaltLength)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("argon2id: read salt: %w", err)
	}
	key, err := h.derive(ctx, []byte(password), salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded (compared
// in constant time) and whether encoded was made with weaker parameters than
// the current ones. Errors: a wrapped error (not a domain error) when encoded
// is malformed, not Argon2id v19, or has parameters outside the bounds; the
// context's error when it ends while waiting for a hashing slot. A password
// longer than [MaxPasswordBytes] does not match.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	needsRehash = p.weakerThan(h.params)
	if len(password) > MaxPasswordBytes {
		return false, needsRehash, nil
	}
	got, err := h.derive(ctx, []byte(password), salt, p)
	if err != nil {
		return false, false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, needsRehash, nil
}

func (h *Hasher) derive(ctx context.Context, password, salt []byte, p Params) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("argon2id: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("argon2id: wait for a hashing slot: %w", ctx.Err())
	}
	defer func() { <-h.sem }()
	return argon2.IDKey(password, salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLength), nil
}

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrMalformedHash is matched (errors.Is) by every parse error of Verify.
var ErrMalformedHash = errors.New("argon2id: malformed hash")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
}

// decode parses a PHC string strictly: exactly
// $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key> with canonical decimal
// numbers, bounded parameters and unpadded standard base64.
func decode(s string) (Params, []byte, []byte, error) {
	var p Params
	if len(s) > maxEncodedLength {
		return p, nil, nil, malformed("longer than %d bytes", maxEncodedLength)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, malformed("want 5 $-separated fields")
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, malformed("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, malformed("unsupported version %q", parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, malformed("want parameters m,t,p")
	}
	m, err := number(kv[0], "m=", 1, MaxMemoryKiB)
	if err != nil {
		return p, nil, nil, err
	}
	t, err := number(kv[1], "t=", 1, MaxIterations)
	if err != nil {
		return p, nil, nil, err
	}
	par, err := number(kv[2], "p=", 1, MaxParallelism)
	if err != nil {
		return p, nil, nil, err
	}
	if m < 8*par {
		return p, nil, nil, malformed("m=%d is below 8*p", m)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, malformed("salt: %v", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, malformed("key: %v", err)
	}
	if len(salt) < minStoredSaltLength || len(salt) > MaxSaltLength {
		return p, nil, nil, malformed("salt of %d bytes", len(salt))
	}
	if len(key) < minStoredKeyLength || len(key) > MaxKeyLength {
		return p, nil, nil, malformed("key of %d bytes", len(key))
	}
	p = Params{
		MemoryKiB:   uint32(m),
		Iterations:  uint32(t),
		Parallelism: uint8(par),
		SaltLength:  uint32(len(salt)),
		KeyLength:   uint32(len(key)),
	}
	return p, salt, key, nil
}

// number parses "<prefix><decimal>" with no sign, no leading zeros and
// lo <= value <= hi.
func number(s, prefix string, lo, hi uint64) (uint64, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || len(digits) > 10 || (len(digits) > 1 && digits[0] == '0') {
		return 0, malformed("parameter %q", s)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, malformed("parameter %q", s)
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, malformed("parameter %q out of range [%d, %d]", s, lo, hi)
	}
	return n, nil
}
