package postgres_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// BenchmarkSearchSeeded measures a customer's relevance search (active
// products, first page of 20, as GET /api/v2/products?q=... asks the store)
// on the database of ECOLAURA_BENCH_SEEDED_URL, seeded by `ecolaura seed`
// (scripts/bench/search.sh makes one with 1M products and runs this). It
// reports the median and 95th percentile latency of one List call and the
// number of matches. Skipped without the variable.
func BenchmarkSearchSeeded(b *testing.B) {
	url := os.Getenv("ECOLAURA_BENCH_SEEDED_URL")
	if url == "" {
		b.Skip("ECOLAURA_BENCH_SEEDED_URL names no seeded database")
	}
	ctx := b.Context()
	db, err := postgres.Open(ctx, postgres.Config{URL: url})
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	for _, tc := range []struct{ name, q string }{
		{"two-words", "bamboo toothbrush"},
		{"two-common-words", "organic cotton"},
		{"phrase", `"organic cotton"`},
		{"exclusion", "toothbrush -bamboo"},
		{"prefix", "refillable wat"},
		{"typos", "bambo toothbrsh"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			q := ports.ProductQuery{Filter: ecolaura.ProductFilter{Query: tc.q, Status: ecolaura.ProductActive},
				Sort: ecolaura.SortRelevance, Limit: 20}
			counted := q
			counted.WithTotal = true
			page, err := db.Products().List(ctx, counted)
			require.NoError(b, err)
			require.NotEmpty(b, page.Items, "%q finds something", tc.q)
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := db.Products().List(ctx, q); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(page.Total), "matches")
		})
	}
}
