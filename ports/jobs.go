package ports

import (
	"context"
	"errors"
	"time"
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
// backoff, up to its attempt limit, unless it matches [ErrPermanent]: then
// the runner gives up on the job at once (a mail the server refused for
// good would be refused again).
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

// ErrPermanent marks a failure that retrying cannot fix: a job handler
// returning an error that matches it is not run again, and a mailer returns
// one for a message the mail server refused for good (SMTP 5xx). Wrap an
// error with [Permanent].
var ErrPermanent = errors.New("permanent failure")

// Permanent returns an error that matches both err and [ErrPermanent].
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// Message is an email, with a plain-text and an HTML body (either may be
// empty, not both).
type Message struct {
	// ID is the Message-ID without its angle brackets, for example
	// "password_reset.0191f5e2-…@shop.example.org". Every attempt to send
	// one logical message uses the same ID, so that a retry after an
	// uncertain outcome looks like the same mail to the recipient's
	// software. Empty: the mailer makes a unique one.
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email.
type Mailer interface {
	// Send delivers m to the mail server. Errors: an error matching
	// [ErrPermanent] when the server refused the message or its recipient
	// for good (SMTP 5xx); any other error (the server is unreachable,
	// busy, or answered 4xx) may succeed later.
	Send(ctx context.Context, m Message) error
}

// RenderedMessage is a message kind's templates executed with its data.
type RenderedMessage struct {
	Subject string
	Text    string
	HTML    string
}

// MessageTemplates renders the emails the core sends, one set of
// templates (subject, plain text, HTML) per message kind (such as
// "password_reset" or "order_confirmation").
type MessageTemplates interface {
	// Render executes the templates of kind with data. Errors: ErrNotFound
	// for a kind without templates; the templates' execution errors.
	Render(kind string, data any) (RenderedMessage, error)
}

// PeriodicJob is a job a [JobRunner] enqueues itself every Interval (the
// cleanup of unused media files). Runners over a shared database enqueue
// it once per interval for all processes (River's leader does).
type PeriodicJob struct {
	Job      Job
	Interval time.Duration
}
