package worker_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// cleanBed is a bed of 40 users with one worker running cfg (its optional steps).
func cleanBed(t *testing.T, cfg worker.Config) *testbed.T {
	t.Helper()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(cfg)
	return b
}

// withAgent gives the n-th plain active user the contact-center state edit makes of theirs, and
// returns the user's id.
func withAgent(t *testing.T, b *testbed.T, n int, edit func(a *genesyssim.AgentState)) string {
	t.Helper()
	id := plainActive(b.Sim)[n].ID
	a := agentNow(t, b, id)
	edit(&a)
	if err := b.Sim.SetAgent(id, a); err != nil {
		t.Fatal(err)
	}
	return id
}

// deactivateAndClean deactivates the user under job id and waits for the deactivation and its
// cleanup job; it returns the cleanup job's audit event.
func deactivateAndClean(t *testing.T, b *testbed.T, userID, id string) audit.Unmapped {
	t.Helper()
	b.Enqueue([]jobs.UserRef{{ID: userID}}, func(j *jobs.Job) { j.ID = id })
	clean := jobs.CleanupID(id)
	st := b.WaitDone(id, clean)
	if st[id].Outcome != audit.OutcomeDeactivated || st[clean].Outcome != audit.OutcomeCleanedUp {
		t.Fatalf("deactivation %s, cleanup %s %q; want deactivated, cleaned_up", st[id].Outcome, st[clean].Outcome, st[clean].Error)
	}
	return b.AuditEvents()[clean]
}

// reactivateEvent reactivates the user under job id and returns its audit event.
func reactivateEvent(t *testing.T, b *testbed.T, userID, id string) audit.Unmapped {
	t.Helper()
	b.Enqueue([]jobs.UserRef{{ID: userID}}, func(j *jobs.Job) { j.ID, j.Action = id, jobs.ActionReactivate })
	if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("reactivation: %s %q", st.Outcome, st.Error)
	}
	return b.AuditEvents()[id]
}

// dryRun runs a dry-run deactivation of the user under job id and returns its audit event.
func dryRun(t *testing.T, b *testbed.T, userID, id string) audit.Unmapped {
	t.Helper()
	b.Enqueue([]jobs.UserRef{{ID: userID}}, func(j *jobs.Job) { j.ID, j.DryRun = id, true })
	if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDryRun {
		t.Fatalf("dry run: %s %q", st.Outcome, st.Error)
	}
	return b.AuditEvents()[id]
}

// eventRecord decodes what step name recorded in an event into v; it fails the test when the
// event records nothing under that name.
func eventRecord(t *testing.T, ev audit.Unmapped, name string, v any) {
	t.Helper()
	raw, ok := ev.Steps[name]
	if !ok {
		t.Fatalf("job %s records nothing under steps.%s (it has %v)", ev.JobID, name, slices.Sorted(maps.Keys(ev.Steps)))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("steps.%s: %v: %s", name, err, raw)
	}
}

// previewCalls is what a dry run's preview says step name would cost.
func previewCalls(t *testing.T, ev audit.Unmapped, name string) int {
	t.Helper()
	var cost struct {
		Steps map[string]int `json:"steps"`
	}
	eventRecord(t, ev, "dry_run", &cost)
	n, ok := cost.Steps[name]
	if !ok {
		t.Fatalf("the preview has no cost for %s: %v", name, cost.Steps)
	}
	return n
}

// calls counts the simulator requests of the user on route, by status (0: any).
func calls(b *testbed.T, userID, route string, status int) int {
	n := 0
	for _, r := range b.Sim.Requests() {
		if r.UserID == userID && r.Route == route && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// withAgentID changes the contact-center state of user id as edit says.
func withAgentID(t *testing.T, b *testbed.T, id string, edit func(a *genesyssim.AgentState)) {
	t.Helper()
	a := agentNow(t, b, id)
	edit(&a)
	if err := b.Sim.SetAgent(id, a); err != nil {
		t.Fatal(err)
	}
}
