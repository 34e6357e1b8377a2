package worker_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// canceledFindings is what a cancel job or a reactivation records under steps.cancel_scheduled.
type canceledFindings struct {
	Canceled []string `json:"canceled"`
	TooLate  []string `json:"too_late"`
}

func (b schedBed) canceledBy(jobID string) canceledFindings {
	b.TB.Helper()
	var f canceledFindings
	ev, ok := b.AuditEvents()[jobID]
	if !ok {
		b.TB.Fatalf("no audit event of %s", jobID)
	}
	if raw := ev.Steps["cancel_scheduled"]; raw != nil {
		if err := json.Unmarshal(raw, &f); err != nil {
			b.TB.Fatal(err)
		}
	}
	return f
}

// checkCanceled checks that the scheduled job id ended canceled by by, with one event naming
// by and the reason, and that the user is untouched and active.
func (b schedBed) checkCanceled(id, by, reason string) {
	b.TB.Helper()
	st := b.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeCanceled {
		b.TB.Fatalf("outcome %s (%s), want canceled", st.Outcome, st.Error)
	}
	ev := b.AuditEvents()[id]
	if ev.CanceledBy != by || ev.NotBefore == "" {
		b.TB.Errorf("event canceled_by %q, not_before %q; want %q and the job's date", ev.CanceledBy, ev.NotBefore, by)
	}
	if msg := b.EventMessage(id); !strings.Contains(msg, by) || !strings.Contains(msg, reason) {
		b.TB.Errorf("event message %q does not name %q and %q", msg, by, reason)
	}
	if n := len(b.patches()); n != 0 {
		b.TB.Errorf("%d PATCHes of the user, want 0", n)
	}
	if u, _ := b.Sim.User(b.user.ID); !u.Active {
		b.TB.Error("the user is not active")
	}
}

// The intake records the status scheduled with the date; a cancel ends the job canceled, with
// one event naming who and why, and Genesys untouched.
func TestCanceledScheduledJobEndsCanceled(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	at := time.Now().Add(time.Hour)
	id := b.enqueueAt(at)
	b.waitScheduled(id)
	b.WaitUntil("the status scheduled", func() bool {
		st, err := b.Status.Get(t.Context(), id)
		return err == nil && st.State == jobs.StateScheduled && st.NotBefore.Equal(at)
	})
	if _, err := b.sched.Cancel(t.Context(), id, "ops-ana", "resignation rescinded"); err != nil {
		t.Fatal(err)
	}
	b.checkCanceled(id, "ops-ana", "resignation rescinded")
}

// A cancel job names the user by another identifier than the scheduled deactivation: the worker
// resolves the user and finds the deactivation under its id's token. cancel_done lists it.
func TestCancelJobCancelsUnderAnotherIdentifier(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	id := b.enqueueAt(time.Now().Add(time.Hour)) // by user id
	b.waitScheduled(id)
	cancel := b.Enqueue([]jobs.UserRef{{UserName: b.user.UserName}}, func(j *jobs.Job) {
		j.ID, j.Action, j.Reason, j.RequestedBy = "cancel-1", jobs.ActionCancel, "offer accepted after all", "hr-bot"
	})[0]
	st := b.WaitDone(cancel)[cancel]
	if st.Outcome != audit.OutcomeCancelDone {
		t.Fatalf("cancel job outcome %s (%s), want cancel_done", st.Outcome, st.Error)
	}
	if f := b.canceledBy(cancel); !slices.Equal(f.Canceled, []string{id}) {
		t.Errorf("cancel job canceled %v, want [%s]", f.Canceled, id)
	}
	b.checkCanceled(id, "job cancel-1 (hr-bot)", "offer accepted after all")
	// A second cancel finds nothing left to cancel.
	again := b.Enqueue([]jobs.UserRef{{ID: b.user.ID}}, func(j *jobs.Job) { j.ID, j.Action = "cancel-2", jobs.ActionCancel })[0]
	if st := b.WaitDone(again)[again]; st.Outcome != audit.OutcomeCancelDone || len(b.canceledBy(again).Canceled) != 0 {
		t.Errorf("second cancel: %s, canceled %v; want cancel_done, none", st.Outcome, b.canceledBy(again).Canceled)
	}
}

