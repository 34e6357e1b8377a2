package audit

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const testUser = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"

var testTime = time.Date(2026, 11, 27, 9, 30, 1, 234567890, time.FixedZone("CET", 3600))

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("event.v1.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("event.v1.schema.json")
})

func validateAgainstSchema(t testing.TB, data []byte) error {
	t.Helper()
	sch, err := compiledSchema()
	if err != nil {
		t.Fatalf("compile event schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func fullRecord() Record {
	return Record{
		JobID: "job-1", Outcome: OutcomeDeactivated, Time: testTime,
		User:        Target{ID: testUser, UserName: "jane.doe@example.com"},
		RequestedBy: "hr-bot", Ticket: "HR-42", Reason: "left <the> company", Priority: "urgent",
		Findings: Findings{RolesBefore: []string{"employee", "Supervisor"}, TokensRevoked: true,
			CorrelationIDs: []string{"c-1", "c-2", "c-3"}},
		Attempts: 1, Latency: 1500 * time.Millisecond,
	}
}

// The exact bytes of an event: field order, names and values are the contract with consumers.
func TestUserEventEncoding(t *testing.T) {
	t.Parallel()
	ev, err := Origin{ProductVersion: "1.2.3"}.UserEvent(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"specversion":"1.0","id":"de16db6b-97c2-5677-b2d3-f924f829ad5d","source":"urn:offboard-dev:genesys-deactivator",` +
		`"type":"com.offboard-dev.genesys.user.deactivated","subject":"` + testUser + `","time":"2026-11-27T08:30:01.234Z",` +
		`"datacontenttype":"application/json","dataschema":"https://schema.ocsf.io/1.8.0/classes/account_change",` +
		`"data":{"activity_id":5,"activity_name":"Disable","category_uid":3,"category_name":"Identity & Access Management",` +
		`"class_uid":3001,"class_name":"Account Change","type_uid":300105,"type_name":"Account Change: Disable",` +
		`"severity_id":1,"severity":"Informational","status_id":1,"status":"Success","time":1795768201234,` +
		`"message":"Genesys Cloud user deactivated",` +
		`"metadata":{"version":"1.8.0","product":{"name":"genesys-deactivator","vendor_name":"offboard-dev","version":"1.2.3"},` +
		`"uid":"de16db6b-97c2-5677-b2d3-f924f829ad5d","correlation_uid":"job-1","log_name":"audit"},` +
		`"user":{"uid":"` + testUser + `","name":"jane.doe@example.com","email_addr":"jane.doe@example.com","type_id":1,"type":"User"},` +
		`"actor":{"user":{"name":"hr-bot"},"app_name":"genesys-deactivator"},` +
		`"unmapped":{"job_id":"job-1","outcome":"deactivated","dead_letter":false,"ticket":"HR-42","reason":"left <the> company",` +
		`"priority":"urgent","dry_run":false,"roles_before":["employee","Supervisor"],"tokens_revoked":true,` +
		`"correlation_ids":["c-1","c-2","c-3"],"attempts":1,"latency_ms":1500}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("encoding (-want +got):\n%s", diff)
	}
	if ev.Route() != "audit.user.deactivated."+testUser {
		t.Errorf("Route() = %q", ev.Route())
	}
	again, _ := Origin{ProductVersion: "1.2.3"}.UserEvent(fullRecord())
	if b, _ := again.Encode(); !bytes.Equal(b, got) {
		t.Error("the same record encodes to different bytes")
	}
}

// Every outcome, for both activities and with little or much known, gives a schema-valid event
// whose OCSF status, severity and type follow the outcome table.
func TestUserEventsValidateAgainstSchema(t *testing.T) {
	t.Parallel()
	targets := map[string]Target{
		"by id": {ID: testUser}, "by external id": {ExternalID: `x" or userName pr "`},
		"by user name": {UserName: "jane@example.com"}, "nothing known": {},
	}
	for _, o := range Outcomes {
		for _, act := range []Activity{0, ActivityDisable, ActivityEnable, ActivityDelete, ActivityOther} {
			for name, target := range targets {
				r := Record{JobID: "job-" + string(o), Outcome: o, Activity: act, Time: testTime, User: target, Error: "boom\x00\n", CleanupOf: "job-0"}
				ev, err := Origin{}.UserEvent(r)
				if err != nil {
					t.Fatalf("%s/%d/%s: %v", o, act, name, err)
				}
				b, err := ev.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if err := validateAgainstSchema(t, b); err != nil {
					t.Errorf("%s/%d/%s: schema rejects %s:\n%v", o, act, name, b, err)
				}
				checkOCSF(t, b, r)
			}
		}
	}
}

func checkOCSF(t *testing.T, b []byte, r Record) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	data := m["data"].(map[string]any)
	wantAct := 5
	switch {
	case r.Activity == ActivityEnable || r.Activity == 0 && r.Outcome == OutcomeReactivated:
		wantAct = 2
	case r.Activity == ActivityOther || r.Activity == 0 && slices.Contains([]Outcome{OutcomeCleanedUp, OutcomeCleanupSkipped,
		OutcomeCanceled, OutcomeCancelDone, OutcomeDeleteSkipped, OutcomeVerified, OutcomeUnverified}, r.Outcome):
		wantAct = 99
	case r.Activity == ActivityDelete || r.Activity == 0 && (r.Outcome == OutcomeDeleted || r.Outcome == OutcomeHeld):
		wantAct = 6
	}
	want := map[string]any{
		"activity_id": float64(wantAct), "type_uid": float64(300100 + wantAct), "class_uid": float64(3001),
		"category_uid": float64(3), "status_id": float64(r.Outcome.StatusID()), "severity_id": float64(r.Outcome.SeverityID()),
		"time": float64(testTime.UnixMilli()),
	}
	for k, w := range want {
		if data[k] != w {
			t.Errorf("%s: data.%s = %v, want %v", r.Outcome, k, data[k], w)
		}
	}
	if m["type"] != TypePrefix+"user."+string(r.Outcome) {
		t.Errorf("type = %q", m["type"])
	}
	un := data["unmapped"].(map[string]any)
	if un["outcome"] != string(r.Outcome) || un["dead_letter"] != r.Outcome.DeadLetter() || un["job_id"] != r.JobID {
		t.Errorf("%s: unmapped = %v", r.Outcome, un)
	}
}

func TestUserEventWithoutUserOrActor(t *testing.T) {
	t.Parallel()
	ev, err := Origin{Source: "urn:acme:prod"}.UserEvent(Record{JobID: "stream-seq-17", Outcome: OutcomeRejected, Time: testTime})
	if err != nil {
		t.Fatal(err)
	}
	ac := ev.Data.(*AccountChange)
	if diff := cmp.Diff(User{Name: "unknown", TypeID: 0, Type: "Unknown"}, ac.User); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if ac.Actor.User != nil || ev.Subject != "" || ev.Source != "urn:acme:prod" {
		t.Errorf("actor user = %v, subject = %q, source = %q", ac.Actor.User, ev.Subject, ev.Source)
	}
	if ev.Route() != "audit.user.rejected.unknown" {
		t.Errorf("Route() = %q", ev.Route())
	}
}

func TestUserEventErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Record)
		want string
	}{
		{"no job id", func(r *Record) { r.JobID = "" }, "audit: record has no job id"},
		{"bad outcome", func(r *Record) { r.Outcome = "gone" }, `audit: unknown outcome "gone"`},
		{"bad activity", func(r *Record) { r.Activity = 7 }, "audit: unknown activity 7"},
		{"no time", func(r *Record) { r.Time = time.Time{} }, "audit: event time is zero"},
	}
	for _, tt := range tests {
		r := fullRecord()
		tt.edit(&r)
		if _, err := (Origin{}).UserEvent(r); err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// Hostile or huge input still gives an event under MaxEventSize that satisfies the schema.
func TestUserEventStaysSmall(t *testing.T) {
	t.Parallel()
	r := fullRecord()
	ctl := strings.Repeat("\x01", 4000) // sixfold when escaped
	r.Error, r.Reason, r.Ticket, r.RequestedBy, r.Message = ctl+ctl+ctl, ctl, ctl, ctl, ctl
	r.User = Target{ID: ctl, ExternalID: ctl, UserName: ctl}
	r.RolesBefore, r.CorrelationIDs = make([]string, 5000), make([]string, 5000)
	for i := range r.RolesBefore {
		r.RolesBefore[i], r.CorrelationIDs[i] = ctl, ctl
	}
	r.Latency, r.Attempts = -time.Second, -1
	ev, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxEventSize {
		t.Errorf("event is %d bytes", len(b))
	}
	if !ev.Data.(*AccountChange).Unmapped.Truncated {
		t.Error("truncated is not set")
	}
	if err := validateAgainstSchema(t, b); err != nil {
		t.Errorf("schema rejects the shrunk event: %v", err)
	}
}

func TestEventID(t *testing.T) {
	t.Parallel()
	// Computed independently with Python: uuid.uuid5(uuid.UUID(ns), job_id).
	for jobID, want := range map[string]string{
		"job-1":     "de16db6b-97c2-5677-b2d3-f924f829ad5d",
		"j-abc.def": "a0b06632-7728-5cf4-aeab-a05a56d1851c",
	} {
		if got := EventID(jobID); got != want {
			t.Errorf("EventID(%q) = %q, want %q", jobID, got, want)
		}
	}
	if strings.Contains(EventID("a.b"), ".") {
		t.Error("event ids must not contain '.' (Standard Webhooks webhook-id)")
	}
}

func TestSubjectToken(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		testUser:        testUser,
		"":              "unknown",
		"a.b":           "a~2Eb",
		"*":             "~2A",
		">":             "~3E",
		"a b\tc\r\n":    "a~20b~09c~0D~0A",
		"~2E":           "~7E2E",
		"../tokens/me":  "~2E~2E~2Ftokens~2Fme",
		"é":             "~C3~A9",
		"Ab-_9":         "Ab-_9",
		"x\x00":         "x~00",
		"%2F":           "~252F",
		"genesys.>.all": "genesys~2E~3E~2Eall",
	}
	for in, want := range tests {
		if got := SubjectToken(in); got != want {
			t.Errorf("SubjectToken(%q) = %q, want %q", in, got, want)
		}
	}
	long := SubjectToken(strings.Repeat(".", 100))
	if !regexp.MustCompile(`^~h[0-9a-f]{32}$`).MatchString(long) {
		t.Errorf("long id token = %q, want ~h and 32 hex digits", long)
	}
}

