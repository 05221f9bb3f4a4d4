package memory

import (
	"context"
	"fmt"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// addressRec is an immutable stored address-book entry (marks not kept
// here: see addressDefaults).
type addressRec struct{ a ecolaura.SavedAddress }

// addressDefaults is a user's marks: the IDs of the default shipping and
// billing entries ("" when none). One record per user makes "at most one
// default of each use" hold by construction, as the address_defaults table
// does in PostgreSQL.
type addressDefaults struct {
	userID   ecolaura.ID
	shipping ecolaura.ID
	billing  ecolaura.ID
}

// addressTables is the address part of a snapshot.
type addressTables struct {
	byID     *btree.BTreeG[*addressRec]
	byUser   *btree.BTreeG[*addressRec] // (user id, id)
	defaults *btree.BTreeG[*addressDefaults]
}

func newAddressTables() *addressTables {
	return &addressTables{
		byID: newTree(func(a, b *addressRec) bool { return a.a.ID < b.a.ID }),
		byUser: newTree(func(a, b *addressRec) bool {
			if a.a.UserID != b.a.UserID {
				return a.a.UserID < b.a.UserID
			}
			return a.a.ID < b.a.ID
		}),
		defaults: newTree(func(a, b *addressDefaults) bool { return a.userID < b.userID }),
	}
}

func (at *addressTables) clone() *addressTables {
	return &addressTables{byID: at.byID.Clone(), byUser: at.byUser.Clone(), defaults: at.defaults.Clone()}
}

func (at *addressTables) get(id ecolaura.ID) (*addressRec, bool) {
	return at.byID.Get(&addressRec{a: ecolaura.SavedAddress{ID: id}})
}

func (at *addressTables) marks(userID ecolaura.ID) addressDefaults {
	if d, ok := at.defaults.Get(&addressDefaults{userID: userID}); ok {
		return *d
	}
	return addressDefaults{userID: userID}
}

func (at *addressTables) setMarks(d addressDefaults) {
	if d.shipping == "" && d.billing == "" {
		at.defaults.Delete(&d)
		return
	}
	at.defaults.ReplaceOrInsert(&d)
}

func (at *addressTables) put(r *addressRec) {
	at.byID.ReplaceOrInsert(r)
	at.byUser.ReplaceOrInsert(r)
}

func (at *addressTables) remove(r *addressRec) {
	at.byID.Delete(r)
	at.byUser.Delete(r)
	d := at.marks(r.a.UserID)
	if d.shipping == r.a.ID {
		d.shipping = ""
	}
	if d.billing == r.a.ID {
		d.billing = ""
	}
	at.setMarks(d)
}

// removeUser deletes the user's address book.
func (at *addressTables) removeUser(userID ecolaura.ID) {
	var recs []*addressRec
	at.byUser.AscendGreaterOrEqual(&addressRec{a: ecolaura.SavedAddress{UserID: userID}}, func(r *addressRec) bool {
		if r.a.UserID != userID {
			return false
		}
		recs = append(recs, r)
		return true
	})
	for _, r := range recs {
		at.byID.Delete(r)
		at.byUser.Delete(r)
	}
	at.defaults.Delete(&addressDefaults{userID: userID})
}

// out returns a copy of the entry with its marks.
func (at *addressTables) out(r *addressRec) ecolaura.SavedAddress {
	a := r.a
	d := at.marks(a.UserID)
	a.DefaultShipping = d.shipping == a.ID
	a.DefaultBilling = d.billing == a.ID
	return a
}

func (t *txn) addresses() *addressTables { return own(t, &t.ownAddr, &t.w.addresses) }

// addressStore implements ports.AddressStore.
type addressStore struct {
	db *Database
	tx *txn
}

var _ ports.AddressStore = addressStore{}

// Create stores a copy of a, unmarked. Errors: ErrInvalid; ErrConflict.
func (s addressStore) Create(ctx context.Context, a ecolaura.SavedAddress) error {
	if err := ecolaura.ValidateStoredAddress(a); err != nil {
		return fmt.Errorf("memory: create address %s: %w", a.ID, err)
	}
	a.DefaultShipping, a.DefaultBilling = false, false
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.addresses.get(a.ID); ok {
			return fmt.Errorf("memory: create address %s: id taken: %w", a.ID, ecolaura.ErrConflict)
		}
		if _, ok := t.w.users.get(a.UserID); !ok {
			return fmt.Errorf("memory: create address %s: %w", a.ID, ecolaura.Invalid("user_id", "user %s does not exist", a.UserID))
		}
		t.addresses().put(&addressRec{a: a})
		return nil
	})
}

