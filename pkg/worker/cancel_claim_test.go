package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// normalCopy is a second, normal copy of the bed's scheduled job id (as a fire racing the cancel
// on a replicated stream leaves one): the same job, due now, published on its lane.
func (b schedBed) normalCopy(id string) {
	b.TB.Helper()
	job := jobs.Job{Version: jobs.Version, ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: b.user.ID},
		RequestedBy: "hr-system", Reason: "left the company", Ticket: "HR-1", Priority: jobs.PriorityNormal}
	b.publishRaw(b.Names.SubjectFor(job), job)
}

// checkOneOutcome checks that job id ended with one outcome that its status, its one audit event
// and the user's state in Genesys agree on, and returns it.
func (b schedBed) checkOneOutcome(id string) audit.Outcome {
	b.TB.Helper()
	st := b.WaitDone(id)[id]
	b.WaitUntil("the jobs stream to be empty", func() bool { return b.JobsLeft() == 0 })
	ev, ok := b.AuditEvents()[id] // fails on a second event of the job
	if !ok {
		b.TB.Fatalf("no audit event of %s", id)
	}
	u, _ := b.Sim.User(b.user.ID)
	patched := len(b.patches())
	switch {
	case st.Outcome != ev.Outcome:
		b.TB.Errorf("status %s, event %s", st.Outcome, ev.Outcome)
	case st.Outcome == audit.OutcomeCanceled && (patched != 0 || !u.Active):
		b.TB.Errorf("canceled, but %d PATCHes and active=%t", patched, u.Active)
	case st.Outcome == audit.OutcomeDeactivated && (patched != 1 || u.Active):
		b.TB.Errorf("deactivated, but %d PATCHes and active=%t", patched, u.Active)
	case st.Outcome != audit.OutcomeCanceled && st.Outcome != audit.OutcomeDeactivated:
		b.TB.Errorf("outcome %s (%s), want canceled or deactivated", st.Outcome, st.Error)
	}
	return st.Outcome
}

