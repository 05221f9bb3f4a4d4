package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ctxRecorder is a rueidis.Client that records the context of every call
// it forwards, so a test can check what the adapter handed to the driver.
type ctxRecorder struct {
	rueidis.Client
	mu   sync.Mutex
	ctxs []context.Context
}

func (r *ctxRecorder) record(ctx context.Context) {
	r.mu.Lock()
	r.ctxs = append(r.ctxs, ctx)
	r.mu.Unlock()
}

func (r *ctxRecorder) take() []context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ctxs
	r.ctxs = nil
	return out
}

func (r *ctxRecorder) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	r.record(ctx)
	return r.Client.Do(ctx, cmd)
}

func (r *ctxRecorder) DoMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	r.record(ctx)
	return r.Client.DoMulti(ctx, cmds...)
}

func (r *ctxRecorder) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	r.record(ctx)
	return r.Client.DoCache(ctx, cmd, ttl)
}

func (r *ctxRecorder) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	r.record(ctx)
	return r.Client.DoMultiCache(ctx, multi...)
}

// contextState calls Err and Done on ctx and returns what they said, or the
// panic they raised.
func contextState(ctx context.Context) (panicked any, done bool, err error) {
	defer func() { panicked = recover() }()
	err = ctx.Err()
	select {
	case <-ctx.Done():
		done = true
	default:
	}
	return nil, done, err
}

// TestCallContextsStayValidAfterTheCall checks that every context the cache
// hands to rueidis is a well-behaved context.Context after the call has
// returned: a driver may keep it (a queued or pipelined command), and
// Err/Done must then report the cancellation, not dereference nil. It
// covers a local (client-side cache) hit, which never asks for Done during
// the call, and a round trip.
func TestCallContextsStayValidAfterTheCall(t *testing.T) {
	url := sharedRedis(t)
	ctx := context.Background()
	for _, csc := range []bool{true, false} {
		c := newTestCache(t, url, func(cfg *Config) { cfg.ClientSideCaching = csc })
		rec := &ctxRecorder{Client: c.client}
		c.client = rec
		require.NoError(t, c.Set(ctx, "k", []byte("v"), time.Minute))

		calls := []struct {
			name string
			call func() error
		}{
			{"get (round trip)", func() error { _, _, err := c.Get(ctx, "k"); return err }},
			{"get (again: a local hit with client-side caching)", func() error { _, _, err := c.Get(ctx, "k"); return err }},
			{"get many", func() error { _, err := c.GetMany(ctx, []string{"k", "missing"}); return err }},
			{"get many again", func() error { _, err := c.GetMany(ctx, []string{"k", "missing"}); return err }},
			{"set", func() error { return c.Set(ctx, "k", []byte("w"), time.Minute) }},
			{"delete", func() error { return c.Delete(ctx, "k") }},
		}
		for _, tc := range calls {
			t.Run(fmt.Sprintf("csc=%v/%s", csc, tc.name), func(t *testing.T) {
				rec.take()
				require.NoError(t, tc.call())
				ctxs := rec.take()
				require.NotEmpty(t, ctxs, "the call reached the driver")
				for _, cctx := range ctxs {
					panicked, done, err := contextState(cctx)
					require.Nil(t, panicked, "Err/Done on the call's context after the call panicked")
					assert.ErrorIs(t, err, context.Canceled, "the call's context is released when the call returns")
					assert.True(t, done, "Done is closed once the context is released")
					_, hasDeadline := cctx.Deadline()
					assert.True(t, hasDeadline, "every call is bounded by the configured timeout")
				}
			})
		}
	}
}
