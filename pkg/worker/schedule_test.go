package worker_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

const patchRoute = "PATCH /api/v2/scim/v2/users/{id}"

// schedBed is a bed with a scheduler on it to look scheduled jobs up, and one active user.
type schedBed struct {
	*testbed.T
	sched *jobs.Scheduler
	user  genesyssim.User
}

func newSchedBed(t *testing.T, cfg testbed.Config) schedBed {
	t.Helper()
	b := testbed.New(t, cfg)
	s, err := jobs.NewScheduler(b.JS, b.Names, 0)
	if err != nil {
		t.Fatal(err)
	}
	return schedBed{T: b, sched: s, user: b.ActiveUsers(1)[0]}
}

// enqueueAt publishes a deactivation of the bed's user that must not run before at.
func (b schedBed) enqueueAt(at time.Time) string {
	b.TB.Helper()
	return b.Enqueue([]jobs.UserRef{{ID: b.user.ID}}, func(j *jobs.Job) { j.NotBefore = at })[0]
}

// waitScheduled waits until the scheduled stream holds the pending schedule of id.
func (b schedBed) waitScheduled(id string) {
	b.TB.Helper()
	b.WaitUntil("the job to be scheduled", func() bool {
		s, err := b.sched.Lookup(b.TB.Context(), id)
		return err == nil && s.Pending()
	})
}

// patches returns the times of the successful PATCHes of the bed's user.
func (b schedBed) patches() []time.Time {
	var ts []time.Time
	for _, r := range b.Sim.Requests() {
		if r.Route == patchRoute && r.UserID == b.user.ID && r.Status == 200 {
			ts = append(ts, r.Time)
		}
	}
	return ts
}

// checkDeactivatedAt checks that job id deactivated the user once, at its not_before or less
// than slack after it, with one audit event that records the not_before.
func (b schedBed) checkDeactivatedAt(id string, at time.Time, slack time.Duration) {
	b.TB.Helper()
	st := b.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeDeactivated {
		b.TB.Fatalf("outcome %s (%s), want deactivated", st.Outcome, st.Error)
	}
	ps := b.patches()
	if len(ps) != 1 {
		b.TB.Fatalf("%d PATCHes of the user, want 1", len(ps))
	}
	if ps[0].Before(at) || !ps[0].Before(at.Add(slack)) {
		b.TB.Errorf("deactivated at %v, want in [%v, +%v)", ps[0].Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), slack)
	}
	ev, ok := b.AuditEvents()[id]
	if !ok {
		b.TB.Fatal("no audit event")
	}
	if want := at.UTC().Format(time.RFC3339Nano); ev.NotBefore != want {
		b.TB.Errorf("audit not_before %q, want %q", ev.NotBefore, want)
	}
}

// A job 3 s ahead waits for its time in the scheduled stream, not in a worker, and deactivates
// at its time.
func TestScheduledJobFiresAtItsTime(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	at := time.Now().Add(3 * time.Second)
	id := b.enqueueAt(at)
	b.waitScheduled(id)
	// The worker acks the intake message once the schedule (and its status) is stored: the jobs
	// stream then holds nothing while the job waits for its time.
	b.WaitUntil("the intake message acked", func() bool { return b.JobsLeft() == 0 })
	if len(b.patches()) != 0 || time.Now().After(at) {
		t.Errorf("the jobs stream emptied only after the job ran (%d PATCHes) or its time passed", len(b.patches()))
	}
	b.checkDeactivatedAt(id, at, 1500*time.Millisecond)
}

// No worker runs when the job fires: the jobs stream takes the fired copy all the same, and the
// next worker runs it.
func TestScheduledJobSurvivesAWorkerRestart(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	w := b.Worker(worker.Config{ID: "first"})
	at := time.Now().Add(2 * time.Second)
	id := b.enqueueAt(at)
	b.waitScheduled(id)
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	s, err := b.sched.Lookup(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	fired := b.Messages(b.Names.ScheduledStream(), b.Names.DueSubject(s.Job))
	testbed.WaitFor(t, "the job to fire", fired, func(jetstream.Msg) bool { return true })
	if time.Now().Before(at) {
		t.Errorf("the job fired before its not_before")
	}
	b.Worker(worker.Config{ID: "second"})
	st := b.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeDeactivated || len(b.patches()) != 1 || len(b.AuditEvents()) != 1 {
		t.Errorf("outcome %s, %d PATCHes, %d events; want deactivated, 1, 1", st.Outcome, len(b.patches()), len(b.AuditEvents()))
	}
}

// The NATS server restarts between scheduling and firing: the schedule is on disk, and fires.
func TestScheduledJobSurvivesANATSRestart(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{FileStorage: true})
	b.Worker(worker.Config{})
	at := time.Now().Add(3 * time.Second)
	id := b.enqueueAt(at)
	b.waitScheduled(id)
	b.RestartNATS()
	// The slack covers the clients' reconnect (nats.go waits 2 s between attempts).
	b.checkDeactivatedAt(id, at, 5*time.Second)
}

// A not_before in the past runs now, through the lane, and the event records it.
func TestPastNotBeforeRunsNow(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	id := b.enqueueAt(at)
	if _, err := b.sched.Lookup(t.Context(), id); !errors.Is(err, jobs.ErrNotScheduled) {
		t.Errorf("a past job went to the scheduled stream: %v", err)
	}
	b.checkDeactivatedAt(id, at, time.Hour+time.Minute)
}

