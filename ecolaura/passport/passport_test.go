package passport_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/passport"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

var (
	staff    = ecolaura.Principal{UserID: "00000000-0000-7000-8000-0000000000aa", Role: ecolaura.RoleStaff}
	customer = ecolaura.Principal{UserID: "00000000-0000-7000-8000-0000000000bb", Role: ecolaura.RoleCustomer}
)

type fixture struct {
	svc     *passport.Service
	cat     *catalog.Service
	db      ports.Database
	clock   *memory.ManualClock
	product ecolaura.Product
}

func newFixture(t *testing.T, s storetest.Store) fixture {
	t.Helper()
	clock := memory.NewManualClock(time.Date(2026, 12, 13, 9, 0, 0, 0, time.UTC))
	db := s.Open(t, storetest.JobsConfig{})
	ids := memory.NewSequentialIDs()
	cat, err := catalog.New(db, clock, ids)
	require.NoError(t, err)
	p, err := cat.Create(context.Background(), staff, catalog.ProductInput{Name: "Steel Pan", Category: "kitchen",
		Price: ecolaura.NewMoney(4500, ecolaura.DefaultCurrency), Stock: 3})
	require.NoError(t, err)
	svc, err := passport.New(db, clock, ids)
	require.NoError(t, err)
	return fixture{svc: svc, cat: cat, db: db, clock: clock, product: p}
}

func TestPublishAndRead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		first := porttest.NewPassport()
		v1, err := f.svc.Publish(ctx, staff, f.product.ID, first)
		require.NoError(t, err)
		assert.Equal(t, 1, v1.Number)
		assert.Equal(t, staff.UserID, v1.PublishedBy)
		assert.Equal(t, f.clock.Now(), v1.PublishedAt)

		f.clock.Advance(time.Hour)
		changed := porttest.NewPassport()
		changed.CareInstructions = "  Hand wash only.  "
		v2, err := f.svc.Publish(ctx, staff, f.product.ID, changed)
		require.NoError(t, err)
		assert.Equal(t, 2, v2.Number)
		assert.Equal(t, "Hand wash only.", v2.Passport.CareInstructions, "normalised")

		cur, err := f.svc.Get(ctx, ecolaura.Anonymous, f.product.ID, 0)
		require.NoError(t, err)
		assert.Equal(t, v2, cur.Version, "the current version by default")
		assert.True(t, cur.Current())
		assert.Equal(t, f.product.ID, cur.Product.ID)
		old, err := f.svc.Get(ctx, customer, f.product.ID, 1)
		require.NoError(t, err)
		assert.Equal(t, v1, old.Version)
		assert.False(t, old.Current())
		assert.Equal(t, []ecolaura.PassportVersionInfo{v2.Info(), v1.Info()}, old.Versions)

		versions, err := f.svc.Versions(ctx, ecolaura.Anonymous, f.product.ID)
		require.NoError(t, err)
		assert.Equal(t, []int{2, 1}, []int{versions[0].Number, versions[1].Number})

		page, err := f.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityPassport, EntityID: f.product.ID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 2, "one audit event per publication")
		latest := page.Items[0]
		assert.Equal(t, ecolaura.ActionPublish, latest.Action)
		assert.Equal(t, staff.UserID, latest.ActorID)
		var fields []string
		for _, c := range latest.Changes {
			fields = append(fields, c.Field)
		}
		assert.Equal(t, []string{"version", "care_instructions"}, fields, "the diff names the version and what changed")
		assert.Equal(t, "2", *latest.Changes[0].To)
	})
}

func TestPublishRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		tests := []struct {
			name    string
			actor   ecolaura.Principal
			product ecolaura.ID
			edit    func(*ecolaura.Passport)
			want    error
		}{
			{name: "anonymous", actor: ecolaura.Anonymous, product: f.product.ID, want: ecolaura.ErrUnauthenticated},
			{name: "customer", actor: customer, product: f.product.ID, want: ecolaura.ErrForbidden},
			{name: "unknown product", actor: staff, product: porttest.NewID(), want: ecolaura.ErrNotFound},
			{name: "malformed product id", actor: staff, product: "nope", want: ecolaura.ErrNotFound},
			{name: "invalid passport", actor: staff, product: f.product.ID, edit: func(p *ecolaura.Passport) { p.Materials[0].SharePct = 1 }, want: ecolaura.ErrInvalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := porttest.NewPassport()
				if tc.edit != nil {
					tc.edit(&p)
				}
				_, err := f.svc.Publish(ctx, tc.actor, tc.product, p)
				require.ErrorIs(t, err, tc.want)
			})
		}
		_, err := f.svc.Get(ctx, staff, f.product.ID, 0)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "nothing was published")
		_, err = f.svc.Versions(ctx, staff, f.product.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, err = f.svc.Get(ctx, staff, f.product.ID, -1)
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
		page, err := f.db.Audit().List(ctx, ports.AuditQuery{Entity: ecolaura.EntityPassport, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page.Items, "no event without a publication")
	})
}

