package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// productCols lists the columns of productRow in SELECT and RETURNING.
const productCols = `id, name, description, category, price_minor, currency, stock, score,
	footprint_g, recyclable, biodegradable, recycled_content, certifications,
	created_at, updated_at, version`

// productRow is the stored form of a product: its metrics live in the same
// row (all metric columns NULL when it has none).
type productRow struct {
	bun.BaseModel `bun:"table:products"`

	ID              string    `bun:"id,pk"`
	Name            string    `bun:"name"`
	Description     string    `bun:"description"`
	Category        string    `bun:"category"`
	PriceMinor      int64     `bun:"price_minor"`
	Currency        string    `bun:"currency"`
	Stock           int       `bun:"stock"`
	Score           int       `bun:"score"`
	FootprintG      *int64    `bun:"footprint_g"`
	Recyclable      *bool     `bun:"recyclable"`
	Biodegradable   *bool     `bun:"biodegradable"`
	RecycledContent *int      `bun:"recycled_content"`
	Certifications  []string  `bun:"certifications,array"`
	CreatedAt       time.Time `bun:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at"`
	Version         int64     `bun:"version"`
}

func toProductRow(p ecolaura.Product) productRow {
	r := productRow{
		ID: string(p.ID), Name: p.Name, Description: p.Description, Category: p.Category,
		PriceMinor: p.Price.Amount, Currency: string(p.Price.Currency), Stock: p.Stock, Score: p.Score,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Version: p.Version,
	}
	if m := p.Metrics; m != nil {
		fp := int64(m.CarbonFootprint)
		rec, bio := m.Recyclable, m.Biodegradable
		r.FootprintG, r.Recyclable, r.Biodegradable = &fp, &rec, &bio
		if m.RecycledContent != nil {
			v := *m.RecycledContent
			r.RecycledContent = &v
		}
		r.Certifications = make([]string, 0, len(m.Certifications))
		for _, c := range m.Certifications {
			r.Certifications = append(r.Certifications, string(c))
		}
	}
	return r
}

func (r *productRow) product() ecolaura.Product {
	p := ecolaura.Product{
		ID: ecolaura.ID(r.ID), Name: r.Name, Description: r.Description, Category: r.Category,
		Price: ecolaura.Money{Amount: r.PriceMinor, Currency: ecolaura.Currency(strings.TrimSpace(r.Currency))},
		Stock: r.Stock, Score: r.Score,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
	}
	if r.FootprintG != nil {
		m := &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.CO2e(*r.FootprintG)}
		if r.Recyclable != nil {
			m.Recyclable = *r.Recyclable
		}
		if r.Biodegradable != nil {
			m.Biodegradable = *r.Biodegradable
		}
		if r.RecycledContent != nil {
			v := *r.RecycledContent
			m.RecycledContent = &v
		}
		for _, c := range r.Certifications {
			m.Certifications = append(m.Certifications, ecolaura.Certification(c))
		}
		p.Metrics = m
	}
	return p
}

// scanDest returns the scan destinations of productCols, in order, for
// statements sent through pgx.
func (r *productRow) scanDest() []any {
	return []any{&r.ID, &r.Name, &r.Description, &r.Category, &r.PriceMinor, &r.Currency, &r.Stock, &r.Score,
		&r.FootprintG, &r.Recyclable, &r.Biodegradable, &r.RecycledContent, &r.Certifications,
		&r.CreatedAt, &r.UpdatedAt, &r.Version}
}

// productStore implements ports.ProductStore on a pool or a transaction.
type productStore struct {
	db bun.IDB // Bun's statements
	// pg runs the statements with arguments, on the same pool or
	// transaction.
	pg pgxRunner
	// reads admits the reads outside transactions (Config.ReadTimeout,
	// Config.MaxReadConns); nil in a transaction.
	reads  *readGate
	counts *queryCounter
}

var _ ports.ProductStore = (*productStore)(nil)

// validID reports whether id can name a stored row (a canonical UUID);
// other strings name nothing, so lookups report ErrNotFound.
func validID(id ecolaura.ID) bool {
	_, err := ecolaura.ParseID(string(id))
	return err == nil
}

func notFound(kind string, id ecolaura.ID) error {
	return fmt.Errorf("%s %s: %w", kind, id, ecolaura.ErrNotFound)
}

