package worker_test

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// TestPipelineWorkerKilledMidBatch runs a worker as a separate process (this
// test binary re-executed), kills it with SIGKILL while it works, and lets
// another worker finish: every job ends with exactly one audit event, and a
// job whose PATCH had already happened ends deactivated, not already_inactive.
func TestPipelineWorkerKilledMidBatch(t *testing.T) {
	t.Parallel()
	// Token revocation is slow, so that a kill most likely lands between a
	// job's PATCH and the storing of its outcome.
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 400, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		LatencyMin: 80 * time.Millisecond, LatencyMax: 120 * time.Millisecond, Routes: []string{"DELETE /api/v2/tokens/{userId}"},
	}}})
	active := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })[:200]
	ids := b.Enqueue(testbed.Refs(active), nil)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_NATS_URL="+b.NC.ConnectedUrl(), "CHILD_SIM_URL="+b.SimURL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("the child worker to finish some jobs", func() bool { return len(b.AuditEvents()) >= 20 })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// Users the child had PATCHed without storing the job's outcome.
	events := b.AuditEvents()
	var cut []string
	for _, r := range b.Sim.Requests() {
		if r.Route == "PATCH /api/v2/scim/v2/users/{id}" && r.Status == 200 {
			if i := slices.IndexFunc(active, func(u genesyssim.User) bool { return u.ID == r.UserID }); i >= 0 {
				if _, done := events[ids[i]]; !done {
					cut = append(cut, ids[i])
				}
			}
		}
	}
	if len(cut) == 0 {
		t.Fatal("the kill did not land between a PATCH and its outcome; the test proves nothing")
	}

	b.Worker(worker.Config{ID: "survivor", Concurrency: 8})
	statuses := b.WaitDone(ids...)
	events = b.AuditEvents() // fails on a second event for any job
	if len(events) != len(ids) {
		t.Errorf("%d audit events for %d jobs", len(events), len(ids))
	}
	for _, id := range ids {
		if events[id].Outcome != audit.OutcomeDeactivated || statuses[id].Outcome != audit.OutcomeDeactivated {
			t.Errorf("job %s: event %s status %s, want deactivated", id, events[id].Outcome, statuses[id].Outcome)
		}
	}
	for _, id := range cut {
		if statuses[id].Worker != "survivor" {
			t.Errorf("job %s was cut by the kill but finished by %q", id, statuses[id].Worker)
		}
	}
	t.Logf("%d jobs were cut between PATCH and outcome; all ended deactivated", len(cut))
	// A job is acked after its done status is stored: its message leaves the stream a moment later.
	b.WaitUntil("the jobs stream to empty", func() bool { return b.JobsLeft() == 0 })
}
