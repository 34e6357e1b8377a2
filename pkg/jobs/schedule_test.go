package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// schedBed is a provisioned server (memory storage) with a Scheduler on it.
type schedBed struct {
	js    jetstream.JetStream
	sched *Scheduler
	names Names
}

func newSchedBed(t *testing.T, cfg TopologyConfig) schedBed {
	t.Helper()
	cfg.Storage = jetstream.MemoryStorage
	js := provisionedJS(t, cfg)
	s, err := NewScheduler(js, cfg.Names, cfg.ScheduledKeep)
	if err != nil {
		t.Fatal(err)
	}
	return schedBed{js: js, sched: s, names: cfg.Names}
}

// scheduledJob is a valid job for a random user (so that tests can run in parallel on one
// server) that must not run before at.
func scheduledJob(id string, at time.Time) Job {
	j := validJob()
	j.ID, j.Priority, j.NotBefore = id, PriorityNormal, at
	j.RequestedAt = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return j
}

// takeFired waits for the next job on the normal lane through the workers' own consumer.
func (b schedBed) takeFired(t *testing.T, wait time.Duration) jetstream.Msg {
	t.Helper()
	c, err := b.js.Consumer(t.Context(), b.names.JobsStream(), b.names.NormalConsumer())
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		return m
	}
	t.Fatalf("no job on the normal lane within %v: %v", wait, batch.Error())
	return nil
}

// A scheduled job fires into its ordinary lane at its time, never before, with the mark of the
// scheduled stream (Nats-Scheduler) that CheckFired accepts.
func TestScheduleFiresAtItsTime(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	// A fraction of a second that WithScheduleAt would drop: the job must not fire before it.
	at := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(900 * time.Millisecond)
	job := scheduledJob("hr.2027.leaver-1", at)
	res, err := b.sched.Schedule(t.Context(), job)
	if err != nil || res.Duplicate {
		t.Fatalf("Schedule = %+v, %v", res, err)
	}
	m := b.takeFired(t, 10*time.Second)
	arrived := time.Now()
	meta, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if meta.Timestamp.Before(at) || arrived.Before(at) {
		t.Errorf("fired at %v (stored %v), before its not_before %v", arrived, meta.Timestamp, at)
	}
	if lag := meta.Timestamp.Sub(at); lag > time.Second {
		t.Errorf("stored in the lane %v after its not_before, want under 1s", lag)
	}
	if m.Subject() != b.names.SubjectFor(job) {
		t.Errorf("fired onto %s, want its lane subject %s", m.Subject(), b.names.SubjectFor(job))
	}
	got, err := Decode(m.Data())
	if err != nil {
		t.Fatalf("fired copy does not decode: %v", err)
	}
	if diff := cmp.Diff(job, got); diff != "" {
		t.Errorf("fired copy (-want +got):\n%s", diff)
	}
	if err := b.names.CheckSubject(m.Subject(), got); err != nil {
		t.Error(err)
	}
	if err := b.names.CheckFired(m.Subject(), m.Headers().Get(SchedulerHeader), got); err != nil {
		t.Errorf("CheckFired: %v (headers %v)", err, m.Headers())
	}
	// The server strips the id: the jobs stream does not deduplicate the copy against the intake.
	if id := m.Headers().Get(jetstream.MsgIDHeader); id != "" {
		t.Errorf("fired copy carries Nats-Msg-Id %q", id)
	}
	_ = m.Ack()
	// The pending schedule is gone; the fired copy is the id's tombstone.
	have, err := b.sched.Lookup(t.Context(), job.ID)
	if err != nil || have.Kind != "due" || have.Pending() {
		t.Errorf("Lookup after firing = %+v, %v; want the fired copy", have, err)
	}
}

// A second job with the same id is a duplicate before its date and after it fired, whatever the
// jobs stream's duplicate window says, and also under another user or lane.
func TestScheduleDeduplicatesByIDForAnyHorizon(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{DuplicateWindow: time.Second})
	job := scheduledJob("hr.dup", time.Now().Add(time.Second))
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	again := job
	again.NotBefore = job.NotBefore.Add(time.Hour) // an HR re-send with another date
	again.User = UserRef{UserName: "someone@example.com"}
	again.Priority = PriorityUrgent
	res, err := b.sched.Schedule(t.Context(), again)
	if err != nil || !res.Duplicate || !res.Existing.Pending() || !res.Existing.Job.NotBefore.Equal(job.NotBefore) {
		t.Fatalf("Schedule of the same id before firing = %+v, %v; want a duplicate naming the pending one", res, err)
	}
	m := b.takeFired(t, 10*time.Second)
	_ = m.Ack()
	res, err = b.sched.Schedule(t.Context(), again)
	if err != nil || !res.Duplicate || res.Existing.Kind != "due" {
		t.Fatalf("Schedule of the same id after firing = %+v, %v; want a duplicate naming the fired copy", res, err)
	}
	// Nothing else reached the lane.
	c, _ := b.js.Consumer(t.Context(), b.names.JobsStream(), b.names.NormalConsumer())
	batch, _ := c.Fetch(1, jetstream.FetchMaxWait(1500*time.Millisecond))
	for m := range batch.Messages() {
		t.Errorf("a second copy reached the lane: %s", m.Data())
	}
}

