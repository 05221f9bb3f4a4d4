// Package textsearch is the product search both stores share: a search in
// the syntax of PostgreSQL's websearch_to_tsquery (words that must all
// occur, "quoted phrases", -exclusions, OR) with prefix matching on the last
// word, an English analyser like PostgreSQL's "english" text search
// configuration (the same Snowball stemmer and stop words), ts_rank's
// ranking, and typo corrections: words of the catalog whose pg_trgm
// similarity to a word of the search is high enough.
//
// The PostgreSQL store builds its tsquery from [Parse] (see [Query.TSQuery])
// and lets the database analyse, match and rank; the memory store does the
// same in Go with [Document], [Query.Match], [Query.Rank] and
// [Similarity], so both find and order the same products for ordinary text
// (they can differ on PostgreSQL's special tokens: e-mail addresses, URLs,
// file paths, signed numbers).
package textsearch

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Config is the PostgreSQL text search configuration the analyser follows.
const Config = "english"

// Weight is a field's weight, as PostgreSQL's setweight labels: A ranks
// highest.
type Weight uint8

// The weights, in PostgreSQL's order (D is the default).
const (
	WeightD Weight = iota
	WeightC
	WeightB
	WeightA
)

// rankWeights are ts_rank's default weights of D, C, B and A.
var rankWeights = [4]float32{0.1, 0.2, 0.4, 1.0}

// Limits of PostgreSQL's tsvector that the analyser keeps.
const (
	maxPos     = 16383 // positions above are stored as this
	maxNumPos  = 256   // positions kept per lexeme
	maxWordLen = 2047  // longer words are not indexed
)

// Term is one operand of a search.
type Term struct {
	// Text is the operand as typed: a word (it may contain punctuation,
	// which separates the words of a phrase) or a quoted phrase's content.
	Text string
	// Negated excludes the products that match it (-word, -"a phrase").
	Negated bool
	// Quoted marks a "quoted phrase".
	Quoted bool
	// Prefix makes a single word match every lexeme that starts with it
	// (set on the search's last word while it is being typed).
	Prefix bool
	// Alternatives are words that may stand for the term instead (the
	// corrections of a typo, see [Query.Corrected]).
	Alternatives []string
}

// Query is a parsed search: it matches what one of its groups matches, and
// a group matches what all of its terms match.
type Query struct {
	Groups [][]Term
}

// Parse reads s in websearch syntax: words separated by spaces must all
// occur, "a quoted phrase" must occur in that order, a word or phrase
// preceded by - must not occur, and OR between two operands (any case)
// makes either enough. Other punctuation separates words. The last
// operand, when it is a single word (one run of letters and digits, with
// any punctuation around it) and neither quoted nor excluded, also matches
// the lexemes it begins.
func Parse(s string) Query {
	var (
		q     Query
		group []Term
		or    bool
	)
	add := func(t Term) {
		if or && len(group) > 0 {
			q.Groups = append(q.Groups, group)
			group = nil
		}
		or = false
		group = append(group, t)
	}
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r) || isOperatorChar(r):
			i++
			continue
		}
		neg := false
		for i < len(rs) && rs[i] == '-' {
			neg = !neg
			i++
		}
		if i >= len(rs) || unicode.IsSpace(rs[i]) {
			continue // a lone "-" is punctuation
		}
		if rs[i] == '"' {
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			add(Term{Text: string(rs[i+1 : j]), Negated: neg, Quoted: true})
			i = j + 1
			continue
		}
		j := i
		for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '"' && !isOperatorChar(rs[j]) {
			j++
		}
		word := string(rs[i:j])
		i = j
		if !neg && strings.EqualFold(word, "or") && len(group) > 0 {
			or = true
			continue
		}
		add(Term{Text: word, Negated: neg})
	}
	if len(group) > 0 {
		q.Groups = append(q.Groups, group)
	}
	// The last word typed matches as a prefix.
	if n := len(q.Groups); n > 0 {
		g := q.Groups[n-1]
		last := &g[len(g)-1]
		if ws := words(last.Text); !last.Negated && !last.Quoted && len(ws) == 1 && !stopWords[strings.ToLower(ws[0])] {
			last.Text, last.Prefix = ws[0], true
		}
	}
	return q
}

