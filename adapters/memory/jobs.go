package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Defaults of a [JobRunner].
const (
	// MaxDeadJobs bounds the dead jobs a runner keeps for inspection (the
	// oldest are dropped first; RunnerStats.Dead still counts them all).
	MaxDeadJobs = 10_000

	DefaultWorkers     = 4
	DefaultMaxAttempts = 10
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Minute
)

// RunnerOption configures a [JobRunner].
type RunnerOption func(*JobRunner)

// WithWorkers sets how many jobs run at once (default 4; values below 1 are
// ignored).
func WithWorkers(n int) RunnerOption {
	return func(r *JobRunner) {
		if n > 0 {
			r.workers = n
		}
	}
}

// WithMaxAttempts sets how many times a job is tried before it is recorded
// as dead (default 10; values below 1 are ignored).
func WithMaxAttempts(n int) RunnerOption {
	return func(r *JobRunner) {
		if n > 0 {
			r.maxAttempts = n
		}
	}
}

// WithBackoff sets the retry delay: after the n-th failed attempt a job
// waits base·2^(n-1), capped at maxDelay, with equal jitter (between half
// and all of it). Defaults 100ms and 5m; non-positive values are ignored.
func WithBackoff(base, maxDelay time.Duration) RunnerOption {
	return func(r *JobRunner) {
		if base > 0 {
			r.backoffBase = base
		}
		if maxDelay > 0 {
			r.backoffMax = maxDelay
		}
	}
}

// WithRunnerLogger sets the logger (default: discard).
func WithRunnerLogger(l *slog.Logger) RunnerOption {
	return func(r *JobRunner) {
		if l != nil {
			r.log = l
		}
	}
}

// WithPeriodicJobs makes the runner enqueue each job every its interval
// while it is started (the first time one interval after Start). Jobs with
// a non-positive interval are ignored.
func WithPeriodicJobs(jobs ...ports.PeriodicJob) RunnerOption {
	return func(r *JobRunner) {
		for _, j := range jobs {
			if j.Interval > 0 && j.Job.Kind != "" {
				r.periodic = append(r.periodic, ports.PeriodicJob{Job: ports.Job{Kind: j.Job.Kind, Payload: cloneBytes(j.Job.Payload)}, Interval: j.Interval})
			}
		}
	}
}

// DeadJob is a job that failed on every attempt.
type DeadJob struct {
	Job      ports.Job
	Attempts int
	// Err is the error of the last attempt.
	Err error
}

// RunnerStats is a snapshot of a runner's counters.
type RunnerStats struct {
	Queued    int // waiting for a worker
	Running   int // in a handler now
	Retrying  int // waiting for their backoff to pass
	Succeeded int64
	Failed    int64 // failed attempts (retried or not)
	Dead      int64 // gave up after the last attempt
}

type queuedJob struct {
	job     ports.Job
	attempt int // attempts already made
}

// retry is a failed job waiting for its backoff to pass.
type retry struct {
	q   queuedJob
	due time.Time
}

// JobRunner is an in-process worker pool that runs jobs at least once: a
// handler error (or panic) makes it retry the job with exponential backoff
// and jitter until the attempt limit, after which the job is logged and kept
// in [JobRunner.Dead]; an error matching [ports.ErrPermanent] sends the job
// there at once. Retries sleep on timers, never on a clock. Jobs
// submitted before [JobRunner.Start] wait in the queue. The queue lives in
// memory: jobs not yet run when the process exits are lost. A JobRunner is
// safe for concurrent use and implements [ports.JobQueue] for enqueues
// outside a transaction.
type JobRunner struct {
	workers     int
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration
	log         *slog.Logger
	periodic    []ports.PeriodicJob

	mu        sync.Mutex
	queue     []queuedJob
	running   int
	retrying  map[*time.Timer]retry // armed while the runner is started
	parked    []retry               // retries of a stopped runner: no timer runs
	succeeded int64
	failed    int64
	dead      []DeadJob
	deadTotal int64
	started   bool
	stopping  bool
	handler   ports.JobHandler
	cancel    context.CancelFunc
	wake      chan struct{}   // closed and replaced on every state change
	workersWG *sync.WaitGroup // the workers of the current Start
}

