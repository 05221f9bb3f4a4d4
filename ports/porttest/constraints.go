package porttest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// The constraint checks below hold every store to the same rules: a value
// one store accepts, every store accepts, and a value one refuses (with
// ErrInvalid, storing nothing) every store refuses. Without them a product
// could be written to the memory store and not to PostgreSQL, or the other
// way round, and an edit could then fail forever on one backend only.

// textCase is a text the rules refuse, or accept when ok is set.
type textCase struct {
	name string
	s    string
	ok   bool
}

// singleLineTexts and multiLineTexts sample the text rules of
// ecolaura.TextKind: no control character (U+0000–U+001F, U+007F–U+009F),
// valid UTF-8; multi-line text may hold TAB, LF and CR.
var singleLineTexts = []textCase{
	{"NUL", "Bamboo\x00brush", false},
	{"ESC", "Bamboo \x1b[31mbrush", false},
	{"newline", "Bamboo\nbrush", false},
	{"tab", "Bamboo\tbrush", false},
	{"DEL", "Bamboo\x7fbrush", false},
	{"C1 NEL", "Bamboo\u0085brush", false},
	{"invalid UTF-8", "Bamboo \xff brush", false},
	{"emoji with zero width joiner", "Family 👨\u200d👩\u200d👧 brush", true},
	{"right-to-left and accents", "فرشاة Zahnbürste ñ", true},
}

var multiLineTexts = []textCase{
	{"NUL", "Line one\x00", false},
	{"vertical tab", "Line one\vLine two", false},
	{"C1 CSI", "Line one\u009b", false},
	{"invalid UTF-8", "Line \xc3\x28", false},
	{"tab, newline and CR", "Line one\r\n\tLine two\nLine three", true},
}

