package porttest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// UserStore checks the semantics of [ports.UserStore]: create and read by ID
// and by email, uniqueness of the (already normalised) email under
// concurrency, ErrNotFound and ErrConflict, the version check of Update
// (including moving to an email that is free or taken), the account state
// fields, GetForUpdate's lock, List's filters and cursor, the last-staff
// lock of CountActiveStaff under concurrency, and Delete (tokens gone,
// orders anonymised, a racing order either anonymised or refused).
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
	t.Run("AccountState", func(t *testing.T) { userAccountState(t, db) })
	t.Run("GetForUpdate", func(t *testing.T) { userGetForUpdate(t, db) })
	t.Run("List", func(t *testing.T) { userList(t, db) })
	t.Run("CountActiveStaffConcurrent", func(t *testing.T) { userLastStaff(t, db) })
	t.Run("Delete", func(t *testing.T) { userDelete(t, db) })
	t.Run("DeleteRacingOrder", func(t *testing.T) { userDeleteRacingOrder(t, db) })
}

func userAccountState(t *testing.T, db ports.Database) {
	store := db.Users()
	u := NewUser()
	u.PasswordChangedAt = time.Time{}
	require.NoError(t, store.Create(ctx(t), u))
	got, err := store.Get(ctx(t), u.ID)
	require.NoError(t, err)
	want := u
	want.PasswordChangedAt = u.CreatedAt
	requireUser(t, want, got, "a zero PasswordChangedAt is stored as CreatedAt")

	verified, disabled, changed := Now().Add(time.Minute), Now().Add(2*time.Minute), Now().Add(3*time.Minute)
	in := got.Clone()
	in.EmailVerifiedAt, in.DisabledAt, in.PasswordChangedAt = &verified, &disabled, changed
	out, err := store.Update(ctx(t), in)
	require.NoError(t, err)
	want = in.Clone()
	want.Version = got.Version + 1
	requireUser(t, want, out)
	got, err = store.Get(ctx(t), u.ID)
	require.NoError(t, err)
	requireUser(t, want, got, "verified, disabled and password-changed times are stored")
	require.False(t, got.Active())

	*got.DisabledAt = time.Time{}
	again, err := store.Get(ctx(t), u.ID)
	require.NoError(t, err)
	requireUser(t, want, again, "mutating a value returned by Get changed the store")

	in = again.Clone()
	in.EmailVerifiedAt, in.DisabledAt = nil, nil
	out, err = store.Update(ctx(t), in)
	require.NoError(t, err)
	require.Nil(t, out.EmailVerifiedAt, "cleared")
	require.Nil(t, out.DisabledAt, "cleared")
}

// userGetForUpdate: inside a transaction GetForUpdate keeps the user locked,
// so a second transaction's GetForUpdate waits and then sees what the first
// committed.
func userGetForUpdate(t *testing.T, db ports.Database) {
	u := mustCreateUser(t, db)
	_, err := db.Users().GetForUpdate(ctx(t), NewID())
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "outside a transaction")
	got, err := db.Users().GetForUpdate(ctx(t), u.ID)
	require.NoError(t, err)
	requireUser(t, u, got, "outside a transaction it is Get")
	err = db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
		_, err := tx.Users().GetForUpdate(ctx, NewID())
		return err
	})
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "inside a transaction")

	locked := make(chan struct{})
	release := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			cur, err := tx.Users().GetForUpdate(ctx, u.ID)
			if err != nil {
				return err
			}
			close(locked)
			<-release
			cur.Name = "Written under the lock"
			_, err = tx.Users().Update(ctx, cur)
			return err
		})
	}()
	<-locked
	secondSaw := make(chan string, 1)
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			cur, err := tx.Users().GetForUpdate(ctx, u.ID)
			if err != nil {
				return err
			}
			secondSaw <- cur.Name
			return nil
		})
	}()
	select {
	case name := <-secondSaw:
		close(release)
		require.FailNow(t, "GetForUpdate did not wait for the transaction holding the user", "it read %q", name)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-firstDone)
	require.NoError(t, <-secondDone)
	require.Equal(t, "Written under the lock", <-secondSaw, "the waiting GetForUpdate reads what the lock holder committed")
}

