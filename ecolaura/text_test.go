package ecolaura_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestTextRules(t *testing.T) {
	tests := []struct {
		name      string
		s         string
		single    string // the problem as single-line text ("" when fine)
		multiLine string // the problem as multi-line text
	}{
		{"plain", "Bamboo brush", "", ""},
		{"empty", "", "", ""},
		{"accents, scripts and emoji", "Zahnbürste فرشاة 歯ブラシ 👨\u200d👩\u200d👧", "", ""},
		{"NUL", "a\x00b", "must not contain control characters (found U+0000 at character 2)", "must not contain control characters (found U+0000 at character 2)"},
		{"escape", "\x1b[31m", "must not contain control characters (found U+001B at character 1)", "must not contain control characters (found U+001B at character 1)"},
		{"DEL", "ab\x7f", "must not contain control characters (found U+007F at character 3)", "must not contain control characters (found U+007F at character 3)"},
		{"C1 next line", "a\u0085", "must not contain control characters (found U+0085 at character 2)", "must not contain control characters (found U+0085 at character 2)"},
		{"C1 last", "\u009f", "must not contain control characters (found U+009F at character 1)", "must not contain control characters (found U+009F at character 1)"},
		{"first after C1", "\u00a0non-breaking space", "", ""},
		{"tab, LF and CR", "a\tb\r\nc", "must not contain control characters (found U+0009 at character 2)", ""},
		{"vertical tab", "a\vb", "must not contain control characters (found U+000B at character 2)", "must not contain control characters (found U+000B at character 2)"},
		{"invalid UTF-8", "a\xffb", "must be valid UTF-8", "must be valid UTF-8"},
		{"encoded surrogate", "\xed\xa0\x80", "must be valid UTF-8", "must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.single, ecolaura.TextProblem(tt.s, ecolaura.SingleLine))
			assert.Equal(t, tt.multiLine, ecolaura.TextProblem(tt.s, ecolaura.MultiLine))
			assert.Equal(t, tt.single == "", ecolaura.ValidText(tt.s, ecolaura.SingleLine))
		})
	}
}

// Every text field of the domain follows the text rules, with the error on
// the field.
func TestTextRulesApplyToEveryTextField(t *testing.T) {
	for _, bad := range []string{"\x00", "\x1b", "\u0085", "\xff"} {
		p := validProduct()
		p.Name = "Brush" + bad
		assert.Equal(t, []string{"name"}, fieldsOf(t, p.Validate()), "name %q", bad)
		p = validProduct()
		p.Description = "Brush" + bad
		assert.Equal(t, []string{"description"}, fieldsOf(t, p.Validate()), "description %q", bad)
		assert.Equal(t, []string{"name"}, fieldsOf(t, ecolaura.ValidateUserName("A"+bad+"da")), "user name %q", bad)
		_, err := ecolaura.NormalizeEmail("ada" + bad + "@example.org")
		assert.Equal(t, []string{"email"}, fieldsOf(t, err), "email %q", bad)
		assert.Equal(t, []string{"q"}, fieldsOf(t, ecolaura.ProductFilter{Query: "brush" + bad}.Validate()), "search %q", bad)
	}
	p := validProduct()
	p.Description = "Line one\r\n\tLine two"
	assert.NoError(t, p.Validate(), "a description may have several lines")
	p.Name = "Line one\nLine two"
	assert.Equal(t, []string{"name"}, fieldsOf(t, p.Validate()), "a name is one line")
	assert.NoError(t, ecolaura.ValidateUserName("  Ada Lovelace\n"), "surrounding white space is trimmed, not refused")
	assert.Equal(t, []string{"q"}, fieldsOf(t, ecolaura.ProductFilter{Query: strings.Repeat("q", ecolaura.MaxQueryLength+1)}.Validate()))
}
