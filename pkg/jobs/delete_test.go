package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

func TestDeleteJobFollowsItsDeactivation(t *testing.T) {
	t.Parallel()
	deact := Job{Version: Version, ID: "hr.2026.17", Action: ActionDeactivate, User: UserRef{UserName: "a@b.example"},
		RequestedBy: "hr-bot", Ticket: "HR-1"}
	at := time.Date(2027, 1, 31, 17, 0, 0, 0, time.UTC)
	const leaver = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"
	if d := deact.DeleteJob("", at.Add(-time.Hour), at); d.User != deact.User {
		t.Errorf("DeleteJob without the resolved id names %+v, want the deactivation's %+v", d.User, deact.User)
	}
	d := deact.DeleteJob(leaver, at.Add(-time.Hour), at)
	if err := d.Validate(); err != nil {
		t.Fatalf("DeleteJob: %v", err)
	}
	// The delete names the user by the id the deactivation resolved: the user name may belong to
	// someone else when the grace period ends.
	if d.ID != "_delete.hr.2026.17" || d.DeleteOf != deact.ID || d.User != (UserRef{ID: leaver}) || !d.NotBefore.Equal(at) ||
		d.RequestedBy != "genesys-deactivator" || !strings.Contains(d.Reason, deact.ID) {
		t.Errorf("DeleteJob = %+v", d)
	}
	n := Names{}
	if d.Lane() != "delete" || d.Subject("") != "genesys.jobs.delete" || n.DeleteSubject() != "genesys.jobs.delete" ||
		n.DeleteConsumer() != "workers-delete" || n.HoldsBucket() != "genesys-holds" {
		t.Errorf("lane %s subject %s consumer %s bucket %s", d.Lane(), d.Subject(""), n.DeleteConsumer(), n.HoldsBucket())
	}
	if got := n.IntakeSubject(d); got != "genesys.jobs.at.delete."+UserToken(d.User) {
		t.Errorf("intake subject %s", got)
	}
	long := strings.Repeat("a", MaxIDLength)
	if id := DeleteID(long); !strings.HasPrefix(id, "_delete-h.j-") || len(id) > MaxIDLength || !WellFormedID(id) {
		t.Errorf("DeleteID(long) = %q", id)
	}
	replay := d
	replay.ID, replay.ReplayOf = d.ID+".r1", d.ID
	if err := replay.Validate(); err != nil {
		t.Errorf("a replay of the delete job: %v", err)
	}
}

func TestCheckSubjectKeepsDeletesOnTheirLane(t *testing.T) {
	t.Parallel()
	n := Names{}
	del := Job{Version: Version, ID: "d-1", Action: ActionDelete, User: UserRef{ID: testUUID}, RequestedBy: "op"}
	deact := del
	deact.Action = ActionDeactivate
	tok := UserToken(del.User)
	sched := del
	sched.NotBefore = time.Now().Add(time.Hour)
	for _, tt := range []struct {
		subject string
		job     Job
		ok      bool
	}{
		{"genesys.jobs.delete", del, true},
		{"genesys.jobs.delete." + tok, del, true},
		{"genesys.jobs.at.delete." + tok, sched, true},
		{"genesys.jobs.normal." + tok, del, false},
		{"genesys.jobs.urgent", del, false},
		{"genesys.jobs.cleanup", del, false},
		{"genesys.jobs.reactivate", del, false},
		{"genesys.jobs.delete." + tok, deact, false},
		{"genesys.jobs.delete.0000000000000000", del, false},
		{"genesys.jobs.at.normal." + tok, sched, false},
	} {
		err := n.CheckSubject(tt.subject, tt.job)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrWrongSubject)) {
			t.Errorf("CheckSubject(%s, %s) = %v, want ok=%t", tt.subject, tt.job.Action, err, tt.ok)
		}
	}
}

func holdsBed(t *testing.T) (jetstream.JetStream, *Holds) {
	t.Helper()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Provision(t.Context(), js, TopologyConfig{}); err != nil {
		t.Fatal(err)
	}
	h, err := NewHolds(t.Context(), js, Names{})
	if err != nil {
		t.Fatal(err)
	}
	return js, h
}

