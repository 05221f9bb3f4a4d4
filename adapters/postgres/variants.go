package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/textsearch"
	"github.com/ecolaura/ecolaura/ports"
)

// defaultLocation is ecolaura.DefaultLocationID, created by the migration.
const defaultLocation = string(ecolaura.DefaultLocationID)

// inStockSQL is the in-stock filter: some variant has units at a location
// that ships.
const inStockSQL = `id IN (SELECT v.product_id FROM product_variants v
	JOIN inventory_levels l ON l.variant_id = v.id
	JOIN stock_locations sl ON sl.id = l.location_id AND sl.ships
	WHERE l.on_hand > 0)`

type optionJSON struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

func encodeOptions(opts []ecolaura.ProductOption) string {
	out := make([]optionJSON, len(opts))
	for i, o := range opts {
		out[i] = optionJSON{Name: o.Name, Values: o.Values}
		if out[i].Values == nil {
			out[i].Values = []string{}
		}
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b)
}

func decodeOptions(s string) []ecolaura.ProductOption {
	var in []optionJSON
	if s == "" || json.Unmarshal([]byte(s), &in) != nil || len(in) == 0 {
		return nil
	}
	out := make([]ecolaura.ProductOption, len(in))
	for i, o := range in {
		out[i] = ecolaura.ProductOption{Name: o.Name, Values: o.Values}
	}
	return out
}

func encodeVariantOptions(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// variantRow is a stored variant with its available stock.
type variantRow struct {
	ID         string `bun:"id"`
	ProductID  string `bun:"product_id"`
	Position   int    `bun:"position"`
	SKU        string `bun:"sku"`
	Options    string `bun:"options"`
	PriceMinor int64  `bun:"price_minor"`
	Currency   string `bun:"currency"`
	GTIN       string `bun:"gtin"`
	WeightG    int    `bun:"weight_g"`
	FootprintG *int64 `bun:"footprint_g"`
	Available  int64  `bun:"available"`
}

func (r variantRow) variant() ecolaura.Variant {
	v := ecolaura.Variant{
		ID: ecolaura.ID(r.ID), ProductID: ecolaura.ID(r.ProductID), Position: r.Position, SKU: r.SKU,
		Price: ecolaura.Money{Amount: r.PriceMinor, Currency: ecolaura.Currency(strings.TrimSpace(r.Currency))},
		GTIN:  r.GTIN, WeightG: r.WeightG, Available: int(r.Available), Options: map[string]string{},
	}
	_ = json.Unmarshal([]byte(r.Options), &v.Options)
	if r.FootprintG != nil {
		f := ecolaura.CO2e(*r.FootprintG)
		v.Footprint = &f
	}
	return v
}

const variantSelect = `SELECT v.id, v.product_id, v.position, v.sku, v.options::text AS options, v.price_minor, v.currency,
	v.gtin, v.weight_g, v.footprint_g,
	COALESCE((SELECT sum(l.on_hand) FROM inventory_levels l JOIN stock_locations sl ON sl.id = l.location_id AND sl.ships
		WHERE l.variant_id = v.id), 0)::bigint AS available
	FROM product_variants v`

// loadVariants fills the variants (with their available stock) and the
// stock of ps in one statement.
func loadVariants(ctx context.Context, db bun.IDB, ps []ecolaura.Product) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]string, len(ps))
	at := make(map[ecolaura.ID]int, len(ps))
	for i, p := range ps {
		ids[i] = string(p.ID)
		at[p.ID] = i
	}
	var rows []variantRow
	err := db.NewRaw(variantSelect+" WHERE v.product_id = ANY(?::uuid[]) ORDER BY v.product_id, v.position", pgdialect.Array(ids)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap(err, "load variants")
	}
	for _, r := range rows {
		i, ok := at[ecolaura.ID(r.ProductID)]
		if !ok {
			continue
		}
		addVariant(&ps[i], r.variant())
	}
	return nil
}

