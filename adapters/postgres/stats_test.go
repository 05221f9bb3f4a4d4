package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ports"
)

// kindHandler fails each kind's first fails[kind] runs, and every run of
// a kind in permanent with ports.ErrPermanent.
type kindHandler struct {
	mu        sync.Mutex
	runs      map[string]int
	fails     map[string]int
	permanent map[string]bool
}

func (h *kindHandler) HandleJob(_ context.Context, j ports.Job) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs[j.Kind]++
	if h.permanent[j.Kind] {
		return fmt.Errorf("bad payload: %w", ports.ErrPermanent)
	}
	if h.runs[j.Kind] <= h.fails[j.Kind] {
		return errors.New("injected failure")
	}
	return nil
}

// TestStats: the queue depth counts waiting jobs by Ecolaura kind and
// state; the runner counts each run's outcome by kind; the pool reports
// its connections and acquisitions.
func TestStats(t *testing.T) {
	db := openDB(t, postgres.Config{MaxConns: 7})
	ctx := t.Context()
	enqueue := func(kind string, n int) {
		t.Helper()
		require.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			for i := range n {
				if err := tx.Jobs().Enqueue(ctx, ports.Job{Kind: kind, Payload: fmt.Appendf(nil, `{"i":%d}`, i)}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	enqueue("stats.ok", 2)
	enqueue("stats.retry", 1)
	enqueue("stats.permanent", 1)

	depths, err := db.QueueDepths(ctx)
	require.NoError(t, err)
	assert.Equal(t, []postgres.QueueDepth{
		{Kind: "stats.ok", State: "available", Jobs: 2},
		{Kind: "stats.permanent", State: "available", Jobs: 1},
		{Kind: "stats.retry", State: "available", Jobs: 1},
	}, depths, "nothing runs the jobs yet")

	h := &kindHandler{runs: map[string]int{}, fails: map[string]int{"stats.retry": 1}, permanent: map[string]bool{"stats.permanent": true}}
	r := startJobs(t, db, h)
	require.Eventually(t, func() bool {
		d, err := db.QueueDepths(ctx)
		return err == nil && len(d) == 0
	}, 30*time.Second, 20*time.Millisecond, "every job finishes")
	out := r.Outcomes()
	require.Len(t, out, 3)
	for _, o := range out {
		assert.Positive(t, o.Duration, o.Kind)
		o.Duration = 0
		switch o.Kind {
		case "stats.ok":
			assert.Equal(t, postgres.JobOutcomes{Kind: o.Kind, Completed: 2}, o)
		case "stats.retry":
			assert.Equal(t, postgres.JobOutcomes{Kind: o.Kind, Completed: 1, Retried: 1}, o)
		case "stats.permanent":
			assert.Equal(t, postgres.JobOutcomes{Kind: o.Kind, Cancelled: 1}, o)
		}
	}

	ps := db.PoolStats()
	assert.EqualValues(t, 7, ps.MaxConns)
	assert.Positive(t, ps.Acquires)
	assert.LessOrEqual(t, ps.AcquiredConns+ps.IdleConns, ps.TotalConns)
}
