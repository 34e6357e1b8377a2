package worker_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Shared by the tests of the contact-center steps (off_queue, presence, queues, station).

// ccBed is a bed of 40 users with one worker running the optional steps named.
func ccBed(t *testing.T, sim genesyssim.Config, steps ...string) *testbed.T {
	t.Helper()
	sim.Users, sim.RateLimit = 40, 1_000_000
	b := testbed.New(t, testbed.Config{Sim: sim})
	b.Worker(worker.Config{Steps: steps})
	return b
}

// agent gives the n-th plain active user of the simulator the contact-center state a and
// returns that user.
func agent(t *testing.T, b *testbed.T, n int, a genesyssim.AgentState) genesyssim.User {
	t.Helper()
	u := plainActive(b.Sim)[n]
	if err := b.Sim.SetAgent(u.ID, a); err != nil {
		t.Fatal(err)
	}
	return u
}

// agentNow is the user's contact-center state in the simulator now.
func agentNow(t *testing.T, b *testbed.T, userID string) genesyssim.AgentState {
	t.Helper()
	a, ok := b.Sim.Agent(userID)
	if !ok {
		t.Fatalf("the simulator has no agent state for %s", userID)
	}
	return a
}

// offboard runs the deactivation jobID of the user and, when the worker runs clean steps, the
// cleanup job that follows it; it returns the outcome of the last job that ran.
func offboard(t *testing.T, b *testbed.T, userID, jobID string, cleanup bool, edit func(*jobs.Job)) audit.Outcome {
	t.Helper()
	ids := b.Enqueue([]jobs.UserRef{{ID: userID}}, func(j *jobs.Job) {
		j.ID = jobID
		if edit != nil {
			edit(j)
		}
	})
	st := b.WaitDone(ids...)[ids[0]]
	if !cleanup || st.Outcome != audit.OutcomeDeactivated {
		return st.Outcome
	}
	clean := jobs.CleanupID(jobID)
	return b.WaitDone(clean)[clean].Outcome
}

// reactivate runs a reactivation of the user and returns its status.
func reactivate(t *testing.T, b *testbed.T, userID, jobID string) jobs.Status {
	t.Helper()
	ids := b.Enqueue([]jobs.UserRef{{ID: userID}}, func(j *jobs.Job) { j.ID, j.Action = jobID, jobs.ActionReactivate })
	return b.WaitDone(ids...)[ids[0]]
}

// stepRecord decodes what step name recorded in the audit event of job jobID
// (unmapped.steps.<name>) into v, failing the test when the event has no such record.
func stepRecord(t *testing.T, b *testbed.T, jobID, name string, v any) {
	t.Helper()
	raw, ok := b.AuditEvents()[jobID].Steps[name]
	if !ok {
		t.Fatalf("the audit event of %s records nothing under steps.%s", jobID, name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("steps.%s of %s: %v in %s", name, jobID, err, raw)
	}
}

// routes are the simulator's routes called for the user, in order, of the methods given.
func routes(b *testbed.T, userID string, match func(route string) bool) []string {
	return slices.DeleteFunc(slices.Clone(b.CallsByUser()[userID]), func(r string) bool { return !match(r) })
}
