package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ports"
)

var _ ports.JobHandler = (*Service)(nil)

// JobKinds returns the job kinds [Service.HandleJob] runs.
func (s *Service) JobKinds() []string { return []string{JobProcessOrder, JobSendConfirmationEmail} }

// HandleJob runs the order jobs; it implements [ports.JobHandler]. Both jobs
// are idempotent, because a runner may deliver a job more than once:
//
//   - [JobProcessOrder] re-checks a pending order (it has lines and its totals
//     add up) and confirms it, enqueueing [JobSendConfirmationEmail] in the
//     same transaction. An order that is already confirmed (or further along)
//     or cancelled is left alone, so a second run is a no-op.
//   - [JobSendConfirmationEmail] sends the confirmation email only if the
//     order's ConfirmationSentAt is unset; see [Service.SendConfirmation].
//
// Errors: a malformed payload (ErrInvalid and ports.ErrPermanent: retrying
// cannot fix it); the runner retries the others with backoff: an unknown
// kind (ErrInvalid: during a rolling upgrade another process may know
// it), a missing order (ErrNotFound), an order that fails its checks
// (ErrInvalid), store and mailer failures (unless the mail server refused
// the message for good).
func (s *Service) HandleJob(ctx context.Context, job ports.Job) error {
	var p jobPayload
	switch job.Kind {
	case JobProcessOrder, JobSendConfirmationEmail:
	default:
		return fmt.Errorf("orders: unknown job kind %q: %w", job.Kind, ecolaura.ErrInvalid)
	}
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return ports.Permanent(fmt.Errorf("orders: %s payload: %w", job.Kind, ecolaura.Invalid("payload", "%s", err.Error())))
	}
	if _, err := ecolaura.ParseID(string(p.OrderID)); err != nil {
		return ports.Permanent(fmt.Errorf("orders: %s payload: %w", job.Kind, ecolaura.Invalid("order_id", "must be an order ID")))
	}
	if job.Kind == JobProcessOrder {
		return s.ProcessOrder(ctx, p.OrderID)
	}
	return s.SendConfirmation(ctx, p.OrderID)
}

// ProcessOrder is the [JobProcessOrder] job: it confirms a pending order
// after re-checking it and enqueues the confirmation email, in one
// transaction. It is a no-op for an order that is already past pending or
// cancelled. Errors: ErrNotFound; ErrInvalid when the order fails its
// checks; store failures.
func (s *Service) ProcessOrder(ctx context.Context, id ecolaura.ID) error {
	var confirmed bool
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		confirmed = false
		o, err := tx.Orders().Get(ctx, id)
		if err != nil {
			return fmt.Errorf("process order %s: %w", id, err)
		}
		if o.Status != ecolaura.StatusPending {
			return nil // already processed, or cancelled meanwhile
		}
		if err := checkOrder(o); err != nil {
			return fmt.Errorf("process order %s: %w", id, err)
		}
		_, _, err = tx.Orders().Transition(ctx, ports.StatusChange{OrderID: id, To: ecolaura.StatusConfirmed, At: s.clock.Now()})
		if errors.Is(err, ecolaura.ErrInvalidTransition) {
			return nil // moved on concurrently (cancelled): nothing to do
		}
		if err != nil {
			return fmt.Errorf("confirm order %s: %w", id, err)
		}
		if err := enqueue(ctx, tx, JobSendConfirmationEmail, id); err != nil {
			return err
		}
		confirmed = true
		return nil
	})
	if err != nil {
		return err
	}
	if confirmed {
		s.log.InfoContext(ctx, "order confirmed", "order_id", id)
	} else {
		s.log.DebugContext(ctx, "process_order: nothing to do", "order_id", id)
	}
	return nil
}

