// Package cachetest is the conformance suite of [productcache.Cache],
// beside the package that declares (and consumes) the contract, as
// net/http/httptest is beside net/http. The memory and Redis adapters pass
// it (see this package's tests), and so must a cache an SDK user writes:
//
//	func TestCache(t *testing.T) {
//		cachetest.Cache(t, func(t *testing.T) productcache.Cache {
//			return newMyCache(t) // closed in t.Cleanup
//		})
//	}
package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/productcache"
)

// Factory returns a ready cache and arranges its clean-up with t.Cleanup.
// The cache may share its backend with other runs: the suite uses random
// keys.
type Factory func(t *testing.T) productcache.Cache

func randomToken(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b)
}

// Liveness bounds every wait for a key to expire. It only turns a hang
// into a failure.
var Liveness = 30 * time.Second

// eventually polls cond until it holds, failing the test after [Liveness].
func eventually(t *testing.T, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, cond, Liveness, 10*time.Millisecond, msgAndArgs...)
}

// race runs fn(0..n-1) in n goroutines released at once.
func race(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// ctx returns a context cancelled when the test ends.
func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

// Cache checks the semantics of [productcache.Cache]: miss and hit, values copied
// in and out, TTL expiry, no expiry for ttl <= 0, overwrite, Delete of many
// and missing keys, GetMany, SetMany, AddMany (only absent keys, one winner
// per key under concurrency), Incr from a missing key and under concurrency,
// binary-safe and large values (4 MiB). Every subtest uses its own random
// keys, so the cache may be shared; it must be large enough to keep the
// suite's few megabytes without evicting them (a cache may evict keys with a
// TTL, which the suite would report as a failure).
func Cache(t *testing.T, newCache Factory) {
	c := newCache(t)
	require.NotNil(t, c, "factory returned nil")
	// Every key the suite makes is deleted when it ends, so a shared
	// backend keeps nothing (keys without a TTL included).
	var mu sync.Mutex
	var made []string
	key := func() string {
		k := randomToken("cachetest:")
		mu.Lock()
		defer mu.Unlock()
		made = append(made, k)
		return k
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for chunk := range slices.Chunk(made, 100) {
			if err := c.Delete(context.Background(), chunk...); err != nil {
				t.Errorf("cachetest: deleting the suite's cache keys: %v", err)
				return
			}
		}
	})

	t.Run("MissThenHit", func(t *testing.T) {
		k := key()
		v, ok, err := c.Get(ctx(t), k)
		require.NoError(t, err)
		require.False(t, ok, "a key never set is a miss")
		require.Nil(t, v, "a miss returns nil")
		require.NoError(t, c.Set(ctx(t), k, []byte("hello"), time.Hour))
		v, ok, err = c.Get(ctx(t), k)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []byte("hello"), v)
	})
	t.Run("Overwrite", func(t *testing.T) {
		k := key()
		require.NoError(t, c.Set(ctx(t), k, []byte("first value, longer"), time.Hour))
		require.NoError(t, c.Set(ctx(t), k, []byte("second"), time.Hour))
		v, ok, err := c.Get(ctx(t), k)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []byte("second"), v)
	})
	t.Run("Copies", func(t *testing.T) {
		k := key()
		in := []byte("original")
		require.NoError(t, c.Set(ctx(t), k, in, time.Hour))
		in[0] = 'X'
		v, _, err := c.Get(ctx(t), k)
		require.NoError(t, err)
		require.Equal(t, []byte("original"), v, "mutating the value passed to Set changed the cache")
		v[0] = 'Y'
		many, err := c.GetMany(ctx(t), []string{k})
		require.NoError(t, err)
		require.Equal(t, []byte("original"), many[k], "mutating a value returned by Get changed the cache")
		many[k][0] = 'Z'
		v, _, err = c.Get(ctx(t), k)
		require.NoError(t, err)
		require.Equal(t, []byte("original"), v, "mutating a value returned by GetMany changed the cache")
	})
	t.Run("TTL", func(t *testing.T) {
		short, long, zero, negative := key(), key(), key(), key()
		require.NoError(t, c.Set(ctx(t), long, []byte("long"), time.Hour))
		require.NoError(t, c.Set(ctx(t), zero, []byte("zero"), 0))
		require.NoError(t, c.Set(ctx(t), negative, []byte("negative"), -time.Second))
		require.NoError(t, c.Set(ctx(t), short, []byte("short"), 50*time.Millisecond))
		eventually(t, func() bool {
			_, ok, err := c.Get(ctx(t), short)
			return err == nil && !ok
		}, "a key past its TTL must be a miss")
		many, err := c.GetMany(ctx(t), []string{short, long, zero, negative})
		require.NoError(t, err)
		require.NotContains(t, many, short, "GetMany returned an expired key")
		require.Equal(t, map[string][]byte{long: []byte("long"), zero: []byte("zero"), negative: []byte("negative")}, many,
			"keys with a long TTL or ttl <= 0 must still be there")
	})
	t.Run("SetRenewsTTL", func(t *testing.T) {
		k := key()
		require.NoError(t, c.Set(ctx(t), k, []byte("short"), 50*time.Millisecond))
		require.NoError(t, c.Set(ctx(t), k, []byte("forever"), 0))
		time.Sleep(150 * time.Millisecond)
		v, ok, err := c.Get(ctx(t), k)
		require.NoError(t, err)
		require.True(t, ok, "a Set with ttl <= 0 must replace an earlier TTL")
		require.Equal(t, []byte("forever"), v)
	})
	t.Run("Delete", func(t *testing.T) {
		a, b, kept, missing := key(), key(), key(), key()
		for _, k := range []string{a, b, kept} {
			require.NoError(t, c.Set(ctx(t), k, []byte(k), time.Hour))
		}
		require.NoError(t, c.Delete(ctx(t), a, missing, b), "Delete with a missing key")
		for _, k := range []string{a, b} {
			_, ok, err := c.Get(ctx(t), k)
			require.NoError(t, err)
			require.False(t, ok, "deleted key still present")
		}
		_, ok, err := c.Get(ctx(t), kept)
		require.NoError(t, err)
		require.True(t, ok, "Delete removed a key it was not given")
		require.NoError(t, c.Delete(ctx(t)), "Delete of no keys")
		require.NoError(t, c.Delete(ctx(t), missing), "Delete of only missing keys")
		require.NoError(t, c.Set(ctx(t), a, []byte("again"), time.Hour))
		v, ok, err := c.Get(ctx(t), a)
		require.NoError(t, err)
		require.True(t, ok, "a deleted key can be set again")
		require.Equal(t, []byte("again"), v)
	})
	t.Run("GetMany", func(t *testing.T) {
		a, b, missing := key(), key(), key()
		require.NoError(t, c.Set(ctx(t), a, []byte("A"), time.Hour))
		require.NoError(t, c.Set(ctx(t), b, []byte("B"), 0))
		for _, tc := range []struct {
			name string
			keys []string
			want map[string][]byte
		}{
			{"all present", []string{a, b}, map[string][]byte{a: []byte("A"), b: []byte("B")}},
			{"some missing", []string{missing, b, key()}, map[string][]byte{b: []byte("B")}},
			{"only missing", []string{missing}, map[string][]byte{}},
			{"none", nil, map[string][]byte{}},
			{"duplicates", []string{a, a}, map[string][]byte{a: []byte("A")}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := c.GetMany(ctx(t), tc.keys)
				require.NoError(t, err)
				require.Len(t, got, len(tc.want))
				for k, v := range tc.want {
					require.Equal(t, v, got[k], "key %s", k)
				}
			})
		}
	})
	t.Run("SetMany", func(t *testing.T) {
		a, b, old := key(), key(), key()
		require.NoError(t, c.Set(ctx(t), old, []byte("old"), time.Hour))
		in := map[string][]byte{a: []byte("A"), b: []byte("B"), old: []byte("new")}
		require.NoError(t, c.SetMany(ctx(t), in, time.Hour))
		in[a][0] = 'X'
		got, err := c.GetMany(ctx(t), []string{a, b, old})
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{a: []byte("A"), b: []byte("B"), old: []byte("new")}, got,
			"SetMany stores every value (copied), overwriting")
		require.NoError(t, c.SetMany(ctx(t), nil, time.Hour), "SetMany of nothing")

		short, forever := key(), key()
		require.NoError(t, c.SetMany(ctx(t), map[string][]byte{short: []byte("s")}, 50*time.Millisecond))
		require.NoError(t, c.SetMany(ctx(t), map[string][]byte{forever: []byte("f")}, 0))
		eventually(t, func() bool {
			_, ok, err := c.Get(ctx(t), short)
			return err == nil && !ok
		}, "a key stored by SetMany expires after its TTL")
		v, ok, err := c.Get(ctx(t), forever)
		require.NoError(t, err)
		require.True(t, ok, "SetMany with ttl <= 0 keeps the value")
		require.Equal(t, []byte("f"), v)
	})
	t.Run("AddMany", func(t *testing.T) {
		taken, free, expired := key(), key(), key()
		require.NoError(t, c.Set(ctx(t), taken, []byte("first"), time.Hour))
		require.NoError(t, c.Set(ctx(t), expired, []byte("gone"), 50*time.Millisecond))
		eventually(t, func() bool {
			_, ok, err := c.Get(ctx(t), expired)
			return err == nil && !ok
		}, "short key expires")
		added, err := c.AddMany(ctx(t), map[string][]byte{taken: []byte("second"), free: []byte("F"), expired: []byte("E")}, time.Hour)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{free, expired}, added, "AddMany stores only absent (or expired) keys")
		got, err := c.GetMany(ctx(t), []string{taken, free, expired})
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{taken: []byte("first"), free: []byte("F"), expired: []byte("E")}, got,
			"a key AddMany did not store keeps its value")
		added, err = c.AddMany(ctx(t), nil, time.Hour)
		require.NoError(t, err)
		require.Empty(t, added, "AddMany of nothing")

		short := key()
		added, err = c.AddMany(ctx(t), map[string][]byte{short: []byte("s")}, 50*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, []string{short}, added)
		eventually(t, func() bool {
			_, ok, err := c.Get(ctx(t), short)
			return err == nil && !ok
		}, "a key stored by AddMany expires after its TTL")
	})
	t.Run("AddManyConcurrent", func(t *testing.T) {
		// Several rounds: one round of a racy check-then-set may happen
		// to interleave harmlessly.
		for range 20 {
			keys := []string{key(), key(), key()}
			const goroutines = 16
			won := make([][]string, goroutines)
			errs := make([]error, goroutines)
			race(goroutines, func(i int) {
				values := map[string][]byte{}
				for _, k := range keys {
					values[k] = []byte{byte(i)}
				}
				won[i], errs[i] = c.AddMany(ctx(t), values, time.Hour)
			})
			winner := map[string]int{}
			for i := range goroutines {
				require.NoError(t, errs[i])
				for _, k := range won[i] {
					prev, dup := winner[k]
					require.False(t, dup, "AddMany stored %s for goroutines %d and %d", k, prev, i)
					winner[k] = i
				}
			}
			for _, k := range keys {
				i, ok := winner[k]
				require.True(t, ok, "no AddMany stored %s", k)
				v, _, err := c.Get(ctx(t), k)
				require.NoError(t, err)
				require.Equal(t, []byte{byte(i)}, v, "the stored value is the winner's")
			}
		}
	})
	t.Run("Incr", func(t *testing.T) {
		k := key()
		for want := int64(1); want <= 3; want++ {
			got, err := c.Incr(ctx(t), k)
			require.NoError(t, err)
			require.Equal(t, want, got, "Incr starts from 0 on a missing key and adds one")
		}
		other := key()
		got, err := c.Incr(ctx(t), other)
		require.NoError(t, err)
		require.Equal(t, int64(1), got, "counters are independent")
		require.NoError(t, c.Delete(ctx(t), k))
		got, err = c.Incr(ctx(t), k)
		require.NoError(t, err)
		require.Equal(t, int64(1), got, "Incr after Delete starts from 0 again")
	})
	t.Run("IncrNoExpiry", func(t *testing.T) {
		k, short := key(), key()
		_, err := c.Incr(ctx(t), k)
		require.NoError(t, err)
		require.NoError(t, c.Set(ctx(t), short, []byte("x"), 50*time.Millisecond))
		eventually(t, func() bool {
			_, ok, err := c.Get(ctx(t), short)
			return err == nil && !ok
		}, "short key expires")
		got, err := c.Incr(ctx(t), k)
		require.NoError(t, err)
		require.Equal(t, int64(2), got, "a counter created by Incr must not expire")
	})
	t.Run("IncrConcurrent", func(t *testing.T) {
		k := key()
		const goroutines, each = 20, 25
		vals := make([][]int64, goroutines)
		errs := make([]error, goroutines)
		race(goroutines, func(i int) {
			for range each {
				v, err := c.Incr(ctx(t), k)
				if err != nil {
					errs[i] = err
					return
				}
				vals[i] = append(vals[i], v)
			}
		})
		seen := map[int64]bool{}
		for i := range goroutines {
			require.NoError(t, errs[i])
			for _, v := range vals[i] {
				require.False(t, seen[v], "Incr returned %d twice", v)
				seen[v] = true
			}
		}
		for v := int64(1); v <= goroutines*each; v++ {
			require.True(t, seen[v], "no Incr returned %d", v)
		}
		got, err := c.Incr(ctx(t), k)
		require.NoError(t, err)
		require.Equal(t, int64(goroutines*each+1), got)
	})
	t.Run("BinarySafe", func(t *testing.T) {
		all := make([]byte, 512)
		for i := range all {
			all[i] = byte(i)
		}
		for _, tc := range []struct {
			name  string
			value []byte
		}{
			{"every byte", all},
			{"NUL only", []byte{0}},
			{"invalid UTF-8", []byte{0xff, 0xfe, 0xc3, 0x28}},
			{"CRLF and RESP-like", []byte("\r\n$3\r\nfoo\r\n*1\r\n")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				k := key()
				require.NoError(t, c.Set(ctx(t), k, tc.value, time.Hour))
				v, ok, err := c.Get(ctx(t), k)
				require.NoError(t, err)
				require.True(t, ok)
				require.True(t, bytes.Equal(tc.value, v), "value changed on the way")
			})
		}
		t.Run("empty value is a hit", func(t *testing.T) {
			k := key()
			require.NoError(t, c.Set(ctx(t), k, []byte{}, time.Hour))
			v, ok, err := c.Get(ctx(t), k)
			require.NoError(t, err)
			require.True(t, ok, "an empty value must be a hit, not a miss")
			require.Empty(t, v)
		})
		t.Run("odd keys", func(t *testing.T) {
			for _, suffix := range []string{" with spaces", ":colons:", "ünïcödé", "*?[glob]", "\nnewline"} {
				k := key() + suffix
				require.NoError(t, c.Set(ctx(t), k, []byte(suffix), time.Hour))
				v, ok, err := c.Get(ctx(t), k)
				require.NoError(t, err)
				require.True(t, ok, "key %q", k)
				require.Equal(t, []byte(suffix), v)
				require.NoError(t, c.Delete(ctx(t), k))
			}
		})
	})
	t.Run("LargeValue", func(t *testing.T) {
		k := key()
		big := make([]byte, 4<<20)
		_, _ = rand.Read(big)
		require.NoError(t, c.Set(ctx(t), k, big, time.Hour))
		v, ok, err := c.Get(ctx(t), k)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, bytes.Equal(big, v), "a 4 MiB value changed on the way")
		require.NoError(t, c.Delete(ctx(t), k))
	})
}
