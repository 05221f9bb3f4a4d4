// Package stripe is the Stripe payment provider (ports.PaymentProvider)
// over the official SDK, github.com/stripe/stripe-go: one PaymentIntent per
// order, with the amount and currency of the order, metadata order_id and
// a Stripe idempotency key derived from the order (so a retried request
// never creates a second PaymentIntent); refunds through Stripe with keys
// derived from the refund; webhook payloads verified with the SDK's
// webhook package (signature and timestamp tolerance) before they are
// parsed. Card data never reaches Ecolaura: the storefront confirms the
// PaymentIntent with its client secret, and the outcome arrives as a
// signed webhook.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// DefaultTolerance is how old a webhook's signed timestamp may be (the
// SDK's default, 5 minutes): older deliveries are refused, so a captured
// payload cannot be replayed later.
const DefaultTolerance = webhook.DefaultTolerance

// Config configures the provider.
type Config struct {
	// SecretKey is the API key (sk_live_… or sk_test_…; rk_… restricted
	// keys work too).
	SecretKey string
	// WebhookSecret is the signing secret of the webhook endpoint (whsec_…).
	WebhookSecret string
	// Tolerance bounds the age of a webhook's timestamp (default
	// DefaultTolerance).
	Tolerance time.Duration
	// APIURL points the client at another server (stripe-mock in tests);
	// empty: api.stripe.com.
	APIURL string
	// HTTPClient is the client for API calls (default: one with a
	// 30-second timeout).
	HTTPClient *http.Client
	// TracerProvider traces the calls to Stripe with OpenTelemetry: each
	// of CreatePayment, ConfirmPayment and Refund is a client span
	// ("stripe create payment intent", ...) under the caller's span, with
	// the order ID and, on failure, the error; never a key or a client
	// secret. Calls outside a traced context record nothing. nil: not
	// traced.
	TracerProvider trace.TracerProvider
}

// Validate checks the settings and returns an *ecolaura.ConfigError that
// names them but never shows a secret.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(strings.HasPrefix(c.SecretKey, "sk_") || strings.HasPrefix(c.SecretKey, "rk_"), "secret_key", "must be a Stripe secret key (sk_… or rk_…)")
	v.Check(strings.HasPrefix(c.WebhookSecret, "whsec_"), "webhook_secret", "must be a Stripe webhook signing secret (whsec_…)")
	v.Check(c.Tolerance >= 0 && c.Tolerance <= time.Hour, "tolerance", "must be between 0 and 1h")
	return v.ConfigErr()
}

// Provider implements ports.PaymentProvider with Stripe. It is safe for
// concurrent use.
type Provider struct {
	client    *stripego.Client
	secret    string
	tolerance time.Duration
	tracer    trace.Tracer // nil: not traced
}

var _ ports.PaymentProvider = (*Provider)(nil)

// New returns the provider. Errors: an *ecolaura.ConfigError for bad
// settings.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stripe: %w", err)
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripego.BackendConfig{HTTPClient: hc, LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull}, MaxNetworkRetries: stripego.Int64(2)}
	if cfg.APIURL != "" {
		bc.URL = stripego.String(cfg.APIURL)
	}
	client := stripego.NewClient(cfg.SecretKey, stripego.WithBackends(stripego.NewBackendsWithConfig(bc)))
	p := &Provider{client: client, secret: cfg.WebhookSecret, tolerance: cfg.Tolerance}
	if cfg.TracerProvider != nil {
		p.tracer = cfg.TracerProvider.Tracer("github.com/ecolaura/ecolaura/adapters/stripe")
	}
	return p, nil
}

// span starts the client span of one call to Stripe when ctx has a
// recording span; done ends it with the call's error.
func (p *Provider) span(ctx context.Context, name string, orderID ecolaura.ID) (context.Context, func(error)) {
	if p.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, func(error) {}
	}
	ctx, span := p.tracer.Start(ctx, "stripe "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("payment.provider", ecolaura.ProviderStripe), attribute.String("ecolaura.order_id", string(orderID))))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// Name returns "stripe".
