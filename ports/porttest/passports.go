package porttest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// NewPassport returns a valid, normalised passport: a manufacturer, two
// materials adding up to 100 %, a repairability score, a substance, a
// certificate valid 2025–2027 and a cradle-to-gate footprint.
func NewPassport() ecolaura.Passport {
	life := 10
	conc := ecolaura.Hundredths(12)
	p := ecolaura.Passport{
		Manufacturer:    ecolaura.Manufacturer{Name: "Ecolaura Test Works", Address: "1 Test Street\n1000 Lisboa", Contact: "https://example.org/contact"},
		CountryOfOrigin: "PT",
		Materials: []ecolaura.Material{
			{Material: "recycled steel", SharePct: 80_00, RecycledPct: 90_00},
			{Material: "beech wood", SharePct: 20_00, RenewablePct: 100_00},
		},
		ExpectedLifetimeYears: &life,
		Repairability:         &ecolaura.Repairability{Score: 8_25, SparePartsYears: 10},
		SubstancesOfConcern:   []ecolaura.Substance{{Name: "Lead", CASNumber: "7439-92-1", ConcentrationPct: &conc}},
		Certifications: []ecolaura.PassportCertificate{{
			Scheme: "FSC", Issuer: "FSC International", Number: "FSC-C000000", ValidFrom: "2025-01-01", ValidUntil: "2027-12-31",
			VerificationURL: "https://search.fsc.org/?q=FSC-C000000",
		}},
		CarbonFootprint:  &ecolaura.PassportFootprint{KgCO2e: 2_345, Method: "ISO 14067", Boundary: ecolaura.BoundaryCradleToGate},
		CareInstructions: "Oil the handle once a year.",
		EndOfLife:        "Metal recycling; the handle is compostable.",
	}
	p.Normalize()
	return p
}

// RandomGTIN returns a random valid GTIN-14 (a GTIN-13 padded with a zero)
// that no other test uses.
func RandomGTIN() ecolaura.GTIN {
	body := "0" + randomDigits(12)
	for c := byte('0'); c <= '9'; c++ {
		if g, err := ecolaura.ParseGTIN(body + string(c)); err == nil {
			return g
		}
	}
	panic("porttest: no check digit fits") // unreachable: one of ten always does
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	h := randomHex(n)
	b := make([]byte, n)
	for i := range b {
		b[i] = '0' + h[i]%10
	}
	return string(b)
}

// NewPassportVersion returns a valid version number of product's passport,
// published now by publisher.
func NewPassportVersion(product ecolaura.ID, number int, publisher ecolaura.ID) ecolaura.PassportVersion {
	return ecolaura.PassportVersion{ProductID: product, Number: number, PublishedAt: Now(), PublishedBy: publisher, Passport: NewPassport()}
}