var (
	_ ports.JobQueue  = (*JobRunner)(nil)
	_ ports.JobRunner = (*JobRunner)(nil)
)

// NewJobRunner returns a stopped runner; call Start to run jobs.
func NewJobRunner(opts ...RunnerOption) *JobRunner {
	r := &JobRunner{
		workers:     DefaultWorkers,
		maxAttempts: DefaultMaxAttempts,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		log:         slog.New(slog.DiscardHandler),
		retrying:    make(map[*time.Timer]retry),
		wake:        make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// broadcast wakes every waiter; r.mu must be held.
func (r *JobRunner) broadcast() {
	close(r.wake)
	r.wake = make(chan struct{})
}

// Enqueue queues a job directly (not bound to a transaction). Errors:
// *ValidationError (ErrInvalid) for an empty kind.
func (r *JobRunner) Enqueue(ctx context.Context, job ports.Job) error {
	if job.Kind == "" {
		return ecolaura.Invalid("kind", "must not be empty")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.submit([]ports.Job{{Kind: job.Kind, Payload: cloneBytes(job.Payload)}})
	return nil
}

// submit queues committed jobs (already copied).
func (r *JobRunner) submit(jobs []ports.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range jobs {
		r.queue = append(r.queue, queuedJob{job: j})
	}
	r.broadcast()
}

// Start starts the workers, which run queued jobs with handler. The
// handlers' contexts derive from ctx (with its values); ending ctx cancels
// running handlers, so prefer Stop for a graceful end. Errors: a
// *ValidationError (ErrInvalid) for a nil handler, an error when already
// started.
func (r *JobRunner) Start(ctx context.Context, handler ports.JobHandler) error {
	if handler == nil {
		return ecolaura.Misconfigured("handler", "must not be nil")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("memory: job runner already started")
	}
	runCtx, cancel := context.WithCancel(ctx)
	r.started, r.stopping, r.handler, r.cancel = true, false, handler, cancel
	for _, rt := range r.parked {
		r.arm(rt)
	}
	r.parked = nil
	wg := &sync.WaitGroup{}
	r.workersWG = wg
	for range r.workers {
		wg.Add(1)
		go r.work(runCtx, wg)
	}
	for _, pj := range r.periodic {
		go r.tick(runCtx, pj)
	}
	return nil
}

// tick enqueues pj every interval until ctx ends (Stop cancels it).
func (r *JobRunner) tick(ctx context.Context, pj ports.PeriodicJob) {
	t := time.NewTicker(pj.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.submit([]ports.Job{{Kind: pj.Job.Kind, Payload: cloneBytes(pj.Job.Payload)}})
		}
	}
}

// Stop stops taking new jobs, waits for the running ones to finish and
// returns. When ctx ends first it cancels the running handlers' contexts and
// returns ctx's error without waiting further. Queued jobs stay queued, and
// pending retries stay pending with no timer running (so nothing of the
// runner runs after Stop): both run if the runner is started again, a retry
// once the rest of its backoff has passed. Stop on a stopped runner returns
// nil.
func (r *JobRunner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return nil
	}
	r.stopping = true
	for t, rt := range r.retrying {
		// Whether or not the timer has already fired, its callback finds
		// the entry gone and does nothing: the retry is parked exactly once.
		t.Stop()
		delete(r.retrying, t)
		r.parked = append(r.parked, rt)
	}
	cancel, wg := r.cancel, r.workersWG
	r.broadcast()
	r.mu.Unlock()

	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// Cancel the running handlers and return without waiting for
		// handlers that ignore their context.
		err = fmt.Errorf("memory: stop job runner: %w", ctx.Err())
	}
	cancel()
	r.mu.Lock()
	r.started, r.stopping, r.handler = false, false, nil
	r.broadcast()
	r.mu.Unlock()
	return err
}

