package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A step's own findings ride under unmapped.steps, in the findings, which the event carries as the
// worker recorded them; attempts and latency_ms follow the findings.
func TestUserEventCarriesStepFindings(t *testing.T) {
	t.Parallel()
	r := fullRecord()
	r.GrantsRemoved = []string{"Supervisor@Home"}
	r.Steps = map[string]json.RawMessage{"probe": json.RawMessage(`{"attempts":9,"latency_ms":9,"tokens_revoked":false}`)}
	ev, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got := string(b[strings.Index(string(b), `"unmapped":`):])
	want := `"unmapped":{"job_id":"job-1","outcome":"deactivated","dead_letter":false,"ticket":"HR-42","reason":"left <the> company",` +
		`"priority":"urgent","dry_run":false,"roles_before":["employee","Supervisor"],"tokens_revoked":true,` +
		`"correlation_ids":["c-1","c-2","c-3"],"grants_removed":["Supervisor@Home"],` +
		`"steps":{"probe":{"attempts":9,"latency_ms":9,"tokens_revoked":false}},"attempts":1,"latency_ms":1500}}}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encoding (-want +got):\n%s", diff)
	}
	var back struct {
		Data AccountChange `json:"data"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if u := back.Data.Unmapped; u.Attempts != 1 || !u.TokensRevoked || string(u.Steps["probe"]) != string(r.Steps["probe"]) {
		t.Errorf("decoded %+v", u)
	}
	if err := validateAgainstSchema(t, b); err != nil {
		t.Errorf("schema: %v", err)
	}
}

// A step's findings that are too large or too many are clipped, and the event still fits.
func TestUserEventClipsStepFindings(t *testing.T) {
	t.Parallel()
	r := fullRecord()
	r.Steps = map[string]json.RawMessage{}
	big := json.RawMessage(`"` + strings.Repeat("x", 60<<10) + `"`)
	for _, name := range []string{"a", "b", "c"} {
		r.Steps[name] = json.RawMessage(`{"n":1}`)
	}
	r.Steps["huge"] = big
	ev, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	u := ev.Data.(*AccountChange).Unmapped
	if string(u.Steps["huge"]) != stepClipped || string(u.Steps["a"]) != `{"n":1}` {
		t.Errorf("steps %v", u.Steps)
	}
	if string(r.Steps["huge"]) != string(big) {
		t.Error("UserEvent changed the record's findings")
	}
}
