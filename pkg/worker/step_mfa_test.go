package worker_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

type mfaRec struct {
	Verifiers []struct{ ID, Name, Type, Result string } `json:"verifiers"`
	Result    string                                    `json:"result"`
	Would     []string                                  `json:"would"`
}

// The mfa step deletes the leaver's verifiers and records each; a reactivation says they are not
// restored; a user with none is recorded as such; a dry run deletes nothing.
func TestMFAStep(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"mfa"}})
	two := []genesyssim.Verifier{{ID: "v-totp-1", Name: "Phone app", Type: "totp"}, {ID: "v-key-2", Name: "Security key", Type: "webauthn"}}
	leaver := withAgent(t, b, 0, func(a *genesyssim.AgentState) { a.Verifiers = two })
	none := withAgent(t, b, 1, func(a *genesyssim.AgentState) { a.Verifiers = nil })
	dry := withAgent(t, b, 2, func(a *genesyssim.AgentState) { a.Verifiers = two })

	var rec mfaRec
	eventRecord(t, deactivateAndClean(t, b, leaver, "mfa-leaver"), "mfa", &rec)
	if len(rec.Verifiers) != 2 || rec.Result != "2 MFA verifiers deleted" || rec.Verifiers[0].Name != "Phone app" || rec.Verifiers[1].Result != "deleted" {
		t.Errorf("recorded %+v; want both verifiers deleted", rec)
	}
	if a := agentNow(t, b, leaver); len(a.Verifiers) != 0 {
		t.Errorf("verifiers left: %+v", a.Verifiers)
	}
	var undo undoRec
	eventRecord(t, reactivateEvent(t, b, leaver, "mfa-leaver-back"), "undo_mfa", &undo)
	if len(undo.CouldNot) != 2 || len(undo.Restored) != 0 || !strings.Contains(undo.Result, "enrols") {
		t.Errorf("undo recorded %+v; want each verifier named as not restored", undo)
	}

	rec = mfaRec{}
	eventRecord(t, deactivateAndClean(t, b, none, "mfa-none"), "mfa", &rec)
	if len(rec.Verifiers) != 0 || rec.Result != "no MFA verifier enrolled" {
		t.Errorf("a user with no verifier: recorded %+v", rec)
	}

	ev := dryRun(t, b, dry, "mfa-dry")
	rec = mfaRec{}
	eventRecord(t, ev, "mfa", &rec)
	if rec.Result != "would delete 2 MFA verifiers" || len(rec.Would) != 1 {
		t.Errorf("dry run recorded %+v", rec)
	}
	if n := previewCalls(t, ev, "mfa"); n != 3 {
		t.Errorf("preview says %d calls; want 3 (the list and a delete each)", n)
	}
	if a := agentNow(t, b, dry); len(a.Verifiers) != 2 {
		t.Errorf("a dry run deleted verifiers: %+v left", a.Verifiers)
	}
}

// Deletes that fail part-way are retried: the next attempt deletes what is left, and the record
// still names every verifier the user had, each deleted (a verifier deleted by an earlier
// attempt is not lost from the before-state).
func TestMFAStepResumesAfterAFailedDelete(t *testing.T) {
	t.Parallel()
	const del = "DELETE /api/v2/users/{id}/verifiers/{verifierId}"
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(worker.Config{Steps: []string{"mfa"}, MaxAttempts: 20})
	three := []genesyssim.Verifier{{ID: "v-1", Name: "one"}, {ID: "v-2", Name: "two"}, {ID: "v-3", Name: "three"}}
	user := withAgent(t, b, 0, func(a *genesyssim.AgentState) { a.Verifiers = three })
	if err := b.Sim.SetFaults(genesyssim.Faults{Seed: 7, Routes: []string{del}, ErrorRate: 0.5, ErrorStatuses: []int{503}}); err != nil {
		t.Fatal(err)
	}
	var rec mfaRec
	eventRecord(t, deactivateAndClean(t, b, user, "mfa-resume"), "mfa", &rec)
	if calls(b, user, del, 503) == 0 {
		t.Fatal("no delete failed: the test proves nothing (change the fault seed)")
	}
	deleted := 0
	for _, v := range rec.Verifiers {
		if v.Result == "deleted" {
			deleted++
		}
	}
	if len(rec.Verifiers) != 3 || deleted != 3 || rec.Result != "3 MFA verifiers deleted" {
		t.Errorf("recorded %+v after %d failed deletes; want all three, each deleted", rec, calls(b, user, del, 503))
	}
	if a := agentNow(t, b, user); len(a.Verifiers) != 0 {
		t.Errorf("verifiers left: %+v", a.Verifiers)
	}
}