// A reactivation before the date (a rescinded resignation) cancels the pending deactivation and
// is not refused for want of a recorded deactivation: the user stays active, both jobs have
// their event.
func TestReactivationBeforeTheDateCancelsTheDeactivation(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	id := b.enqueueAt(time.Now().Add(time.Hour))
	b.waitScheduled(id)
	// A dry run says what it would cancel, and cancels nothing.
	dry := b.Enqueue([]jobs.UserRef{{ExternalID: b.user.ExternalID}}, func(j *jobs.Job) {
		j.ID, j.Action, j.DryRun = "react-dry", jobs.ActionReactivate, true
	})[0]
	if st := b.WaitDone(dry)[dry]; st.Outcome != audit.OutcomeDryRun {
		t.Fatalf("dry run outcome %s (%s)", st.Outcome, st.Error)
	}
	if msg := b.EventMessage(dry); !strings.Contains(msg, "would cancel its pending scheduled job ("+id+")") || !strings.Contains(msg, "change nothing") {
		t.Errorf("dry run message %q", msg)
	}
	if s, err := b.sched.Lookup(t.Context(), id); err != nil || !s.Pending() {
		t.Fatalf("after the dry run: %+v, %v; want the deactivation still pending", s, err)
	}
	react := b.Enqueue([]jobs.UserRef{{ExternalID: b.user.ExternalID}}, func(j *jobs.Job) {
		j.ID, j.Action, j.RequestedBy, j.Reason = "react-1", jobs.ActionReactivate, "ops-bo", ""
	})[0]
	st := b.WaitDone(react)[react]
	if st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("reactivation outcome %s (%s), want reactivated", st.Outcome, st.Error)
	}
	if msg := b.EventMessage(react); !strings.Contains(msg, "is active") || !strings.Contains(msg, id) {
		t.Errorf("reactivation message %q: want it to say the user was active and name %s", msg, id)
	}
	if f := b.canceledBy(react); !slices.Equal(f.Canceled, []string{id}) {
		t.Errorf("reactivation canceled %v, want [%s]", f.Canceled, id)
	}
	b.checkCanceled(id, "reactivation react-1 (ops-bo)", "reactivated before the date")
	if len(b.AuditEvents()) != 3 {
		t.Errorf("%d events, want 3 (dry run, reactivation, canceled deactivation)", len(b.AuditEvents()))
	}
}

// A cancel header on an ordinary lane job (no Nats-Scheduler: a producer set it) is ignored:
// the job runs.
func TestForgedCancelHeaderIsIgnored(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	job := jobs.Job{Version: jobs.Version, ID: "forged-cancel", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: b.user.ID},
		RequestedBy: "hr", Priority: jobs.PriorityNormal}
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: b.Names.SubjectFor(job), Data: data, Header: nats.Header{}}
	msg.Header.Set(jobs.CanceledByHeader, "mallory")
	if _, err := b.JS.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	st := b.WaitDone(job.ID)[job.ID]
	if st.Outcome != audit.OutcomeDeactivated || len(b.patches()) != 1 || b.AuditEvents()[job.ID].CanceledBy != "" {
		t.Errorf("outcome %s, %d PATCHes; want deactivated, 1, and no canceled_by", st.Outcome, len(b.patches()))
	}
}