// WaitIdle returns when no job is queued, running or waiting for a retry,
// or with ctx's error when ctx ends first. Jobs queued on a runner that is
// not started keep it from being idle.
func (r *JobRunner) WaitIdle(ctx context.Context) error {
	for {
		r.mu.Lock()
		idle := len(r.queue) == 0 && r.running == 0 && len(r.retrying) == 0 && len(r.parked) == 0
		wake := r.wake
		r.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("memory: wait for idle job runner: %w", ctx.Err())
		}
	}
}

// Stats returns the runner's counters.
func (r *JobRunner) Stats() RunnerStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RunnerStats{
		Queued: len(r.queue), Running: r.running, Retrying: len(r.retrying) + len(r.parked),
		Succeeded: r.succeeded, Failed: r.failed, Dead: r.deadTotal,
	}
}

// Dead returns copies of the jobs that failed on every attempt, oldest
// first (at most [MaxDeadJobs]).
func (r *JobRunner) Dead() []DeadJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]DeadJob, len(r.dead))
	for i, d := range r.dead {
		out[i] = d
		out[i].Job.Payload = cloneBytes(d.Job.Payload)
	}
	return out
}

// next takes the next job for a worker, waiting for one; false when the
// runner stops.
func (r *JobRunner) next(ctx context.Context) (queuedJob, ports.JobHandler, bool) {
	for {
		r.mu.Lock()
		if r.stopping || ctx.Err() != nil {
			r.mu.Unlock()
			return queuedJob{}, nil, false
		}
		if len(r.queue) > 0 {
			q := r.queue[0]
			r.queue[0] = queuedJob{}
			r.queue = r.queue[1:]
			if len(r.queue) == 0 {
				r.queue = nil // let the backing array go
			}
			r.running++
			h := r.handler
			r.mu.Unlock()
			return q, h, true
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
		}
	}
}

func (r *JobRunner) work(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		q, h, ok := r.next(ctx)
		if !ok {
			return
		}
		err := r.run(ctx, h, q.job)
		q.attempt++
		r.finish(q, err)
	}
}

// run calls the handler with a copy of the job, turning a panic into an error.
func (r *JobRunner) run(ctx context.Context, h ports.JobHandler, job ports.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("memory: job %s panicked: %v", job.Kind, p)
		}
	}()
	return h.HandleJob(ctx, ports.Job{Kind: job.Kind, Payload: cloneBytes(job.Payload)})
}

func (r *JobRunner) finish(q queuedJob, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running--
	defer r.broadcast()
	if err == nil {
		r.succeeded++
		return
	}
	r.failed++
	if permanent := errors.Is(err, ports.ErrPermanent); permanent || q.attempt >= r.maxAttempts {
		if len(r.dead) == MaxDeadJobs {
			r.dead = append(r.dead[:0], r.dead[1:]...)
		}
		r.dead = append(r.dead, DeadJob{Job: q.job, Attempts: q.attempt, Err: err})
		r.deadTotal++
		r.log.Error("job failed permanently", "kind", q.job.Kind, "attempts", q.attempt, "not_retryable", permanent, "err", err)
		return
	}
	d := r.backoff(q.attempt)
	r.log.Warn("job failed, will retry", "kind", q.job.Kind, "attempt", q.attempt, "retry_in", d, "err", err)
	rt := retry{q: q, due: time.Now().Add(d)}
	if !r.started || r.stopping {
		// A handler that outlived Stop: no timer may outlive it either.
		r.parked = append(r.parked, rt)
		return
	}
	r.arm(rt)
}

// arm starts the timer that queues rt when it is due; r.mu must be held.
func (r *JobRunner) arm(rt retry) {
	var t *time.Timer
	t = time.AfterFunc(time.Until(rt.due), func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.retrying[t]; !ok {
			return // parked by Stop
		}
		delete(r.retrying, t)
		r.queue = append(r.queue, rt.q)
		r.broadcast()
	})
	r.retrying[t] = rt
}

// backoff returns the delay after the n-th failed attempt.
func (r *JobRunner) backoff(n int) time.Duration {
	d := r.backoffBase
	for i := 1; i < n && d < r.backoffMax; i++ {
		d *= 2
	}
	d = min(d, r.backoffMax)
	half := d / 2
	return half + rand.N(d-half+1)
}
