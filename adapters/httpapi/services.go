package httpapi

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/audit"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/inventory"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
	"github.com/ecolaura/ecolaura/ecolaura/passport"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/ratelimit"
	"github.com/ecolaura/ecolaura/ports"
)

// Catalog is what the API needs of the catalog service (*catalog.Service
// implements it). Wire it over a productcache-wrapped database so reads are
// cached and every write invalidates them.
type Catalog interface {
	Create(ctx context.Context, actor ecolaura.Principal, in catalog.ProductInput) (ecolaura.Product, error)
	Update(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch catalog.Patch) (ecolaura.Product, error)
	// ValidateInput and ValidatePatch check a write as Create and Update
	// would, so a request with a malformed field still gets the domain's
	// verdict on all the others in the same response.
	ValidateInput(in catalog.ProductInput) error
	ValidatePatch(patch catalog.Patch) error
	Delete(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error
	Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Product, error)
	List(ctx context.Context, actor ecolaura.Principal, params catalog.ListParams) (catalog.ListResult, error)
	Categories(ctx context.Context, actor ecolaura.Principal) ([]ecolaura.CategoryCount, error)

	// Images returns the images of products by product ID (v2 products
	// show them); the others write them (staff only).
	Images(ctx context.Context, actor ecolaura.Principal, productIDs ...ecolaura.ID) (map[ecolaura.ID][]ecolaura.ProductImage, error)
	UploadImage(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, in catalog.ImageUpload) (ecolaura.ProductImage, error)
	UpdateImage(ctx context.Context, actor ecolaura.Principal, productID, imageID ecolaura.ID, patch catalog.ImagePatch) (ecolaura.ProductImage, error)
	ReorderImages(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, ids []ecolaura.ID) ([]ecolaura.ProductImage, error)
	DeleteImage(ctx context.Context, actor ecolaura.Principal, productID, imageID ecolaura.ID) error

	// GetVariant reads a variant with its product (visibility as Get); the
	// others write variants (staff only).
	GetVariant(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID) (ecolaura.Product, ecolaura.Variant, error)
	CreateVariant(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, in catalog.VariantInput) (ecolaura.Product, ecolaura.Variant, error)
	UpdateVariant(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID, pt catalog.VariantPatch) (ecolaura.Product, error)
	DeleteVariant(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID) (ecolaura.Product, error)
}

// Inventory is what the API needs of the inventory service
// (*inventory.Service): staff set and adjust a variant's stock per
// location and read its levels, movements and the stock locations.
type Inventory interface {
	Set(ctx context.Context, actor ecolaura.Principal, c inventory.Change, units int) (inventory.Result, error)
	Adjust(ctx context.Context, actor ecolaura.Principal, c inventory.Change, delta int, reason ecolaura.MovementReason) (inventory.Result, error)
	Levels(ctx context.Context, actor ecolaura.Principal, variantID ecolaura.ID) ([]ecolaura.InventoryLevel, error)
	Movements(ctx context.Context, actor ecolaura.Principal, q ports.MovementQuery) ([]ecolaura.InventoryMovement, error)
	Locations(ctx context.Context, actor ecolaura.Principal) ([]ecolaura.StockLocation, error)
	CreateLocation(ctx context.Context, actor ecolaura.Principal, in inventory.LocationInput) (ecolaura.StockLocation, error)
}

// MediaFiles opens the files served under /media/ (the media adapter's
// Store implements it).
type MediaFiles interface {
	// Open returns the content and size of the file under key (a content
	// address, see ecolaura.ValidMediaKey). Errors: ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
}

// Orders is what the API needs of the orders service (*orders.Service).
type Orders interface {
	Checkout(ctx context.Context, actor ecolaura.Principal, req orders.CheckoutRequest) (orders.CheckoutResult, error)
	Quote(ctx context.Context, actor ecolaura.Principal, req orders.QuoteRequest) (ecolaura.Quote, error)
	Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error)
	List(ctx context.Context, actor ecolaura.Principal, p orders.ListParams) (orders.ListResult, error)
	Cancel(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error)
	Ship(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error)
	Deliver(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error)
}

// Sustainability is what the API needs of the sustainability service
// (*sustainability.Service).
type Sustainability interface {
	Alternatives(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, limit int) ([]sustainability.Alternative, error)
	CategoryAverages(ctx context.Context, actor ecolaura.Principal) ([]ecolaura.CategoryStats, error)
}

