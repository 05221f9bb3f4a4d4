package porttest

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// InventoryStore checks variants (stored with their product, SKUs unique
// per shop case-insensitively also under concurrent creates, added,
// removed and reordered by Update), product status filtering, and the
// semantics of [ports.InventoryStore]: levels per variant and location that
// never go below zero however many buyers race (200 buyers for 10 units
// sell exactly 10, and the levels and movements agree with the orders),
// sales of two variants in one transaction, staff adjustments racing with
// sales losing no update, a movement for every change, locations that ship
// or not, and no change of the product row.
func InventoryStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")

	t.Run("Variants", func(t *testing.T) { inventoryVariants(t, db) })
	t.Run("VariantRules", func(t *testing.T) { inventoryVariantRules(t, db) })
	t.Run("SKUUnique", func(t *testing.T) { inventorySKUUnique(t, db) })
	t.Run("SKUUniqueConcurrent", func(t *testing.T) { inventorySKUConcurrent(t, db) })
	t.Run("UpdateVariants", func(t *testing.T) { inventoryUpdateVariants(t, db) })
	t.Run("Change", func(t *testing.T) { inventoryChange(t, db) })
	t.Run("SellRace", func(t *testing.T) { inventorySellRace(t, db) })
	t.Run("TwoVariantsOneOrder", func(t *testing.T) { inventoryTwoVariants(t, db) })
	t.Run("SellBatch", func(t *testing.T) { inventorySellBatch(t, db) })
	t.Run("SellPairRace", func(t *testing.T) { inventorySellPairRace(t, db) })
	t.Run("AdjustWhileSelling", func(t *testing.T) { inventoryAdjustWhileSelling(t, db) })
	t.Run("Locations", func(t *testing.T) { inventoryLocations(t, db) })
	t.Run("StatusFilter", func(t *testing.T) { inventoryStatusFilter(t, db) })
	t.Run("DeleteCascades", func(t *testing.T) { inventoryDeleteCascades(t, db) })
	t.Run("MovementPages", func(t *testing.T) { inventoryMovementPages(t, db) })
	t.Run("LowestVariantPrice", func(t *testing.T) { inventoryLowestVariantPrice(t, db) })
}

// inventoryLowestVariantPrice: the price filters and sorts of a list use a
// product's lowest variant price (ecolaura.Product.LowestPrice), kept
// through variant price changes; the in-stock filter keeps a product with
// any variant available.
func inventoryLowestVariantPrice(t *testing.T, db ports.Database) {
	cat := "lowest-" + strings.ToLower(RandomToken(""))
	cheapVariant := NewVariantProduct(cat, func(p *ecolaura.Product) { // default 20.00, variants at 5.00 and 25.00
		p.Variants[0].Price = ecolaura.NewMoney(2000, ecolaura.DefaultCurrency)
		p.Price = p.Variants[0].Price
		p.Variants[1].Price = ecolaura.NewMoney(500, ecolaura.DefaultCurrency)
		p.Variants[2].Price = ecolaura.NewMoney(2500, ecolaura.DefaultCurrency)
		p.Variants[0].Available, p.Variants[1].Available = 0, 0 // only L/charcoal in stock
	})
	single := NewProduct(cat, func(p *ecolaura.Product) { p.Price = ecolaura.NewMoney(1000, ecolaura.DefaultCurrency); p.Stock = 0 })
	require.NoError(t, db.Products().Create(ctx(t), cheapVariant))
	require.NoError(t, db.Products().Create(ctx(t), single))
	list := func(f ecolaura.ProductFilter, s ecolaura.ProductSort) []ecolaura.ID {
		t.Helper()
		f.Category = cat
		page, err := db.Products().List(ctx(t), ports.ProductQuery{Filter: f, Sort: s, Limit: 10})
		require.NoError(t, err)
		var out []ecolaura.ID
		for _, p := range page.Items {
			out = append(out, p.ID)
		}
		return out
	}
	price := func(minor int64) *int64 { return &minor }
	a, b := cheapVariant.ID, single.ID
	assert.Equal(t, []ecolaura.ID{a, b}, list(ecolaura.ProductFilter{}, ecolaura.SortPriceAsc), "5.00 (lowest variant) before 10.00")
	assert.Equal(t, []ecolaura.ID{b, a}, list(ecolaura.ProductFilter{}, ecolaura.SortPriceDesc))
	assert.Equal(t, []ecolaura.ID{a}, list(ecolaura.ProductFilter{MaxPrice: price(800)}, ecolaura.SortPriceAsc), "found at the price it sells from")
	assert.Equal(t, []ecolaura.ID{b}, list(ecolaura.ProductFilter{MinPrice: price(800)}, ecolaura.SortPriceAsc), "the default variant's 20.00 does not count")
	assert.Equal(t, []ecolaura.ID{a}, list(ecolaura.ProductFilter{InStock: true}, ecolaura.SortPriceAsc), "in stock: some variant is available")

	// The cheap variant now costs 30.00: the lowest is the default's 20.00.
	cur, err := db.Products().Get(ctx(t), a)
	require.NoError(t, err)
	cur.Variants[1].Price = ecolaura.NewMoney(3000, ecolaura.DefaultCurrency)
	_, err = db.Products().Update(ctx(t), cur)
	require.NoError(t, err)
	assert.Equal(t, []ecolaura.ID{b, a}, list(ecolaura.ProductFilter{}, ecolaura.SortPriceAsc))
	assert.Equal(t, []ecolaura.ID{a}, list(ecolaura.ProductFilter{MinPrice: price(1500), MaxPrice: price(2000)}, ecolaura.SortPriceAsc))
	page, err := db.Products().List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: cat}, Sort: ecolaura.SortPriceAsc, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	last := page.Items[0]
	next, err := db.Products().List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: cat}, Sort: ecolaura.SortPriceAsc, Limit: 1,
		After: &ecolaura.ProductPosition{Key: ecolaura.SortPriceAsc.SortKey(last), ID: last.ID}})
	require.NoError(t, err)
	require.Len(t, next.Items, 1)
	assert.Equal(t, a, next.Items[0].ID, "a cursor of the lowest price continues the list")
}

