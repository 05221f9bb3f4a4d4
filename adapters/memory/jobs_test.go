package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// recorder is a handler that records the payloads it ran.
type recorder struct {
	mu   sync.Mutex
	seen []string
	fn   func(ctx context.Context, job ports.Job) error
}

func (r *recorder) HandleJob(ctx context.Context, job ports.Job) error {
	r.mu.Lock()
	r.seen = append(r.seen, string(job.Payload))
	r.mu.Unlock()
	if r.fn != nil {
		return r.fn(ctx, job)
	}
	return nil
}

func (r *recorder) runs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func startRunner(t *testing.T, h ports.JobHandler, opts ...memory.RunnerOption) *memory.JobRunner {
	t.Helper()
	r := memory.NewJobRunner(append([]memory.RunnerOption{memory.WithBackoff(time.Millisecond, 4*time.Millisecond)}, opts...)...)
	require.NoError(t, r.Start(context.Background(), h))
	t.Cleanup(func() { assert.NoError(t, r.Stop(context.Background())) })
	return r
}

func waitIdle(t *testing.T, r *memory.JobRunner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.WaitIdle(ctx))
}

func TestJobsDeliveredOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	var db *memory.Database
	rec := &recorder{}
	// The handler sees the data committed with its job.
	rec.fn = func(ctx context.Context, job ports.Job) error {
		_, err := db.Products().Get(ctx, ecolaura.ID(job.Payload))
		return err
	}
	r := startRunner(t, rec, memory.WithMaxAttempts(1))
	db = memory.NewDatabase(memory.WithJobRunner(r))
	errBoom := errors.New("boom")

	tests := []struct {
		name    string
		fail    bool
		panics  bool
		wantRun bool
	}{
		{name: "commit", wantRun: true},
		{name: "error", fail: true},
		{name: "panic", panics: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := ecolaura.ID(fmt.Sprintf("10000000-0000-7000-8000-%012d", i))
			do := func() error {
				return db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
					if err := tx.Products().Create(ctx, newProduct(id, 1)); err != nil {
						return err
					}
					payload := []byte(id)
					if err := tx.Jobs().Enqueue(ctx, ports.Job{Kind: "process_order", Payload: payload}); err != nil {
						return err
					}
					payload[0] = 'X' // the queue copied the payload
					switch {
					case tc.fail:
						return errBoom
					case tc.panics:
						panic("boom")
					}
					return nil
				})
			}
			if tc.panics {
				require.Panics(t, func() { _ = do() })
			} else if tc.fail {
				require.ErrorIs(t, do(), errBoom)
			} else {
				require.NoError(t, do())
			}
			waitIdle(t, r)
			assert.Equal(t, tc.wantRun, contains(rec.runs(), string(id)))
		})
	}
	assert.Empty(t, r.Dead(), "every delivered job found its committed product")
	require.ErrorIs(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		return tx.Jobs().Enqueue(ctx, ports.Job{})
	}), ecolaura.ErrInvalid)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestJobsCommittedBeforeStartRunOnStart(t *testing.T) {
	ctx := context.Background()
	r := memory.NewJobRunner()
	db := memory.NewDatabase(memory.WithJobRunner(r))
	for i := range 3 {
		require.NoError(t, db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			return tx.Jobs().Enqueue(ctx, ports.Job{Kind: "k", Payload: []byte{byte('a' + i)}})
		}))
	}
	assert.Equal(t, 3, r.Stats().Queued)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, r.WaitIdle(cancelled), context.Canceled, "queued jobs keep the runner busy")
	rec := &recorder{}
	require.NoError(t, r.Start(ctx, rec))
	t.Cleanup(func() { assert.NoError(t, r.Stop(context.Background())) })
	require.Error(t, r.Start(ctx, rec), "already started")
	waitIdle(t, r)
	assert.ElementsMatch(t, []string{"a", "b", "c"}, rec.runs())
	assert.Equal(t, int64(3), r.Stats().Succeeded)
}

func TestJobRetriesUntilSuccess(t *testing.T) {
	var calls atomic.Int32
	rec := &recorder{fn: func(context.Context, ports.Job) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("transient")
		case 2:
			panic("also transient")
		}
		return nil
	}}
	r := startRunner(t, rec, memory.WithMaxAttempts(5))
	require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k", Payload: []byte("x")}))
	waitIdle(t, r)
	assert.Equal(t, int32(3), calls.Load())
	st := r.Stats()
	assert.Equal(t, int64(1), st.Succeeded)
	assert.Equal(t, int64(2), st.Failed)
	assert.Empty(t, r.Dead())
}

func TestJobDeadAfterMaxAttempts(t *testing.T) {
	errPerm := errors.New("permanent")
	rec := &recorder{fn: func(context.Context, ports.Job) error { return errPerm }}
	r := startRunner(t, rec, memory.WithMaxAttempts(3))
	require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k", Payload: []byte("x")}))
	waitIdle(t, r)
	assert.Equal(t, []string{"x", "x", "x"}, rec.runs())
	dead := r.Dead()
	require.Len(t, dead, 1)
	assert.Equal(t, 3, dead[0].Attempts)
	assert.ErrorIs(t, dead[0].Err, errPerm)
	assert.Equal(t, ports.Job{Kind: "k", Payload: []byte("x")}, dead[0].Job)
	assert.Equal(t, int64(1), r.Stats().Dead)
}

func TestManyJobsRunOnce(t *testing.T) {
	var mu sync.Mutex
	count := map[string]int{}
	h := ports.JobHandlerFunc(func(_ context.Context, job ports.Job) error {
		mu.Lock()
		count[string(job.Payload)]++
		mu.Unlock()
		return nil
	})
	r := startRunner(t, h, memory.WithWorkers(8))
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				assert.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k", Payload: fmt.Appendf(nil, "%d-%d", g, i)}))
			}
		}()
	}
	wg.Wait()
	waitIdle(t, r)
	require.Len(t, count, 500)
	for k, n := range count {
		require.Equal(t, 1, n, k)
	}
}