// PassportStore checks the semantics of [ports.PassportStore]: versions are
// copied in and out and read back exactly (every field, the minimal and the
// full passport); numbers follow each other without gaps (a gap, a repeat
// and a lost race are ErrConflict and store nothing); invalid versions are
// ErrInvalid; missing ones ErrNotFound; versions are listed newest first;
// appends inside a rolled-back transaction vanish; and concurrent appends of
// the same number let exactly one win.
func PassportStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	s := db.Passports()

	t.Run("AppendRead", func(t *testing.T) {
		product, staff := NewID(), NewID()
		v1 := NewPassportVersion(product, 1, staff)
		require.NoError(t, s.Append(ctx(t), v1))
		got, err := s.Latest(ctx(t), product)
		require.NoError(t, err)
		assert.Equal(t, v1, got, "a version reads back exactly")

		got.Passport.Materials[0].Material = "mutated"
		*got.Passport.ExpectedLifetimeYears = 99
		again, err := s.Get(ctx(t), product, 1)
		require.NoError(t, err)
		assert.Equal(t, v1, again, "mutating a read version changed the store")

		minimal := ecolaura.PassportVersion{ProductID: product, Number: 2, PublishedAt: Now(),
			Passport: ecolaura.Passport{Manufacturer: ecolaura.Manufacturer{Name: "Only a name"}}}
		minimal.Passport.Normalize()
		require.NoError(t, s.Append(ctx(t), minimal), "a minimal passport published by the system")
		got, err = s.Latest(ctx(t), product)
		require.NoError(t, err)
		assert.Equal(t, minimal, got, "the latest is version 2")
		old, err := s.Get(ctx(t), product, 1)
		require.NoError(t, err)
		assert.Equal(t, v1, old, "version 1 stays readable")

		infos, err := s.Versions(ctx(t), product)
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.PassportVersionInfo{minimal.Info(), v1.Info()}, infos, "newest first")
	})
	t.Run("Numbering", func(t *testing.T) {
		product := NewID()
		require.ErrorIs(t, s.Append(ctx(t), NewPassportVersion(product, 2, NewID())), ecolaura.ErrConflict, "a first version numbered 2")
		require.NoError(t, s.Append(ctx(t), NewPassportVersion(product, 1, NewID())))
		require.ErrorIs(t, s.Append(ctx(t), NewPassportVersion(product, 1, NewID())), ecolaura.ErrConflict, "number 1 again")
		require.ErrorIs(t, s.Append(ctx(t), NewPassportVersion(product, 3, NewID())), ecolaura.ErrConflict, "a gap")
		infos, err := s.Versions(ctx(t), product)
		require.NoError(t, err)
		assert.Len(t, infos, 1, "refused appends stored nothing")
		require.NoError(t, s.Append(ctx(t), NewPassportVersion(NewID(), 1, NewID())), "numbers are per product")
	})
	t.Run("Refused", func(t *testing.T) {
		product := NewID()
		bad := NewPassportVersion(product, 1, NewID())
		bad.Passport.Materials[0].SharePct = 10_00 // shares add up to 30 %
		require.ErrorIs(t, s.Append(ctx(t), bad), ecolaura.ErrInvalid)
		bad = NewPassportVersion("not-a-uuid", 1, "")
		require.ErrorIs(t, s.Append(ctx(t), bad), ecolaura.ErrInvalid)
		_, err := s.Latest(ctx(t), product)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "nothing was stored")
	})
	t.Run("NotFound", func(t *testing.T) {
		product := NewID()
		_, err := s.Latest(ctx(t), product)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		require.NoError(t, s.Append(ctx(t), NewPassportVersion(product, 1, NewID())))
		for _, n := range []int{0, 2, -1} {
			_, err = s.Get(ctx(t), product, n)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "version %d", n)
		}
		_, err = s.Latest(ctx(t), "not-a-uuid")
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		infos, err := s.Versions(ctx(t), NewID())
		require.NoError(t, err)
		assert.Empty(t, infos)
		assert.NotNil(t, infos, "an empty list, not nil")
	})
	t.Run("ProductByGTIN", func(t *testing.T) {
		gtin := RandomGTIN()
		_, err := s.ProductByGTIN(ctx(t), gtin)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		first, second := NewID(), NewID()
		v := NewPassportVersion(first, 1, NewID())
		v.Passport.GTIN = gtin
		require.NoError(t, s.Append(ctx(t), v))
		got, err := s.ProductByGTIN(ctx(t), gtin)
		require.NoError(t, err)
		assert.Equal(t, first, got)

		v = NewPassportVersion(second, 1, NewID())
		v.Passport.GTIN = gtin
		v.PublishedAt = v.PublishedAt.Add(time.Second)
		require.NoError(t, s.Append(ctx(t), v))
		got, err = s.ProductByGTIN(ctx(t), gtin)
		require.NoError(t, err)
		assert.Equal(t, second, got, "of two products, the one published last")

		v = NewPassportVersion(second, 2, NewID())
		v.PublishedAt = v.PublishedAt.Add(2 * time.Second)
		require.NoError(t, s.Append(ctx(t), v))
		got, err = s.ProductByGTIN(ctx(t), gtin)
		require.NoError(t, err)
		assert.Equal(t, first, got, "a GTIN only an older version declares does not count")
	})
	t.Run("Transaction", func(t *testing.T) {
		product := NewID()
		boom := errors.New("roll back")
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			require.NoError(t, tx.Passports().Append(ctx, NewPassportVersion(product, 1, NewID())))
			got, err := tx.Passports().Latest(ctx, product)
			require.NoError(t, err, "the transaction sees its own append")
			assert.Equal(t, 1, got.Number)
			_, err = s.Latest(context.WithoutCancel(ctx), product)
			assert.ErrorIs(t, err, ecolaura.ErrNotFound, "others do not see an uncommitted append")
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.Latest(ctx(t), product)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a rolled-back append vanished")
		require.NoError(t, s.Append(ctx(t), NewPassportVersion(product, 1, NewID())), "its number is free again")
	})
	t.Run("ConcurrentAppends", func(t *testing.T) {
		// Rounds until one of them saw a real race (a lost append), so the
		// raced case is known to have been checked.
		raced := false
		for round := 0; round < 20 && !raced; round++ {
			raced = passportRace(t, db)
		}
		require.True(t, raced, "no round had two appends racing for one number")
	})
}

// passportRace lets 8 transactions append the next version of one product
// at once and checks the outcome; it reports whether any of them lost.
func passportRace(t *testing.T, db ports.Database) bool {
	t.Helper()
	s := db.Passports()
	{
		product := NewID()
		require.NoError(t, s.Append(ctx(t), NewPassportVersion(product, 1, NewID())))
		const racers = 8
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range racers {
			wg.Go(func() {
				<-start
				err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
					latest, err := tx.Passports().Latest(ctx, product)
					if err != nil {
						return err
					}
					return tx.Passports().Append(ctx, NewPassportVersion(product, latest.Number+1, NewID()))
				})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ecolaura.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("append: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		infos, err := s.Versions(ctx(t), product)
		require.NoError(t, err)
		require.Len(t, infos, 1+int(wins.Load()), "every winner stored exactly one version")
		for i, info := range infos {
			assert.Equal(t, len(infos)-i, info.Number, "numbers have no gaps or repeats")
		}
		assert.Equal(t, int32(racers), wins.Load()+conflicts.Load())
		assert.GreaterOrEqual(t, wins.Load(), int32(1))
		return conflicts.Load() > 0
	}
}