// productConstraints checks that Create and Update refuse every product
// that breaks ecolaura.Product.Validate, a non-UUID ID or a version below
// 1, and accept the boundary values, identically in every store.
func productConstraints(t *testing.T, db ports.Database) {
	store := db.Products()
	type mutation struct {
		name   string
		change func(*ecolaura.Product)
		ok     bool
	}
	var cases []mutation
	for _, tc := range singleLineTexts {
		cases = append(cases, mutation{"name " + tc.name, func(p *ecolaura.Product) { p.Name = tc.s }, tc.ok})
	}
	for _, tc := range multiLineTexts {
		cases = append(cases, mutation{"description " + tc.name, func(p *ecolaura.Product) { p.Description = tc.s }, tc.ok})
	}
	cases = append(cases,
		mutation{"empty name", func(p *ecolaura.Product) { p.Name = "" }, false},
		mutation{"name of 200 characters", func(p *ecolaura.Product) { p.Name = strings.Repeat("é", ecolaura.MaxNameLength) }, true},
		mutation{"name of 201 characters", func(p *ecolaura.Product) { p.Name = strings.Repeat("é", ecolaura.MaxNameLength+1) }, false},
		mutation{"description of 10001 characters", func(p *ecolaura.Product) { p.Description = strings.Repeat("x", ecolaura.MaxDescriptionLength+1) }, false},
		mutation{"category with upper case", func(p *ecolaura.Product) { p.Category = "Kitchen" }, false},
		mutation{"category with a double hyphen", func(p *ecolaura.Product) { p.Category = "kitchen--tools" }, false},
		mutation{"category with a space", func(p *ecolaura.Product) { p.Category = "kitchen tools" }, false},
		mutation{"category of 51 characters", func(p *ecolaura.Product) { p.Category = strings.Repeat("k", ecolaura.MaxCategoryLength+1) }, false},
		mutation{"category of 50 characters", func(p *ecolaura.Product) { p.Category = strings.Repeat("k", ecolaura.MaxCategoryLength) }, true},
		mutation{"unsupported currency", func(p *ecolaura.Product) { p.Price.Currency = "XXX" }, false},
		mutation{"lower-case currency", func(p *ecolaura.Product) { p.Price.Currency = "eur" }, false},
		mutation{"negative price", func(p *ecolaura.Product) { p.Price.Amount = -1 }, false},
		mutation{"maximum price", func(p *ecolaura.Product) { p.Price.Amount = ecolaura.MaxPriceMinor }, true},
		mutation{"price above the maximum", func(p *ecolaura.Product) { p.Price.Amount = ecolaura.MaxPriceMinor + 1 }, false},
		mutation{"negative stock", func(p *ecolaura.Product) { p.Stock = -1 }, false},
		mutation{"maximum stock", func(p *ecolaura.Product) { p.Stock = ecolaura.MaxStock }, true},
		mutation{"stock above the maximum", func(p *ecolaura.Product) { p.Stock = ecolaura.MaxStock + 1 }, false},
		mutation{"score above 100", func(p *ecolaura.Product) { p.Metrics, p.Score = nil, 101 }, false},
		mutation{"negative score", func(p *ecolaura.Product) { p.Metrics, p.Score = nil, -1 }, false},
		mutation{"negative footprint", func(p *ecolaura.Product) { p.Metrics.CarbonFootprint = -1 }, false},
		mutation{"footprint above the maximum", func(p *ecolaura.Product) { p.Metrics.CarbonFootprint = ecolaura.MaxFootprint + 1 }, false},
		mutation{"recycled content above 100", func(p *ecolaura.Product) { p.Metrics.RecycledContent = ptr(101) }, false},
		mutation{"unknown certification", func(p *ecolaura.Product) {
			p.Metrics.Certifications = []ecolaura.Certification{ecolaura.CertFSC, "green-ish"}
		}, false},
	)
	for _, c := range ecolaura.Currencies() {
		cases = append(cases, mutation{"price in " + string(c), func(p *ecolaura.Product) { p.Price = ecolaura.NewMoney(1200, c) }, true})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Create", func(t *testing.T) {
				p := NewProduct(UniqueCategory(), tc.change)
				err := store.Create(ctx(t), p)
				if tc.ok {
					require.NoError(t, err, "every store must accept this product")
					got, err := store.Get(ctx(t), p.ID)
					require.NoError(t, err)
					requireProduct(t, p, got, "the product is stored as given")
					return
				}
				require.ErrorIs(t, err, ecolaura.ErrInvalid, "every store must refuse this product with ErrInvalid")
				_, err = store.Get(ctx(t), p.ID)
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "a refused Create stores nothing")
			})
			t.Run("Update", func(t *testing.T) {
				p := mustCreateProduct(t, db)
				next := p.Clone()
				tc.change(&next)
				_, err := store.Update(ctx(t), next)
				if tc.ok {
					require.NoError(t, err, "every store must accept this update")
					return
				}
				require.ErrorIs(t, err, ecolaura.ErrInvalid, "every store must refuse this update with ErrInvalid")
				got, err := store.Get(ctx(t), p.ID)
				require.NoError(t, err)
				requireProduct(t, p, got, "a refused Update changes nothing")
			})
		})
	}
	t.Run("Create with an ID that is not a UUID", func(t *testing.T) {
		p := NewProduct(UniqueCategory(), func(p *ecolaura.Product) { p.ID = "not-a-uuid" })
		require.ErrorIs(t, store.Create(ctx(t), p), ecolaura.ErrInvalid)
	})
	t.Run("Create with version 0", func(t *testing.T) {
		p := NewProduct(UniqueCategory(), func(p *ecolaura.Product) { p.Version = 0 })
		require.ErrorIs(t, store.Create(ctx(t), p), ecolaura.ErrInvalid)
		_, err := store.Get(ctx(t), p.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a refused Create stores nothing")
	})
	t.Run("List with a search term that breaks the text rules", func(t *testing.T) {
		for _, tc := range singleLineTexts {
			if tc.ok || tc.name == "newline" || tc.name == "tab" {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				_, err := store.List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Query: tc.s}, Limit: 10})
				require.ErrorIs(t, err, ecolaura.ErrInvalid, "a search no stored text can match is refused by every store")
			})
		}
	})
}