// Get returns the product. Errors: ErrNotFound; ErrUnavailable.
func (s *productStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Product, error) {
	if !validID(id) {
		return ecolaura.Product{}, notFound("product", id)
	}
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return ecolaura.Product{}, wrap(err, "get product")
	}
	defer leave()
	var r productRow
	err = db.NewRaw("SELECT "+productCols+" FROM products WHERE id = ?", string(id)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.Product{}, notFound("product", id)
	}
	if err != nil {
		return ecolaura.Product{}, wrap(err, "get product %s", id)
	}
	return r.product(), nil
}

// GetMany returns the existing products among ids in the order of ids, in
// one query. Errors: ErrUnavailable.
func (s *productStore) GetMany(ctx context.Context, ids []ecolaura.ID) ([]ecolaura.Product, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) {
			keys = append(keys, string(id))
		}
	}
	if len(keys) == 0 {
		return []ecolaura.Product{}, nil
	}
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "get products")
	}
	defer leave()
	var rows []productRow
	err = db.NewRaw("SELECT "+productCols+" FROM products WHERE id = ANY(?::uuid[])", pgdialect.Array(keys)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "get %d products", len(keys))
	}
	byID := make(map[string]*productRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	out := make([]ecolaura.Product, 0, len(rows))
	for _, id := range ids {
		if r, ok := byID[string(id)]; ok {
			out = append(out, r.product())
		}
	}
	return out, nil
}

// sortSpec maps a ProductSort to its column and direction.
func sortSpec(s ecolaura.ProductSort) (col string, desc bool) {
	switch s {
	case ecolaura.SortScore:
		return "score", true
	case ecolaura.SortPriceAsc:
		return "price_minor", false
	case ecolaura.SortPriceDesc:
		return "price_minor", true
	case ecolaura.SortFootprintAsc:
		return "footprint_key", false
	default:
		return "created_at", true
	}
}

// escapeLike escapes the LIKE wildcards % and _ and the escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// applyFilter adds the WHERE conditions of ecolaura.ProductFilter.Match.
// NULL metric columns never compare true, so products without metrics are
// excluded by the metric filters exactly as Match does.
func applyFilter(q *bun.SelectQuery, f ecolaura.ProductFilter) *bun.SelectQuery {
	if f.Category != "" {
		q = q.Where("category = ?", f.Category)
	}
	if f.MinScore != nil {
		q = q.Where("score >= ?", *f.MinScore)
	}
	if f.MaxFootprint != nil {
		q = q.Where("footprint_g <= ?", int64(*f.MaxFootprint))
	}
	if f.Recyclable != nil {
		q = q.Where("recyclable = ?", *f.Recyclable)
	}
	if f.Biodegradable != nil {
		q = q.Where("biodegradable = ?", *f.Biodegradable)
	}
	if f.MinPrice != nil {
		q = q.Where("price_minor >= ?", *f.MinPrice)
	}
	if f.MaxPrice != nil {
		q = q.Where("price_minor <= ?", *f.MaxPrice)
	}
	if f.InStock {
		q = q.Where("stock > 0")
	}
	if f.Query != "" {
		pat := "%" + escapeLike(f.Query) + "%"
		q = q.Where("(name ILIKE ? OR description ILIKE ?)", pat, pat)
	}
	return q
}

// List returns one page in one query (two with WithTotal): keyset
// pagination over (sort key, id) when q.After is set, else OFFSET.
// Errors: *ValidationError for a bad query; ErrUnavailable.
func (s *productStore) List(ctx context.Context, q ports.ProductQuery) (ports.ProductPage, error) {
	sort := q.Sort
	if sort == "" {
		sort = ecolaura.SortNewest
	}
	var v ecolaura.Validator
	v.Check(sort.Valid(), "sort", "unknown sort %q", string(sort))
	v.Check(q.Limit >= 1 && q.Limit <= 1000, "limit", "must be between 1 and 1000")
	v.Check(q.Offset >= 0, "offset", "must not be negative")
	v.Merge("", q.Filter.Validate())
	if err := v.Err(); err != nil {
		return ports.ProductPage{}, err
	}
	col, desc := sortSpec(sort)
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}

	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return ports.ProductPage{}, wrap(err, "list products")
	}
	defer leave()
	var rows []productRow
	sel := db.NewSelect().Model(&rows).ColumnExpr(productCols)
	sel = applyFilter(sel, q.Filter)
	if a := q.After; a != nil {
		sel = afterPosition(sel, sort, col, cmp, *a)
	} else if q.Offset > 0 {
		sel = sel.Offset(int64(q.Offset))
	}
	sel = sel.OrderExpr(col + " " + dir + ", id " + dir).Limit(int64(q.Limit + 1))
	if err := sel.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ports.ProductPage{}, wrap(err, "list products")
	}
	page := ports.ProductPage{Total: -1}
	if len(rows) > q.Limit {
		page.HasMore = true
		rows = rows[:q.Limit]
	}
	page.Items = make([]ecolaura.Product, len(rows))
	for i := range rows {
		page.Items[i] = rows[i].product()
	}
	if q.WithTotal {
		cq := applyFilter(db.NewSelect().Table("products"), q.Filter)
		n, err := cq.Count(ctx)
		if err != nil {
			return ports.ProductPage{}, wrap(err, "count products")
		}
		page.Total = int(n)
	}
	return page, nil
}

