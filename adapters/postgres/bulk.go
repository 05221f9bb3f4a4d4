package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// copyColumns are the columns InsertProducts fills.
var copyColumns = []string{"id", "name", "description", "category", "price_minor", "currency", "stock", "score",
	"footprint_g", "recyclable", "biodegradable", "recycled_content", "certifications", "created_at", "updated_at", "version"}

// InsertProducts stores many new products at once, for seeding and
// imports: with COPY on the pgx driver, with one multi-row INSERT per call
// otherwise. The products are stored as given (validate them first); call
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
	if d.cfg.Driver != DriverPgx {
		_, err := d.db.NewInsert().Model(&rows).Exec(ctx)
		return wrap(err, "insert %d products", len(ps))
	}
	conn, err := d.sqlDB.Conn(ctx)
	if err != nil {
		return wrap(err, "insert %d products", len(ps))
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			var certs any
			if r.Certifications != nil {
				certs = r.Certifications
			}
			return []any{r.ID, r.Name, r.Description, r.Category, r.PriceMinor, r.Currency, r.Stock, r.Score,
				r.FootprintG, r.Recyclable, r.Biodegradable, r.RecycledContent, certs, r.CreatedAt, r.UpdatedAt, r.Version}, nil
		})
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"products"}, copyColumns, src)
		return err
	})
	return wrap(err, "copy %d products", len(ps))
}
