package orders_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

// twice runs every job through the handler two times, as an at-least-once
// runner may.
func twice(h ports.JobHandler) ports.JobHandler {
	return ports.JobHandlerFunc(func(ctx context.Context, j ports.Job) error {
		if err := h.HandleJob(ctx, j); err != nil {
			return err
		}
		return h.HandleJob(ctx, j)
	})
}

func TestJobsConfirmAndSendOneEmail(t *testing.T) { storetest.Run(t, testJobsConfirmAndSendOneEmail) }

func testJobsConfirmAndSendOneEmail(t *testing.T, s storetest.Store) {
	tests := []struct {
		name    string
		handler func(f *fixture) ports.JobHandler
	}{
		{"each job once", func(f *fixture) ports.JobHandler { return f.svc }},
		{"each job twice", func(f *fixture) ports.JobHandler { return twice(f.svc) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, s)
			alice := f.user(t, "alice", ecolaura.RoleCustomer)
			p := f.product(t, productSpec{name: "Compost bin", price: 4500, stock: 10, footprint: 8250})
			o := f.checkout(t, alice, orders.CheckoutRequest{Lines: []orders.LineRequest{line(p, 2)}, CarbonOffset: true})
			f.startJobs(t, tc.handler(f))
			f.waitJobs(t)

			got, err := f.svc.Get(context.Background(), alice, o.ID)
			require.NoError(t, err)
			assert.Equal(t, ecolaura.StatusConfirmed, got.Status)
			require.NotNil(t, got.ConfirmationSentAt)
			assert.Equal(t, t0, *got.ConfirmationSentAt)

			msgs := f.mail.Messages()
			require.Len(t, msgs, 1, "exactly one email")
			m := msgs[0]
			assert.Equal(t, "alice@example.org", m.To)
			assert.Contains(t, m.Subject, "is confirmed")
			for _, body := range []string{m.Text, m.HTML} {
				assert.Contains(t, body, "Compost bin")
				assert.Contains(t, body, "45.00 EUR")
				assert.Contains(t, body, "90.00 EUR")
				assert.Contains(t, body, "16.5 kg CO2e")
				assert.Contains(t, body, string(o.ID))
				assert.Contains(t, body, got.Total.String())
				assert.Contains(t, body, got.Offset.Price.String())
			}
			st := f.db.Jobs(t)
			assert.EqualValues(t, 2, st.Succeeded, "process_order and the email job")
			assert.Zero(t, st.Dead)

			// Delivering both jobs again changes nothing.
			require.NoError(t, f.db.Enqueue(context.Background(), ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(`{"order_id":"` + string(o.ID) + `"}`)}))
			require.NoError(t, f.db.Enqueue(context.Background(), ports.Job{Kind: orders.JobSendConfirmationEmail, Payload: []byte(`{"order_id":"` + string(o.ID) + `"}`)}))
			f.waitJobs(t)
			assert.Equal(t, 1, f.mail.Len())
			again, err := f.svc.Get(context.Background(), alice, o.ID)
			require.NoError(t, err)
			assert.Equal(t, got.Version, again.Version)
		})
	}
}

func TestProcessOrderIsIdempotentAndRespectsCancel(t *testing.T) {
	storetest.Run(t, testProcessOrderIsIdempotentAndRespectsCancel)
}

func testProcessOrderIsIdempotentAndRespectsCancel(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})

	cancelled := f.checkout(t, alice, req(line(p, 1)))
	_, err := f.svc.Cancel(ctx, alice, cancelled.ID)
	require.NoError(t, err)
	require.NoError(t, f.svc.ProcessOrder(ctx, cancelled.ID), "a cancelled order is a no-op")
	got, err := f.svc.Get(ctx, alice, cancelled.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusCancelled, got.Status)

	o := f.checkout(t, alice, req(line(p, 1)))
	queued := f.db.Jobs(t).Queued // the two process_order jobs of the checkouts
	require.NoError(t, f.svc.ProcessOrder(ctx, o.ID))
	require.NoError(t, f.svc.ProcessOrder(ctx, o.ID))
	got, err = f.svc.Get(ctx, alice, o.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusConfirmed, got.Status)
	assert.EqualValues(t, 2, got.Version, "confirmed once")
	assert.Equal(t, queued+1, f.db.Jobs(t).Queued, "one email job enqueued")
}