// checkOrder re-checks a stored order before it is confirmed.
func checkOrder(o ecolaura.Order) error {
	var v ecolaura.Validator
	v.Check(len(o.Lines) > 0, "lines", "order has no lines")
	sum := ecolaura.NewMoney(0, o.Subtotal.Currency)
	for _, l := range o.Lines {
		var err error
		if sum, err = sum.Add(l.Total); err != nil {
			v.Add("lines", "line totals do not add up: %v", err)
			break
		}
		v.Check(l.Quantity >= 1 && l.Quantity <= ecolaura.MaxLineQuantity, "lines", "line quantity %d out of range", l.Quantity)
	}
	v.Check(sum == o.Subtotal, "subtotal", "is %s, lines add up to %s", o.Subtotal, sum)
	want := o.Subtotal
	if o.Offset != nil {
		var err error
		if want, err = want.Add(o.Offset.Price); err != nil {
			v.Add("total", "%v", err)
		}
	}
	v.Check(want == o.Total, "total", "is %s, expected %s", o.Total, want)
	return v.Err()
}

// SendConfirmation is the [JobSendConfirmationEmail] job: it sends the
// order's confirmation email unless it was sent already.
//
// It reads the order, sends the email OUTSIDE any transaction (so no row
// lock, and in the memory adapter no writer lock, is held during the SMTP
// conversation), then records the send with MarkConfirmationSent, a
// compare-and-set. Running the job again after that sends nothing; a
// concurrent duplicate in this process is refused by an in-process guard.
// The trade-off: delivery is at least once, not exactly once. If the process
// dies between the mailer accepting the message and the mark being stored,
// or two processes run the same job at the same moment, the email can go out
// twice. A duplicate email is preferred over a lost one; exactly once would
// need the mail server to deduplicate on the Message-ID.
//
// An order cancelled before its email went out gets no confirmation email.
//
// An order whose account was deleted before its email went out gets none
// either (there is nobody to write to). The email's Message-ID is stable
// (notify.MessageID of the order), so a second delivery is the same mail to
// the recipient's software; a refusal for good (SMTP 5xx) ends the job
// (ports.ErrPermanent).
//
// Errors: ErrNotFound (order or user); ErrConflict while another send of the
// same order is running in this process (retry later); the notifier's
// errors (ports.ErrPermanent for a refusal for good); an error when no
// notifier is configured.
func (s *Service) SendConfirmation(ctx context.Context, id ecolaura.ID) error {
	if s.notifier == nil {
		return fmt.Errorf("send confirmation of order %s: %w", id, errNoNotifier)
	}
	if !s.startSending(id) {
		return fmt.Errorf("confirmation of order %s is being sent: %w", id, ecolaura.ErrConflict)
	}
	defer s.doneSending(id)

	o, err := s.db.Orders().Get(ctx, id)
	if err != nil {
		return fmt.Errorf("load order %s: %w", id, err)
	}
	if o.ConfirmationSentAt != nil {
		return nil
	}
	if o.Status == ecolaura.StatusCancelled {
		s.log.InfoContext(ctx, "order confirmation not sent: order cancelled", "order_id", id)
		return nil
	}
	if o.UserID == "" {
		s.log.InfoContext(ctx, "order confirmation not sent: the account was deleted", "order_id", id)
		return nil
	}
	u, err := s.db.Users().Get(ctx, o.UserID)
	if errors.Is(err, ecolaura.ErrNotFound) {
		s.log.InfoContext(ctx, "order confirmation not sent: the account was deleted", "order_id", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load user %s of order %s: %w", o.UserID, id, err)
	}
	now := s.clock.Now()
	email := notify.Email{Kind: notify.OrderConfirmation, EntityID: o.ID, To: u.Email, Data: ConfirmationData(o, u)}
	if err := s.notifier.Send(ctx, email); err != nil {
		return fmt.Errorf("send confirmation of order %s: %w", id, err)
	}
	marked, err := s.db.Orders().MarkConfirmationSent(ctx, id, now)
	if err != nil {
		// The email went out; a retry of this job will send it again (at least once).
		return fmt.Errorf("record confirmation of order %s: %w", id, err)
	}
	if !marked {
		s.log.WarnContext(ctx, "order confirmation sent twice: another worker recorded it first", "order_id", id)
		return nil
	}
	s.log.InfoContext(ctx, "order confirmation sent", "order_id", id)
	return nil
}

func (s *Service) startSending(id ecolaura.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.sending[id]; busy {
		return false
	}
	s.sending[id] = struct{}{}
	return true
}

func (s *Service) doneSending(id ecolaura.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sending, id)
}
