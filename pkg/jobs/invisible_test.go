package jobs

import (
	"errors"
	"strings"
	"testing"
)

// L10: bidi controls and invisible characters were accepted in identifiers and free text, so a
// value could display as another in a SIEM. These rows extend the agreement table of
// TestDecodeAgreesWithSchema: Decode and the JSON Schema both refuse them.
func invisibleRows() []agreementRow {
	return []agreementRow{
		{"external_id RLO", doc(setUser("external_id", "00uw\u202EfxeEZSoLkBRVwCgRwu00")), false},
		{"external_id LRE", doc(setUser("external_id", "a\u202Ab")), false},
		{"external_id PDF", doc(setUser("external_id", "a\u202Cb")), false},
		{"external_id LRI", doc(setUser("external_id", "a\u2066b")), false},
		{"external_id PDI", doc(setUser("external_id", "a\u2069b")), false},
		{"external_id ALM", doc(setUser("external_id", "a\u061Cb")), false},
		{"external_id BOM", doc(setUser("external_id", "\uFEFFa")), false},
		{"external_id line separator", doc(setUser("external_id", "a\u2028b")), false},
		{"external_id Arabic letters", doc(setUser("external_id", "مستخدم-7")), true},
		{"external_id ZWNJ neighbour U+200A", doc(setUser("external_id", "a\u200Ab")), true},
		{"external_id U+2070", doc(setUser("external_id", "a\u2070b")), true},
		{"user_name trailing ZWSP", doc(setUser("user_name", "grace.nguyen.19@example.com\u200B")), false},
		{"user_name ZWJ in local part", doc(setUser("user_name", "gr\u200Dace@example.com")), false},
		{"user_name LRM", doc(setUser("user_name", "a@\u200Eexample.com")), false},
		{"user_name RLM", doc(setUser("user_name", "a\u200F@example.com")), false},
		{"user_name word joiner", doc(setUser("user_name", "a@exa\u2060mple.com")), false},
		{"user_name non-ASCII", doc(setUser("user_name", "zoë@example.com")), true},
		{"reason RLO", doc(set("reason", "left \u202Edelor nimda")), false},
		{"reason ZWNJ", doc(set("reason", "left\u200C")), false},
		{"reason FSI", doc(set("reason", "left \u2068x")), false},
		{"reason Hebrew", doc(set("reason", "עזב את החברה")), true},
		{"ticket RLI", doc(set("ticket", "HR-\u20671")), false},
		{"ticket invisible plus", doc(set("ticket", "HR-1\u2064")), false},
		{"requested_by LRO", doc(set("requested_by", "\u202Dalice")), false},
		{"requested_by ZWSP", doc(set("requested_by", "ali\u200Bce")), false},
		{"requested_by paragraph separator", doc(set("requested_by", "alice\u2029")), false},
	}
}

func TestInvisibleCharactersDecodeAgreesWithSchema(t *testing.T) {
	t.Parallel()
	for _, row := range invisibleRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			_, goErr := Decode([]byte(row.doc))
			schemaErr := validateAgainstSchema(t, []byte(row.doc))
			if (goErr == nil) != row.valid {
				t.Errorf("Decode(%+q) = %v, want valid=%v", row.doc, goErr, row.valid)
			}
			if (schemaErr == nil) != row.valid {
				t.Errorf("schema on %+q: %v, want valid=%v", row.doc, schemaErr, row.valid)
			}
			if goErr != nil && !errors.Is(goErr, ErrInvalidJob) {
				t.Errorf("Decode error %v does not match ErrInvalidJob", goErr)
			}
		})
	}
}

// The message names the field, the code point and where it is.
func TestInvisibleCharacterMessage(t *testing.T) {
	t.Parallel()
	j := Job{Version: Version, ID: "job-1", Action: ActionDeactivate, RequestedBy: "hr\u200Bbot",
		User: UserRef{ExternalID: "00uw\u202Eabc"}, Reason: "left"}
	var ve *ValidationError
	if !errors.As(j.Validate(), &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", j.Validate())
	}
	want := []Problem{
		{"user.external_id", "must not contain U+202E RIGHT-TO-LEFT OVERRIDE (character 5): bidi controls and invisible characters can make a value display as another"},
		{"requested_by", "must not contain U+200B ZERO WIDTH SPACE (character 3): bidi controls and invisible characters can make a value display as another"},
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("problems %+v, want %+v", ve.Problems, want)
	}
	for i := range want {
		if ve.Problems[i] != want[i] {
			t.Errorf("problem %d = %+v, want %+v", i, ve.Problems[i], want[i])
		}
	}
	if strings.ContainsRune(ve.Error(), 0x202E) {
		t.Error("the error message carries the bidi control itself")
	}
}
