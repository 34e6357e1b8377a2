package audit

import (
	"encoding/json"
	"testing"
)

// A deactivation's read-back travels under unmapped.verified and unmapped.verification, valid
// against the schema; a record without one has neither member.
func TestUserEventCarriesVerification(t *testing.T) {
	t.Parallel()
	no := false
	r := Record{JobID: "job-v", Outcome: OutcomeDeactivated, Time: testTime, User: Target{ID: testUser},
		Findings: Findings{TokensRevoked: true, Verified: &no, Verification: []Check{
			{Check: "scim_active", OK: false, Observed: "active=true", Reason: "SCIM still says active", Round: 1},
			{Check: "token_after_revocation", OK: true, Observed: "no token ever issued", Reason: "no token since the revocation", Round: 1},
		}}}
	ev, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := validateAgainstSchema(t, b); err != nil {
		t.Fatalf("schema rejects %s: %v", b, err)
	}
	var back struct {
		Data AccountChange `json:"data"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	u := back.Data.Unmapped
	if u.Verified == nil || *u.Verified || len(u.Verification) != 2 || u.Verification[0].Check != "scim_active" || u.Verification[0].OK {
		t.Errorf("unmapped verified %v, verification %+v", u.Verified, u.Verification)
	}
	r.Findings = Findings{}
	ev, _ = Origin{}.UserEvent(r)
	var m map[string]any
	b, _ = ev.Encode()
	_ = json.Unmarshal(b, &m)
	un := m["data"].(map[string]any)["unmapped"].(map[string]any)
	if _, ok := un["verified"]; ok {
		t.Errorf("verified present without a read-back: %s", b)
	}
	if _, ok := un["verification"]; ok {
		t.Errorf("verification present without a read-back: %s", b)
	}
}
