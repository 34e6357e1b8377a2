package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A cancel replaces the pending schedule by one due now; the server fires it at once and copies
// the cancel headers into the fired copy (it strips only its own: server/scheduler.go:221-237),
// which carries a valid Nats-Scheduler. A second cancel, or a move, after the fire is refused
// with ErrNotPending, naming the first cancel (a job that fired uncanceled: TestMoveFiresAtTheNewTime).
func TestCancelHeadersSurviveFiring(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	job := scheduledJob("hr.cancel", time.Now().Add(time.Hour))
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	c, err := b.sched.Cancel(t.Context(), job.ID, "ops-ana\x07", "resignation\nrescinded")
	if err != nil || !c.Canceled() || c.Pending() || c.CanceledBy != "ops-ana" || c.CancelReason != "resignation rescinded" {
		t.Fatalf("Cancel = %+v, %v; want the replaced schedule naming ops-ana (control characters cleaned)", c, err)
	}
	start := time.Now()
	m := b.takeFired(t, 5*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the canceled schedule fired after %v, want at once", d)
	}
	h := m.Headers()
	if h.Get(CanceledByHeader) != "ops-ana" || h.Get(CancelReasonHeader) != "resignation rescinded" {
		t.Errorf("fired copy headers %v: the cancel headers did not survive", h)
	}
	got, err := Decode(m.Data())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.names.CheckFired(m.Subject(), h.Get(SchedulerHeader), got); err != nil {
		t.Errorf("CheckFired: %v", err)
	}
	if !got.NotBefore.Equal(job.NotBefore) {
		t.Errorf("the canceled copy's not_before %v, want the job's %v", got.NotBefore, job.NotBefore)
	}
	_ = m.Ack()
	_, err = b.sched.Cancel(t.Context(), job.ID, "ops-ana", "again")
	if !errors.Is(err, ErrNotPending) || !strings.Contains(err.Error(), "already canceled by ops-ana") {
		t.Errorf("Cancel after the canceled copy fired = %v, want ErrNotPending naming the first cancel", err)
	}
	if _, err := b.sched.Move(t.Context(), job.ID, time.Now().Add(time.Hour)); !errors.Is(err, ErrNotPending) {
		t.Errorf("Move after the fire = %v, want ErrNotPending", err)
	}
	if _, err := b.sched.Cancel(t.Context(), "hr.unknown", "ops-ana", ""); !errors.Is(err, ErrNotScheduled) {
		t.Errorf("Cancel of an unknown id = %v, want ErrNotScheduled", err)
	}
}

// A second cancel of a canceled job that has not fired yet is refused too: the first one holds.
func TestCancelTwiceBeforeTheFire(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	job := scheduledJob("hr.cancel2", time.Now().Add(time.Hour))
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sched.Cancel(t.Context(), job.ID, "first", ""); err != nil {
		t.Fatal(err)
	}
	// Either the canceled schedule is still pending (refused: canceled by first) or it fired
	// (refused: already fired); never a second replacement.
	if _, err := b.sched.Cancel(t.Context(), job.ID, "second", ""); !errors.Is(err, ErrNotPending) {
		t.Errorf("second Cancel = %v, want ErrNotPending", err)
	}
	m := b.takeFired(t, 5*time.Second)
	if by := m.Headers().Get(CanceledByHeader); by != "first" {
		t.Errorf("fired copy canceled by %q, want first", by)
	}
	_ = m.Ack()
}

// A move replaces the schedule by one at the new time with the body's not_before changed: the
// job fires then, once, and not at the old time.
func TestMoveFiresAtTheNewTime(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	job := scheduledJob("hr.move", time.Now().Add(time.Hour))
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(1500 * time.Millisecond)
	mv, err := b.sched.Move(t.Context(), job.ID, at)
	if err != nil || !mv.Pending() || !mv.Job.NotBefore.Equal(at) {
		t.Fatalf("Move = %+v, %v", mv, err)
	}
	have, err := b.sched.Lookup(t.Context(), job.ID)
	if err != nil || !have.Pending() || !have.Job.NotBefore.Equal(at) || have.Sequence != mv.Sequence {
		t.Fatalf("Lookup after Move = %+v, %v; want the moved schedule", have, err)
	}
	m := b.takeFired(t, 10*time.Second)
	if time.Now().Before(at) {
		t.Error("fired before the new time")
	}
	got, err := Decode(m.Data())
	if err != nil || !got.NotBefore.Equal(at) || m.Headers().Get(CanceledByHeader) != "" {
		t.Errorf("fired copy %+v, %v, headers %v; want not_before %v and no cancel", got, err, m.Headers(), at)
	}
	_ = m.Ack()
	_, err = b.sched.Cancel(t.Context(), job.ID, "ops-ana", "too late")
	if !errors.Is(err, ErrNotPending) || !strings.Contains(err.Error(), "already fired") {
		t.Errorf("Cancel after the fire = %v, want ErrNotPending saying it already fired", err)
	}
	c, _ := b.js.Consumer(t.Context(), b.names.JobsStream(), b.names.NormalConsumer())
	batch, _ := c.Fetch(1, jetstream.FetchMaxWait(1500*time.Millisecond))
	for m := range batch.Messages() {
		t.Errorf("a second copy reached the lane: %s", m.Data())
	}
}

// Pending lists the pending schedules, of everyone or of given users (by identifier token), a
// year ahead included; History adds the fired copies.
func TestPendingLists(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	ana, bob := UserRef{UserName: "ana@example.com"}, UserRef{ExternalID: "E-7"}
	far := scheduledJob("hr.far", time.Now().AddDate(1, 0, 0))
	far.User = ana
	soon := scheduledJob("hr.soon", time.Now().Add(time.Hour))
	soon.User = ana
	now := scheduledJob("hr.now", time.Now())
	now.User = bob
	other := scheduledJob("hr.other", time.Now().Add(time.Hour))
	other.User = bob
	for _, j := range []Job{far, soon, other} {
		if _, err := b.sched.Schedule(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(q PendingQuery) []string {
		t.Helper()
		list, err := b.sched.Pending(t.Context(), q)
		if err != nil {
			t.Fatalf("Pending(%+v): %v", q, err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Job.ID+":"+s.Kind)
		}
		return out
	}
	if got := strings.Join(ids(PendingQuery{}), " "); got != "hr.far:at hr.soon:at hr.other:at" {
		t.Errorf("all pending = %s", got)
	}
	if got := strings.Join(ids(PendingQuery{Users: []UserRef{ana}}), " "); got != "hr.far:at hr.soon:at" {
		t.Errorf("ana's = %s", got)
	}
	if got := ids(PendingQuery{Users: []UserRef{{UserName: "nobody@example.com"}}}); len(got) != 0 {
		t.Errorf("nobody's = %v", got)
	}
	if _, err := b.sched.Schedule(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	_ = b.takeFired(t, 5*time.Second).Ack()
	if got := strings.Join(ids(PendingQuery{Users: []UserRef{bob}, History: true}), " "); got != "hr.other:at hr.now:due" {
		t.Errorf("bob's with history = %s", got)
	}
	if _, err := b.sched.Pending(t.Context(), PendingQuery{Limit: 2}); !errors.Is(err, ErrTooMany) {
		t.Errorf("Pending with limit 2 of 3 = %v, want ErrTooMany", err)
	}
}
