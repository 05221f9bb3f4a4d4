package porttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ports"
)

// JobKind is the kind of every job the suites enqueue.
const JobKind = "porttest.check"

// jobRecorder is the suites' job handler: it counts deliveries per job
// (identified by the "id" of its JSON payload), keeps the last delivered
// job, and can fail the first deliveries of a job to force a retry. Jobs it
// does not know (not of JobKind) are accepted and ignored.
type jobRecorder struct {
	mu         sync.Mutex
	deliveries map[string]int
	last       map[string]ports.Job
	failFirst  map[string]int
	permanent  map[string]bool
}

func newJobRecorder() *jobRecorder {
	return &jobRecorder{deliveries: map[string]int{}, last: map[string]ports.Job{}, failFirst: map[string]int{}, permanent: map[string]bool{}}
}

// failPermanently makes every delivery of the job fail with an error
// matching ports.ErrPermanent.
func (r *jobRecorder) failPermanently(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.permanent[id] = true
}

// errInjected is returned by the recorder to force a redelivery.
var errInjected = errors.New("porttest: injected job failure")

func (r *jobRecorder) HandleJob(_ context.Context, job ports.Job) error {
	if job.Kind != JobKind {
		return nil
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return nil // not ours
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries[p.ID]++
	r.last[p.ID] = ports.Job{Kind: job.Kind, Payload: append([]byte(nil), job.Payload...)}
	if r.permanent[p.ID] {
		return ports.Permanent(errInjected)
	}
	if r.deliveries[p.ID] <= r.failFirst[p.ID] {
		return errInjected
	}
	return nil
}

// count returns how often the job with id was delivered.
func (r *jobRecorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deliveries[id]
}

func (r *jobRecorder) job(id string) ports.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[id]
}

func (r *jobRecorder) failFirstDeliveries(id string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failFirst[id] = n
}

// newJob returns a job of JobKind with a fresh id and a few payload fields.
func newJob() (string, ports.Job) {
	id := RandomToken("job-")
	payload, _ := json.Marshal(map[string]any{"id": id, "n": 42, "nested": map[string]any{"ok": true, "list": []int{1, 2, 3}}})
	return id, ports.Job{Kind: JobKind, Payload: payload}
}

// waitDelivered waits (at most [Liveness]) until the job with id was
// delivered at least n times.
func (r *jobRecorder) waitDelivered(t *testing.T, id string, n int, what string) {
	t.Helper()
	eventually(t, func() bool { return r.count(id) >= n }, "%s: job %s was not delivered %d time(s) within %v (delivered %d)", what, id, n, Liveness, r.count(id))
}

// JobQueue checks the job queue of a [ports.Tx] together with the delivery
// the [DatabaseFactory] arranges: a committed job is delivered with its kind
// and payload, every job of a transaction is, none is delivered before its
// transaction commits, a rolled-back one never is, and a handler error leads
// to a redelivery (at least once).
//
// "Never delivered" cannot be observed in finite time; the suite checks it
// after a job committed later has been delivered, and again after every other
// check of the suite, which catches a runner that delivers rolled-back jobs
// in (roughly) commit order.
func JobQueue(t *testing.T, newDB DatabaseFactory) {
	rec := newJobRecorder()
	db := newDB(t, rec)
	require.NotNil(t, db, "factory returned nil")
	var rolledBack []string
	t.Cleanup(func() {
		for _, id := range rolledBack {
			if n := rec.count(id); n != 0 {
				t.Errorf("job %s of a rolled-back transaction was delivered %d time(s)", id, n)
			}
		}
	})

	enqueue := func(t *testing.T, jobs ...ports.Job) error {
		return db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			for _, j := range jobs {
				if err := tx.Jobs().Enqueue(ctx, j); err != nil {
					return err
				}
			}
			return nil
		})
	}

	t.Run("Delivered", func(t *testing.T) {
		id, job := newJob()
		require.NoError(t, enqueue(t, job))
		rec.waitDelivered(t, id, 1, "committed job")
		got := rec.job(id)
		require.Equal(t, job.Kind, got.Kind)
		require.JSONEq(t, string(job.Payload), string(got.Payload), "payload is delivered as enqueued (as JSON)")
	})
	t.Run("ManyInOneTransaction", func(t *testing.T) {
		var want []string
		var jobs []ports.Job
		for range 20 {
			id, job := newJob()
			want, jobs = append(want, id), append(jobs, job)
		}
		require.NoError(t, enqueue(t, jobs...))
		for _, id := range want {
			rec.waitDelivered(t, id, 1, "one of 20 jobs of a transaction")
		}
	})
	t.Run("NotBeforeCommit", func(t *testing.T) {
		id, job := newJob()
		var during int
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Jobs().Enqueue(ctx, job); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond) // a chance for an eager runner to deliver too early
			during = rec.count(id)
			return nil
		})
		require.NoError(t, err)
		require.Zero(t, during, "a job was delivered before its transaction committed")
		rec.waitDelivered(t, id, 1, "committed job")
	})
	t.Run("RolledBackNeverDelivered", func(t *testing.T) {
		errID, errJob := newJob()
		boom := errors.New("porttest: roll back")
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Jobs().Enqueue(ctx, errJob); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		rolledBack = append(rolledBack, errID)

		panicID, panicJob := newJob()
		func() {
			defer func() { _ = recover() }()
			_ = db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
				if err := tx.Jobs().Enqueue(ctx, panicJob); err != nil {
					return err
				}
				panic("porttest: roll back by panic")
			})
		}()
		rolledBack = append(rolledBack, panicID)

		laterID, later := newJob()
		require.NoError(t, enqueue(t, later))
		rec.waitDelivered(t, laterID, 1, "job committed after the rolled-back ones")
		require.Zero(t, rec.count(errID), "job of a transaction that returned an error was delivered")
		require.Zero(t, rec.count(panicID), "job of a transaction that panicked was delivered")
	})
	t.Run("RedeliveredAfterError", func(t *testing.T) {
		id, job := newJob()
		rec.failFirstDeliveries(id, 1)
		require.NoError(t, enqueue(t, job))
		rec.waitDelivered(t, id, 2, "job whose first delivery failed")
		require.JSONEq(t, string(job.Payload), string(rec.job(id).Payload), "the redelivered payload")
	})
	t.Run("PermanentNotRetried", func(t *testing.T) {
		id, job := newJob()
		rec.failPermanently(id)
		require.NoError(t, enqueue(t, job))
		rec.waitDelivered(t, id, 1, "job that fails permanently")
		// An ordinary failure enqueued after it is retried; by then a
		// retry of the permanent one, under the same backoff policy, would
		// have come first.
		control, controlJob := newJob()
		rec.failFirstDeliveries(control, 1)
		require.NoError(t, enqueue(t, controlJob))
		rec.waitDelivered(t, control, 2, "job retried after an ordinary failure")
		require.Equal(t, 1, rec.count(id), "a job failing with ports.ErrPermanent is not run again")
	})
	t.Run("Concurrent", func(t *testing.T) {
		const n = 20
		ids := make([]string, n)
		errs := make([]error, n)
		race(n, func(i int) {
			var job ports.Job
			ids[i], job = newJob()
			errs[i] = enqueue(t, job)
		})
		for i := range n {
			require.NoError(t, errs[i])
			rec.waitDelivered(t, ids[i], 1, fmt.Sprintf("job of concurrent transaction %d", i))
		}
	})
}
