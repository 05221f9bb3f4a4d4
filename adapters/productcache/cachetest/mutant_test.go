package cachetest_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/adapters/productcache/cachetest"
)

// The suite must be able to fail: TestSuiteCatchesMutants runs it in a
// child process (this test binary running TestMutant with envMutant set)
// against each deliberately broken cache (a mutant) and expects the named
// subtest to fail.
const envMutant = "CACHETEST_MUTANT"

// cacheMutant changes a memory cache.
type cacheMutant struct {
	*memory.Cache
	ignoreTTL bool
	racyIncr  bool
	// addOverwrites makes AddMany a SetMany that claims every key.
	addOverwrites bool
	// racyAdd makes AddMany check and set in two steps.
	racyAdd bool
}

func (c cacheMutant) AddMany(ctx context.Context, values map[string][]byte, ttl time.Duration) ([]string, error) {
	switch {
	case c.addOverwrites:
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		return keys, c.Cache.SetMany(ctx, values, ttl)
	case c.racyAdd:
		var added []string
		for k, v := range values {
			if _, ok, _ := c.Get(ctx, k); ok {
				continue
			}
			time.Sleep(time.Microsecond) // widen the window a real race has anyway
			if err := c.Cache.Set(ctx, k, v, ttl); err != nil {
				return added, err
			}
			added = append(added, k)
		}
		return added, nil
	}
	return c.Cache.AddMany(ctx, values, ttl)
}

func (c cacheMutant) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if c.ignoreTTL {
		ttl = 0
	}
	return c.Cache.Set(ctx, key, value, ttl)
}

func (c cacheMutant) Incr(ctx context.Context, key string) (int64, error) {
	if !c.racyIncr {
		return c.Cache.Incr(ctx, key)
	}
	v, _, err := c.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	n, _ := strconv.ParseInt(string(v), 10, 64)
	n++
	time.Sleep(time.Microsecond) // widen the window a real race has anyway
	return n, c.Cache.Set(ctx, key, []byte(strconv.FormatInt(n, 10)), 0)
}

// mutants maps a mutant's name to its cache and the subtest it must fail.
var mutants = map[string]struct {
	cache    cacheMutant
	wantFail string
}{
	"ignores-ttl":    {cacheMutant{ignoreTTL: true}, "TTL"},
	"racy-incr":      {cacheMutant{racyIncr: true}, "IncrConcurrent"},
	"add-overwrites": {cacheMutant{addOverwrites: true}, "AddMany"},
	"racy-add":       {cacheMutant{racyAdd: true}, "AddManyConcurrent"},
}

func TestMutant(t *testing.T) {
	name := os.Getenv(envMutant)
	if name == "" {
		t.Skip("runs only as a child of TestSuiteCatchesMutants")
	}
	m, ok := mutants[name]
	require.True(t, ok, "unknown mutant %q", name)
	cachetest.Liveness = 2 * time.Second // the mutants that never expire a key should fail fast
	cachetest.Cache(t, func(*testing.T) productcache.Cache {
		c := m.cache
		c.Cache = memory.NewCache()
		return c
	})
}

func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("runs a child process per mutant")
	}
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$/^"+m.wantFail+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envMutant+"="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed on mutant %s; output:\n%s", name, out)
			require.Contains(t, string(out), "--- FAIL: TestMutant/"+m.wantFail+" ", "output:\n%s", out)
		})
	}
}
