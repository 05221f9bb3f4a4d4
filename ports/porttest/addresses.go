package porttest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// NewAddress returns a valid saved address of the user with a fresh ID,
// created now with Version 1, unmarked. The result is not stored.
func NewAddress(userID ecolaura.ID) ecolaura.SavedAddress {
	now := Now()
	return ecolaura.SavedAddress{
		ID: NewID(), UserID: userID,
		Address: ecolaura.Address{Name: "Porttest Receiver", Company: "Porttest GmbH", Line1: "Invalidenstraße 1", Line2: "Hinterhaus",
			PostalCode: "10115", City: "Berlin", Region: "Berlin", Country: "DE", Phone: "+49301234567"},
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
}

// AddressStore checks the semantics of [ports.AddressStore]: create, get
// and list by owner (another user's entry is not found), ErrConflict on a
// taken ID, ErrInvalid for an unknown user or a broken rule, copies in and
// out, versioned updates, marks moved atomically (at most one default of
// each use, also under concurrent SetDefault calls), deletion clearing the
// marks, the address book going with its user, and rollback with the
// transaction.
func AddressStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, acceptJobs)
	require.NotNil(t, db, "factory returned nil")
	store := db.Addresses()

	t.Run("CreateGetList", func(t *testing.T) {
		u := mustCreateUser(t, db)
		a, b := NewAddress(u.ID), NewAddress(u.ID)
		b.Company, b.Line2, b.PostalCode, b.Region, b.Phone, b.Country, b.City = "", "", "", "", "", "IE", "Galway"
		b.DefaultShipping = true // ignored by Create
		require.NoError(t, store.Create(ctx(t), a))
		require.NoError(t, store.Create(ctx(t), b))
		got, err := store.Get(ctx(t), u.ID, a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		b.DefaultShipping = false
		list, err := store.List(ctx(t), u.ID)
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.SavedAddress{a, b}, list, "oldest first, created unmarked")
		n, err := store.Count(ctx(t), u.ID)
		require.NoError(t, err)
		assert.Equal(t, 2, n)

		other := mustCreateUser(t, db)
		_, err = store.Get(ctx(t), other.ID, a.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "another user's entry")
		list, err = store.List(ctx(t), other.ID)
		require.NoError(t, err)
		assert.Empty(t, list)
		require.NotNil(t, list, "an empty list, not nil")
		_, err = store.Get(ctx(t), u.ID, NewID())
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, err = store.Get(ctx(t), u.ID, "not-a-uuid")
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
	})
	t.Run("CreateRefused", func(t *testing.T) {
		u := mustCreateUser(t, db)
		a := NewAddress(u.ID)
		require.NoError(t, store.Create(ctx(t), a))
		dup := NewAddress(u.ID)
		dup.ID = a.ID
		require.ErrorIs(t, store.Create(ctx(t), dup), ecolaura.ErrConflict, "taken ID")
		require.ErrorIs(t, store.Create(ctx(t), NewAddress(NewID())), ecolaura.ErrInvalid, "unknown user")
		for name, edit := range map[string]func(*ecolaura.SavedAddress){
			"blank name":       func(a *ecolaura.SavedAddress) { a.Name = "" },
			"long line1":       func(a *ecolaura.SavedAddress) { a.Line1 = strings.Repeat("x", 201) },
			"control char":     func(a *ecolaura.SavedAddress) { a.City = "Ber\x01lin" },
			"unknown country":  func(a *ecolaura.SavedAddress) { a.Country = "XX" },
			"phone not E.164":  func(a *ecolaura.SavedAddress) { a.Phone = "0301234567" },
			"version 0":        func(a *ecolaura.SavedAddress) { a.Version = 0 },
			"user ID not UUID": func(a *ecolaura.SavedAddress) { a.UserID = "u" },
		} {
			bad := NewAddress(u.ID)
			edit(&bad)
			require.ErrorIs(t, store.Create(ctx(t), bad), ecolaura.ErrInvalid, name)
			_, err := store.Get(ctx(t), u.ID, bad.ID)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, "%s: nothing stored", name)
		}
	})
	t.Run("Update", func(t *testing.T) {
		u := mustCreateUser(t, db)
		a := NewAddress(u.ID)
		require.NoError(t, store.Create(ctx(t), a))
		require.NoError(t, store.SetDefault(ctx(t), u.ID, a.ID, ecolaura.UseBilling))
		ch := a
		ch.City, ch.PostalCode, ch.UpdatedAt = "Potsdam", "14467", Now()
		ch.CreatedAt = ch.CreatedAt.Add(-1e9) // not written
		got, err := store.Update(ctx(t), ch)
		require.NoError(t, err)
		want := ch
		want.CreatedAt, want.Version, want.DefaultBilling = a.CreatedAt, 2, true
		assert.Equal(t, want, got)
		read, err := store.Get(ctx(t), u.ID, a.ID)
		require.NoError(t, err)
		assert.Equal(t, want, read)

		_, err = store.Update(ctx(t), ch) // version 1 again
		require.ErrorIs(t, err, ecolaura.ErrConflict, "stale version")
		other := mustCreateUser(t, db)
		ch.UserID, ch.Version = other.ID, 2
		_, err = store.Update(ctx(t), ch)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "another user's entry")
		bad := want
		bad.Country = "ZZ"
		_, err = store.Update(ctx(t), bad)
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
	})
	t.Run("Defaults", func(t *testing.T) {
		u := mustCreateUser(t, db)
		a, b := NewAddress(u.ID), NewAddress(u.ID)
		require.NoError(t, store.Create(ctx(t), a))
		require.NoError(t, store.Create(ctx(t), b))
		marks := func() map[ecolaura.ID][2]bool {
			t.Helper()
			list, err := store.List(ctx(t), u.ID)
			require.NoError(t, err)
			out := map[ecolaura.ID][2]bool{}
			for _, x := range list {
				out[x.ID] = [2]bool{x.DefaultShipping, x.DefaultBilling}
			}
			return out
		}
		require.NoError(t, store.SetDefault(ctx(t), u.ID, a.ID, ecolaura.UseShipping))
		require.NoError(t, store.SetDefault(ctx(t), u.ID, a.ID, ecolaura.UseBilling))
		assert.Equal(t, map[ecolaura.ID][2]bool{a.ID: {true, true}, b.ID: {false, false}}, marks(), "one entry may be both")
		require.NoError(t, store.SetDefault(ctx(t), u.ID, b.ID, ecolaura.UseShipping))
		assert.Equal(t, map[ecolaura.ID][2]bool{a.ID: {false, true}, b.ID: {true, false}}, marks(), "the mark moves")
		require.NoError(t, store.SetDefault(ctx(t), u.ID, b.ID, ecolaura.UseShipping), "again: no change")
		got, err := store.Get(ctx(t), u.ID, b.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Version, "marking changes no version")

		other := mustCreateUser(t, db)
		require.ErrorIs(t, store.SetDefault(ctx(t), other.ID, a.ID, ecolaura.UseShipping), ecolaura.ErrNotFound, "another user's entry")
		require.ErrorIs(t, store.SetDefault(ctx(t), u.ID, NewID(), ecolaura.UseShipping), ecolaura.ErrNotFound)
		require.ErrorIs(t, store.SetDefault(ctx(t), u.ID, a.ID, "gift"), ecolaura.ErrInvalid)
		assert.Equal(t, map[ecolaura.ID][2]bool{a.ID: {false, true}, b.ID: {true, false}}, marks(), "refused calls change nothing")

		require.NoError(t, store.Delete(ctx(t), u.ID, a.ID))
		assert.Equal(t, map[ecolaura.ID][2]bool{b.ID: {true, false}}, marks(), "deleting an entry clears its marks")
		require.ErrorIs(t, store.Delete(ctx(t), u.ID, a.ID), ecolaura.ErrNotFound)
		require.ErrorIs(t, store.Delete(ctx(t), other.ID, b.ID), ecolaura.ErrNotFound, "another user's entry")
		c := NewAddress(u.ID)
		require.NoError(t, store.Create(ctx(t), c))
		require.NoError(t, store.SetDefault(ctx(t), u.ID, c.ID, ecolaura.UseBilling))
		assert.Equal(t, map[ecolaura.ID][2]bool{b.ID: {true, false}, c.ID: {false, true}}, marks(), "a cleared mark can be set again")
	})
	t.Run("ConcurrentSetDefault", func(t *testing.T) {
		u := mustCreateUser(t, db)
		ids := make([]ecolaura.ID, 8)
		for i := range ids {
			a := NewAddress(u.ID)
			require.NoError(t, store.Create(ctx(t), a))
			ids[i] = a.ID
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ids)*4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = store.SetDefault(ctx(t), u.ID, ids[i%len(ids)], ecolaura.UseShipping)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		list, err := store.List(ctx(t), u.ID)
		require.NoError(t, err)
		n := 0
		for _, a := range list {
			if a.DefaultShipping {
				n++
			}
		}
		assert.Equal(t, 1, n, "exactly one default shipping entry after concurrent marks")
	})
	t.Run("DeletedWithUser", func(t *testing.T) {
		u := mustCreateUser(t, db)
		a := NewAddress(u.ID)
		require.NoError(t, store.Create(ctx(t), a))
		require.NoError(t, store.SetDefault(ctx(t), u.ID, a.ID, ecolaura.UseShipping))
		keep := mustCreateUser(t, db)
		k := NewAddress(keep.ID)
		require.NoError(t, store.Create(ctx(t), k))
		require.NoError(t, db.Users().Delete(ctx(t), u.ID))
		list, err := store.List(ctx(t), u.ID)
		require.NoError(t, err)
		assert.Empty(t, list, "the address book goes with its user")
		_, err = store.Get(ctx(t), keep.ID, k.ID)
		require.NoError(t, err, "other books stay")
	})
	t.Run("Rollback", func(t *testing.T) {
		u := mustCreateUser(t, db)
		a := NewAddress(u.ID)
		boom := errors.New("porttest: roll back")
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if err := tx.Addresses().Create(ctx, a); err != nil {
				return err
			}
			if err := tx.Addresses().SetDefault(ctx, u.ID, a.ID, ecolaura.UseShipping); err != nil {
				return err
			}
			got, err := tx.Addresses().Get(ctx, u.ID, a.ID)
			if err != nil {
				return err
			}
			if !got.DefaultShipping {
				return errors.New("the transaction does not see its own mark")
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = store.Get(ctx(t), u.ID, a.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "rolled back")
	})
}