// Passports is what the API needs of the passport service
// (*passport.Service).
type Passports interface {
	// Validate checks a passport as Publish would, so a request with a
	// malformed field still gets the domain's verdict on the others.
	Validate(p ecolaura.Passport) error
	Publish(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, p ecolaura.Passport) (ecolaura.PassportVersion, error)
	Get(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, number int) (passport.View, error)
	Versions(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID) ([]ecolaura.PassportVersionInfo, error)
	// Resolve finds the passport by the GTIN its product is sold under
	// (the GS1 Digital Link resolver).
	Resolve(ctx context.Context, actor ecolaura.Principal, gtin string, number int) (passport.View, error)
}

// Users is what the API needs of the users service (*users.Service).
type Users interface {
	Register(ctx context.Context, in users.RegisterInput) (ecolaura.User, error)
	Login(ctx context.Context, c users.Credentials) (users.TokenPair, error)
	Refresh(ctx context.Context, refreshToken string) (users.TokenPair, error)
	Logout(ctx context.Context, refreshToken string) error
	Me(ctx context.Context, actor ecolaura.Principal) (ecolaura.User, error)
	// CurrentPrincipal checks the account behind every bearer token.
	CurrentPrincipal(ctx context.Context, p ecolaura.Principal) (ecolaura.Principal, error)

	UpdateProfile(ctx context.Context, actor ecolaura.Principal, patch users.ProfilePatch) (ecolaura.User, error)
	RequestEmailChange(ctx context.Context, actor ecolaura.Principal, in users.EmailChange) error
	ChangePassword(ctx context.Context, actor ecolaura.Principal, in users.PasswordChange) error
	RequestPasswordReset(ctx context.Context, email string) error
	ResetPassword(ctx context.Context, in users.PasswordReset) error
	VerifyEmail(ctx context.Context, token string) (ecolaura.User, error)
	RequestEmailVerification(ctx context.Context, actor ecolaura.Principal) error
	Export(ctx context.Context, actor ecolaura.Principal) (users.AccountExport, error)
	DeleteAccount(ctx context.Context, actor ecolaura.Principal, password string) error

	Addresses(ctx context.Context, actor ecolaura.Principal) ([]ecolaura.SavedAddress, error)
	Address(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.SavedAddress, error)
	CreateAddress(ctx context.Context, actor ecolaura.Principal, in users.AddressInput) (ecolaura.SavedAddress, error)
	UpdateAddress(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch users.AddressPatch) (ecolaura.SavedAddress, error)
	DeleteAddress(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error

	Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.User, error)
	List(ctx context.Context, actor ecolaura.Principal, p users.ListParams) (users.ListResult, error)
	Administer(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch users.AdminPatch) (ecolaura.User, error)
}

