package ratelimittest_test

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/httpapi/ratelimittest"
	"github.com/ecolaura/ecolaura/adapters/memory"
)

// The suite must be able to fail: TestSuiteCatchesMutants runs it in a
// child process (this test binary running TestMutant with envMutant set)
// against each deliberately broken limiter (a mutant) and expects the named
// subtest to fail.
const envMutant = "RATELIMITTEST_MUTANT"

type neverDeny struct{}

func (neverDeny) Allow(context.Context, string, httpapi.RateLimit) (httpapi.RateDecision, error) {
	return httpapi.RateDecision{Allowed: true, Remaining: 1}, nil
}

func (neverDeny) Refund(context.Context, string, httpapi.RateLimit) error { return nil }

// refundIgnored is a limiter whose Refund gives nothing back.
type refundIgnored struct{ httpapi.RateLimiter }

func (refundIgnored) Refund(context.Context, string, httpapi.RateLimit) error { return nil }

// refundUnbounded is a limiter whose Refund forgets the key, giving back
// the whole burst.
type refundUnbounded struct {
	httpapi.RateLimiter
	fresh func() httpapi.RateLimiter
	mu    *sync.Mutex
}

func (r *refundUnbounded) Allow(ctx context.Context, key string, l httpapi.RateLimit) (httpapi.RateDecision, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.RateLimiter.Allow(ctx, key, l)
}

func (r *refundUnbounded) Refund(context.Context, string, httpapi.RateLimit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.RateLimiter = r.fresh()
	return nil
}

// mutants maps a mutant's name to its limiter and the subtest it must fail.
var mutants = map[string]struct {
	limiter  func() httpapi.RateLimiter
	wantFail string
}{
	"never-denies":   {func() httpapi.RateLimiter { return neverDeny{} }, "BurstThenDenied"},
	"refund-ignored": {func() httpapi.RateLimiter { return refundIgnored{memory.NewRateLimiter()} }, "Refund"},
	"refund-unbounded": {func() httpapi.RateLimiter {
		fresh := func() httpapi.RateLimiter { return memory.NewRateLimiter() }
		return &refundUnbounded{RateLimiter: fresh(), fresh: fresh, mu: &sync.Mutex{}}
	}, "Refund"},
}

func TestMutant(t *testing.T) {
	name := os.Getenv(envMutant)
	if name == "" {
		t.Skip("runs only as a child of TestSuiteCatchesMutants")
	}
	m, ok := mutants[name]
	require.True(t, ok, "unknown mutant %q", name)
	ratelimittest.Liveness = 2 * time.Second
	ratelimittest.RateLimiter(t, func(*testing.T) httpapi.RateLimiter { return m.limiter() })
}

func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("child process")
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