// productStockMaximum checks that stock changes keep the stock within
// 0–ecolaura.MaxStock in every store: an increase past the maximum is
// refused with ErrInvalid and changes nothing, unless it saturates.
func productStockMaximum(t *testing.T, db ports.Database) {
	store := db.Products()
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = ecolaura.MaxStock - 5 })

	_, err := AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: 6, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "an increase past the maximum is refused")
	got, err := store.Get(ctx(t), p.ID)
	require.NoError(t, err)
	requireProduct(t, p, got, "a refused increase changes nothing")

	up, err := AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: 5, At: Now()})
	require.NoError(t, err, "an increase up to the maximum is fine")
	require.Equal(t, ecolaura.MaxStock, up.Stock)

	at := Now()
	sat, err := AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: 1000, At: at, Saturate: true})
	require.NoError(t, err, "a saturating increase never fails")
	require.Equal(t, ecolaura.MaxStock, sat.Stock, "a saturating increase stops at the maximum")
	require.Equal(t, up.Version, sat.Version, "a saturating increase is a stock movement like any other (no version bump)")

	down, err := AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: -1000, At: Now(), Saturate: true})
	require.NoError(t, err, "Saturate does not change decreases")
	require.Equal(t, ecolaura.MaxStock-1000, down.Stock)
	sat, err = AdjustStock(ctx(t), db, StockAdjustment{ProductID: p.ID, Delta: 400, At: Now(), Saturate: true})
	require.NoError(t, err)
	require.Equal(t, ecolaura.MaxStock-600, sat.Stock, "below the maximum a saturating increase adds all of it")

	// The product stays editable: every stored product passes Validate.
	cur, err := store.Get(ctx(t), p.ID)
	require.NoError(t, err)
	require.NoError(t, cur.Validate())
	cur.Name = "Still editable"
	_, err = store.Update(ctx(t), cur)
	require.NoError(t, err)
}

// userConstraints checks the rules every user store enforces: a UUID, an
// email of 1–254 characters and a name of 1–150 characters, both following
// the single-line text rules, a known role and a version of at least 1
// (0 means 1). Look-ups by an email no user can have find nothing.
func userConstraints(t *testing.T, db ports.Database) {
	store := db.Users()
	type mutation struct {
		name   string
		change func(*ecolaura.User)
		ok     bool
	}
	var cases []mutation
	for _, tc := range singleLineTexts {
		cases = append(cases, mutation{"name " + tc.name, func(u *ecolaura.User) { u.Name = tc.s }, tc.ok})
	}
	for _, tc := range singleLineTexts {
		if tc.ok {
			continue
		}
		cases = append(cases, mutation{"email " + tc.name, func(u *ecolaura.User) { u.Email = strings.Replace(u.Email, "@", tc.s+"@", 1) }, false})
	}
	cases = append(cases,
		mutation{"empty name", func(u *ecolaura.User) { u.Name = "" }, false},
		mutation{"name of 150 characters", func(u *ecolaura.User) { u.Name = strings.Repeat("ü", ecolaura.MaxUserNameLength) }, true},
		mutation{"name of 151 characters", func(u *ecolaura.User) { u.Name = strings.Repeat("ü", ecolaura.MaxUserNameLength+1) }, false},
		mutation{"empty email", func(u *ecolaura.User) { u.Email = "" }, false},
		mutation{"email of 255 characters", func(u *ecolaura.User) {
			u.Email = RandomToken("") + strings.Repeat("e", ecolaura.MaxEmailLength+1-12-len("@example.org")) + "@example.org"
		}, false},
		mutation{"unknown role", func(u *ecolaura.User) { u.Role = "admin" }, false},
		mutation{"negative version", func(u *ecolaura.User) { u.Version = -1 }, false},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Create", func(t *testing.T) {
				u := NewUser()
				tc.change(&u)
				err := store.Create(ctx(t), u)
				if tc.ok {
					require.NoError(t, err, "every store must accept this user")
					got, err := store.Get(ctx(t), u.ID)
					require.NoError(t, err)
					requireUser(t, u, got)
					return
				}
				require.ErrorIs(t, err, ecolaura.ErrInvalid, "every store must refuse this user with ErrInvalid")
				_, err = store.Get(ctx(t), u.ID)
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "a refused Create stores nothing")
			})
			t.Run("Update", func(t *testing.T) {
				u := mustCreateUser(t, db)
				next := u
				tc.change(&next)
				if next.Version != u.Version {
					return // a version mismatch is a conflict, checked by Update
				}
				_, err := store.Update(ctx(t), next)
				if tc.ok {
					require.NoError(t, err, "every store must accept this update")
					return
				}
				require.ErrorIs(t, err, ecolaura.ErrInvalid, "every store must refuse this update with ErrInvalid")
				got, err := store.Get(ctx(t), u.ID)
				require.NoError(t, err)
				requireUser(t, u, got, "a refused Update changes nothing")
			})
		})
	}
	t.Run("Create with an ID that is not a UUID", func(t *testing.T) {
		u := NewUser()
		u.ID = "not-a-uuid"
		require.ErrorIs(t, store.Create(ctx(t), u), ecolaura.ErrInvalid)
	})
	t.Run("Create with version 0 stores version 1", func(t *testing.T) {
		u := NewUser()
		u.Version = 0
		require.NoError(t, store.Create(ctx(t), u))
		got, err := store.Get(ctx(t), u.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1, got.Version)
	})
	t.Run("GetByEmail with an email no user can have", func(t *testing.T) {
		for _, email := range []string{"", "nul\x00@example.org", "bad\xff@example.org"} {
			_, err := store.GetByEmail(ctx(t), email)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "email %q", email)
		}
	})
}

