// Package orders is the orders service of Ecolaura: safe checkout with
// idempotency keys, the order status machine with restocking cancellation,
// per-principal reads and lists, and the background jobs that confirm an
// order and send its confirmation email.
//
// Every use case takes the acting [ecolaura.Principal]; authorization is
// decided here. The service depends only on the domain and the ports: the
// storage backend (memory or PostgreSQL), clock, ID generator and mailer are
// injected.
//
// # Consistency
//
// A checkout runs in one [ports.UnitOfWork] transaction: the conditional stock
// decrements (taken in product-ID order so that concurrent checkouts cannot
// deadlock), the order with its lines and the process_order job either all
// commit or none do. Stock never goes below zero, however many checkouts race.
//
// # Jobs
//
// [Service.HandleJob] implements [ports.JobHandler] for [JobProcessOrder] and
// [JobSendConfirmationEmail]. Both are idempotent, since job delivery is at
// least once.
//
// # Audit
//
// The status changes staff make (cancel, ship, deliver) are recorded in
// the audit log, in the transaction of the change.
package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/payments"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
	"github.com/ecolaura/ecolaura/ports"
)

// The job kinds this service enqueues and handles.
const (
	// JobProcessOrder confirms a pending order. Payload: {"order_id": "..."}.
	JobProcessOrder = "process_order"
	// JobSendConfirmationEmail sends the confirmation email of a confirmed
	// order. Payload: {"order_id": "..."}.
	JobSendConfirmationEmail = "send_order_confirmation_email"
)

// Page sizes of [Service.List].
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Service runs the order use cases. It is safe for concurrent use.
type Service struct {
	db          ports.Database
	clock       ports.Clock
	ids         ports.IDGenerator
	log         *slog.Logger
	notifier    *notify.Notifier
	currency    ecolaura.Currency
	offsetPrice ecolaura.Money // per kg CO2e
	// verifiedOnly refuses checkouts of accounts whose email is not verified.
	verifiedOnly bool
	// payments takes the orders' payments (provider none when not set).
	payments ports.PaymentProvider
	// shipping prices deliveries and taxes (nil: no quotes).
	shipping *shipping.Service

	mu       sync.Mutex
	inflight map[inflightKey]struct{} // checkouts running in this process, by (user, key)
	sending  map[ecolaura.ID]struct{} // confirmation emails being sent in this process
}

type inflightKey struct {
	user ecolaura.ID
	key  string
}

type config struct {
	log          *slog.Logger
	notifier     *notify.Notifier
	currency     ecolaura.Currency
	offsetPrice  *ecolaura.Money
	verifiedOnly bool
	payments     ports.PaymentProvider
	paymentsSet  bool
	shipping     *shipping.Service
}

// Option configures a [Service].
type Option func(*config)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.log = l } }

// WithNotifier sets the notifier that renders and sends the confirmation
// email. Without one that job fails (and is retried by the runner), so
// wire one in every program that runs jobs; the shop package builds one
// over its mailer.
func WithNotifier(n *notify.Notifier) Option { return func(cfg *config) { cfg.notifier = n } }

// WithVerifiedEmailRequired makes checkout refuse accounts whose email
// address is not verified, with an *ecolaura.RequirementError
// ("email-not-verified", ErrForbidden). Off by default.
func WithVerifiedEmailRequired(required bool) Option {
	return func(cfg *config) { cfg.verifiedOnly = required }
}

// WithPaymentProvider sets the provider that takes the orders' payments
// (ecolaura/payments None or Manual, or the Stripe adapter). Without it the
// shop takes no payment (provider none): an order is confirmed without one.
// A nil provider is a configuration error.
func WithPaymentProvider(p ports.PaymentProvider) Option {
	return func(cfg *config) { cfg.payments = p; cfg.paymentsSet = true }
}

// WithShipping sets the shipping service whose methods, tax rates and tax
// mode price quotes ([Service.Quote]). The shop package wires its own.
func WithShipping(sh *shipping.Service) Option { return func(cfg *config) { cfg.shipping = sh } }

// WithCurrency sets the shop's currency (default [ecolaura.DefaultCurrency]).
// Orders are totalled in it: a product priced in another currency cannot be
// checked out.
func WithCurrency(c ecolaura.Currency) Option { return func(cfg *config) { cfg.currency = c } }