// Shipping is what the API needs of the shipping service
// (*shipping.Service): shipping methods, tax rates and the shop's tax mode.
type Shipping interface {
	ListMethods(ctx context.Context, actor ecolaura.Principal, p shipping.ListMethodsParams) ([]ecolaura.ShippingMethod, error)
	GetMethod(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.ShippingMethod, error)
	CreateMethod(ctx context.Context, actor ecolaura.Principal, in shipping.MethodInput) (ecolaura.ShippingMethod, error)
	UpdateMethod(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch shipping.MethodPatch) (ecolaura.ShippingMethod, error)
	DeleteMethod(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error
	TaxMode() ecolaura.TaxMode
	TaxRates(ctx context.Context, country string) ([]ecolaura.TaxRate, error)
	TaxRate(ctx context.Context, id ecolaura.ID) (ecolaura.TaxRate, error)
	CreateTaxRate(ctx context.Context, actor ecolaura.Principal, in shipping.TaxRateInput) (ecolaura.TaxRate, error)
	UpdateTaxRate(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, rate int64) (ecolaura.TaxRate, error)
	DeleteTaxRate(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error
}

// Audit is what the API needs of the audit service (*audit.Service).
type Audit interface {
	List(ctx context.Context, actor ecolaura.Principal, p audit.ListParams) (audit.ListResult, error)
}

// CacheSignals tell when a rendered product response is still current
// (*productcache.Database implements it): the catalog generation changes with
// every write that can change a list, and the stamp of a set of products
// with any change to one of them.
type CacheSignals interface {
	Generation(ctx context.Context) (int64, error)
	Stamp(ctx context.Context, ids []ecolaura.ID) (string, error)
}

// RateLimit allows Burst requests at once and then Rate requests per Period.
// (An alias: the adapters implementing [RateLimiter] name the same type
// without importing this package.)
type RateLimit = ratelimit.Limit

// RateDecision is the outcome of one rate-limit check: whether the request
// may pass, how many more would pass right now, and (when denied) how long
// to wait before the next one can.
type RateDecision = ratelimit.Decision

// RateLimiter decides whether the request identified by key may pass limit.
// The API consults it for the auth endpoints (per client IP), failed
// sign-ins (per account and per IP) and writes (per user), and answers 429
// with Retry-After when a request is denied; a limiter error lets the
// request through (logged). Implementations sharing a
// backend (the Redis adapter) enforce a limit across processes; the memory
// adapter's limits one process. The semantics every implementation honours
// are checked by package ratelimittest (beside this one).
type RateLimiter interface {
	// Allow takes one request from key's budget under limit when there is
	// one left, and says when the next request can pass when there is not.
	Allow(ctx context.Context, key string, limit RateLimit) (RateDecision, error)
	// Refund gives back one request that Allow let pass under key with the
	// same limit, as if it had not been made: a caller that reserves a
	// request before an attempt and learns only afterwards that it should
	// not count (a sign-in that turned out to be valid, when only failures
	// count) refunds it. Refunding a key with nothing taken is a no-op; a
	// budget never grows past its burst.
	Refund(ctx context.Context, key string, limit RateLimit) error
}

// TokenVerifier checks a bearer access token and returns its principal.
// Every failure (malformed, bad signature, wrong type, issuer or audience,
// expired) returns an error matching ecolaura.ErrUnauthenticated. The jwt
// adapter's Verifier implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (ecolaura.Principal, error)
}

// ResponseCache keeps rendered responses and checkout replays under
// string keys with a time to live; a miss is (nil, false, nil), and an
// error is only a miss to the API. The memory and Redis adapters' caches
// implement it.
type ResponseCache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Services are the use cases the API presents, plus the infrastructure it
// needs for authentication, rate limiting and readiness.
type Services struct {
	Catalog        Catalog
	Orders         Orders
	Sustainability Sustainability
	Users          Users
	Audit          Audit
	Shipping       Shipping
	Passports      Passports
	Inventory      Inventory
	// JWKS returns the public verification keys as a JWK Set document.
	JWKS func() ([]byte, error)
	// ResponseCache keeps v2 checkout responses for idempotent replays and,
	// with CacheSignals, rendered product responses (optional: without it a
	// replay renders the order as it is now and every read renders anew).
	ResponseCache ResponseCache
	// CacheSignals enable caching rendered product responses (optional).
	CacheSignals CacheSignals
	// Tokens verifies bearer access tokens.
	Tokens TokenVerifier
	// RateLimiter enforces the configured limits; nil disables them.
	RateLimiter RateLimiter
	// Probes are checked by /readyz.
	Probes []Probe
	// Media serves the image files under /media/ (optional: without it
	// /media/ answers 404; nginx may serve the directory instead).
	Media MediaFiles
}

// Validate reports missing required services.
func (s Services) Validate() error {
	var v ecolaura.Validator
	v.Required("catalog", s.Catalog)
	v.Required("orders", s.Orders)
	v.Required("sustainability", s.Sustainability)
	v.Required("users", s.Users)
	v.Required("audit", s.Audit)
	v.Required("shipping", s.Shipping)
	v.Required("passports", s.Passports)
	v.Required("inventory", s.Inventory)
	v.Required("jwks", s.JWKS)
	v.Required("tokens", s.Tokens)
	// Optional ones may be absent, but not typed nils (they would panic).
	for name, dep := range map[string]any{"rate_limiter": s.RateLimiter, "response_cache": s.ResponseCache, "cache_signals": s.CacheSignals, "media": s.Media} {
		if dep != nil {
			v.Required(name, dep)
		}
	}
	var errs []error
	if err := v.ConfigErr(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range s.Probes {
		if p.Name == "" || p.Check == nil {
			errs = append(errs, errors.New("every probe needs a name and a check"))
		}
	}
	return errors.Join(errs...)
}
