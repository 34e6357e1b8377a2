package worker_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

type queueRecord struct {
	QueueID  string `json:"queue_id"`
	Name     string `json:"name"`
	MemberBy string `json:"member_by"`
}

type queuesRecord struct {
	Queues  []queueRecord     `json:"queues"`
	Removed []string          `json:"removed"`
	Skipped []string          `json:"skipped"`
	Why     map[string]string `json:"why"`
	Result  string            `json:"result"`
	Would   []string          `json:"would"`
}

type couldNotRecord struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

type queuesUndoRecord struct {
	Restored []string         `json:"restored"`
	Already  []string         `json:"already"`
	CouldNot []couldNotRecord `json:"could_not"`
}

// memberships is the agent's queue memberships as "queue id/memberBy", sorted.
func memberships(a genesyssim.AgentState) []string {
	var out []string
	for _, m := range a.Queues {
		out = append(out, m.QueueID+"/"+m.MemberBy)
	}
	slices.Sort(out)
	return out
}

func countRoute(b *testbed.T, route string) int {
	n := 0
	for _, r := range b.Sim.Requests() {
		if r.Route == route {
			n++
		}
	}
	return n
}

const (
	membersGet    = "GET /api/v2/routing/queues/{queueId}/members"
	membersDelete = "DELETE /api/v2/routing/queues/{queueId}/members/{memberId}"
	membersPost   = "POST /api/v2/routing/queues/{queueId}/members"
)

// queues removes the agent from the queues they joined directly and leaves a membership through
// a group, recording it with why: the step never asks Genesys to remove a group member, so what
// Genesys would do with that request (the simulator's RemoveGroupMembers, UNCONFIRMED) does not
// matter, and the group membership stays in both positions. A reactivation adds the direct
// memberships back.
func TestQueuesLeaveDirectKeepGroupAndComeBack(t *testing.T) {
	t.Parallel()
	for _, groupRemovable := range []bool{false, true} {
		t.Run(map[bool]string{false: "Genesys refuses to remove a group member", true: "Genesys would remove a group member"}[groupRemovable], func(t *testing.T) {
			t.Parallel()
			b := ccBed(t, genesyssim.Config{RemoveGroupMembers: groupRemovable}, "queues")
			qs := b.Sim.Queues()
			direct1, direct2, group := qs[0], qs[1], qs[4]
			before := genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable, Queues: []genesyssim.Membership{
				{QueueID: direct1.ID, MemberBy: genesyssim.MemberByUser}, {QueueID: direct2.ID, MemberBy: genesyssim.MemberByUser},
				{QueueID: group.ID, MemberBy: genesyssim.MemberByGroup}}}
			u := agent(t, b, 0, before)

			if got := offboard(t, b, u.ID, "qu-off", true, nil); got != audit.OutcomeCleanedUp {
				t.Fatalf("outcome %s", got)
			}
			if got, want := memberships(agentNow(t, b, u.ID)), []string{group.ID + "/group"}; !slices.Equal(got, want) {
				t.Errorf("memberships after the cleanup %v, want %v", got, want)
			}
			var rec queuesRecord
			stepRecord(t, b, jobs.CleanupID("qu-off"), "queues", &rec)
			wantQueues := []queueRecord{{direct1.ID, direct1.Name, "user"}, {direct2.ID, direct2.Name, "user"}, {group.ID, group.Name, "group"}}
			slices.SortFunc(rec.Queues, func(x, y queueRecord) int { return strings.Compare(x.QueueID, y.QueueID) })
			if !slices.Equal(rec.Queues, wantQueues) {
				t.Errorf("recorded queues %+v, want %+v", rec.Queues, wantQueues)
			}
			slices.Sort(rec.Removed)
			if !slices.Equal(rec.Removed, []string{direct1.ID, direct2.ID}) || !slices.Equal(rec.Skipped, []string{group.ID}) || !strings.Contains(rec.Why["group"], "group") {
				t.Errorf("recorded removed %v skipped %v why %v", rec.Removed, rec.Skipped, rec.Why)
			}
			// 1 read of the user's queues, 1 read of each queue's members, 1 DELETE per direct one.
			if g, d := countRoute(b, membersGet), countRoute(b, membersDelete); g != 3 || d != 2 {
				t.Errorf("%d member reads and %d removals, want 3 and 2 (none for the group member)", g, d)
			}

			st := reactivate(t, b, u.ID, "qu-on")
			if st.Outcome != audit.OutcomeReactivated {
				t.Fatalf("reactivation: %s %s", st.Outcome, st.Error)
			}
			if got, want := memberships(agentNow(t, b, u.ID)), memberships(before); !slices.Equal(got, want) {
				t.Errorf("memberships after the reactivation %v, want %v", got, want)
			}
			var undo queuesUndoRecord
			stepRecord(t, b, "qu-on", "undo_queues", &undo)
			slices.Sort(undo.Restored)
			if !slices.Equal(undo.Restored, []string{direct1.ID, direct2.ID}) || len(undo.CouldNot) != 0 {
				t.Errorf("undo recorded %+v, want both direct queues restored", undo)
			}
		})
	}
}

