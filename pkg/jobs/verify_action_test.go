package jobs

import (
	"errors"
	"fmt"
	"testing"
)

// A verify job runs at once and is never a dry run; Decode and the schema agree on it, and it
// travels on the urgent or normal lane like a deactivation.
func TestVerifyJobAgreesWithSchema(t *testing.T) {
	t.Parallel()
	doc := func(extra string) string {
		return fmt.Sprintf(`{"version":1,"id":"v-1","action":"verify","user":{"id":%q},"requested_by":"ops"%s}`, testUUID, extra)
	}
	for _, row := range []struct {
		name  string
		doc   string
		valid bool
	}{
		{"plain", doc(""), true},
		{"urgent", doc(`,"priority":"urgent"`), true},
		{"dry run", doc(`,"dry_run":true`), false},
		{"not before", doc(`,"not_before":"2030-01-01T00:00:00Z"`), false},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			j, goErr := Decode([]byte(row.doc))
			schemaErr := validateAgainstSchema(t, []byte(row.doc))
			if (goErr == nil) != row.valid || (schemaErr == nil) != row.valid {
				t.Errorf("Decode %v, schema %v; want valid=%v", goErr, schemaErr, row.valid)
			}
			if goErr != nil && !errors.Is(goErr, ErrInvalidJob) {
				t.Errorf("Decode error %v does not match ErrInvalidJob", goErr)
			}
			if goErr == nil {
				if want := (Names{}).JobSubject(j.Priority); j.Subject("") != want {
					t.Errorf("subject %s, want %s", j.Subject(""), want)
				}
				if err := (Names{}).CheckSubject(j.Subject("")+"."+UserToken(j.User), j); err != nil {
					t.Errorf("CheckSubject: %v", err)
				}
			}
		})
	}
}