// Get returns the user's entry. Errors: ErrNotFound.
func (s addressStore) Get(_ context.Context, userID, id ecolaura.ID) (ecolaura.SavedAddress, error) {
	var out ecolaura.SavedAddress
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.addresses.get(id)
		if !ok || r.a.UserID != userID {
			return fmt.Errorf("memory: get address %s: %w", id, ecolaura.ErrNotFound)
		}
		out = sn.addresses.out(r)
		return nil
	})
	return out, err
}

// List returns the user's entries by ID.
func (s addressStore) List(_ context.Context, userID ecolaura.ID) ([]ecolaura.SavedAddress, error) {
	out := []ecolaura.SavedAddress{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		sn.addresses.byUser.AscendGreaterOrEqual(&addressRec{a: ecolaura.SavedAddress{UserID: userID}}, func(r *addressRec) bool {
			if r.a.UserID != userID {
				return false
			}
			out = append(out, sn.addresses.out(r))
			return true
		})
		return nil
	})
	return out, err
}

// Count returns how many entries the user has.
func (s addressStore) Count(ctx context.Context, userID ecolaura.ID) (int, error) {
	l, err := s.List(ctx, userID)
	return len(l), err
}

// Update replaces the entry's address under a version check.
func (s addressStore) Update(ctx context.Context, a ecolaura.SavedAddress) (ecolaura.SavedAddress, error) {
	if err := ecolaura.ValidateStoredAddress(a); err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("memory: update address %s: %w", a.ID, err)
	}
	var out ecolaura.SavedAddress
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.addresses.get(a.ID)
		if !ok || old.a.UserID != a.UserID {
			return fmt.Errorf("memory: update address %s: %w", a.ID, ecolaura.ErrNotFound)
		}
		if old.a.Version != a.Version {
			return fmt.Errorf("memory: update address %s: version %d, stored %d: %w", a.ID, a.Version, old.a.Version, ecolaura.ErrConflict)
		}
		n := old.a
		n.Address, n.UpdatedAt, n.Version = a.Address, a.UpdatedAt, old.a.Version+1
		rec := &addressRec{a: n}
		t.addresses().put(rec)
		out = t.w.addresses.out(rec)
		return nil
	})
	if err != nil {
		return ecolaura.SavedAddress{}, err
	}
	return out, nil
}

// Delete removes the entry and its marks. Errors: ErrNotFound.
func (s addressStore) Delete(ctx context.Context, userID, id ecolaura.ID) error {
	return update(ctx, s.db, s.tx, func(t *txn) error {
		r, ok := t.w.addresses.get(id)
		if !ok || r.a.UserID != userID {
			return fmt.Errorf("memory: delete address %s: %w", id, ecolaura.ErrNotFound)
		}
		t.addresses().remove(r)
		return nil
	})
}

// SetDefault moves the user's mark for use to the entry.
func (s addressStore) SetDefault(ctx context.Context, userID, id ecolaura.ID, use ecolaura.AddressUse) error {
	if !use.Valid() {
		return fmt.Errorf("memory: set default address: %w", ecolaura.Invalid("use", "must be shipping or billing"))
	}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		r, ok := t.w.addresses.get(id)
		if !ok || r.a.UserID != userID {
			return fmt.Errorf("memory: set default address %s: %w", id, ecolaura.ErrNotFound)
		}
		d := t.w.addresses.marks(userID)
		if use == ecolaura.UseShipping {
			d.shipping = id
		} else {
			d.billing = id
		}
		t.addresses().setMarks(d)
		return nil
	})
}
