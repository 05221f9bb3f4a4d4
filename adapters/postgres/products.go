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
	"github.com/ecolaura/ecolaura/internal/textsearch"
	"github.com/ecolaura/ecolaura/ports"
)

// productCols lists the columns of productRow in SELECT and RETURNING.
const productCols = `id, name, description, category, status, options::text AS options, price_minor, currency, score,
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
	Status          string    `bun:"status"`
	Options         string    `bun:"options"` // jsonb: [{"name": ..., "values": [...]}]
	PriceMinor      int64     `bun:"price_minor"`
	MinPriceMinor   int64     `bun:"-"` // written, never read: the lowest variant price (lists sort on price_key)
	Currency        string    `bun:"currency"`
	Score           int       `bun:"score"`
	FootprintG      *int64    `bun:"footprint_g"`
	Recyclable      *bool     `bun:"recyclable"`
	Biodegradable   *bool     `bun:"biodegradable"`
	RecycledContent *int      `bun:"recycled_content"`
	Certifications  []string  `bun:"certifications,array"`
	CreatedAt       time.Time `bun:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at"`
	Version         int64     `bun:"version"`
	// SearchTerms is the variants' text a search reads
	// (textsearch.VariantText), written with the product.
	SearchTerms string `bun:"search_terms"`
	// RankKey is the relevance key of a search's row (textsearch.RankKey
	// of its rank), read by List only.
	RankKey int64 `bun:"rank_key,scanonly"`
}

func toProductRow(p ecolaura.Product) productRow {
	r := productRow{
		ID: string(p.ID), Name: p.Name, Description: p.Description, Category: p.Category,
		Status: string(p.Status), Options: encodeOptions(p.Options),
		PriceMinor: p.Price.Amount, MinPriceMinor: p.LowestPrice().Amount, Currency: string(p.Price.Currency), Score: p.Score,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Version: p.Version,
		SearchTerms: textsearch.VariantText(p),
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
		Status: ecolaura.ProductStatus(r.Status), Options: decodeOptions(r.Options),
		Price:     ecolaura.Money{Amount: r.PriceMinor, Currency: ecolaura.Currency(strings.TrimSpace(r.Currency))},
		Score:     r.Score,
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
	return []any{&r.ID, &r.Name, &r.Description, &r.Category, &r.Status, &r.Options, &r.PriceMinor, &r.Currency, &r.Score,
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
	// d runs writes outside a transaction in one of their own; tx is the
	// transaction of a store handed out by Do (nil outside).
	d  *Database
	tx *txStores
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
	return getProduct(ctx, db, id)
}

func getProduct(ctx context.Context, db bun.IDB, id ecolaura.ID) (ecolaura.Product, error) {
	var r productRow
	err := db.NewRaw("SELECT "+productCols+" FROM products WHERE id = ?", string(id)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.Product{}, notFound("product", id)
	}
	if err != nil {
		return ecolaura.Product{}, wrap(err, "get product %s", id)
	}
	out := []ecolaura.Product{r.product()}
	if err := loadVariants(ctx, db, out); err != nil {
		return ecolaura.Product{}, err
	}
	return out[0], nil
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
			delete(byID, string(id)) // each product once
		}
	}
	if err := loadVariants(ctx, db, out); err != nil {
		return nil, err
	}
	return out, nil
}

// sortSpec maps a ProductSort to its column (an expression for relevance)
// and direction.
func sortSpec(s ecolaura.ProductSort) (col string, desc bool) {
	switch s {
	case ecolaura.SortScore:
		return "score", true
	case ecolaura.SortPriceAsc:
		return "price_key", false
	case ecolaura.SortPriceDesc:
		return "price_key", true
	case ecolaura.SortFootprintAsc:
		return "footprint_key", false
	case ecolaura.SortRelevance:
		return "rank_key", true
	default:
		return "created_at", true
	}
}

// applyFilter adds the WHERE conditions of ecolaura.ProductFilter.Match
// (all but the search, see searchSpec). NULL metric columns never compare
// true, so products without metrics are excluded by the metric filters
// exactly as Match does.
func applyFilter(q *bun.SelectQuery, f ecolaura.ProductFilter) *bun.SelectQuery {
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
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
		q = q.Where("price_key >= ?", *f.MinPrice)
	}
	if f.MaxPrice != nil {
		q = q.Where("price_key <= ?", *f.MaxPrice)
	}
	if f.InStock {
		q = q.Where(inStockSQL)
	}
	return q
}

// searchSpec is how a list matches and ranks: the condition of a search
// (none without one) and the expression of the relevance key.
type searchSpec struct {
	where     string // "" for no condition
	whereArgs func() []any
	key       string
	keyArgs   func() []any
}

