package textsearch_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/textsearch"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want [][]textsearch.Term
	}{
		{"bamboo toothbrush", [][]textsearch.Term{{{Text: "bamboo"}, {Text: "toothbrush", Prefix: true}}}},
		{`"organic cotton" tee`, [][]textsearch.Term{{{Text: "organic cotton", Quoted: true}, {Text: "tee", Prefix: true}}}},
		{`tee "organic cotton`, [][]textsearch.Term{{{Text: "tee"}, {Text: "organic cotton", Quoted: true}}}},
		{"shirt -kids", [][]textsearch.Term{{{Text: "shirt"}, {Text: "kids", Negated: true}}}},
		{`shirt -"for kids"`, [][]textsearch.Term{{{Text: "shirt"}, {Text: "for kids", Negated: true, Quoted: true}}}},
		{"apron OR tote bag", [][]textsearch.Term{{{Text: "apron"}}, {{Text: "tote"}, {Text: "bag", Prefix: true}}}},
		{"or apron", [][]textsearch.Term{{{Text: "or"}, {Text: "apron", Prefix: true}}}},
		{"t-shirt", [][]textsearch.Term{{{Text: "t-shirt"}}}},
		{"100%", [][]textsearch.Term{{{Text: "100", Prefix: true}}}},
		{"soap - bar", [][]textsearch.Term{{{Text: "soap"}, {Text: "bar", Prefix: true}}}},
		{"soap the", [][]textsearch.Term{{{Text: "soap"}, {Text: "the"}}}},
		{"a|b&c!(d)", [][]textsearch.Term{{{Text: "a"}, {Text: "b"}, {Text: "c"}, {Text: "d", Prefix: true}}}},
		{"   ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, textsearch.Parse(tt.in).Groups)
		})
	}
}

func TestMatch(t *testing.T) {
	doc := textsearch.NewDocument(
		textsearch.Field{Text: "Organic cotton T-shirts", Weight: textsearch.WeightA},
		textsearch.Field{Text: "TS-OAT-M oat M", Weight: textsearch.WeightB},
		textsearch.Field{Text: "A bag of oats, for the kids.", Weight: textsearch.WeightC})
	tests := []struct {
		q    string
		want bool
	}{
		{"organic cotton", true},
		{"ORGANICALLY", true}, // stemmed to "organ" as PostgreSQL does
		{"organza", false},
		{"organ", true}, // prefix of the lexeme "organ"
		{"shirt", true},
		{"shirts cotton", true},
		{`"cotton organic"`, false},
		{`"organic cotton"`, true},
		{`"bag of oats"`, true},
		{`"bag oats"`, false},
		{"shirt -kids", false},
		{"shirt -dogs", true},
		{"dogs or cats", false},
		{"dogs or oat", true},
		{"ts-oat-m", true},
		{"the", false},
		{"-dogs", false}, // exclusions only: nothing
		{"dogs or -kids", false},
		{"shirt or -kids", true},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			assert.Equal(t, tt.want, textsearch.Parse(tt.q).Match(doc))
		})
	}
}

func TestRankWeighsFields(t *testing.T) {
	q := textsearch.Parse("charcoal")
	name := textsearch.NewDocument(textsearch.Field{Text: "Charcoal soap", Weight: textsearch.WeightA})
	variant := textsearch.NewDocument(textsearch.Field{Text: "Soap", Weight: textsearch.WeightA}, textsearch.Field{Text: "charcoal", Weight: textsearch.WeightB})
	desc := textsearch.NewDocument(textsearch.Field{Text: "Soap", Weight: textsearch.WeightA}, textsearch.Field{Text: "", Weight: textsearch.WeightB},
		textsearch.Field{Text: "with charcoal", Weight: textsearch.WeightC})
	assert.Greater(t, q.Rank(name), q.Rank(variant))
	assert.Greater(t, q.Rank(variant), q.Rank(desc))
	assert.Positive(t, q.Rank(desc))

	two := textsearch.Parse("bamboo toothbrush")
	near := textsearch.NewDocument(textsearch.Field{Text: "Bamboo toothbrush", Weight: textsearch.WeightA})
	far := textsearch.NewDocument(textsearch.Field{Text: "Toothbrush", Weight: textsearch.WeightA},
		textsearch.Field{Text: "the handle is made of bamboo", Weight: textsearch.WeightC})
	assert.Greater(t, two.Rank(near), two.Rank(far))
	assert.Equal(t, textsearch.RankKey(0.5), int64(500000))
}

