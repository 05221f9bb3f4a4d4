package porttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// AccountTokenStore checks the semantics of [ports.AccountTokenStore]:
// create and read by ID and hash, ErrConflict on a taken ID or hash,
// ErrInvalid for an unknown user, copies in and out, Latest by creation
// time then ID, Use as a compare-and-set with one winner among concurrent
// callers (and none on a revoked token), Revoke touching exactly the live
// tokens of the user and purpose but the one kept, and rollback with the
// transaction.
func AccountTokenStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.AccountTokens()

	t.Run("CreateGet", func(t *testing.T) {
		u := mustCreateUser(t, db)
		for _, p := range []ecolaura.TokenPurpose{ecolaura.PurposePasswordReset, ecolaura.PurposeVerifyEmail, ecolaura.PurposeEmailChange} {
			tk := NewAccountToken(u.ID, p)
			require.NoError(t, store.Create(ctx(t), tk))
			got, err := store.Get(ctx(t), tk.ID)
			require.NoError(t, err)
			requireAccountToken(t, tk, got)
			got, err = store.GetByHash(ctx(t), tk.Hash)
			require.NoError(t, err)
			requireAccountToken(t, tk, got)
		}
		_, err := store.Get(ctx(t), NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, err = store.GetByHash(ctx(t), randomHex(32))
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("CreateConflict", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		require.NoError(t, store.Create(ctx(t), tk))
		sameID := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		sameID.ID = tk.ID
		require.ErrorIs(t, store.Create(ctx(t), sameID), ecolaura.ErrConflict, "taken ID")
		sameHash := NewAccountToken(u.ID, ecolaura.PurposeVerifyEmail)
		sameHash.Hash = tk.Hash
		require.ErrorIs(t, store.Create(ctx(t), sameHash), ecolaura.ErrConflict, "taken hash")
		_, err := store.Get(ctx(t), sameHash.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a conflicting Create stores nothing")
		require.ErrorIs(t, store.Create(ctx(t), NewAccountToken(NewID(), ecolaura.PurposeVerifyEmail)), ecolaura.ErrInvalid, "unknown user")
	})
	t.Run("Copies", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewAccountToken(u.ID, ecolaura.PurposeVerifyEmail)
		require.NoError(t, store.Create(ctx(t), tk))
		ok, err := store.Use(ctx(t), tk.ID, Now())
		require.NoError(t, err)
		require.True(t, ok)
		got, err := store.Get(ctx(t), tk.ID)
		require.NoError(t, err)
		want := got.Clone()
		*got.UsedAt = time.Time{}
		again, err := store.Get(ctx(t), tk.ID)
		require.NoError(t, err)
		requireAccountToken(t, want, again, "mutating a returned token changed the store")
	})
	t.Run("Latest", func(t *testing.T) {
		u := mustCreateUser(t, db)
		_, err := store.Latest(ctx(t), u.ID, ecolaura.PurposePasswordReset)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "no token yet")
		base := Now().Add(-time.Minute)
		old := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		old.CreatedAt = base
		newer := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		newer.CreatedAt = base.Add(time.Second)
		other := NewAccountToken(u.ID, ecolaura.PurposeVerifyEmail)
		other.CreatedAt = base.Add(time.Hour)
		// Created out of order: Latest goes by CreatedAt, not insertion.
		for _, tk := range []ecolaura.AccountToken{newer, old, other} {
			require.NoError(t, store.Create(ctx(t), tk))
		}
		got, err := store.Latest(ctx(t), u.ID, ecolaura.PurposePasswordReset)
		require.NoError(t, err)
		requireAccountToken(t, newer, got, "the newest of the purpose")
		_, err = store.Use(ctx(t), newer.ID, Now())
		require.NoError(t, err)
		got, err = store.Latest(ctx(t), u.ID, ecolaura.PurposePasswordReset)
		require.NoError(t, err)
		require.Equal(t, newer.ID, got.ID, "used or not")

		tie := NewAccountToken(u.ID, ecolaura.PurposeEmailChange)
		tie2 := NewAccountToken(u.ID, ecolaura.PurposeEmailChange)
		tie2.CreatedAt = tie.CreatedAt
		require.NoError(t, store.Create(ctx(t), tie))
		require.NoError(t, store.Create(ctx(t), tie2))
		got, err = store.Latest(ctx(t), u.ID, ecolaura.PurposeEmailChange)
		require.NoError(t, err)
		require.Equal(t, max(tie.ID, tie2.ID), got.ID, "the same time: the greater ID")
	})
	t.Run("Use", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		require.NoError(t, store.Create(ctx(t), tk))
		at := tk.CreatedAt.Add(time.Minute)
		ok, err := store.Use(ctx(t), tk.ID, at)
		require.NoError(t, err)
		require.True(t, ok, "first use")
		ok, err = store.Use(ctx(t), tk.ID, at.Add(time.Second))
		require.NoError(t, err)
		require.False(t, ok, "second use loses")
		got, err := store.Get(ctx(t), tk.ID)
		require.NoError(t, err)
		want := tk.Clone()
		want.UsedAt = &at
		requireAccountToken(t, want, got, "UsedAt is the winner's time")
		_, err = store.Use(ctx(t), NewID(), at)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("UseConcurrent", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		require.NoError(t, store.Create(ctx(t), tk))
		const n = 30
		wins := make([]bool, n)
		errs := make([]error, n)
		race(n, func(i int) { wins[i], errs[i] = store.Use(ctx(t), tk.ID, Now()) })
		won := 0
		for i := range n {
			require.NoError(t, errs[i])
			if wins[i] {
				won++
			}
		}
		require.Equal(t, 1, won, "a token is used once")
	})
	t.Run("Revoke", func(t *testing.T) {
		u, other := mustCreateUser(t, db), mustCreateUser(t, db)
		keep := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		a := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		used := NewAccountToken(u.ID, ecolaura.PurposePasswordReset)
		otherPurpose := NewAccountToken(u.ID, ecolaura.PurposeVerifyEmail)
		otherUser := NewAccountToken(other.ID, ecolaura.PurposePasswordReset)
		for _, tk := range []ecolaura.AccountToken{keep, a, used, otherPurpose, otherUser} {
			require.NoError(t, store.Create(ctx(t), tk))
		}
		usedAt := Now()
		ok, err := store.Use(ctx(t), used.ID, usedAt)
		require.NoError(t, err)
		require.True(t, ok)
		at := Now().Add(time.Second)
		n, err := store.Revoke(ctx(t), u.ID, ecolaura.PurposePasswordReset, keep.ID, at)
		require.NoError(t, err)
		require.Equal(t, 1, n, "one live token revoked")
		for _, tc := range []struct {
			name    string
			tk      ecolaura.AccountToken
			revoked bool
		}{
			{"kept", keep, false}, {"live", a, true}, {"used stays used", used, false},
			{"other purpose", otherPurpose, false}, {"other user", otherUser, false},
		} {
			got, err := store.Get(ctx(t), tc.tk.ID)
			require.NoError(t, err)
			if tc.revoked {
				require.NotNil(t, got.RevokedAt, tc.name)
				require.True(t, got.RevokedAt.Equal(at), tc.name)
			} else {
				require.Nil(t, got.RevokedAt, tc.name)
			}
		}
		ok, err = store.Use(ctx(t), a.ID, Now())
		require.NoError(t, err)
		require.False(t, ok, "a revoked token cannot be used")
		n, err = store.Revoke(ctx(t), u.ID, ecolaura.PurposePasswordReset, "", at)
		require.NoError(t, err)
		require.Equal(t, 1, n, "an empty keepID revokes every live token")
		got, err := store.Get(ctx(t), keep.ID)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt)
	})
	t.Run("RolledBack", func(t *testing.T) {
		u := mustCreateUser(t, db)
		tk := NewAccountToken(u.ID, ecolaura.PurposeVerifyEmail)
		boom := context.Canceled
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.AccountTokens().Create(ctx, tk); err != nil {
				return err
			}
			if _, err := tx.AccountTokens().Get(ctx, tk.ID); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = store.Get(ctx(t), tk.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "a rolled-back token is not stored")
	})
}

