package worker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Two jobs for one user run in publish order, even when the later one is
// urgent and three idle workers could take both at once.
func TestJobsForOneUserRunInPublishOrder(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		LatencyMin: 100 * time.Millisecond, LatencyMax: 100 * time.Millisecond, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}"},
	}}})
	for range 3 {
		b.Worker(worker.Config{Concurrency: 4})
	}
	user := plainActive(b.Sim)[0]
	first := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "order-first" })
	second := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) {
		j.ID, j.Priority, j.DryRun = "order-second", jobs.PriorityUrgent, true
	})
	st := b.WaitDone(append(first, second...)...)
	a, c := st[first[0]], st[second[0]]
	if a.Outcome != audit.OutcomeDeactivated || c.Outcome != audit.OutcomeDryRun {
		t.Fatalf("outcomes %s, %s", a.Outcome, c.Outcome)
	}
	if !c.FinishedAt.After(a.FinishedAt) {
		t.Errorf("the later job finished at %s, before the earlier one at %s", c.FinishedAt, a.FinishedAt)
	}
	// The dry run saw the user after the deactivation.
	if ev := b.AuditEvents()[second[0]]; !strings.Contains(ev.Error+b.EventMessage(second[0]), "inactive") {
		t.Errorf("the dry run did not see the deactivated user: %q", b.EventMessage(second[0]))
	}
}

// Jobs naming one user differently (id and user name) never run at the same
// time: the user's lease lets one PATCH through, and the other job finds the
// user already inactive.
func TestJobsForOneUserNeverOverlap(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		LatencyMin: 150 * time.Millisecond, LatencyMax: 150 * time.Millisecond, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}", "DELETE /api/v2/tokens/{userId}"},
	}}})
	for range 2 {
		b.Worker(worker.Config{Concurrency: 4})
	}
	user := plainActive(b.Sim)[1]
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}, {UserName: user.UserName}}, nil)
	st := b.WaitDone(ids...)
	outcomes := map[audit.Outcome]int{}
	for _, s := range st {
		outcomes[s.Outcome]++
	}
	if outcomes[audit.OutcomeDeactivated] != 1 || outcomes[audit.OutcomeAlreadyInactive] != 1 {
		t.Errorf("outcomes %v, want one deactivated and one already inactive", outcomes)
	}
	patches := 0
	for _, r := range b.Sim.Requests() {
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
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}, Topology: jobs.TopologyConfig{MaxDeliver: 3}})
	user := plainActive(b.Sim)[2]
	locks, err := b.JS.KeyValue(t.Context(), b.Names.LocksBucket())
	if err != nil {
		t.Fatal(err)
	}
	// A lease of a job that will never finish, far from expiring.
	held := `{"job_id":"elsewhere","worker":"gone","expires":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano) + `"}`
	if _, err := locks.Put(t.Context(), "user."+user.ID, []byte(held)); err != nil {
		t.Fatal(err)
	}
	b.Worker(worker.Config{Concurrency: 2})
	stuck := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "stuck" })
	st := b.WaitDone(stuck...)[stuck[0]]
	if st.Outcome != audit.OutcomeExhausted || len(st.Attempts) != 1 || !strings.Contains(st.Attempts[0].Error, "MaxDeliver") {
		t.Fatalf("status %s, attempts %+v; want exhausted with the last delivery recorded", st.Outcome, st.Attempts)
	}
	if _, ok := b.DeadLetters()["stuck"]; !ok {
		t.Error("no dead letter for the job that ran out of deliveries")
	}
	if err := locks.Delete(t.Context(), "user."+user.ID); err != nil {
		t.Fatal(err)
	}
	next := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "next" })
	if st := b.WaitDone(next...)[next[0]]; st.Outcome != audit.OutcomeDeactivated {
		t.Errorf("the next job for the user ended %s, want deactivated", st.Outcome)
	}
	// A job is acked after its done status is stored: its message leaves the stream a moment later.
	b.WaitUntil("the jobs stream to empty", func() bool { return b.JobsLeft() == 0 })
}