func userList(t *testing.T, db ports.Database) {
	store := db.Users()
	token := RandomToken("list-")
	base := Now().Add(-time.Hour)
	var all []ecolaura.User // oldest first
	for i := range 7 {
		u := NewUser()
		u.Email = fmt.Sprintf("%s-%d@example.org", token, i)
		u.Name = fmt.Sprintf("Member %d", i)
		u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = base.Add(time.Duration(i)*time.Minute), base, base
		if i%3 == 0 {
			u.Role = ecolaura.RoleStaff
		}
		if i%2 == 1 {
			at := base
			u.DisabledAt = &at
		}
		all = append(all, u)
	}
	// Two users created at the same time: the ID breaks the tie.
	all[4].CreatedAt = all[3].CreatedAt
	for _, u := range all {
		require.NoError(t, store.Create(ctx(t), u))
	}
	newest := slices.Clone(all)
	slices.SortFunc(newest, func(a, b ecolaura.User) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID), string(a.ID))
	})
	ids := func(us []ecolaura.User) []ecolaura.ID {
		out := make([]ecolaura.ID, len(us))
		for i, u := range us {
			out[i] = u.ID
		}
		return out
	}
	keep := func(f func(ecolaura.User) bool) []ecolaura.ID {
		out := []ecolaura.User{}
		for _, u := range newest {
			if f(u) {
				out = append(out, u)
			}
		}
		return ids(out)
	}
	yes, no := true, false
	for _, tc := range []struct {
		name string
		q    ports.UserQuery
		want []ecolaura.ID
	}{
		{"search email, any case", ports.UserQuery{Search: strings.ToUpper(token)}, ids(newest)},
		{"search one email", ports.UserQuery{Search: token + "-5@"}, keep(func(u ecolaura.User) bool { return u.ID == all[5].ID })},
		{"search name", ports.UserQuery{Search: token + "-", Role: ecolaura.RoleStaff}, keep(func(u ecolaura.User) bool { return u.Role == ecolaura.RoleStaff })},
		{"role customer", ports.UserQuery{Search: token, Role: ecolaura.RoleCustomer}, keep(func(u ecolaura.User) bool { return u.Role == ecolaura.RoleCustomer })},
		{"disabled", ports.UserQuery{Search: token, Disabled: &yes}, keep(func(u ecolaura.User) bool { return !u.Active() })},
		{"active", ports.UserQuery{Search: token, Disabled: &no}, keep(func(u ecolaura.User) bool { return u.Active() })},
		{"wildcards match literally", ports.UserQuery{Search: token + "%"}, []ecolaura.ID{}},
		{"underscore matches literally", ports.UserQuery{Search: strings.Replace(token, "-", "_", 1)}, []ecolaura.ID{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 100
			page, err := store.List(ctx(t), tc.q)
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(page.Items))
			require.False(t, page.HasMore)
		})
	}
	t.Run("name search", func(t *testing.T) {
		u := NewUser()
		u.Name = "Zébulon " + token
		require.NoError(t, store.Create(ctx(t), u))
		page, err := store.List(ctx(t), ports.UserQuery{Search: "zébulon " + token, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, []ecolaura.ID{u.ID}, ids(page.Items))
	})
	t.Run("cursor pages", func(t *testing.T) {
		var got []ecolaura.ID
		q := ports.UserQuery{Search: token + "-", Limit: 3}
		for range 10 {
			page, err := store.List(ctx(t), q)
			require.NoError(t, err)
			got = append(got, ids(page.Items)...)
			if !page.HasMore {
				break
			}
			last := page.Items[len(page.Items)-1]
			q.After = &ports.UserPosition{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		require.Equal(t, ids(newest), got, "cursor pages walk every account once, newest first")
	})
	t.Run("bad limit", func(t *testing.T) {
		_, err := store.List(ctx(t), ports.UserQuery{Limit: 0})
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
	})
}

// userLastStaff: staff accounts demote each other concurrently, each only
// when CountActiveStaff (inside its transaction) says another active one
// would remain. However they interleave, one active staff account remains
// and every demotion that saw a single one refused itself.
func userLastStaff(t *testing.T, db ports.Database) {
	// The count covers every staff account of the shared store, so the
	// check is relative: the demotions of this test must leave exactly as
	// many active staff as there were before it, plus one.
	before, err := db.Users().CountActiveStaff(ctx(t))
	require.NoError(t, err)
	const n = 6
	staff := make([]ecolaura.User, n)
	for i := range staff {
		staff[i] = NewUser()
		staff[i].Role = ecolaura.RoleStaff
		require.NoError(t, db.Users().Create(ctx(t), staff[i]))
	}
	var refused atomic.Int64
	errs := make([]error, n)
	raceWithin(t, n, func(i int) {
		errs[i] = db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			count, err := tx.Users().CountActiveStaff(ctx)
			if err != nil {
				return err
			}
			if count <= before+1 {
				refused.Add(1)
				return nil
			}
			u, err := tx.Users().GetForUpdate(ctx, staff[i].ID)
			if err != nil {
				return err
			}
			u.Role = ecolaura.RoleCustomer
			_, err = tx.Users().Update(ctx, u)
			return err
		})
	})
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	after, err := db.Users().CountActiveStaff(ctx(t))
	require.NoError(t, err)
	require.Equal(t, before+1, after, "exactly one of the racing staff accounts stays staff")
	require.Equal(t, int64(1), refused.Load(), "the one that stayed refused to demote itself after seeing the others go")
}

