package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// RiverKind is the River job kind under which every Ecolaura job is stored;
// the Ecolaura kind travels in the arguments, so one River worker serves
// every kind a ports.JobHandler knows.
const RiverKind = "ecolaura.job"

// jobArgs are the River arguments of a ports.Job. The payload is kept as
// bytes (base64 in River's JSON), so the handler receives exactly the bytes
// that were enqueued.
type jobArgs struct {
	JobKind string `json:"kind"`
	Payload []byte `json:"payload"`
}

// Kind implements river.JobArgs.
func (jobArgs) Kind() string { return RiverKind }

// jobQueue enqueues into River within one transaction.
type jobQueue struct{ tx *txStores }

var _ ports.JobQueue = (*jobQueue)(nil)

// Enqueue inserts the job with River's InsertTx in the enclosing
// transaction: it becomes visible to workers only when the transaction
// commits and never exists if it rolls back. Errors: ErrInvalid for an
// empty kind; ErrUnavailable.
func (q *jobQueue) Enqueue(ctx context.Context, job ports.Job) error {
	if job.Kind == "" {
		return ecolaura.Invalid("kind", "must not be empty")
	}
	err := q.tx.inConn(func() error {
		_, err := q.tx.d.river.InsertTx(ctx, q.tx.tx, jobArgs{JobKind: job.Kind, Payload: job.Payload}, nil)
		return err
	})
	if err != nil {
		return wrap(err, "enqueue %s job", job.Kind)
	}
	return nil
}

// DefaultJobTimeout is the default of [RunnerConfig.JobTimeout].
const DefaultJobTimeout = time.Minute

// RunnerConfig configures a JobRunner. The zero value is usable.
type RunnerConfig struct {
	// Queue is the River queue to work (default river.QueueDefault).
	Queue string
	// MaxWorkers bounds the jobs run at once (default 10).
	MaxWorkers int
	// PollInterval is how often to look for jobs besides LISTEN/NOTIFY
	// wake-ups (default 1 second).
	PollInterval time.Duration
	// JobTimeout bounds one run of a job: its context is cancelled then and
	// the run counts as failed (default 1 minute).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it counts as
	// stuck (its worker crashed or was killed) and is scheduled again,
	// following the retry policy (default JobTimeout + JobTimeout/2; it
	// must exceed JobTimeout). River's rescuer looks for stuck jobs every
	// 30 s on the elected leader, so a job a crash interrupted runs again
	// within about RescueAfter + 30 s (+ up to 15 s when the crashed
	// process was the leader) instead of River's default hour.
	RescueAfter time.Duration
	// RetryBackoff returns the delay before retry number attempt (1 for the
	// first retry); nil uses River's default exponential backoff
	// (attempt^4 seconds with jitter).
	RetryBackoff func(attempt int) time.Duration
	// Logger receives River's logs (default: discard).
	Logger *slog.Logger
	// PeriodicJobs are enqueued every their interval (the media cleanup).
	// River enqueues them on its elected leader only, so give every
	// runner over the database the same list: whichever process leads
	// enqueues them once per interval for all.
	PeriodicJobs []ports.PeriodicJob
}

// Validate checks the configuration. Errors: *ecolaura.ConfigError.
func (c RunnerConfig) Validate() error {
	var v ecolaura.Validator
	v.Check(c.MaxWorkers >= 0 && c.MaxWorkers <= 10_000, "max_workers", "must be between 0 and 10000")
	v.Check(c.PollInterval >= 0, "poll_interval", "must not be negative")
	v.Check(c.JobTimeout >= 0, "job_timeout", "must not be negative")
	v.Check(c.RescueAfter >= 0, "rescue_after", "must not be negative")
	v.Check(c.RescueAfter <= 0 || c.RescueAfter > cmp.Or(c.JobTimeout, DefaultJobTimeout), "rescue_after", "must exceed the job timeout")
	for _, pj := range c.PeriodicJobs {
		v.Check(pj.Interval > 0 && pj.Job.Kind != "", "periodic_jobs", "need a kind and a positive interval")
	}
	return v.ConfigErr()
}

