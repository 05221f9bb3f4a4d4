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

func TestCacheEvictsTTLEntriesFirstNeverCounters(t *testing.T) {
	ctx := context.Background()
	const max = 64
	c := memory.NewCache(memory.WithMaxEntries(max))
	for i := range max / 2 {
		_, err := c.Incr(ctx, fmt.Sprintf("counter-%d", i))
		require.NoError(t, err)
	}
	for i := range 10 * max {
		require.NoError(t, c.Set(ctx, fmt.Sprintf("ttl-%d", i), []byte("v"), time.Hour))
	}
	st := c.Stats()
	assert.LessOrEqual(t, st.Entries, max+32, "bounded (per-shard rounding aside)")
	assert.Positive(t, st.Evictions)
	for i := range max / 2 {
		v, ok, err := c.Get(ctx, fmt.Sprintf("counter-%d", i))
		require.NoError(t, err)
		require.True(t, ok, "counter %d evicted", i)
		assert.Equal(t, "1", string(v))
	}
	// Values without TTL go only when no TTL entry is left to evict.
	c = memory.NewCache(memory.WithMaxEntries(1))
	require.NoError(t, c.Set(ctx, "keep", []byte("v"), 0))
	require.NoError(t, c.Set(ctx, "other", []byte("v"), 0))
	assert.LessOrEqual(t, c.Stats().Entries, 32)
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