// addVariant appends v, read in position order, to p's variants and its
// available units to p's stock.
func addVariant(p *ecolaura.Product, v ecolaura.Variant) {
	if v.Position == 0 {
		// products.price_minor is the default variant's price (a manual
		// fix of the product row, see the out-of-band trigger, wins).
		v.Price = p.Price
	}
	p.Variants = append(p.Variants, v)
	p.Stock += v.Available
}

// GetByVariants returns the products owning the variants among ids, each
// once, in the order their first variant appears in ids. Errors:
// ErrUnavailable.
func (s *productStore) GetByVariants(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) {
			keys = append(keys, string(id))
		}
	}
	if len(keys) == 0 {
		return []ecolaura.Product{}, nil
	}
	if s.tx != nil {
		return s.getByVariantsTx(ctx, keys)
	}
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "get products of variants")
	}
	defer leave()
	var refs []struct {
		ID        string `bun:"id"`
		ProductID string `bun:"product_id"`
	}
	err = db.NewRaw("SELECT id, product_id FROM product_variants WHERE id = ANY(?::uuid[])", pgdialect.Array(keys)).Scan(ctx, &refs)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "get products of variants")
	}
	owner := make(map[string]string, len(refs))
	for _, r := range refs {
		owner[r.ID] = r.ProductID
	}
	pids := make([]string, 0, len(refs))
	seen := map[string]bool{}
	for _, id := range keys {
		if pid, ok := owner[id]; ok && !seen[pid] {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return []ecolaura.Product{}, nil
	}
	var rows []productRow
	err = db.NewRaw("SELECT "+productCols+" FROM products WHERE id = ANY(?::uuid[])", pgdialect.Array(pids)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "get products of variants")
	}
	byID := make(map[string]*productRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	out := make([]ecolaura.Product, 0, len(rows))
	for _, pid := range pids {
		if r, ok := byID[pid]; ok {
			out = append(out, r.product())
		}
	}
	if err := loadVariants(ctx, db, out); err != nil {
		return nil, err
	}
	return out, nil
}

// atomically runs fn in the store's transaction, or in one of its own.
func (s *productStore) atomically(ctx context.Context, fn func(ctx context.Context, t *txStores) error) error {
	if s.tx != nil {
		return fn(ctx, s.tx)
	}
	return s.d.Do(ctx, func(ctx context.Context, tx ports.Tx) error { return fn(ctx, tx.(*txStores)) })
}