func TestHoldsAddFindRemoveList(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	js, h := holdsBed(t)
	ref := UserRef{UserName: "Jane.Doe@Example.com"}
	hold, added, err := h.Add(ctx, ref, "matter 42", "alice", "ops-alice")
	if err != nil || !added || hold.Kind != "user_name" || hold.Value != ref.UserName || hold.By != "alice" {
		t.Fatalf("Add = %+v, %t, %v", hold, added, err)
	}
	if _, added, err := h.Add(ctx, ref, "again", "bob", ""); err != nil || added {
		t.Errorf("second Add: added %t, %v; want the hold in force kept", added, err)
	}
	if _, _, err := h.Add(ctx, UserRef{ID: testUUID}, " ", "alice", ""); err == nil {
		t.Error("a hold without a reason was added")
	}
	// Any identifier of the user: the case of a user name does not matter.
	got, ok, err := h.Find(ctx, UserRef{ID: testUUID}, UserRef{UserName: "jane.doe@example.com"}, UserRef{})
	if err != nil || !ok || got.Reason != "matter 42" {
		t.Errorf("Find = %+v, %t, %v", got, ok, err)
	}
	if _, _, err := h.Add(ctx, UserRef{ExternalID: "emp/7 \"x\""}, "matter 43", "alice", ""); err != nil {
		t.Fatalf("a hold on an external id with characters a key cannot hold: %v", err)
	}
	list, err := h.List(ctx)
	if err != nil || len(list) != 2 || list[0].Value != ref.UserName || list[1].Ref() != (UserRef{ExternalID: "emp/7 \"x\""}) {
		t.Errorf("List = %+v, %v", list, err)
	}
	if _, err := h.Remove(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Remove(ctx, ref); !errors.Is(err, ErrNoHold) {
		t.Errorf("second Remove = %v, want ErrNoHold", err)
	}
	if _, ok, err := h.Find(ctx, ref); ok || err != nil {
		t.Errorf("Find after Remove = %t, %v", ok, err)
	}
	// The removal stays visible in the bucket's history.
	kv, _ := js.KeyValue(ctx, Names{}.HoldsBucket())
	hist, err := kv.History(ctx, HoldKey(ref))
	if err != nil || len(hist) != 2 || hist[1].Operation() != jetstream.KeyValueDelete {
		t.Errorf("history = %d entries, %v; want the hold and its removal", len(hist), err)
	}
}

// The delete guard counts deletes apart from deactivations and, tripped, holds the delete lane
// alone; the mass-deactivation guard's normal hold holds the delete lane too.
func TestDeleteGuardHoldsTheDeleteLaneAlone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names := Names{}
	if err := Provision(ctx, js, TopologyConfig{}); err != nil {
		t.Fatal(err)
	}
	main, err := NewGuard(ctx, js, names, GuardConfig{Limit: 2}, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	dg, err := NewGuard(ctx, js, names, GuardConfig{Limit: 1, Key: DeleteGuardKey}, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	paused := func(consumer string) bool {
		c, err := js.Consumer(ctx, names.JobsStream(), consumer)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().Paused
	}
	if _, err := dg.Reserve(ctx, "del-1", false, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := main.Reserve(ctx, "deact-1", false, 2); err != nil {
		t.Fatalf("a deactivation after a delete: %v (the delete used up the deactivation limit?)", err)
	}
	tripped, err := dg.Reserve(ctx, "del-2", false, 3)
	if !tripped || !errors.Is(err, ErrGuardHeld) {
		t.Fatalf("second delete: tripped %t, %v", tripped, err)
	}
	if err := dg.Tripped(ctx, "del-2", false); err != nil {
		t.Fatal(err)
	}
	if !paused(names.DeleteConsumer()) || paused(names.NormalConsumer()) || paused(names.UrgentConsumer()) || paused(names.CleanupConsumer()) {
		t.Errorf("after the delete guard tripped: delete paused %t, normal %t, urgent %t, cleanup %t; want the delete lane alone",
			paused(names.DeleteConsumer()), paused(names.NormalConsumer()), paused(names.UrgentConsumer()), paused(names.CleanupConsumer()))
	}
	if _, err := main.Reserve(ctx, "deact-2", false, 4); err != nil {
		t.Fatalf("a deactivation while deletes are held: %v", err)
	}
	if _, err := dg.Resume(ctx, GuardDecision{Operator: "alice"}); err != nil {
		t.Fatal(err)
	}
	if paused(names.DeleteConsumer()) {
		t.Error("the delete lane stays paused after the delete guard was resumed")
	}
	// The mass-deactivation guard trips: normal, cleanup and delete lanes wait.
	if tripped, _ := main.Reserve(ctx, "deact-3", false, 5); !tripped {
		t.Fatal("the third deactivation did not trip the guard of limit 2")
	}
	if err := main.Tripped(ctx, "deact-3", false); err != nil {
		t.Fatal(err)
	}
	if !paused(names.NormalConsumer()) || !paused(names.CleanupConsumer()) || !paused(names.DeleteConsumer()) {
		t.Error("the mass-deactivation guard's normal hold does not hold the cleanup and delete lanes")
	}
	st, _, _ := dg.State(ctx)
	if n, _ := st.Counts(); n != 0 {
		t.Errorf("delete guard counts %d after the resume; deactivations must not count there", n)
	}
}

// A hold is read from the holds stream's leader ($JS.API.STREAM.MSG.GET), never through a direct
// get that a lagging follower may answer: a hold just added must stop the next delete.
func TestHoldsReadFromTheLeader(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	js, h := holdsBed(t)
	ref := UserRef{UserName: "kim@example.com"}
	if _, _, err := h.Add(ctx, ref, "matter 7", "alice", ""); err != nil {
		t.Fatal(err)
	}
	// Every JetStream API request of this connection from now on, in the order it was sent.
	requests := make(chan *nats.Msg, 64)
	sub, err := js.Conn().ChanSubscribe("$JS.API.>", requests)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := js.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := h.Find(ctx, UserRef{UserName: "other@example.com"}, ref); err != nil || !ok || got.Reason != "matter 7" {
		t.Fatalf("Find = %+v, %t, %v; want the hold", got, ok, err)
	}
	stream := "KV_" + Names{}.HoldsBucket()
	for leader := 0; leader < 2; {
		select {
		case m := <-requests:
			switch {
			case strings.HasPrefix(m.Subject, "$JS.API.DIRECT.GET."):
				t.Fatalf("a hold was read with a direct get (%s), which any replica answers", m.Subject)
			case m.Subject == "$JS.API.STREAM.MSG.GET."+stream:
				leader++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("saw %d leader reads of %s, want 2", leader, stream)
		}
	}
}
