package porttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// UserStore checks the semantics of [ports.UserStore]: create and read by ID
// and by email, uniqueness of the (already normalised) email under
// concurrency, ErrNotFound and ErrConflict, and the version check of Update,
// including moving to an email that is free or taken.
func UserStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.Users()

	t.Run("CreateGet", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			u    ecolaura.User
		}{
			{"customer", NewUser()},
			{"staff", func() ecolaura.User { u := NewUser(); u.Role = ecolaura.RoleStaff; return u }()},
			{"old times", func() ecolaura.User {
				u := NewUser()
				u.CreatedAt = time.Date(2003, 4, 5, 6, 7, 8, 9000, time.UTC)
				u.UpdatedAt = u.CreatedAt.Add(time.Hour)
				return u
			}()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				require.NoError(t, store.Create(ctx(t), tc.u))
				got, err := store.Get(ctx(t), tc.u.ID)
				require.NoError(t, err)
				requireUser(t, tc.u, got)
				got, err = store.GetByEmail(ctx(t), tc.u.Email)
				require.NoError(t, err)
				requireUser(t, tc.u, got)
			})
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := store.Get(ctx(t), NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "Get")
		_, err = store.GetByEmail(ctx(t), RandomToken("nobody-")+"@example.org")
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "GetByEmail")
		_, err = store.Update(ctx(t), NewUser())
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "Update")
	})
	t.Run("CreateConflict", func(t *testing.T) {
		u := mustCreateUser(t, db)
		sameID := NewUser()
		sameID.ID = u.ID
		require.ErrorIs(t, store.Create(ctx(t), sameID), ecolaura.ErrConflict, "taken ID")
		_, err := store.GetByEmail(ctx(t), sameID.Email)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a conflicting Create must store nothing")
		sameEmail := NewUser()
		sameEmail.Email = u.Email
		require.ErrorIs(t, store.Create(ctx(t), sameEmail), ecolaura.ErrConflict, "taken email")
		_, err = store.Get(ctx(t), sameEmail.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a conflicting Create must store nothing")
		got, err := store.Get(ctx(t), u.ID)
		require.NoError(t, err)
		requireUser(t, u, got)
	})
	t.Run("CreateConcurrentSameEmail", func(t *testing.T) {
		email := RandomToken("race-") + "@example.org"
		const n = 30
		errs := make([]error, n)
		race(n, func(i int) {
			u := NewUser()
			u.Email = email
			errs[i] = store.Create(ctx(t), u)
		})
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(t, err, ecolaura.ErrConflict, "goroutine %d", i)
		}
		require.Equal(t, 1, ok, "exactly one account per email")
	})
	t.Run("Update", func(t *testing.T) {
		u := mustCreateUser(t, db)
		in := u
		in.Name, in.Role, in.PasswordHash = "Renamed", ecolaura.RoleStaff, "$argon2id$v=19$m=65536,t=3,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaA"
		in.Email = RandomToken("moved-") + "@example.org"
		in.UpdatedAt = in.UpdatedAt.Add(time.Second)
		out, err := store.Update(ctx(t), in)
		require.NoError(t, err)
		want := in
		want.Version = u.Version + 1
		requireUser(t, want, out, "Update returns what was stored, with Version+1")
		got, err := store.GetByEmail(ctx(t), in.Email)
		require.NoError(t, err)
		requireUser(t, want, got, "the new email finds the user")
		_, err = store.GetByEmail(ctx(t), u.Email)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "the old email is released")
		other := NewUser()
		other.Email = u.Email
		require.NoError(t, store.Create(ctx(t), other), "a released email can be taken again")

		for _, tc := range []struct {
			name    string
			version int64
		}{{"stale version", u.Version}, {"version ahead", want.Version + 1}} {
			t.Run(tc.name, func(t *testing.T) {
				bad := want
				bad.Name, bad.Version = "should not be stored", tc.version
				_, err := store.Update(ctx(t), bad)
				require.ErrorIs(t, err, ecolaura.ErrConflict)
				got, err := store.Get(ctx(t), u.ID)
				require.NoError(t, err)
				requireUser(t, want, got, "a rejected Update must change nothing")
			})
		}
		t.Run("taken email", func(t *testing.T) {
			bad := want
			bad.Email = other.Email
			_, err := store.Update(ctx(t), bad)
			require.ErrorIs(t, err, ecolaura.ErrConflict)
			got, err := store.Get(ctx(t), u.ID)
			require.NoError(t, err)
			requireUser(t, want, got, "a rejected Update must change nothing")
			got, err = store.GetByEmail(ctx(t), other.Email)
			require.NoError(t, err)
			require.Equal(t, other.ID, got.ID, "the email still belongs to its owner")
		})
	})
	t.Run("Constraints", func(t *testing.T) { userConstraints(t, db) })
	t.Run("UpdateConcurrent", func(t *testing.T) {
		u := mustCreateUser(t, db)
		const n = 20
		errs := make([]error, n)
		race(n, func(i int) {
			in := u
			in.Name = fmt.Sprintf("writer %d", i)
			_, errs[i] = store.Update(ctx(t), in)
		})
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(t, err, ecolaura.ErrConflict, "goroutine %d", i)
		}
		require.Equal(t, 1, ok, "exactly one Update based on one version succeeds")
		got, err := store.Get(ctx(t), u.ID)
		require.NoError(t, err)
		require.Equal(t, u.Version+1, got.Version)
	})
}

