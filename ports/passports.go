package ports

import (
	"context"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// PassportStore keeps the published versions of the products' Digital
// Product Passports (ecolaura.Passport). It is append-only: a version, once
// stored, is never changed or removed (the PostgreSQL adapter also refuses
// UPDATE, DELETE and TRUNCATE in the database), so a passport reached from
// a QR code printed years ago still reads as it was published. Versions
// outlive their product: deleting a product leaves its passport versions.
//
// Semantics every implementation honours (checked by porttest.PassportStore):
//   - Values are copied in and out.
//   - A product's versions are numbered 1, 2, 3, ... without gaps: Append
//     stores v only when v.Number is one more than the product's latest
//     number (1 for the first); otherwise, and when another transaction
//     appended that number first, it returns an error matching
//     ecolaura.ErrConflict and stores nothing.
//   - Every stored version satisfies ecolaura.PassportVersion.Validate:
//     Append refuses one that does not with an error matching
//     ecolaura.ErrInvalid.
//   - Latest, Get on a product without versions, or Get of a number it does
//     not have, return an error matching ecolaura.ErrNotFound.
type PassportStore interface {
	// Append stores a new version. Errors: ErrInvalid; ErrConflict.
	Append(ctx context.Context, v ecolaura.PassportVersion) error
	// Latest returns the product's highest-numbered version. Errors: ErrNotFound.
	Latest(ctx context.Context, productID ecolaura.ID) (ecolaura.PassportVersion, error)
	// Get returns version number of the product. Errors: ErrNotFound.
	Get(ctx context.Context, productID ecolaura.ID, number int) (ecolaura.PassportVersion, error)
	// Versions describes every version of the product, newest first (empty
	// when it has none).
	Versions(ctx context.Context, productID ecolaura.ID) ([]ecolaura.PassportVersionInfo, error)
	// ProductByGTIN returns the product whose latest version declares gtin
	// (a normalised GTIN-14); of several, the one published last (ties:
	// the highest product ID). A GTIN declared only by older versions does
	// not count. Errors: ErrNotFound.
	ProductByGTIN(ctx context.Context, gtin ecolaura.GTIN) (ecolaura.ID, error)
}