func requireAccountToken(t *testing.T, want, got ecolaura.AccountToken, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, canonAccountToken(want), canonAccountToken(got), msgAndArgs...)
}

// AuditLog checks the semantics of [ports.AuditLog]: appended events read
// back as written (copies in and out), invalid events and taken IDs are
// refused, events of a rolled-back transaction are not kept, and List
// filters by actor, entity, entity ID, action and time, newest first, with
// cursor pages.
func AuditLog(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	log := db.Audit()
	strp := func(s string) *string { return &s }

	t.Run("AppendList", func(t *testing.T) {
		e := NewAuditEvent(NewID(), ecolaura.EntityProduct, NewID())
		e.Changes = []ecolaura.AuditChange{
			{Field: "price", From: strp("9.99 EUR"), To: strp("12.50 EUR")},
			{Field: "name", To: strp("Created")},
			{Field: "stock", From: strp("3")},
			{Field: "description", From: strp(""), To: strp("ünïcödé \"quoted\"")},
		}
		require.NoError(t, log.Append(ctx(t), e))
		page, err := log.List(ctx(t), ports.AuditQuery{EntityID: e.EntityID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		requireAuditEvent(t, e, page.Items[0])

		*page.Items[0].Changes[0].To = "mutated"
		page, err = log.List(ctx(t), ports.AuditQuery{EntityID: e.EntityID, Limit: 10})
		require.NoError(t, err)
		requireAuditEvent(t, e, page.Items[0], "mutating a listed event changed the log")

		system := NewAuditEvent("", ecolaura.EntityOrder, NewID())
		require.NoError(t, log.Append(ctx(t), system))
		page, err = log.List(ctx(t), ports.AuditQuery{EntityID: system.EntityID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		requireAuditEvent(t, system, page.Items[0], "an event of the System principal (no actor)")
	})
	t.Run("Refused", func(t *testing.T) {
		e := NewAuditEvent(NewID(), ecolaura.EntityUser, NewID())
		require.NoError(t, log.Append(ctx(t), e))
		again := NewAuditEvent(NewID(), ecolaura.EntityUser, NewID())
		again.ID = e.ID
		require.ErrorIs(t, log.Append(ctx(t), again), ecolaura.ErrConflict, "taken ID")
		bad := NewAuditEvent("not-a-uuid", ecolaura.EntityUser, NewID())
		require.ErrorIs(t, log.Append(ctx(t), bad), ecolaura.ErrInvalid, "invalid event")
		page, err := log.List(ctx(t), ports.AuditQuery{EntityID: again.EntityID, Limit: 10})
		require.NoError(t, err)
		require.Empty(t, page.Items, "a refused event is not stored")
	})
	t.Run("RolledBack", func(t *testing.T) {
		e := NewAuditEvent(NewID(), ecolaura.EntityProduct, NewID())
		boom := context.Canceled
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Audit().Append(ctx, e); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		page, err := log.List(ctx(t), ports.AuditQuery{EntityID: e.EntityID, Limit: 10})
		require.NoError(t, err)
		require.Empty(t, page.Items, "the event of a rolled-back write is not kept")
	})
	t.Run("Filters", func(t *testing.T) {
		actor, otherActor := NewID(), NewID()
		entityID := NewID()
		base := Now().Add(-time.Hour)
		var events []ecolaura.AuditEvent // oldest first
		for i := range 8 {
			e := NewAuditEvent(actor, ecolaura.EntityProduct, entityID)
			e.At = base.Add(time.Duration(i) * time.Minute)
			if i%2 == 1 {
				e.ActorID = otherActor
			}
			if i%3 == 0 {
				e.Action = ecolaura.ActionDelete
			}
			if i == 7 {
				e.Entity = ecolaura.EntityOrder
			}
			events = append(events, e)
		}
		events[5].At = events[4].At // a tie, broken by ID
		for _, e := range events {
			require.NoError(t, log.Append(ctx(t), e))
		}
		newest := func(keep func(ecolaura.AuditEvent) bool) []ecolaura.ID {
			var sel []ecolaura.AuditEvent
			for _, e := range events {
				if keep(e) {
					sel = append(sel, e)
				}
			}
			sortNewestFirst(sel)
			out := make([]ecolaura.ID, len(sel))
			for i, e := range sel {
				out[i] = e.ID
			}
			return out
		}
		all := func(ecolaura.AuditEvent) bool { return true }
		for _, tc := range []struct {
			name string
			q    ports.AuditQuery
			want []ecolaura.ID
		}{
			{"entity id", ports.AuditQuery{EntityID: entityID}, newest(all)},
			{"actor", ports.AuditQuery{EntityID: entityID, ActorID: otherActor}, newest(func(e ecolaura.AuditEvent) bool { return e.ActorID == otherActor })},
			{"actor only", ports.AuditQuery{ActorID: actor}, newest(func(e ecolaura.AuditEvent) bool { return e.ActorID == actor })},
			{"entity", ports.AuditQuery{EntityID: entityID, Entity: ecolaura.EntityProduct}, newest(func(e ecolaura.AuditEvent) bool { return e.Entity == ecolaura.EntityProduct })},
			{"action", ports.AuditQuery{EntityID: entityID, Action: ecolaura.ActionDelete}, newest(func(e ecolaura.AuditEvent) bool { return e.Action == ecolaura.ActionDelete })},
			{"since (inclusive)", ports.AuditQuery{EntityID: entityID, Since: events[3].At}, newest(func(e ecolaura.AuditEvent) bool { return !e.At.Before(events[3].At) })},
			{"until (exclusive)", ports.AuditQuery{EntityID: entityID, Until: events[3].At}, newest(func(e ecolaura.AuditEvent) bool { return e.At.Before(events[3].At) })},
			{"window", ports.AuditQuery{EntityID: entityID, Since: events[2].At, Until: events[6].At}, newest(func(e ecolaura.AuditEvent) bool {
				return !e.At.Before(events[2].At) && e.At.Before(events[6].At)
			})},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.q.Limit = 100
				page, err := log.List(ctx(t), tc.q)
				require.NoError(t, err)
				got := make([]ecolaura.ID, len(page.Items))
				for i, e := range page.Items {
					got[i] = e.ID
				}
				require.Equal(t, tc.want, got)
			})
		}
		t.Run("cursor pages", func(t *testing.T) {
			var got []ecolaura.ID
			q := ports.AuditQuery{EntityID: entityID, Limit: 3}
			for range 10 {
				page, err := log.List(ctx(t), q)
				require.NoError(t, err)
				for _, e := range page.Items {
					got = append(got, e.ID)
				}
				if !page.HasMore {
					break
				}
				last := page.Items[len(page.Items)-1]
				q.After = &ports.AuditPosition{At: last.At, ID: last.ID}
			}
			require.Equal(t, newest(all), got)
		})
	})
}

// NewAuditEvent returns a valid event of actor (empty: the System
// principal) updating entity id now, with one change. The result is not
// stored.
func NewAuditEvent(actor ecolaura.ID, entity ecolaura.AuditEntity, id ecolaura.ID) ecolaura.AuditEvent {
	from, to := "before", "after"
	return ecolaura.AuditEvent{
		ID: NewID(), ActorID: actor, At: Now(), Action: ecolaura.ActionUpdate, Entity: entity, EntityID: id,
		Changes: []ecolaura.AuditChange{{Field: "name", From: &from, To: &to}},
	}
}

func requireAuditEvent(t *testing.T, want, got ecolaura.AuditEvent, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, canonAuditEvent(want), canonAuditEvent(got), msgAndArgs...)
}

func sortNewestFirst(es []ecolaura.AuditEvent) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0; j-- {
			a, b := es[j-1], es[j]
			if a.At.After(b.At) || (a.At.Equal(b.At) && a.ID > b.ID) {
				break
			}
			es[j-1], es[j] = b, a
		}
	}
}