func TestGracefulStop(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	h := ports.JobHandlerFunc(func(ctx context.Context, job ports.Job) error {
		if string(job.Payload) == "slow" {
			close(started)
			<-release
			finished.Store(true)
		}
		return nil
	})
	r := memory.NewJobRunner(memory.WithWorkers(1))
	require.NoError(t, r.Start(context.Background(), h))
	require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k", Payload: []byte("slow")}))
	<-started
	stopped := make(chan error)
	go func() { stopped <- r.Stop(context.Background()) }()
	close(release)
	require.NoError(t, <-stopped)
	assert.True(t, finished.Load(), "Stop returned only after the running job finished")
	assert.Equal(t, 0, r.Stats().Running)
	// A stopped runner takes no jobs: they wait in the queue.
	require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k", Payload: []byte("later")}))
	assert.Equal(t, 1, r.Stats().Queued)
	assert.Equal(t, int64(1), r.Stats().Succeeded)
	// Restarting runs what was left queued.
	require.NoError(t, r.Start(context.Background(), h))
	waitIdle(t, r)
	require.NoError(t, r.Stop(context.Background()))
	assert.Equal(t, int64(2), r.Stats().Succeeded)
}

func TestStopHonoursDeadline(t *testing.T) {
	started := make(chan struct{})
	cancelled := make(chan struct{})
	h := ports.JobHandlerFunc(func(ctx context.Context, job ports.Job) error {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	})
	r := memory.NewJobRunner(memory.WithWorkers(1), memory.WithMaxAttempts(1))
	require.NoError(t, r.Start(context.Background(), h))
	require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k"}))
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, r.Stop(ctx), context.Canceled)
	<-cancelled // the running handler's context was cancelled
}

// TestStopParksRetryTimers checks that nothing of a stopped runner keeps
// running: a retry waiting for its backoff when Stop is called has no timer
// left (it does not move to the queue however long the runner stays
// stopped), and it runs once the runner is started again. Time is the fake
// clock of a synctest bubble, so the test is exact and instant.
func TestStopParksRetryTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const backoff = time.Minute
		var calls atomic.Int32
		h := ports.JobHandlerFunc(func(context.Context, ports.Job) error {
			if calls.Add(1) == 1 {
				return errors.New("transient")
			}
			return nil
		})
		r := memory.NewJobRunner(memory.WithWorkers(1), memory.WithBackoff(backoff, backoff))
		require.NoError(t, r.Start(context.Background(), h))
		require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k"}))
		synctest.Wait() // the first attempt failed; its retry waits
		require.Equal(t, memory.RunnerStats{Retrying: 1, Failed: 1}, r.Stats())

		require.NoError(t, r.Stop(context.Background()))
		time.Sleep(10 * backoff) // fake time: far past any backoff
		synctest.Wait()
		assert.Equal(t, memory.RunnerStats{Retrying: 1, Failed: 1}, r.Stats(),
			"no timer of the stopped runner fired: the retry is still pending, not queued")

		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		require.ErrorIs(t, r.WaitIdle(ctx), context.DeadlineExceeded, "a pending retry keeps a stopped runner busy")

		require.NoError(t, r.Start(context.Background(), h))
		require.NoError(t, r.WaitIdle(context.Background()))
		assert.Equal(t, memory.RunnerStats{Succeeded: 1, Failed: 1}, r.Stats())
		assert.Equal(t, int32(2), calls.Load())
		require.NoError(t, r.Stop(context.Background()))
	})
}

// TestRetryOfAHandlerThatOutlivesStopArmsNoTimer: a handler still running
// when Stop gives up (its context ended) and then fails must not arm a
// retry timer on the stopped runner.
func TestRetryOfAHandlerThatOutlivesStopArmsNoTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const backoff = time.Minute
		started, release := make(chan struct{}), make(chan struct{})
		h := ports.JobHandlerFunc(func(context.Context, ports.Job) error {
			close(started)
			<-release // ignores its context
			return errors.New("failed after Stop")
		})
		r := memory.NewJobRunner(memory.WithWorkers(1), memory.WithBackoff(backoff, backoff))
		require.NoError(t, r.Start(context.Background(), h))
		require.NoError(t, r.Enqueue(context.Background(), ports.Job{Kind: "k"}))
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, r.Stop(ctx), context.Canceled)
		close(release)
		synctest.Wait()
		time.Sleep(10 * backoff)
		synctest.Wait()
		assert.Equal(t, memory.RunnerStats{Retrying: 1, Failed: 1}, r.Stats(), "the retry waits for Start, not on a timer")
	})
}

func TestPeriodicJobs(t *testing.T) {
	var runs atomic.Int32
	r := memory.NewJobRunner(memory.WithPeriodicJobs(
		ports.PeriodicJob{Job: ports.Job{Kind: "test.periodic"}, Interval: 10 * time.Millisecond},
		ports.PeriodicJob{Job: ports.Job{Kind: "ignored"}}, // no interval
	))
	require.NoError(t, r.Start(context.Background(), ports.JobHandlerFunc(func(_ context.Context, job ports.Job) error {
		if job.Kind == "test.periodic" {
			runs.Add(1)
		} else {
			t.Errorf("unexpected job %q", job.Kind)
		}
		return nil
	})))
	require.Eventually(t, func() bool { return runs.Load() >= 3 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Stop(context.Background()))
	require.NoError(t, r.WaitIdle(context.Background()))
	n := runs.Load()
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, n, runs.Load(), "nothing is enqueued after Stop")
}
