package orders_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

func TestConfirmationRetriesKeepTheMessageIDAndRefusalsEndTheJob(t *testing.T) {
	storetest.Run(t, testConfirmationRetries)
}

func testConfirmationRetries(t *testing.T, s storetest.Store) {
	t.Run("a transient failure is retried with the same message", func(t *testing.T) {
		f := newFixture(t, s)
		alice := f.user(t, "alice", ecolaura.RoleCustomer)
		p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
		o := f.checkout(t, alice, req(line(p, 1)))
		require.NoError(t, f.svc.ProcessOrder(context.Background(), o.ID))
		flaky := &failFirst{Mailer: f.mail, n: 1, err: errors.New("451 4.3.0 try again later")}
		svc, err := orders.New(f.db, f.clock, f.ids, orders.WithNotifier(newNotifier(t, flaky)))
		require.NoError(t, err)
		f.startJobs(t, svc)
		f.waitJobs(t)
		require.Equal(t, 2, flaky.calls, "tried twice")
		require.Equal(t, 1, f.mail.Len(), "sent once")
		assert.Equal(t, "order_confirmation."+string(o.ID)+"@shop.example.org", flaky.ids[0])
		assert.Equal(t, flaky.ids[0], flaky.ids[1], "the retry carries the same Message-ID")
		assert.Zero(t, f.db.Jobs(t).Dead)
	})
	t.Run("a refusal for good is not retried", func(t *testing.T) {
		f := newFixture(t, s)
		alice := f.user(t, "alice", ecolaura.RoleCustomer)
		p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
		o := f.checkout(t, alice, req(line(p, 1)))
		require.NoError(t, f.svc.ProcessOrder(context.Background(), o.ID))
		refused := &failFirst{Mailer: f.mail, n: 100, err: ports.Permanent(errors.New("550 5.1.1 no such user"))}
		n := newNotifier(t, refused)
		svc, err := orders.New(f.db, f.clock, f.ids, orders.WithNotifier(n))
		require.NoError(t, err)
		f.startJobs(t, svc)
		f.waitJobs(t)
		assert.Equal(t, 1, refused.calls, "one attempt only (the runner allows 3)")
		assert.Equal(t, 1, f.db.Jobs(t).Dead, "the job ended as dead (cancelled on River)")
		assert.EqualValues(t, 1, n.Stats()[0].Rejected, "counted for the metrics")
		got, err := f.svc.Get(context.Background(), alice, o.ID)
		require.NoError(t, err)
		assert.Nil(t, got.ConfirmationSentAt)
	})
}

// failFirst fails the first n sends with err, recording every Message-ID.
type failFirst struct {
	ports.Mailer
	n     int
	err   error
	calls int
	ids   []string
}

func (f *failFirst) Send(ctx context.Context, m ports.Message) error {
	f.calls++
	f.ids = append(f.ids, m.ID)
	if f.calls <= f.n {
		return f.err
	}
	return f.Mailer.Send(ctx, m)
}

func TestNoConfirmationForADeletedAccount(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		alice := f.user(t, "alice", ecolaura.RoleCustomer)
		p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
		o := f.checkout(t, alice, req(line(p, 1)))
		require.NoError(t, f.svc.ProcessOrder(ctx, o.ID))
		require.NoError(t, f.db.Users().Delete(ctx, alice.UserID))
		require.NoError(t, f.svc.SendConfirmation(ctx, o.ID), "nothing to do, not an error to retry")
		assert.Zero(t, f.mail.Len(), "nobody to write to")

		_, err := f.svc.Checkout(ctx, alice, req(line(p, 1)))
		require.ErrorIs(t, err, ecolaura.ErrUnauthenticated, "a deleted account cannot check out")
		assert.Equal(t, 9, f.stock(t, p.ID), "and takes no stock")
	})
}

func TestVerifiedEmailRequired(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s, orders.WithVerifiedEmailRequired(true))
		ctx := context.Background()
		require.True(t, f.svc.VerifiedEmailRequired())
		bob := f.user(t, "bob", ecolaura.RoleStaff) // the fixture verifies customers only
		p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})
		_, err := f.svc.Checkout(ctx, bob, req(line(p, 1)))
		require.ErrorIs(t, err, ecolaura.ErrForbidden)
		var re *ecolaura.RequirementError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, ecolaura.ErrEmailNotVerified, re.Requirement)
		assert.Equal(t, 10, f.stock(t, p.ID), "nothing taken")

		u, err := f.db.Users().Get(ctx, bob.UserID)
		require.NoError(t, err)
		u.EmailVerifiedAt = &t0
		_, err = f.db.Users().Update(ctx, u)
		require.NoError(t, err)
		f.checkout(t, bob, req(line(p, 1)))

		off := newFixture(t, s)
		carol := off.user(t, "carol", ecolaura.RoleStaff)
		q := off.product(t, productSpec{price: 100, stock: 10, footprint: 1})
		off.checkout(t, carol, req(line(q, 1))) // not required by default
	})
}

func TestStaffStatusChangesAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		alice := f.user(t, "alice", ecolaura.RoleCustomer)
		staff := f.user(t, "staff", ecolaura.RoleStaff)
		p := f.product(t, productSpec{price: 100, stock: 10, footprint: 1})

		own := f.checkout(t, alice, req(line(p, 1)))
		_, err := f.svc.Cancel(ctx, alice, own.ID)
		require.NoError(t, err)
		shipped := f.checkout(t, alice, req(line(p, 1)))
		require.NoError(t, f.svc.ProcessOrder(ctx, shipped.ID))
		_, err = f.svc.Ship(ctx, staff, shipped.ID)
		require.NoError(t, err)
		_, err = f.svc.Deliver(ctx, staff, shipped.ID)
		require.NoError(t, err)
		cancelled := f.checkout(t, alice, req(line(p, 1)))
		_, err = f.svc.Cancel(ctx, staff, cancelled.ID)
		require.NoError(t, err)
		_, err = f.svc.Ship(ctx, staff, cancelled.ID)
		require.ErrorIs(t, err, ecolaura.ErrInvalidTransition)

		events := func(id ecolaura.ID) []string {
			page, err := f.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityOrder, EntityID: id, Limit: 10})
			require.NoError(t, err)
			var out []string
			for _, e := range page.Items {
				require.Equal(t, staff.UserID, e.ActorID)
				require.Equal(t, ecolaura.ActionStatus, e.Action)
				require.Len(t, e.Changes, 1)
				out = append(out, *e.Changes[0].From+"→"+*e.Changes[0].To)
			}
			return out
		}
		assert.Empty(t, events(own.ID), "a customer's own cancellation is not a staff write")
		assert.Equal(t, []string{"shipped→delivered", "confirmed→shipped"}, events(shipped.ID), "newest first")
		assert.Equal(t, []string{"pending→cancelled"}, events(cancelled.ID), "a refused transition records nothing")
	})
}
