package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/textsearch"
	"github.com/ecolaura/ecolaura/ports"
)

// A search term needs 3 letters or digits in a row (issue 10 item 15).
func TestListRefusesSearchesWithoutThreeLettersInARow(t *testing.T) {
	db := openDB(t, postgres.Config{})
	for _, q := range []string{"%", "0%", "_", "a_b", `\`, `k\s`, `'s "m`, "o"} {
		_, err := db.Products().List(t.Context(), ports.ProductQuery{Filter: ecolaura.ProductFilter{Query: q}, Limit: 100})
		require.ErrorIs(t, err, ecolaura.ErrInvalid, "%q has no 3 letters or digits in a row", q)
	}
}

// The memory store's search (internal/textsearch) follows PostgreSQL's:
// the same matches and the same ranks (in RankKey units, give or take
// one for rounding) as to_tsvector/ts_rank on the same weighted document,
// and the same word similarity as pg_trgm.
func TestSearchRulesAreThoseOfPostgreSQL(t *testing.T) {
	db := openDB(t, postgres.Config{})
	ctx := t.Context()
	docs := [][3]string{
		{"Bamboo toothbrush", "", "A toothbrush with a compostable handle."},
		{"Charcoal toothbrush", "TB-CH charcoal", "Soft bristles infused with charcoal; the handle is made of bamboo."},
		{"Organic cotton T-shirt", "TS-S S oat TS-M M charcoal", "A classic tee in organic cotton, organic and soft."},
		{"Kids' shirt", "", "A small shirt in organic cotton for kids."},
		{"Hemp shirt", "", "Made of hemp and organic linen, with cotton buttons."},
		{"Bag of oats", "OATS-1", "Rolled oats from local farms; 1000 g, 100% organic."},
		{"Éco brosse à dents", "", "Brosse en bambou."},
		{"Toothbrush holder", "", "Holds two toothbrushes. Stoneware. Toothbrush toothbrush toothbrush."},
		{"Linen apron", "LA-Z9-OA M oat LA-Z9-CH M charcoal", "A kitchen apron of washed linen."},
	}
	queries := []string{"bamboo toothbrush", "toothbrush", "toothbr", "toothbrushes", "charcoal", `"organic cotton"`,
		"organic cott", "shirt -kids", `cotton -"organic cotton"`, "apron or oats", "bag of oats", `"bag of oats"`,
		"100%", "1000", "oats-1", "la-z9-ch", "tb-ch", "brosse", "éco", "the", "soft organic cotton tee", "kids shirt",
		"t-shirt", "-kids", "toothbrush toothbrush holder"}
	for _, q := range queries {
		sq := textsearch.Parse(q)
		for _, d := range docs {
			doc := textsearch.NewDocument(textsearch.Field{Text: d[0], Weight: textsearch.WeightA},
				textsearch.Field{Text: d[1], Weight: textsearch.WeightB}, textsearch.Field{Text: d[2], Weight: textsearch.WeightC})
			args := []any{d[0], d[1], d[2]}
			tsq := sq.TSQuery(func(a any) string { args = append(args, a); return "?" })
			var match bool
			var rank float64
			err := db.DB().NewRaw(`SELECT coalesce(doc @@ tsq, false), coalesce(ts_rank(doc, tsq), 0) FROM (SELECT
				setweight(to_tsvector('english', ?::text), 'A') || setweight(to_tsvector('english', ?::text), 'B') ||
				setweight(to_tsvector('english', ?::text), 'C') AS doc, `+tsq+` AS tsq) x`, args...).Scan(ctx, &match, &rank)
			require.NoError(t, err)
			assert.Equal(t, match, sq.Match(doc), "%q @@ %q", d, q)
			if match {
				assert.InDelta(t, textsearch.RankKey(float32(rank)), textsearch.RankKey(sq.Rank(doc)), 1, "ts_rank(%q, %q)", d, q)
			}
		}
	}
	var known []string
	for _, d := range docs {
		known = append(known, textsearch.CatalogWords(d[0], d[1], d[2])...)
	}
	for _, w := range []string{"bambo", "toothbrsh", "organc", "coton", "brose", "chacoal", "linnen", "aprn", "éco", "oat"} {
		for _, k := range known {
			var sim float64
			require.NoError(t, db.DB().NewRaw("SELECT similarity(?, ?)", w, k).Scan(ctx, &sim))
			assert.InDelta(t, sim, textsearch.Similarity(w, k), 1e-6, "similarity(%q, %q)", w, k)
		}
	}
}
