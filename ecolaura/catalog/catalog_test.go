package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
)

var (
	staff    = ecolaura.Principal{UserID: "00000000-0000-7000-8000-0000000000aa", Role: ecolaura.RoleStaff}
	customer = ecolaura.Principal{UserID: "00000000-0000-7000-8000-0000000000bb", Role: ecolaura.RoleCustomer}
	anon     = ecolaura.Anonymous
)

type fixture struct {
	svc   *catalog.Service
	clock *memory.ManualClock
	db    ports.Database
}

// newFixture builds the service over a fresh database of store s.
func newFixture(t *testing.T, s storetest.Store, opts ...catalog.Option) fixture {
	t.Helper()
	clock := memory.NewManualClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	db := s.Open(t, storetest.JobsConfig{})
	svc, err := catalog.New(db, clock, memory.NewSequentialIDs(), opts...)
	require.NoError(t, err)
	return fixture{svc: svc, clock: clock, db: db}
}

// create adds a product as staff, advancing the clock so creation times differ.
func (f fixture) create(t *testing.T, in catalog.ProductInput) ecolaura.Product {
	t.Helper()
	f.clock.Advance(time.Second)
	p, err := f.svc.Create(context.Background(), staff, in)
	require.NoError(t, err)
	return p
}

func eur(cents int64) ecolaura.Money { return ecolaura.NewMoney(cents, ecolaura.DefaultCurrency) }

func ptr[T any](v T) *T { return &v }

func validInput() catalog.ProductInput {
	return catalog.ProductInput{
		Name: "Bamboo Toothbrush", Description: "Compostable handle", Category: "personal-care",
		Price: eur(490), Stock: 10,
		Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 300, Biodegradable: true,
			Certifications: []ecolaura.Certification{ecolaura.CertFSC}},
	}
}

// requireFields asserts err is a *ValidationError naming exactly fields.
func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	require.ErrorIs(t, err, ecolaura.ErrInvalid)
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	got := make([]string, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		got = append(got, f.Field)
	}
	assert.ElementsMatch(t, fields, dedupe(got), "fields of %v", err)
}

// requireConfigFields asserts err is an *ecolaura.ConfigError (a programmer's
// error, not ErrInvalid) naming exactly fields.
func requireConfigFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a wiring mistake is not invalid user input")
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
	got := make([]string, 0, len(ce.Fields))
	for _, f := range ce.Fields {
		got = append(got, f.Field)
	}
	assert.ElementsMatch(t, fields, got, "fields of %v", err)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func TestNewValidatesConfig(t *testing.T) {
	db := memory.NewDatabase()
	clock := memory.NewManualClock(time.Time{})
	ids := memory.NewSequentialIDs()
	tests := []struct {
		name   string
		db     ports.Database
		clock  ports.Clock
		ids    ports.IDGenerator
		opts   []catalog.Option
		fields []string
	}{
		{"missing clock and ids", db, nil, nil, nil, []string{"clock", "ids"}},
		{"missing ids", db, clock, nil, nil, []string{"ids"}},
		{"missing database", nil, clock, ids, nil, []string{"database"}},
		{"bad currency", db, clock, ids, []catalog.Option{catalog.WithDefaultCurrency("XXX")}, []string{"default_currency"}},
		{"negative retries", db, clock, ids, []catalog.Option{catalog.WithUpdateRetries(-1)}, []string{"update_retries"}},
		{"valid", db, clock, ids, []catalog.Option{catalog.WithDefaultCurrency("USD")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := catalog.New(tt.db, tt.clock, tt.ids, tt.opts...)
			if tt.fields == nil {
				require.NoError(t, err)
				assert.Equal(t, ecolaura.Currency("USD"), svc.DefaultCurrency())
				return
			}
			assert.Nil(t, svc)
			requireConfigFields(t, err, tt.fields...)
		})
	}
}

func TestWritesRequireStaff(t *testing.T) { storetest.Run(t, testWritesRequireStaff) }