// WithCarbonOffsetPrice sets the price of compensating one kilogram of CO2e,
// in the shop's currency. The default is 0.02 per kg (2 cents for EUR). The
// offset charge of an order is this price times the order's footprint,
// rounded up to the minor unit.
func WithCarbonOffsetPrice(perKg ecolaura.Money) Option {
	return func(cfg *config) { cfg.offsetPrice = &perKg }
}

// DefaultCarbonOffsetPrice is the default price of one kg CO2e: 0.02 in the
// given currency, rounded up to its minor unit (2 cents, or 1 yen).
func DefaultCarbonOffsetPrice(c ecolaura.Currency) ecolaura.Money {
	minor := int64(2)
	switch c.Exponent() {
	case 0, 1:
		minor = 1
	case 3:
		minor = 20
	}
	return ecolaura.NewMoney(minor, c)
}

// New returns the orders service over db, stamping times with clock and
// naming orders with ids. Errors: an *ecolaura.ConfigError when a dependency
// is nil or an option value is invalid.
func New(db ports.Database, clock ports.Clock, ids ports.IDGenerator, opts ...Option) (*Service, error) {
	cfg := config{currency: ecolaura.DefaultCurrency}
	for _, o := range opts {
		o(&cfg)
	}
	var v ecolaura.Validator
	v.Required("database", db)
	v.Required("clock", clock)
	v.Required("ids", ids)
	v.Check(cfg.currency.Valid(), "currency", "unsupported currency %q", string(cfg.currency))
	price := DefaultCarbonOffsetPrice(cfg.currency)
	if cfg.offsetPrice != nil {
		price = *cfg.offsetPrice
		v.Check(price.Currency == cfg.currency, "carbon_offset_price", "must be in the shop currency %s", cfg.currency)
		v.Merge("carbon_offset_price", price.ValidatePrice())
	}
	if cfg.paymentsSet {
		v.Required("payment_provider", cfg.payments)
	} else {
		cfg.payments = payments.None{}
	}
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("orders service: %w", err)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db:           db,
		clock:        clock,
		ids:          ids,
		log:          cfg.log,
		notifier:     cfg.notifier,
		currency:     cfg.currency,
		offsetPrice:  price,
		verifiedOnly: cfg.verifiedOnly,
		payments:     cfg.payments,
		shipping:     cfg.shipping,
		inflight:     make(map[inflightKey]struct{}),
		sending:      make(map[ecolaura.ID]struct{}),
	}, nil
}

// Currency returns the shop's currency.
func (s *Service) Currency() ecolaura.Currency { return s.currency }

// PaymentProvider returns the provider that takes the orders' payments
// (see [WithPaymentProvider]); its Name is "none" by default.
func (s *Service) PaymentProvider() ports.PaymentProvider { return s.payments }

// CarbonOffsetPrice returns the price of compensating one kg CO2e.
func (s *Service) CarbonOffsetPrice() ecolaura.Money { return s.offsetPrice }

// loadVisible loads an order the actor may see. A customer asking for
// someone else's order, or for a malformed ID, gets ErrNotFound.
func loadVisible(ctx context.Context, store ports.OrderStore, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.Order{}, err
	}
	if _, err := ecolaura.ParseID(string(id)); err != nil {
		return ecolaura.Order{}, fmt.Errorf("order %q: %w", id, ecolaura.ErrNotFound)
	}
	o, err := store.Get(ctx, id)
	notFound := errors.Is(err, ecolaura.ErrNotFound) || (err == nil && !actor.IsStaff() && o.UserID != actor.UserID)
	if notFound {
		// The same error for a missing order and for someone else's.
		return ecolaura.Order{}, fmt.Errorf("order %s: %w", id, ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.Order{}, fmt.Errorf("load order %s: %w", id, err)
	}
	return o, nil
}

var errNoNotifier = errors.New("no notifier configured (orders.WithNotifier)")

// VerifiedEmailRequired reports whether checkout needs a verified email.
func (s *Service) VerifiedEmailRequired() bool { return s.verifiedOnly }

// audit appends an event about order id to the audit log of tx.
func (s *Service) audit(ctx context.Context, tx ports.Tx, actor ecolaura.Principal, id ecolaura.ID, before, after ecolaura.Order) error {
	var d ecolaura.AuditDiff
	d.Compare("status", string(before.Status), string(after.Status))
	return tx.Audit().Append(ctx, ecolaura.AuditEvent{
		ID: s.ids.NewID(), ActorID: actor.UserID, At: after.UpdatedAt, Action: ecolaura.ActionStatus,
		Entity: ecolaura.EntityOrder, EntityID: id, Changes: d.Changes(),
	})
}