func (p *Provider) Name() string { return ecolaura.ProviderStripe }

// IdempotencyKey is the Stripe idempotency key of an order's
// PaymentIntent: the same order and amount always send the same key, so
// retries never create a second PaymentIntent (a changed amount is a new
// key).
func IdempotencyKey(orderID ecolaura.ID, amount ecolaura.Money) string {
	return fmt.Sprintf("ecolaura-order-%s-%d-%s", orderID, amount.Amount, strings.ToLower(string(amount.Currency)))
}

// CreatePayment creates the order's PaymentIntent (automatic payment
// methods; metadata order_id) and returns its ID and client secret.
// Errors: ErrInvalid when Stripe refuses the request; ErrUnavailable when
// it cannot be reached.
func (p *Provider) CreatePayment(ctx context.Context, r ports.PaymentRequest) (ports.PaymentSession, error) {
	if r.Amount.Amount <= 0 || !r.Amount.Currency.Valid() {
		return ports.PaymentSession{}, ecolaura.Invalid("amount", "must be positive in a supported currency")
	}
	params := &stripego.PaymentIntentCreateParams{
		Amount:                  stripego.Int64(r.Amount.Amount),
		Currency:                stripego.String(strings.ToLower(string(r.Amount.Currency))),
		AutomaticPaymentMethods: &stripego.PaymentIntentCreateAutomaticPaymentMethodsParams{Enabled: stripego.Bool(true)},
		Description:             stripego.String("Ecolaura order " + string(r.OrderID)),
	}
	if r.Email != "" {
		params.ReceiptEmail = stripego.String(r.Email)
	}
	params.AddMetadata("order_id", string(r.OrderID))
	params.SetIdempotencyKey(IdempotencyKey(r.OrderID, r.Amount))
	ctx, done := p.span(ctx, "create payment intent", r.OrderID)
	pi, err := p.client.V1PaymentIntents.Create(ctx, params)
	done(err)
	if err != nil {
		return ports.PaymentSession{}, mapError("create payment intent", err)
	}
	return session(pi), nil
}

// ConfirmPayment reads the PaymentIntent's current state (the order's
// outcome still comes from webhooks). Errors: ErrNotFound for an unknown
// PaymentIntent; ErrUnavailable.
func (p *Provider) ConfirmPayment(ctx context.Context, orderID ecolaura.ID, reference string) (ports.PaymentSession, error) {
	ctx, done := p.span(ctx, "retrieve payment intent", orderID)
	pi, err := p.client.V1PaymentIntents.Retrieve(ctx, reference, nil)
	done(err)
	if err != nil {
		return ports.PaymentSession{}, mapError("retrieve payment intent", err)
	}
	if got := pi.Metadata["order_id"]; got != "" && got != string(orderID) {
		return ports.PaymentSession{}, fmt.Errorf("stripe: payment intent %s belongs to another order: %w", reference, ecolaura.ErrNotFound)
	}
	return session(pi), nil
}

// Refund refunds r.Amount of the PaymentIntent r.Reference, idempotently
// under r.Key. Errors: ErrInvalid when Stripe refuses; ErrUnavailable.
func (p *Provider) Refund(ctx context.Context, r ports.RefundRequest) (ports.RefundResult, error) {
	if r.Amount.Amount <= 0 || r.Key == "" {
		return ports.RefundResult{}, ecolaura.Invalid("amount", "a refund needs a positive amount and a key")
	}
	params := &stripego.RefundCreateParams{PaymentIntent: stripego.String(r.Reference), Amount: stripego.Int64(r.Amount.Amount)}
	params.AddMetadata("order_id", string(r.OrderID))
	if r.Reason != "" {
		params.AddMetadata("reason", r.Reason)
	}
	params.SetIdempotencyKey("ecolaura-refund-" + r.Key)
	ctx, done := p.span(ctx, "create refund", r.OrderID)
	ref, err := p.client.V1Refunds.Create(ctx, params)
	done(err)
	if err != nil {
		return ports.RefundResult{}, mapError("create refund", err)
	}
	st := ecolaura.PaymentPending
	if ref.Status == stripego.RefundStatusSucceeded {
		st = ecolaura.PaymentRefunded
	}
	return ports.RefundResult{Reference: ref.ID, Status: st}, nil
}

