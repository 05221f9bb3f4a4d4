package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestCacheTTL(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		ttl     time.Duration
		advance time.Duration
		hit     bool
	}{
		{"fresh", time.Minute, 59 * time.Second, true},
		{"at expiry", time.Minute, time.Minute, false},
		{"expired", time.Minute, time.Hour, false},
		{"no ttl", 0, 1000 * time.Hour, true},
		{"negative ttl keeps", -time.Second, 1000 * time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := memory.NewManualClock(t0)
			c := memory.NewCache(memory.WithCacheClock(clk))
			require.NoError(t, c.Set(ctx, "k", []byte("v"), tc.ttl))
			clk.Advance(tc.advance)
			v, ok, err := c.Get(ctx, "k")
			require.NoError(t, err)
			assert.Equal(t, tc.hit, ok)
			if tc.hit {
				assert.Equal(t, []byte("v"), v)
			} else {
				assert.Nil(t, v)
			}
		})
	}
}

func TestCacheCopiesAndDelete(t *testing.T) {
	ctx := context.Background()
	c := memory.NewCache()
	in := []byte("abc")
	require.NoError(t, c.Set(ctx, "a", in, 0))
	in[0] = 'X'
	out, ok, err := c.Get(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []byte("abc"), out)
	out[0] = 'Y'
	many, err := c.GetMany(ctx, []string{"a", "missing"})
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{"a": []byte("abc")}, many)
	many["a"][0] = 'Z'
	require.NoError(t, c.Delete(ctx, "a", "missing"))
	_, ok, err = c.Get(ctx, "a")
	require.NoError(t, err)
	assert.False(t, ok)
	st := c.Stats()
	assert.Equal(t, int64(2), st.Hits, "Get and GetMany hits")
	assert.Equal(t, int64(2), st.Misses, "GetMany and Get misses")
}

func TestCacheIncr(t *testing.T) {
	ctx := context.Background()
	clk := memory.NewManualClock(t0)
	c := memory.NewCache(memory.WithCacheClock(clk))
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Incr(ctx, "n")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	v, ok, err := c.Get(ctx, "n")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "50", string(v))
	clk.Advance(1000 * time.Hour)
	n, err := c.Incr(ctx, "n")
	require.NoError(t, err)
	assert.Equal(t, int64(51), n, "counters do not expire")
	// An expired key starts again from 0.
	require.NoError(t, c.Set(ctx, "e", []byte("41"), time.Second))
	n, err = c.Incr(ctx, "e")
	require.NoError(t, err)
	assert.Equal(t, int64(42), n, "a live key keeps counting")
	clk.Advance(time.Hour)
	n, err = c.Incr(ctx, "e")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	require.NoError(t, c.Set(ctx, "s", []byte("text"), 0))
	_, err = c.Incr(ctx, "s")
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
}

