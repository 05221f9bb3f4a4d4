package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/google/btree"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// shippingTables holds the shipping methods and tax rates of a snapshot
// (immutable values in copy-on-write trees).
type shippingTables struct {
	methods *btree.BTreeG[ecolaura.ShippingMethod] // by ID
	rates   *btree.BTreeG[ecolaura.TaxRate]        // by ID
	byClass *btree.BTreeG[ecolaura.TaxRate]        // by country, class
}

func newShippingTables() *shippingTables {
	return &shippingTables{
		methods: newTree(func(a, b ecolaura.ShippingMethod) bool { return a.ID < b.ID }),
		rates:   newTree(func(a, b ecolaura.TaxRate) bool { return a.ID < b.ID }),
		byClass: newTree(func(a, b ecolaura.TaxRate) bool {
			return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.Class, b.Class)) < 0
		}),
	}
}

func (st *shippingTables) clone() *shippingTables {
	return &shippingTables{methods: st.methods.Clone(), rates: st.rates.Clone(), byClass: st.byClass.Clone()}
}

func (t *txn) shipping() *shippingTables { return own(t, &t.ownShip, &t.w.shipping) }

// shippingMethodStore implements ports.ShippingMethodStore.
type shippingMethodStore struct {
	db *Database
	tx *txn
}

var _ ports.ShippingMethodStore = shippingMethodStore{}

// Create stores a copy of m. Errors: ErrInvalid; ErrConflict.
func (s shippingMethodStore) Create(ctx context.Context, m ecolaura.ShippingMethod) error {
	if err := ecolaura.ValidateStoredShippingMethod(m); err != nil {
		return fmt.Errorf("memory: create shipping method %s: %w", m.ID, err)
	}
	m = m.Clone()
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if t.w.shipping.methods.Has(ecolaura.ShippingMethod{ID: m.ID}) {
			return fmt.Errorf("memory: create shipping method %s: id taken: %w", m.ID, ecolaura.ErrConflict)
		}
		t.shipping().methods.ReplaceOrInsert(m)
		return nil
	})
}

// Get returns a copy of the method. Errors: ErrNotFound.
func (s shippingMethodStore) Get(_ context.Context, id ecolaura.ID) (ecolaura.ShippingMethod, error) {
	var out ecolaura.ShippingMethod
	err := view(s.db, s.tx, func(sn *snapshot) error {
		m, ok := sn.shipping.methods.Get(ecolaura.ShippingMethod{ID: id})
		if !ok {
			return fmt.Errorf("memory: get shipping method %s: %w", id, ecolaura.ErrNotFound)
		}
		out = m.Clone()
		return nil
	})
	return out, err
}

// List returns the matching methods by name, then ID.
func (s shippingMethodStore) List(_ context.Context, q ports.ShippingMethodQuery) ([]ecolaura.ShippingMethod, error) {
	out := []ecolaura.ShippingMethod{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		sn.shipping.methods.Ascend(func(m ecolaura.ShippingMethod) bool {
			if (!q.ActiveOnly || m.Active) && (q.Country == "" || m.Serves(q.Country)) {
				out = append(out, m.Clone())
			}
			return true
		})
		return nil
	})
	slices.SortFunc(out, func(a, b ecolaura.ShippingMethod) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

// Update replaces the method under a version check.
func (s shippingMethodStore) Update(ctx context.Context, m ecolaura.ShippingMethod) (ecolaura.ShippingMethod, error) {
	if err := ecolaura.ValidateStoredShippingMethod(m); err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("memory: update shipping method %s: %w", m.ID, err)
	}
	m = m.Clone()
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.shipping.methods.Get(ecolaura.ShippingMethod{ID: m.ID})
		if !ok {
			return fmt.Errorf("memory: update shipping method %s: %w", m.ID, ecolaura.ErrNotFound)
		}
		if old.Version != m.Version {
			return fmt.Errorf("memory: update shipping method %s: version %d, stored %d: %w", m.ID, m.Version, old.Version, ecolaura.ErrConflict)
		}
		m.CreatedAt, m.Version = old.CreatedAt, old.Version+1
		t.shipping().methods.ReplaceOrInsert(m)
		return nil
	})
	if err != nil {
		return ecolaura.ShippingMethod{}, err
	}
	return m.Clone(), nil
}

