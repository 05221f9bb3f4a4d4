package postgres_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
	"github.com/ecolaura/ecolaura/internal/textsearch"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func tables(t *testing.T, db *postgres.Database) []string {
	t.Helper()
	var names []string
	require.NoError(t, db.DB().NewRaw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT LIKE 'bun_%' ORDER BY tablename`).Scan(t.Context(), &names))
	return names
}

func TestMigrateUpDownUp(t *testing.T) {
	ctx := t.Context()
	db, err := postgres.Open(ctx, postgres.Config{URL: testenv.Postgres(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	st, err := postgres.Migrate(ctx, db, postgres.MigrateStatus)
	require.NoError(t, err)
	assert.False(t, st.UpToDate())
	require.ErrorIs(t, db.CheckSchema(ctx), postgres.ErrSchemaOutdated)

	st, err = postgres.Migrate(ctx, db, postgres.MigrateUp)
	require.NoError(t, err)
	assert.True(t, st.UpToDate(), st.String())
	require.NoError(t, db.CheckSchema(ctx))
	up := tables(t, db)
	assert.Subset(t, up, []string{"order_lines", "orders", "products", "refresh_tokens", "river_job", "users"})

	st, err = postgres.Migrate(ctx, db, postgres.MigrateDown)
	require.NoError(t, err)
	assert.Empty(t, st.Applied)
	assert.Zero(t, st.RiverVersion)
	assert.Empty(t, tables(t, db), "down removes every table")

	_, err = postgres.Migrate(ctx, db, postgres.MigrateUp)
	require.NoError(t, err)
	assert.Equal(t, up, tables(t, db))
}

// Several replicas running `migrate up` at the same time: the advisory lock
// serialises them, every one succeeds and each migration is applied once.
func TestMigrateUpConcurrently(t *testing.T) {
	url := testenv.Postgres(t)
	const replicas = 4
	dbs := make([]*postgres.Database, replicas)
	for i := range dbs {
		db, err := postgres.Open(t.Context(), postgres.Config{URL: url, MaxConns: 3})
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		dbs[i] = db
	}
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = postgres.Migrate(context.Background(), db, postgres.MigrateUp)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replica %d", i)
	}
	var applied int
	require.NoError(t, dbs[0].DB().NewRaw("SELECT count(*) FROM bun_migrations").Scan(t.Context(), &applied))
	st, err := dbs[0].SchemaStatus(t.Context())
	require.NoError(t, err)
	assert.Equal(t, len(st.Applied), applied, "each migration recorded once")
	assert.True(t, st.UpToDate())
}

func TestMigrateRejectsUnknownAction(t *testing.T) {
	db := openDB(t, postgres.Config{})
	_, err := postgres.Migrate(t.Context(), db, "sideways")
	require.Error(t, err)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   postgres.Config
		field string
	}{
		{"missing url", postgres.Config{}, "url"},
		{"bad url", postgres.Config{URL: "postgres://%zz"}, "url"},
		{"negative conns", postgres.Config{URL: "postgres://localhost/x", MaxConns: -1}, "max_conns"},
		{"one connection", postgres.Config{URL: "postgres://localhost/x", MaxConns: 1}, "max_conns"},
		{"too many connections", postgres.Config{URL: "postgres://localhost/x", MaxConns: 10_001}, "max_conns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
	require.NoError(t, postgres.Config{URL: "postgres://postgres@127.0.0.1:5432/postgres"}.Validate())
}

// The schema itself enforces the rules of ports.ValidateStored*, so a
// writer that bypasses the stores (a script, an older binary, a hand-made
// fix) cannot store what the stores refuse: each statement below breaks one
// rule and PostgreSQL refuses it, naming the constraint.
func TestConstraintsInDatabase(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	u := porttest.NewUser()
	require.NoError(t, db.Users().Create(ctx, u))
	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))
	o := porttest.NewOrder(u.ID, porttest.Line(p, 1))
	require.NoError(t, db.Orders().Create(ctx, o))
	tk := porttest.NewRefreshToken(u.ID, porttest.NewID())
	require.NoError(t, db.RefreshTokens().Create(ctx, tk))

	tests := []struct {
		name string
		sql  string
		args []any
		want string // in the error
	}{
		{"price above DECIMAL(10,2)", "UPDATE products SET price_minor = $1 WHERE id = $2", []any{ecolaura.MaxPriceMinor + 1, p.ID}, "products_price_minor_check"},
		{"negative stock", "UPDATE inventory_levels SET on_hand = -1 WHERE variant_id = $1", []any{p.ID}, "inventory_levels_on_hand_check"},
		{"stock above the maximum", "UPDATE inventory_levels SET on_hand = $1 WHERE variant_id = $2", []any{ecolaura.MaxStock + 1, p.ID}, "inventory_levels_on_hand_check"},
		{"score above 100", "UPDATE products SET score = 101 WHERE id = $1", []any{p.ID}, "products_score_check"},
		{"lower-case currency", "UPDATE products SET currency = 'eur' WHERE id = $1", []any{p.ID}, "products_currency"},
		{"unsupported currency", "UPDATE products SET currency = 'XXX' WHERE id = $1", []any{p.ID}, "products_currency_supported"},
		{"recycled content above 100", "UPDATE products SET recycled_content = 101 WHERE id = $1", []any{p.ID}, "products_recycled_content_check"},
		{"control character in a name", "UPDATE products SET name = $1 WHERE id = $2", []any{"a\x1bb", p.ID}, "products_name_text"},
		{"C1 control in a name", "UPDATE products SET name = $1 WHERE id = $2", []any{"a\u0085b", p.ID}, "products_name_text"},
		{"newline in a name", "UPDATE products SET name = $1 WHERE id = $2", []any{"a\nb", p.ID}, "products_name_text"},
		{"escape in a description", "UPDATE products SET description = $1 WHERE id = $2", []any{"a\x1b[0m", p.ID}, "products_description_text"},
		{"category that is not a slug", "UPDATE products SET category = 'Home Office' WHERE id = $1", []any{p.ID}, "products_category_slug"},
		{"unknown certification", "UPDATE products SET certifications = ARRAY['fsc', 'green-ish'] WHERE id = $1", []any{p.ID}, "products_certifications_known"},
		{"user name too long", "UPDATE users SET name = repeat('x', 151) WHERE id = $1", []any{u.ID}, "users_name_length"},
		{"empty user name", "UPDATE users SET name = '' WHERE id = $1", []any{u.ID}, "users_name_length"},
		{"control character in a user name", "UPDATE users SET name = $1 WHERE id = $2", []any{"Ada\u009b", u.ID}, "users_name_text"},
		{"control character in an email", "UPDATE users SET email = $1 WHERE id = $2", []any{"ada\x7f@example.org", u.ID}, "users_email_text"},
		{"empty token hash", "UPDATE refresh_tokens SET hash = '' WHERE id = $1", []any{tk.ID}, "refresh_tokens_hash_present"},
		{"order in an unsupported currency", "UPDATE orders SET currency = 'XXX' WHERE id = $1", []any{o.ID}, "orders_currency_supported"},
		{"idempotency key that is not printable ASCII", "UPDATE orders SET idempotency_key = 'clé' WHERE id = $1", []any{o.ID}, "orders_idempotency_key_printable"},
		{"order line name with a control character", "UPDATE order_lines SET name = $1 WHERE order_id = $2", []any{"Soap\x07", o.ID}, "order_lines_name_text"},
		{"order line in an unsupported currency", "UPDATE order_lines SET currency = 'XXX' WHERE order_id = $1", []any{o.ID}, "order_lines_currency_supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.DB().DB.ExecContext(ctx, tt.sql, tt.args...)
			require.Error(t, err, "the schema must refuse this")
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	// U+0000 cannot be stored at all: pgx's parameters are refused
	// (SQLSTATE 22021), and the stores refuse it before the database.
	_, err := db.DB().DB.ExecContext(ctx, "UPDATE products SET name = $1 WHERE id = $2", "a\x00b", p.ID)
	require.ErrorContains(t, err, "22021")

	// What the schema refuses reaches callers as ErrInvalid naming the
	// field, never as a raw driver error.
	_, err = porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: p.ID, Delta: 2_000_000_000, At: porttest.Now()})
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "stock above the maximum")
	bad := porttest.NewOrder(porttest.NewID(), porttest.Line(p, 1))
	err = db.Orders().Create(ctx, bad)
	require.ErrorIs(t, err, ecolaura.ErrInvalid, "order of an unknown user (foreign key)")
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "user_id", ve.Fields[0].Field, "the field is named after the constraint's column")
}

// sharedRules is the migration that states the stores' shared rules in the
// schema.
const (
	sharedRules       = "../../migrations/20260301000001_shared_store_rules.tx"
	variantsMigration = "../../migrations/20261211000001_variants_and_inventory.tx"
)

// execMigrationFile runs the statements of one migration file in a
// transaction.
func execMigrationFile(t *testing.T, db *postgres.Database, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	tx, err := db.DB().DB.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range strings.Split(string(raw), "--bun:split") {
		_, err := tx.ExecContext(t.Context(), stmt)
		require.NoError(t, err, "%s: %s", path, stmt)
	}
	require.NoError(t, tx.Commit())
}

// TestSharedRulesMigrationFixesExistingRows stores rows that an earlier
// schema accepted and the shared rules refuse (a stock above the maximum,
// control characters, a category that is not a slug, an unknown
// certification, an over-long user name), applies the migration, and
// expects every row brought within the rules and the product editable and
// restockable again: the migration never leaves a row that an UPDATE would
// refuse.
func TestSharedRulesMigrationFixesExistingRows(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	u := porttest.NewUser()
	require.NoError(t, db.Users().Create(ctx, u))
	p := porttest.NewProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, p))
	o := porttest.NewOrder(u.ID, porttest.Line(p, 1))
	require.NoError(t, db.Orders().Create(ctx, o))
	execMigrationFile(t, db, variantsMigration+".down.sql")
	execMigrationFile(t, db, sharedRules+".down.sql")
	sqlDB := db.DB().DB
	legacy := []struct {
		sql  string
		args []any
	}{
		{`UPDATE products SET stock = 1500000000, name = $1, description = $2, category = 'Home  Office!',
			certifications = ARRAY['fsc', 'green-ish'] WHERE id = $3`, []any{"Brush\x01 \u0085deluxe", "Line one\x1b[0m\r\n\tLine two", p.ID}},
		{"UPDATE users SET name = $1 WHERE id = $2", []any{"Ada\u009b " + strings.Repeat("x", 160), u.ID}},
		{"UPDATE order_lines SET name = $1 WHERE order_id = $2", []any{"Brush\x07", o.ID}},
	}
	for _, l := range legacy {
		_, err := sqlDB.ExecContext(ctx, l.sql, l.args...)
		require.NoError(t, err, "without the constraints the legacy row is accepted: %s", l.sql)
	}

	execMigrationFile(t, db, sharedRules+".up.sql")
	execMigrationFile(t, db, variantsMigration+".up.sql")

	got, err := db.Products().Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, ecolaura.MaxStock, got.Stock)
	assert.Equal(t, "Brush   deluxe", got.Name)
	assert.Equal(t, "Line one [0m\r\n\tLine two", got.Description, "descriptions keep TAB, CR and LF")
	assert.Equal(t, "home-office", got.Category)
	assert.Equal(t, []ecolaura.Certification{ecolaura.CertFSC}, got.Metrics.Certifications)
	require.NoError(t, got.Validate(), "the migrated product follows every rule")
	got.Description = "Edited after the migration"
	_, err = db.Products().Update(ctx, got)
	require.NoError(t, err, "the product is editable")
	restocked, err := porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: p.ID, Delta: 1, At: porttest.Now(), Saturate: true})
	require.NoError(t, err, "a cancellation can restock it")
	assert.Equal(t, ecolaura.MaxStock, restocked.Stock)

	gotUser, err := db.Users().Get(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Ada  "+strings.Repeat("x", 145), gotUser.Name)
	require.NoError(t, ports.ValidateStoredUser(gotUser))
	gotOrder, err := db.Orders().Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, "Brush ", gotOrder.Lines[0].Name)

	_, err = sqlDB.ExecContext(ctx, "UPDATE inventory_levels SET on_hand = $1 WHERE variant_id = $2", ecolaura.MaxStock+1, p.ID)
	require.ErrorContains(t, err, "inventory_levels_on_hand_check", "the constraints are in place")
}

// The audit trail is append-only in the database itself: whatever role
// the application connects as, UPDATE, DELETE and TRUNCATE of
// audit_events fail, and the event stays as it was.
func TestAuditEventsAppendOnly(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	e := porttest.NewAuditEvent(porttest.NewID(), ecolaura.EntityProduct, porttest.NewID())
	require.NoError(t, db.Audit().Append(ctx, e))
	for _, stmt := range []string{
		"UPDATE audit_events SET action = 'forged' WHERE id = ?",
		"DELETE FROM audit_events WHERE id = ?",
		"TRUNCATE audit_events",
	} {
		t.Run(strings.Fields(stmt)[0], func(t *testing.T) {
			var err error
			if strings.Contains(stmt, "?") {
				_, err = db.DB().NewRaw(stmt, string(e.ID)).Exec(ctx)
			} else {
				_, err = db.DB().NewRaw(stmt).Exec(ctx)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "append-only")
			page, err := db.Audit().List(ctx, ports.AuditQuery{EntityID: e.EntityID, Limit: 10})
			require.NoError(t, err)
			require.Len(t, page.Items, 1, "the event is still there")
			assert.Equal(t, e.Action, page.Items[0].Action, "unchanged")
		})
	}
}

// Passport versions are append-only in the database itself: UPDATE, DELETE
// and TRUNCATE of passport_versions fail, and the version stays as it was.
func TestPassportVersionsAppendOnly(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	v := porttest.NewPassportVersion(porttest.NewID(), 1, porttest.NewID())
	require.NoError(t, db.Passports().Append(ctx, v))
	for _, stmt := range []string{
		"UPDATE passport_versions SET passport = '{}'::jsonb WHERE product_id = ?",
		"DELETE FROM passport_versions WHERE product_id = ?",
		"TRUNCATE passport_versions",
	} {
		t.Run(strings.Fields(stmt)[0], func(t *testing.T) {
			var err error
			if strings.Contains(stmt, "?") {
				_, err = db.DB().NewRaw(stmt, string(v.ProductID)).Exec(ctx)
			} else {
				_, err = db.DB().NewRaw(stmt).Exec(ctx)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "append-only")
			got, err := db.Passports().Latest(ctx, v.ProductID)
			require.NoError(t, err)
			assert.Equal(t, v, got, "unchanged")
		})
	}
}

// TestVariantsMigrationMovesExistingData builds a database at the schema
// before variants (the variants migration undone), stores products, a user
// and orders in it with SQL as that schema had them, migrates up and
// expects every product to have exactly one default variant (the product's
// ID, its price, its stock at the default location with an "initial"
// movement) and every order to read as it was, its lines naming the
// default variant. Migrating down restores the old shape, and refuses
// while a product has more than one variant.
func TestVariantsMigrationMovesExistingData(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	sqlDB := db.DB().DB
	execMigrationFile(t, db, variantsMigration+".down.sql")

	u := porttest.NewUser()
	require.NoError(t, db.Users().Create(ctx, u))
	cat := porttest.UniqueCategory()
	type legacyProduct struct {
		id    ecolaura.ID
		price int64
		stock int
	}
	legacy := []legacyProduct{{porttest.NewID(), 999, 7}, {porttest.NewID(), 2500, 0}, {porttest.NewID(), 120, 1000}}
	for i, p := range legacy {
		_, err := sqlDB.ExecContext(ctx, `INSERT INTO products (id, name, description, category, price_minor, currency, stock, score,
			created_at, updated_at, version) VALUES ($1, $2, '', $3, $4, 'EUR', $5, 50, now(), now(), 3)`,
			p.id, "Legacy product "+string(rune('A'+i)), cat, p.price, p.stock)
		require.NoError(t, err, "the schema before variants takes the product")
	}
	orderID := porttest.NewID()
	_, err := sqlDB.ExecContext(ctx, `INSERT INTO orders (id, user_id, status, currency, subtotal_minor, total_minor, footprint_g,
		created_at, updated_at, version) VALUES ($1, $2, 'confirmed', 'EUR', 4498, 4498, 0, now(), now(), 2)`, orderID, u.ID)
	require.NoError(t, err)
	for i, l := range []struct {
		p   legacyProduct
		qty int
	}{{legacy[0], 2}, {legacy[1], 1}} {
		_, err := sqlDB.ExecContext(ctx, `INSERT INTO order_lines (order_id, line_no, product_id, name, currency, unit_price_minor,
			quantity, total_minor, unit_footprint_g) VALUES ($1, $2, $3, 'Legacy line', 'EUR', $4, $5, $6, 0)`,
			orderID, i, l.p.id, l.p.price, l.qty, l.p.price*int64(l.qty))
		require.NoError(t, err)
	}

	execMigrationFile(t, db, variantsMigration+".up.sql")

	for _, p := range legacy {
		got, err := db.Products().Get(ctx, p.id)
		require.NoError(t, err)
		require.Len(t, got.Variants, 1, "every product has exactly one variant")
		v := got.Variants[0]
		assert.Equal(t, p.id, v.ID, "the default variant has the product's ID")
		assert.Equal(t, ecolaura.NewMoney(p.price, "EUR"), v.Price, "it carries the product's price")
		assert.Equal(t, p.price, got.Price.Amount)
		assert.Equal(t, p.stock, got.Stock, "and its stock")
		assert.Equal(t, ecolaura.ProductActive, got.Status, "existing products are active")
		assert.EqualValues(t, 3, got.Version, "the migration leaves versions alone")
		require.NoError(t, got.Validate(), "the migrated product follows every rule")
		ms, err := db.Inventory().Movements(ctx, ports.MovementQuery{VariantID: v.ID, Limit: 10})
		require.NoError(t, err)
		if p.stock > 0 {
			require.Len(t, ms, 1)
			assert.Equal(t, ecolaura.MoveInitial, ms[0].Reason)
			assert.Equal(t, p.stock, ms[0].Delta)
		} else {
			assert.Empty(t, ms)
		}
	}
	o, err := db.Orders().Get(ctx, orderID)
	require.NoError(t, err)
	require.Len(t, o.Lines, 2)
	for i, l := range o.Lines {
		assert.Equal(t, legacy[i].id, l.ProductID)
		assert.Equal(t, legacy[i].id, l.VariantID, "an existing line names its product's default variant")
	}
	assert.Equal(t, ecolaura.StatusConfirmed, o.Status)
	assert.Equal(t, int64(4498), o.Total.Amount)

	// A sale and a catalog edit work on the migrated rows.
	_, err = porttest.AdjustStock(ctx, db, porttest.StockAdjustment{ProductID: legacy[0].id, Delta: -2, At: porttest.Now()})
	require.NoError(t, err)

	// Down refuses while a product has two variants, and names why.
	multi := porttest.NewVariantProduct(porttest.UniqueCategory())
	require.NoError(t, db.Products().Create(ctx, multi))
	raw, err := os.ReadFile(variantsMigration + ".down.sql")
	require.NoError(t, err)
	_, err = sqlDB.ExecContext(ctx, strings.Split(string(raw), "--bun:split")[0])
	require.ErrorContains(t, err, "cannot migrate down: 1 product(s) have more than one variant")
	require.NoError(t, db.Products().Delete(ctx, multi.ID))

	execMigrationFile(t, db, variantsMigration+".down.sql")
	var stock int
	var price int64
	require.NoError(t, sqlDB.QueryRowContext(ctx, "SELECT stock, price_minor FROM products WHERE id = $1", legacy[0].id).Scan(&stock, &price))
	assert.Equal(t, 5, stock, "down restores each product's stock from its default variant")
	assert.Equal(t, int64(999), price)
	execMigrationFile(t, db, variantsMigration+".up.sql")
}

const searchMigration = "../../migrations/20261214000010_product_search.tx"

// The search migration fills products.search_terms and search_words from
// existing products and variants without touching their versions or the
// cache journal, so existing products are found by SKU, option value and
// with typos; down and up again work.
func TestSearchMigrationIndexesExistingProducts(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	sqlDB := db.DB().DB
	p := porttest.NewVariantProduct(porttest.UniqueCategory(), func(p *ecolaura.Product) {
		p.Name, p.Description = "Linen apron", "Washed linen."
		p.Variants[2].Options["colour"] = "charcoal"
	})
	require.NoError(t, db.Products().Create(ctx, p))
	execMigrationFile(t, db, searchMigration+".down.sql")
	var journal int
	require.NoError(t, sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM product_cache_journal").Scan(&journal))

	execMigrationFile(t, db, searchMigration+".up.sql")
	var terms string
	var version int64
	require.NoError(t, sqlDB.QueryRowContext(ctx, "SELECT search_terms, version FROM products WHERE id = $1", p.ID).Scan(&terms, &version))
	assert.Equal(t, textsearch.VariantText(p), terms, "the variants' SKUs and option values, as the store writes them")
	assert.EqualValues(t, 1, version, "no version bump")
	var after int
	require.NoError(t, sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM product_cache_journal").Scan(&after))
	assert.Equal(t, journal, after, "no cache journal row")
	var words []string
	rows, err := sqlDB.QueryContext(ctx, "SELECT word FROM search_words ORDER BY word COLLATE \"C\"")
	require.NoError(t, err)
	for rows.Next() {
		var w string
		require.NoError(t, rows.Scan(&w))
		words = append(words, w)
	}
	require.NoError(t, rows.Err())
	assert.Subset(t, words, textsearch.ProductWords(p), "the catalog's words")

	for _, q := range []string{strings.ToLower(p.Variants[0].SKU), "charcoal", "linnen apron"} {
		page, err := db.Products().List(ctx, ports.ProductQuery{Filter: ecolaura.ProductFilter{Category: p.Category, Query: q},
			Sort: ecolaura.SortRelevance, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1, "%q finds the migrated product", q)
		assert.Equal(t, p.ID, page.Items[0].ID)
	}
}
