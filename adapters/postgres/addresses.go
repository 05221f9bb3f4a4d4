package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

type addressRow struct {
	bun.BaseModel `bun:"table:addresses,alias:a"`

	ID         string    `bun:"id,pk"`
	UserID     string    `bun:"user_id"`
	Name       string    `bun:"name"`
	Company    string    `bun:"company"`
	Line1      string    `bun:"line1"`
	Line2      string    `bun:"line2"`
	PostalCode string    `bun:"postal_code"`
	City       string    `bun:"city"`
	Region     string    `bun:"region"`
	Country    string    `bun:"country"`
	Phone      string    `bun:"phone"`
	CreatedAt  time.Time `bun:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at"`
	Version    int       `bun:"version"`

	DefaultShipping bool `bun:"default_shipping,scanonly"`
	DefaultBilling  bool `bun:"default_billing,scanonly"`
}

func toAddressRow(a ecolaura.SavedAddress) addressRow {
	return addressRow{ID: string(a.ID), UserID: string(a.UserID), Name: a.Name, Company: a.Company, Line1: a.Line1, Line2: a.Line2,
		PostalCode: a.PostalCode, City: a.City, Region: a.Region, Country: a.Country, Phone: a.Phone,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
}

func (r *addressRow) address() ecolaura.SavedAddress {
	return ecolaura.SavedAddress{ID: ecolaura.ID(r.ID), UserID: ecolaura.ID(r.UserID),
		Address: ecolaura.Address{Name: r.Name, Company: r.Company, Line1: r.Line1, Line2: r.Line2, PostalCode: r.PostalCode,
			City: r.City, Region: r.Region, Country: r.Country, Phone: r.Phone},
		DefaultShipping: r.DefaultShipping, DefaultBilling: r.DefaultBilling,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
}

// addressStore implements ports.AddressStore over the addresses table and
// the address_defaults table (one row of marks per user).
type addressStore struct {
	db bun.IDB
}

var _ ports.AddressStore = (*addressStore)(nil)

// selectAddresses selects entries with their marks.
func (s *addressStore) selectAddresses() *bun.SelectQuery {
	return s.db.NewSelect().Model((*addressRow)(nil)).ColumnExpr("a.*").
		ColumnExpr("coalesce(d.shipping_id = a.id, false) AS default_shipping").
		ColumnExpr("coalesce(d.billing_id = a.id, false) AS default_billing").
		Join("LEFT JOIN address_defaults AS d ON d.user_id = a.user_id")
}

// Create inserts the entry, unmarked. Errors: ErrInvalid; ErrConflict;
// ErrUnavailable.
func (s *addressStore) Create(ctx context.Context, a ecolaura.SavedAddress) error {
	if err := ecolaura.ValidateStoredAddress(a); err != nil {
		return fmt.Errorf("create address %s: %w", a.ID, err)
	}
	r := toAddressRow(a)
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		var ve *ecolaura.ValidationError
		if err = wrap(err, "create address %s", a.ID); errors.As(err, &ve) {
			return fmt.Errorf("create address %s: %w", a.ID, ecolaura.Invalid("user_id", "user %s does not exist", a.UserID))
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create address %s: id exists: %w", a.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Get returns the user's entry. Errors: ErrNotFound; ErrUnavailable.
func (s *addressStore) Get(ctx context.Context, userID, id ecolaura.ID) (ecolaura.SavedAddress, error) {
	if !validID(id) || !validID(userID) {
		return ecolaura.SavedAddress{}, notFound("address", id)
	}
	var r addressRow
	err := s.selectAddresses().Where("a.id = ? AND a.user_id = ?", string(id), string(userID)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.SavedAddress{}, notFound("address", id)
	}
	if err != nil {
		return ecolaura.SavedAddress{}, wrap(err, "get address %s", id)
	}
	return r.address(), nil
}

// List returns the user's entries by ID. Errors: ErrUnavailable.
func (s *addressStore) List(ctx context.Context, userID ecolaura.ID) ([]ecolaura.SavedAddress, error) {
	out := []ecolaura.SavedAddress{}
	if !validID(userID) {
		return out, nil
	}
	var rows []addressRow
	if err := s.selectAddresses().Where("a.user_id = ?", string(userID)).OrderExpr("a.id").Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list addresses of %s", userID)
	}
	for i := range rows {
		out = append(out, rows[i].address())
	}
	return out, nil
}

// Count returns how many entries the user has. Errors: ErrUnavailable.
func (s *addressStore) Count(ctx context.Context, userID ecolaura.ID) (int, error) {
	if !validID(userID) {
		return 0, nil
	}
	n, err := s.db.NewSelect().Model((*addressRow)(nil)).Where("user_id = ?", string(userID)).Count(ctx)
	if err != nil {
		return 0, wrap(err, "count addresses of %s", userID)
	}
	return int(n), nil
}

// Update replaces the entry's address under a version check. Errors:
// ErrNotFound; ErrConflict; ErrInvalid; ErrUnavailable.
func (s *addressStore) Update(ctx context.Context, a ecolaura.SavedAddress) (ecolaura.SavedAddress, error) {
	if err := ecolaura.ValidateStoredAddress(a); err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("update address %s: %w", a.ID, err)
	}
	r := toAddressRow(a)
	res, err := s.db.NewUpdate().Model(&r).
		Column("name", "company", "line1", "line2", "postal_code", "city", "region", "country", "phone", "updated_at").
		Set("version = version + 1").
		Where("id = ? AND user_id = ? AND version = ?", r.ID, r.UserID, r.Version).Exec(ctx)
	if err != nil {
		return ecolaura.SavedAddress{}, wrap(err, "update address %s", a.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		cur, err := s.Get(ctx, a.UserID, a.ID)
		if err != nil {
			return ecolaura.SavedAddress{}, fmt.Errorf("update address: %w", err)
		}
		return ecolaura.SavedAddress{}, fmt.Errorf("update address %s: version %d, stored %d: %w", a.ID, a.Version, cur.Version, ecolaura.ErrConflict)
	}
	return s.Get(ctx, a.UserID, a.ID)
}

// Delete removes the entry (the foreign keys clear its marks). Errors:
// ErrNotFound; ErrUnavailable.
func (s *addressStore) Delete(ctx context.Context, userID, id ecolaura.ID) error {
	if !validID(id) || !validID(userID) {
		return notFound("address", id)
	}
	res, err := s.db.NewDelete().Model((*addressRow)(nil)).Where("id = ? AND user_id = ?", string(id), string(userID)).Exec(ctx)
	if err != nil {
		return wrap(err, "delete address %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("address", id)
	}
	return nil
}

// SetDefault moves the user's mark in one statement: an upsert of the
// user's row of marks that inserts nothing unless the entry is the user's.
// Errors: ErrNotFound; ErrInvalid; ErrUnavailable.
func (s *addressStore) SetDefault(ctx context.Context, userID, id ecolaura.ID, use ecolaura.AddressUse) error {
	var col string
	switch use {
	case ecolaura.UseShipping:
		col = "shipping_id"
	case ecolaura.UseBilling:
		col = "billing_id"
	default:
		return fmt.Errorf("set default address: %w", ecolaura.Invalid("use", "must be shipping or billing"))
	}
	if !validID(id) || !validID(userID) {
		return notFound("address", id)
	}
	res, err := s.db.NewRaw(`INSERT INTO address_defaults (user_id, ?0)
		SELECT a.user_id, a.id FROM addresses AS a WHERE a.id = ?1 AND a.user_id = ?2
		ON CONFLICT (user_id) DO UPDATE SET ?0 = EXCLUDED.?0`, bun.Ident(col), string(id), string(userID)).Exec(ctx)
	if err != nil {
		return wrap(err, "set default address %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("address", id)
	}
	return nil
}