func testWritesRequireStaff(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	p := f.create(t, validInput())
	ops := map[string]func(actor ecolaura.Principal) error{
		"create": func(a ecolaura.Principal) error { _, err := f.svc.Create(ctx, a, validInput()); return err },
		"update": func(a ecolaura.Principal) error {
			_, err := f.svc.Update(ctx, a, p.ID, catalog.Patch{Name: ptr("Hacked")})
			return err
		},
		"replace": func(a ecolaura.Principal) error {
			_, err := f.svc.Replace(ctx, a, p.ID, catalog.Replacement{ProductInput: validInput()})
			return err
		},
		"delete": func(a ecolaura.Principal) error { return f.svc.Delete(ctx, a, p.ID) },
	}
	actors := []struct {
		name  string
		actor ecolaura.Principal
		want  error
	}{
		{"anonymous", anon, ecolaura.ErrUnauthenticated},
		{"customer", customer, ecolaura.ErrForbidden},
		{"unknown role", ecolaura.Principal{UserID: "x", Role: "admin"}, ecolaura.ErrUnauthenticated},
	}
	for op, call := range ops {
		for _, a := range actors {
			t.Run(op+"/"+a.name, func(t *testing.T) {
				require.ErrorIs(t, call(a.actor), a.want)
			})
		}
	}
	got, err := f.svc.Get(ctx, anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got, "a refused write changes nothing")
	list, err := f.svc.List(ctx, customer, catalog.ListParams{})
	require.NoError(t, err)
	assert.Len(t, list.Items, 1)
}

func TestCreate(t *testing.T) { storetest.Run(t, testCreate) }

func testCreate(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	in := validInput()
	in.Name = "  Bamboo Toothbrush  "
	in.Category = " Personal-Care "
	in.Price = ecolaura.Money{Amount: 490} // no currency: the default
	in.Score = 3                           // ignored: the product has metrics
	in.Metrics.Certifications = []ecolaura.Certification{ecolaura.CertFSC, ecolaura.CertFSC}
	p, err := f.svc.Create(ctx, staff, in)
	require.NoError(t, err)
	assert.NotEmpty(t, p.ID)
	assert.Equal(t, "Bamboo Toothbrush", p.Name)
	assert.Equal(t, "personal-care", p.Category)
	assert.Equal(t, eur(490), p.Price)
	assert.Equal(t, []ecolaura.Certification{ecolaura.CertFSC}, p.Metrics.Certifications)
	assert.Equal(t, ecolaura.ComputeScore("personal-care", *p.Metrics).Value, p.Score)
	assert.NotEqual(t, 3, p.Score)
	assert.Equal(t, int64(1), p.Version)
	assert.Equal(t, f.clock.Now(), p.CreatedAt)
	assert.Equal(t, p.CreatedAt, p.UpdatedAt)

	got, err := f.svc.Get(ctx, anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got)

	// Changing the input afterwards does not reach the stored product.
	in.Metrics.CarbonFootprint = 999_999
	got, err = f.svc.Get(ctx, anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.CO2e(300), got.Metrics.CarbonFootprint)

	t.Run("without metrics keeps the given score", func(t *testing.T) {
		in := validInput()
		in.Metrics, in.Score = nil, 42
		p, err := f.svc.Create(ctx, staff, in)
		require.NoError(t, err)
		assert.Equal(t, 42, p.Score)
		assert.Nil(t, p.Metrics)
	})
}

func TestCreateValidation(t *testing.T) { storetest.Run(t, testCreateValidation) }

