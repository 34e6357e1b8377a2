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

// A job that can only wait (its user's lease is held by a job that never ends) is not left in the
// work queue after the consumer's last delivery, where it would block every later job for the
// user until it aged out: on that delivery it ends exhausted, dead-lettered, and the next job for
// the user runs as soon as the lease is free.
func TestJobOnItsLastDeliveryEndsInsteadOfBlockingTheUser(t *testing.T) {
	t.Parallel()
	b := newBedTopology(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000}, func(c *jobs.TopologyConfig) { c.MaxDeliver = 3 })
	user := plainActive(b.sim)[2]
	locks, err := b.js.KeyValue(t.Context(), b.names.LocksBucket())
	if err != nil {
		t.Fatal(err)
	}
	// A lease of a job that will never finish, far from expiring.
	held := `{"job_id":"elsewhere","worker":"gone","expires":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano) + `"}`
	if _, err := locks.Put(t.Context(), "user."+user.ID, []byte(held)); err != nil {
		t.Fatal(err)
	}
	b.worker(jobs.WorkerConfig{Concurrency: 2})
	stuck := b.enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "stuck" })
	st := b.waitDone(stuck, 30*time.Second)[stuck[0]]
	if st.Outcome != audit.OutcomeExhausted || len(st.Attempts) != 1 || !strings.Contains(st.Attempts[0].Error, "MaxDeliver") {
		t.Fatalf("status %s, attempts %+v; want exhausted with the last delivery recorded", st.Outcome, st.Attempts)
	}
	if _, ok := b.deadLetters()["stuck"]; !ok {
		t.Error("no dead letter for the job that ran out of deliveries")
	}
	if err := locks.Delete(t.Context(), "user."+user.ID); err != nil {
		t.Fatal(err)
	}
	next := b.enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "next" })
	if st := b.waitDone(next, 20*time.Second)[next[0]]; st.Outcome != audit.OutcomeDeactivated {
		t.Errorf("the next job for the user ended %s, want deactivated", st.Outcome)
	}
	if left := b.jobsLeft(); left != 0 {
		t.Errorf("%d jobs left in the stream", left)
	}
}