// inventoryMovementPages walks a variant's movements in pages with
// MovementQuery.Before: every movement once, newest first, also among
// movements recorded at the same time.
func inventoryMovementPages(t *testing.T, db ports.Database) {
	p := NewVariantProduct("paging")
	require.NoError(t, db.Products().Create(ctx(t), p))
	v := p.Variants[0].ID
	at := Now()
	for i := range 7 {
		when := at
		if i >= 3 {
			when = at.Add(time.Duration(i) * time.Second) // three share a time
		}
		_, err := db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Quantity: i + 1, Reason: ecolaura.MoveRestock, At: when})
		require.NoError(t, err)
	}
	all, err := db.Inventory().Movements(ctx(t), ports.MovementQuery{VariantID: v, Limit: 100})
	require.NoError(t, err)
	require.Len(t, all, 8, "the initial movement and seven changes")
	for _, page := range []int{1, 3, 8} {
		var got []ecolaura.InventoryMovement
		q := ports.MovementQuery{VariantID: v, Limit: page}
		for range 20 {
			ms, err := db.Inventory().Movements(ctx(t), q)
			require.NoError(t, err)
			got = append(got, ms...)
			if len(ms) < page {
				break
			}
			last := ms[len(ms)-1]
			q.Before = &ports.MovementPosition{At: last.At, ID: last.ID}
		}
		assert.Equal(t, all, got, "pages of %d", page)
	}
	ms, err := db.Inventory().Movements(ctx(t), ports.MovementQuery{Limit: 1000, Before: &ports.MovementPosition{At: all[0].At, ID: all[0].ID}})
	require.NoError(t, err)
	for _, m := range ms {
		assert.True(t, (ports.MovementPosition{At: all[0].At, ID: all[0].ID}).After(m), "without a variant too, only older movements")
	}
}

// NewVariantProduct returns a valid product (see [NewProduct]) with options
// size (S, M, L) and colour (oat, charcoal) and the variants S/oat, M/oat,
// L/charcoal with fresh IDs, unique SKUs (upper case), prices 9.99, 10.99,
// 11.99 EUR and stock 5, 6, 7. The result is not stored.
func NewVariantProduct(category string, opts ...func(*ecolaura.Product)) ecolaura.Product {
	p := NewProduct(category)
	p.Options = []ecolaura.ProductOption{{Name: "size", Values: []string{"S", "M", "L"}}, {Name: "colour", Values: []string{"oat", "charcoal"}}}
	fp := ecolaura.CO2e(900)
	sku := strings.ToUpper(RandomToken("SKU-"))
	p.Variants = []ecolaura.Variant{
		{ID: NewID(), SKU: sku + "-S", Options: map[string]string{"size": "S", "colour": "oat"}, Price: ecolaura.NewMoney(999, ecolaura.DefaultCurrency), GTIN: "04006381333931", WeightG: 120, Available: 5},
		{ID: NewID(), SKU: sku + "-M", Options: map[string]string{"size": "M", "colour": "oat"}, Price: ecolaura.NewMoney(1099, ecolaura.DefaultCurrency), WeightG: 130, Footprint: &fp, Available: 6},
		{ID: NewID(), SKU: sku + "-L", Options: map[string]string{"size": "L", "colour": "charcoal"}, Price: ecolaura.NewMoney(1199, ecolaura.DefaultCurrency), Available: 7},
	}
	for _, o := range opts {
		o(&p)
	}
	p.Complete()
	return p
}

func level(t *testing.T, db ports.Stores, variant, location ecolaura.ID) (int, bool) {
	t.Helper()
	ls, err := db.Inventory().Levels(ctx(t), []ecolaura.ID{variant})
	require.NoError(t, err, "Levels")
	for _, l := range ls {
		if l.LocationID == location {
			return l.OnHand, true
		}
	}
	return 0, false
}

func movementSum(t *testing.T, db ports.Stores, variant ecolaura.ID, location ecolaura.ID) (int, []ecolaura.InventoryMovement) {
	t.Helper()
	ms, err := db.Inventory().Movements(ctx(t), ports.MovementQuery{VariantID: variant, Limit: 1000})
	require.NoError(t, err, "Movements")
	sum := 0
	for _, m := range ms {
		if m.LocationID == location {
			sum += m.Delta
		}
	}
	return sum, ms
}

