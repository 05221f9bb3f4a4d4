package ports

import (
	"context"
)

// Job is a unit of background work. Payload is JSON chosen by the job's kind.
type Job struct {
	Kind    string
	Payload []byte
}

// JobQueue accepts jobs. Obtained from a [Tx], an enqueue commits or rolls
// back with the transaction: a job of a rolled-back transaction never runs.
// Delivery is at least once, so handlers must be idempotent.
type JobQueue interface {
	Enqueue(ctx context.Context, job Job) error
}

// JobHandler runs jobs. An error makes the runner retry the job later with
// backoff, up to its attempt limit.
type JobHandler interface {
	HandleJob(ctx context.Context, job Job) error
}

// JobHandlerFunc adapts a function to [JobHandler].
type JobHandlerFunc func(ctx context.Context, job Job) error

// HandleJob calls f.
func (f JobHandlerFunc) HandleJob(ctx context.Context, job Job) error { return f(ctx, job) }

// JobRunner works the jobs a [Database] commits, with a handler, until it
// is stopped. The in-memory adapter's runner and the PostgreSQL adapter's
// River runner implement it; the SDK's composition root (package shop) and
// the reference server start one with the orders service as the handler.
// Delivery is at least once and a failed job is retried with backoff up to
// its attempt limit (the suites of package porttest check both through the
// runner a DatabaseFactory wires).
type JobRunner interface {
	// Start starts the workers; jobs run with handler. Errors: the runner
	// cannot start (already started, or its backend is unreachable).
	Start(ctx context.Context, handler JobHandler) error
	// Stop stops taking jobs and waits for the running ones, or until ctx
	// ends (then it returns ctx's error).
	Stop(ctx context.Context) error
}

// Message is an email.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}