// A canceled copy and a normal copy of one scheduled job overlap: the normal copy has read the
// status scheduled and is about to PATCH when the cancel fires the canceled copy, which reads the
// same record. One of them claims the record; the other is handed back and ends "already
// finished": one outcome, and the event, the status and Genesys agree on it.
func TestCanceledAndNormalCopyOverlapLeaveOneOutcome(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	var (
		once sync.Once
		id   string
	)
	hold := worker.Step{Name: "test_hold", Phase: worker.PhaseCut, Do: func(ctx context.Context, r *worker.Run) error {
		once.Do(func() {
			// The normal copy read the record scheduled and wrote nothing yet: fire the cancel and
			// wait until the canceled copy has read the record as well (it is delivered).
			if _, err := b.sched.Cancel(ctx, id, "ops-ana", "race"); err != nil {
				t.Errorf("Cancel: %v", err)
				return
			}
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				c, err := b.JS.Consumer(ctx, b.Names.JobsStream(), b.Names.NormalConsumer())
				if err == nil {
					if info, err := c.Info(ctx); err == nil && info.NumAckPending >= 2 {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // lets the canceled copy reach its write
		})
		return nil
	}}
	b.Worker(worker.Config{Plan: worker.PlanWith(hold), Concurrency: 4})
	id = b.enqueueAt(time.Now().Add(time.Hour))
	b.waitScheduled(id)
	b.WaitUntil("the status scheduled", func() bool {
		st, err := b.Status.Get(t.Context(), id)
		return err == nil && st.State == jobs.StateScheduled
	})
	b.normalCopy(id)
	t.Logf("outcome %s", b.checkOneOutcome(id))
}

// A normal copy that finds the record claimed by a canceled copy (running, another delivery,
// the outcome canceled decided) sends no PATCH: it waits, then ends "already finished" with no
// event of its own.
func TestNormalCopyDoesNotPatchAfterACanceledClaim(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	id := b.enqueueAt(time.Now().Add(time.Hour))
	b.waitScheduled(id)
	var st jobs.Status
	b.WaitUntil("the status scheduled", func() bool {
		var err error
		st, err = b.Status.Get(t.Context(), id)
		return err == nil && st.State == jobs.StateScheduled
	})
	claim := st // the canceled copy's claim: running, another stream sequence, canceled decided
	claim.State, claim.StreamSeq = jobs.StateRunning, 1_000_000
	claim.Decided = &jobs.Decided{Outcome: audit.OutcomeCanceled, Message: "Scheduled job canceled before it ran, by ops-ana."}
	if err := b.Status.Put(t.Context(), claim); err != nil {
		t.Fatal(err)
	}
	b.normalCopy(id)
	b.WaitUntil("the normal copy to be handed back and delivered again", func() bool {
		c, err := b.JS.Consumer(t.Context(), b.Names.JobsStream(), b.Names.NormalConsumer())
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumRedelivered > 0
	})
	if n := len(b.patches()); n != 0 {
		t.Fatalf("%d PATCHes after the canceled copy's claim, want 0", n)
	}
	if _, ok := b.AuditEvents()[id]; ok {
		t.Fatal("the normal copy stored an event while the canceled copy holds the record")
	}
	done := claim
	done.State, done.Outcome = jobs.StateDone, audit.OutcomeCanceled
	if err := b.Status.Put(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("the normal copy to end", func() bool { return b.JobsLeft() == 0 })
	if n := len(b.patches()); n != 0 {
		t.Errorf("%d PATCHes, want 0", n)
	}
	if u, _ := b.Sim.User(b.user.ID); !u.Active {
		t.Error("the user is not active")
	}
}

// The exact interleaving of the review: the normal copy (the fire, earlier in the lane) has read
// the status scheduled when the canceled copy reads it too; then the normal copy stores PatchSent
// and PATCHes, and only then does the canceled copy write. Its claim fails, it is handed back, and
// its redelivery ends "already finished": the job ends deactivated with one event, and no
// canceled event contradicts the status and Genesys.
func TestCanceledCopyReadingBeforeThePatchLeavesOneOutcome(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	canceledRead := make(chan struct{})
	var readOnce, holdOnce sync.Once
	hold := worker.Step{Name: "test_hold", Phase: worker.PhaseCut, Do: func(ctx context.Context, r *worker.Run) error {
		holdOnce.Do(func() { // the normal copy, before it writes anything: until the canceled copy has read
			select {
			case <-canceledRead:
			case <-time.After(10 * time.Second):
				t.Error("the canceled copy did not read the record")
			}
		})
		return nil
	}}
	b.Worker(worker.Config{Plan: worker.PlanWith(hold), Concurrency: 4}, func(w *worker.Worker) {
		worker.SetCanceledRead(w, func(jobID string) {
			readOnce.Do(func() { // the canceled copy, between its read and its write: until the PATCH leaves
				close(canceledRead)
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					if st, err := b.Status.Get(context.Background(), jobID); err == nil && st.Steps.PatchSent {
						return
					}
					time.Sleep(time.Millisecond)
				}
				t.Error("the normal copy did not store PatchSent")
			})
		})
	})
	id := b.enqueueAt(time.Now().Add(time.Hour))
	b.waitScheduled(id)
	b.WaitUntil("the status scheduled", func() bool {
		st, err := b.Status.Get(t.Context(), id)
		return err == nil && st.State == jobs.StateScheduled
	})
	b.normalCopy(id) // the fire
	if _, err := b.sched.Cancel(t.Context(), id, "ops-ana", "race"); err != nil {
		t.Fatal(err)
	}
	if got := b.checkOneOutcome(id); got != audit.OutcomeDeactivated {
		t.Errorf("outcome %s, want deactivated: the normal copy PATCHed before the canceled copy wrote", got)
	}
}