// ParseWebhook verifies the Stripe-Signature header of payload with the
// endpoint's secret and the tolerance, then maps the event:
// payment_intent.succeeded → PaymentSucceeded, payment_intent.payment_failed
// and payment_intent.canceled → PaymentFailed, charge.refunded →
// PaymentRefunded (the amount refunded); any other type verifies but has
// no Status. Errors: ErrUnauthenticated when the signature is missing,
// wrong (a tampered payload, another secret) or too old; ErrInvalid for a
// verified payload that cannot be read.
func (p *Provider) ParseWebhook(_ context.Context, payload []byte, signature string) (ports.PaymentEvent, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, signature, p.secret,
		webhook.ConstructEventOptions{Tolerance: p.tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return ports.PaymentEvent{}, fmt.Errorf("stripe: webhook: %s: %w", err.Error(), ecolaura.ErrUnauthenticated)
	}
	out := ports.PaymentEvent{ID: ev.ID, Type: string(ev.Type)}
	if ev.Data == nil {
		return out, nil
	}
	obj := ev.Data.Object
	str := func(k string) string { s, _ := obj[k].(string); return s }
	num := func(k string) int64 { f, _ := obj[k].(float64); return int64(f) }
	meta, _ := obj["metadata"].(map[string]any)
	orderID, _ := meta["order_id"].(string)
	cur := ecolaura.Currency(strings.ToUpper(str("currency")))
	switch ev.Type {
	case stripego.EventTypePaymentIntentSucceeded:
		out.Status, out.Reference, out.Amount = ecolaura.PaymentSucceeded, str("id"), ecolaura.NewMoney(num("amount_received"), cur)
	case stripego.EventTypePaymentIntentPaymentFailed, stripego.EventTypePaymentIntentCanceled:
		out.Status, out.Reference, out.Amount = ecolaura.PaymentFailed, str("id"), ecolaura.NewMoney(num("amount"), cur)
	case stripego.EventTypeChargeRefunded:
		out.Status, out.Reference, out.Amount = ecolaura.PaymentRefunded, str("payment_intent"), ecolaura.NewMoney(num("amount_refunded"), cur)
	default:
		return out, nil
	}
	if orderID != "" {
		id, err := ecolaura.ParseID(orderID)
		if err != nil {
			return ports.PaymentEvent{}, fmt.Errorf("stripe: webhook %s: metadata order_id: %w", ev.ID, err)
		}
		out.OrderID = id
	}
	return out, nil
}

func session(pi *stripego.PaymentIntent) ports.PaymentSession {
	st := ecolaura.PaymentPending
	switch pi.Status {
	case stripego.PaymentIntentStatusSucceeded:
		st = ecolaura.PaymentSucceeded
	case stripego.PaymentIntentStatusCanceled:
		st = ecolaura.PaymentFailed
	}
	return ports.PaymentSession{Provider: ecolaura.ProviderStripe, Reference: pi.ID, Status: st, ClientSecret: pi.ClientSecret,
		Amount: ecolaura.NewMoney(pi.Amount, ecolaura.Currency(strings.ToUpper(string(pi.Currency))))}
}

// mapError maps the SDK's errors to the domain's: Stripe's 4xx answers to
// ErrInvalid (404 to ErrNotFound), everything else (network, 5xx, 429) to
// ErrUnavailable. Stripe's message is kept; the key never is.
func mapError(op string, err error) error {
	var se *stripego.Error
	if errors.As(err, &se) {
		switch {
		case se.HTTPStatusCode == http.StatusNotFound:
			return fmt.Errorf("stripe: %s: %s: %w", op, se.Msg, ecolaura.ErrNotFound)
		case se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests:
			return fmt.Errorf("stripe: %s: %w", op, ecolaura.Invalid("payment", "%s", se.Msg))
		}
	}
	return fmt.Errorf("stripe: %s: %v: %w", op, err, ecolaura.ErrUnavailable)
}