// isOperatorChar reports whether r is one of the tsquery operator
// characters, which a web search treats as spaces.
func isOperatorChar(r rune) bool {
	return strings.ContainsRune("!&|()<>:*\\'", r)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// TSQuery returns the PostgreSQL expression of the tsquery of q, with its
// texts as bind parameters: a term is phraseto_tsquery('english', $n) (or
// to_tsquery('english', $n) of a quoted word with :* for a prefix), terms
// are joined with && (!! for an exclusion) and groups with ||; a term with
// alternatives is the || of it and phraseto_tsquery of each. placeholder
// returns the parameter marker of the next argument. Groups without a
// term that is not an exclusion (or whose only such terms are stop words)
// are left out; a search without any group left yields "NULL::tsquery"
// (it matches nothing).
func (q Query) TSQuery(placeholder func(arg any) string) string {
	var groups []string
	for _, g := range q.searchable() {
		var terms []string
		for _, t := range g {
			var e string
			if t.Prefix {
				e = "to_tsquery('" + Config + "', " + placeholder("'"+t.Text+"':*") + ")"
			} else {
				e = "phraseto_tsquery('" + Config + "', " + placeholder(t.Text) + ")"
			}
			if len(t.Alternatives) > 0 {
				alts := []string{e}
				for _, a := range t.Alternatives {
					alts = append(alts, "phraseto_tsquery('"+Config+"', "+placeholder(a)+")")
				}
				e = "(" + strings.Join(alts, " || ") + ")"
			}
			if t.Negated {
				e = "!!" + e
			}
			terms = append(terms, e)
		}
		groups = append(groups, "("+strings.Join(terms, " && ")+")")
	}
	if len(groups) == 0 {
		return "NULL::tsquery"
	}
	return "(" + strings.Join(groups, " || ") + ")"
}

// token is one word of a text: its lexeme ("" for a stop word) and position.
type token struct {
	lex string
	pos int
}

// analyze splits text into words (runs of letters and digits) numbered from
// start+1 and normalises each as the "english" configuration does: lower
// case; a word of letters is dropped when it is a stop word (keeping its
// position) and otherwise stemmed; other words (with digits) are kept as
// they are. Words joined by single hyphens, each with a letter
// ("t-shirt", "la-z9"), come first as the compound, then word by word, as
// PostgreSQL's parser gives them.
func analyze(text string, start int) []token {
	var out []token
	pos := start
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i]) {
			i++
			continue
		}
		var parts []string
		for {
			j := i
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			parts = append(parts, string(rs[i:j]))
			i = j
			if i+1 < len(rs) && rs[i] == '-' && isWordRune(rs[i+1]) {
				i++
				continue
			}
			break
		}
		if len(parts) > 1 && !slices.ContainsFunc(parts, func(p string) bool { return !strings.ContainsFunc(p, unicode.IsLetter) }) {
			if w := strings.Join(parts, "-"); len(w) <= maxWordLen {
				pos++
				out = append(out, token{lex: compoundLexeme(w), pos: pos})
			}
		}
		for _, w := range parts {
			if len(w) > maxWordLen {
				continue
			}
			pos++
			out = append(out, token{lex: lexeme(w), pos: pos})
		}
	}
	return out
}

// compoundLexeme normalises a hyphenated compound: stemmed when it has
// only letters, else in lower case.
func compoundLexeme(w string) string {
	w = strings.ToLower(w)
	if strings.ContainsFunc(w, unicode.IsDigit) {
		return w
	}
	return english.Stem(w, true)
}

// lexeme normalises one word ("" for a stop word).
func lexeme(w string) string {
	w = strings.ToLower(w)
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return w
		}
	}
	if stopWords[w] {
		return ""
	}
	return english.Stem(w, true)
}

// Field is one weighted text of a document.
type Field struct {
	Text   string
	Weight Weight
}

// occurrence is a position of a lexeme with its field's weight.
type occurrence struct {
	pos    int
	weight Weight
}

// Document is the analysed form of a product's texts, like PostgreSQL's
// concatenation of setweight(to_tsvector(...)) of each field: the fields'
// positions follow each other (each field's numbering continues from the
// highest position of the ones before).
type Document struct {
	lexemes map[string][]occurrence // positions ascending, at most maxNumPos
	sorted  []string                // the lexemes in byte order
}

// NewDocument analyses the fields in order.
func NewDocument(fields ...Field) *Document {
	d := &Document{lexemes: map[string][]occurrence{}}
	offset := 0
	for _, f := range fields {
		high := 0
		for _, t := range analyze(f.Text, 0) {
			if t.lex == "" {
				continue
			}
			high = max(high, t.pos)
			p := min(t.pos+offset, maxPos)
			occ := d.lexemes[t.lex]
			if n := len(occ); n > 0 && occ[n-1].pos == p || len(occ) >= maxNumPos {
				continue
			}
			d.lexemes[t.lex] = append(occ, occurrence{pos: p, weight: f.Weight})
		}
		offset = min(offset+high, maxPos)
	}
	d.sorted = make([]string, 0, len(d.lexemes))
	for l := range d.lexemes {
		d.sorted = append(d.sorted, l)
	}
	slices.Sort(d.sorted)
	return d
}