func inventoryVariants(t *testing.T, db ports.Database) {
	p := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, p)
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	requireProduct(t, p, got, "a product is read with its options and variants as created")
	assert.Equal(t, 18, got.Stock, "stock is the sum of the variants' available units")
	assert.Equal(t, got.Variants[0].Price, got.Price, "the product's price is the default variant's")

	ps, err := db.Products().GetByVariants(ctx(t), []ecolaura.ID{p.Variants[2].ID, NewID(), p.Variants[0].ID})
	require.NoError(t, err)
	require.Len(t, ps, 1, "GetByVariants returns the owning product once")
	assert.Equal(t, p.ID, ps[0].ID)
	requireProduct(t, p, ps[0], "GetByVariants reads the whole product")
	other := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, other)
	// In a transaction (as checkout reads) the same, in the order the
	// products' first variants are asked for.
	require.NoError(t, db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		in, err := tx.Products().GetByVariants(ctx, []ecolaura.ID{other.Variants[1].ID, p.Variants[2].ID, NewID(), other.Variants[0].ID, "not-an-id"})
		require.NoError(t, err)
		require.Len(t, in, 2)
		requireProduct(t, other, in[0], "in a transaction")
		requireProduct(t, p, in[1], "in a transaction")
		assert.Equal(t, 18, in[1].Stock)
		none, err := tx.Products().GetByVariants(ctx, []ecolaura.ID{NewID()})
		require.NoError(t, err)
		assert.Empty(t, none)
		return nil
	}))

	for i, v := range p.Variants {
		n, ok := level(t, db, v.ID, ecolaura.DefaultLocationID)
		require.True(t, ok, "variant %d has a level at the default location", i)
		assert.Equal(t, v.Available, n, "initial stock of variant %d", i)
		sum, _ := movementSum(t, db, v.ID, ecolaura.DefaultLocationID)
		assert.Equal(t, v.Available, sum, "the initial stock is recorded as a movement")
	}

	plain := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 4 })
	got, err = db.Products().Get(ctx(t), plain.ID)
	require.NoError(t, err)
	require.Len(t, got.Variants, 1, "a product created without variants gets its default variant")
	assert.Equal(t, plain.ID, got.Variants[0].ID, "the default variant made for a product has the product's ID")
	assert.Equal(t, ecolaura.ProductActive, got.Status, "a product created without status is active")
	assert.Equal(t, 4, got.Variants[0].Available)
}

func inventoryVariantRules(t *testing.T, db ports.Database) {
	cases := []struct {
		name   string
		mutate func(p *ecolaura.Product)
	}{
		{"two variants without options", func(p *ecolaura.Product) {
			p.Options = nil
			for i := range p.Variants {
				p.Variants[i].Options = nil
			}
		}},
		{"same option values twice", func(p *ecolaura.Product) { p.Variants[1].Options = map[string]string{"size": "S", "colour": "oat"} }},
		{"unknown option value", func(p *ecolaura.Product) { p.Variants[1].Options["size"] = "XXL" }},
		{"missing option", func(p *ecolaura.Product) { delete(p.Variants[1].Options, "colour") }},
		{"same SKU twice in one product, other case", func(p *ecolaura.Product) {
			p.Variants[1].SKU = strings.ToLower(p.Variants[0].SKU)
		}},
		{"bad SKU", func(p *ecolaura.Product) { p.Variants[1].SKU = "has space" }},
		{"GTIN not normalised", func(p *ecolaura.Product) { p.Variants[1].GTIN = "4006381333931" }},
		{"GTIN check digit", func(p *ecolaura.Product) { p.Variants[1].GTIN = "04006381333932" }},
		{"negative weight", func(p *ecolaura.Product) { p.Variants[1].WeightG = -1 }},
		{"variant in another currency", func(p *ecolaura.Product) { p.Variants[1].Price.Currency = "USD" }},
		{"unknown status", func(p *ecolaura.Product) { p.Status = "hidden" }},
		{"four options", func(p *ecolaura.Product) {
			p.Options = append(p.Options, ecolaura.ProductOption{Name: "a", Values: []string{"x"}}, ecolaura.ProductOption{Name: "b", Values: []string{"x"}})
		}},
		{"negative initial stock", func(p *ecolaura.Product) { p.Variants[2].Available = -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewVariantProduct(UniqueCategory())
			tc.mutate(&p)
			err := db.Products().Create(ctx(t), p)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
			_, err = db.Products().Get(ctx(t), p.ID)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "a refused product is not stored")
		})
	}
}