// JobRunner works the jobs enqueued through Tx.Jobs() with River workers:
// at-least-once delivery, retries with backoff up to Config.JobMaxAttempts
// (a handler error matching ports.ErrPermanent cancels the job at once),
// graceful stop. Start it once; Stop it before closing the Database.
//
// It runs on the Database's pool: fetching, completing and River's
// maintenance borrow pool connections like any statement, and the jobs'
// own transactions too. While it runs, River's notifier holds one more
// connection for LISTEN (so a committed job wakes a worker at once): it
// takes it out of the pool (pgxpool's Hijack), after which the pool may
// open another, so a process with a running JobRunner opens at most
// Config.MaxConns + 1 connections.
type JobRunner struct {
	d   *Database
	cfg RunnerConfig

	mu       sync.Mutex
	client   *river.Client[pgx.Tx]
	outcomes jobOutcomes
}

var _ ports.JobRunner = (*JobRunner)(nil)

// NewJobRunner returns a runner for the jobs of d. Errors:
// *ecolaura.ConfigError for a bad configuration.
func (d *Database) NewJobRunner(cfg RunnerConfig) (*JobRunner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Queue == "" {
		cfg.Queue = river.QueueDefault
	}
	if cfg.MaxWorkers == 0 {
		cfg.MaxWorkers = 10
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	cfg.JobTimeout = cmp.Or(cfg.JobTimeout, DefaultJobTimeout)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, cfg.JobTimeout+cfg.JobTimeout/2)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &JobRunner{d: d, cfg: cfg}, nil
}

// Config returns the effective configuration (defaults applied).
func (r *JobRunner) Config() RunnerConfig { return r.cfg }

// Start begins working jobs with handler and returns once River runs.
// Errors: ErrConflict when already started; ErrUnavailable.
func (r *JobRunner) Start(ctx context.Context, handler ports.JobHandler) error {
	if handler == nil {
		return ecolaura.Misconfigured("handler", "must not be nil")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return fmt.Errorf("job runner already started: %w", ecolaura.ErrConflict)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[jobArgs]) error {
		start := time.Now()
		err := handler.HandleJob(ctx, ports.Job{Kind: job.Args.JobKind, Payload: job.Args.Payload})
		if errors.Is(err, ports.ErrPermanent) {
			// Retrying cannot help: River records the job as cancelled.
			err = river.JobCancel(err)
		}
		r.outcomes.record(job.Args.JobKind, job.JobRow, err, time.Since(start))
		return err
	})); err != nil {
		return fmt.Errorf("register worker: %w", unavailable(err))
	}
	cfg := &river.Config{
		Logger:            r.cfg.Logger,
		MaxAttempts:       r.d.cfg.JobMaxAttempts,
		FetchPollInterval: r.cfg.PollInterval,
		FetchCooldown:     min(100*time.Millisecond, r.cfg.PollInterval),
		JobTimeout:        r.cfg.JobTimeout,
		// A job whose worker died stays "running" until rescued: River's
		// default waits an hour (issue 10 item 16).
		RescueStuckJobsAfter: r.cfg.RescueAfter,
		Queues:               map[string]river.QueueConfig{r.cfg.Queue: {MaxWorkers: r.cfg.MaxWorkers}},
		Workers:              workers,
		Middleware:           r.d.riverMiddleware,
	}
	if r.cfg.RetryBackoff != nil {
		cfg.RetryPolicy = backoffPolicy(r.cfg.RetryBackoff)
	}
	for _, pj := range r.cfg.PeriodicJobs {
		args := jobArgs{JobKind: pj.Job.Kind, Payload: pj.Job.Payload}
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(pj.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil }, nil))
	}
	client, err := river.NewClient(riverpgxv5.New(r.d.pool), cfg)
	if err != nil {
		return fmt.Errorf("create river client: %w", unavailable(err))
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river client: %w", unavailable(err))
	}
	r.client = client
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish; when ctx
// ends first, it cancels them (they are retried later). Stopping a runner
// that is not started does nothing.
func (r *JobRunner) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		return nil
	}
	err := r.client.Stop(ctx)
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = r.client.StopAndCancel(cctx)
		cancel()
	}
	r.client = nil
	if err != nil {
		return fmt.Errorf("stop job runner: %w", unavailable(err))
	}
	return nil
}

// backoffPolicy adapts a backoff function to River's retry policy.
type backoffPolicy func(attempt int) time.Duration

func (f backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(f(job.Attempt))
}