// afterPosition keeps the rows strictly after a in the sort order.
func afterPosition(sel *bun.SelectQuery, sort ecolaura.ProductSort, col, cmp string, a ecolaura.ProductPosition) *bun.SelectQuery {
	id := string(a.ID)
	if !validID(a.ID) {
		id = "00000000-0000-0000-0000-000000000000"
		if cmp == "<" {
			id = "ffffffff-ffff-ffff-ffff-ffffffffffff"
		}
	}
	if sort != ecolaura.SortNewest {
		return sel.Where("("+col+", id) "+cmp+" (?, ?::uuid)", a.Key, id)
	}
	// Newest: the key is Unix nanoseconds; stored times have microseconds.
	t := time.Unix(0, a.Key).UTC()
	if t.Truncate(time.Microsecond).Equal(t) {
		return sel.Where("(created_at, id) < (?, ?::uuid)", t, id)
	}
	// A key between two microseconds: no stored time equals it.
	return sel.Where("created_at <= ?", t.Truncate(time.Microsecond))
}

// Categories returns every category with its product count, by slug.
// Errors: ErrUnavailable.
func (s *productStore) Categories(ctx context.Context) ([]ecolaura.CategoryCount, error) {
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "list categories")
	}
	defer leave()
	rows, err := db.QueryContext(ctx, `SELECT category, count(*) FROM products GROUP BY category ORDER BY category COLLATE "C"`)
	if err != nil {
		return nil, wrap(err, "list categories")
	}
	defer rows.Close()
	out := []ecolaura.CategoryCount{}
	for rows.Next() {
		var c ecolaura.CategoryCount
		if err := rows.Scan(&c.Category, &c.Products); err != nil {
			return nil, wrap(err, "scan category")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list categories")
	}
	return out, nil
}

// CategoryStats returns aggregate figures per category, by slug.
// Errors: ErrUnavailable.
func (s *productStore) CategoryStats(ctx context.Context) ([]ecolaura.CategoryStats, error) {
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "category stats")
	}
	defer leave()
	rows, err := db.QueryContext(ctx, `SELECT category, count(*), count(footprint_g),
		sum(score), coalesce(sum(footprint_g), 0)
		FROM products GROUP BY category ORDER BY category COLLATE "C"`)
	if err != nil {
		return nil, wrap(err, "category stats")
	}
	defer rows.Close()
	out := []ecolaura.CategoryStats{}
	for rows.Next() {
		var (
			c             ecolaura.CategoryStats
			sumScore, sfp int64
		)
		if err := rows.Scan(&c.Category, &c.Products, &c.WithMetrics, &sumScore, &sfp); err != nil {
			return nil, wrap(err, "scan category stats")
		}
		c.AverageScore = float64(sumScore) / float64(c.Products)
		if c.WithMetrics > 0 {
			c.AverageFootprint = ecolaura.CO2e(math.Round(float64(sfp) / float64(c.WithMetrics)))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "category stats")
	}
	return out, nil
}