func TestConcurrentJobDeliveries(t *testing.T) { storetest.Run(t, testConcurrentJobDeliveries) }

func testConcurrentJobDeliveries(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
	o := f.checkout(t, alice, req(line(p, 1)))
	payload := ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(`{"order_id":"` + string(o.ID) + `"}`)}

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { assert.NoError(t, f.svc.HandleJob(ctx, payload)) })
	}
	wg.Wait()
	email := ports.Job{Kind: orders.JobSendConfirmationEmail, Payload: payload.Payload}
	var mu sync.Mutex
	var conflicts int
	for range 10 {
		wg.Go(func() {
			err := f.svc.HandleJob(ctx, email)
			if err != nil {
				assert.ErrorIs(t, err, ecolaura.ErrConflict, "a concurrent duplicate is told to retry")
				mu.Lock()
				conflicts++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NoError(t, f.svc.HandleJob(ctx, email), "a retry after the send is a no-op")
	assert.Equal(t, 1, f.mail.Len())
	got, err := f.svc.Get(ctx, alice, o.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 3, got.Version, "confirmed once (v2), marked as sent once (v3)")
}

func TestNoConfirmationForCancelledOrder(t *testing.T) {
	storetest.Run(t, testNoConfirmationForCancelledOrder)
}

func testNoConfirmationForCancelledOrder(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
	o := f.checkout(t, alice, req(line(p, 1)))
	require.NoError(t, f.svc.ProcessOrder(ctx, o.ID))
	_, err := f.svc.Cancel(ctx, alice, o.ID) // before the email job runs
	require.NoError(t, err)
	f.startJobs(t, nil)
	f.waitJobs(t)
	assert.Zero(t, f.mail.Len())
	got, err := f.svc.Get(ctx, alice, o.ID)
	require.NoError(t, err)
	assert.Nil(t, got.ConfirmationSentAt)
	assert.Zero(t, f.db.Jobs(t).Dead)
}

func TestSendConfirmationFailureIsRetried(t *testing.T) {
	storetest.Run(t, testSendConfirmationFailureIsRetried)
}

func testSendConfirmationFailureIsRetried(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user(t, "alice", ecolaura.RoleCustomer)
	p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
	o := f.checkout(t, alice, req(line(p, 1)))
	require.NoError(t, f.svc.ProcessOrder(ctx, o.ID))

	boom := errors.New("smtp: connection refused")
	f.mail.FailWith(boom)
	require.ErrorIs(t, f.svc.SendConfirmation(ctx, o.ID), boom)
	got, err := f.svc.Get(ctx, alice, o.ID)
	require.NoError(t, err)
	assert.Nil(t, got.ConfirmationSentAt, "the mark rolled back with the failed send")

	f.mail.FailWith(nil)
	require.NoError(t, f.svc.SendConfirmation(ctx, o.ID))
	require.NoError(t, f.svc.SendConfirmation(ctx, o.ID))
	assert.Equal(t, 1, f.mail.Len())
}

func TestHandleJobErrors(t *testing.T) { storetest.Run(t, testHandleJobErrors) }

func testHandleJobErrors(t *testing.T, s storetest.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	missing := `{"order_id":"00000000-0000-7000-8000-00000000ffff"}`
	tests := []struct {
		name   string
		job    ports.Job
		target error
	}{
		{"unknown kind", ports.Job{Kind: "reticulate_splines", Payload: []byte(missing)}, ecolaura.ErrInvalid},
		{"payload not JSON", ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(`{`)}, ecolaura.ErrInvalid},
		{"payload without id", ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(`{}`)}, ecolaura.ErrInvalid},
		{"payload with bad id", ports.Job{Kind: orders.JobSendConfirmationEmail, Payload: []byte(`{"order_id":"x"}`)}, ecolaura.ErrInvalid},
		{"missing order to process", ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(missing)}, ecolaura.ErrNotFound},
		{"missing order to email", ports.Job{Kind: orders.JobSendConfirmationEmail, Payload: []byte(missing)}, ecolaura.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, f.svc.HandleJob(ctx, tc.job), tc.target)
		})
	}

	t.Run("malformed payloads are not retried", func(t *testing.T) {
		require.ErrorIs(t, f.svc.HandleJob(ctx, ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(`{`)}), ports.ErrPermanent)
		require.NotErrorIs(t, f.svc.HandleJob(ctx, ports.Job{Kind: "reticulate_splines", Payload: []byte(missing)}), ports.ErrPermanent,
			"an unknown kind is retried: another process may know it")
		require.NotErrorIs(t, f.svc.HandleJob(ctx, ports.Job{Kind: orders.JobProcessOrder, Payload: []byte(missing)}), ports.ErrPermanent)
	})
	t.Run("no notifier", func(t *testing.T) {
		svc, err := orders.New(f.db, f.clock, f.ids)
		require.NoError(t, err)
		err = svc.HandleJob(ctx, ports.Job{Kind: orders.JobSendConfirmationEmail, Payload: []byte(missing)})
		require.ErrorContains(t, err, "no notifier")
	})
}