func testCreateValidation(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	tests := []struct {
		name   string
		change func(*catalog.ProductInput)
		fields []string
	}{
		{"blank name", func(in *catalog.ProductInput) { in.Name = "   " }, []string{"name"}},
		{"name too long", func(in *catalog.ProductInput) { in.Name = strings.Repeat("é", 201) }, []string{"name"}},
		{"name not utf-8", func(in *catalog.ProductInput) { in.Name = "a\xffb" }, []string{"name"}},
		{"description too long", func(in *catalog.ProductInput) { in.Description = strings.Repeat("x", 10_001) }, []string{"description"}},
		{"empty category", func(in *catalog.ProductInput) { in.Category = "" }, []string{"category"}},
		{"category not a slug", func(in *catalog.ProductInput) { in.Category = "home & garden" }, []string{"category"}},
		{"negative price", func(in *catalog.ProductInput) { in.Price = eur(-1) }, []string{"price.amount"}},
		{"price too large", func(in *catalog.ProductInput) { in.Price = eur(ecolaura.MaxPriceMinor + 1) }, []string{"price.amount"}},
		{"unsupported currency", func(in *catalog.ProductInput) { in.Price = ecolaura.Money{Amount: 1, Currency: "XYZ"} }, []string{"price.currency"}},
		{"negative stock", func(in *catalog.ProductInput) { in.Stock = -1 }, []string{"stock"}},
		{"stock too large", func(in *catalog.ProductInput) { in.Stock = ecolaura.MaxStock + 1 }, []string{"stock"}},
		{"score above 100 without metrics", func(in *catalog.ProductInput) { in.Metrics, in.Score = nil, 101 }, []string{"sustainability_score"}},
		{"negative score without metrics", func(in *catalog.ProductInput) { in.Metrics, in.Score = nil, -1 }, []string{"sustainability_score"}},
		{"negative footprint", func(in *catalog.ProductInput) { in.Metrics.CarbonFootprint = -1 }, []string{"carbon_footprint"}},
		{"footprint too large", func(in *catalog.ProductInput) { in.Metrics.CarbonFootprint = ecolaura.MaxFootprint + 1 }, []string{"carbon_footprint"}},
		{"recycled content above 100", func(in *catalog.ProductInput) { in.Metrics.RecycledContent = ptr(101) }, []string{"recycled_content"}},
		{"unknown certification", func(in *catalog.ProductInput) {
			in.Metrics.Certifications = []ecolaura.Certification{"green-ish"}
		}, []string{"certifications[0]"}},
		{"several at once", func(in *catalog.ProductInput) { in.Name, in.Stock = "", -5 }, []string{"name", "stock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.change(&in)
			_, err := f.svc.Create(ctx, staff, in)
			requireFields(t, err, tt.fields...)
		})
	}
	list, err := f.svc.List(ctx, anon, catalog.ListParams{Page: 1})
	require.NoError(t, err)
	assert.Zero(t, list.Total, "no invalid product was stored")
}

func TestUpdate(t *testing.T) { storetest.Run(t, testUpdate) }

func testUpdate(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	tests := []struct {
		name  string
		patch catalog.Patch
		check func(t *testing.T, before, after ecolaura.Product)
	}{
		{"name only", catalog.Patch{Name: ptr("  New name ")}, func(t *testing.T, b, a ecolaura.Product) {
			assert.Equal(t, "New name", a.Name)
			assert.Equal(t, b.Description, a.Description)
			assert.Equal(t, b.Price, a.Price)
			assert.Equal(t, b.Stock, a.Stock)
			assert.Equal(t, b.Score, a.Score)
		}},
		{"price keeps currency when none given", catalog.Patch{Price: &ecolaura.Money{Amount: 1299}}, func(t *testing.T, _, a ecolaura.Product) {
			assert.Equal(t, eur(1299), a.Price)
		}},
		{"stock", catalog.Patch{Stock: ptr(0)}, func(t *testing.T, _, a ecolaura.Product) { assert.Zero(t, a.Stock) }},
		{"metrics recompute the score", catalog.Patch{Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: 3000}},
			func(t *testing.T, b, a ecolaura.Product) {
				assert.Less(t, a.Score, b.Score)
				assert.Equal(t, ecolaura.ComputeScore(a.Category, *a.Metrics).Value, a.Score)
			}},
		{"category change rescores against the new reference", catalog.Patch{Category: ptr("electronics")},
			func(t *testing.T, b, a ecolaura.Product) {
				assert.Greater(t, a.Score, b.Score)
			}},
		{"score is ignored while metrics exist", catalog.Patch{Score: ptr(1)}, func(t *testing.T, b, a ecolaura.Product) {
			assert.Equal(t, b.Score, a.Score)
		}},
		{"clearing metrics keeps the score", catalog.Patch{ClearMetrics: true}, func(t *testing.T, b, a ecolaura.Product) {
			assert.Nil(t, a.Metrics)
			assert.Equal(t, b.Score, a.Score)
		}},
		{"clearing metrics and giving a score", catalog.Patch{ClearMetrics: true, Score: ptr(12)}, func(t *testing.T, _, a ecolaura.Product) {
			assert.Nil(t, a.Metrics)
			assert.Equal(t, 12, a.Score)
		}},
		{"expected version matches", catalog.Patch{Stock: ptr(3), ExpectedVersion: ptr(int64(1))}, func(t *testing.T, _, a ecolaura.Product) {
			assert.Equal(t, 3, a.Stock)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, s)
			before := f.create(t, validInput())
			now := f.clock.Advance(time.Minute)
			after, err := f.svc.Update(ctx, staff, before.ID, tt.patch)
			require.NoError(t, err)
			assert.Equal(t, before.Version+1, after.Version)
			assert.Equal(t, before.CreatedAt, after.CreatedAt)
			assert.Equal(t, now, after.UpdatedAt)
			tt.check(t, before, after)
			got, err := f.svc.Get(ctx, anon, before.ID)
			require.NoError(t, err)
			assert.Equal(t, after, got)
		})
	}
}

