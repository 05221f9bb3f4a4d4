package argon2id_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/ecolaura"
)

func newHasher(t testing.TB, p argon2id.Params, opts ...argon2id.Option) *argon2id.Hasher {
	t.Helper()
	h, err := argon2id.New(p, opts...)
	require.NoError(t, err)
	return h
}

func TestDefaultParamsAreOWASPMinimum(t *testing.T) {
	p := argon2id.DefaultParams()
	assert.Equal(t, uint32(19456), p.MemoryKiB)
	assert.Equal(t, uint32(2), p.Iterations)
	assert.Equal(t, uint8(1), p.Parallelism)
	assert.Equal(t, uint32(16), p.SaltLength)
	assert.Equal(t, uint32(32), p.KeyLength)
	require.NoError(t, p.Validate())
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*argon2id.Params)
		field  string
	}{
		{"memory below OWASP", func(p *argon2id.Params) { p.MemoryKiB = 19455 }, "memory_kib"},
		{"memory above bound", func(p *argon2id.Params) { p.MemoryKiB = argon2id.MaxMemoryKiB + 1 }, "memory_kib"},
		{"one iteration", func(p *argon2id.Params) { p.Iterations = 1 }, "iterations"},
		{"too many iterations", func(p *argon2id.Params) { p.Iterations = argon2id.MaxIterations + 1 }, "iterations"},
		{"no parallelism", func(p *argon2id.Params) { p.Parallelism = 0 }, "parallelism"},
		{"too much parallelism", func(p *argon2id.Params) { p.Parallelism = argon2id.MaxParallelism + 1 }, "parallelism"},
		{"short salt", func(p *argon2id.Params) { p.SaltLength = 15 }, "salt_length"},
		{"long salt", func(p *argon2id.Params) { p.SaltLength = argon2id.MaxSaltLength + 1 }, "salt_length"},
		{"short key", func(p *argon2id.Params) { p.KeyLength = 31 }, "key_length"},
		{"long key", func(p *argon2id.Params) { p.KeyLength = argon2id.MaxKeyLength + 1 }, "key_length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := argon2id.DefaultParams()
			tc.modify(&p)
			err := p.Validate()
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Fields, 1)
			assert.Equal(t, tc.field, ce.Fields[0].Field)
			_, err = argon2id.New(p)
			require.ErrorAs(t, err, &ce)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "bad parameters are a wiring mistake, not user input")
		})
	}
}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, argon2id.DefaultParams())

	enc, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$"), enc)
	parts := strings.Split(enc, "$")
	require.Len(t, parts, 6)
	assert.Len(t, parts[4], 22, "16-byte salt in unpadded base64")
	assert.Len(t, parts[5], 43, "32-byte key in unpadded base64")

	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", enc)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)

	ok, rehash, err = h.Verify(ctx, "correct horse battery stapler", enc)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.False(t, rehash)

	enc2, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err)
	assert.NotEqual(t, enc, enc2, "fresh salt per hash")
}

// TestKnownVector checks the encoding against an independent computation
// with a fixed salt.
func TestKnownVector(t *testing.T) {
	salt := bytes.Repeat([]byte{0x2a}, 16)
	h := newHasher(t, argon2id.DefaultParams(), argon2id.WithRandom(bytes.NewReader(salt)))
	enc, err := h.Hash(context.Background(), "password1234")
	require.NoError(t, err)
	key := argon2.IDKey([]byte("password1234"), salt, 2, 19456, 1, 32)
	want := fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s",
		"KioqKioqKioqKioqKioqKg", rawB64(key))
	assert.Equal(t, want, enc)
}

func TestNeedsRehashWhenParamsRaised(t *testing.T) {
	ctx := context.Background()
	old := newHasher(t, argon2id.DefaultParams())
	enc, err := old.Hash(ctx, "a long enough password")
	require.NoError(t, err)

	tests := []struct {
		name   string
		params argon2id.Params
		rehash bool
	}{
		{"same params", argon2id.DefaultParams(), false},
		{"more memory", func() argon2id.Params { p := argon2id.DefaultParams(); p.MemoryKiB = 20 * 1024; return p }(), true},
		{"more iterations", func() argon2id.Params { p := argon2id.DefaultParams(); p.Iterations = 3; return p }(), true},
		{"longer key", func() argon2id.Params { p := argon2id.DefaultParams(); p.KeyLength = 48; return p }(), true},
		{"longer salt", func() argon2id.Params { p := argon2id.DefaultParams(); p.SaltLength = 32; return p }(), true},
		{"more lanes only", func() argon2id.Params { p := argon2id.DefaultParams(); p.Parallelism = 2; return p }(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHasher(t, tc.params)
			ok, rehash, err := h.Verify(ctx, "a long enough password", enc)
			require.NoError(t, err)
			assert.True(t, ok, "an older hash still verifies")
			assert.Equal(t, tc.rehash, rehash)
		})
	}
}

