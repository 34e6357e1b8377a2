package worker_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// plainUsers are active users without an admin role.
func plainUsers(b *testbed.T) []genesyssim.User {
	return slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool {
		return !u.Active || u.Deleted || slices.Contains(u.Roles(), genesyssim.RoleMasterAdmin)
	})
}

// publishRaw publishes body on subject, with Nats-Msg-Id msgID unless it is empty, and returns
// its stream sequence.
func publishRaw(b *testbed.T, subject, body, msgID string) uint64 {
	b.TB.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = []byte(body)
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ack, err := b.JS.PublishMsg(b.TB.Context(), msg)
	if err != nil {
		b.TB.Fatalf("publish on %s: %v", subject, err)
	}
	return ack.Sequence
}

func jobBody(t *testing.T, j jobs.Job) string {
	t.Helper()
	j.Version = jobs.Version
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func isActive(b *testbed.T, id string) bool {
	for _, u := range b.Sim.Users() {
		if u.ID == id {
			return u.Active
		}
	}
	b.TB.Fatalf("no user %s", id)
	return false
}

// Review D2, probes 12 and 70: a valid job that takes the id a rejected message would get, then
// garbage; and garbage on a victim's token subject followed by an urgent job for the victim. Every
// message ends, the planted jobs keep their own results, and the victim's job runs.
func TestPlantedStandInIDsDoNotBlock(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	users := plainUsers(b)
	u1, u2, u3, victim := users[0], users[1], users[2], users[3]
	normal := b.Names.NormalSubject()
	on := func(u genesyssim.User) string { return normal + "." + jobs.UserToken(jobs.UserRef{ID: u.ID}) }
	job := func(id string, u genesyssim.User) string {
		return jobBody(t, jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "planter"})
	}
	// Probe 12: the old stand-in form, claimed by a valid job, then garbage at that sequence.
	s1 := publishRaw(b, on(u1), job(fmt.Sprintf("rejected-seq-%d", 2), u1), "")
	s2 := publishRaw(b, normal, "not json", "")
	// Probe 70: the same, with the garbage on the victim's token subject, then the victim's job.
	s3 := publishRaw(b, on(u2), job(fmt.Sprintf("rejected-seq-%d", 4), u2), "")
	s4 := publishRaw(b, on(victim), "x", "")
	// The new stand-in form cannot be claimed: such a job is rejected itself.
	s5 := publishRaw(b, on(u3), job(fmt.Sprintf("_rejected.seq-%d", 6), u3), "")
	s6 := publishRaw(b, normal, "{", "")
	if s1 != 1 || s2 != 2 || s3 != 3 || s4 != 4 || s5 != 5 || s6 != 6 {
		t.Fatalf("sequences %d..%d, want 1..6", s1, s6)
	}
	urgent := b.Enqueue([]jobs.UserRef{{ID: victim.ID}}, func(j *jobs.Job) { j.Priority = jobs.PriorityUrgent })
	b.Worker(worker.Config{})

	st := b.WaitDone(append([]string{"rejected-seq-2", "rejected-seq-4"}, urgent...)...)
	for id, s := range st {
		if s.Outcome != audit.OutcomeDeactivated {
			t.Errorf("%s: outcome %s, want deactivated", id, s.Outcome)
		}
	}
	rejected := b.WaitDone(jobs.StandInID(2), jobs.StandInID(4), jobs.StandInID(5), jobs.StandInID(6))
	for id, s := range rejected {
		if s.Outcome != audit.OutcomeRejected {
			t.Errorf("%s: outcome %s, want rejected", id, s.Outcome)
		}
	}
	if s := rejected[jobs.StandInID(5)]; !strings.Contains(s.Error, "reserved") {
		t.Errorf("the job with a reserved id was rejected for %q", s.Error)
	}
	b.WaitUntil("the jobs stream to empty", func() bool { return b.JobsLeft() == 0 })
	events, dead := b.AuditEvents(), b.DeadLetters()
	for _, id := range []string{"rejected-seq-2", "rejected-seq-4", urgent[0]} {
		if events[id].Outcome != audit.OutcomeDeactivated {
			t.Errorf("%s: event %+v, want deactivated", id, events[id])
		}
	}
	for id := range rejected {
		if events[id].Outcome != audit.OutcomeRejected || dead[id].Outcome != audit.OutcomeRejected {
			t.Errorf("%s: event %s, dead letter %s; want both rejected", id, events[id].Outcome, dead[id].Outcome)
		}
	}
	if isActive(b, victim.ID) {
		t.Error("the victim is still active")
	}
}