// tokenConstraints checks the rules every refresh-token store enforces:
// UUIDs, a non-empty hash and an existing user.
func tokenConstraints(t *testing.T, db ports.Database) {
	store := db.RefreshTokens()
	u := mustCreateUser(t, db)
	tests := []struct {
		name   string
		change func(*ecolaura.RefreshToken)
	}{
		{"ID that is not a UUID", func(tk *ecolaura.RefreshToken) { tk.ID = "token-1" }},
		{"family that is not a UUID", func(tk *ecolaura.RefreshToken) { tk.FamilyID = "family-1" }},
		{"user that is not a UUID", func(tk *ecolaura.RefreshToken) { tk.UserID = "user-1" }},
		{"user that does not exist", func(tk *ecolaura.RefreshToken) { tk.UserID = NewID() }},
		{"empty hash", func(tk *ecolaura.RefreshToken) { tk.Hash = "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := NewRefreshToken(u.ID, NewID())
			tc.change(&tk)
			require.ErrorIs(t, store.Create(ctx(t), tk), ecolaura.ErrInvalid)
			if tk.Hash != "" {
				_, err := store.GetByHash(ctx(t), tk.Hash)
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "a refused Create stores nothing")
			}
		})
	}
	t.Run("GetByHash with a hash no token can have", func(t *testing.T) {
		for _, h := range []string{"", "nul\x00", "\xff\xfe"} {
			_, err := store.GetByHash(ctx(t), h)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "hash %q", h)
		}
	})
}