func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{"", testUser, "a.b", "*", ">", " ", strings.Repeat("é", 60)} {
		f.Add(s)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9_~-]{1,128}$`)
	f.Fuzz(func(t *testing.T, id string) {
		if tok := SubjectToken(id); !safe.MatchString(tok) {
			t.Fatalf("SubjectToken(%q) = %q, not a safe subject token", id, tok)
		}
	})
}

func TestOpsEvent(t *testing.T) {
	t.Parallel()
	op := Ops{Kind: "guard_tripped", Message: "mass-deactivation guard tripped", Time: testTime,
		Fields: map[string]string{"window": "1h", "limit": "50"}, Key: "2026-11-27T09"}
	ev, err := Origin{}.OpsEvent(op)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := validateAgainstSchema(t, b); err != nil {
		t.Errorf("schema rejects %s: %v", b, err)
	}
	if ev.Type != "com.offboard-dev.genesys.ops.guard_tripped" || ev.Route() != "audit.ops.guard_tripped" {
		t.Errorf("type %q, route %q", ev.Type, ev.Route())
	}
	if !strings.Contains(string(b), `"fields":{"limit":"50","window":"1h"}`) {
		t.Errorf("fields are not encoded in key order: %s", b)
	}
	op.Time, op.Message = op.Time.Add(time.Second), "tripped again, seen by another worker"
	other, _ := Origin{}.OpsEvent(op)
	if other.ID != ev.ID {
		t.Error("the same kind and key give different ids")
	}
	op.Key = ""
	third, _ := Origin{}.OpsEvent(op)
	if third.ID == ev.ID {
		t.Error("without a key, different events share an id")
	}
	for _, bad := range []Ops{
		{Kind: "Guard.Tripped", Message: "m", Time: testTime},
		{Kind: "a*", Message: "m", Time: testTime},
		{Kind: "", Message: "m", Time: testTime},
		{Kind: "paused", Time: testTime},
		{Kind: "paused", Message: "m"},
	} {
		if _, err := (Origin{}).OpsEvent(bad); err == nil {
			t.Errorf("OpsEvent(%+v) accepted", bad)
		}
	}
}

func TestSchemaIsValidJSONWithID(t *testing.T) {
	t.Parallel()
	var s struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil || s.ID == "" {
		t.Fatalf("schema: %v, $id %q", err, s.ID)
	}
	if !strings.HasPrefix(OpsDataSchema, s.ID+"#") {
		t.Errorf("OpsDataSchema %q does not point into the schema %q", OpsDataSchema, s.ID)
	}
}
