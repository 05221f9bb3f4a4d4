package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/textsearch"
)

// copyColumns are the columns InsertProducts fills.
var copyColumns = []string{"id", "name", "description", "category", "status", "options", "price_minor", "currency", "score",
	"footprint_g", "recyclable", "biodegradable", "recycled_content", "certifications", "created_at", "updated_at", "version", "search_terms",
	"min_price_minor"}

// InsertProducts stores many new products at once with COPY, for seeding
// and imports: the products, their variants (after
// ecolaura.Product.Complete), the variants' levels at the default location
// and their "initial" movements, in one transaction. The products are
// stored as given (validate them first); call it with batches of a few
// thousand. Errors: ErrConflict when an ID exists
// (nothing of the batch is stored); ErrInvalid for an ID that is not a
// UUID; ErrUnavailable.
func (d *Database) InsertProducts(ctx context.Context, ps []ecolaura.Product) error {
	if len(ps) == 0 {
		return nil
	}
	b, err := prepareBatch(ps)
	if err != nil {
		return err
	}
	d.counts.n.Add(5)
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
		return b.copy(ctx, tx)
	})
	return wrap(err, "copy %d products", len(ps))
}

// copyBatch is a batch of products turned into the rows of its tables.
type copyBatch struct {
	rows     []productRow
	variants [][]any
	levels   [][]any
	moves    [][]any
	words    []string
}

func prepareBatch(ps []ecolaura.Product) (*copyBatch, error) {
	b := &copyBatch{rows: make([]productRow, len(ps))}
	for i, p := range ps {
		if !validID(p.ID) {
			return nil, ecolaura.Invalid(fmt.Sprintf("products[%d].id", i), "must be a UUID")
		}
		p = p.Clone()
		p.Complete()
		b.rows[i] = toProductRow(p)
		b.words = append(b.words, textsearch.ProductWords(p)...)
		for _, v := range p.Variants {
			var fp *int64
			if v.Footprint != nil {
				f := int64(*v.Footprint)
				fp = &f
			}
			b.variants = append(b.variants, []any{string(v.ID), string(p.ID), int32(v.Position), v.SKU, encodeVariantOptions(v.Options),
				v.Price.Amount, string(v.Price.Currency), v.GTIN, int32(v.WeightG), fp})
			b.levels = append(b.levels, []any{string(v.ID), defaultLocation, int32(v.Available)})
			if v.Available > 0 {
				b.moves = append(b.moves, []any{string(newMovementID()), string(v.ID), defaultLocation, int32(v.Available),
					int32(v.Available), "initial", p.UpdatedAt})
			}
		}
	}
	slices.Sort(b.words)
	b.words = slices.Compact(b.words)
	return b, nil
}

// copy runs the batch's COPYs and its search words' insert in tx.
func (b *copyBatch) copy(ctx context.Context, tx pgx.Tx) error {
	rows := b.rows
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		var certs any
		if r.Certifications != nil {
			certs = r.Certifications
		}
		return []any{r.ID, r.Name, r.Description, r.Category, r.Status, r.Options, r.PriceMinor, r.Currency, r.Score,
			r.FootprintG, r.Recyclable, r.Biodegradable, r.RecycledContent, certs, r.CreatedAt, r.UpdatedAt, r.Version, r.SearchTerms,
			r.MinPriceMinor}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"}, copyColumns, src); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"product_variants"}, []string{"id", "product_id", "position", "sku", "options",
		"price_minor", "currency", "gtin", "weight_g", "footprint_g"}, pgx.CopyFromRows(b.variants)); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"inventory_levels"}, []string{"variant_id", "location_id", "on_hand"},
		pgx.CopyFromRows(b.levels)); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"inventory_movements"}, []string{"id", "variant_id", "location_id", "delta",
		"on_hand", "reason", "at"}, pgx.CopyFromRows(b.moves)); err != nil {
		return err
	}
	// Last (in byte order), so that concurrent batches wait for each
	// other's new words only briefly.
	_, err := tx.Exec(ctx, `INSERT INTO search_words (word) SELECT w FROM unnest($1::text[]) AS w
		WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w) ON CONFLICT DO NOTHING`, b.words)
	return err
}