func TestSimilarityAndCorrections(t *testing.T) {
	assert.InDelta(t, 5.0/8, textsearch.Similarity("bambo", "Bamboo"), 1e-6)
	assert.Zero(t, textsearch.Similarity("--", "bamboo"))
	assert.Len(t, textsearch.Trigrams("Bamboo t-shirt"), 7+2+6)

	known := textsearch.CatalogWords("Bamboo toothbrush, 2 toothbrushes; #12345 bamboos", "TB-OAT", "Bambou brosse à dents")
	assert.Equal(t, []string{"bamboo", "bamboos", "bambou", "brosse", "dents", "oat", "toothbrush", "toothbrushes"}, known)

	q := textsearch.Parse(`bambo toothbrsh -kids "orgnic" tb-oat 12345`)
	assert.Equal(t, []string{"bambo", "toothbrsh"}, q.Correctable(), "single words with a letter, not excluded or quoted")
	sug := textsearch.Suggest(q.Correctable(), known)
	assert.Equal(t, map[string][]string{"bambo": {"bamboo", "bambou", "bamboos"}, "toothbrsh": {"toothbrush"}}, sug)
	c, ok := q.Corrected(sug)
	require.True(t, ok)
	assert.Equal(t, []string{"bamboo", "bambou", "bamboos"}, c.Groups[0][0].Alternatives)
	assert.Nil(t, q.Groups[0][0].Alternatives, "q is left alone")
	doc := textsearch.NewDocument(textsearch.Field{Text: "Bamboo toothbrush", Weight: textsearch.WeightA})
	assert.False(t, textsearch.Parse("bambo toothbrsh").Match(doc))
	c, _ = textsearch.Parse("bambo toothbrsh").Corrected(sug)
	assert.True(t, c.Match(doc))
	_, ok = textsearch.Parse("zzzz").Corrected(sug)
	assert.False(t, ok)
}

func TestVariantText(t *testing.T) {
	p := ecolaura.Product{
		Options: []ecolaura.ProductOption{{Name: "size", Values: []string{"S", "M"}}, {Name: "colour", Values: []string{"oat"}}},
		Variants: []ecolaura.Variant{
			{SKU: "TS-S", Options: map[string]string{"size": "S", "colour": "oat"}},
			{Options: map[string]string{"size": "M", "colour": "oat"}},
		},
	}
	assert.Equal(t, "TS-S S oat M oat", textsearch.VariantText(p))
	doc := textsearch.ProductDocument(ecolaura.Product{Name: "Tee", Description: "Soft.", Options: p.Options, Variants: p.Variants})
	require.True(t, textsearch.Parse("ts-s").Match(doc))
}

func TestTSQuery(t *testing.T) {
	var args []any
	e := textsearch.Parse(`shirt -"for kids" or tee`).TSQuery(func(a any) string { args = append(args, a); return "?" })
	assert.Equal(t, "((phraseto_tsquery('english', ?) && !!phraseto_tsquery('english', ?)) || (to_tsquery('english', ?)))", e)
	assert.Equal(t, []any{"shirt", "for kids", "'tee':*"}, args)
	assert.Equal(t, "NULL::tsquery", textsearch.Parse(" ").TSQuery(func(any) string { return "?" }))
	assert.Equal(t, "NULL::tsquery", textsearch.Parse("-kids or the -baby").TSQuery(func(any) string { return "?" }))
	args = nil
	e = textsearch.Parse("-kids or tee").TSQuery(func(a any) string { args = append(args, a); return "?" })
	assert.Equal(t, "((to_tsquery('english', ?)))", e)
}