func inventorySKUUnique(t *testing.T, db ports.Database) {
	a := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, a)
	b := NewVariantProduct(UniqueCategory())
	b.Variants[2].SKU = strings.ToLower(a.Variants[1].SKU)
	err := db.Products().Create(ctx(t), b)
	require.ErrorIs(t, err, ecolaura.ErrConflict, "a SKU is unique per shop, case-insensitively")
	var ce *ecolaura.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Field, "sku")
	_, err = db.Products().Get(ctx(t), b.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "nothing of the refused product is stored")

	b.Variants[2].SKU = ""
	c := NewVariantProduct(UniqueCategory())
	c.Variants[2].SKU = ""
	mustCreateProducts(t, db, b, c) // many variants may have no SKU

	up := b.Clone()
	up.Variants[0].SKU = a.Variants[0].SKU
	_, err = db.Products().Update(ctx(t), up)
	require.ErrorIs(t, err, ecolaura.ErrConflict, "Update cannot take another product's SKU")

	d := NewVariantProduct(UniqueCategory())
	d.Variants[1].ID = a.Variants[0].ID
	require.ErrorIs(t, db.Products().Create(ctx(t), d), ecolaura.ErrConflict, "a variant ID is unique")
}

func inventorySKUConcurrent(t *testing.T, db ports.Database) {
	const n = 12
	sku := strings.ToUpper(RandomToken("RACE-"))
	errs := make([]error, n)
	race(n, func(i int) {
		p := NewProduct(UniqueCategory())
		p.Complete()
		p.Variants[0].SKU = sku
		if i%2 == 1 {
			p.Variants[0].SKU = strings.ToLower(sku)
		}
		errs[i] = db.Products().Create(context.Background(), p)
	})
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, ecolaura.ErrConflict, "creator %d", i)
	}
	require.Equal(t, 1, won, "exactly one of %d concurrent creates with one SKU wins", n)
}

func inventoryUpdateVariants(t *testing.T, db ports.Database) {
	p := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, p)
	cur, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	removed := cur.Variants[1]

	next := cur.Clone()
	// Swap SKUs of variants 0 and 2, drop 1, add a new one with stock 3,
	// and make the old last variant the default.
	next.Variants[0].SKU, next.Variants[2].SKU = next.Variants[2].SKU, next.Variants[0].SKU
	added := ecolaura.Variant{ID: NewID(), SKU: strings.ToUpper(RandomToken("NEW-")), Options: map[string]string{"size": "M", "colour": "charcoal"},
		Price: ecolaura.NewMoney(1299, ecolaura.DefaultCurrency), Available: 3}
	next.Variants = []ecolaura.Variant{next.Variants[2], next.Variants[0], added}
	next.Price = next.Variants[0].Price
	next.UpdatedAt = Now()
	out, err := db.Products().Update(ctx(t), next)
	require.NoError(t, err)
	require.Len(t, out.Variants, 3)
	assert.Equal(t, p.Variants[2].ID, out.Variants[0].ID, "the variants are in the order given")
	assert.Equal(t, 0, out.Variants[0].Position)
	assert.Equal(t, p.Variants[0].SKU, out.Variants[0].SKU, "SKUs can move between the variants of a product")
	assert.Equal(t, 7, out.Variants[0].Available, "a kept variant keeps its stock")
	assert.Equal(t, 3, out.Variants[2].Available, "an added variant gets its initial stock")
	assert.Equal(t, 5+7+3, out.Stock)
	assert.Equal(t, cur.Version+1, out.Version)
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	requireProduct(t, out, got, "Update returns what Get reads")

	_, ok := level(t, db, removed.ID, ecolaura.DefaultLocationID)
	assert.False(t, ok, "a removed variant's levels are gone")
	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: removed.ID, Quantity: 1, Reason: ecolaura.MoveRestock, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "a removed variant has no stock")
	// Its SKU is free again.
	q := NewProduct(UniqueCategory())
	q.Complete()
	q.Variants[0].SKU = removed.SKU
	require.NoError(t, db.Products().Create(ctx(t), q), "a removed variant's SKU can be reused")

	// Update ignores the stock of kept variants.
	again := got.Clone()
	again.Variants[0].Available = 1000
	again.Stock = 1000
	out, err = db.Products().Update(ctx(t), again)
	require.NoError(t, err)
	assert.Equal(t, 7, out.Variants[0].Available, "Update does not move stock")
}