// An agent in no queue: the step says so, one call.
func TestQueuesNothingToDo(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "queues")
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable})
	if got := offboard(t, b, u.ID, "qu-none", true, nil); got != audit.OutcomeCleanedUp {
		t.Fatalf("outcome %s", got)
	}
	var rec queuesRecord
	stepRecord(t, b, jobs.CleanupID("qu-none"), "queues", &rec)
	if len(rec.Queues) != 0 || !strings.HasPrefix(rec.Result, "nothing to do") {
		t.Errorf("recorded %+v, want nothing to do", rec)
	}
	if n := countRoute(b, membersGet) + countRoute(b, membersDelete); n != 0 {
		t.Errorf("%d member calls for a user in no queue", n)
	}
}

// A dry run reads the memberships, says what it would remove, changes nothing, and prices the
// real run: 1 + 1 per queue + 1 per direct membership.
func TestQueuesDryRun(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "queues")
	qs := b.Sim.Queues()
	before := genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable, Queues: []genesyssim.Membership{
		{QueueID: qs[2].ID, MemberBy: genesyssim.MemberByUser}, {QueueID: qs[5].ID, MemberBy: genesyssim.MemberByGroup}}}
	u := agent(t, b, 0, before)
	if got := offboard(t, b, u.ID, "qu-dry", true, func(j *jobs.Job) { j.DryRun = true }); got != audit.OutcomeDryRun {
		t.Fatalf("outcome %s", got)
	}
	var rec queuesRecord
	stepRecord(t, b, "qu-dry", "queues", &rec)
	if len(rec.Queues) != 2 || len(rec.Would) != 1 || !strings.Contains(rec.Would[0], "remove the user from 1 queue") {
		t.Errorf("dry run recorded %+v", rec)
	}
	if got, want := memberships(agentNow(t, b, u.ID)), memberships(before); !slices.Equal(got, want) {
		t.Errorf("the dry run changed the memberships: %v, want %v", got, want)
	}
	var cost struct {
		Steps map[string]int `json:"steps"`
	}
	stepRecord(t, b, "qu-dry", "dry_run", &cost)
	if cost.Steps["queues"] != 4 {
		t.Errorf("preview cost %v, want queues 4", cost.Steps)
	}
	if countRoute(b, membersDelete) != 0 {
		t.Error("the dry run removed a membership")
	}
}