// Create stores a new product (after ecolaura.Product.Complete) with its
// variants, their levels at the default location and "initial" movements,
// in one transaction. Errors: ErrConflict when the ID exists;
// *ecolaura.ConflictError for a variant ID or SKU another product has;
// ErrInvalid when p breaks a rule of ports.ValidateNewProduct (the schema's
// constraints); ErrUnavailable.
func (s *productStore) Create(ctx context.Context, p ecolaura.Product) error {
	p = p.Clone()
	p.Complete()
	if err := ports.ValidateNewProduct(p); err != nil {
		return fmt.Errorf("create product %s: %w", p.ID, err)
	}
	r := toProductRow(p)
	return s.atomically(ctx, func(ctx context.Context, t *txStores) error {
		var n int64
		err := t.onTx(func(q pgxQuerier) error {
			tag, err := q.Exec(ctx, `INSERT INTO products (id, name, description, category, status, options, price_minor,
				currency, score, footprint_g, recyclable, biodegradable, recycled_content, certifications,
				created_at, updated_at, version, search_terms, min_price_minor)
				VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
				ON CONFLICT (id) DO NOTHING`,
				r.ID, r.Name, r.Description, r.Category, r.Status, r.Options, r.PriceMinor, r.Currency, int64(r.Score),
				r.FootprintG, r.Recyclable, r.Biodegradable, intPtr64(r.RecycledContent), r.Certifications,
				r.CreatedAt, r.UpdatedAt, r.Version, r.SearchTerms, r.MinPriceMinor)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return wrap(err, "create product %s", p.ID)
		}
		if n == 0 {
			return fmt.Errorf("create product %s: id exists: %w", p.ID, ecolaura.ErrConflict)
		}
		if err := variantsFree(ctx, t, p); err != nil {
			return err
		}
		if err := writeVariants(ctx, t, p, p.Variants, p.UpdatedAt); err != nil {
			return err
		}
		return addWords(ctx, t, textsearch.ProductWords(p))
	})
}

func intPtr64(v *int) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

// variantsFree checks that no other product has p's variant IDs or SKUs.
func variantsFree(ctx context.Context, t *txStores, p ecolaura.Product) error {
	ids := make([]string, len(p.Variants))
	skus := make([]string, 0, len(p.Variants))
	for i, v := range p.Variants {
		ids[i] = string(v.ID)
		if v.SKU != "" {
			skus = append(skus, strings.ToLower(v.SKU))
		}
	}
	var taken []struct {
		ID  string
		SKU string
	}
	err := t.onTx(func(q pgxQuerier) error {
		rows, err := q.Query(ctx, `SELECT id::text, lower(sku) FROM product_variants
			WHERE product_id <> $1::uuid AND (id = ANY($2::uuid[]) OR (sku <> '' AND lower(sku) = ANY($3::text[])))`,
			string(p.ID), ids, skus)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x struct{ ID, SKU string }
			if err := rows.Scan(&x.ID, &x.SKU); err != nil {
				return err
			}
			taken = append(taken, struct {
				ID  string
				SKU string
			}{x.ID, x.SKU})
		}
		return rows.Err()
	})
	if err != nil {
		return wrap(err, "check variants of product %s", p.ID)
	}
	for _, x := range taken {
		for i, v := range p.Variants {
			f := "variants[" + strconv.Itoa(i) + "]"
			if string(v.ID) == x.ID {
				return fmt.Errorf("product %s: %w", p.ID, &ecolaura.ConflictError{Field: f + ".id"})
			}
			if v.SKU != "" && strings.ToLower(v.SKU) == x.SKU {
				return fmt.Errorf("product %s: %w", p.ID, &ecolaura.ConflictError{Field: f + ".sku"})
			}
		}
	}
	return nil
}

// variantWriteErr maps a unique violation on the variants (a concurrent
// write took the SKU or ID after variantsFree looked) to a ConflictError.
func variantWriteErr(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation {
		switch pe.ConstraintName {
		case "product_variants_sku_key":
			return fmt.Errorf("%s: %w", what, &ecolaura.ConflictError{Field: "variants.sku"})
		case "product_variants_pkey":
			return fmt.Errorf("%s: %w", what, &ecolaura.ConflictError{Field: "variants.id"})
		}
	}
	return wrap(err, "%s", what)
}

// writeVariants upserts vs (all of p's variants) and gives the new ones
// (not in existing) their level at the default location and "initial"
// movement.
func writeVariants(ctx context.Context, t *txStores, p ecolaura.Product, fresh []ecolaura.Variant, at any) error {
	var q strings.Builder
	args := []any{}
	n := 0
	ph := func(cast string) string {
		n++
		return "$" + strconv.Itoa(n) + cast
	}
	q.WriteString(`INSERT INTO product_variants (id, product_id, position, sku, options, price_minor, currency, gtin, weight_g, footprint_g) VALUES `)
	for i, v := range p.Variants {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", ph("::uuid"), ph("::uuid"), ph("::integer"), ph("::text"),
			ph("::jsonb"), ph("::bigint"), ph("::text"), ph("::text"), ph("::integer"), ph("::bigint"))
		var fp *int64
		if v.Footprint != nil {
			f := int64(*v.Footprint)
			fp = &f
		}
		args = append(args, string(v.ID), string(p.ID), int64(v.Position), v.SKU, encodeVariantOptions(v.Options),
			v.Price.Amount, string(v.Price.Currency), v.GTIN, int64(v.WeightG), fp)
	}
	q.WriteString(` ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, sku = EXCLUDED.sku, options = EXCLUDED.options,
		price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency, gtin = EXCLUDED.gtin, weight_g = EXCLUDED.weight_g,
		footprint_g = EXCLUDED.footprint_g WHERE product_variants.product_id = EXCLUDED.product_id`)
	if err := t.onTx(func(pq pgxQuerier) error { _, err := pq.Exec(ctx, q.String(), args...); return err }); err != nil {
		return variantWriteErr(err, "write variants of product "+string(p.ID))
	}
	if len(fresh) == 0 {
		return nil
	}
	vids := make([]string, len(fresh))
	stock := make([]int64, len(fresh))
	mids := make([]string, len(fresh))
	for i, v := range fresh {
		vids[i], stock[i], mids[i] = string(v.ID), int64(v.Available), string(newMovementID())
	}
	err := t.onTx(func(pq pgxQuerier) error {
		_, err := pq.Exec(ctx, `WITH l AS (INSERT INTO inventory_levels (variant_id, location_id, on_hand)
			SELECT v, $2::uuid, s FROM unnest($1::uuid[], $3::bigint[]) AS x(v, s) RETURNING variant_id, on_hand)
			INSERT INTO inventory_movements (id, variant_id, location_id, delta, on_hand, reason, at)
			SELECT m, x.v, $2::uuid, x.s, x.s, 'initial', $4 FROM unnest($1::uuid[], $3::bigint[], $5::uuid[]) AS x(v, s, m)
			JOIN l ON l.variant_id = x.v WHERE x.s > 0`, vids, defaultLocation, stock, at, mids)
		return err
	})
	if err != nil {
		return wrap(err, "stock new variants of product %s", p.ID)
	}
	return nil
}

