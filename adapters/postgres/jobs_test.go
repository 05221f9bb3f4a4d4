package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

type recorder struct {
	mu   sync.Mutex
	seen map[string]int
	fail map[string]int
}

func (r *recorder) HandleJob(_ context.Context, j ports.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[string(j.Payload)]++
	if r.seen[string(j.Payload)] <= r.fail[string(j.Payload)] {
		return errors.New("injected failure")
	}
	return nil
}

func (r *recorder) count(payload string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[payload]
}

func riverJobs(t *testing.T, db *postgres.Database, state string) int {
	t.Helper()
	n, err := db.DB().NewSelect().Table("river_job").Where("state = ?", state).Count(t.Context())
	require.NoError(t, err)
	return int(n)
}

// A job enqueued in a rolled-back transaction is never stored, so it never
// runs; a committed one runs exactly once (its handler succeeds) and River
// records it completed. A failing handler is retried.
func TestJobsCommitWithTransaction(t *testing.T) {
	db := openDB(t, postgres.Config{})
	rec := &recorder{seen: map[string]int{}, fail: map[string]int{`{"n":"retry"}`: 2}}
	startJobs(t, db, rec)
	ctx := t.Context()

	rollback := errors.New("roll back")
	err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		require.NoError(t, tx.Jobs().Enqueue(ctx, ports.Job{Kind: "test", Payload: []byte(`{"n":"rolled-back"}`)}))
		return rollback
	})
	require.ErrorIs(t, err, rollback)

	for _, p := range []string{`{"n":"committed"}`, `{"n":"retry"}`} {
		require.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "test", Payload: []byte(p)})
		}))
	}
	require.Eventually(t, func() bool { return riverJobs(t, db, "completed") == 2 }, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, 1, rec.count(`{"n":"committed"}`), "committed job runs once")
	assert.Equal(t, 3, rec.count(`{"n":"retry"}`), "failing job retried until it succeeds")
	assert.Zero(t, rec.count(`{"n":"rolled-back"}`), "rolled-back job never runs")
	n, err := db.DB().NewSelect().Table("river_job").Count(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "the rolled-back job was never stored")
}

// A job committed while no runner works runs once a runner starts, and a
// second Start is refused.
func TestJobRunnerStartsLater(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	require.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "test", Payload: []byte(`"later"`)})
	}))
	rec := &recorder{seen: map[string]int{}, fail: map[string]int{}}
	r := startJobs(t, db, rec)
	require.Error(t, r.Start(ctx, rec))
	require.Eventually(t, func() bool { return rec.count(`"later"`) == 1 }, 30*time.Second, 20*time.Millisecond)
}

// A worker stopped in the middle of a job (its context cancelled) does not
// lose it: the job is retried by the next runner and completes once.
func TestJobSurvivesWorkerRestart(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	started := make(chan struct{}, 1)
	var completed, interrupted sync.Map
	handler := ports.JobHandlerFunc(func(ctx context.Context, j ports.Job) error {
		if _, ok := interrupted.Load(string(j.Payload)); !ok {
			interrupted.Store(string(j.Payload), true)
			started <- struct{}{}
			<-ctx.Done() // first run: hang until the worker is stopped
			return ctx.Err()
		}
		n, _ := completed.LoadOrStore(string(j.Payload), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return nil
	})
	r1, err := db.NewJobRunner(postgres.RunnerConfig{PollInterval: 100 * time.Millisecond,
		RetryBackoff: func(int) time.Duration { return 10 * time.Millisecond }})
	require.NoError(t, err)
	require.NoError(t, r1.Start(ctx, handler))
	require.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "test", Payload: []byte(`"restart"`)})
	}))
	<-started
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	require.NoError(t, r1.Stop(stopCtx), "stop cancels the running job")

	startJobs(t, db, handler)
	require.Eventually(t, func() bool {
		n, ok := completed.Load(`"restart"`)
		return ok && n.(*atomic.Int64).Load() == 1
	}, 30*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return riverJobs(t, db, "completed") == 1 }, 30*time.Second, 20*time.Millisecond)
}

// TestRunnerRescuesStuckJobsSoon: a job whose worker died is rescued
// shortly after the job timeout, not after River's default hour (issue 10
// item 16; the crash itself is exercised by cmd/ecolaura's
// TestJobInterruptedByKilledWorkerIsRescued).
func TestRunnerRescuesStuckJobsSoon(t *testing.T) {
	db := openDB(t, postgres.Config{})
	tests := []struct {
		name             string
		cfg              postgres.RunnerConfig
		timeout, rescue  time.Duration
		wantConfigFields []string
	}{
		{name: "defaults", timeout: time.Minute, rescue: 90 * time.Second},
		{name: "job timeout", cfg: postgres.RunnerConfig{JobTimeout: 10 * time.Second}, timeout: 10 * time.Second, rescue: 15 * time.Second},
		{name: "explicit", cfg: postgres.RunnerConfig{JobTimeout: 10 * time.Second, RescueAfter: time.Minute}, timeout: 10 * time.Second, rescue: time.Minute},
		{name: "rescue before the timeout", cfg: postgres.RunnerConfig{JobTimeout: 10 * time.Second, RescueAfter: 5 * time.Second}, wantConfigFields: []string{"rescue_after"}},
		{name: "negative", cfg: postgres.RunnerConfig{RescueAfter: -time.Second}, wantConfigFields: []string{"rescue_after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := db.NewJobRunner(tt.cfg)
			if tt.wantConfigFields != nil {
				var ce *ecolaura.ConfigError
				require.ErrorAs(t, err, &ce)
				var fields []string
				for _, f := range ce.Fields {
					fields = append(fields, f.Field)
				}
				assert.Equal(t, tt.wantConfigFields, fields)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.timeout, r.Config().JobTimeout)
			assert.Equal(t, tt.rescue, r.Config().RescueAfter)
		})
	}
}
