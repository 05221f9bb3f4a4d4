package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// passportTables is the passport part of a snapshot: each product's
// versions in number order. The slices are never written in place (an
// append clips first), so snapshots may share them.
type passportTables struct {
	versions map[ecolaura.ID][]ecolaura.PassportVersion
}

func newPassportTables() *passportTables {
	return &passportTables{versions: map[ecolaura.ID][]ecolaura.PassportVersion{}}
}

func (pt *passportTables) clone() *passportTables {
	m := make(map[ecolaura.ID][]ecolaura.PassportVersion, len(pt.versions)+1)
	for id, vs := range pt.versions {
		m[id] = vs
	}
	return &passportTables{versions: m}
}

// passportStore implements ports.PassportStore. It has no way to change or
// remove a version: append-only by construction.
type passportStore struct {
	db *Database
	tx *txn
}

var _ ports.PassportStore = passportStore{}

// Append stores a copy of v when v.Number follows the product's latest.
// Errors: *ValidationError (ErrInvalid); ErrConflict.
func (s passportStore) Append(ctx context.Context, v ecolaura.PassportVersion) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("memory: append passport version: %w", err)
	}
	v = v.Clone()
	return update(ctx, s.db, s.tx, func(t *txn) error {
		have := len(t.w.passports.versions[v.ProductID])
		if v.Number != have+1 {
			return fmt.Errorf("memory: append passport version %d of %s: the latest is %d: %w", v.Number, v.ProductID, have, ecolaura.ErrConflict)
		}
		tables := t.passports()
		tables.versions[v.ProductID] = append(slices.Clip(tables.versions[v.ProductID]), v)
		return nil
	})
}

// Latest returns the product's latest version. Errors: ErrNotFound.
func (s passportStore) Latest(ctx context.Context, productID ecolaura.ID) (ecolaura.PassportVersion, error) {
	var out ecolaura.PassportVersion
	err := view(s.db, s.tx, func(sn *snapshot) error {
		vs := sn.passports.versions[productID]
		if len(vs) == 0 {
			return fmt.Errorf("memory: passport of %s: %w", productID, ecolaura.ErrNotFound)
		}
		out = vs[len(vs)-1].Clone()
		return nil
	})
	return out, err
}

// Get returns one version. Errors: ErrNotFound.
func (s passportStore) Get(ctx context.Context, productID ecolaura.ID, number int) (ecolaura.PassportVersion, error) {
	var out ecolaura.PassportVersion
	err := view(s.db, s.tx, func(sn *snapshot) error {
		vs := sn.passports.versions[productID]
		if number < 1 || number > len(vs) {
			return fmt.Errorf("memory: passport version %d of %s: %w", number, productID, ecolaura.ErrNotFound)
		}
		out = vs[number-1].Clone()
		return nil
	})
	return out, err
}

// Versions describes the product's versions, newest first.
func (s passportStore) Versions(ctx context.Context, productID ecolaura.ID) ([]ecolaura.PassportVersionInfo, error) {
	out := []ecolaura.PassportVersionInfo{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		vs := sn.passports.versions[productID]
		for i := len(vs) - 1; i >= 0; i-- {
			out = append(out, vs[i].Info())
		}
		return nil
	})
	return out, err
}

// ProductByGTIN scans the latest versions for gtin. Errors: ErrNotFound.
func (s passportStore) ProductByGTIN(ctx context.Context, gtin ecolaura.GTIN) (ecolaura.ID, error) {
	var best *ecolaura.PassportVersion
	err := view(s.db, s.tx, func(sn *snapshot) error {
		for _, vs := range sn.passports.versions {
			v := &vs[len(vs)-1]
			if gtin == "" || v.Passport.GTIN != gtin {
				continue
			}
			if best == nil || v.PublishedAt.After(best.PublishedAt) || (v.PublishedAt.Equal(best.PublishedAt) && v.ProductID > best.ProductID) {
				best = v
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if best == nil {
		return "", fmt.Errorf("memory: product with GTIN %s: %w", gtin, ecolaura.ErrNotFound)
	}
	return best.ProductID, nil
}