func userDelete(t *testing.T, db ports.Database) {
	u, other := mustCreateUser(t, db), mustCreateUser(t, db)
	p := mustCreateProduct(t, db)
	o := NewOrder(u.ID, Line(p, 1))
	o.IdempotencyKey = RandomToken("idem-")
	otherOrder := NewOrder(other.ID, Line(p, 2))
	require.NoError(t, db.Orders().Create(ctx(t), o))
	require.NoError(t, db.Orders().Create(ctx(t), otherOrder))
	rt := NewRefreshToken(u.ID, NewID())
	require.NoError(t, db.RefreshTokens().Create(ctx(t), rt))
	at := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
	require.NoError(t, db.AccountTokens().Create(ctx(t), at))

	require.NoError(t, db.Users().Delete(ctx(t), u.ID))
	_, err := db.Users().Get(ctx(t), u.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "the user is gone")
	_, err = db.Users().GetByEmail(ctx(t), u.Email)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "its email is free")
	_, err = db.RefreshTokens().GetByHash(ctx(t), rt.Hash)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "its refresh tokens are gone")
	_, err = db.AccountTokens().Get(ctx(t), at.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "its account tokens are gone")

	got, err := db.Orders().Get(ctx(t), o.ID)
	require.NoError(t, err, "its orders stay")
	want := o.Clone()
	want.UserID = ""
	requireOrder(t, want, got, "anonymised: only the user is cleared")
	_, err = db.Orders().GetByIdempotencyKey(ctx(t), u.ID, o.IdempotencyKey)
	require.ErrorIs(t, err, ecolaura.ErrNotFound, "no longer the user's")
	page, err := db.Orders().List(ctx(t), ports.OrderQuery{UserID: u.ID, Limit: 10, WithTotal: true})
	require.NoError(t, err)
	require.Empty(t, page.Items, "the deleted user has no orders")
	require.Zero(t, page.Total)
	got, err = db.Orders().Get(ctx(t), otherOrder.ID)
	require.NoError(t, err)
	requireOrder(t, otherOrder, got, "another user's order is untouched")

	require.ErrorIs(t, db.Orders().Create(ctx(t), NewOrder(u.ID, Line(p, 1))), ecolaura.ErrInvalid, "no order for a deleted user")
	require.ErrorIs(t, db.RefreshTokens().Create(ctx(t), NewRefreshToken(u.ID, NewID())), ecolaura.ErrInvalid, "no token for a deleted user")
	require.ErrorIs(t, db.AccountTokens().Create(ctx(t), NewAccountToken(u.ID, ecolaura.PurposeVerifyEmail)), ecolaura.ErrInvalid, "no account token for a deleted user")
	require.ErrorIs(t, db.Users().Delete(ctx(t), u.ID), ecolaura.ErrNotFound, "deleting twice")
	require.NoError(t, db.Users().Create(ctx(t), func() ecolaura.User { n := NewUser(); n.Email = u.Email; return n }()), "the email can be registered again")
}