// A job a year ahead is stored (no horizon limit) and readable by id.
func TestScheduleAYearAhead(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	job := scheduledJob("hr.far", time.Now().AddDate(1, 0, 0).Truncate(time.Millisecond))
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatalf("Schedule a year ahead: %v", err)
	}
	have, err := b.sched.Lookup(t.Context(), job.ID)
	if err != nil || !have.Pending() || have.Subject != b.names.ScheduleSubject(job) {
		t.Fatalf("Lookup = %+v, %v", have, err)
	}
	if diff := cmp.Diff(job, have.Job); diff != "" {
		t.Errorf("stored job (-want +got):\n%s", diff)
	}
	if _, err := b.sched.Lookup(t.Context(), "hr.other"); !errors.Is(err, ErrNotScheduled) {
		t.Errorf("Lookup of an unknown id = %v, want ErrNotScheduled", err)
	}
}

// A past not_before fires at once.
func TestScheduleInThePastFiresNow(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	job := scheduledJob("hr.past", time.Now().Add(-time.Hour))
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = b.takeFired(t, 5*time.Second).Ack()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a past job fired after %v", d)
	}
}

// The tombstones expire by their TTL although the stream denies deletes (DenyDelete guards the
// API only), and the pending schedule has no TTL of its own.
func TestScheduledTombstoneExpires(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{ScheduledKeep: time.Second})
	job := scheduledJob("hr.ttl", time.Now())
	if _, err := b.sched.Schedule(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	_ = b.takeFired(t, 5*time.Second).Ack()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond) // the server's TTL expiry has no event to wait on
	defer tick.Stop()
	for {
		_, err := b.sched.Lookup(ctx, job.ID)
		if errors.Is(err, ErrNotScheduled) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the fired copy with a 1s TTL is still there: %v", err)
		case <-tick.C:
		}
	}
}

// The publisher sends a future job to the intake subject and a past one to its lane.
func TestEnqueueRoutesAFutureJobToTheIntake(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{Storage: jetstream.MemoryStorage})
	p := publisherFor(t, js)
	future, past := validJob(), validJob()
	future.ID, future.NotBefore = "later", enqueueNow.Add(time.Minute)
	past.ID, past.NotBefore = "now", enqueueNow.Add(-time.Minute)
	for _, tc := range []struct {
		job       Job
		subject   string
		scheduled bool
	}{
		{future, Names{}.IntakeSubject(future), true},
		{past, Names{}.SubjectFor(past), false},
	} {
		res, err := p.Enqueue(t.Context(), tc.job)
		if err != nil || res.Scheduled != tc.scheduled {
			t.Fatalf("Enqueue(%s) = %+v, %v; want Scheduled %t", tc.job.ID, res, err, tc.scheduled)
		}
		m, err := jobsStream(t, js).GetMsg(t.Context(), res.Sequence)
		if err != nil || m.Subject != tc.subject {
			t.Errorf("job %s stored on %v (%v), want %s", tc.job.ID, m, err, tc.subject)
		}
	}
}

// A deployment provisioned before scheduled jobs existed is upgraded in place: the jobs stream
// gains the intake subject and the source, the queued jobs stay, and Verify accepts the result.
func TestProvisionUpgradesAPre16Topology(t *testing.T) {
	t.Parallel()
	cfg := TopologyConfig{Storage: jetstream.MemoryStorage}.withDefaults()
	js, _ := startJS(t)
	ctx := t.Context()
	old := cfg.streams()[1]
	old.Subjects, old.Sources = old.Subjects[:len(old.Subjects)-1], nil
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatalf("create the old jobs stream: %v", err)
	}
	queued := validJob()
	if _, err := publisherFor(t, js).Enqueue(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if err := Provision(ctx, js, cfg); err != nil {
		t.Fatalf("Provision over the old topology: %v", err)
	}
	if err := Verify(ctx, js, cfg); err != nil {
		t.Fatalf("Verify after the upgrade: %v", err)
	}
	if n := msgCount(t, jobsStream(t, js)); n != 1 {
		t.Errorf("jobs stream holds %d messages after the upgrade, want the 1 queued", n)
	}
	// An upgraded jobs stream whose source someone removed is named.
	sc := jobsStream(t, js).CachedInfo().Config
	sc.Sources = nil
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, js, cfg); err == nil || !errors.Is(err, ErrTopology) {
		t.Errorf("Verify of a jobs stream without its source = %v, want a TopologyError", err)
	} else {
		t.Log(err)
	}
}

// A client cannot forge the mark of a fired copy: the server refuses Nats-Scheduler on a publish
// to the jobs stream (nats-server v2.15.2 server/stream.go:6992).
func TestForgedSchedulerHeaderIsRefused(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	job := scheduledJob("hr.forged", time.Now().Add(time.Hour))
	data, err := encodeJob(job)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.js.PublishMsg(t.Context(), &nats.Msg{
		Subject: b.names.SubjectFor(job), Data: data,
		Header: nats.Header{SchedulerHeader: {b.names.ScheduleSubject(job)}},
	})
	if err == nil {
		t.Fatal("the jobs stream stored a job with a forged Nats-Scheduler header")
	}
	t.Log(err)
}
