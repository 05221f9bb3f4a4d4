package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/argon2id"
	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/adapters/jwt"
	"github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/adapters/media"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/adapters/productcache"
	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/audit"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/inventory"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/passport"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

// The adapters implement the contracts this package declares without
// importing it (adapters do not import each other): checked here. The rate
// limiters are checked, and put through their suite, in ratelimittest.
var _ httpapi.TokenVerifier = (*jwt.Verifier)(nil)

// harness is a real server over the memory adapters.
type harness struct {
	t       *testing.T
	srv     *httpapi.Server
	catalog *catalog.Service
	orders  *orders.Service
	runner  *memory.JobRunner
	mailer  *mail.Recorder
	db      *productcache.Database
	logs    *syncBuffer
	users   *users.Service
	issuer  *jwt.Issuer
	svc     httpapi.Services
	cfg     httpapi.Config
	pwHash  string // hash of testPassword
	staff   string // bearer token of a staff user
	alice   string // bearer token of a customer
	bob     string // bearer token of another customer
}

type harnessOption func(*harnessConfig)

type harnessConfig struct {
	cfg             httpapi.Config
	services        func(*httpapi.Services)
	hasher          ports.PasswordHasher
	requireVerified bool
	// media, when set, stores the catalog's image files and serves /media/.
	media *media.Store
	// store, when set, replaces the in-memory database.
	store *storetest.Store
	// serverOpts are more options of httpapi.New.
	serverOpts []httpapi.Option
	// taxMode is the shop's tax mode ("" : the default, inclusive).
	taxMode ecolaura.TaxMode
}

// withTaxMode sets the shop's tax mode.
func withTaxMode(m ecolaura.TaxMode) harnessOption {
	return func(h *harnessConfig) { h.taxMode = m }
}

// withServerOptions passes more options to httpapi.New.
func withServerOptions(opts ...httpapi.Option) harnessOption {
	return func(c *harnessConfig) { c.serverOpts = append(c.serverOpts, opts...) }
}

// withMedia gives the catalog a media store in a new directory, served
// under /media/.
func withMedia(t *testing.T) harnessOption {
	m, err := media.Open(filepath.Join(t.TempDir(), "media"))
	require.NoError(t, err)
	return func(h *harnessConfig) { h.media = m }
}

// withStore runs the harness over a fresh database of st.
func withStore(st storetest.Store) harnessOption {
	return func(h *harnessConfig) { h.store = &st }
}

// withVerifiedEmailRequired makes checkout need a verified email.
func withVerifiedEmailRequired() harnessOption {
	return func(h *harnessConfig) { h.requireVerified = true }
}

// withFastHasher hashes passwords with fastHasher instead of Argon2id, for
// tests that sign in hundreds of times.
func withFastHasher() harnessOption {
	return func(h *harnessConfig) { h.hasher = fastHasher{} }
}

// fastHasher is a password hasher for tests: salted SHA-256, compared in
// constant time. Not for passwords anyone cares about.
type fastHasher struct{}

func (fastHasher) Hash(_ context.Context, password string) (string, error) {
	var salt [8]byte
	_, _ = rand.Read(salt[:])
	sum := sha256.Sum256(append(salt[:], password...))
	return "$fast$" + hex.EncodeToString(salt[:]) + "$" + hex.EncodeToString(sum[:]), nil
}

func (fastHasher) Verify(_ context.Context, password, encoded string) (bool, bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[1] != "fast" {
		return false, false, errors.New("not a fast hash")
	}
	salt, err := hex.DecodeString(parts[2])
	if err != nil {
		return false, false, err
	}
	sum := sha256.Sum256(append(salt, password...))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(parts[3])) == 1, false, nil
}

func withConfig(f func(*httpapi.Config)) harnessOption {
	return func(h *harnessConfig) { f(&h.cfg) }
}