// The subject rules: a user token names the job's user, and reactivations travel on their own
// lane only. A job that breaks them is rejected under a stand-in id, never under its own (which
// would pre-empt the real job).
func TestJobOnTheWrongSubjectIsRejected(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	users := plainUsers(b)
	a, victim := users[0], users[1]
	tok := func(u genesyssim.User) string { return jobs.UserToken(jobs.UserRef{ID: u.ID}) }
	deact := jobBody(t, jobs.Job{ID: "wrong-token", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: a.ID}, RequestedBy: "x"})
	react := jobBody(t, jobs.Job{ID: "react-on-normal", Action: jobs.ActionReactivate, User: jobs.UserRef{ID: a.ID}, RequestedBy: "x"})
	deactOnReact := jobBody(t, jobs.Job{ID: "deact-on-react", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: a.ID}, RequestedBy: "x"})
	s1 := publishRaw(b, b.Names.NormalSubject()+"."+tok(victim), deact, "wrong-token")
	s2 := publishRaw(b, b.Names.NormalSubject()+"."+tok(a), react, "react-on-normal")
	s3 := publishRaw(b, b.Names.ReactivateSubject()+"."+tok(a), deactOnReact, "deact-on-react")
	b.Worker(worker.Config{})
	st := b.WaitDone(jobs.StandInID(s1), jobs.StandInID(s2), jobs.StandInID(s3))
	for id, want := range map[uint64]string{s1: "user token", s2: "must arrive on", s3: "only reactivations"} {
		if s := st[jobs.StandInID(id)]; s.Outcome != audit.OutcomeRejected || !strings.Contains(s.Error, want) {
			t.Errorf("seq %d: %s %q, want rejected saying %q", id, s.Outcome, s.Error, want)
		}
	}
	for _, id := range []string{"wrong-token", "react-on-normal", "deact-on-react"} {
		if _, err := b.Status.Get(t.Context(), id); err == nil {
			t.Errorf("a status was written under the message's own id %s", id)
		}
	}
	if len(b.Sim.Requests()) != 0 {
		t.Errorf("rejected jobs made %d Genesys calls", len(b.Sim.Requests()))
	}
}

// Review D3: a job planted under another job's id ends first; when the real job's message
// arrives (after the duplicate window, or without Nats-Msg-Id) it is not taken for the planted
// one: it ends rejected under a stand-in id, and the planted job's status and event stay as they
// were.
func TestMessageWithAnotherJobsIDIsNotThatJob(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	users := plainUsers(b)
	grace, omar := users[0], users[1]
	planted := b.Enqueue([]jobs.UserRef{{ID: omar.ID}}, func(j *jobs.Job) { j.ID, j.DryRun = "hr-77", true })
	b.Worker(worker.Config{})
	b.WaitDone(planted...)
	real := jobs.Job{ID: "hr-77", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: grace.ID}, RequestedBy: "hr"}
	seq := publishRaw(b, b.Names.SubjectFor(real), jobBody(t, real), "")
	st := b.WaitDone(jobs.StandInID(seq))[jobs.StandInID(seq)]
	if st.Outcome != audit.OutcomeRejected || !strings.Contains(st.Error, "belongs to a different job") {
		t.Errorf("the real job's message ended %s %q", st.Outcome, st.Error)
	}
	kept, err := b.Status.Get(t.Context(), "hr-77")
	if err != nil || kept.Outcome != audit.OutcomeDryRun || kept.User != "id:"+omar.ID || !kept.DryRun {
		t.Errorf("the planted job's status changed: %+v %v", kept, err)
	}
	if ev := b.AuditEvents()["hr-77"]; ev.Outcome != audit.OutcomeDryRun {
		t.Errorf("the planted job's event is %+v", ev)
	}
	if !isActive(b, grace.ID) {
		t.Error("grace was deactivated by a message that was not her job")
	}
}

// Review L6: a rejected message without Nats-Msg-Id whose body has a valid id is found under that
// id, unless another job holds it.
func TestRejectedJobIsFoundByTheIDInItsBody(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	b.Worker(worker.Config{})
	taken := b.Enqueue([]jobs.UserRef{{ID: plainUsers(b)[0].ID}}, func(j *jobs.Job) { j.ID = "taken-1" })
	b.WaitDone(taken...)
	bad := `{"version":1,"id":"%s","action":"fly","user":{"id":"nope"},"requested_by":"hr"}`
	publishRaw(b, b.Names.NormalSubject(), fmt.Sprintf(bad, "j-t05"), "")
	seq := publishRaw(b, b.Names.NormalSubject(), fmt.Sprintf(bad, "taken-1"), "")
	st := b.WaitDone("j-t05", jobs.StandInID(seq))
	if st["j-t05"].Outcome != audit.OutcomeRejected || st[jobs.StandInID(seq)].Outcome != audit.OutcomeRejected {
		t.Errorf("statuses %+v", st)
	}
	if s, _ := b.Status.Get(t.Context(), "taken-1"); s.Outcome != audit.OutcomeDeactivated {
		t.Errorf("the status of the job whose id the bad message names is now %s", s.Outcome)
	}
	if ev := b.AuditEvents()["taken-1"]; ev.Outcome != audit.OutcomeDeactivated {
		t.Errorf("the event of the job whose id the bad message names is %+v", ev)
	}
}
