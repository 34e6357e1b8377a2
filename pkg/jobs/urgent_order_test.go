package jobs_test

import (
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Review D15 (probe 71): the guard (limit 1) has tripped and holds a normal
// job for user X; an urgent job for X runs anyway. A deactivation is
// idempotent, so the urgent one need not wait behind the held one.
func TestUrgentJobOvertakesAHeldNormalJobForTheSameUser(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000})
	b.worker(jobs.WorkerConfig{Concurrency: 4, Guard: jobs.GuardConfig{Limit: 1, UrgentLimit: 1, Window: time.Hour}})
	users := plainActive(b.sim)
	first := b.enqueue([]jobs.UserRef{{ID: users[0].ID}}, func(j *jobs.Job) { j.ID = "fills-the-guard" })
	b.waitDone(first, 20*time.Second)
	x := users[1]
	held := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID = "held-normal" })
	waitFor(t, 20*time.Second, "the guard to trip", func() bool { return len(b.opsEvents("guard_tripped")) > 0 })

	urgent := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Priority = "escalation", jobs.PriorityUrgent })
	if st := b.waitDone(urgent, 20*time.Second)[urgent[0]]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("urgent job: %s (%s), want deactivated", st.Outcome, st.Error)
	}
	if u, _ := b.sim.User(x.ID); u.Active {
		t.Error("the user is still active")
	}
	if n := b.doneCount(held); n != 0 {
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
	b := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000})
	x := plainActive(b.sim)[2]
	_, stop := b.worker(jobs.WorkerConfig{})
	off := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID = "off" })
	b.waitDone(off, 20*time.Second)
	stop()

	on := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Action = "on", jobs.ActionReactivate })
	again := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Priority = "off-again", jobs.PriorityUrgent })
	b.worker(jobs.WorkerConfig{Concurrency: 4})
	st := b.waitDone(append(on, again...), 20*time.Second)
	r, d := st[on[0]], st[again[0]]
	if r.Outcome != audit.OutcomeReactivated || d.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("outcomes %s (%s), %s (%s); want reactivated, then deactivated", r.Outcome, r.Error, d.Outcome, d.Error)
	}
	if !d.FinishedAt.After(r.FinishedAt) {
		t.Error("the urgent deactivation finished before the earlier reactivation")
	}
	if u, _ := b.sim.User(x.ID); u.Active {
		t.Error("the user ends active: the deactivation overtook the reactivation")
	}
}

// And a reactivation never overtakes an earlier deactivation of the same
// user: it waits for the (urgent) deactivation queued before it.
func TestReactivationWaitsForAnEarlierDeactivation(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000})
	x := plainActive(b.sim)[3]
	off := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Priority = "off", jobs.PriorityUrgent })
	on := b.enqueue([]jobs.UserRef{{ID: x.ID}}, func(j *jobs.Job) { j.ID, j.Action = "on", jobs.ActionReactivate })
	b.worker(jobs.WorkerConfig{Concurrency: 4})
	st := b.waitDone(append(off, on...), 20*time.Second)
	d, r := st[off[0]], st[on[0]]
	if d.Outcome != audit.OutcomeDeactivated || r.Outcome != audit.OutcomeReactivated {
		t.Fatalf("outcomes %s (%s), %s (%s); want deactivated, then reactivated", d.Outcome, d.Error, r.Outcome, r.Error)
	}
	if !r.FinishedAt.After(d.FinishedAt) {
		t.Error("the reactivation finished before the earlier deactivation")
	}
	if u, _ := b.sim.User(x.ID); !u.Active {
		t.Error("the user ends inactive: the reactivation overtook the deactivation")
	}
}
