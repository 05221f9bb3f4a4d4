package shop_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/media"
	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
	"github.com/ecolaura/ecolaura/ecolaura/payments"
	"github.com/ecolaura/ecolaura/ecolaura/shop"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func newShop(t *testing.T, opts ...shop.Option) *shop.Shop {
	t.Helper()
	s, err := shop.New(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close(context.Background())) })
	return s
}

func TestNewDefaults(t *testing.T) {
	s := newShop(t)
	require.NotNil(t, s.Catalog)
	require.NotNil(t, s.Sustainability)
	_, caching := s.CacheStats()
	require.True(t, caching, "caching is on by default")
	require.NotNil(t, s.CacheSignals())
	assert.Equal(t, s.CacheSignals(), s.Database, "the services read through the cache")
	ctx := context.Background()
	res, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{})
	require.NoError(t, err)
	assert.Empty(t, res.Items, "no demo data unless asked")

	p, err := s.Catalog.Create(ctx, ecolaura.System(), catalog.ProductInput{Name: "Jar", Category: "kitchen", Price: ecolaura.Money{Amount: 350}})
	require.NoError(t, err)
	_, err = ecolaura.ParseID(string(p.ID))
	require.NoError(t, err, "UUIDv7 IDs by default")
	assert.Equal(t, ecolaura.Currency("EUR"), p.Price.Currency)
	assert.WithinDuration(t, time.Now(), p.CreatedAt, time.Hour, "the wall clock by default")
	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx), "Close is idempotent")
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	db := memory.NewDatabase()
	s := newShop(t,
		shop.WithDatabase(db), shop.WithCache(memory.NewCache()),
		shop.WithCacheTTL(time.Minute),
		shop.WithClock(memory.NewManualClock(start)), shop.WithIDs(memory.NewSequentialIDs()),
		shop.WithCurrency("USD"), shop.WithLogger(nil), shop.WithDemoCatalog())
	want, err := demo.Products()
	require.NoError(t, err)
	res, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{Page: 1})
	require.NoError(t, err)
	assert.Equal(t, len(want), res.Total)
	assert.Equal(t, start, res.Items[0].CreatedAt)
	assert.Equal(t, ecolaura.ID("00000000-0000-7000-8000-000000000001"), firstCreatedID(t, s))

	// A second shop over the same database does not load the demo twice.
	s2 := newShop(t, shop.WithDatabase(db), shop.WithoutCache(), shop.WithDemoCatalog())
	_, caching := s2.CacheStats()
	assert.False(t, caching)
	assert.Nil(t, s2.CacheSignals(), "an untyped nil: httpapi caches nothing rendered")
	assert.Same(t, db, s2.Database)
	res, err = s2.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{Page: 1})
	require.NoError(t, err)
	assert.Equal(t, len(want), res.Total)

	p, err := s2.Catalog.Create(ctx, ecolaura.System(), catalog.ProductInput{Name: "Mug", Category: "kitchen", Price: ecolaura.Money{Amount: 900}})
	require.NoError(t, err)
	assert.Equal(t, ecolaura.Currency("EUR"), p.Price.Currency)
}

// firstCreatedID returns the ID of the oldest product (the demo has 79: page 4 of 20 ends with it).
func firstCreatedID(t *testing.T, s *shop.Shop) ecolaura.ID {
	t.Helper()
	page, err := s.Catalog.List(context.Background(), ecolaura.Anonymous, catalog.ListParams{Sort: ecolaura.SortNewest, Page: 4, PageSize: 20})
	require.NoError(t, err)
	require.NotEmpty(t, page.Items)
	return page.Items[len(page.Items)-1].ID
}

func TestInvalidConfiguration(t *testing.T) {
	for _, opt := range []shop.Option{shop.WithCurrency("XXX"), shop.WithCacheTTL(-time.Second)} {
		_, err := shop.New(context.Background(), opt)
		var ce *ecolaura.ConfigError
		require.ErrorAs(t, err, &ce)
		require.NotErrorIs(t, err, ecolaura.ErrInvalid, "a wiring mistake is not invalid user input")
	}
}

func TestWritesAreVisibleThroughTheCache(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shop.WithDemoCatalog())
	params := catalog.ListParams{Filter: ecolaura.ProductFilter{Category: "cleaning"}, Sort: ecolaura.SortPriceAsc}
	first, err := s.Catalog.List(ctx, ecolaura.Anonymous, params)
	require.NoError(t, err)
	_, err = s.Catalog.List(ctx, ecolaura.Anonymous, params)
	require.NoError(t, err)
	cheapest := first.Items[0]
	_, err = s.Catalog.Update(ctx, ecolaura.System(), cheapest.ID, catalog.Patch{Price: &ecolaura.Money{Amount: 99_900}})
	require.NoError(t, err)
	again, err := s.Catalog.List(ctx, ecolaura.Anonymous, params)
	require.NoError(t, err)
	last := again.Items[len(again.Items)-1]
	assert.Equal(t, cheapest.ID, last.ID)
	assert.Equal(t, int64(99_900), last.Price.Amount)
	st, _ := s.CacheStats()
	assert.Positive(t, st.ListHits)
}

func TestShopWithMedia(t *testing.T) {
	ctx := context.Background()
	m, err := media.Open(t.TempDir())
	require.NoError(t, err)
	s, err := shop.New(ctx, shop.WithMedia(m), shop.WithDemoCatalog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	page, err := s.Catalog.List(ctx, ecolaura.Anonymous, catalog.ListParams{PageSize: 1})
	require.NoError(t, err)
	require.NotEmpty(t, page.Items)
	img, err := s.Catalog.UploadImage(ctx, ecolaura.System(), page.Items[0].ID, catalog.ImageUpload{File: bytes.NewReader(porttest.PNG(8, 8)), Alt: "Demo"})
	require.NoError(t, err)
	assert.Equal(t, ecolaura.ImagePNG, img.ContentType)
	require.NoError(t, s.JobHandler.HandleJob(ctx, catalog.MediaCleanupJob(0).Job), "the shop's job handler runs the media cleanup")

	_, err = shop.New(ctx, shop.WithMedia(nil))
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
}

func TestPaymentProviderReachesOrders(t *testing.T) {
	s, err := shop.New(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	require.Equal(t, "none", s.Orders.PaymentProvider().Name(), "the default takes no payment")

	s2, err := shop.New(context.Background(), shop.WithPaymentProvider(payments.Manual{Instructions: "IBAN DE00"}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close(context.Background()) })
	require.Equal(t, "manual", s2.Orders.PaymentProvider().Name())

	_, err = shop.New(context.Background(), shop.WithPaymentProvider(nil))
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
}