func TestUpdateErrors(t *testing.T) { storetest.Run(t, testUpdateErrors) }

func testUpdateErrors(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	p := f.create(t, validInput())
	tests := []struct {
		name   string
		id     ecolaura.ID
		patch  catalog.Patch
		want   error
		fields []string
	}{
		{"not found", "00000000-0000-7000-8000-00000000ffff", catalog.Patch{Name: ptr("x")}, ecolaura.ErrNotFound, nil},
		{"stale version", p.ID, catalog.Patch{Name: ptr("x"), ExpectedVersion: ptr(int64(7))}, ecolaura.ErrConflict, nil},
		{"version below 1", p.ID, catalog.Patch{Name: ptr("x"), ExpectedVersion: ptr(int64(0))}, ecolaura.ErrInvalid, []string{"version"}},
		{"set and clear metrics", p.ID, catalog.Patch{Metrics: &ecolaura.SustainabilityMetrics{}, ClearMetrics: true}, ecolaura.ErrInvalid, []string{"metrics"}},
		{"blank name", p.ID, catalog.Patch{Name: ptr("")}, ecolaura.ErrInvalid, []string{"name"}},
		{"negative price", p.ID, catalog.Patch{Price: ptr(eur(-5))}, ecolaura.ErrInvalid, []string{"price.amount"}},
		{"bad category", p.ID, catalog.Patch{Category: ptr("A B")}, ecolaura.ErrInvalid, []string{"category"}},
		{"negative stock", p.ID, catalog.Patch{Stock: ptr(-1)}, ecolaura.ErrInvalid, []string{"stock"}},
		{"bad metrics", p.ID, catalog.Patch{Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: -3}}, ecolaura.ErrInvalid, []string{"carbon_footprint"}},
		{"score out of range after clearing metrics", p.ID, catalog.Patch{ClearMetrics: true, Score: ptr(200)}, ecolaura.ErrInvalid, []string{"sustainability_score"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Update(ctx, staff, tt.id, tt.patch)
			require.ErrorIs(t, err, tt.want)
			if tt.fields != nil {
				requireFields(t, err, tt.fields...)
			}
		})
	}
	got, err := f.svc.Get(ctx, anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got, "failed updates change nothing")

	t.Run("empty patch returns the product unchanged", func(t *testing.T) {
		got, err := f.svc.Update(ctx, staff, p.ID, catalog.Patch{})
		require.NoError(t, err)
		assert.Equal(t, p, got)
		_, err = f.svc.Update(ctx, staff, p.ID, catalog.Patch{ExpectedVersion: ptr(int64(9))})
		require.ErrorIs(t, err, ecolaura.ErrConflict)
	})
}

func TestReplace(t *testing.T) { storetest.Run(t, testReplace) }