// noSearch ranks every product alike (relevance without a search: by ID).
var noSearch = searchSpec{key: "0::bigint", keyArgs: func() []any { return nil }}

// fullText matches the products whose search_doc matches the search's
// tsquery (the GIN index products_search_idx), ranked by ts_rank.
func fullText(sq textsearch.Query) searchSpec {
	expr := func() (string, []any) {
		var args []any
		e := sq.TSQuery(func(a any) string { args = append(args, a); return "?" })
		return e, args
	}
	tsq, _ := expr()
	args := func() []any { _, a := expr(); return a }
	return searchSpec{
		where: "search_doc @@ " + tsq, whereArgs: args,
		key: textsearch.KeySQL("ts_rank(search_doc, " + tsq + ")"), keyArgs: args,
	}
}

func (sp searchSpec) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if sp.where == "" {
		return q
	}
	return q.Where(sp.where, sp.whereArgs()...)
}

// List returns one page in one query (two with WithTotal): keyset
// pagination over (sort key, id) when q.After is set, else OFFSET.
//
// A search (Filter.Query, see textsearch.Parse) matches the products
// whose search_doc matches its tsquery (weights: name A, SKUs and option
// values B, description C); when none does (with the other filters), the
// search corrected for typos (textsearch.Query.Corrected, with the
// catalog's words similar to its words) is tried instead. SortRelevance
// orders by ts_rank in textsearch.RankKey units, then by ID, both
// descending.
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
	q.Sort = sort
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return ports.ProductPage{}, wrap(err, "list products")
	}
	defer leave()
	if q.Filter.Query == "" {
		page, _, err := listPage(ctx, db, q, noSearch)
		return page, err
	}
	sq := textsearch.Parse(q.Filter.Query)
	if !sq.Empty() {
		page, found, err := listPage(ctx, db, q, fullText(sq))
		if err != nil || found {
			return page, err
		}
	}
	// Nothing matches: typos? The corrections come from the catalog's
	// words (search_words, with its trigram index).
	suggest, err := corrections(ctx, db, sq.Correctable())
	if err != nil {
		return ports.ProductPage{}, err
	}
	if cq, ok := sq.Corrected(suggest); ok {
		page, _, err := listPage(ctx, db, q, fullText(cq))
		return page, err
	}
	return ports.ProductPage{Items: []ecolaura.Product{}, Keys: []int64{}, Total: emptyTotal(q)}, nil
}

