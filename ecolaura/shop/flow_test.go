package shop_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
)

const password = "correct horse battery"

// findProduct returns the demo product with exactly that name.
func findProduct(t *testing.T, s *shop.Shop, name string) ecolaura.Product {
	t.Helper()
	res, err := s.Catalog.List(context.Background(), ecolaura.Anonymous, catalog.ListParams{Filter: ecolaura.ProductFilter{Query: name}})
	require.NoError(t, err)
	for _, p := range res.Items {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no product named %q", name)
	return ecolaura.Product{}
}

// confirmations returns the order confirmations among the messages (the
// shop also mails a verification link to every new account).
func confirmations(msgs []ports.Message) []ports.Message {
	var out []ports.Message
	for _, m := range msgs {
		if strings.HasPrefix(m.ID, "order_confirmation.") {
			out = append(out, m)
		}
	}
	return out
}

// stock returns the product's current stock.
func stock(t *testing.T, s *shop.Shop, id ecolaura.ID) int {
	t.Helper()
	p, err := s.Catalog.Get(context.Background(), ecolaura.Anonymous, id)
	require.NoError(t, err)
	return p.Stock
}

// signUp registers a customer, signs in and returns the principal its
// access token verifies to.
func signUp(t *testing.T, s *shop.Shop, email string) (ecolaura.User, ecolaura.Principal) {
	t.Helper()
	ctx := context.Background()
	u, err := s.Users.Register(ctx, users.RegisterInput{Email: email, Name: "Ada", Password: password})
	require.NoError(t, err)
	pair, err := s.Users.Login(ctx, users.Credentials{Email: email, Password: password})
	require.NoError(t, err)
	p, err := s.Tokens.Verify(ctx, pair.AccessToken)
	require.NoError(t, err)
	return u, p
}

func TestCheckoutFlowInMemory(t *testing.T) {
	ctx := context.Background()
	outbox := mail.NewRecorder()
	s := newShop(t, shop.WithDemoCatalog(), shop.WithMailer(outbox))
	require.NotNil(t, s.Users)
	require.NotNil(t, s.Orders)
	require.IsType(t, (*memory.JobRunner)(nil), s.Jobs, "the in-memory runner by default")

	u, p := signUp(t, s, "Ada@Example.org")
	assert.Equal(t, u.ID, p.UserID, "the access token verifies to the registered customer")
	assert.Equal(t, ecolaura.RoleCustomer, p.Role)
	assert.NotEmpty(t, p.SessionID, "and names the session it was issued for")
	_, err := s.Tokens.Verify(ctx, "not-a-token")
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)

	brush := findProduct(t, s, "Bamboo Toothbrush (4 pack)")
	before := stock(t, s, brush.ID)
	res, err := s.Orders.Checkout(ctx, p, orders.CheckoutRequest{
		Lines:        []orders.LineRequest{{ProductID: brush.ID, Quantity: 3}},
		CarbonOffset: true,
	})
	require.NoError(t, err)
	placed := res.Order
	assert.Equal(t, ecolaura.StatusPending, placed.Status)
	assert.Equal(t, ecolaura.CO2e(900), placed.Footprint, "3 × 0.3 kg")
	assert.Equal(t, ecolaura.NewMoney(2670, "EUR"), placed.Subtotal)
	require.NotNil(t, placed.Offset)
	assert.Equal(t, ecolaura.NewMoney(2, "EUR"), placed.Offset.Price, "0.9 kg at 0.02 EUR/kg, rounded up")
	assert.Equal(t, ecolaura.NewMoney(2672, "EUR"), placed.Total)
	assert.Equal(t, before-3, stock(t, s, brush.ID))

	require.NoError(t, s.WaitIdle(ctx))
	confirmed, err := s.Orders.Get(ctx, p, placed.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusConfirmed, confirmed.Status, "the background job confirmed the order")
	assert.NotNil(t, confirmed.ConfirmationSentAt)
	msgs := confirmations(outbox.Messages())
	require.Len(t, msgs, 1, "exactly one confirmation email")
	assert.Equal(t, "ada@example.org", msgs[0].To)
	assert.Contains(t, msgs[0].Subject, "is confirmed")
	assert.Contains(t, msgs[0].Text, "Carbon offset (0.9 kg CO2e): 0.02 EUR")
	assert.Contains(t, msgs[0].Text, "Total: 26.72 EUR")
	require.Len(t, outbox.Messages(), 2, "and the verification link of the new account")
	st := s.Jobs.(*memory.JobRunner).Stats()
	assert.Equal(t, int64(3), st.Succeeded, "the verification email, process_order and the confirmation email")
	assert.Zero(t, st.Failed)

	cancelled, err := s.Orders.Cancel(ctx, p, placed.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusCancelled, cancelled.Status)
	assert.Equal(t, before, stock(t, s, brush.ID), "cancel restocks")
	require.NoError(t, s.WaitIdle(ctx))
	assert.Len(t, confirmations(outbox.Messages()), 1, "no email for the cancellation")
	assert.Equal(t, 2, outbox.Len())

	// Another customer cannot see the order.
	_, other := signUp(t, s, "bob@example.org")
	_, err = s.Orders.Get(ctx, other, placed.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

// gateMailer blocks every order confirmation until release is closed (or
// its context ends); other messages pass.
type gateMailer struct {
	entered chan struct{}
	release chan struct{}
	sent    atomic.Int32
}

func newGateMailer() *gateMailer {
	return &gateMailer{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (m *gateMailer) Send(ctx context.Context, msg ports.Message) error {
	if !strings.HasPrefix(msg.ID, "order_confirmation.") {
		return nil
	}
	m.entered <- struct{}{}
	select {
	case <-m.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	m.sent.Add(1)
	return nil
}

// placeOrder registers a customer and checks out one demo product.
func placeOrder(t *testing.T, s *shop.Shop) (ecolaura.Principal, ecolaura.Order) {
	t.Helper()
	_, p := signUp(t, s, "ada@example.org")
	res, err := s.Orders.Checkout(context.Background(), p, orders.CheckoutRequest{
		Lines: []orders.LineRequest{{ProductID: findProduct(t, s, "Solid Shampoo Bar").ID, Quantity: 1}},
	})
	require.NoError(t, err)
	return p, res.Order
}

func TestCloseDrainsRunningJobs(t *testing.T) {
	ctx := context.Background()
	gate := newGateMailer()
	s, err := shop.New(ctx, shop.WithDemoCatalog(), shop.WithMailer(gate))
	require.NoError(t, err)
	p, placed := placeOrder(t, s)
	<-gate.entered // the confirmation email job is running

	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a job was still running", err)
	default:
	}
	close(gate.release)
	require.NoError(t, <-closed)
	assert.Equal(t, int32(1), gate.sent.Load(), "the running job finished before Close returned")
	o, err := s.Orders.Get(ctx, p, placed.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusConfirmed, o.Status)
	assert.NotNil(t, o.ConfirmationSentAt, "its transaction committed")
	require.NoError(t, s.Close(ctx), "Close is idempotent")
	require.NoError(t, s.Jobs.(*memory.JobRunner).Start(ctx, s.JobHandler), "the runner was stopped")
	require.NoError(t, s.Jobs.Stop(ctx))
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	ctx := context.Background()
	gate := newGateMailer()
	s, err := shop.New(ctx, shop.WithDemoCatalog(), shop.WithMailer(gate))
	require.NoError(t, err)
	placeOrder(t, s)
	<-gate.entered

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = s.Close(cctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, gate.sent.Load(), "the running job was cancelled, not waited for")
	assert.Equal(t, err, s.Close(ctx), "a second Close returns the first result")
}

// fakeRunner is a JobRunner that is not the in-memory one.
type fakeRunner struct{ started, stopped atomic.Int32 }

func (r *fakeRunner) Start(context.Context, ports.JobHandler) error { r.started.Add(1); return nil }
func (r *fakeRunner) Stop(context.Context) error                    { r.stopped.Add(1); return nil }

func TestInvalidOptions(t *testing.T) {
	issuer, verifier := newTokens(t, jwt.DefaultConfig())

	tests := []struct {
		name  string
		opts  []shop.Option
		field string
	}{
		{"unsupported currency", []shop.Option{shop.WithCurrency("XXX")}, "currency"},
		{"negative cache TTL", []shop.Option{shop.WithCacheTTL(-time.Second)}, ""},
		{"offset price in another currency", []shop.Option{shop.WithCarbonOffsetPrice(ecolaura.NewMoney(2, "USD"))}, "carbon_offset_price"},
		{"negative offset price", []shop.Option{shop.WithCarbonOffsetPrice(ecolaura.NewMoney(-1, "EUR"))}, "carbon_offset_price.amount"},
		{"refresh TTL too short", []shop.Option{shop.WithRefreshTTL(time.Minute)}, "refresh_ttl"},
		{"refresh TTL too long", []shop.Option{shop.WithRefreshTTL(365 * 24 * time.Hour)}, "refresh_ttl"},
		{"issuer without verifier", []shop.Option{shop.WithTokens(issuer, nil)}, "tokens"},
		{"verifier without issuer", []shop.Option{shop.WithTokens(nil, verifier)}, "tokens"},
		{"foreign runner without its database", []shop.Option{shop.WithJobRunner(&fakeRunner{})}, "job_runner"},
		{"no services", []shop.Option{shop.WithServices(0)}, "services"},
		{"unknown service", []shop.Option{shop.WithServices(shop.AllServices + 1)}, "services"},
		{"demo catalog without the catalog", []shop.Option{shop.WithServices(shop.OrdersService), shop.WithDemoCatalog()}, "demo_catalog"},
		{"job runner without the orders", []shop.Option{shop.WithServices(shop.CatalogService), shop.WithDatabase(memory.NewDatabase()),
			shop.WithJobRunner(&fakeRunner{})}, "job_runner"},
		// The QA report's item 12: a nil given to an option silently ran on
		// the in-memory default; a typed nil passed and panicked later.
		{"nil database", []shop.Option{shop.WithDatabase(nil)}, "database"},
		{"typed nil database", []shop.Option{shop.WithDatabase((*memory.Database)(nil))}, "database"},
		{"nil cache", []shop.Option{shop.WithCache(nil)}, "cache"},
		{"typed nil cache", []shop.Option{shop.WithCache((*memory.Cache)(nil))}, "cache"},
		{"typed nil job runner", []shop.Option{shop.WithJobRunner((*memory.JobRunner)(nil))}, "job_runner"},
		{"typed nil clock", []shop.Option{shop.WithClock((*memory.ManualClock)(nil))}, "clock"},
		{"nil ids", []shop.Option{shop.WithIDs(nil)}, "ids"},
		{"typed nil hasher", []shop.Option{shop.WithHasher((*argon2id.Hasher)(nil))}, "hasher"},
		{"typed nil mailer", []shop.Option{shop.WithMailer((*mail.Recorder)(nil))}, "mailer"},
		{"typed nil verifier", []shop.Option{shop.WithTokens(typedNilIssuer(t), (*jwt.Verifier)(nil))}, "tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := shop.New(context.Background(), tc.opts...)
			if s != nil {
				t.Cleanup(func() { _ = s.Close(context.Background()) })
			}
			require.Error(t, err)
			assert.Nil(t, s)
			require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a wiring mistake is not invalid user input")
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			if tc.field != "" {
				var fields []string
				for _, f := range ce.Fields {
					fields = append(fields, f.Field)
				}
				assert.Contains(t, fields, tc.field, err.Error())
			}
		})
	}
}

func typedNilIssuer(t *testing.T) *jwt.Issuer {
	issuer, _ := newTokens(t, jwt.DefaultConfig())
	return issuer
}

// newTokens returns an issuer and a verifier of cfg over a fresh key, built
// with the jwt adapter's own options.
func newTokens(t *testing.T, cfg jwt.Config) (*jwt.Issuer, *jwt.Verifier) {
	t.Helper()
	key, err := jwt.GenerateDevelopmentKey(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	keys, err := jwt.NewKeySet(key)
	require.NoError(t, err)
	issuer, err := jwt.NewIssuer(cfg, keys)
	require.NoError(t, err)
	verifier, err := jwt.NewVerifier(cfg, keys)
	require.NoError(t, err)
	return issuer, verifier
}

func TestWithDatabaseRunsNoJobsUnlessGivenARunner(t *testing.T) {
	ctx := context.Background()
	runner := memory.NewJobRunner()
	db := memory.NewDatabase(memory.WithJobRunner(runner))
	outbox := mail.NewRecorder()
	s := newShop(t, shop.WithDatabase(db), shop.WithDemoCatalog(), shop.WithMailer(outbox))
	assert.Nil(t, s.Jobs)
	require.ErrorIs(t, s.WaitIdle(ctx), ecolaura.ErrUnavailable)

	p, placed := placeOrder(t, s)
	assert.Equal(t, 2, runner.Stats().Queued, "the jobs (verification email, process_order) wait in the database's queue")

	// The embedding program runs the jobs with the shop's job handler.
	require.NoError(t, runner.Start(ctx, s.JobHandler))
	t.Cleanup(func() { require.NoError(t, runner.Stop(context.Background())) })
	require.NoError(t, runner.WaitIdle(ctx))
	o, err := s.Orders.Get(ctx, p, placed.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusConfirmed, o.Status)
	assert.Len(t, confirmations(outbox.Messages()), 1)
	assert.Equal(t, 2, outbox.Len())
}

func TestWithJobRunner(t *testing.T) {
	ctx := context.Background()
	t.Run("in-memory runner of the default database", func(t *testing.T) {
		runner := memory.NewJobRunner(memory.WithWorkers(1))
		outbox := mail.NewRecorder()
		s, err := shop.New(ctx, shop.WithJobRunner(runner), shop.WithDemoCatalog(), shop.WithMailer(outbox))
		require.NoError(t, err)
		assert.Same(t, runner, s.Jobs)
		placeOrder(t, s)
		require.NoError(t, s.WaitIdle(ctx))
		assert.Len(t, confirmations(outbox.Messages()), 1)
		require.NoError(t, s.Close(ctx))
		require.NoError(t, runner.Start(ctx, s.Orders), "Close stopped the runner")
		require.NoError(t, runner.Stop(ctx))
	})
	t.Run("runner and database given together", func(t *testing.T) {
		runner := &fakeRunner{}
		s, err := shop.New(ctx, shop.WithDatabase(memory.NewDatabase()), shop.WithJobRunner(runner))
		require.NoError(t, err)
		assert.Equal(t, int32(1), runner.started.Load())
		require.ErrorIs(t, s.WaitIdle(ctx), ecolaura.ErrUnavailable, "only the in-memory runner reports idleness")
		require.NoError(t, s.Close(ctx))
		require.NoError(t, s.Close(ctx))
		assert.Equal(t, int32(1), runner.stopped.Load())
	})
	t.Run("start failure", func(t *testing.T) {
		runner := memory.NewJobRunner()
		require.NoError(t, runner.Start(ctx, ports.JobHandlerFunc(func(context.Context, ports.Job) error { return nil })))
		t.Cleanup(func() { require.NoError(t, runner.Stop(context.Background())) })
		_, err := shop.New(ctx, shop.WithJobRunner(runner))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "start job runner")
	})
}

// opaqueVerifier hides the JWKS method of the verifier it wraps.
type opaqueVerifier struct{ shop.TokenVerifier }

func TestTokenOptions(t *testing.T) {
	ctx := context.Background()

	t.Run("generated development key", func(t *testing.T) {
		var logs strings.Builder
		s := newShop(t, shop.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		assert.Contains(t, logs.String(), "DEVELOPMENT JWT SIGNING KEY", "the warning goes through the shop's logger")
		jwks, err := s.JWKS()
		require.NoError(t, err)
		assert.Contains(t, string(jwks), `"kty":"OKP"`)
		_, p := signUp(t, s, "ada@example.org")
		assert.Equal(t, ecolaura.RoleCustomer, p.Role)
	})
	t.Run("issuer and verifier of the jwt adapter", func(t *testing.T) {
		cfg := jwt.DefaultConfig()
		cfg.Issuer = "https://shop.example.org"
		issuer, verifier := newTokens(t, cfg)
		var logs strings.Builder
		s := newShop(t, shop.WithTokens(issuer, verifier), shop.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		assert.NotContains(t, logs.String(), "DEVELOPMENT JWT SIGNING KEY", "no key is generated")
		assert.Same(t, verifier, s.Tokens)
		assert.Same(t, issuer, s.Issuer)
		tok, err := s.Issuer.Issue(ctx, ecolaura.Principal{UserID: "00000000-0000-7000-8000-000000000001", Role: ecolaura.RoleStaff})
		require.NoError(t, err)
		p, err := verifier.Verify(ctx, tok.Token)
		require.NoError(t, err, "signed with the given keys and issuer")
		assert.True(t, p.IsStaff())
		got, err := s.JWKS()
		require.NoError(t, err, "the jwt verifier publishes its keys")
		want, err := verifier.JWKS()
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(got))
	})
	t.Run("a verifier that cannot publish its keys", func(t *testing.T) {
		issuer, verifier := newTokens(t, jwt.DefaultConfig())
		s := newShop(t, shop.WithTokens(issuer, opaqueVerifier{verifier}), shop.WithDemoCatalog())
		_, err := s.JWKS()
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, p := signUp(t, s, "ada@example.org")
		assert.Equal(t, ecolaura.RoleCustomer, p.Role)
	})
}

// TestWithServices: a program that needs only some services gets only them
// and only their dependencies — the worker's shop (orders, account emails
// and a job runner) makes no token key and no password hasher.
func TestWithServices(t *testing.T) {
	ctx := context.Background()
	runner := memory.NewJobRunner()
	db := memory.NewDatabase(memory.WithJobRunner(runner))
	front := newShop(t, shop.WithDatabase(db), shop.WithDemoCatalog(),
		shop.WithServices(shop.CatalogService|shop.UsersService))
	require.NotNil(t, front.Catalog)
	require.NotNil(t, front.Users)
	assert.Nil(t, front.Orders)
	assert.Nil(t, front.Sustainability)

	var logs strings.Builder
	outbox := mail.NewRecorder()
	worker := newShop(t, shop.WithDatabase(db), shop.WithJobRunner(runner), shop.WithMailer(outbox),
		shop.WithServices(shop.OrdersService|shop.AccountMailService), shop.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NotNil(t, worker.Orders)
	require.NotNil(t, worker.AccountMail)
	assert.Nil(t, front.AccountMail)
	assert.Nil(t, front.JobHandler, "the front runs no jobs")
	assert.Nil(t, worker.Catalog)
	assert.Nil(t, worker.Users)
	assert.Nil(t, worker.Sustainability)
	assert.Nil(t, worker.Tokens, "no token verifier without the users service")
	assert.Nil(t, worker.Issuer)
	assert.NotContains(t, logs.String(), "DEVELOPMENT JWT SIGNING KEY", "no token key is made")
	_, err := worker.JWKS()
	require.ErrorIs(t, err, ecolaura.ErrNotFound)

	// A customer orders through the front's catalog and users and the
	// worker's orders service; the worker's runner confirms the order.
	_, p := signUp(t, front, "ada@example.org")
	product := findProduct(t, front, "Bamboo Toothbrush (4 pack)")
	res, err := worker.Orders.Checkout(ctx, p, orders.CheckoutRequest{Lines: []orders.LineRequest{{ProductID: product.ID, Quantity: 1}}})
	require.NoError(t, err)
	require.NoError(t, worker.WaitIdle(ctx))
	o, err := worker.Orders.Get(ctx, p, res.Order.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.StatusConfirmed, o.Status)
	assert.Len(t, confirmations(outbox.Messages()), 1)
	assert.Equal(t, 2, outbox.Len(), "the worker mailed the front's verification link too")
}

// failingHasher refuses to hash, to show WithHasher is used.
type failingHasher struct{}

var errNoHashing = errors.New("no hashing here")

func (failingHasher) Hash(context.Context, string) (string, error) { return "", errNoHashing }
func (failingHasher) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, errNoHashing
}

func TestServiceOptions(t *testing.T) {
	ctx := context.Background()
	t.Run("hasher", func(t *testing.T) {
		s := newShop(t, shop.WithHasher(failingHasher{}))
		_, err := s.Users.Register(ctx, users.RegisterInput{Email: "ada@example.org", Name: "Ada", Password: password})
		require.ErrorIs(t, err, errNoHashing)
	})
	t.Run("carbon offset price", func(t *testing.T) {
		s := newShop(t, shop.WithCurrency("USD"), shop.WithCarbonOffsetPrice(ecolaura.NewMoney(5, "USD")))
		assert.Equal(t, ecolaura.NewMoney(5, "USD"), s.Orders.CarbonOffsetPrice())
		assert.Equal(t, ecolaura.Currency("USD"), s.Orders.Currency())
	})
	t.Run("refresh TTL", func(t *testing.T) {
		s := newShop(t, shop.WithRefreshTTL(2*time.Hour), shop.WithDemoCatalog())
		signUp(t, s, "ada@example.org")
		pair, err := s.Users.Login(ctx, users.Credentials{Email: "ada@example.org", Password: password})
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now().Add(2*time.Hour), pair.RefreshExpiresAt, time.Minute)
	})
}

// TestConstructorsRefuseTypedNils is the QA report's item 12 for every
// constructor and option of the SDK that takes an interface: a nil, or a
// typed nil such as (*postgres.Database)(nil), is an *ecolaura.ConfigError
// when the constructor runs, not a panic at first use.
func TestConstructorsRefuseTypedNils(t *testing.T) {
	db, clock, ids := memory.NewDatabase(), memory.NewManualClock(time.Now()), memory.NewSequentialIDs()
	issuer, _ := newTokens(t, jwt.DefaultConfig())
	key, err := jwt.GenerateDevelopmentKey(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	keys, err := jwt.NewKeySet(key)
	require.NoError(t, err)
	nilDB, nilClock, nilIDs := (*memory.Database)(nil), (*memory.ManualClock)(nil), (*memory.SequentialIDs)(nil)
	tests := []struct {
		name  string
		build func() error
		field string
	}{
		{"catalog database", func() error { _, err := catalog.New(nilDB, clock, ids); return err }, "database"},
		{"catalog clock", func() error { _, err := catalog.New(db, nilClock, ids); return err }, "clock"},
		{"catalog ids", func() error { _, err := catalog.New(db, clock, nilIDs); return err }, "ids"},
		{"orders database", func() error { _, err := orders.New(nilDB, clock, ids); return err }, "database"},
		{"users hasher", func() error { _, err := users.New(db, (*argon2id.Hasher)(nil), issuer, clock, ids); return err }, "hasher"},
		{"users tokens", func() error { _, err := users.New(db, fastHasherForTest{}, (*jwt.Issuer)(nil), clock, ids); return err }, "tokens"},
		{"sustainability store", func() error { _, err := sustainability.New((*typedStore)(nil)); return err }, "products"},
		{"product cache database", func() error { _, err := productcache.Wrap(nilDB, memory.NewCache()); return err }, "database"},
		{"product cache cache", func() error { _, err := productcache.Wrap(db, (*memory.Cache)(nil)); return err }, "cache"},
		{"jwt issuer clock", func() error { _, err := jwt.NewIssuer(jwt.DefaultConfig(), keys, jwt.WithClock(nilClock)); return err }, "clock"},
		{"jwt verifier clock", func() error {
			_, err := jwt.NewVerifier(jwt.DefaultConfig(), keys, jwt.WithClock(nilClock))
			return err
		}, "clock"},
		{"smtp clock", func() error {
			_, err := mail.NewSMTPMailer(mail.Config{Host: "smtp.example.org", Port: 587, From: "shop@example.org"}, mail.WithClock(nilClock))
			return err
		}, "clock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.build() })
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			var fields []string
			for _, f := range ce.Fields {
				fields = append(fields, f.Field)
			}
			assert.Contains(t, fields, tc.field, err.Error())
		})
	}
}

// typedStore is a product store whose nil pointer is a typed nil.
type typedStore struct{ ports.ProductStore }

type fastHasherForTest struct{}

func (fastHasherForTest) Hash(context.Context, string) (string, error) { return "x", nil }
func (fastHasherForTest) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, nil
}