// RefreshTokenStore checks the semantics of [ports.RefreshTokenStore]:
// create and read by hash, ErrConflict on a taken ID or hash, MarkUsed as a
// compare-and-set with exactly one winner among concurrent callers, and
// RevokeFamily / RevokeUser touching exactly the tokens not yet revoked.
func RefreshTokenStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.RefreshTokens()

	t.Run("CreateGet", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewRefreshToken(u.ID, NewID())
		require.NoError(t, store.Create(ctx(t), tk))
		got, err := store.GetByHash(ctx(t), tk.Hash)
		require.NoError(t, err)
		requireToken(t, tk, got)
		_, err = store.GetByHash(ctx(t), randomHex(32))
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("Copies", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewRefreshToken(u.ID, NewID())
		require.NoError(t, store.Create(ctx(t), tk))
		used, err := store.MarkUsed(ctx(t), tk.ID, tk.IssuedAt.Add(time.Minute))
		require.NoError(t, err)
		require.True(t, used)
		got, err := store.GetByHash(ctx(t), tk.Hash)
		require.NoError(t, err)
		want := got.Clone()
		*got.UsedAt = time.Time{}
		again, err := store.GetByHash(ctx(t), tk.Hash)
		require.NoError(t, err)
		requireToken(t, want, again, "mutating a value returned by GetByHash changed the store")
	})
	t.Run("CreateConflict", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewRefreshToken(u.ID, NewID())
		require.NoError(t, store.Create(ctx(t), tk))
		sameID := NewRefreshToken(u.ID, NewID())
		sameID.ID = tk.ID
		require.ErrorIs(t, store.Create(ctx(t), sameID), ecolaura.ErrConflict, "taken ID")
		_, err := store.GetByHash(ctx(t), sameID.Hash)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a conflicting Create must store nothing")
		sameHash := NewRefreshToken(u.ID, NewID())
		sameHash.Hash = tk.Hash
		require.ErrorIs(t, store.Create(ctx(t), sameHash), ecolaura.ErrConflict, "taken hash")
		got, err := store.GetByHash(ctx(t), tk.Hash)
		require.NoError(t, err)
		requireToken(t, tk, got)
	})
	t.Run("Constraints", func(t *testing.T) { tokenConstraints(t, db) })
	t.Run("MarkUsed", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewRefreshToken(u.ID, NewID())
		require.NoError(t, store.Create(ctx(t), tk))
		at := tk.IssuedAt.Add(time.Minute)
		used, err := store.MarkUsed(ctx(t), tk.ID, at)
		require.NoError(t, err)
		require.True(t, used, "first use")
		used, err = store.MarkUsed(ctx(t), tk.ID, at.Add(time.Minute))
		require.NoError(t, err)
		require.False(t, used, "second use must lose")
		got, err := store.GetByHash(ctx(t), tk.Hash)
		require.NoError(t, err)
		want := tk.Clone()
		want.UsedAt = &at
		requireToken(t, want, got, "UsedAt is the time of the winning call")

		_, err = store.MarkUsed(ctx(t), NewID(), at)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "MarkUsed of an unknown token")
	})
	t.Run("MarkUsedRevoked", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewRefreshToken(u.ID, NewID())
		require.NoError(t, store.Create(ctx(t), tk))
		require.NoError(t, store.RevokeFamily(ctx(t), tk.FamilyID, Now()))
		used, err := store.MarkUsed(ctx(t), tk.ID, Now())
		require.NoError(t, err)
		require.False(t, used, "a revoked token cannot be used")
		got, err := store.GetByHash(ctx(t), tk.Hash)
		require.NoError(t, err)
		require.Nil(t, got.UsedAt)
	})
	t.Run("MarkUsedConcurrent", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewRefreshToken(u.ID, NewID())
		require.NoError(t, store.Create(ctx(t), tk))
		const n = 30
		wins := make([]bool, n)
		errs := make([]error, n)
		race(n, func(i int) { wins[i], errs[i] = store.MarkUsed(ctx(t), tk.ID, Now()) })
		won := 0
		for i := range n {
			require.NoError(t, errs[i], "goroutine %d", i)
			if wins[i] {
				won++
			}
		}
		require.Equal(t, 1, won, "exactly one concurrent MarkUsed wins")
	})
	t.Run("RevokeFamily", func(t *testing.T) {
		u := mustCreateUser(t, db)
		fam, otherFam := NewID(), NewID()
		a, b := NewRefreshToken(u.ID, fam), NewRefreshToken(u.ID, fam)
		early := revokedAt(NewRefreshToken(u.ID, fam), Now().Add(-time.Hour))
		c := NewRefreshToken(u.ID, otherFam)
		for _, tk := range []ecolaura.RefreshToken{a, b, early, c} {
			require.NoError(t, store.Create(ctx(t), tk))
		}
		at := Now()
		require.NoError(t, store.RevokeFamily(ctx(t), fam, at))
		for _, tc := range []struct {
			name string
			tk   ecolaura.RefreshToken
			want *time.Time
		}{
			{"member", a, &at}, {"other member", b, &at},
			{"already revoked keeps its time", early, early.RevokedAt},
			{"other family untouched", c, nil},
		} {
			got, err := store.GetByHash(ctx(t), tc.tk.Hash)
			require.NoError(t, err)
			want := tc.tk.Clone()
			want.RevokedAt = tc.want
			requireToken(t, want, got, tc.name)
		}
		require.NoError(t, store.RevokeFamily(ctx(t), NewID(), at), "revoking an unknown family is not an error")
	})
	t.Run("RevokeUser", func(t *testing.T) {
		u, other := mustCreateUser(t, db), mustCreateUser(t, db)
		a, b := NewRefreshToken(u.ID, NewID()), NewRefreshToken(u.ID, NewID())
		early := revokedAt(NewRefreshToken(u.ID, NewID()), Now().Add(-time.Hour))
		c := NewRefreshToken(other.ID, a.FamilyID)
		for _, tk := range []ecolaura.RefreshToken{a, b, early, c} {
			require.NoError(t, store.Create(ctx(t), tk))
		}
		at := Now()
		require.NoError(t, store.RevokeUser(ctx(t), u.ID, at))
		for _, tc := range []struct {
			name string
			tk   ecolaura.RefreshToken
			want *time.Time
		}{
			{"token", a, &at}, {"token of another family", b, &at},
			{"already revoked keeps its time", early, early.RevokedAt},
			{"other user untouched", c, nil},
		} {
			got, err := store.GetByHash(ctx(t), tc.tk.Hash)
			require.NoError(t, err)
			want := tc.tk.Clone()
			want.RevokedAt = tc.want
			requireToken(t, want, got, tc.name)
		}
		used, err := store.MarkUsed(ctx(t), a.ID, Now())
		require.NoError(t, err)
		require.False(t, used, "a revoked token cannot be used")
		require.NoError(t, store.RevokeUser(ctx(t), NewID(), at), "revoking a user without tokens is not an error")
	})
}

func revokedAt(tk ecolaura.RefreshToken, at time.Time) ecolaura.RefreshToken {
	tk.RevokedAt = &at
	return tk
}