// Create stores a new product. Errors: ErrConflict when the ID exists;
// ErrInvalid when p breaks a rule of ports.ValidateNewProduct (the products
// table's constraints); ErrUnavailable.
func (s *productStore) Create(ctx context.Context, p ecolaura.Product) error {
	if err := ports.ValidateNewProduct(p); err != nil {
		return fmt.Errorf("create product %s: %w", p.ID, err)
	}
	r := toProductRow(p)
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "create product %s", p.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create product %s: id exists: %w", p.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Update replaces the product if its stored version is p.Version.
// Errors: ErrNotFound; ErrConflict on a version mismatch; ErrInvalid as for
// Create; ErrUnavailable.
func (s *productStore) Update(ctx context.Context, p ecolaura.Product) (ecolaura.Product, error) {
	if !validID(p.ID) {
		return ecolaura.Product{}, notFound("product", p.ID)
	}
	if err := ports.ValidateStoredProduct(p); err != nil {
		return ecolaura.Product{}, fmt.Errorf("update product %s: %w", p.ID, err)
	}
	r := toProductRow(p)
	var out productRow
	err := s.db.NewRaw(`UPDATE products SET name = ?, description = ?, category = ?, price_minor = ?,
		currency = ?, stock = ?, score = ?, footprint_g = ?, recyclable = ?, biodegradable = ?,
		recycled_content = ?, certifications = ?, created_at = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND version = ? RETURNING `+productCols,
		r.Name, r.Description, r.Category, r.PriceMinor, r.Currency, r.Stock, r.Score,
		r.FootprintG, r.Recyclable, r.Biodegradable, r.RecycledContent, pgdialect.Array(r.Certifications),
		r.CreatedAt, r.UpdatedAt, r.ID, r.Version).Scan(ctx, &out)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.Product{}, s.missingOrStale(ctx, p.ID, p.Version)
	}
	if err != nil {
		return ecolaura.Product{}, wrap(err, "update product %s", p.ID)
	}
	return out.product(), nil
}

func (s *productStore) missingOrStale(ctx context.Context, id ecolaura.ID, version int64) error {
	exists, err := s.db.NewSelect().Table("products").Where("id = ?", string(id)).Exists(ctx)
	if err != nil {
		return wrap(err, "update product %s", id)
	}
	if !exists {
		return notFound("product", id)
	}
	return fmt.Errorf("update product %s: version %d is stale: %w", id, version, ecolaura.ErrConflict)
}

// Delete removes the product. Errors: ErrNotFound; ErrUnavailable.
func (s *productStore) Delete(ctx context.Context, id ecolaura.ID) error {
	if !validID(id) {
		return notFound("product", id)
	}
	res, err := s.db.NewDelete().Table("products").Where("id = ?", string(id)).Exec(ctx)
	if err != nil {
		return wrap(err, "delete product %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("product", id)
	}
	return nil
}

// AdjustStock adds adj.Delta to the stock in one conditional UPDATE that
// keeps it within 0–ecolaura.MaxStock (an increase past the maximum stops
// there with adj.Saturate). Errors: ErrNotFound;
// *ecolaura.InsufficientStockError (ErrInsufficientStock); ErrInvalid (a
// *ValidationError on "stock") for an increase past the maximum without
// Saturate; ErrUnavailable.
func (s *productStore) AdjustStock(ctx context.Context, adj ports.StockAdjustment) (ecolaura.Product, error) {
	if !validID(adj.ProductID) {
		return ecolaura.Product{}, notFound("product", adj.ProductID)
	}
	var out productRow
	s.counts.n.Add(1)
	err := s.pg(func(q pgxQuerier) error {
		return q.QueryRow(ctx, `UPDATE products SET
		stock = CASE WHEN $4::boolean AND stock + $1::bigint > $5::bigint THEN $5::bigint ELSE stock + $1::bigint END,
		version = version + 1, updated_at = $2
		WHERE id = $3::uuid AND stock + $1::bigint >= 0 AND ($4::boolean OR stock + $1::bigint <= $5::bigint) RETURNING `+productCols,
			int64(adj.Delta), adj.At, string(adj.ProductID), adj.Saturate && adj.Delta > 0, int64(ecolaura.MaxStock)).Scan(out.scanDest()...)
	})
	if err == nil {
		return out.product(), nil
	}
	if !errors.Is(err, sql.ErrNoRows) { // pgx.ErrNoRows is sql.ErrNoRows
		return ecolaura.Product{}, wrap(err, "adjust stock of product %s", adj.ProductID)
	}
	var cur struct {
		Name  string `bun:"name"`
		Stock int    `bun:"stock"`
	}
	err = s.db.NewRaw("SELECT name, stock FROM products WHERE id = ?", string(adj.ProductID)).Scan(ctx, &cur)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.Product{}, notFound("product", adj.ProductID)
	}
	if err != nil {
		return ecolaura.Product{}, wrap(err, "adjust stock of product %s", adj.ProductID)
	}
	if adj.Delta > 0 { // stock is never negative: only the maximum can refuse an increase

		return ecolaura.Product{}, fmt.Errorf("adjust stock of product %s: %w", adj.ProductID,
			ecolaura.Invalid("stock", "must be at most %d", ecolaura.MaxStock))
	}
	return ecolaura.Product{}, &ecolaura.InsufficientStockError{
		ProductID: adj.ProductID, Name: cur.Name, Requested: -adj.Delta, Available: cur.Stock,
	}
}
