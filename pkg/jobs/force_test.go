package jobs

import (
	"errors"
	"testing"
)

// forceRows extend the schema agreement table (schema_test.go) with the force field of review D4:
// a boolean, allowed only with action reactivate.
func forceRows() []agreementRow {
	reactivate := func(force any) string {
		return doc(func(m, _ map[string]any) { m["action"], m["force"] = "reactivate", force })
	}
	return []agreementRow{
		{"force with reactivate", reactivate(true), true},
		{"force false with reactivate", reactivate(false), true},
		{"force false with deactivate", doc(set("force", false)), true},
		{"force with deactivate", doc(set("force", true)), false},
		{"force without action", doc(func(m, _ map[string]any) { delete(m, "action"); m["force"] = true }), false},
		{"force string", reactivate("yes"), false},
		{"force number", reactivate(1), false},
		{"force null", reactivate(nil), false},
	}
}

func TestForceAgreesWithSchema(t *testing.T) {
	t.Parallel()
	for _, row := range forceRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			j, goErr := Decode([]byte(row.doc))
			schemaErr := validateAgainstSchema(t, []byte(row.doc))
			if (goErr == nil) != row.valid {
				t.Errorf("Decode(%s) = %v, want valid=%v", row.doc, goErr, row.valid)
			}
			if (schemaErr == nil) != row.valid {
				t.Errorf("schema on %s: %v, want valid=%v", row.doc, schemaErr, row.valid)
			}
			if goErr != nil && !errors.Is(goErr, ErrInvalidJob) {
				t.Errorf("Decode error %v does not match ErrInvalidJob", goErr)
			}
			if row.name == "force with reactivate" && !j.Force {
				t.Error("Decode lost force")
			}
		})
	}
}

func TestValidateNamesForceOnADeactivation(t *testing.T) {
	t.Parallel()
	j := Job{Version: Version, ID: "j-1", Action: ActionDeactivate, User: UserRef{ID: testUUID}, RequestedBy: "ops", Force: true}
	var ve *ValidationError
	if err := j.Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "force" {
		t.Errorf("Validate = %v, want one problem on force", err)
	}
	j.Action = ActionReactivate
	if err := j.Validate(); err != nil {
		t.Errorf("a forced reactivation: %v", err)
	}
}
