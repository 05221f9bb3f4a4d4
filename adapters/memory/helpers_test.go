package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/textsearch"
	"github.com/ecolaura/ecolaura/ports"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var testCategories = []string{"kitchen", "home", "clothing", "garden", "office"}

func ptr[T any](v T) *T { return &v }

// randomProduct makes a valid product with many key collisions (scores,
// prices and times repeat) so the ID tie-break is exercised.
func randomProduct(rng *rand.Rand, id ecolaura.ID) ecolaura.Product {
	p := ecolaura.Product{
		ID:          id,
		Name:        fmt.Sprintf("Product %s %s", []string{"bamboo", "steel", "cotton", "glass"}[rng.IntN(4)], id[len(id)-4:]),
		Description: []string{"Reusable", "Compostable brush", "Organic", ""}[rng.IntN(4)],
		Category:    testCategories[rng.IntN(len(testCategories))],
		Price:       ecolaura.NewMoney(int64(rng.IntN(50))*100, ecolaura.DefaultCurrency),
		Stock:       rng.IntN(4),
		Score:       rng.IntN(10) * 10,
		CreatedAt:   t0.Add(time.Duration(rng.IntN(100)) * time.Second),
		Version:     1,
	}
	p.UpdatedAt = p.CreatedAt
	if rng.IntN(3) > 0 {
		m := ecolaura.SustainabilityMetrics{
			CarbonFootprint: ecolaura.CO2e(rng.IntN(20) * 250),
			Recyclable:      rng.IntN(2) == 0,
			Biodegradable:   rng.IntN(2) == 0,
		}
		if rng.IntN(2) == 0 {
			m.RecycledContent = ptr(rng.IntN(101))
			m.Certifications = []ecolaura.Certification{ecolaura.CertFSC}
		}
		p.Metrics = &m
		p.Rescore()
	}
	return p
}

func newDB(t *testing.T, opts ...memory.Option) *memory.Database {
	t.Helper()
	return memory.NewDatabase(opts...)
}

func seedProducts(t *testing.T, db *memory.Database, ps []ecolaura.Product) {
	t.Helper()
	err := db.Do(context.Background(), func(ctx context.Context, tx ports.Tx) error {
		for _, p := range ps {
			if err := tx.Products().Create(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// bruteList is the reference: filter with Match, sort with ProductSort.Less.
func bruteList(all []ecolaura.Product, f ecolaura.ProductFilter, s ecolaura.ProductSort) []ecolaura.Product {
	var out []ecolaura.Product
	keys := map[ecolaura.ID]int64{}
	search := func(q textsearch.Query) {
		for _, p := range all {
			doc := textsearch.ProductDocument(p)
			if f.Match(p) && (f.Query == "" || q.Match(doc)) {
				out = append(out, p)
				keys[p.ID] = s.SortKey(p)
				if f.Query != "" && s == ecolaura.SortRelevance {
					keys[p.ID] = textsearch.RankKey(q.Rank(doc))
				}
			}
		}
	}
	q := textsearch.Parse(f.Query)
	search(q)
	if f.Query != "" && len(out) == 0 {
		var known []string
		for _, p := range all {
			known = append(known, textsearch.ProductWords(p)...)
		}
		slices.Sort(known)
		if cq, ok := q.Corrected(textsearch.Suggest(q.Correctable(), slices.Compact(known))); ok {
			search(cq)
		}
	}
	slices.SortFunc(out, func(a, b ecolaura.Product) int {
		pa := ecolaura.ProductPosition{Key: keys[a.ID], ID: a.ID}
		pb := ecolaura.ProductPosition{Key: keys[b.ID], ID: b.ID}
		switch {
		case s.Less(pa, pb):
			return -1
		case s.Less(pb, pa):
			return 1
		}
		return 0
	})
	return out
}

func ids(ps []ecolaura.Product) []ecolaura.ID {
	if len(ps) == 0 {
		return nil
	}
	out := make([]ecolaura.ID, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// newProduct returns a product as a store stores it (ecolaura.Product.Complete:
// status active, one default variant with the product's ID and stock).
func newProduct(id ecolaura.ID, stock int) ecolaura.Product {
	p := ecolaura.Product{
		ID: id, Name: "Bottle " + string(id), Category: "kitchen",
		Price: ecolaura.NewMoney(1999, ecolaura.DefaultCurrency), Stock: stock, Score: 50,
		CreatedAt: t0, UpdatedAt: t0, Version: 1,
	}
	p.Complete()
	return p
}

// The users that the orders and refresh tokens of these tests belong to.
var testUsers = []ecolaura.ID{
	"20000000-0000-7000-8000-000000000001", "20000000-0000-7000-8000-000000000002", "20000000-0000-7000-8000-000000000003",
}

// withTestUsers stores testUsers in db (orders and refresh tokens must
// reference an existing user, as the PostgreSQL schema's foreign keys
// require) and returns db.
func withTestUsers(t testing.TB, db *memory.Database) *memory.Database {
	t.Helper()
	for i, id := range testUsers {
		u := ecolaura.User{ID: id, Email: fmt.Sprintf("user%d@example.org", i+1), Name: "Test user", PasswordHash: "$argon2id$x",
			Role: ecolaura.RoleCustomer, CreatedAt: t0, UpdatedAt: t0, Version: 1}
		require.NoError(t, db.Users().Create(context.Background(), u))
	}
	return db
}

// pendingOrder is a minimal valid order of user with one line.
func pendingOrder(id, user, product ecolaura.ID) ecolaura.Order {
	return ecolaura.Order{
		ID: id, UserID: user, Status: ecolaura.StatusPending, CreatedAt: t0, UpdatedAt: t0, Version: 1,
		Lines:    []ecolaura.OrderLine{{ProductID: product, Name: "Bottle", Quantity: 1, UnitPrice: ecolaura.NewMoney(0, "EUR"), Total: ecolaura.NewMoney(0, "EUR")}},
		Subtotal: ecolaura.NewMoney(0, "EUR"), Total: ecolaura.NewMoney(0, "EUR"),
	}
}
