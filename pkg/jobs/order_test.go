package jobs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Two jobs for one user run in publish order, even when the later one is
// urgent and three idle workers could take both at once.
func TestJobsForOneUserRunInPublishOrder(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		LatencyMin: 100 * time.Millisecond, LatencyMax: 100 * time.Millisecond, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}"},
	}})
	for range 3 {
		b.worker(jobs.WorkerConfig{Concurrency: 4})
	}
	user := plainActive(b.sim)[0]
	first := b.enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "order-first" })
	second := b.enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) {
		j.ID, j.Priority, j.DryRun = "order-second", jobs.PriorityUrgent, true
	})
	st := b.waitDone(append(first, second...), 20*time.Second)
	a, c := st[first[0]], st[second[0]]
	if a.Outcome != audit.OutcomeDeactivated || c.Outcome != audit.OutcomeDryRun {
		t.Fatalf("outcomes %s, %s", a.Outcome, c.Outcome)
	}
	if !c.FinishedAt.After(a.FinishedAt) {
		t.Errorf("the later job finished at %s, before the earlier one at %s", c.FinishedAt, a.FinishedAt)
	}
	// The dry run saw the user after the deactivation.
	if ev := b.auditEvents()[second[0]]; !strings.Contains(ev.Error+b.eventMessage(second[0]), "inactive") {
		t.Errorf("the dry run did not see the deactivated user: %q", b.eventMessage(second[0]))
	}
}

// Jobs naming one user differently (id and user name) never run at the same
// time: the user's lease lets one PATCH through, and the other job finds the
// user already inactive.
func TestJobsForOneUserNeverOverlap(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		LatencyMin: 150 * time.Millisecond, LatencyMax: 150 * time.Millisecond, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}", "DELETE /api/v2/tokens/{userId}"},
	}})
	for range 2 {
		b.worker(jobs.WorkerConfig{Concurrency: 4})
	}
	user := plainActive(b.sim)[1]
	ids := b.enqueue([]jobs.UserRef{{ID: user.ID}, {UserName: user.UserName}}, nil)
	st := b.waitDone(ids, 20*time.Second)
	outcomes := map[audit.Outcome]int{}
	for _, s := range st {
		outcomes[s.Outcome]++
	}
	if outcomes[audit.OutcomeDeactivated] != 1 || outcomes[audit.OutcomeAlreadyInactive] != 1 {
		t.Errorf("outcomes %v, want one deactivated and one already inactive", outcomes)
	}
	patches := 0
	for _, r := range b.sim.Requests() {
		if r.UserID == user.ID && r.Method == "PATCH" {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("%d PATCHes for the user, want 1: the jobs overlapped", patches)
	}
}
