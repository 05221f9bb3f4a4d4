package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

type passportRow struct {
	bun.BaseModel `bun:"table:passport_versions"`

	ProductID   string          `bun:"product_id,pk"`
	Number      int             `bun:"number,pk"`
	PublishedAt time.Time       `bun:"published_at"`
	PublishedBy *string         `bun:"published_by"`
	Passport    json.RawMessage `bun:"passport,type:jsonb"`
}

func (r *passportRow) version() (ecolaura.PassportVersion, error) {
	v := ecolaura.PassportVersion{ProductID: ecolaura.ID(r.ProductID), Number: r.Number, PublishedAt: r.PublishedAt.UTC()}
	if r.PublishedBy != nil {
		v.PublishedBy = ecolaura.ID(*r.PublishedBy)
	}
	if err := json.Unmarshal(r.Passport, &v.Passport); err != nil {
		return ecolaura.PassportVersion{}, fmt.Errorf("passport version %d of %s: decode: %w", r.Number, r.ProductID, err)
	}
	v.Passport.Normalize()
	return v, nil
}

// passportStore implements ports.PassportStore over passport_versions,
// which the schema makes append-only (its triggers refuse UPDATE, DELETE
// and TRUNCATE); the passport is stored as JSON in its API shape.
type passportStore struct {
	db bun.IDB
}

var _ ports.PassportStore = (*passportStore)(nil)

// Append inserts v when its number follows the product's latest, in one
// guarded statement: the INSERT ... SELECT adds no row when the latest
// number is not v.Number-1, and the primary key (product_id, number) makes
// a concurrent transaction that appended the same number first win (this
// one waits for it and then fails with a unique violation). Errors:
// ErrInvalid; ErrConflict; ErrUnavailable.
func (s *passportStore) Append(ctx context.Context, v ecolaura.PassportVersion) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("append passport version: %w", err)
	}
	doc, err := json.Marshal(v.Passport)
	if err != nil {
		return fmt.Errorf("append passport version %d of %s: encode: %w", v.Number, v.ProductID, err)
	}
	var by *string
	if v.PublishedBy != "" {
		b := string(v.PublishedBy)
		by = &b
	}
	res, err := s.db.NewRaw(`INSERT INTO passport_versions (product_id, number, published_at, published_by, passport)
SELECT ?, ?, ?, ?, ?
WHERE (SELECT coalesce(max(number), 0) FROM passport_versions WHERE product_id = ?) = ?`,
		string(v.ProductID), v.Number, v.PublishedAt, by, string(doc), string(v.ProductID), v.Number-1).Exec(ctx)
	if err != nil {
		return wrap(err, "append passport version %d of %s", v.Number, v.ProductID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("append passport version %d of %s: not the next number: %w", v.Number, v.ProductID, ecolaura.ErrConflict)
	}
	return nil
}

// Latest returns the product's latest version. Errors: ErrNotFound; ErrUnavailable.
func (s *passportStore) Latest(ctx context.Context, productID ecolaura.ID) (ecolaura.PassportVersion, error) {
	if !validID(productID) {
		return ecolaura.PassportVersion{}, fmt.Errorf("passport of %s: %w", productID, ecolaura.ErrNotFound)
	}
	var r passportRow
	err := s.db.NewSelect().Model(&r).Where("product_id = ?", string(productID)).OrderExpr("number DESC").Limit(1).Scan(ctx)
	return s.one(r, err, "passport of %s", productID)
}

// Get returns one version. Errors: ErrNotFound; ErrUnavailable.
func (s *passportStore) Get(ctx context.Context, productID ecolaura.ID, number int) (ecolaura.PassportVersion, error) {
	if !validID(productID) || number < 1 {
		return ecolaura.PassportVersion{}, fmt.Errorf("passport version %d of %s: %w", number, productID, ecolaura.ErrNotFound)
	}
	var r passportRow
	err := s.db.NewSelect().Model(&r).Where("product_id = ? AND number = ?", string(productID), number).Scan(ctx)
	return s.one(r, err, "passport version %d of %s", number, productID)
}

func (s *passportStore) one(r passportRow, err error, format string, args ...any) (ecolaura.PassportVersion, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.PassportVersion{}, fmt.Errorf(format+": %w", append(args, ecolaura.ErrNotFound)...)
	}
	if err != nil {
		return ecolaura.PassportVersion{}, wrap(err, format, args...)
	}
	return r.version()
}

// Versions describes the product's versions, newest first. Errors: ErrUnavailable.
func (s *passportStore) Versions(ctx context.Context, productID ecolaura.ID) ([]ecolaura.PassportVersionInfo, error) {
	out := []ecolaura.PassportVersionInfo{}
	if !validID(productID) {
		return out, nil
	}
	var rows []passportRow
	err := s.db.NewSelect().Model(&rows).Column("number", "published_at", "published_by").
		Where("product_id = ?", string(productID)).OrderExpr("number DESC").Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "passport versions of %s", productID)
	}
	for _, r := range rows {
		i := ecolaura.PassportVersionInfo{Number: r.Number, PublishedAt: r.PublishedAt.UTC()}
		if r.PublishedBy != nil {
			i.PublishedBy = ecolaura.ID(*r.PublishedBy)
		}
		out = append(out, i)
	}
	return out, nil
}

// ProductByGTIN finds the latest versions declaring gtin through the
// expression index on passport->>'gtin'. Errors: ErrNotFound; ErrUnavailable.
func (s *passportStore) ProductByGTIN(ctx context.Context, gtin ecolaura.GTIN) (ecolaura.ID, error) {
	var ids []string
	err := s.db.NewRaw(`SELECT v.product_id FROM passport_versions v
WHERE v.passport->>'gtin' = ?
  AND v.number = (SELECT max(w.number) FROM passport_versions w WHERE w.product_id = v.product_id)
ORDER BY v.published_at DESC, v.product_id DESC LIMIT 1`, string(gtin)).Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", wrap(err, "product with GTIN %s", gtin)
	}
	if len(ids) == 0 || gtin == "" {
		return "", fmt.Errorf("product with GTIN %s: %w", gtin, ecolaura.ErrNotFound)
	}
	return ecolaura.ID(ids[0]), nil
}
