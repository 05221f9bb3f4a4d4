package stripe_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/ecolaura/ecolaura/adapters/stripe"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/ports"
)

const (
	testKey    = "sk_test_ecolaura"
	testSecret = "whsec_ecolaura_test_secret"
	orderID    = ecolaura.ID("01900000-0000-7000-8000-0000000000c1")
)

func newProvider(t *testing.T, apiURL string) *stripe.Provider {
	t.Helper()
	p, err := stripe.New(stripe.Config{SecretKey: testKey, WebhookSecret: testSecret, APIURL: apiURL})
	require.NoError(t, err)
	return p
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    stripe.Config
		fields []string
	}{
		{"valid", stripe.Config{SecretKey: "sk_live_x", WebhookSecret: "whsec_x"}, nil},
		{"restricted key", stripe.Config{SecretKey: "rk_live_x", WebhookSecret: "whsec_x"}, nil},
		{"publishable key", stripe.Config{SecretKey: "pk_live_secretish", WebhookSecret: "whsec_x"}, []string{"secret_key"}},
		{"missing", stripe.Config{}, []string{"secret_key", "webhook_secret"}},
		{"tolerance", stripe.Config{SecretKey: "sk_x", WebhookSecret: "whsec_x", Tolerance: 2 * time.Hour}, []string{"tolerance"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			var got []string
			for _, f := range ce.Fields {
				got = append(got, f.Field)
			}
			assert.Equal(t, tc.fields, got)
			assert.NotContains(t, err.Error(), "secretish", "a secret is never shown")
		})
	}
}

// TestAgainstStripeMock drives the real SDK against stripe-mock: a
// PaymentIntent per order with the order's amount, currency and metadata,
// a retrieval, a refund, and a refused request mapped to ErrInvalid.
func TestAgainstStripeMock(t *testing.T) {
	url := testenv.StartStripeMock(t)
	p := newProvider(t, url)
	ctx := context.Background()
	s, err := p.CreatePayment(ctx, ports.PaymentRequest{OrderID: orderID, Amount: ecolaura.NewMoney(1999, "EUR"), Email: "ada@example.org"})
	require.NoError(t, err)
	assert.Equal(t, "stripe", s.Provider)
	assert.Regexp(t, `^pi_`, s.Reference)
	assert.NotEmpty(t, s.ClientSecret, "the storefront confirms with it")
	assert.Equal(t, ecolaura.PaymentPending, s.Status)
	assert.Equal(t, ecolaura.NewMoney(1999, "EUR"), s.Amount, "stripe-mock echoes the amount and currency sent")

	got, err := p.ConfirmPayment(ctx, orderID, s.Reference)
	require.NoError(t, err)
	assert.Equal(t, s.Reference, got.Reference)

	r, err := p.Refund(ctx, ports.RefundRequest{OrderID: orderID, Reference: s.Reference, Amount: ecolaura.NewMoney(500, "EUR"), Reason: "damaged", Key: "refund-1"})
	require.NoError(t, err)
	assert.Regexp(t, `^re_`, r.Reference)

	_, err = p.CreatePayment(ctx, ports.PaymentRequest{OrderID: orderID, Amount: ecolaura.NewMoney(0, "EUR")})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "refused before Stripe")
	_, err = p.Refund(ctx, ports.RefundRequest{OrderID: orderID, Reference: s.Reference, Amount: ecolaura.NewMoney(1, "EUR")})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "a refund needs a key")

	down := newProvider(t, "http://127.0.0.1:1")
	_, err = down.CreatePayment(ctx, ports.PaymentRequest{OrderID: orderID, Amount: ecolaura.NewMoney(1999, "EUR")})
	require.ErrorIs(t, err, ecolaura.ErrUnavailable, "an unreachable Stripe")
	assert.NotContains(t, err.Error(), testKey, "the key is never in an error")
}

func TestIdempotencyKey(t *testing.T) {
	a := stripe.IdempotencyKey(orderID, ecolaura.NewMoney(1999, "EUR"))
	assert.Equal(t, a, stripe.IdempotencyKey(orderID, ecolaura.NewMoney(1999, "EUR")), "derived from the order: retries send the same key")
	assert.NotEqual(t, a, stripe.IdempotencyKey(orderID, ecolaura.NewMoney(2999, "EUR")), "a new amount is a new key")
	assert.NotEqual(t, a, stripe.IdempotencyKey("01900000-0000-7000-8000-0000000000c2", ecolaura.NewMoney(1999, "EUR")))
	assert.LessOrEqual(t, len(a), 255, "Stripe's limit")
}

