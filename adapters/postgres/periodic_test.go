package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ports"
)

// A runner with periodic jobs enqueues them every interval (from River's
// leader) and runs them with its handler.
func TestPeriodicJobs(t *testing.T) {
	db := openDB(t, postgres.Config{})
	var runs atomic.Int32
	r, err := db.NewJobRunner(postgres.RunnerConfig{
		PollInterval: 100 * time.Millisecond,
		PeriodicJobs: []ports.PeriodicJob{{Job: ports.Job{Kind: "test.periodic", Payload: []byte(`{"n":1}`)}, Interval: 300 * time.Millisecond}},
	})
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), ports.JobHandlerFunc(func(_ context.Context, job ports.Job) error {
		if job.Kind == "test.periodic" && string(job.Payload) == `{"n":1}` {
			runs.Add(1)
		}
		return nil
	})))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
	})
	require.Eventually(t, func() bool { return runs.Load() >= 2 }, 45*time.Second, 50*time.Millisecond, "enqueued and run repeatedly")

	_, err = db.NewJobRunner(postgres.RunnerConfig{PeriodicJobs: []ports.PeriodicJob{{Job: ports.Job{Kind: "x"}}}})
	assert.Error(t, err, "an interval is required")
}