// A cancel racing the fire: whichever wins, the job has exactly one outcome and one event, and
// it agrees with what Cancel said (nil: canceled, Genesys untouched; ErrNotPending: deactivated).
func TestCancelRacingTheFireLeavesOneOutcome(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	users := b.ActiveUsers(6)[1:] // the bed's own user is the first
	at := time.Now().Add(1500 * time.Millisecond)
	ids := b.Enqueue(testbed.Refs(users), func(j *jobs.Job) { j.NotBefore = at })
	for _, id := range ids {
		b.waitScheduled(id)
	}
	// Cancel one every 100 ms around the fire: the first ones win, the last ones are too late.
	time.Sleep(time.Until(at.Add(-250 * time.Millisecond))) // the race is with the server's clock: nothing to await
	won := map[string]bool{}
	for _, id := range ids {
		_, err := b.sched.Cancel(t.Context(), id, "ops-race", "race")
		switch {
		case err == nil:
			won[id] = true
		case !errors.Is(err, jobs.ErrNotPending):
			t.Fatalf("Cancel %s: %v", id, err)
		}
		time.Sleep(100 * time.Millisecond) // spreads the cancels over the fire
	}
	sts := b.WaitDone(ids...)
	evs := b.AuditEvents() // fails on a second event of a job
	for i, id := range ids {
		want := audit.OutcomeDeactivated
		if won[id] {
			want = audit.OutcomeCanceled
		}
		patched := 0
		for _, r := range b.Sim.Requests() {
			if r.Route == patchRoute && r.UserID == users[i].ID && r.Status == 200 {
				patched++
			}
		}
		if sts[id].Outcome != want || evs[id].Outcome != want || patched != map[bool]int{true: 0, false: 1}[won[id]] {
			t.Errorf("%s: outcome %s, event %s, %d PATCHes; Cancel said canceled=%t", id, sts[id].Outcome, evs[id].Outcome, patched, won[id])
		}
	}
	t.Logf("%d of %d canceled before the fire", len(won), len(ids))
}

// A canceled copy that meets the record of another copy of the job still running (a second fire
// in a replicated stream) does not end the job: it is handed back, and once the other copy is
// done it ends "already finished", with no event of its own.
func TestCanceledCopyWaitsForAnotherRunningCopy(t *testing.T) {
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
	other := st // the other copy's record: running, another stream sequence
	other.State, other.StreamSeq = jobs.StateRunning, 1_000_000
	if err := b.Status.Put(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sched.Cancel(t.Context(), id, "ops-ana", "race"); err != nil {
		t.Fatal(err)
	}
	// Redelivered: its first delivery met the running record and handed it back, unfinished.
	b.WaitUntil("the canceled copy to be handed back and delivered again", func() bool {
		c, err := b.JS.Consumer(t.Context(), b.Names.JobsStream(), b.Names.NormalConsumer())
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumRedelivered > 0
	})
	if _, ok := b.AuditEvents()[id]; ok {
		t.Fatal("the canceled copy stored an event while another copy runs")
	}
	done := other
	done.State, done.Outcome = jobs.StateDone, audit.OutcomeDeactivated
	if err := b.Status.Put(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("the canceled copy to end", func() bool { return b.JobsLeft() == 0 })
	if _, ok := b.AuditEvents()[id]; ok {
		t.Error("the canceled copy stored an event after the other copy finished")
	}
}

// A cancel job for a user Genesys does not know (never created, or deleted) still cancels what is
// scheduled under the job's own identifier.
func TestCancelJobForAnUnknownUser(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	ghost := jobs.UserRef{UserName: "ghost.leaver@example.com"}
	id := b.Enqueue([]jobs.UserRef{ghost}, func(j *jobs.Job) { j.ID, j.NotBefore = "ghost-deact", time.Now().Add(time.Hour) })[0]
	b.waitScheduled(id)
	cancel := b.Enqueue([]jobs.UserRef{ghost}, func(j *jobs.Job) { j.ID, j.Action = "ghost-cancel", jobs.ActionCancel })[0]
	if st := b.WaitDone(cancel)[cancel]; st.Outcome != audit.OutcomeCancelDone {
		t.Fatalf("cancel job outcome %s (%s), want cancel_done", st.Outcome, st.Error)
	}
	if f := b.canceledBy(cancel); !slices.Equal(f.Canceled, []string{id}) {
		t.Errorf("canceled %v, want [%s]", f.Canceled, id)
	}
	if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeCanceled {
		t.Errorf("scheduled job outcome %s, want canceled", st.Outcome)
	}
}