// TestVerifyOlderWeakerHash: a hash made with parameters below today's
// minimum (m=4 MiB, t=1, 8-byte salt, 16-byte key) verifies and asks for a rehash.
func TestVerifyOlderWeakerHash(t *testing.T) {
	salt := []byte("saltsalt")
	key := argon2.IDKey([]byte("legacy password"), salt, 1, 4096, 1, 16)
	enc := fmt.Sprintf("$argon2id$v=19$m=4096,t=1,p=1$%s$%s", rawB64(salt), rawB64(key))
	h := newHasher(t, argon2id.DefaultParams())
	ok, rehash, err := h.Verify(context.Background(), "legacy password", enc)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, rehash)
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	salt := rawB64(bytes.Repeat([]byte{1}, 16))
	key := rawB64(bytes.Repeat([]byte{2}, 32))
	valid := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"dollars only", "$$$$$"},
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1)},
		{"missing version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key},
		{"extra field", valid + "$x"},
		{"no leading dollar", valid[1:]},
		{"params reordered", strings.Replace(valid, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1)},
		{"params missing", strings.Replace(valid, "m=19456,t=2,p=1", "m=19456,t=2", 1)},
		{"param extra", strings.Replace(valid, "m=19456,t=2,p=1", "m=19456,t=2,p=1,k=3", 1)},
		{"leading zero", strings.Replace(valid, "t=2", "t=02", 1)},
		{"plus sign", strings.Replace(valid, "t=2", "t=+2", 1)},
		{"negative", strings.Replace(valid, "t=2", "t=-2", 1)},
		{"zero iterations", strings.Replace(valid, "t=2", "t=0", 1)},
		{"zero lanes", strings.Replace(valid, "p=1", "p=0", 1)},
		{"hostile memory 4 TiB", strings.Replace(valid, "m=19456", "m=4294967295", 1)},
		{"memory above bound", strings.Replace(valid, "m=19456", fmt.Sprintf("m=%d", argon2id.MaxMemoryKiB+1), 1)},
		{"overflowing number", strings.Replace(valid, "m=19456", "m=99999999999999999999", 1)},
		{"hostile iterations", strings.Replace(valid, "t=2", "t=1000000", 1)},
		{"hostile lanes", strings.Replace(valid, "p=1", "p=255", 1)},
		{"memory below 8p", strings.Replace(valid, "m=19456,t=2,p=1", "m=8,t=2,p=2", 1)},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"url base64 salt", "$argon2id$v=19$m=19456,t=2,p=1$____________________AA$" + key},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$" + rawB64([]byte("1234567")) + "$" + key},
		{"empty key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
		{"short key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + rawB64(make([]byte, 15))},
		{"long key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + rawB64(make([]byte, 65))},
		{"huge string", valid + strings.Repeat("A", 1<<20)},
		{"non-canonical base64 tail", "$argon2id$v=19$m=19456,t=2,p=1$" + salt[:21] + "B$" + key},
	}
	h := newHasher(t, argon2id.DefaultParams())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "password1234", tc.encoded)
			require.Error(t, err)
			assert.ErrorIs(t, err, argon2id.ErrMalformedHash)
			assert.False(t, ok)
			assert.False(t, rehash)
		})
	}
	// The well-formed reference parses (and does not match).
	ok, _, err := h.Verify(context.Background(), "password1234", valid)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestOverlongPassword(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, argon2id.DefaultParams())
	long := strings.Repeat("x", argon2id.MaxPasswordBytes+1)
	_, err := h.Hash(ctx, long)
	require.ErrorIs(t, err, ecolaura.ErrInvalid)

	enc, err := h.Hash(ctx, "short password")
	require.NoError(t, err)
	ok, _, err := h.Verify(ctx, long, enc)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestRandomFailure(t *testing.T) {
	h := newHasher(t, argon2id.DefaultParams(), argon2id.WithRandom(errReader{}))
	_, err := h.Hash(context.Background(), "password1234")
	require.Error(t, err)
}

func TestCancelledContext(t *testing.T) {
	h := newHasher(t, argon2id.DefaultParams(), argon2id.WithMaxConcurrent(1))
	enc, err := h.Hash(context.Background(), "password1234")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = h.Hash(ctx, "password1234")
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = h.Verify(ctx, "password1234", enc)
	require.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentHashing(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, argon2id.DefaultParams(), argon2id.WithMaxConcurrent(2))
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := fmt.Sprintf("password-%d-xxxx", i)
			enc, err := h.Hash(ctx, pw)
			if err != nil {
				errs <- err
				return
			}
			ok, _, err := h.Verify(ctx, pw, enc)
			if err != nil || !ok {
				errs <- fmt.Errorf("verify %d: ok=%v err=%v", i, ok, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := newHasher(b, argon2id.DefaultParams())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := newHasher(b, argon2id.DefaultParams())
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$")
	f.Add("")
	h, err := argon2id.New(argon2id.DefaultParams())
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, encoded string) {
		// Must never panic; parameters are bounded so this stays cheap.
		_, _, _ = h.Verify(context.Background(), "password1234", encoded)
	})
}

func rawB64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }
