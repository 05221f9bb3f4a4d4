// Package mail implements the [ports.Mailer] port — [LogMailer] (the
// development default, which only logs), [SMTPMailer]
// (github.com/wneessen/go-mail: STARTTLS required by default, implicit
// TLS, or plain text for a local relay, configured from an smtp:// URL
// with [ParseURL]) and [Recorder] (an in-memory mailer for tests and
// demos) — and the [ports.MessageTemplates] port: [Templates], the
// embedded subject, plain-text and HTML templates of every message kind,
// overridable file by file from a directory.
package mail

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/ecolaura/ecolaura/ports"
)

// LogMailer "sends" email by logging it with log/slog. It is the default
// mailer of the in-memory shop: nothing leaves the process. The reference
// server refuses it in production (ECOLAURA_ENV=production needs
// ECOLAURA_SMTP_URL).
type LogMailer struct {
	log *slog.Logger
}

var _ ports.Mailer = (*LogMailer)(nil)

// NewLogMailer returns a mailer that logs each message on logger at Info
// level (subject and recipient) and its text body at Debug level. A nil
// logger discards them, like every default logger of the SDK.
func NewLogMailer(logger *slog.Logger) *LogMailer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LogMailer{log: logger}
}

// Send logs m. It fails only when ctx is already done.
func (l *LogMailer) Send(ctx context.Context, m ports.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.log.InfoContext(ctx, "email sent (log mailer)", "to", m.To, "subject", m.Subject, "message_id", m.ID,
		"text_bytes", len(m.Text), "html_bytes", len(m.HTML))
	l.log.DebugContext(ctx, "email body", "to", m.To, "text", m.Text)
	return nil
}

// String describes the mailer for logs.
func (l *LogMailer) String() string { return "log mailer (nothing is sent)" }

// Recorder is a concurrency-safe in-memory mailer that records every message
// it is asked to send. Use it in tests and demos to see what went out. The
// zero value is ready to use.
type Recorder struct {
	mu   sync.Mutex
	msgs []ports.Message
	err  error
}

var _ ports.Mailer = (*Recorder)(nil)

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Send records m, or returns the error set with [Recorder.FailWith] without
// recording anything. It fails when ctx is already done.
func (r *Recorder) Send(ctx context.Context, m ports.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

// FailWith makes every later Send return err (nil restores normal sending).
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Messages returns a copy of the recorded messages in the order they were sent.
func (r *Recorder) Messages() []ports.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Len returns the number of recorded messages.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// Reset forgets the recorded messages.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = nil
}
