package jobs

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// invisibleClass lists, for the text patterns, the characters that change how a value is shown
// without being seen: bidi controls (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069),
// zero-width and invisible characters (U+200B-U+200D, U+2060-U+2064, U+FEFF) and the line and
// paragraph separators (U+2028-U+2029). In an identifier or a reason they let a value display as
// another one in a SIEM or a terminal ("evil" spelled backwards after U+202E, a user name with a
// trailing U+200B). The characters are written as themselves, as U+FFFD is, because \u escapes
// do not mean the same in RE2 and ECMA-262.
const invisibleClass = "\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF"

// invisibleNames names the characters of invisibleClass for messages (U+2065 is unassigned).
var invisibleNames = map[rune]string{
	0x061C: "ARABIC LETTER MARK",
	0x200B: "ZERO WIDTH SPACE", 0x200C: "ZERO WIDTH NON-JOINER", 0x200D: "ZERO WIDTH JOINER",
	0x200E: "LEFT-TO-RIGHT MARK", 0x200F: "RIGHT-TO-LEFT MARK",
	0x2028: "LINE SEPARATOR", 0x2029: "PARAGRAPH SEPARATOR",
	0x202A: "LEFT-TO-RIGHT EMBEDDING", 0x202B: "RIGHT-TO-LEFT EMBEDDING", 0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE", 0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2060: "WORD JOINER", 0x2061: "FUNCTION APPLICATION", 0x2062: "INVISIBLE TIMES",
	0x2063: "INVISIBLE SEPARATOR", 0x2064: "INVISIBLE PLUS",
	0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2067: "RIGHT-TO-LEFT ISOLATE", 0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
}

// isInvisible reports whether r is in invisibleClass.
func isInvisible(r rune) bool {
	switch {
	case r == 0x061C, r == 0xFEFF:
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x2028 && r <= 0x202E, r >= 0x2060 && r <= 0x2069:
		return true
	}
	return false
}

// TextProblem is the job schema's rule for shown text (reason, ticket, requested_by), for other
// free text that ends up in audit events, such as an operator's name: it describes the first
// bidi control or invisible character in s, or returns "" when there is none. Control characters
// are the caller's to refuse.
// The description names the character's code point and where it is.
func TextProblem(s string) string {
	i := strings.IndexFunc(s, isInvisible)
	if i < 0 {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	name := invisibleNames[r]
	if name == "" {
		name = "unassigned"
	}
	return fmt.Sprintf("must not contain U+%04X %s (character %d): bidi controls and invisible characters can make a value display as another",
		r, name, utf8.RuneCountInString(s[:i])+1)
}
