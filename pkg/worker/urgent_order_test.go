package worker_test

import (
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Review D15 (probe 71): the guard (limit 1) has tripped and holds a normal
// job for user X; an urgent job for X runs anyway. A deactivation is
// idempotent, so the urgent one need not wait behind the held one.
func TestUrgentJobOvertakesAHeldNormalJobForTheSameUser(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	b.Worker(worker.Config{Concurrency: 4, Guard: jobs.GuardConfig{Limit: 1, UrgentLimit: 1, Window: time.Hour}})
	users := plainActive(b.Sim)
	first := b.Enqueue([]jobs.UserRef{{ID: users[0].ID}}, func(j *jobs.Job) { j.ID = "fills-the-guard" })
	b.WaitDone(first...)
	x := users[1]
	held := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID = "held-normal" })
	b.WaitUntil("the guard to trip", func() bool { return len(b.OpsEvents("guard_tripped")) > 0 })

	urgent := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Priority = "escalation", jobs.PriorityUrgent })
	if st := b.WaitDone(urgent...)[urgent[0]]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("urgent job: %s (%s), want deactivated", st.Outcome, st.Error)
	}
	if u, _ := b.Sim.User(x.ID); u.Active {
		t.Error("the user is still active")
	}
	if n := doneCount(b, held); n != 0 {
		t.Error("the held normal job ran while the guard holds its lane")
	}
}

// Per-user order still holds where it matters: a deactivation, even an
// urgent one, never overtakes an earlier reactivation of the same user
// (else the user would end active). Both are queued before a worker starts,
// so the worker, which looks at the urgent lane first, meets the urgent
// deactivation first and must hand it back until the reactivation has run.
func TestUrgentDeactivationNeverOvertakesAnEarlierReactivation(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	x := plainActive(b.Sim)[2]
	first := b.Worker(worker.Config{})
	off := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID = "off" })
	b.WaitDone(off...)
	_ = first.Stop() // its error, if any, fails the test at cleanup

	on := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Action = "on", jobs.ActionReactivate })
	again := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Priority = "off-again", jobs.PriorityUrgent })
	b.Worker(worker.Config{Concurrency: 4})
	st := b.WaitDone(append(on, again...)...)
	r, d := st[on[0]], st[again[0]]
	if r.Outcome != audit.OutcomeReactivated || d.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("outcomes %s (%s), %s (%s); want reactivated, then deactivated", r.Outcome, r.Error, d.Outcome, d.Error)
	}
	if !d.FinishedAt.After(r.FinishedAt) {
		t.Error("the urgent deactivation finished before the earlier reactivation")
	}
	if u, _ := b.Sim.User(x.ID); u.Active {
		t.Error("the user ends active: the deactivation overtook the reactivation")
	}
}

// And a reactivation never overtakes an earlier deactivation of the same
// user: it waits for the (urgent) deactivation queued before it.
func TestReactivationWaitsForAnEarlierDeactivation(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	x := plainActive(b.Sim)[3]
	off := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Priority = "off", jobs.PriorityUrgent })
	on := b.Enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Action = "on", jobs.ActionReactivate })
	b.Worker(worker.Config{Concurrency: 4})
	st := b.WaitDone(append(off, on...)...)
	d, r := st[off[0]], st[on[0]]
	if d.Outcome != audit.OutcomeDeactivated || r.Outcome != audit.OutcomeReactivated {
		t.Fatalf("outcomes %s (%s), %s (%s); want deactivated, then reactivated", d.Outcome, d.Error, r.Outcome, r.Error)
	}
	if !r.FinishedAt.After(d.FinishedAt) {
		t.Error("the reactivation finished before the earlier deactivation")
	}
	if u, _ := b.Sim.User(x.ID); !u.Active {
		t.Error("the user ends inactive: the reactivation overtook the deactivation")
	}
}
