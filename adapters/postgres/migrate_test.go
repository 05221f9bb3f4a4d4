package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/testenv"
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
		{"unknown driver", postgres.Config{URL: "postgres://localhost/x", Driver: "odbc"}, "driver"},
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

// Constraints in the database reject what slipped past Go: the errors are
// ErrInvalid naming the column or constraint, never a raw driver error.
func TestConstraintsInDatabase(t *testing.T) {
	for _, driver := range drivers {
		t.Run(string(driver), func(t *testing.T) {
			db := openDB(t, postgres.Config{Driver: driver})
			ctx := t.Context()
			tests := []struct {
				name  string
				edit  func(*ecolaura.Product)
				field string
			}{
				{"price above DECIMAL(10,2)", func(p *ecolaura.Product) { p.Price.Amount = ecolaura.MaxPriceMinor + 1 }, "price_minor"},
				{"negative stock", func(p *ecolaura.Product) { p.Stock = -1 }, "stock"},
				{"score above 100", func(p *ecolaura.Product) { p.Score = 101 }, "score"},
				{"bad currency", func(p *ecolaura.Product) { p.Price.Currency = "eur" }, "currency"},
				{"recycled content above 100", func(p *ecolaura.Product) { v := 101; p.Metrics.RecycledContent = &v }, "recycled_content"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					p := porttest.NewProduct(porttest.UniqueCategory(), tt.edit)
					err := db.Products().Create(ctx, p)
					require.ErrorIs(t, err, ecolaura.ErrInvalid)
					var ve *ecolaura.ValidationError
					require.ErrorAs(t, err, &ve)
					assert.Contains(t, ve.Fields[0].Field, tt.field)
				})
			}
			p := porttest.NewProduct(porttest.UniqueCategory(), func(p *ecolaura.Product) { p.Stock = ecolaura.MaxStock })
			require.NoError(t, db.Products().Create(ctx, p))
			_, err := db.Products().AdjustStock(ctx, ports.StockAdjustment{ProductID: p.ID, Delta: 2_000_000_000, At: porttest.Now()})
			require.ErrorIs(t, err, ecolaura.ErrInvalid, "int overflow is invalid input")
			o := porttest.NewOrder(porttest.NewID(), porttest.Line(p, 1))
			require.ErrorIs(t, db.Orders().Create(ctx, o), ecolaura.ErrInvalid, "order of an unknown user")
		})
	}
}
