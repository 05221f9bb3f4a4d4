package ecolaura

import (
	"fmt"
	"unicode/utf8"
)

// The text rules apply to every text the shop stores or searches for: product
// names, descriptions and categories, user names and emails, order-line
// names, search terms and idempotency keys (which are stricter: printable
// ASCII). They are the same in the SDK, both API versions and every store
// (the PostgreSQL schema enforces them with CHECK constraints), so a text is
// accepted or refused identically everywhere:
//
//   - it must be valid UTF-8 (a JSON body that is not is refused as a whole
//     by the HTTP API before decoding);
//   - it must not contain control characters: U+0000–U+001F, U+007F and
//     U+0080–U+009F (Unicode general category Cc). PostgreSQL cannot store
//     U+0000 at all, and the others are invisible, break logs, CSV exports
//     and terminals, and are never part of a legitimate name;
//   - multi-line text (a product description) may contain the three layout
//     controls TAB (U+0009), LF (U+000A) and CR (U+000D).
//
// Other characters, including format characters such as U+200D (the zero
// width joiner inside emoji sequences), are allowed.

// TextKind selects the variant of the text rules.
type TextKind uint8

const (
	// SingleLine text has no control character at all (names, categories,
	// emails, search terms).
	SingleLine TextKind = iota
	// MultiLine text may also contain TAB, LF and CR (descriptions).
	MultiLine
)

// TextProblem returns why s breaks the text rules of kind, as a field
// message ("must be valid UTF-8", "must not contain control characters
// (found U+0000 at character 3)"), or "" when s follows them.
func TextProblem(s string, kind TextKind) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	n := 0
	for _, r := range s {
		n++
		if isControl(r) && !(kind == MultiLine && (r == '\t' || r == '\n' || r == '\r')) {
			return fmt.Sprintf("must not contain control characters (found U+%04X at character %d)", r, n)
		}
	}
	return ""
}

// ValidText reports whether s follows the text rules of kind.
func ValidText(s string, kind TextKind) bool { return TextProblem(s, kind) == "" }

// isControl reports whether r is in Unicode's general category Cc.
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }

// Text records a field error when s breaks the text rules of kind.
func (v *Validator) Text(field, s string, kind TextKind) {
	if p := TextProblem(s, kind); p != "" {
		v.Add(field, "%s", p)
	}
}