func inventoryChange(t *testing.T, db ports.Database) {
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 10 })
	v := p.ID // the default variant
	actor := NewID()
	at := Now()

	res, err := db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Quantity: 40, Reason: ecolaura.MoveRestock, ActorID: actor, Note: "delivery 42", At: at})
	require.NoError(t, err)
	assert.Equal(t, ports.InventoryResult{ProductID: p.ID, Before: 10, After: 50, Movement: res.Movement}, res)
	assert.Equal(t, 40, res.Movement.Delta)
	assert.Equal(t, ecolaura.ID(ecolaura.DefaultLocationID), res.Movement.LocationID, "no location means the default")

	res, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Set: true, Quantity: 12, Reason: ecolaura.MoveSet, ActorID: actor, At: at.Add(1)})
	require.NoError(t, err)
	assert.Equal(t, -38, res.Movement.Delta, "a set records the difference")
	assert.Equal(t, 12, res.After)

	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Quantity: -13, Reason: ecolaura.MoveAdjustment, At: Now()})
	var ise *ecolaura.InsufficientStockError
	require.ErrorAs(t, err, &ise, "below zero")
	assert.Equal(t, 12, ise.Available)
	assert.Equal(t, p.ID, ise.ProductID)

	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Quantity: ecolaura.MaxStock, Reason: ecolaura.MoveRestock, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "above the maximum")
	res, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Quantity: ecolaura.MaxStock, Saturate: true, Reason: ecolaura.MoveCancel, At: Now()})
	require.NoError(t, err, "a saturating increase stops at the maximum")
	assert.Equal(t, ecolaura.MaxStock, res.After)
	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, Set: true, Quantity: 12, Reason: "because", At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "an unknown reason")
	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: NewID(), Quantity: 1, Reason: ecolaura.MoveRestock, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "an unknown variant")
	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: v, LocationID: NewID(), Quantity: 1, Reason: ecolaura.MoveRestock, At: Now()})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "an unknown location")

	sum, ms := movementSum(t, db, v, ecolaura.DefaultLocationID)
	n, _ := level(t, db, v, ecolaura.DefaultLocationID)
	assert.Equal(t, n, sum, "a level is the sum of its movements")
	require.GreaterOrEqual(t, len(ms), 4)
	assert.Equal(t, ecolaura.MoveCancel, ms[0].Reason, "movements come newest first")
	assert.Equal(t, ecolaura.MoveSet, ms[1].Reason)
	assert.Equal(t, actor, ms[1].ActorID, "the movement records who")
	assert.Equal(t, "delivery 42", ms[2].Note, "and why")

	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.Version, got.Version, "a stock change does not bump the product's version")
	assert.True(t, p.UpdatedAt.Equal(got.UpdatedAt), "nor its UpdatedAt")
	assert.Equal(t, ecolaura.MaxStock, got.Stock)

	_, err = db.Inventory().Movements(ctx(t), ports.MovementQuery{Limit: 0})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "limit 0")
}

// buy places an order for one unit of each variant and sells them, in one
// transaction, in variant-ID order, as checkout does.
func buy(ctx context.Context, db ports.Database, user ecolaura.ID, p ecolaura.Product, qty map[ecolaura.ID]int) (ecolaura.Order, error) {
	var lines []ecolaura.OrderLine
	for _, v := range p.Variants {
		if q := qty[v.ID]; q > 0 {
			l := Line(p, q)
			l.VariantID, l.UnitPrice, l.Total = v.ID, v.Price, ecolaura.NewMoney(v.Price.Amount*int64(q), v.Price.Currency)
			lines = append(lines, l)
		}
	}
	slices.SortFunc(lines, func(a, b ecolaura.OrderLine) int { return cmp.Compare(a.VariantID, b.VariantID) })
	o := NewOrder(user, lines...)
	err := db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if err := tx.Orders().Create(ctx, o); err != nil {
			return err
		}
		return sellLines(ctx, tx, o, user, false)
	})
	return o, err
}

// sellLines sells o's lines in one call of Sell, in o's line order or,
// with reversed, the other way round (the store sorts them).
func sellLines(ctx context.Context, tx ports.Tx, o ecolaura.Order, user ecolaura.ID, reversed bool) error {
	sales := make([]ports.Sale, len(o.Lines))
	at := Now()
	for i, l := range o.Lines {
		sales[i] = ports.Sale{VariantID: l.VariantID, Quantity: l.Quantity, OrderID: o.ID, ActorID: user, At: at}
	}
	if reversed {
		slices.Reverse(sales)
	}
	_, err := tx.Inventory().Sell(ctx, sales...)
	return err
}

