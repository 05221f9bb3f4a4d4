package payments_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/payments"
	"github.com/ecolaura/ecolaura/ports"
)

const order = ecolaura.ID("01900000-0000-7000-8000-000000000001")

func TestNone(t *testing.T) {
	ctx := context.Background()
	p := payments.None{}
	s, err := p.CreatePayment(ctx, ports.PaymentRequest{OrderID: order, Amount: ecolaura.NewMoney(1999, "EUR")})
	require.NoError(t, err)
	assert.Equal(t, ecolaura.PaymentNotRequired, s.Status)
	assert.Equal(t, "none", p.Name())
	_, err = p.Refund(ctx, ports.RefundRequest{OrderID: order, Amount: ecolaura.NewMoney(1, "EUR")})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
	_, err = p.ParseWebhook(ctx, []byte("{}"), "sig")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func TestManual(t *testing.T) {
	ctx := context.Background()
	p := payments.Manual{Instructions: "Transfer to IBAN DE89 3704 0044 0532 0130 00"}
	s, err := p.CreatePayment(ctx, ports.PaymentRequest{OrderID: order, Amount: ecolaura.NewMoney(1999, "EUR")})
	require.NoError(t, err)
	assert.Equal(t, ecolaura.PaymentPending, s.Status)
	assert.Equal(t, "manual:"+string(order), s.Reference)
	assert.Contains(t, s.Instructions, "IBAN DE89")
	assert.Contains(t, s.Instructions, "19.99 EUR")
	assert.Contains(t, s.Instructions, string(order))
	_, err = p.CreatePayment(ctx, ports.PaymentRequest{OrderID: order, Amount: ecolaura.NewMoney(0, "EUR")})
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
	r, err := p.Refund(ctx, ports.RefundRequest{OrderID: order, Amount: ecolaura.NewMoney(500, "EUR"), Key: "k1"})
	require.NoError(t, err)
	assert.Equal(t, ecolaura.PaymentPending, r.Status, "staff give it back by hand")
	_, err = p.ParseWebhook(ctx, nil, "")
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name, provider string
		stripe         ports.PaymentProvider
		want           string
		bad            bool
	}{
		{name: "default", provider: "", want: "none"},
		{name: "none", provider: "none", want: "none"},
		{name: "manual", provider: "manual", want: "manual"},
		{name: "stripe", provider: "stripe", stripe: payments.None{}, want: "none"},
		{name: "stripe missing", provider: "stripe", bad: true},
		{name: "unknown", provider: "paypal", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := payments.Select(tc.provider, "", tc.stripe)
			if tc.bad {
				var ce *ecolaura.ConfigError
				require.ErrorAs(t, err, &ce)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p.Name())
		})
	}
}
