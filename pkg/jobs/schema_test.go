package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // date-time is checked, as a strict consumer would
	if err := c.AddResource("job.v1.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("job.v1.schema.json")
})

func validateAgainstSchema(t testing.TB, data []byte) error {
	t.Helper()
	sch, err := compiledSchema()
	if err != nil {
		t.Fatalf("compile job schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// doc returns the minimal valid job as JSON after edit has changed it.
func doc(edit func(m, user map[string]any)) string {
	user := map[string]any{"id": testUUID}
	m := map[string]any{"version": 1, "id": "job-1", "action": "deactivate", "user": user, "requested_by": "hr-bot"}
	if edit != nil {
		edit(m, user)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func set(k string, v any) func(m, user map[string]any) {
	return func(m, _ map[string]any) { m[k] = v }
}

func del(k string) func(m, user map[string]any) {
	return func(m, _ map[string]any) { delete(m, k) }
}

// cleanup makes the job the cleanup job of the deactivation parent.
func cleanup(parent string) func(m, user map[string]any) {
	return func(m, _ map[string]any) {
		m["action"], m["id"], m["cleanup_of"] = "cleanup", CleanupID(parent), parent
	}
}

// deleteOf makes the job the delete job that follows the deactivation parent.
func deleteOf(parent string) func(m, user map[string]any) {
	return func(m, _ map[string]any) {
		m["action"], m["id"], m["delete_of"] = "delete", DeleteID(parent), parent
	}
}

func setUser(k string, v any) func(m, user map[string]any) {
	return func(_, user map[string]any) { delete(user, "id"); user[k] = v }
}

type agreementRow struct {
	name  string
	doc   string
	valid bool
}

func agreementRows() []agreementRow {
	r := strings.Repeat
	return []agreementRow{
		{"minimal", doc(nil), true},
		{"all fields", doc(func(m, u map[string]any) {
			m["reason"], m["ticket"], m["priority"], m["dry_run"] = "left", "HR-1", "urgent", true
			m["replay_of"], m["requested_at"] = "job-0", "2026-11-27T09:30:00.123+01:00"
		}), true},
		{"version 1.0", strings.Replace(doc(nil), `"version":1`, `"version":1.0`, 1), true},
		{"version 2", doc(set("version", 2)), false},
		{"version string", doc(set("version", "1")), false},
		{"version null", doc(set("version", nil)), false},
		{"version missing", doc(del("version")), false},
		{"id missing", doc(del("id")), false},
		{"id empty", doc(set("id", "")), false},
		{"id 128", doc(set("id", r("a", 128))), true},
		{"id 129", doc(set("id", r("a", 129))), false},
		{"id dotted", doc(set("id", "hr.2026.job_1-a")), true},
		{"id space", doc(set("id", "job 1")), false},
		{"id colon", doc(set("id", "hr:1")), false},
		{"id double dot", doc(set("id", "a..b")), false},
		{"id leading dot", doc(set("id", ".a")), false},
		{"id trailing dot", doc(set("id", "a.")), false},
		{"id wildcard", doc(set("id", "a*")), false},
		{"id non-ASCII", doc(set("id", "jöb")), false},
		{"action reactivate", doc(set("action", "reactivate")), true},
		{"action missing", doc(del("action")), false},
		{"action unknown", doc(set("action", "purge")), false},
		{"cleanup", doc(cleanup("job-0")), true},
		{"cleanup of a long id", doc(cleanup(r("a", 128))), true},
		{"cleanup without cleanup_of", doc(func(m, u map[string]any) { cleanup("job-0")(m, u); delete(m, "cleanup_of") }), false},
		{"cleanup with a producer's id", doc(func(m, u map[string]any) { cleanup("job-0")(m, u); m["id"] = "job-1" }), false},
		{"cleanup dry run", doc(func(m, u map[string]any) { cleanup("job-0")(m, u); m["dry_run"] = true }), false},
		{"cleanup of a reserved id", doc(cleanup("_rejected.seq-1")), false},
		{"cleanup_of on a deactivation", doc(set("cleanup_of", "job-0")), false},
		{"reserved id on a deactivation", doc(set("id", "_cleanup.job-0")), false},
		{"action upper case", doc(set("action", "DEACTIVATE")), false},
		{"user missing", doc(del("user")), false},
		{"user empty", doc(set("user", map[string]any{})), false},
		{"user string", doc(set("user", testUUID)), false},
		{"user two ids", doc(func(_, u map[string]any) { u["user_name"] = "a@b.example" }), false},
		{"user unknown member", doc(func(_, u map[string]any) { u["email"] = "a@b.example" }), false},
		{"user.id upper case", doc(setUser("id", strings.ToUpper(testUUID))), true},
		{"user.id path", doc(setUser("id", "../tokens/me")), false},
		{"user.id encoded slash", doc(setUser("id", "%2F")), false},
		{"user.id uuid then path", doc(setUser("id", testUUID+"/../x")), false},
		{"user.id newline", doc(setUser("id", testUUID+"\n")), false},
		{"user.id braces", doc(setUser("id", "{"+testUUID+"}")), false},
		{"user.id no dashes", doc(setUser("id", strings.ReplaceAll(testUUID, "-", ""))), false},
		{"user.id number", doc(setUser("id", 42)), false},
		{"user.id null", doc(setUser("id", nil)), false},
		{"external_id", doc(setUser("external_id", "E-1234")), true},
		{"external_id filter injection", doc(setUser("external_id", `x" or userName pr "`)), true},
		{"external_id backslash", doc(setUser("external_id", `a\"b`)), true},
		{"external_id empty", doc(setUser("external_id", "")), false},
		{"external_id 256", doc(setUser("external_id", r("é", 256))), true},
		{"external_id 257", doc(setUser("external_id", r("é", 257))), false},
		{"external_id NUL", doc(setUser("external_id", "a\x00b")), false},
		{"external_id newline", doc(setUser("external_id", "a\nb")), false},
		{"external_id C1", doc(setUser("external_id", "a\u0085b")), false},
		{"external_id U+FFFD", doc(setUser("external_id", "a\uFFFDb")), false},
		{"user_name", doc(setUser("user_name", "jane.doe@example.com")), true},
		{"user_name shortest", doc(setUser("user_name", "a@b")), true},
		{"user_name too short", doc(setUser("user_name", "@b")), false},
		{"user_name no local part", doc(setUser("user_name", "@bc")), false},
		{"user_name no domain", doc(setUser("user_name", "ab@")), false},
		{"user_name two @", doc(setUser("user_name", "a@b@c")), false},
		{"user_name space", doc(setUser("user_name", "a b@c")), false},
		{"user_name tab", doc(setUser("user_name", "a\tb@c")), false},
		{"user_name 254", doc(setUser("user_name", r("a", 250)+"@b.c")), true},
		{"user_name 255", doc(setUser("user_name", r("a", 251)+"@b.c")), false},
		{"reason multi-line", doc(set("reason", "left\n\tsee ticket")), true},
		{"reason CR", doc(set("reason", "left\r\n")), false},
		{"reason NUL", doc(set("reason", "a\x00")), false},
		{"reason empty", doc(set("reason", "")), false},
		{"reason 1024", doc(set("reason", r("😀", 1024))), true},
		{"reason 1025", doc(set("reason", r("a", 1025))), false},
		{"requested_by missing", doc(del("requested_by")), false},
		{"requested_by empty", doc(set("requested_by", "")), false},
		{"requested_by number", doc(set("requested_by", 7)), false},
		{"requested_by newline", doc(set("requested_by", "bob\nadmin")), false},
		{"requested_by 257", doc(set("requested_by", r("b", 257))), false},
		{"ticket 128", doc(set("ticket", r("t", 128))), true},
		{"ticket 129", doc(set("ticket", r("t", 129))), false},
		{"ticket DEL", doc(set("ticket", "HR\x7f1")), false},
		{"priority normal", doc(set("priority", "normal")), true},
		{"priority unknown", doc(set("priority", "high")), false},
		{"priority empty", doc(set("priority", "")), false},
		{"priority null", doc(set("priority", nil)), false},
		{"dry_run false", doc(set("dry_run", false)), true},
		{"dry_run string", doc(set("dry_run", "yes")), false},
		{"dry_run number", doc(set("dry_run", 1)), false},
		{"dry_run null", doc(set("dry_run", nil)), false},
		{"replay_of bad", doc(set("replay_of", "job 0")), false},
		{"replay_of empty", doc(set("replay_of", "")), false},
		{"requested_at Z", doc(set("requested_at", "2026-11-27T09:30:00Z")), true},
		{"requested_at words", doc(set("requested_at", "yesterday")), false},
		{"requested_at space", doc(set("requested_at", "2026-11-27 09:30:00Z")), false},
		{"requested_at no zone", doc(set("requested_at", "2026-11-27T09:30:00")), false},
		{"requested_at month 13", doc(set("requested_at", "2026-13-27T09:30:00Z")), false},
		{"requested_at lower case", doc(set("requested_at", "2026-11-27t09:30:00z")), false},
		{"not_before Z", doc(set("not_before", "2027-01-31T17:00:00Z")), true},
		{"not_before offset and fraction", doc(set("not_before", "2027-01-31T17:00:00.5-05:00")), true},
		{"not_before no zone", doc(set("not_before", "2027-01-31T17:00:00")), false},
		{"not_before date only", doc(set("not_before", "2027-01-31")), false},
		{"not_before number", doc(set("not_before", 1798736400)), false},
		{"not_before empty", doc(set("not_before", "")), false},
		{"not_before null", doc(set("not_before", nil)), false},
		{"not_before on a reactivation", doc(func(m, _ map[string]any) { m["action"], m["not_before"] = "reactivate", "2027-01-31T17:00:00Z" }), true},
		{"not_before on a cleanup", doc(func(m, u map[string]any) { cleanup("job-0")(m, u); m["not_before"] = "2027-01-31T17:00:00Z" }), false},
		{"delete by an operator", doc(set("action", "delete")), true},
		{"delete dry run", doc(func(m, _ map[string]any) { m["action"], m["dry_run"] = "delete", true }), true},
		{"delete after a deactivation", doc(deleteOf("job-0")), true},
		{"delete after a long id", doc(deleteOf(r("a", 128))), true},
		{"delete after, scheduled", doc(func(m, u map[string]any) { deleteOf("job-0")(m, u); m["not_before"] = "2027-01-31T17:00:00Z" }), true},
		{"delete with a reserved id, no delete_of", doc(func(m, _ map[string]any) { m["action"], m["id"] = "delete", DeleteID("job-0") }), false},
		{"delete_of with a producer's id", doc(func(m, u map[string]any) { deleteOf("job-0")(m, u); m["id"] = "job-1" }), false},
		{"delete_of a reserved id", doc(deleteOf("_rejected.seq-1")), false},
		{"delete_of on a deactivation", doc(set("delete_of", "job-0")), false},
		{"delete id on a deactivation", doc(set("id", "_delete.job-0")), false},
		{"cancel", doc(set("action", "cancel")), true},
		{"cancel dry run", doc(func(m, _ map[string]any) { m["action"], m["dry_run"] = "cancel", true }), false},
		{"cancel with not_before", doc(func(m, _ map[string]any) { m["action"], m["not_before"] = "cancel", "2027-01-31T17:00:00Z" }), false},
		{"unknown member", doc(set("extra", 1)), false},
		{"member name case", doc(func(m, _ map[string]any) { m["Ticket"] = "HR-1" }), false},
		{"array", `[` + doc(nil) + `]`, false},
		{"string", `"job"`, false},
	}
}

// TestDecodeAgreesWithSchema is the contract between Go and every other producer: for each row,
// Decode and the JSON Schema both accept or both reject.
func TestDecodeAgreesWithSchema(t *testing.T) {
	t.Parallel()
	for _, row := range agreementRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			_, goErr := Decode([]byte(row.doc))
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
		})
	}
}

// The schema's patterns are the Go patterns, character for character.
func TestSchemaPatternsMatchGo(t *testing.T) {
	t.Parallel()
	var s struct {
		Properties map[string]struct {
			Pattern    string
			Properties map[string]struct{ Pattern string }
		}
		Defs map[string]struct{ Pattern string } `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"jobId":        s.Defs["jobId"].Pattern,
		"user.id":      s.Properties["user"].Properties["id"].Pattern,
		"external_id":  s.Properties["user"].Properties["external_id"].Pattern,
		"user_name":    s.Properties["user"].Properties["user_name"].Pattern,
		"reason":       s.Properties["reason"].Pattern,
		"requested_by": s.Properties["requested_by"].Pattern,
		"ticket":       s.Properties["ticket"].Pattern,
		"requested_at": s.Properties["requested_at"].Pattern,
		"not_before":   s.Properties["not_before"].Pattern,
	}
	want := map[string]string{
		"jobId": idPattern, "user.id": uuidPattern, "external_id": textPattern, "user_name": userNamePattern,
		"reason": reasonPattern, "requested_by": textPattern, "ticket": textPattern, "requested_at": timePattern,
		"not_before": timePattern,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("schema pattern for %s = %q, Go uses %q", k, got[k], w)
		}
	}
}

// The embedded schema is the file other producers read.
func TestSchemaIsTheFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("schema/job.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, Schema()) {
		t.Error("Schema() differs from schema/job.v1.schema.json")
	}
}