// withPrefix returns the lexemes of d that start with p, in byte order.
func (d *Document) withPrefix(p string) []string {
	i, _ := slices.BinarySearch(d.sorted, p)
	j := i
	for j < len(d.sorted) && strings.HasPrefix(d.sorted[j], p) {
		j++
	}
	return d.sorted[i:j]
}

// operand is one lexeme of a compiled term, at its offset in the phrase.
type operand struct {
	lex    string
	offset int
	prefix bool
}

// compiled is a term reduced to its lexemes: alternatives, each a phrase
// of operands; none when it has no lexeme (a stop word), which
// PostgreSQL's && and || then ignore.
type compiled struct {
	alts    [][]operand
	negated bool
}

func compileText(text string, prefix bool) []operand {
	if prefix {
		if l := lexeme(text); l != "" {
			return []operand{{lex: l, prefix: true}}
		}
		return nil
	}
	var ops []operand
	first := -1
	for _, tk := range analyze(text, 0) {
		if tk.lex == "" {
			continue
		}
		if first < 0 {
			first = tk.pos
		}
		ops = append(ops, operand{lex: tk.lex, offset: tk.pos - first})
	}
	return ops
}

func compile(t Term) compiled {
	c := compiled{negated: t.Negated}
	if ops := compileText(t.Text, t.Prefix); len(ops) > 0 {
		c.alts = append(c.alts, ops)
	}
	for _, a := range t.Alternatives {
		if ops := compileText(a, false); len(ops) > 0 {
			c.alts = append(c.alts, ops)
		}
	}
	return c
}

// compiled is q without the terms that have no lexeme and without the
// groups that have no term left that is not an exclusion: a group of
// exclusions only would match most of the catalog, none of it through the
// index, so it matches nothing (in both stores: see TSQuery).
func (q Query) compiled() [][]compiled {
	var out [][]compiled
	for _, g := range q.Groups {
		var cg []compiled
		positive := false
		for _, t := range g {
			if c := compile(t); len(c.alts) > 0 {
				cg = append(cg, c)
				positive = positive || !c.negated
			}
		}
		if positive {
			out = append(out, cg)
		}
	}
	return out
}