// corrections looks up textsearch.Suggest's corrections of words among
// the catalog's words (search_words) in one query.
func corrections(ctx context.Context, db bun.IDB, words []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(words) == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT q.w, s.word FROM unnest(?::text[]) WITH ORDINALITY AS q(w, n)
		CROSS JOIN LATERAL (SELECT word, similarity(word, q.w) AS sim FROM search_words
			WHERE word % q.w AND word <> q.w AND similarity(word, q.w) >= ?
			ORDER BY sim DESC, word COLLATE "C" LIMIT ?) s
		ORDER BY q.n, s.sim DESC, s.word COLLATE "C"`,
		pgdialect.Array(words), textsearch.CorrectionThreshold, textsearch.MaxCorrections)
	if err != nil {
		return nil, wrap(err, "search corrections")
	}
	defer rows.Close()
	for rows.Next() {
		var w, c string
		if err := rows.Scan(&w, &c); err != nil {
			return nil, wrap(err, "scan search corrections")
		}
		out[w] = append(out[w], c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "search corrections")
	}
	return out, nil
}

// addWords records words (textsearch.ProductWords) in search_words. Only
// words it does not have yet are inserted, so a write waits for another
// transaction only when both add the same new word, and then in byte order
// (the words are sorted). Words are never removed: one no product has any
// more only makes a correction that matches nothing.
func addWords(ctx context.Context, t *txStores, words []string) error {
	if len(words) == 0 {
		return nil
	}
	err := t.onTx(func(q pgxQuerier) error {
		_, err := q.Exec(ctx, `INSERT INTO search_words (word) SELECT w FROM unnest($1::text[]) AS w
			WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w) ON CONFLICT DO NOTHING`, words)
		return err
	})
	return wrap(err, "record search words")
}

func emptyTotal(q ports.ProductQuery) int {
	if q.WithTotal {
		return 0
	}
	return -1
}

// listPage returns one page of the products that sp and the filter match,
// and whether any product matches at all (the page may be past the end).
func listPage(ctx context.Context, db bun.IDB, q ports.ProductQuery, sp searchSpec) (ports.ProductPage, bool, error) {
	col, desc := sortSpec(q.Sort)
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	var rows []productRow
	sel := db.NewSelect().Model(&rows).ColumnExpr(productCols)
	if q.Sort == ecolaura.SortRelevance {
		sel = sel.ColumnExpr(sp.key+" AS rank_key", sp.keyArgs()...)
	}
	sel = sp.apply(applyFilter(sel, q.Filter))
	if a := q.After; a != nil {
		if q.Sort == ecolaura.SortRelevance {
			sel = sel.Where("("+sp.key+", id) < (?, ?::uuid)", append(sp.keyArgs(), a.Key, cursorID(*a, cmp))...)
		} else {
			sel = afterPosition(sel, q.Sort, col, cmp, *a)
		}
	} else if q.Offset > 0 {
		sel = sel.Offset(int64(q.Offset))
	}
	order := col
	if sp.where != "" && q.Sort != ecolaura.SortRelevance {
		// A search reads its matches from the search's index and sorts
		// them: walking a sort index instead, in the hope of meeting
		// enough matches early, reads the whole index for a rare word
		// (the estimates of text searches are rough).
		order = col + " + " + map[bool]string{true: "interval '0 s'", false: "0"}[col == "created_at"]
	}
	sel = sel.OrderExpr(order + " " + dir + ", id " + dir).Limit(int64(q.Limit + 1))
	if err := sel.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ports.ProductPage{}, false, wrap(err, "list products")
	}
	page := ports.ProductPage{Total: -1}
	if len(rows) > q.Limit {
		page.HasMore = true
		rows = rows[:q.Limit]
	}
	page.Items = make([]ecolaura.Product, len(rows))
	page.Keys = make([]int64, len(rows))
	for i := range rows {
		page.Items[i] = rows[i].product()
		page.Keys[i] = q.Sort.SortKey(page.Items[i])
		if q.Sort == ecolaura.SortRelevance {
			page.Keys[i] = rows[i].RankKey
		}
	}
	if err := loadVariants(ctx, db, page.Items); err != nil {
		return ports.ProductPage{}, false, err
	}
	found := len(rows) > 0
	if q.WithTotal {
		cq := sp.apply(applyFilter(db.NewSelect().Table("products"), q.Filter))
		n, err := cq.Count(ctx)
		if err != nil {
			return ports.ProductPage{}, false, wrap(err, "count products")
		}
		page.Total = int(n)
		found = n > 0
	} else if !found && (q.After != nil || q.Offset > 0) {
		// Past the end, or a later page of the fallback. A count, not
		// EXISTS: with a LIMIT the planner would rather scan the table
		// than the search's index.
		n, err := sp.apply(applyFilter(db.NewSelect().Table("products"), q.Filter)).Count(ctx)
		if err != nil {
			return ports.ProductPage{}, false, wrap(err, "list products")
		}
		found = n > 0
	}
	return page, found, nil
}

// cursorID is the ID of a cursor position, or the lowest or highest UUID
// (by the comparison cmp) when it is not one: no row then ties with it.
func cursorID(a ecolaura.ProductPosition, cmp string) string {
	if validID(a.ID) {
		return string(a.ID)
	}
	if cmp == "<" {
		return "ffffffff-ffff-ffff-ffff-ffffffffffff"
	}
	return "00000000-0000-0000-0000-000000000000"
}

// afterPosition keeps the rows strictly after a in the sort order.
func afterPosition(sel *bun.SelectQuery, sort ecolaura.ProductSort, col, cmp string, a ecolaura.ProductPosition) *bun.SelectQuery {
	id := cursorID(a, cmp)
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

// Categories returns every category with its count of active products,
// by slug. Errors: ErrUnavailable.
func (s *productStore) Categories(ctx context.Context) ([]ecolaura.CategoryCount, error) {
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "list categories")
	}
	defer leave()
	rows, err := db.QueryContext(ctx, `SELECT category, count(*) FROM products WHERE status = 'active'
		GROUP BY category ORDER BY category COLLATE "C"`)
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

// CategoryStats returns aggregate figures of the active products per
// category, by slug. Errors: ErrUnavailable.
func (s *productStore) CategoryStats(ctx context.Context) ([]ecolaura.CategoryStats, error) {
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return nil, wrap(err, "category stats")
	}
	defer leave()
	rows, err := db.QueryContext(ctx, `SELECT category, count(*), count(footprint_g),
		sum(score), coalesce(sum(footprint_g), 0)
		FROM products WHERE status = 'active' GROUP BY category ORDER BY category COLLATE "C"`)
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

// Delete removes the product; its variants, their levels and movements go
// with it (foreign keys ON DELETE CASCADE). Errors: ErrNotFound;
// ErrUnavailable.
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
