package notify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ports"
)

func newNotifier(t *testing.T, mailer ports.Mailer, cfg notify.Config) *notify.Notifier {
	t.Helper()
	tpl, err := mail.DefaultTemplates()
	require.NoError(t, err)
	n, err := notify.New(tpl, mailer, cfg)
	require.NoError(t, err)
	return n
}

func TestSendUsesAStableMessageID(t *testing.T) {
	rec := mail.NewRecorder()
	n := newNotifier(t, rec, notify.Config{Shop: notify.SampleShop})
	id := ecolaura.ID("0191f5e2-7a3b-7c4d-8e5f-0123456789ab")
	data := notify.PasswordResetData{Name: "Ada", Link: n.Link("/reset-password", "tok en+/="), Token: "x", ValidMinutes: 30}
	for range 2 { // a retry of the same logical message
		require.NoError(t, n.Send(t.Context(), notify.Email{Kind: notify.PasswordReset, EntityID: id, To: "ada@example.org", Data: data}))
	}
	msgs := rec.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, "password_reset."+string(id)+"@shop.example.org", msgs[0].ID, "kind, entity and the shop's domain")
	assert.Equal(t, msgs[0], msgs[1], "a retry sends the same message")
	assert.Equal(t, "ada@example.org", msgs[0].To)
	assert.Equal(t, "Reset your Ecolaura password", msgs[0].Subject)
	assert.Contains(t, msgs[0].Text, "https://shop.example.org/reset-password?token=tok+en%2B%2F%3D", "the token is escaped in the link")

	other := newNotifier(t, rec, notify.Config{Shop: notify.SampleShop, Domain: "mail.example.net"})
	require.NoError(t, other.Send(t.Context(), notify.Email{Kind: notify.VerifyEmail, EntityID: id, To: "ada@example.org",
		Data: notify.VerifyEmailData{Name: "Ada", Email: "ada@example.org", Link: "https://x.example/verify-email?token=t", ValidMinutes: 30}}))
	assert.Equal(t, "verify_email."+string(id)+"@mail.example.net", rec.Messages()[2].ID)
}

func TestSendCountsAndClassifiesFailures(t *testing.T) {
	rec := mail.NewRecorder()
	n := newNotifier(t, rec, notify.Config{Shop: notify.SampleShop})
	email := func() notify.Email {
		return notify.Email{Kind: notify.OrderConfirmation, EntityID: "0191f5e2-7a3b-7c4d-8e5f-0123456789ab", To: "ada@example.org", Data: notify.Kinds()[0].Sample}
	}
	require.NoError(t, n.Send(t.Context(), email()))

	rec.FailWith(errors.New("451 try again later"))
	err := n.Send(t.Context(), email())
	require.Error(t, err)
	require.NotErrorIs(t, err, ports.ErrPermanent, "a transient failure is retried")

	rec.FailWith(ports.Permanent(errors.New("550 no such user")))
	err = n.Send(t.Context(), email())
	require.ErrorIs(t, err, ports.ErrPermanent, "a refusal for good ends the job")
	rec.FailWith(nil)

	bad := email()
	bad.Data = map[string]any{"Name": "no order"}
	require.ErrorIs(t, n.Send(t.Context(), bad), ports.ErrPermanent, "data the templates cannot render: retrying cannot help")
	require.ErrorIs(t, n.Send(t.Context(), notify.Email{Kind: "order_shipped", To: "a@example.org"}), ports.ErrPermanent, "an unknown kind")

	stats := map[notify.Kind]notify.KindStats{}
	for _, s := range n.Stats() {
		stats[s.Kind] = s
	}
	assert.Equal(t, notify.KindStats{Kind: notify.OrderConfirmation, Sent: 1, Failed: 1, Rejected: 2}, stats[notify.OrderConfirmation])
	assert.Equal(t, notify.KindStats{Kind: notify.PasswordReset}, stats[notify.PasswordReset])
	assert.Len(t, n.Stats(), len(notify.Kinds()))
}

func TestNewChecksConfigAndTemplates(t *testing.T) {
	tpl, err := mail.DefaultTemplates()
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		tpl   ports.MessageTemplates
		cfg   notify.Config
		field string
	}{
		{"no templates", nil, notify.Config{Shop: notify.SampleShop}, "templates"},
		{"no shop name", tpl, notify.Config{Shop: notify.Shop{URL: "https://shop.example.org"}}, "shop_name"},
		{"a relative URL", tpl, notify.Config{Shop: notify.Shop{Name: "S", URL: "shop.example.org"}}, "shop_url"},
		{"a URL with a query", tpl, notify.Config{Shop: notify.Shop{Name: "S", URL: "https://shop.example.org/?a=b"}}, "shop_url"},
		{"a bad support address", tpl, notify.Config{Shop: notify.Shop{Name: "S", URL: "https://shop.example.org", SupportEmail: "help"}}, "support_email"},
		{"a bad domain", tpl, notify.Config{Shop: notify.SampleShop, Domain: "a b"}, "domain"},
		{"templates missing a kind", brokenTemplates{fail: notify.EmailChange}, notify.Config{Shop: notify.SampleShop}, "templates.email_change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.New(tc.tpl, mail.NewRecorder(), tc.cfg)
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Fields[0].Field)
		})
	}
}

// brokenTemplates renders every kind but one.
type brokenTemplates struct{ fail notify.Kind }

func (b brokenTemplates) Render(kind string, _ any) (ports.RenderedMessage, error) {
	if kind == string(b.fail) {
		return ports.RenderedMessage{}, fmt.Errorf("no templates for %s: %w", kind, ecolaura.ErrNotFound)
	}
	return ports.RenderedMessage{Subject: "s", Text: "t", HTML: "<p>h</p>"}, nil
}

func TestSendHonoursTheContext(t *testing.T) {
	n := newNotifier(t, mail.NewRecorder(), notify.Config{Shop: notify.SampleShop})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := n.Send(ctx, notify.Email{Kind: notify.PasswordReset, EntityID: "0191f5e2-7a3b-7c4d-8e5f-0123456789ab", To: "a@example.org", Data: notify.Kinds()[1].Sample})
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ports.ErrPermanent)
}
