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