// searchable returns q's groups that compiled keeps (with their terms as
// given, stop words included: PostgreSQL drops them itself).
func (q Query) searchable() [][]Term {
	var out [][]Term
	for _, g := range q.Groups {
		if len(Query{Groups: [][]Term{g}}.compiled()) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// Empty reports whether q has nothing to search for (only stop words,
// punctuation or exclusions): it matches no document.
func (q Query) Empty() bool { return len(q.compiled()) == 0 }

// Match reports whether d matches q as PostgreSQL's @@ does.
func (q Query) Match(d *Document) bool {
	for _, g := range q.compiled() {
		ok := true
		for _, t := range g {
			if slices.ContainsFunc(t.alts, d.has) == t.negated {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// has reports whether the operands occur in d as a phrase: each at its
// offset from the first.
func (d *Document) has(ops []operand) bool {
	if len(ops) == 1 {
		op := ops[0]
		if op.prefix {
			return len(d.withPrefix(op.lex)) > 0
		}
		return len(d.lexemes[op.lex]) > 0
	}
	for _, start := range d.lexemes[ops[0].lex] {
		ok := true
		for _, op := range ops[1:] {
			if !slices.ContainsFunc(d.lexemes[op.lex], func(o occurrence) bool { return o.pos == start.pos+op.offset }) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Rank returns ts_rank(d, q) with the default weights and no
// normalisation, computed as PostgreSQL does (in single precision).
func (q Query) Rank(d *Document) float32 {
	cq := q.compiled()
	if len(cq) == 0 || len(d.lexemes) == 0 {
		return 0
	}
	// The operands, each once (by lexeme), in byte order.
	var items []operand
	for _, g := range cq {
		for _, t := range g {
			for _, a := range t.alts {
				items = append(items, a...)
			}
		}
	}
	slices.SortStableFunc(items, func(a, b operand) int { return strings.Compare(a.lex, b.lex) })
	items = slices.CompactFunc(items, func(a, b operand) bool { return a.lex == b.lex })
	// The root operator: OR between groups or alternatives; AND between
	// terms; a phrase.
	one := cq[0][0]
	and := len(cq) == 1 && (len(cq[0]) > 1 || (!one.negated && len(one.alts) == 1 && len(one.alts[0]) > 1))
	var res float32
	if and && len(items) >= 2 {
		res = rankAnd(d, items)
	} else {
		res = rankOr(d, items)
	}
	if res < 0 {
		res = 1e-20
	}
	return res
}

// entries returns the occurrence lists of the lexemes an operand matches.
func (d *Document) entries(op operand) [][]occurrence {
	if !op.prefix {
		if occ, ok := d.lexemes[op.lex]; ok {
			return [][]occurrence{occ}
		}
		return nil
	}
	var out [][]occurrence
	for _, l := range d.withPrefix(op.lex) {
		out = append(out, d.lexemes[l])
	}
	return out
}

func wordDistance(w int) float32 {
	if w > 100 {
		return 1e-30
	}
	return float32(1.0 / (1.005 + 0.05*math.Exp(float64(float32(w)/1.5-2))))
}

// rankAnd is PostgreSQL's calc_rank_and: the closer the operands occur to
// one another, and in heavier fields, the higher.
func rankAnd(d *Document, items []operand) float32 {
	res := float32(-1)
	pos := make([][]occurrence, len(items))
	for i, it := range items {
		for _, post := range d.entries(it) {
			pos[i] = post
			for k := range i {
				ct := pos[k]
				if ct == nil {
					continue
				}
				for _, a := range post {
					for _, b := range ct {
						dist := a.pos - b.pos
						if dist < 0 {
							dist = -dist
						}
						if dist == 0 {
							continue
						}
						curw := float32(math.Sqrt(float64(rankWeights[a.weight] * rankWeights[b.weight] * wordDistance(dist))))
						if res < 0 {
							res = curw
						} else {
							res = 1 - (1-res)*(1-curw)
						}
					}
				}
			}
		}
	}
	return res
}

// rankOr is PostgreSQL's calc_rank_or: each operand's occurrences add up,
// the heaviest first.
func rankOr(d *Document, items []operand) float32 {
	var res float32
	for _, it := range items {
		for _, post := range d.entries(it) {
			var resj float32
			wjm, jm := float32(-1), 0
			for j, o := range post {
				w := rankWeights[o.weight]
				resj += w / float32((j+1)*(j+1))
				if w > wjm {
					wjm, jm = w, j
				}
			}
			res += (wjm + resj - wjm/float32((jm+1)*(jm+1))) / 1.64493406685
		}
	}
	return res / float32(len(items))
}

// RankKey turns a rank or similarity (0–1) into the integer sort key both
// stores use: millionths, rounded half away from zero as PostgreSQL's
// round() on a float.
func RankKey(r float32) int64 {
	return int64(math.Round(float64(r) * 1e6))
}

// KeySQL is RankKey in SQL, around a real-valued expression.
func KeySQL(expr string) string {
	return "round((" + expr + ")::float8 * 1000000)::bigint"
}

// Typo corrections: when no product matches a search, each word of its
// terms that are neither quoted nor excluded may also be any of the
// catalog's words (at most MaxCorrections, the most similar first, then in
// byte order) whose trigram similarity to it is at least
// CorrectionThreshold.
const (
	CorrectionThreshold = 0.5
	MaxCorrections      = 3
	// MinWordLength and MaxWordLength bound the length in characters of
	// a catalog word kept for corrections and of a search word corrected;
	// such words have a letter.
	MinWordLength = 3
	MaxWordLength = 64
)

// wordTrigrams adds pg_trgm's trigrams of one word: lower case, padded
// with two spaces before and one after.
func wordTrigrams(w string, into map[string]struct{}) {
	rs := []rune("  " + strings.ToLower(w) + " ")
	for i := 0; i+3 <= len(rs); i++ {
		into[string(rs[i:i+3])] = struct{}{}
	}
}

// words returns the words of s as pg_trgm sees them (runs of letters and
// digits).
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
}

// Trigrams returns pg_trgm's set of trigrams of s.
func Trigrams(s string) map[string]struct{} {
	out := map[string]struct{}{}
	for _, w := range words(s) {
		wordTrigrams(w, out)
	}
	return out
}

// Similarity is pg_trgm's similarity(a, b): the trigrams they share over
// the size of the union of their trigrams.
func Similarity(a, b string) float32 {
	ta, tb := Trigrams(a), Trigrams(b)
	if len(ta) == 0 || len(tb) == 0 {
		return 0
	}
	common := 0
	for t := range ta {
		if _, ok := tb[t]; ok {
			common++
		}
	}
	return float32(common) / float32(len(ta)+len(tb)-common)
}

// correctableWord reports whether w (lower case) is a word corrections are
// kept and looked up for.
func correctableWord(w string) bool {
	n := utf8.RuneCountInString(w)
	return n >= MinWordLength && n <= MaxWordLength && strings.ContainsFunc(w, unicode.IsLetter)
}

// CatalogWords returns the distinct words of texts that corrections may
// propose: lower case, MinWordLength to MaxWordLength characters with a
// letter; in byte order.
func CatalogWords(texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, w := range words(strings.ToLower(t)) {
			if correctableWord(w) {
				out = append(out, w)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ProductWords returns CatalogWords of a product's name, variants' text
// and description.
func ProductWords(p ecolaura.Product) []string {
	return CatalogWords(p.Name, VariantText(p), p.Description)
}

// Correctable returns the words of q that corrections are looked up for
// (see CatalogWords): the terms that are a single word, neither quoted nor
// excluded, in lower case, each once, in byte order.
func (q Query) Correctable() []string {
	var out []string
	for _, g := range q.Groups {
		for _, t := range g {
			if w, ok := correctable(t); ok {
				out = append(out, w)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func correctable(t Term) (string, bool) {
	if t.Negated || t.Quoted {
		return "", false
	}
	ws := words(strings.ToLower(t.Text))
	if len(ws) != 1 || !correctableWord(ws[0]) {
		return "", false
	}
	return ws[0], true
}

// Suggest returns the corrections of each word among the known words: the
// words other than itself with a Similarity of at least
// CorrectionThreshold, the most similar first (then in byte order), at most
// MaxCorrections. Words without any are left out.
func Suggest(words, known []string) map[string][]string {
	type cand struct {
		w   string
		sim float32
	}
	out := map[string][]string{}
	for _, w := range words {
		var cs []cand
		for _, k := range known {
			if k == w {
				continue
			}
			if sim := Similarity(w, k); sim >= CorrectionThreshold {
				cs = append(cs, cand{k, sim})
			}
		}
		slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(b.sim, a.sim), strings.Compare(a.w, b.w)) })
		for _, c := range cs[:min(len(cs), MaxCorrections)] {
			out[w] = append(out[w], c.w)
		}
	}
	return out
}

// Corrected returns q with the corrections of suggest (by Correctable
// word) as its terms' Alternatives, and whether any term got one (when
// none did, the corrected search is the search, which matched nothing).
func (q Query) Corrected(suggest map[string][]string) (Query, bool) {
	out := Query{Groups: make([][]Term, len(q.Groups))}
	changed := false
	for i, g := range q.Groups {
		out.Groups[i] = slices.Clone(g)
		for j, t := range g {
			if w, ok := correctable(t); ok && len(suggest[w]) > 0 {
				out.Groups[i][j].Alternatives = suggest[w]
				changed = true
			}
		}
	}
	return out, changed
}

// VariantText is the text of a product's variants that a search reads:
// each variant's SKU and option values (in the order of the product's
// options), variant after variant.
func VariantText(p ecolaura.Product) string {
	var parts []string
	for _, v := range p.Variants {
		if v.SKU != "" {
			parts = append(parts, v.SKU)
		}
		for _, o := range p.Options {
			if val := v.Options[o.Name]; val != "" {
				parts = append(parts, val)
			}
		}
	}
	return strings.Join(parts, " ")
}

// ProductDocument analyses a product as the PostgreSQL schema's
// products.search_doc does: the name weighs A, the variants' SKUs and
// option values B, the description C.
func ProductDocument(p ecolaura.Product) *Document {
	return NewDocument(Field{Text: p.Name, Weight: WeightA}, Field{Text: VariantText(p), Weight: WeightB},
		Field{Text: p.Description, Weight: WeightC})
}

// Ranked is a match with its rank key, for sorting.
type Ranked[T any] struct {
	Item T
	Key  int64
	ID   string
}

// SortRanked orders by key then ID, both descending (the relevance order).
func SortRanked[T any](rs []Ranked[T]) {
	slices.SortFunc(rs, func(a, b Ranked[T]) int {
		return cmp.Or(cmp.Compare(b.Key, a.Key), strings.Compare(b.ID, a.ID))
	})
}
