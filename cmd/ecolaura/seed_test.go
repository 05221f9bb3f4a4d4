package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/demo"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

func TestSeedCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no database", []string{"seed"}, nil, 2, "ECOLAURA_DATABASE_URL"},
		{"negative count", []string{"seed", "--products", "-1"}, map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, 2, "--products"},
		{"zero batch", []string{"seed", "--products", "10", "--batch", "0"}, map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, 2, "--batch"},
		{"extra argument", []string{"seed", "now"}, nil, 2, "unexpected arguments"},
		{"bad currency", []string{"seed"}, map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1:1/x", "ECOLAURA_CURRENCY": "XXX"}, 2, "ECOLAURA_CURRENCY"},
		{"unreachable database", []string{"seed"}, map[string]string{"ECOLAURA_DATABASE_URL": "postgres://x@127.0.0.1:1/x?sslmode=disable"}, 1, "open database (ECOLAURA_DATABASE_URL)"},
		{"help", []string{"seed", "--help"}, nil, 0, "--products"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, opsGetenv(tt.env), &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
}

func TestProductGenerator(t *testing.T) {
	gen, err := newProductGenerator(42, ecolaura.DefaultCurrency)
	require.NoError(t, err)
	gen.total = 5000
	ps := gen.batch(5000)
	ins, err := demo.Products()
	require.NoError(t, err)
	wantCats := map[string]bool{}
	for _, in := range ins {
		wantCats[in.Category] = true
	}
	cats, names, ids := map[string]int{}, map[string]bool{}, map[ecolaura.ID]bool{}
	var withoutMetrics, outOfStock, certified int
	for i, p := range ps {
		if i > 0 {
			assert.False(t, p.CreatedAt.Before(ps[i-1].CreatedAt), "created in generation order")
		}
		assert.WithinDuration(t, time.Now(), p.CreatedAt, 366*24*time.Hour, "created within the past year")
		require.NoError(t, p.Validate(), "%+v", p)
		_, err := ecolaura.ParseID(string(p.ID))
		require.NoError(t, err)
		assert.False(t, ids[p.ID], "duplicate id")
		ids[p.ID] = true
		assert.False(t, names[p.Name], "duplicate name %q", p.Name)
		names[p.Name] = true
		cats[p.Category]++
		assert.True(t, wantCats[p.Category], "category %q is not one of the score's references", p.Category)
		if p.Metrics == nil {
			withoutMetrics++
		} else {
			assert.Equal(t, ecolaura.ComputeScore(p.Category, *p.Metrics).Value, p.Score, "the score is computed from the metrics")
			if len(p.Metrics.Certifications) > 0 {
				certified++
			}
		}
		if p.Stock == 0 {
			outOfStock++
		}
		assert.Equal(t, ecolaura.DefaultCurrency, p.Price.Currency)
		assert.Equal(t, int64(1), p.Version)
	}
	shapes, skus, variants := map[int]int{}, map[string]bool{}, 0
	for _, p := range ps {
		shapes[len(p.Options)]++
		variants += len(p.Variants)
		assert.Equal(t, p.ID, p.Variants[0].ID, "the default variant's ID is the product's")
		stock := 0
		for _, v := range p.Variants {
			stock += v.Available
			if len(p.Options) > 0 {
				assert.False(t, skus[v.SKU], "duplicate SKU %q", v.SKU)
				skus[v.SKU] = true
			}
		}
		assert.Equal(t, stock, p.Stock, "the product's stock is its variants'")
	}
	assert.InDelta(t, 3.0, float64(variants)/float64(len(ps)), 0.15, "3 variants per product on average")
	for n, share := range map[int]float64{0: 0.3, 1: 0.4, 2: 0.3} {
		assert.InDelta(t, share, float64(shapes[n])/float64(len(ps)), 0.03, "products with %d options", n)
	}
	assert.Len(t, cats, len(wantCats), "every category appears")
	assert.NotZero(t, withoutMetrics, "some products have no metrics")
	assert.NotZero(t, outOfStock, "some products are out of stock")
	assert.NotZero(t, certified, "some products are certified")

	again, err := newProductGenerator(42, ecolaura.DefaultCurrency)
	require.NoError(t, err)
	p := again.product()
	assert.Equal(t, ps[0].Name, p.Name, "the same seed gives the same products")
	assert.Equal(t, ps[0].Price, p.Price)
}

func TestSeedPostgres(t *testing.T) {
	url := testenv.Postgres(t)
	env := opsGetenv(map[string]string{"ECOLAURA_DATABASE_URL": url})
	ctx := context.Background()
	seed := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"seed"}, args...), env, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, _, stderr := seed()
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "ecolaura migrate up", "an unmigrated schema says what to run")

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"migrate", "up"}, env, &out, &errOut), errOut.String())

	ins, err := demo.Products()
	require.NoError(t, err)
	code, stdout, stderr := seed()
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, fmt.Sprintf("seeded %d products", len(ins)))
	code, stdout, _ = seed()
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "demo catalog not loaded", "the demo catalog loads only into an empty catalog")

	code, stdout, stderr = seed("--products", "2500", "--batch", "1000", "--workers", "2")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^seeded 2500 products in [0-9.]+s \([0-9]+ rows/s\)\n$`, stdout)
	assert.NotContains(t, stderr, "[#", "no progress bar when stderr is not a terminal")

	db := opsSQL(t, url)
	var n, cats int
	require.NoError(t, db.QueryRow("SELECT count(*), count(DISTINCT category) FROM products").Scan(&n, &cats))
	assert.Equal(t, len(ins)+2500, n)
	assert.Equal(t, 12, cats)
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	var nilBar *progressBar
	nilBar.set(5) // a nil bar draws nothing and does not panic
	nilBar.finish()
	bar := &progressBar{w: &buf, total: 200}
	bar.set(200)
	bar.finish()
	assert.Contains(t, buf.String(), "[##############################] 100% 200/200")
	assert.False(t, isTerminal(&buf))
}

// TestSeedPostgresEmptyCatalog seeds an empty catalog, which takes the bulk
// load (indexes and constraints dropped and built again in one
// transaction): the same rows, and the schema of before.
func TestSeedPostgresEmptyCatalog(t *testing.T) {
	url := testenv.Postgres(t)
	env := opsGetenv(map[string]string{"ECOLAURA_DATABASE_URL": url})
	ctx := context.Background()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"migrate", "up"}, env, &out, &errOut), errOut.String())
	db := opsSQL(t, url)
	schema := func() string {
		var s string
		require.NoError(t, db.QueryRow(`SELECT string_agg(d, E'\n' ORDER BY d) FROM (
			SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public'
			UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
			 WHERE connamespace = 'public'::regnamespace) s`).Scan(&s))
		return s
	}
	before := schema()

	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run(ctx, []string{"seed", "--products", "1500", "--batch", "400"}, env, &out, &errOut), errOut.String())
	assert.Regexp(t, `^seeded 1500 products in `, out.String())
	assert.Equal(t, before, schema())
	var n, variants, levels, cats int
	require.NoError(t, db.QueryRow(`SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM product_variants),
		(SELECT count(*) FROM inventory_levels), (SELECT count(DISTINCT category) FROM products)`).Scan(&n, &variants, &levels, &cats))
	assert.Equal(t, 1500, n)
	assert.Equal(t, variants, levels)
	assert.Greater(t, variants, 3500, "3 variants per product on average")
	assert.Equal(t, 12, cats)
}