func testReplace(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	p := f.create(t, validInput())
	in := catalog.ProductInput{Name: "Wool Socks", Category: "clothing", Price: eur(1500), Stock: 4, Score: 60}
	got, err := f.svc.Replace(ctx, staff, p.ID, catalog.Replacement{ProductInput: in, ExpectedVersion: ptr(int64(1))})
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ID)
	assert.Equal(t, p.CreatedAt, got.CreatedAt)
	assert.Equal(t, "Wool Socks", got.Name)
	assert.Empty(t, got.Description, "PUT clears what is not given")
	assert.Nil(t, got.Metrics)
	assert.Equal(t, 60, got.Score)
	assert.Equal(t, int64(2), got.Version)

	_, err = f.svc.Replace(ctx, staff, p.ID, catalog.Replacement{ProductInput: in, ExpectedVersion: ptr(int64(1))})
	require.ErrorIs(t, err, ecolaura.ErrConflict)
	in.Name = ""
	_, err = f.svc.Replace(ctx, staff, p.ID, catalog.Replacement{ProductInput: in})
	requireFields(t, err, "name")
	_, err = f.svc.Replace(ctx, staff, "00000000-0000-7000-8000-00000000ffff", catalog.Replacement{ProductInput: validInput()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
}

func TestDelete(t *testing.T) { storetest.Run(t, testDelete) }

func testDelete(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	p := f.create(t, validInput())
	require.NoError(t, f.svc.Delete(ctx, staff, p.ID))
	_, err := f.svc.Get(ctx, anon, p.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	require.ErrorIs(t, f.svc.Delete(ctx, staff, p.ID), ecolaura.ErrNotFound)
	for _, bad := range []ecolaura.ID{"", "42", "../etc", "00000000-0000-7000-8000-00000000000G"} {
		_, err = f.svc.Get(ctx, anon, bad)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "get %q", bad)
		_, err = f.svc.Update(ctx, staff, bad, catalog.Patch{Name: ptr("x")})
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "update %q", bad)
		_, err = f.svc.Replace(ctx, staff, bad, catalog.Replacement{ProductInput: validInput()})
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "replace %q", bad)
		require.ErrorIs(t, f.svc.Delete(ctx, staff, bad), ecolaura.ErrNotFound, "delete %q", bad)
	}
}

func TestConcurrentPatchesLoseNoUpdate(t *testing.T) {
	storetest.Run(t, testConcurrentPatchesLoseNoUpdate)
}