// A producer that put a future job straight on its lane (ignoring the intake subject): the
// worker schedules it instead of running it early.
func TestFutureJobOnTheLaneIsScheduled(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	at := time.Now().Add(2 * time.Second)
	job := jobs.Job{Version: jobs.Version, ID: "lane-later", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: b.user.ID},
		RequestedBy: "hr", Priority: jobs.PriorityNormal, NotBefore: at}
	b.publishRaw(b.Names.SubjectFor(job), job)
	b.checkDeactivatedAt(job.ID, at, 1500*time.Millisecond)
}

// A second job with the same id is dropped before and after its date, also once the jobs
// stream's duplicate window has passed (a retry published without Nats-Msg-Id stands for one a
// day later): one deactivation, one audit event.
func TestScheduledDuplicateIsDropped(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	at := time.Now().Add(2 * time.Second)
	id := b.enqueueAt(at)
	b.waitScheduled(id)
	s, err := b.sched.Lookup(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	retry := s.Job
	retry.NotBefore = at.Add(time.Hour) // a re-send with another date is the same request
	b.publishRaw(b.Names.IntakeSubject(retry), retry)
	b.waitIntakeEmpty()
	if time.Now().After(at) {
		t.Log("the duplicate was handled after the job fired; the test still checks the outcome")
	}
	b.checkDeactivatedAt(id, at, 1500*time.Millisecond)
	b.publishRaw(b.Names.IntakeSubject(retry), retry)
	b.waitIntakeEmpty()
	if s, err := b.sched.Lookup(t.Context(), id); err != nil || s.Kind != "due" {
		t.Errorf("Lookup after firing = %+v, %v; want the fired copy", s, err)
	}
	if n := b.JobsLeft(); n != 0 || len(b.patches()) != 1 || len(b.AuditEvents()) != 1 {
		t.Errorf("%d jobs left, %d PATCHes, %d events; want 0, 1, 1", n, len(b.patches()), len(b.AuditEvents()))
	}
}

// publishRaw publishes job on subject without Nats-Msg-Id.
func (b schedBed) publishRaw(subject string, job jobs.Job) {
	b.TB.Helper()
	data, err := json.Marshal(job)
	if err != nil {
		b.TB.Fatal(err)
	}
	if _, err := b.JS.PublishMsg(b.TB.Context(), &nats.Msg{Subject: subject, Data: data}); err != nil {
		b.TB.Fatal(err)
	}
}

// waitIntakeEmpty waits until the intake consumer has nothing pending or unacknowledged.
func (b schedBed) waitIntakeEmpty() {
	b.TB.Helper()
	b.WaitUntil("the intake to be empty", func() bool {
		c, err := b.JS.Consumer(b.TB.Context(), b.Names.JobsStream(), b.Names.IntakeConsumer())
		if err != nil {
			return false
		}
		info, err := c.Info(b.TB.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// A schedule whose body is another job than its subject names (only workers and operators may
// publish schedules; this stands for a bug or a forgery) fires a copy whose Nats-Scheduler does
// not name the body's schedule: the worker rejects it under a stand-in id, and nothing changes
// in Genesys.
func TestFiredCopyOfAnotherJobsScheduleIsRejected(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	b.Worker(worker.Config{})
	job := jobs.Job{Version: jobs.Version, ID: "forged-body", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: b.user.ID},
		RequestedBy: "hr", Priority: jobs.PriorityNormal, NotBefore: time.Now()}
	other := job
	other.ID = "the-scheduled-one"
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: b.Names.ScheduleSubject(other), Data: data, Header: nats.Header{}}
	msg.Header.Set("Nats-Schedule", "@at "+time.Now().UTC().Format(time.RFC3339))
	msg.Header.Set("Nats-Schedule-Target", b.Names.DueSubject(other))
	if _, err := b.JS.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("a rejection", func() bool { return len(b.DeadLetters()) == 1 })
	for id, dl := range b.DeadLetters() {
		if dl.Outcome != audit.OutcomeRejected || !jobs.IsReservedID(id) || !strings.Contains(dl.Reason, "names schedule") {
			t.Errorf("dead letter %s: %s %q; want rejected under a stand-in id", id, dl.Outcome, dl.Reason)
		}
	}
	if len(b.patches()) != 0 {
		t.Error("the forged copy deactivated the user")
	}
}

// While the scheduled stream cannot store a job, the intake hands it back without an attempt; on
// the consumer's last delivery the job ends exhausted with a dead letter, never undelivered and
// unseen.
func TestSchedulingFailureEndsExhaustedOnTheLastDelivery(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{Topology: jobs.TopologyConfig{MaxDeliver: 2}})
	if err := b.JS.DeleteStream(t.Context(), b.Names.ScheduledStream()); err != nil {
		t.Fatal(err)
	}
	b.Worker(worker.Config{})
	id := b.enqueueAt(time.Now().Add(time.Hour))
	st := b.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeExhausted || !strings.Contains(st.Error, "scheduling the job failed") {
		t.Errorf("outcome %s %q, want exhausted naming the scheduling", st.Outcome, st.Error)
	}
	if dl, ok := b.DeadLetters()[id]; !ok || dl.Outcome != audit.OutcomeExhausted {
		t.Errorf("dead letter %+v, want exhausted", dl)
	}
	if len(b.patches()) != 0 {
		t.Error("the job ran before its time")
	}
}
