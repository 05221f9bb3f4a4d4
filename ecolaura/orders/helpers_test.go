package orders_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fixture is an orders service over a fresh database of one store whose
// job runner is created but not started: committed jobs wait in its queue
// until a test starts it. Failing jobs are tried 3 times.
type fixture struct {
	db    *storetest.DB
	clock *memory.ManualClock
	ids   *memory.SequentialIDs
	mail  *mail.Recorder
	svc   *orders.Service
}

func newFixture(t testing.TB, s storetest.Store, opts ...orders.Option) *fixture {
	t.Helper()
	f := &fixture{
		db:    s.Open(t, storetest.JobsConfig{MaxAttempts: 3}),
		clock: memory.NewManualClock(t0),
		ids:   memory.NewSequentialIDs(),
		mail:  mail.NewRecorder(),
	}
	all := append([]orders.Option{orders.WithNotifier(newNotifier(t, f.mail)), orders.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	svc, err := orders.New(f.db, f.clock, f.ids, all...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

// newNotifier renders the embedded templates for the sample shop into m.
func newNotifier(t testing.TB, m ports.Mailer) *notify.Notifier {
	t.Helper()
	tpl, err := mail.DefaultTemplates()
	require.NoError(t, err)
	n, err := notify.New(tpl, m, notify.Config{Shop: notify.Shop{Name: "Ecolaura", URL: "https://shop.example.org"}})
	require.NoError(t, err)
	return n
}

// startJobs starts the runner with h (the service when nil).
func (f *fixture) startJobs(t testing.TB, h ports.JobHandler) {
	t.Helper()
	if h == nil {
		h = f.svc
	}
	f.db.StartJobs(t, h)
}

func (f *fixture) waitJobs(t testing.TB) {
	t.Helper()
	f.db.WaitJobs(t)
}

type productSpec struct {
	name      string
	price     int64 // minor units
	currency  ecolaura.Currency
	stock     int
	footprint ecolaura.CO2e // grams per unit; -1 for no metrics
}

func (f *fixture) product(t testing.TB, s productSpec) ecolaura.Product {
	t.Helper()
	if s.currency == "" {
		s.currency = ecolaura.DefaultCurrency
	}
	if s.name == "" {
		s.name = "Product"
	}
	p := ecolaura.Product{
		ID:        f.ids.NewID(),
		Name:      s.name,
		Category:  "kitchen",
		Price:     ecolaura.NewMoney(s.price, s.currency),
		Stock:     s.stock,
		Score:     50,
		CreatedAt: t0,
		UpdatedAt: t0,
		Version:   1,
	}
	if s.footprint >= 0 {
		p.Metrics = &ecolaura.SustainabilityMetrics{CarbonFootprint: s.footprint, Recyclable: true}
		p.Rescore()
	}
	require.NoError(t, f.db.Products().Create(context.Background(), p))
	return p
}

func (f *fixture) user(t testing.TB, name string, role ecolaura.Role) ecolaura.Principal {
	t.Helper()
	u := ecolaura.User{
		ID:           f.ids.NewID(),
		Email:        fmt.Sprintf("%s@example.org", name),
		Name:         name,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		Role:         role,
		CreatedAt:    t0,
		UpdatedAt:    t0,
		Version:      1,
	}
	if role == ecolaura.RoleCustomer {
		u.EmailVerifiedAt = &t0
	}
	require.NoError(t, f.db.Users().Create(context.Background(), u))
	return u.Principal()
}

func (f *fixture) stock(t testing.TB, id ecolaura.ID) int {
	t.Helper()
	p, err := f.db.Products().Get(context.Background(), id)
	require.NoError(t, err)
	return p.Stock
}

// allOrders lists every order in the store.
func (f *fixture) allOrders(t testing.TB) []ecolaura.Order {
	t.Helper()
	page, err := f.db.Orders().List(context.Background(), ports.OrderQuery{Limit: 1000})
	require.NoError(t, err)
	return page.Items
}

func (f *fixture) checkout(t testing.TB, actor ecolaura.Principal, req orders.CheckoutRequest) ecolaura.Order {
	t.Helper()
	res, err := f.svc.Checkout(context.Background(), actor, req)
	require.NoError(t, err)
	return res.Order
}

func line(p ecolaura.Product, qty int) orders.LineRequest {
	return orders.LineRequest{ProductID: p.ID, Quantity: qty}
}

func req(lines ...orders.LineRequest) orders.CheckoutRequest {
	return orders.CheckoutRequest{Lines: lines}
}

// fieldsOf returns the field names of a *ValidationError.
func fieldsOf(t testing.TB, err error) []string {
	t.Helper()
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
	ve, ok := err.(*ecolaura.ValidationError)
	if !ok {
		var target *ecolaura.ValidationError
		require.ErrorAs(t, err, &target)
		ve = target
	}
	out := make([]string, 0, len(ve.Fields))
	for _, fe := range ve.Fields {
		out = append(out, fe.Field)
	}
	return out
}