// Concurrent publications of one product all succeed, with the numbers
// 1..n: a publication that lost the race for a number takes the next one.
func TestConcurrentPublications(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		const n = 5 // at most n-1 losses each: within the service's retries
		var wg sync.WaitGroup
		start := make(chan struct{})
		numbers := make(chan int, n)
		for range n {
			wg.Go(func() {
				<-start
				v, err := f.svc.Publish(context.Background(), staff, f.product.ID, porttest.NewPassport())
				if assert.NoError(t, err) {
					numbers <- v.Number
				}
			})
		}
		close(start)
		wg.Wait()
		close(numbers)
		seen := map[int]bool{}
		for num := range numbers {
			seen[num] = true
		}
		assert.Len(t, seen, n, "every publication got its own number")
		versions, err := f.svc.Versions(context.Background(), staff, f.product.ID)
		require.NoError(t, err)
		assert.Equal(t, n, versions[0].Number)
	})
}

func TestResolveByGTIN(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		gtin14 := porttest.RandomGTIN()
		gtin13 := string(gtin14[1:])
		p := porttest.NewPassport()
		p.GTIN = ecolaura.GTIN(gtin13)
		v, err := f.svc.Publish(ctx, staff, f.product.ID, p)
		require.NoError(t, err)
		assert.Equal(t, gtin14, v.Passport.GTIN, "stored as GTIN-14")

		for _, g := range []string{gtin13, string(gtin14)} {
			view, err := f.svc.Resolve(ctx, ecolaura.Anonymous, g, 0)
			require.NoError(t, err, g)
			assert.Equal(t, f.product.ID, view.Product.ID, "GTIN-13 and GTIN-14 resolve to the same product")
			assert.Equal(t, 1, view.Version.Number)
		}
		wrong := gtin13[:12] + string('0'+(gtin13[12]-'0'+1)%10)
		_, err = f.svc.Resolve(ctx, ecolaura.Anonymous, wrong, 0)
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "a wrong check digit")
		_, err = f.svc.Resolve(ctx, ecolaura.Anonymous, string(porttest.RandomGTIN()), 0)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)

		other, err := f.svc.Publish(ctx, staff, f.product.ID, p)
		require.NoError(t, err, "the same product may publish its GTIN again")
		assert.Equal(t, 2, other.Number)

		second, err := f.cat.Create(ctx, staff, catalog.ProductInput{Name: "Copper Pan", Category: "kitchen",
			Price: ecolaura.NewMoney(5500, ecolaura.DefaultCurrency), Stock: 1})
		require.NoError(t, err)
		_, err = f.svc.Publish(ctx, staff, second.ID, p)
		var taken *ecolaura.ConflictError
		require.ErrorAs(t, err, &taken, "another product's passport declares the GTIN")
		assert.Equal(t, "gtin", taken.Field)
	})
}

// TestDraftPassportHidden: a draft product's passport (next season's
// collection) is read only by staff: Get, Versions and Resolve answer
// ErrNotFound to customers and anonymous callers until the product is
// activated; an archived product's passport stays readable (goods already
// sold carry its QR code).
func TestDraftPassportHidden(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		draft, err := f.cat.Create(ctx, staff, catalog.ProductInput{Name: "Winter Scarf", Category: "kitchen",
			Price: ecolaura.NewMoney(4000, ecolaura.DefaultCurrency), Stock: 2, Status: ecolaura.ProductDraft})
		require.NoError(t, err)
		gtin := porttest.RandomGTIN()
		p := porttest.NewPassport()
		p.GTIN = gtin
		_, err = f.svc.Publish(ctx, staff, draft.ID, p)
		require.NoError(t, err, "staff prepare the passport of a draft")

		readable := func(who ecolaura.Principal) []error {
			_, errGet := f.svc.Get(ctx, who, draft.ID, 0)
			_, errOld := f.svc.Get(ctx, who, draft.ID, 1)
			_, errVersions := f.svc.Versions(ctx, who, draft.ID)
			_, errResolve := f.svc.Resolve(ctx, who, string(gtin), 0)
			return []error{errGet, errOld, errVersions, errResolve}
		}
		for _, who := range []ecolaura.Principal{ecolaura.Anonymous, customer} {
			for i, err := range readable(who) {
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "draft, %s, read %d", who.Role, i)
			}
		}
		for i, err := range readable(staff) {
			require.NoError(t, err, "staff, read %d", i)
		}

		for _, st := range []ecolaura.ProductStatus{ecolaura.ProductActive, ecolaura.ProductArchived} {
			_, err = f.cat.Update(ctx, staff, draft.ID, catalog.Patch{Status: &st})
			require.NoError(t, err)
			for _, who := range []ecolaura.Principal{ecolaura.Anonymous, customer} {
				for i, err := range readable(who) {
					require.NoError(t, err, "%s, %s, read %d", st, who.Role, i)
				}
			}
		}
	})
}
