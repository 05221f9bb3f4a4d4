package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun/driver/pgdriver"

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
	if d.copyDB != nil {
		conn, err := d.copyDB.Conn(ctx)
		if err != nil {
			return wrap(err, "insert %d products", len(ps))
		}
		defer conn.Close()
		_, err = pgdriver.CopyFrom(ctx, conn, bytes.NewReader(productsCSV(rows)),
			"COPY products ("+strings.Join(copyColumns, ", ")+") FROM STDIN WITH (FORMAT csv)")
		return wrap(err, "copy %d products", len(ps))
	}
	conn, err := d.sqlDB.Conn(ctx)
	if err != nil {
		return wrap(err, "insert %d products", len(ps))
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc, ok := pgxConn(dc)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
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

// productsCSV renders rows for COPY … WITH (FORMAT csv): every text is
// quoted (an unquoted empty field is NULL), NULL is an empty field.
func productsCSV(rows []productRow) []byte {
	var b bytes.Buffer
	b.Grow(len(rows) * 256)
	str := func(s string) {
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(s, `"`, `""`))
		b.WriteByte('"')
	}
	num := func(n int64) { b.WriteString(strconv.FormatInt(n, 10)) }
	for i := range rows {
		r := &rows[i]
		str(r.ID)
		b.WriteByte(',')
		str(r.Name)
		b.WriteByte(',')
		str(r.Description)
		b.WriteByte(',')
		str(r.Category)
		b.WriteByte(',')
		num(r.PriceMinor)
		b.WriteByte(',')
		str(r.Currency)
		b.WriteByte(',')
		num(int64(r.Stock))
		b.WriteByte(',')
		num(int64(r.Score))
		b.WriteByte(',')
		if r.FootprintG != nil {
			num(*r.FootprintG)
		}
		b.WriteByte(',')
		if r.Recyclable != nil {
			b.WriteString(strconv.FormatBool(*r.Recyclable))
		}
		b.WriteByte(',')
		if r.Biodegradable != nil {
			b.WriteString(strconv.FormatBool(*r.Biodegradable))
		}
		b.WriteByte(',')
		if r.RecycledContent != nil {
			num(int64(*r.RecycledContent))
		}
		b.WriteByte(',')
		if r.Certifications != nil {
			var a strings.Builder
			a.WriteByte('{')
			for j, c := range r.Certifications {
				if j > 0 {
					a.WriteByte(',')
				}
				a.WriteByte('"')
				a.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c))
				a.WriteByte('"')
			}
			a.WriteByte('}')
			str(a.String())
		}
		b.WriteByte(',')
		str(r.CreatedAt.Format(time.RFC3339Nano))
		b.WriteByte(',')
		str(r.UpdatedAt.Format(time.RFC3339Nano))
		b.WriteByte(',')
		num(r.Version)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