func testConcurrentPatchesLoseNoUpdate(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s, catalog.WithUpdateRetries(100))
	in := validInput()
	in.Metrics = nil
	p := f.create(t, in)
	const rounds = 20
	patches := []func(i int) catalog.Patch{
		func(i int) catalog.Patch { return catalog.Patch{Name: ptr(fmt.Sprintf("name %d", i))} },
		func(i int) catalog.Patch { return catalog.Patch{Description: ptr(fmt.Sprintf("description %d", i))} },
		func(i int) catalog.Patch { return catalog.Patch{Price: ptr(eur(int64(100 + i)))} },
		func(i int) catalog.Patch { return catalog.Patch{Stock: ptr(i)} },
		func(i int) catalog.Patch { return catalog.Patch{Score: ptr(i)} },
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(patches)*rounds)
	for _, mk := range patches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= rounds; i++ {
				if _, err := f.svc.Update(ctx, staff, p.ID, mk(i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := f.svc.Get(ctx, anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("name %d", rounds), got.Name)
	assert.Equal(t, fmt.Sprintf("description %d", rounds), got.Description)
	assert.Equal(t, eur(100+rounds), got.Price)
	assert.Equal(t, rounds, got.Stock)
	assert.Equal(t, rounds, got.Score)
	assert.Equal(t, int64(1+len(patches)*rounds), got.Version)
}

func TestConcurrentConditionalUpdatesOneWins(t *testing.T) {
	storetest.Run(t, testConcurrentConditionalUpdatesOneWins)
}

func testConcurrentConditionalUpdatesOneWins(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	p := f.create(t, validInput())
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Update(ctx, staff, p.ID, catalog.Patch{Stock: ptr(i), ExpectedVersion: ptr(p.Version)})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		if err == nil {
			wins++
			continue
		}
		require.True(t, errors.Is(err, ecolaura.ErrConflict), "unexpected error %v", err)
	}
	assert.Equal(t, 1, wins)
}

func TestCategories(t *testing.T) { storetest.Run(t, testCategories) }

func testCategories(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	for _, c := range []string{"home", "kitchen", "home"} {
		in := validInput()
		in.Category = c
		f.create(t, in)
	}
	got, err := f.svc.Categories(ctx, anon)
	require.NoError(t, err)
	assert.Equal(t, []ecolaura.CategoryCount{{Category: "home", Products: 2}, {Category: "kitchen", Products: 1}}, got)
}

// TestPricesOnlyInTheShopCurrency is issue 10's example: staff could create
// products priced in JPY or USD in a EUR shop, which then sorted and
// filtered by raw minor units (¥1200 as 12.00) and could not be checked out.
// Every catalog write that sets a price now requires the shop's currency.
func TestPricesOnlyInTheShopCurrency(t *testing.T) { storetest.Run(t, testPricesOnlyInTheShopCurrency) }

func testPricesOnlyInTheShopCurrency(t *testing.T, s storetest.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	p := f.create(t, validInput())
	for _, c := range []ecolaura.Currency{"JPY", "USD"} {
		t.Run(string(c), func(t *testing.T) {
			in := validInput()
			in.Price = ecolaura.NewMoney(1200, c)
			_, err := f.svc.Create(ctx, staff, in)
			requireFields(t, err, "price.currency")
			require.ErrorContains(t, err, "must be EUR, the shop's currency")
			requireFields(t, f.svc.ValidateInput(in), "price.currency")

			_, err = f.svc.Update(ctx, staff, p.ID, catalog.Patch{Price: &in.Price})
			requireFields(t, err, "price.currency")
			requireFields(t, f.svc.ValidatePatch(catalog.Patch{Price: &in.Price}), "price.currency")

			_, err = f.svc.Replace(ctx, staff, p.ID, catalog.Replacement{ProductInput: in})
			requireFields(t, err, "price.currency")
		})
	}
	got, err := f.svc.Get(ctx, anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, eur(490), got.Price, "nothing was changed")

	// A price without a currency is in the shop's currency, also in a patch.
	got, err = f.svc.Update(ctx, staff, p.ID, catalog.Patch{Price: &ecolaura.Money{Amount: 990}})
	require.NoError(t, err)
	assert.Equal(t, eur(990), got.Price)

	// A shop in another currency accepts its own and refuses EUR.
	usd := newFixture(t, s, catalog.WithDefaultCurrency("USD"))
	in := validInput()
	_, err = usd.svc.Create(ctx, staff, in)
	requireFields(t, err, "price.currency")
	in.Price = ecolaura.Money{Amount: 1200}
	assert.Equal(t, ecolaura.NewMoney(1200, "USD"), usd.create(t, in).Price)
}

// The whole-request validators report every problem of an input at once,
// exactly as Create and Update would, without a store.
func TestValidateInputAndPatch(t *testing.T) {
	f := newFixture(t, storetest.Memory) // no store is read
	require.NoError(t, f.svc.ValidateInput(validInput()))
	bad := validInput()
	bad.Name, bad.Category, bad.Stock, bad.Price = "Brush\x00", "Not A Slug", ecolaura.MaxStock+1, ecolaura.NewMoney(-1, "JPY")
	bad.Metrics.RecycledContent = ptr(101)
	requireFields(t, f.svc.ValidateInput(bad), "name", "category", "stock", "price.amount", "price.currency", "recycled_content")

	require.NoError(t, f.svc.ValidatePatch(catalog.Patch{}))
	require.NoError(t, f.svc.ValidatePatch(catalog.Patch{Description: ptr("Line one\nLine two"), Stock: ptr(0)}))
	requireFields(t, f.svc.ValidatePatch(catalog.Patch{Name: ptr(""), Description: ptr("\x1b[1m"), Stock: ptr(-1), Score: ptr(101),
		ExpectedVersion: ptr(int64(0))}), "name", "description", "stock", "sustainability_score", "version")
	requireFields(t, f.svc.ValidatePatch(catalog.Patch{Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: -1}, ClearMetrics: true}),
		"metrics", "carbon_footprint")
}