// Update replaces the product and its variants if its stored version is
// p.Version, in one transaction: variants it no longer has are deleted
// with their inventory, new ones get their Available as initial stock.
// Errors: ErrNotFound; ErrConflict on a version mismatch;
// *ecolaura.ConflictError as for Create; ErrInvalid as for Create;
// ErrUnavailable.
func (s *productStore) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	if !validID(p.ID) {
		return ecolaura.Product{}, notFound("product", p.ID)
	}
	p = p.Clone()
	p.Complete()
	if err := ports.ValidateStoredProduct(p); err != nil {
		return ecolaura.Product{}, fmt.Errorf("update product %s: %w", p.ID, err)
	}
	r := toProductRow(p)
	var out ecolaura.Product
	err := s.atomically(ctx, func(ctx context.Context, t *txStores) error {
		var n int64
		err := t.onTx(func(q pgxQuerier) error {
			tag, err := q.Exec(ctx, `UPDATE products SET name = $1, description = $2, category = $3, status = $4,
				options = $5::jsonb, price_minor = $6, currency = $7, score = $8, footprint_g = $9, recyclable = $10,
				biodegradable = $11, recycled_content = $12, certifications = $13, updated_at = $14, version = version + 1,
				search_terms = $17, min_price_minor = $18
				WHERE id = $15::uuid AND version = $16`,
				r.Name, r.Description, r.Category, r.Status, r.Options, r.PriceMinor, r.Currency, int64(r.Score),
				r.FootprintG, r.Recyclable, r.Biodegradable, intPtr64(r.RecycledContent), r.Certifications,
				r.UpdatedAt, r.ID, r.Version, r.SearchTerms, r.MinPriceMinor)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return wrap(err, "update product %s", p.ID)
		}
		if n == 0 {
			ps := &productStore{db: t.conn, pg: t.onTx, counts: t.d.counts}
			return ps.missingOrStale(ctx, p.ID, p.Version)
		}
		if err := variantsFree(ctx, t, p); err != nil {
			return err
		}
		keep := make([]string, len(p.Variants))
		for i, v := range p.Variants {
			keep[i] = string(v.ID)
		}
		var existing []string
		err = t.onTx(func(q pgxQuerier) error {
			// Gone variants go with their levels and movements; the others
			// lose their SKU until the upsert, so SKUs can move between
			// them.
			if _, err := q.Exec(ctx, `DELETE FROM product_variants WHERE product_id = $1::uuid AND id <> ALL($2::uuid[])`, r.ID, keep); err != nil {
				return err
			}
			rows, err := q.Query(ctx, `UPDATE product_variants SET sku = '' WHERE product_id = $1::uuid RETURNING id::text`, r.ID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				existing = append(existing, id)
			}
			return rows.Err()
		})
		if err != nil {
			return wrap(err, "update variants of product %s", p.ID)
		}
		var fresh []ecolaura.Variant
		for _, v := range p.Variants {
			if !contains(existing, string(v.ID)) {
				fresh = append(fresh, v)
			}
		}
		if err := writeVariants(ctx, t, p, fresh, p.UpdatedAt); err != nil {
			return err
		}
		if err := addWords(ctx, t, textsearch.ProductWords(p)); err != nil {
			return err
		}
		out, err = getProduct(ctx, t.conn, p.ID)
		return err
	})
	if err != nil {
		return ecolaura.Product{}, err
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// The statements of getByVariantsTx, $1 the variant IDs.
const (
	productsOfVariants = "SELECT " + productCols + ` FROM products
		WHERE id IN (SELECT product_id FROM product_variants WHERE id = ANY($1::uuid[]))`
	variantsOfVariants = variantSelect + `
		WHERE v.product_id IN (SELECT product_id FROM product_variants WHERE id = ANY($1::uuid[]))
		ORDER BY v.product_id, v.position`
)

// getByVariantsTx is GetByVariants in a transaction (a checkout's read):
// the products and their variants in one round trip (a pgx batch of two
// statements with parameters, prepared once per connection by pgx).
func (s *productStore) getByVariantsTx(ctx context.Context, keys []string) ([]ecolaura.Product, error) {
	var (
		prows []productRow
		vrows []variantRow
	)
	err := s.tx.inConn(func() error {
		s.counts.n.Add(2)
		b := &pgx.Batch{}
		b.Queue(productsOfVariants, keys)
		b.Queue(variantsOfVariants, keys)
		br := s.tx.tx.SendBatch(ctx, b)
		defer func() { _ = br.Close() }()
		rows, err := br.Query()
		if err != nil {
			return err
		}
		if prows, err = pgx.CollectRows(rows, scanProductRow); err != nil {
			return err
		}
		if rows, err = br.Query(); err != nil {
			return err
		}
		if vrows, err = pgx.CollectRows(rows, scanVariantRow); err != nil {
			return err
		}
		return br.Close()
	})
	if err != nil {
		return nil, wrap(err, "get products of variants")
	}
	owner := make(map[string]string, len(vrows))
	for _, v := range vrows {
		owner[v.ID] = v.ProductID
	}
	byID := make(map[string]*productRow, len(prows))
	for i := range prows {
		byID[prows[i].ID] = &prows[i]
	}
	out := make([]ecolaura.Product, 0, len(prows))
	at := make(map[ecolaura.ID]int, len(prows))
	for _, id := range keys {
		if r, ok := byID[owner[id]]; ok {
			at[ecolaura.ID(r.ID)] = len(out)
			out = append(out, r.product())
			delete(byID, r.ID) // each product once
		}
	}
	for _, r := range vrows {
		if i, ok := at[ecolaura.ID(r.ProductID)]; ok {
			addVariant(&out[i], r.variant())
		}
	}
	return out, nil
}

// scanProductRow scans the columns of productCols.
func scanProductRow(row pgx.CollectableRow) (productRow, error) {
	var r productRow
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Category, &r.Status, &r.Options, &r.PriceMinor, &r.Currency, &r.Score,
		&r.FootprintG, &r.Recyclable, &r.Biodegradable, &r.RecycledContent, &r.Certifications,
		&r.CreatedAt, &r.UpdatedAt, &r.Version)
	return r, err
}

// scanVariantRow scans the columns of variantSelect.
func scanVariantRow(row pgx.CollectableRow) (variantRow, error) {
	var r variantRow
	err := row.Scan(&r.ID, &r.ProductID, &r.Position, &r.SKU, &r.Options, &r.PriceMinor, &r.Currency,
		&r.GTIN, &r.WeightG, &r.FootprintG, &r.Available)
	return r, err
}