func TestConfirmationEmail(t *testing.T) {
	sent := t0
	o := ecolaura.Order{
		ID:     "00000000-0000-7000-8000-00000000abcd",
		Status: ecolaura.StatusConfirmed,
		Lines: []ecolaura.OrderLine{
			{Name: `<script>alert("x")</script> & soap`, UnitPrice: ecolaura.NewMoney(250, "EUR"), Quantity: 2, Total: ecolaura.NewMoney(500, "EUR"), UnitFootprint: 617},
		},
		Subtotal:           ecolaura.NewMoney(500, "EUR"),
		Total:              ecolaura.NewMoney(500, "EUR"),
		Footprint:          1234,
		ConfirmationSentAt: &sent,
	}
	u := ecolaura.User{Email: "bob@example.org", Name: "Bob <b>Bold</b>"}

	tests := []struct {
		name       string
		offset     *ecolaura.CarbonOffset
		wantOffset bool
	}{
		{"without offset", nil, false},
		{"with offset", &ecolaura.CarbonOffset{Footprint: 1234, Price: ecolaura.NewMoney(3, "EUR")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := o
			o.Offset = tc.offset
			if tc.offset != nil {
				o.Total = ecolaura.NewMoney(503, "EUR")
			}
			m := renderConfirmation(t, o, u)
			assert.Equal(t, "bob@example.org", m.To)
			assert.Equal(t, "order_confirmation."+string(o.ID)+"@shop.example.org", m.ID, "a stable Message-ID")
			assert.Equal(t, "Your Ecolaura order 0000ABCD is confirmed", m.Subject)
			assert.NotContains(t, m.Subject, "\n")

			assert.Contains(t, m.Text, "Hello Bob <b>Bold</b>,")
			assert.Contains(t, m.Text, `2 × <script>alert("x")</script> & soap @ 2.50 EUR = 5.00 EUR`)
			assert.Contains(t, m.Text, "Subtotal: 5.00 EUR")
			assert.Contains(t, m.Text, "Carbon footprint of this order: 1.234 kg CO2e")
			assert.Contains(t, m.Text, "Total: "+o.Total.String())

			assert.NotContains(t, m.HTML, "<script>", "names are escaped in HTML")
			assert.NotContains(t, m.HTML, "<b>Bold</b>")
			assert.Contains(t, m.HTML, "&lt;script&gt;")
			assert.Contains(t, m.HTML, "Bob &lt;b&gt;Bold&lt;/b&gt;")
			assert.Contains(t, m.HTML, "1.234 kg CO2e")
			assert.Contains(t, m.HTML, o.Total.String())
			assert.True(t, strings.HasPrefix(m.HTML, "<!DOCTYPE html>"))

			assert.Equal(t, tc.wantOffset, strings.Contains(m.Text, "Carbon offset (1.234 kg CO2e): 0.03 EUR"))
			assert.Equal(t, tc.wantOffset, strings.Contains(m.HTML, "Carbon offset (1.234 kg CO2e)"))
		})
	}
}

// renderConfirmation sends the confirmation of o to u through a notifier
// into a recorder and returns the message.
func renderConfirmation(t *testing.T, o ecolaura.Order, u ecolaura.User) ports.Message {
	t.Helper()
	rec := mail.NewRecorder()
	n := newNotifier(t, rec)
	require.NoError(t, n.Send(context.Background(), notify.Email{Kind: notify.OrderConfirmation, EntityID: o.ID, To: u.Email, Data: orders.ConfirmationData(o, u)}))
	require.Equal(t, 1, rec.Len())
	return rec.Messages()[0]
}