// userDeleteRacingOrder: orders are created for a user while it is being
// deleted. Each either committed before the deletion (and is anonymised)
// or fails with ErrInvalid (its user does not exist); none is left with
// the deleted user's ID.
func userDeleteRacingOrder(t *testing.T, db ports.Database) {
	for round := range 5 {
		u := mustCreateUser(t, db)
		p := mustCreateProduct(t, db, func(p *ecolaura.Product) { p.Stock = 100 })
		const n = 8
		orderIDs := make([]ecolaura.ID, n)
		errs := make([]error, n+1)
		raceWithin(t, n+1, func(i int) {
			if i == n {
				errs[i] = db.Users().Delete(ctx(t), u.ID)
				return
			}
			o := NewOrder(u.ID, Line(p, 1))
			orderIDs[i] = o.ID
			errs[i] = db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
				if _, err := AdjustStock(ctx, tx, StockAdjustment{ProductID: p.ID, Delta: -1, At: Now()}); err != nil {
					return err
				}
				return tx.Orders().Create(ctx, o)
			})
		})
		require.NoError(t, errs[n], "round %d: the deletion", round)
		for i := range n {
			got, err := db.Orders().Get(ctx(t), orderIDs[i])
			if errs[i] != nil {
				require.ErrorIs(t, errs[i], ecolaura.ErrInvalid, "round %d: an order refused for a deleted user", round)
				require.ErrorIs(t, err, ecolaura.ErrNotFound, "round %d: a refused order is not stored", round)
				continue
			}
			require.NoError(t, err)
			require.Empty(t, got.UserID, "round %d: an order committed before the deletion is anonymised", round)
		}
	}
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
	t.Run("RevokeOtherFamilies", func(t *testing.T) {
		u, other := mustCreateUser(t, db), mustCreateUser(t, db)
		keep := NewID()
		a, b := NewRefreshToken(u.ID, keep), NewRefreshToken(u.ID, NewID())
		early := revokedAt(NewRefreshToken(u.ID, NewID()), Now().Add(-time.Hour))
		c := NewRefreshToken(other.ID, b.FamilyID)
		for _, tk := range []ecolaura.RefreshToken{a, b, early, c} {
			require.NoError(t, store.Create(ctx(t), tk))
		}
		at := Now()
		require.NoError(t, store.RevokeOtherFamilies(ctx(t), u.ID, keep, at))
		for _, tc := range []struct {
			name string
			tk   ecolaura.RefreshToken
			want *time.Time
		}{
			{"the kept family", a, nil}, {"another family", b, &at},
			{"already revoked keeps its time", early, early.RevokedAt},
			{"other user untouched", c, nil},
		} {
			got, err := store.GetByHash(ctx(t), tc.tk.Hash)
			require.NoError(t, err)
			want := tc.tk.Clone()
			want.RevokedAt = tc.want
			requireToken(t, want, got, tc.name)
		}
		require.NoError(t, store.RevokeOtherFamilies(ctx(t), u.ID, "", at))
		got, err := store.GetByHash(ctx(t), a.Hash)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt, "an empty family to keep keeps none")
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
