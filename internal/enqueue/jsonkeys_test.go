package enqueue

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// L5: in JSON lines a member given twice, or in another case, made the last one win silently
// ({"user_name":"a@…","USER_NAME":"b@…"} became a job for b@…). Names are now matched exactly and
// once, as the job schema does, and each offence is a problem of its line.
func TestJSONLDuplicateAndCaseVariantMembersAreRowProblems(t *testing.T) {
	t.Parallel()
	in := strings.Join([]string{
		`{"user_name":"ada@example.com","reason":"left"}`,
		`{"user_name":"a@example.com","USER_NAME":"b@example.com"}`,
		`{"Email":"a@example.com","email":"b@example.com"}`,
		`{"email":"a@example.com","email":"b@example.com"}`,
		`{"user_name":"a@example.com","reason":"left","reason":"fired"}`,
		`{"External_Id":"00uwRgKCBVwLoSZMEexf"}`,
		`{"user_name":"a@example.com","dry_run":true,"DRY_RUN":false}`,
	}, "\n")
	cfg := testConfig()
	b, err := cfg.readBatch(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, r := range b.rows {
		r.reportProblems(&out)
	}
	want := `line 2: "USER_NAME": unknown member: names are case-sensitive, write user_name
line 3: "Email": unknown member: names are case-sensitive, write email
line 4: email: given twice
line 5: reason: given twice
line 6: "External_Id": unknown member: names are case-sensitive, write external_id
line 6: user: exactly one of id, external_id and user_name is required
line 7: "DRY_RUN": unknown member: names are case-sensitive, write dry_run
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(b.rows[0].Problems) != 0 || b.rows[0].Job.User.UserName != "ada@example.com" {
		t.Errorf("line 1 = %+v, want a valid row for ada@example.com", briefs(b.rows[:1]))
	}
	if got := b.rows[1].Job.User.UserName; got != "a@example.com" { // shown in the report: never b@
		t.Errorf("line 2 names %q, want the first user_name, a@example.com", got)
	}
}
