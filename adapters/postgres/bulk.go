package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// copyColumns are the columns InsertProducts fills.
var copyColumns = []string{"id", "name", "description", "category", "price_minor", "currency", "stock", "score",
	"footprint_g", "recyclable", "biodegradable", "recycled_content", "certifications", "created_at", "updated_at", "version"}

// InsertProducts stores many new products at once with COPY, for seeding
// and imports. The products are stored as given (validate them first); call
// it with batches of a few thousand. Errors: ErrConflict when an ID exists
// (nothing of the batch is stored); ErrInvalid for an ID that is not a
// UUID; ErrUnavailable.
func (d *Database) InsertProducts(ctx context.Context, ps []ecolaura.Product) error {
	if len(ps) == 0 {
		return nil
	}
	rows := make([]productRow, len(ps))
	for i, p := range ps {
		if !validID(p.ID) {
			return ecolaura.Invalid(fmt.Sprintf("products[%d].id", i), "must be a UUID")
		}
		rows[i] = toProductRow(p)
	}
	// COPY on one connection of the pool, binary format.
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		var certs any
		if r.Certifications != nil {
			certs = r.Certifications
		}
		return []any{r.ID, r.Name, r.Description, r.Category, r.PriceMinor, r.Currency, r.Stock, r.Score,
			r.FootprintG, r.Recyclable, r.Biodegradable, r.RecycledContent, certs, r.CreatedAt, r.UpdatedAt, r.Version}, nil
	})
	d.counts.n.Add(1)
	_, err := d.pool.CopyFrom(ctx, pgx.Identifier{"products"}, copyColumns, src)
	return wrap(err, "copy %d products", len(ps))
}