// inventorySellBatch checks Sell with several sales: the results in
// variant-ID order, all or nothing, the short variant named, the
// arguments checked, and a variant short at the default location taken
// from another location that ships.
func inventorySellBatch(t *testing.T, db ports.Database) {
	p := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, p)
	user := mustCreateUser(t, db)
	vs := slices.Clone(p.Variants)
	slices.SortFunc(vs, func(a, b ecolaura.Variant) int { return cmp.Compare(a.ID, b.ID) })
	at := Now()
	sale := func(v ecolaura.Variant, q int) ports.Sale {
		return ports.Sale{VariantID: v.ID, Quantity: q, ActorID: user.ID, At: at}
	}

	res, err := db.Inventory().Sell(ctx(t), sale(vs[2], 1), sale(vs[0], 2), sale(vs[1], 3))
	require.NoError(t, err)
	require.Len(t, res, 3)
	for i, r := range res {
		assert.Equal(t, vs[i].ID, r.Movement.VariantID, "results in variant-ID order")
		assert.Equal(t, p.ID, r.ProductID)
		assert.Equal(t, r.Before+r.Movement.Delta, r.After)
		assert.Equal(t, ecolaura.DefaultLocationID, r.Movement.LocationID)
		assert.Equal(t, ecolaura.MoveSale, r.Movement.Reason)
	}
	want := []int{vs[0].Available - 2, vs[1].Available - 3, vs[2].Available - 1}
	for i, v := range vs {
		n, _ := level(t, db, v.ID, ecolaura.DefaultLocationID)
		assert.Equal(t, want[i], n, "variant %d", i)
	}

	// One short variant: nothing is taken, and the error names it.
	_, err = db.Inventory().Sell(ctx(t), sale(vs[0], 1), sale(vs[1], 1_000), sale(vs[2], 1))
	var ise *ecolaura.InsufficientStockError
	require.ErrorAs(t, err, &ise)
	assert.Equal(t, vs[1].ID, ise.VariantID)
	assert.Equal(t, want[1], ise.Available)
	for i, v := range vs {
		n, _ := level(t, db, v.ID, ecolaura.DefaultLocationID)
		assert.Equal(t, want[i], n, "a failed call takes nothing (variant %d)", i)
	}
	_, err = db.Inventory().Sell(ctx(t), sale(vs[0], 1), ports.Sale{VariantID: NewID(), Quantity: 1, At: at})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "an unknown variant")

	for _, tc := range []struct {
		name  string
		sales []ports.Sale
	}{
		{"no sale", nil},
		{"a variant twice", []ports.Sale{sale(vs[0], 1), sale(vs[0], 1)}},
		{"quantity zero", []ports.Sale{sale(vs[0], 1), sale(vs[1], 0)}},
		{"quantity above the maximum", []ports.Sale{sale(vs[0], ecolaura.MaxStock+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Inventory().Sell(ctx(t), tc.sales...)
			require.ErrorIs(t, err, ecolaura.ErrInvalid)
		})
	}

	// A variant short at the default location takes the rest from
	// another location that ships, in the same call as one that is not.
	loc := ecolaura.StockLocation{ID: NewID(), Name: "Porttest batch warehouse", Ships: true, Position: 1_000_000 + rand.IntN(1_000_000_000)}
	require.NoError(t, db.Inventory().CreateLocation(ctx(t), loc))
	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: vs[1].ID, LocationID: loc.ID, Set: true, Quantity: 10, Reason: ecolaura.MoveSet, At: at})
	require.NoError(t, err)
	res, err = db.Inventory().Sell(ctx(t), sale(vs[0], 1), sale(vs[1], want[1]+4))
	require.NoError(t, err)
	require.Len(t, res, 3, "one result per level taken from")
	n, _ := level(t, db, vs[1].ID, ecolaura.DefaultLocationID)
	assert.Zero(t, n)
	n, _ = level(t, db, vs[1].ID, loc.ID)
	assert.Equal(t, 6, n)
	n, _ = level(t, db, vs[0].ID, ecolaura.DefaultLocationID)
	assert.Equal(t, want[0]-1, n)
}

// inventorySellPairRace races buyers of the same two variants, half
// listing them one way and half the other, with the stock of one variant
// split between the default location and another that ships (so some
// calls take the slow path while others take the one-statement path):
// exactly the stock is sold, no call deadlocks, levels and movements agree.
func inventorySellPairRace(t *testing.T, db ports.Database) {
	const buyers = 60
	p := NewVariantProduct(UniqueCategory())
	p.Variants[0].Available = 1_000
	p.Variants[1].Available = 5
	mustCreateProducts(t, db, p)
	a, b := p.Variants[0], p.Variants[1]
	loc := ecolaura.StockLocation{ID: NewID(), Name: "Porttest race warehouse", Ships: true, Position: 1_000_000 + rand.IntN(1_000_000_000)}
	require.NoError(t, db.Inventory().CreateLocation(ctx(t), loc))
	_, err := db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: b.ID, LocationID: loc.ID, Set: true, Quantity: 15, Reason: ecolaura.MoveSet, At: Now()})
	require.NoError(t, err)
	user := mustCreateUser(t, db)
	var sold, short atomic.Int64
	errs := make([]error, buyers)
	race(buyers, func(i int) {
		l1, l2 := Line(p, 1), Line(p, 1)
		l1.VariantID, l2.VariantID = a.ID, b.ID
		o := NewOrder(user.ID, l1, l2)
		errs[i] = db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Orders().Create(ctx, o); err != nil {
				return err
			}
			return sellLines(ctx, tx, o, user.ID, i%2 == 1)
		})
		switch {
		case errs[i] == nil:
			sold.Add(1)
		case errors.Is(errs[i], ecolaura.ErrInsufficientStock):
			short.Add(1)
		}
	})
	for i, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, ecolaura.ErrInsufficientStock, "buyer %d: only short stock may fail a sale (no deadlock)", i)
		}
	}
	require.EqualValues(t, 20, sold.Load(), "exactly b's 5 + 15 units are sold")
	require.EqualValues(t, buyers-20, short.Load())
	nd, _ := level(t, db, b.ID, ecolaura.DefaultLocationID)
	nl, _ := level(t, db, b.ID, loc.ID)
	assert.Zero(t, nd+nl)
	na, _ := level(t, db, a.ID, ecolaura.DefaultLocationID)
	assert.Equal(t, 1_000-20, na, "a loses one unit per order placed, none for the failed ones")
	sum, ms := movementSum(t, db, b.ID, loc.ID)
	assert.Equal(t, nl, sum)
	fromLoc := 0
	for _, m := range ms {
		if m.Reason == ecolaura.MoveSale && m.LocationID == loc.ID {
			fromLoc++
		}
	}
	assert.Equal(t, 15, fromLoc, "the slow path ran: the other location's units were sold")
	// Deactivate the race's location for the subtests that follow.
	_, err = db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: b.ID, LocationID: loc.ID, Set: true, Quantity: 0, Reason: ecolaura.MoveSet, At: Now()})
	require.NoError(t, err)
}