func event(id, typ, object string) []byte {
	return fmt.Appendf(nil, `{"id": %q, "object": "event", "api_version": "2025-01-27.acacia", "created": 1764460800, "type": %q, "data": {"object": %s}}`, id, typ, object)
}

func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// TestWebhooks: events the test signs with the test secret: valid ones of
// each kind, a tampered payload, another secret, an expired timestamp, no
// signature, and a duplicate delivery (parsed twice to the same event ID,
// which the payment store records once).
func TestWebhooks(t *testing.T) {
	p := newProvider(t, "")
	ctx := context.Background()
	succeeded := event("evt_1", "payment_intent.succeeded", fmt.Sprintf(`{"id": "pi_1", "object": "payment_intent", "amount": 1999, "amount_received": 1999, "currency": "eur", "metadata": {"order_id": %q}}`, orderID))
	for _, tc := range []struct {
		name    string
		payload []byte
		want    ports.PaymentEvent
	}{
		{"succeeded", succeeded, ports.PaymentEvent{ID: "evt_1", Type: "payment_intent.succeeded", Status: ecolaura.PaymentSucceeded, OrderID: orderID, Reference: "pi_1", Amount: ecolaura.NewMoney(1999, "EUR")}},
		{"failed", event("evt_2", "payment_intent.payment_failed", fmt.Sprintf(`{"id": "pi_2", "amount": 500, "currency": "eur", "metadata": {"order_id": %q}}`, orderID)),
			ports.PaymentEvent{ID: "evt_2", Type: "payment_intent.payment_failed", Status: ecolaura.PaymentFailed, OrderID: orderID, Reference: "pi_2", Amount: ecolaura.NewMoney(500, "EUR")}},
		{"refunded", event("evt_3", "charge.refunded", fmt.Sprintf(`{"id": "ch_3", "payment_intent": "pi_1", "amount": 1999, "amount_refunded": 500, "currency": "eur", "metadata": {"order_id": %q}}`, orderID)),
			ports.PaymentEvent{ID: "evt_3", Type: "charge.refunded", Status: ecolaura.PaymentRefunded, OrderID: orderID, Reference: "pi_1", Amount: ecolaura.NewMoney(500, "EUR")}},
		{"other type: verified, no status", event("evt_4", "customer.created", `{"id": "cus_1"}`), ports.PaymentEvent{ID: "evt_4", Type: "customer.created"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.ParseWebhook(ctx, tc.payload, sign(tc.payload, testSecret, time.Now()))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	for _, tc := range []struct {
		name      string
		payload   []byte
		signature string
	}{
		{"tampered payload", []byte(string(succeeded[:len(succeeded)-2]) + `, "x": 1}}`), sign(succeeded, testSecret, time.Now())},
		{"another secret", succeeded, sign(succeeded, "whsec_someone_else", time.Now())},
		{"expired timestamp", succeeded, sign(succeeded, testSecret, time.Now().Add(-stripe.DefaultTolerance-time.Minute))},
		{"no signature", succeeded, ""},
		{"garbage signature", succeeded, "t=1,v1=00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.ParseWebhook(ctx, tc.payload, tc.signature)
			require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
		})
	}

	t.Run("duplicate delivery", func(t *testing.T) {
		a, err := p.ParseWebhook(ctx, succeeded, sign(succeeded, testSecret, time.Now()))
		require.NoError(t, err)
		b, err := p.ParseWebhook(ctx, succeeded, sign(succeeded, testSecret, time.Now().Add(time.Second)))
		require.NoError(t, err)
		assert.Equal(t, a.ID, b.ID, "the same event ID: the payment store's dedupe key (porttest.PaymentStore checks it)")
	})
	t.Run("bad order id in metadata", func(t *testing.T) {
		bad := event("evt_9", "payment_intent.succeeded", `{"id": "pi_9", "amount_received": 1, "currency": "eur", "metadata": {"order_id": "nope"}}`)
		_, err := p.ParseWebhook(ctx, bad, sign(bad, testSecret, time.Now()))
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
	})
}