// Delete removes the method. Errors: ErrNotFound.
func (s shippingMethodStore) Delete(ctx context.Context, id ecolaura.ID) error {
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if !t.w.shipping.methods.Has(ecolaura.ShippingMethod{ID: id}) {
			return fmt.Errorf("memory: delete shipping method %s: %w", id, ecolaura.ErrNotFound)
		}
		t.shipping().methods.Delete(ecolaura.ShippingMethod{ID: id})
		return nil
	})
}

// taxRateStore implements ports.TaxRateStore.
type taxRateStore struct {
	db *Database
	tx *txn
}

var _ ports.TaxRateStore = taxRateStore{}

// Create stores r. Errors: ErrInvalid; ErrConflict (a *ConflictError on
// "class" for a taken country and class).
func (s taxRateStore) Create(ctx context.Context, r ecolaura.TaxRate) error {
	if err := ecolaura.ValidateStoredTaxRate(r); err != nil {
		return fmt.Errorf("memory: create tax rate %s: %w", r.ID, err)
	}
	return update(ctx, s.db, s.tx, func(t *txn) error {
		if t.w.shipping.rates.Has(ecolaura.TaxRate{ID: r.ID}) {
			return fmt.Errorf("memory: create tax rate %s: id taken: %w", r.ID, ecolaura.ErrConflict)
		}
		if t.w.shipping.byClass.Has(r) {
			return fmt.Errorf("memory: create tax rate %s: %w", r.ID, &ecolaura.ConflictError{Field: "class"})
		}
		st := t.shipping()
		st.rates.ReplaceOrInsert(r)
		st.byClass.ReplaceOrInsert(r)
		return nil
	})
}

// Get returns the rate. Errors: ErrNotFound.
func (s taxRateStore) Get(_ context.Context, id ecolaura.ID) (ecolaura.TaxRate, error) {
	var out ecolaura.TaxRate
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.shipping.rates.Get(ecolaura.TaxRate{ID: id})
		if !ok {
			return fmt.Errorf("memory: get tax rate %s: %w", id, ecolaura.ErrNotFound)
		}
		out = r
		return nil
	})
	return out, err
}

// List returns the rates of country ("" for all), by country then class.
func (s taxRateStore) List(_ context.Context, country string) ([]ecolaura.TaxRate, error) {
	out := []ecolaura.TaxRate{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		sn.shipping.byClass.AscendGreaterOrEqual(ecolaura.TaxRate{Country: country}, func(r ecolaura.TaxRate) bool {
			if country != "" && r.Country != country {
				return false
			}
			out = append(out, r)
			return true
		})
		return nil
	})
	return out, err
}

// Update replaces the rate's value under a version check.
func (s taxRateStore) Update(ctx context.Context, r ecolaura.TaxRate) (ecolaura.TaxRate, error) {
	if err := ecolaura.ValidateStoredTaxRate(r); err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("memory: update tax rate %s: %w", r.ID, err)
	}
	var out ecolaura.TaxRate
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		old, ok := t.w.shipping.rates.Get(ecolaura.TaxRate{ID: r.ID})
		if !ok {
			return fmt.Errorf("memory: update tax rate %s: %w", r.ID, ecolaura.ErrNotFound)
		}
		if old.Version != r.Version {
			return fmt.Errorf("memory: update tax rate %s: version %d, stored %d: %w", r.ID, r.Version, old.Version, ecolaura.ErrConflict)
		}
		out = old
		out.Rate, out.UpdatedAt, out.Version = r.Rate, r.UpdatedAt, old.Version+1
		if err := out.Validate(); err != nil { // the stored class with the new rate
			return fmt.Errorf("memory: update tax rate %s: %w", r.ID, err)
		}
		st := t.shipping()
		st.rates.ReplaceOrInsert(out)
		st.byClass.ReplaceOrInsert(out)
		return nil
	})
	if err != nil {
		return ecolaura.TaxRate{}, err
	}
	return out, nil
}

// Delete removes the rate. Errors: ErrNotFound.
func (s taxRateStore) Delete(ctx context.Context, id ecolaura.ID) error {
	return update(ctx, s.db, s.tx, func(t *txn) error {
		r, ok := t.w.shipping.rates.Get(ecolaura.TaxRate{ID: id})
		if !ok {
			return fmt.Errorf("memory: delete tax rate %s: %w", id, ecolaura.ErrNotFound)
		}
		st := t.shipping()
		st.rates.Delete(r)
		st.byClass.Delete(r)
		return nil
	})
}