func inventorySellRace(t *testing.T, db ports.Database) {
	const buyers, units = 200, 10
	p := NewVariantProduct(UniqueCategory())
	p.Variants[1].Available = units
	mustCreateProducts(t, db, p)
	v := p.Variants[1].ID
	user := mustCreateUser(t, db)
	var sold, short atomic.Int64
	orders := make([]ecolaura.Order, buyers)
	errs := make([]error, buyers)
	race(buyers, func(i int) {
		orders[i], errs[i] = buy(context.Background(), db, user.ID, p, map[ecolaura.ID]int{v: 1})
		switch {
		case errs[i] == nil:
			sold.Add(1)
		case errors.Is(errs[i], ecolaura.ErrInsufficientStock):
			short.Add(1)
		}
	})
	for i, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, ecolaura.ErrInsufficientStock, "buyer %d", i)
		}
	}
	require.EqualValues(t, units, sold.Load(), "exactly the units in stock are sold")
	require.EqualValues(t, buyers-units, short.Load(), "every other buyer is told the stock is short")
	n, _ := level(t, db, v, ecolaura.DefaultLocationID)
	require.Zero(t, n, "the level ends at zero")
	_, ms := movementSum(t, db, v, ecolaura.DefaultLocationID)
	placed := map[ecolaura.ID]bool{}
	for i, err := range errs {
		if err == nil {
			placed[orders[i].ID] = true
			_, gerr := db.Orders().Get(ctx(t), orders[i].ID)
			require.NoError(t, gerr, "a sold unit's order is stored")
		} else {
			_, gerr := db.Orders().Get(ctx(t), orders[i].ID)
			require.ErrorIs(t, gerr, ecolaura.ErrNotFound, "a short buyer's order is rolled back")
		}
	}
	sales := 0
	for _, m := range ms {
		if m.Reason == ecolaura.MoveSale {
			sales++
			assert.Equal(t, -1, m.Delta)
			assert.True(t, placed[m.OrderID], "every sale movement belongs to a placed order")
		}
	}
	require.Equal(t, units, sales, "one sale movement per unit sold, none for the rolled-back orders")
	for _, other := range []int{0, 2} {
		n, _ := level(t, db, p.Variants[other].ID, ecolaura.DefaultLocationID)
		assert.Equal(t, p.Variants[other].Available, n, "the other variants keep their stock")
	}
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.Version, got.Version, "sales do not touch the product")
}

func inventoryTwoVariants(t *testing.T, db ports.Database) {
	p := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, p)
	user := mustCreateUser(t, db)
	a, b := p.Variants[0], p.Variants[2]
	if b.ID < a.ID {
		a, b = b, a
	}
	o, err := buy(ctx(t), db, user.ID, p, map[ecolaura.ID]int{a.ID: 2, b.ID: 3})
	require.NoError(t, err)
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	va, _ := got.Variant(a.ID)
	vb, _ := got.Variant(b.ID)
	assert.Equal(t, a.Available-2, va.Available)
	assert.Equal(t, b.Available-3, vb.Available)
	assert.Equal(t, 18-5, got.Stock)
	stored, err := db.Orders().Get(ctx(t), o.ID)
	require.NoError(t, err)
	require.Len(t, stored.Lines, 2)
	ms, err := db.Inventory().Movements(ctx(t), ports.MovementQuery{OrderID: o.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, ms, 2, "one sale movement per line")

	// Too many of the second variant: nothing of the order stays.
	_, err = buy(ctx(t), db, user.ID, p, map[ecolaura.ID]int{a.ID: 1, b.ID: 100})
	require.ErrorIs(t, err, ecolaura.ErrInsufficientStock)
	after, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	assert.Equal(t, got.Stock, after.Stock, "a failed order takes no stock")
}

func inventoryAdjustWhileSelling(t *testing.T, db ports.Database) {
	const n = 40
	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 100 })
	user := mustCreateUser(t, db)
	stored, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	errs := make([]error, 2*n)
	race(2*n, func(i int) {
		if i%2 == 0 {
			_, errs[i] = buy(context.Background(), db, user.ID, stored, map[ecolaura.ID]int{p.ID: 1})
			return
		}
		_, errs[i] = db.Inventory().Change(context.Background(), ports.InventoryChange{VariantID: p.ID, Quantity: 1,
			Reason: ecolaura.MoveRestock, ActorID: user.ID, At: Now()})
	})
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	got, _ := level(t, db, p.ID, ecolaura.DefaultLocationID)
	require.Equal(t, 100, got, "%d sales and %d restocks of one unit lose no update", n, n)
	sum, ms := movementSum(t, db, p.ID, ecolaura.DefaultLocationID)
	require.Equal(t, got, sum, "the level is the sum of its movements")
	require.Len(t, ms, 1+2*n)
}