// A queue the deactivation recorded that no longer exists is recorded as could-not by the
// reactivation, which still restores the others.
func TestQueuesUndoQueueGone(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	support := b.Sim.Queues()[0]
	const gone = "7a1e0c2b-0099-4000-8000-00000000a099" // no queue of the org
	rec, _ := json.Marshal(map[string]any{"queues": []queueRecord{{support.ID, support.Name, "user"}, {gone, "Deleted queue", "user"}}})
	recorded := &audit.Findings{Steps: map[string]json.RawMessage{"queues": rec}}
	cfg := worker.Config{Steps: []string{"queues"}}
	cfg.Plan = func(job jobs.Job) []worker.Step {
		plan := cfg.DefaultPlan(job)
		for i, s := range plan {
			if s.Name == "undo_queues" {
				plan[i] = *worker.UndoFrom("queues", recorded)
			}
		}
		return plan
	}
	b.Worker(cfg)
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable,
		Queues: []genesyssim.Membership{{QueueID: support.ID, MemberBy: genesyssim.MemberByUser}}})
	if got := offboard(t, b, u.ID, "qu-gone-off", true, nil); got != audit.OutcomeCleanedUp {
		t.Fatalf("outcome %s", got)
	}
	st := reactivate(t, b, u.ID, "qu-gone-on")
	if st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("reactivation: %s %s", st.Outcome, st.Error)
	}
	var undo queuesUndoRecord
	stepRecord(t, b, "qu-gone-on", "undo_queues", &undo)
	if !slices.Equal(undo.Restored, []string{support.ID}) || len(undo.CouldNot) != 1 || undo.CouldNot[0].ID != gone ||
		!strings.Contains(undo.CouldNot[0].Reason, "no longer exists") {
		t.Errorf("undo recorded %+v, want Support restored and the deleted queue could-not", undo)
	}
	if got := memberships(agentNow(t, b, u.ID)); !slices.Equal(got, []string{support.ID + "/user"}) {
		t.Errorf("memberships %v", got)
	}
}

// The before-state survives a delivery that fails inside the step: queues stores its record
// before the first removal, so when a removal's answer is lost (a 5xx after Genesys applied it)
// and the job is delivered again, the next delivery, which no longer sees that queue, still
// records it, and a reactivation would still give it back.
func TestQueuesBeforeStateSurvivesARedelivery(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "queues")
	qs := b.Sim.Queues()
	before := genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable, Queues: []genesyssim.Membership{
		{QueueID: qs[0].ID, MemberBy: genesyssim.MemberByUser}, {QueueID: qs[1].ID, MemberBy: genesyssim.MemberByUser},
		{QueueID: qs[4].ID, MemberBy: genesyssim.MemberByGroup}}}
	u := agent(t, b, 0, before)
	if err := b.Sim.SetFaults(genesyssim.Faults{Routes: []string{membersDelete}, ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	ids := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID = "qu-redo" })
	clean := jobs.CleanupID(ids[0])
	b.WaitUntil("an attempt of the cleanup to fail", func() bool {
		st, err := b.Status.Get(t.Context(), clean)
		return err == nil && len(st.Attempts) > 0
	})
	// The first removal had applied; its answer was lost.
	after := before
	after.Queues = before.Queues[1:]
	if err := b.Sim.SetAgent(u.ID, after); err != nil {
		t.Fatal(err)
	}
	if err := b.Sim.SetFaults(genesyssim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if st := b.WaitDone(clean)[clean]; st.Outcome != audit.OutcomeCleanedUp {
		t.Fatalf("cleanup: %s %s", st.Outcome, st.Error)
	}
	var rec queuesRecord
	stepRecord(t, b, clean, "queues", &rec)
	slices.Sort(rec.Removed)
	if len(rec.Queues) != 3 || !slices.Equal(rec.Removed, []string{qs[0].ID, qs[1].ID}) {
		t.Errorf("recorded queues %+v removed %v; want all three, both direct ones removed", rec.Queues, rec.Removed)
	}
	if got := memberships(agentNow(t, b, u.ID)); !slices.Equal(got, []string{qs[4].ID + "/group"}) {
		t.Errorf("memberships %v", got)
	}
}