// withServices changes the services; several apply in order.
func withServices(f func(*httpapi.Services)) harnessOption {
	return func(h *harnessConfig) {
		prev := h.services
		h.services = func(s *httpapi.Services) {
			if prev != nil {
				prev(s)
			}
			f(s)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	hc := harnessConfig{cfg: httpapi.DefaultConfig()}
	// Generous auth limits: the rate-limit tests set their own.
	hc.cfg.AuthRateLimit.Burst = 1000
	// app.Test sends Host: example.com; listen() serves 127.0.0.1.
	hc.cfg.AllowedHosts = []string{"example.com", "127.0.0.1"}
	for _, o := range opts {
		o(&hc)
	}
	runner := memory.NewJobRunner(memory.WithWorkers(2))
	var base ports.Database = memory.NewDatabase(memory.WithJobRunner(runner))
	var sdb *storetest.DB
	if hc.store != nil {
		sdb = hc.store.Open(t, storetest.JobsConfig{})
		base = sdb
	}
	cache := memory.NewCache()
	db, err := productcache.Wrap(base, cache)
	require.NoError(t, err)
	var catOpts []catalog.Option
	if hc.media != nil {
		catOpts = append(catOpts, catalog.WithMedia(hc.media))
	}
	cat, err := catalog.New(db, system.Clock{}, system.UUIDv7{}, catOpts...)
	require.NoError(t, err)
	mailer := mail.NewRecorder()
	templates, err := mail.DefaultTemplates()
	require.NoError(t, err)
	notifier, err := notify.New(templates, mailer, notify.Config{Shop: notify.Shop{Name: "Ecolaura", URL: "https://shop.example.org"}})
	require.NoError(t, err)
	accountMail, err := users.NewAccountMailer(db, notifier, system.Clock{})
	require.NoError(t, err)
	sus, err := sustainability.New(db.Products())
	require.NoError(t, err)
	auditSvc, err := audit.New(db.Audit())
	require.NoError(t, err)
	var shipOpts []shipping.Option
	if hc.taxMode != "" {
		shipOpts = append(shipOpts, shipping.WithTaxMode(hc.taxMode))
	}
	shipSvc, err := shipping.New(db, system.Clock{}, system.UUIDv7{}, shipOpts...)
	require.NoError(t, err)
	ord, err := orders.New(db, system.Clock{}, system.UUIDv7{}, orders.WithNotifier(notifier), orders.WithLogger(slog.New(slog.DiscardHandler)),
		orders.WithVerifiedEmailRequired(hc.requireVerified), orders.WithShipping(shipSvc))
	require.NoError(t, err)
	passports, err := passport.New(db, system.Clock{}, system.UUIDv7{})
	require.NoError(t, err)
	inv, err := inventory.New(db, system.Clock{}, system.UUIDv7{})
	require.NoError(t, err)
	handler := ports.JobHandlerFunc(func(ctx context.Context, job ports.Job) error {
		switch job.Kind {
		case users.JobAccountEmail:
			return accountMail.HandleJob(ctx, job)
		case catalog.JobCleanMedia:
			return cat.HandleJob(ctx, job)
		}
		return ord.HandleJob(ctx, job)
	})
	if sdb != nil {
		sdb.StartJobs(t, handler)
	} else {
		require.NoError(t, runner.Start(context.Background(), handler))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = runner.Stop(ctx)
	})
	key, err := jwt.GenerateDevelopmentKey(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	keys, err := jwt.NewKeySet(key)
	require.NoError(t, err)
	issuer, err := jwt.NewIssuer(jwt.DefaultConfig(), keys)
	require.NoError(t, err)
	verifier, err := jwt.NewVerifier(jwt.DefaultConfig(), keys)
	require.NoError(t, err)
	hasher := hc.hasher
	pwHash := ""
	if hasher == nil {
		hasher, err = argon2id.New(argon2id.DefaultParams())
		require.NoError(t, err)
		pwHash, err = passwordHash()
	} else {
		pwHash, err = hasher.Hash(context.Background(), testPassword)
	}
	require.NoError(t, err)
	usr, err := users.New(db, hasher, issuer, system.Clock{}, system.UUIDv7{})
	require.NoError(t, err)
	svc := httpapi.Services{
		Catalog:        cat,
		Orders:         ord,
		Sustainability: sus,
		ResponseCache:  cache,
		CacheSignals:   db,
		Users:          usr,
		Audit:          auditSvc,
		Shipping:       shipSvc,
		Passports:      passports,
		Inventory:      inv,
		JWKS:           keys.JWKS,
		Tokens:         verifier,
		RateLimiter:    memory.NewRateLimiter(),
		Probes:         []httpapi.Probe{{Name: "database", Check: db.Ping}},
	}
	if hc.media != nil {
		svc.Media = hc.media
	}
	if hc.services != nil {
		hc.services(&svc)
	}
	logs := &syncBuffer{}
	srv, err := httpapi.New(hc.cfg, svc, append([]httpapi.Option{httpapi.WithLogger(slog.New(slog.NewJSONHandler(logs, nil)))}, hc.serverOpts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	h := &harness{t: t, srv: srv, catalog: cat, db: db, logs: logs, orders: ord, runner: runner, mailer: mailer, users: usr, issuer: issuer, svc: svc, cfg: hc.cfg, pwHash: pwHash}
	h.staff = h.account("staff@example.org", "Staff", ecolaura.RoleStaff)
	h.alice = h.account("alice@example.org", "Alice", ecolaura.RoleCustomer)
	h.bob = h.account("bob@example.org", "Bob", ecolaura.RoleCustomer)
	return h
}

// testPassword is the password of every account made by harness.account.
const testPassword = "correct-horse-battery"

var passwordHash = sync.OnceValues(func() (string, error) {
	hasher, err := argon2id.New(argon2id.DefaultParams())
	if err != nil {
		return "", err
	}
	return hasher.Hash(context.Background(), testPassword)
})

// account stores a user with testPassword (hashed once per test binary, to
// keep Argon2id's deliberate cost out of every test) and returns an access
// token for it.
func (h *harness) account(email, name string, role ecolaura.Role) string {
	h.t.Helper()
	hash := h.pwHash
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := ecolaura.User{ID: system.UUIDv7{}.NewID(), Email: email, Name: name, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now, Version: 1,
		PasswordChangedAt: now, EmailVerifiedAt: &now}
	require.NoError(h.t, h.db.Users().Create(context.Background(), u))
	tok, err := h.issuer.Issue(context.Background(), u.Principal())
	require.NoError(h.t, err)
	return tok.Token
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// req describes one request.
type req struct {
	Method  string
	Path    string
	Body    any // string, []byte or a value marshalled as JSON
	Token   string
	Headers map[string]string
}

func (h *harness) do(r req) response {
	h.t.Helper()
	var body io.Reader = http.NoBody
	isJSON := false
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
		isJSON = true
	case []byte:
		body = bytes.NewReader(b)
		isJSON = true
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		body = bytes.NewReader(raw)
		isJSON = true
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	hr := httptest.NewRequest(method, r.Path, body)
	if isJSON {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			hr.Host = v
			continue
		}
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := h.srv.App().Test(hr, 10_000)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	validateAgainstSpec(h.t, hr, out)
	return out
}

// product creates a product through the service and returns it.
func (h *harness) product(name, category string, priceMinor int64, stock int, metrics *ecolaura.SustainabilityMetrics) ecolaura.Product {
	h.t.Helper()
	p, err := h.catalog.Create(context.Background(), ecolaura.System(), catalog.ProductInput{
		Name: name, Description: "A " + name, Category: category,
		Price: ecolaura.NewMoney(priceMinor, ecolaura.DefaultCurrency), Stock: stock, Metrics: metrics, Score: 50,
	})
	require.NoError(h.t, err)
	return p
}

func metrics(footprintG int64, recyclable, biodegradable bool) *ecolaura.SustainabilityMetrics {
	return &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.CO2e(footprintG), Recyclable: recyclable, Biodegradable: biodegradable}
}

// listen serves the app on a free local port and returns its base URL.
// scrape returns the server's metrics as the operations listener serves
// them (the API itself does not).
func (h *harness) scrape() string {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.srv.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(h.t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

func (h *harness) listen() string {
	h.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(h.t, err)
	go func() { _ = h.srv.Serve(ln) }()
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}