// TestCacheBoundsHold fills caches past their bounds with every kind of
// key and checks that the entry and byte bounds hold (issue 11: counters
// written by Incr used to be exempt, so a cache of counters grew without
// bound; issue 10: the bound counted entries, not bytes).
func TestCacheBoundsHold(t *testing.T) {
	ctx := context.Background()
	const maxEntries, maxBytes = 64, 64 << 10
	tests := []struct {
		name  string
		opts  []memory.CacheOption
		write func(c *memory.Cache, i int) error
		check func(t *testing.T, st memory.CacheStats)
	}{
		{
			name: "counters only",
			opts: []memory.CacheOption{memory.WithMaxEntries(maxEntries)},
			write: func(c *memory.Cache, i int) error {
				_, err := c.Incr(ctx, fmt.Sprintf("counter-%d", i))
				return err
			},
			check: func(t *testing.T, st memory.CacheStats) {
				assert.LessOrEqual(t, st.Entries, maxEntries+32, "bounded (per-shard rounding aside)")
			},
		},
		{
			name: "values without TTL",
			opts: []memory.CacheOption{memory.WithMaxEntries(maxEntries)},
			write: func(c *memory.Cache, i int) error {
				return c.Set(ctx, fmt.Sprintf("plain-%d", i), []byte("v"), 0)
			},
			check: func(t *testing.T, st memory.CacheStats) {
				assert.LessOrEqual(t, st.Entries, maxEntries+32)
			},
		},
		{
			name: "1 KiB values by bytes",
			opts: []memory.CacheOption{memory.WithMaxBytes(maxBytes)},
			write: func(c *memory.Cache, i int) error {
				return c.Set(ctx, fmt.Sprintf("big-%d", i), make([]byte, 1024), time.Hour)
			},
			check: func(t *testing.T, st memory.CacheStats) {
				assert.LessOrEqual(t, st.Bytes, int64(maxBytes))
				assert.Less(t, st.Entries, maxBytes/1024)
			},
		},
		{
			name: "SetMany and AddMany by bytes",
			opts: []memory.CacheOption{memory.WithMaxBytes(maxBytes)},
			write: func(c *memory.Cache, i int) error {
				k := fmt.Sprintf("many-%d", i)
				if i%2 == 0 {
					return c.SetMany(ctx, map[string][]byte{k: make([]byte, 900)}, time.Hour)
				}
				_, err := c.AddMany(ctx, map[string][]byte{k: make([]byte, 900)}, 0)
				return err
			},
			check: func(t *testing.T, st memory.CacheStats) {
				assert.LessOrEqual(t, st.Bytes, int64(maxBytes))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := memory.NewCache(tt.opts...)
			for i := range 2000 {
				require.NoError(t, tt.write(c, i))
			}
			st := c.Stats()
			assert.Positive(t, st.Evictions)
			tt.check(t, st)
		})
	}
}

func TestCacheEvictsTTLEntriesFirst(t *testing.T) {
	ctx := context.Background()
	c := memory.NewCache(memory.WithMaxEntries(32)) // one entry per shard
	require.NoError(t, c.Set(ctx, "keep", []byte("v"), 0))
	for i := range 500 {
		require.NoError(t, c.Set(ctx, fmt.Sprintf("ttl-%d", i), []byte("v"), time.Hour))
	}
	// Whatever shard "keep" is in, a TTL entry came after it and had to
	// make room; a value without TTL goes only when no TTL entry is left.
	_, ok, err := c.Get(ctx, "keep")
	require.NoError(t, err)
	assert.False(t, ok, "one entry per shard: the newest entry evicts the older one")
	c = memory.NewCache(memory.WithMaxEntries(64)) // two per shard
	require.NoError(t, c.Set(ctx, "keep", []byte("v"), 0))
	for i := range 500 {
		require.NoError(t, c.Set(ctx, fmt.Sprintf("ttl-%d", i), []byte("v"), time.Hour))
	}
	_, ok, err = c.Get(ctx, "keep")
	require.NoError(t, err)
	assert.True(t, ok, "a value without TTL outlives the TTL entries")
}

func TestCacheValueLargerThanTheBoundIsNotKept(t *testing.T) {
	ctx := context.Background()
	c := memory.NewCache(memory.WithMaxBytes(1 << 10))
	require.NoError(t, c.Set(ctx, "k", []byte("small"), time.Hour))
	require.NoError(t, c.Set(ctx, "k", make([]byte, 2<<10), time.Hour))
	_, ok, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok, "a value over the bound is not kept, and the old value is gone")
	assert.Zero(t, c.Stats().Bytes)
}

func TestCacheConcurrentUse(t *testing.T) {
	ctx := context.Background()
	c := memory.NewCache(memory.WithMaxEntries(100))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprintf("k%d", (g*31+i)%200)
				assert.NoError(t, c.Set(ctx, k, []byte(k), time.Minute))
				if v, ok, _ := c.Get(ctx, k); ok {
					assert.Equal(t, k, string(v))
				}
				_, _ = c.GetMany(ctx, []string{k, "k1"})
				assert.NoError(t, c.Delete(ctx, k))
			}
		}()
	}
	wg.Wait()
}

func TestCacheHugeTTLNeverExpires(t *testing.T) {
	ctx := context.Background()
	c := memory.NewCache()
	require.NoError(t, c.Set(ctx, "k", []byte("v"), time.Duration(1<<63-1)))
	_, ok, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.True(t, ok)
}