func inventoryLocations(t *testing.T, db ports.Database) {
	locs, err := db.Inventory().Locations(ctx(t))
	require.NoError(t, err)
	require.NotEmpty(t, locs)
	assert.Equal(t, ecolaura.StockLocation{ID: ecolaura.DefaultLocationID, Name: locs[0].Name, Ships: true, Position: 0}, locs[0],
		"the default location comes first and ships")

	pos := 1_000_000 + rand.IntN(1_000_000_000)
	ships := ecolaura.StockLocation{ID: NewID(), Name: "Porttest warehouse", Ships: true, Position: pos}
	shop := ecolaura.StockLocation{ID: NewID(), Name: "Porttest shop floor", Ships: false, Position: pos + 1}
	require.NoError(t, db.Inventory().CreateLocation(ctx(t), ships))
	require.NoError(t, db.Inventory().CreateLocation(ctx(t), shop))
	require.ErrorIs(t, db.Inventory().CreateLocation(ctx(t), ships), ecolaura.ErrConflict, "a taken ID")
	taken := ecolaura.StockLocation{ID: NewID(), Name: "Porttest clash", Ships: true, Position: pos}
	require.ErrorIs(t, db.Inventory().CreateLocation(ctx(t), taken), ecolaura.ErrInvalid, "a taken position")
	require.ErrorIs(t, db.Inventory().CreateLocation(ctx(t), ecolaura.StockLocation{ID: NewID(), Position: pos + 2}), ecolaura.ErrInvalid, "no name")
	locs, err = db.Inventory().Locations(ctx(t))
	require.NoError(t, err)
	assert.Contains(t, locs, ships)
	assert.Contains(t, locs, shop)

	p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 2 })
	for _, c := range []struct {
		loc ecolaura.ID
		n   int
	}{{ships.ID, 3}, {shop.ID, 50}} {
		_, err := db.Inventory().Change(ctx(t), ports.InventoryChange{VariantID: p.ID, LocationID: c.loc, Set: true, Quantity: c.n, Reason: ecolaura.MoveSet, At: Now()})
		require.NoError(t, err)
	}
	got, err := db.Products().Get(ctx(t), p.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, got.Stock, "only locations that ship count as available")

	user := mustCreateUser(t, db)
	_, err = buy(ctx(t), db, user.ID, got, map[ecolaura.ID]int{p.ID: 6})
	var ise *ecolaura.InsufficientStockError
	require.ErrorAs(t, err, &ise, "the shop floor's units are not for sale")
	assert.Equal(t, 5, ise.Available)
	o, err := buy(ctx(t), db, user.ID, got, map[ecolaura.ID]int{p.ID: 4})
	require.NoError(t, err, "a sale takes from several locations")
	d, _ := level(t, db, p.ID, ecolaura.DefaultLocationID)
	w, _ := level(t, db, p.ID, ships.ID)
	s, _ := level(t, db, p.ID, shop.ID)
	assert.Equal(t, []int{0, 1, 50}, []int{d, w, s}, "the default location first, then the others in position order")
	ms, err := db.Inventory().Movements(ctx(t), ports.MovementQuery{OrderID: o.ID, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, ms, 2, "one movement per level taken from")
}

func inventoryStatusFilter(t *testing.T, db ports.Database) {
	cat := UniqueCategory()
	var want []ecolaura.ID
	for _, st := range []ecolaura.ProductStatus{ecolaura.ProductDraft, ecolaura.ProductActive, ecolaura.ProductArchived, ecolaura.ProductActive} {
		p := NewProduct(cat, func(p *ecolaura.Product) { p.Status = st })
		mustCreateProducts(t, db, p)
		if st == ecolaura.ProductActive {
			want = append([]ecolaura.ID{p.ID}, want...)
		}
	}
	page, err := db.Products().List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: cat, Status: ecolaura.ProductActive}, Limit: 10, WithTotal: true})
	require.NoError(t, err)
	ids := productIDs(page.Items)
	assert.ElementsMatch(t, want, ids, "the status filter keeps the active products")
	assert.Equal(t, 2, page.Total)
	page, err = db.Products().List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: cat}, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, page.Items, 4, "without a status filter every product is listed")
	page, err = db.Products().List(ctx(t), ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: cat, Status: ecolaura.ProductDraft}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, ecolaura.ProductDraft, page.Items[0].Status)
}

func inventoryDeleteCascades(t *testing.T, db ports.Database) {
	p := NewVariantProduct(UniqueCategory())
	mustCreateProducts(t, db, p)
	require.NoError(t, db.Products().Delete(ctx(t), p.ID))
	for _, v := range p.Variants {
		_, ok := level(t, db, v.ID, ecolaura.DefaultLocationID)
		assert.False(t, ok, "a deleted product's levels are gone")
		ms, err := db.Inventory().Movements(ctx(t), ports.MovementQuery{VariantID: v.ID, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, ms, "and its movements")
	}
	ps, err := db.Products().GetByVariants(ctx(t), []ecolaura.ID{p.Variants[0].ID})
	require.NoError(t, err)
	assert.Empty(t, ps)
	q := NewVariantProduct(UniqueCategory())
	q.Variants[0].SKU = p.Variants[0].SKU
	require.NoError(t, db.Products().Create(ctx(t), q), "a deleted product's SKUs can be reused")
}