// orderConstraints checks the rules every order store enforces: UUIDs, an
// existing user, a known status, a supported currency, amounts and
// footprints that are not negative, quantities of 1–1000, line names that
// follow the single-line text rules, and an idempotency key of at most 255
// printable ASCII characters.
func orderConstraints(t *testing.T, db ports.Database) {
	store := db.Orders()
	u, a, b := orderFixture(t, db)
	tests := []struct {
		name   string
		change func(*ecolaura.Order)
		ok     bool
	}{
		{"ID that is not a UUID", func(o *ecolaura.Order) { o.ID = "order-1" }, false},
		{"user that is not a UUID", func(o *ecolaura.Order) { o.UserID = "user-1" }, false},
		{"user that does not exist", func(o *ecolaura.Order) { o.UserID = NewID() }, false},
		{"line product that is not a UUID", func(o *ecolaura.Order) { o.Lines[1].ProductID = "product-1" }, false},
		{"unknown status", func(o *ecolaura.Order) { o.Status = "lost" }, false},
		{"unsupported currency", func(o *ecolaura.Order) { o.Subtotal.Currency, o.Total.Currency = "XXX", "XXX" }, false},
		{"line in an unsupported currency", func(o *ecolaura.Order) { o.Lines[0].UnitPrice.Currency, o.Lines[0].Total.Currency = "XXX", "XXX" }, false},
		{"negative subtotal", func(o *ecolaura.Order) { o.Subtotal.Amount = -1 }, false},
		{"negative total", func(o *ecolaura.Order) { o.Total.Amount = -1 }, false},
		{"negative footprint", func(o *ecolaura.Order) { o.Footprint = -1 }, false},
		{"negative offset price", func(o *ecolaura.Order) {
			o.Offset = &ecolaura.CarbonOffset{Footprint: o.Footprint, Price: ecolaura.NewMoney(-1, ecolaura.DefaultCurrency)}
		}, false},
		{"quantity 0", func(o *ecolaura.Order) { o.Lines[0].Quantity = 0 }, false},
		{"quantity above the maximum", func(o *ecolaura.Order) { o.Lines[0].Quantity = ecolaura.MaxLineQuantity + 1 }, false},
		{"negative unit price", func(o *ecolaura.Order) { o.Lines[0].UnitPrice.Amount = -1 }, false},
		{"negative line total", func(o *ecolaura.Order) { o.Lines[0].Total.Amount = -1 }, false},
		{"negative unit footprint", func(o *ecolaura.Order) { o.Lines[0].UnitFootprint = -1 }, false},
		{"line name with NUL", func(o *ecolaura.Order) { o.Lines[0].Name = "Soap\x00" }, false},
		{"line name with C1 control", func(o *ecolaura.Order) { o.Lines[0].Name = "Soap\u0090" }, false},
		{"line name that is not UTF-8", func(o *ecolaura.Order) { o.Lines[0].Name = "Soap\xff" }, false},
		{"idempotency key of 256 characters", func(o *ecolaura.Order) { o.IdempotencyKey = strings.Repeat("k", ecolaura.MaxIdempotencyKey+1) }, false},
		{"idempotency key with NUL", func(o *ecolaura.Order) { o.IdempotencyKey = "key\x00" }, false},
		{"idempotency key that is not ASCII", func(o *ecolaura.Order) { o.IdempotencyKey = "clé" }, false},
		{"version 0", func(o *ecolaura.Order) { o.Version = 0 }, false},
		{"idempotency key of printable ASCII", func(o *ecolaura.Order) { o.IdempotencyKey = RandomToken(" !~{key}-") }, true},
		{"delivery", func(o *ecolaura.Order) { *o = WithDelivery(*o) }, true},
		{"shipping without a shipping address", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.ShippingAddress, o.BillingAddress = nil, nil }, false},
		{"billing address without a shipping address", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.ShippingAddress, o.Shipping = nil, nil }, false},
		{"shipping address with a bad country", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.ShippingAddress.Country = "XX" }, false},
		{"billing address without a name", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.BillingAddress.Name = "" }, false},
		{"shipping method that is not a UUID", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Shipping.MethodID = "bike" }, false},
		{"shipping method without a name", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Shipping.Method = "" }, false},
		{"negative shipping price", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Shipping.Price.Amount = -1 }, false},
		{"shipping price in another currency", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Shipping.Price.Currency = "USD" }, false},
		{"negative delivery footprint", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Shipping.Footprint = -1 }, false},
		{"unknown tax mode", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Tax.Mode = "vat" }, false},
		{"negative tax", func(o *ecolaura.Order) { *o = WithDelivery(*o); o.Tax.Total.Amount = -1 }, false},
		{"order in another supported currency", func(o *ecolaura.Order) {
			o.Subtotal.Currency, o.Total.Currency = "JPY", "JPY"
			for i := range o.Lines {
				o.Lines[i].UnitPrice.Currency, o.Lines[i].Total.Currency = "JPY", "JPY"
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOrder(u.ID, Line(a, 1), Line(b, 2))
			tc.change(&o)
			err := store.Create(ctx(t), o)
			if tc.ok {
				require.NoError(t, err, "every store must accept this order")
				got, err := store.Get(ctx(t), o.ID)
				require.NoError(t, err)
				requireOrder(t, o, got)
				return
			}
			require.ErrorIs(t, err, ecolaura.ErrInvalid, "every store must refuse this order with ErrInvalid")
			if _, perr := ecolaura.ParseID(string(o.ID)); perr == nil {
				_, err = store.Get(ctx(t), o.ID)
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "a refused Create stores nothing")
			}
		})
	}
	t.Run("GetByIdempotencyKey with a key no order can have", func(t *testing.T) {
		for _, key := range []string{"key\x00", "clé\xff"} {
			_, err := store.GetByIdempotencyKey(ctx(t), u.ID, key)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "key %q", key)
		}
	})
}
