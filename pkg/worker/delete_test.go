package worker_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// deleteRoutes are the simulator's routes of the two deletes.
var deleteRoutes = map[string]string{
	worker.DeleteSCIM:  "DELETE /api/v2/scim/v2/users/{id}",
	worker.DeleteUsers: "DELETE /api/v2/users/{id}",
}

// deletes returns the times of the DELETEs of user id that Genesys accepted.
func deletes(b *testbed.T, id string) []time.Time {
	var ts []time.Time
	for _, r := range b.Sim.Requests() {
		if strings.HasPrefix(r.Route, "DELETE /api/v2/") && strings.Contains(r.Route, "users/{id}") && r.UserID == id && r.Status < 300 {
			ts = append(ts, r.Time)
		}
	}
	return ts
}

// inactiveUser adds an inactive user to the bed's org, with the roles given.
func inactiveUser(b *testbed.T, name string, roles ...string) genesyssim.User {
	b.TB.Helper()
	u := genesyssim.User{UserName: name + "@example.com", DisplayName: name, ExternalID: "emp-" + name}
	for _, r := range roles {
		u.Grants = append(u.Grants, genesyssim.Grant{RoleName: r})
	}
	u, err := b.Sim.AddUser(u)
	if err != nil {
		b.TB.Fatal(err)
	}
	return u
}

// enqueueDelete publishes an operator's delete job for ref and returns its id.
func enqueueDelete(b *testbed.T, id string, ref jobs.UserRef, edit func(*jobs.Job)) string {
	b.TB.Helper()
	j := jobs.Job{ID: id, Action: jobs.ActionDelete, User: ref, RequestedBy: "alice", Reason: "retention"}
	if edit != nil {
		edit(&j)
	}
	if _, err := b.Pub.Enqueue(b.TB.Context(), j); err != nil {
		b.TB.Fatalf("enqueue delete %s: %v", id, err)
	}
	return id
}

// With --delete-after, a deactivation schedules the delete of its user; after the grace period
// the delete job deletes the user with the configured method, and both events say so.
func TestDeleteAfterDeletesAfterTheGracePeriod(t *testing.T) {
	t.Parallel()
	for _, method := range []string{worker.DeleteSCIM, worker.DeleteUsers} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			b := testbed.New(t, testbed.Config{})
			b.Worker(worker.Config{DeleteAfter: 2 * time.Second, DeleteMethod: method})
			u := b.ActiveUsers(1)[0]
			id := b.Enqueue([]jobs.UserRef{{UserName: u.UserName}}, nil)[0]
			if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeactivated {
				t.Fatalf("deactivation outcome %s (%s)", st.Outcome, st.Error)
			}
			var rec struct {
				JobID              string    `json:"job_id"`
				DeleteScheduledFor time.Time `json:"delete_scheduled_for"`
			}
			ev := b.AuditEvents()[id]
			if err := json.Unmarshal(ev.Steps["schedule_delete"], &rec); err != nil || rec.JobID != jobs.DeleteID(id) || rec.DeleteScheduledFor.IsZero() {
				t.Fatalf("the deactivation's event names no scheduled delete: %s (%v)", ev.Steps["schedule_delete"], err)
			}
			delID := rec.JobID
			st := b.WaitDone(delID)[delID]
			if st.Outcome != audit.OutcomeDeleted || st.Action != jobs.ActionDelete {
				t.Fatalf("delete job: outcome %s action %s (%s)", st.Outcome, st.Action, st.Error)
			}
			if !b.Sim.Deleted(u.ID) {
				t.Error("the simulator does not show the user deleted")
			}
			ds := deletes(b, u.ID)
			if len(ds) != 1 || ds[0].Before(rec.DeleteScheduledFor) {
				t.Errorf("DELETEs at %v, want one at or after %v", ds, rec.DeleteScheduledFor)
			}
			for _, r := range b.Sim.Requests() {
				if strings.HasPrefix(r.Route, "DELETE /api/v2/") && strings.Contains(r.Route, "users/{id}") && r.Route != deleteRoutes[method] {
					t.Errorf("method %s sent %s", method, r.Route)
				}
			}
			dev, ok := b.AuditEvents()[delID]
			if !ok || dev.Outcome != audit.OutcomeDeleted {
				t.Errorf("delete event %+v", dev)
			}
			if _, dead := b.DeadLetters()[delID]; dead {
				t.Error("a delete was dead-lettered")
			}
		})
	}
}

// A legal hold on any identifier of the user blocks the delete: outcome held, dead-lettered,
// the user not deleted. Once the hold is removed, the replayed dead letter deletes the user.
func TestLegalHoldBlocksTheDelete(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{})
	b.Worker(worker.Config{})
	u := inactiveUser(b, "held")
	holds, err := jobs.NewHolds(t.Context(), b.JS, b.Names)
	if err != nil {
		t.Fatal(err)
	}
	// The job names the user by id; the hold is on the external id.
	if _, _, err := holds.Add(t.Context(), jobs.UserRef{ExternalID: u.ExternalID}, "matter 42", "legal", ""); err != nil {
		t.Fatal(err)
	}
	id := enqueueDelete(b, "delete-held", jobs.UserRef{ID: u.ID}, nil)
	st := b.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeHeld {
		t.Fatalf("outcome %s (%s), want held", st.Outcome, st.Error)
	}
	if b.Sim.Deleted(u.ID) || len(deletes(b, u.ID)) != 0 {
		t.Fatal("a held user was deleted")
	}
	dl, dead := b.DeadLetters()[id]
	if !dead {
		t.Fatal("no dead letter for the held delete")
	}
	if msg := b.EventMessage(id); !strings.Contains(msg, "legal hold") || !strings.Contains(msg, "matter 42") {
		t.Errorf("event message %q", msg)
	}
	if _, err := holds.Remove(t.Context(), jobs.UserRef{ExternalID: u.ExternalID}); err != nil {
		t.Fatal(err)
	}
	replay, err := jobs.Decode(dl.Job)
	if err != nil {
		t.Fatal(err)
	}
	replay.ID, replay.ReplayOf, replay.RequestedAt = id+".r1", id, time.Time{}
	if _, err := b.Pub.Enqueue(t.Context(), replay); err != nil {
		t.Fatal(err)
	}
	if st := b.WaitDone(replay.ID)[replay.ID]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("replay outcome %s (%s), want deleted", st.Outcome, st.Error)
	}
	if !b.Sim.Deleted(u.ID) {
		t.Error("the replay did not delete the user")
	}
}

// Protected users and roles are never deleted; an active user is not deleted (delete_skipped);
// an already deleted user is delete_skipped, nothing sent; a dry run deletes nothing.
func TestDeleteChecks(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{})
	protectedByName := inactiveUser(b, "vip")
	admin := inactiveUser(b, "admin", genesyssim.RoleMasterAdmin)
	var active genesyssim.User
	for _, u := range b.ActiveUsers(-1) {
		if !slices.Contains(u.Roles(), genesyssim.RoleMasterAdmin) {
			active = u
			break
		}
	}
	gone := inactiveUser(b, "gone")
	dry := inactiveUser(b, "dry")
	b.Worker(worker.Config{Protect: worker.Protection{UserNames: []string{protectedByName.UserName}, Roles: []string{genesyssim.RoleMasterAdmin}}})
	c := b.Client()
	if _, err := c.Users.Delete(t.Context(), gone.ID, ""); err != nil {
		t.Fatal(err)
	}
	want := map[string]audit.Outcome{
		enqueueDelete(b, "del-vip", jobs.UserRef{UserName: protectedByName.UserName}, nil):           audit.OutcomeProtected,
		enqueueDelete(b, "del-admin", jobs.UserRef{ID: admin.ID}, nil):                               audit.OutcomeProtected,
		enqueueDelete(b, "del-active", jobs.UserRef{ID: active.ID}, nil):                             audit.OutcomeDeleteSkipped,
		enqueueDelete(b, "del-gone", jobs.UserRef{ID: gone.ID}, nil):                                 audit.OutcomeDeleteSkipped,
		enqueueDelete(b, "del-dry", jobs.UserRef{ID: dry.ID}, func(j *jobs.Job) { j.DryRun = true }): audit.OutcomeDryRun,
	}
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	got := b.WaitDone(ids...)
	for id, o := range want {
		if got[id].Outcome != o {
			t.Errorf("%s: outcome %s (%s), want %s", id, got[id].Outcome, got[id].Error, o)
		}
	}
	for _, u := range []genesyssim.User{protectedByName, admin, active, dry} {
		if b.Sim.Deleted(u.ID) {
			t.Errorf("user %s was deleted", u.UserName)
		}
	}
	if n := len(deletes(b, gone.ID)); n != 1 { // the test's own
		t.Errorf("%d DELETEs of the user deleted already, want only the test's", n)
	}
}

// The delete guard counts deletes apart from deactivations: deactivations do not use up the
// delete limit, deletes do not use up the deactivation limit, and the delete limit trips, holds
// the delete lane alone and names deletes in its ops event.
func TestGuardCountsDeletesSeparately(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{})
	b.Worker(worker.Config{Guard: jobs.GuardConfig{Limit: 2}, DeleteGuard: jobs.GuardConfig{Limit: 1}})
	act := b.ActiveUsers(2)
	x, y := inactiveUser(b, "x"), inactiveUser(b, "y")
	d1 := b.Enqueue([]jobs.UserRef{{ID: act[0].ID}}, nil)[0]
	if st := b.WaitDone(d1)[d1]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("first deactivation: %s", st.Outcome)
	}
	dx := enqueueDelete(b, "del-x", jobs.UserRef{ID: x.ID}, nil)
	if st := b.WaitDone(dx)[dx]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("first delete: %s (%s)", st.Outcome, st.Error)
	}
	dy := enqueueDelete(b, "del-y", jobs.UserRef{ID: y.ID}, nil)
	b.WaitUntil("the delete guard to trip", func() bool {
		for _, ev := range b.OpsEvents("guard_tripped") {
			if ev.Fields["guard"] == jobs.DeleteGuardKey && ev.Fields["job_id"] == dy {
				return true
			}
		}
		return false
	})
	ev := b.OpsEvents("guard_tripped")[0]
	if ev.Fields["lane"] != jobs.LaneDelete || !strings.Contains(ev.Message, "deletes") {
		t.Errorf("trip event %+v", ev)
	}
	if b.Sim.Deleted(y.ID) {
		t.Error("the delete past the delete limit ran")
	}
	paused := func(consumer string) bool {
		c, err := b.JS.Consumer(t.Context(), b.Names.JobsStream(), consumer)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().Paused
	}
	if !paused(b.Names.DeleteConsumer()) || paused(b.Names.NormalConsumer()) {
		t.Errorf("delete lane paused %t, normal lane paused %t; want the delete lane alone",
			paused(b.Names.DeleteConsumer()), paused(b.Names.NormalConsumer()))
	}
	// The delete did not use up the deactivation limit (2): a second deactivation runs.
	d2 := b.Enqueue([]jobs.UserRef{{ID: act[1].ID}}, func(j *jobs.Job) { j.ID += "-2" })[0]
	if st := b.WaitDone(d2)[d2]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("second deactivation while deletes are held: %s (%s)", st.Outcome, st.Error)
	}
	g, err := jobs.NewGuard(t.Context(), b.JS, b.Names, jobs.GuardConfig{Key: jobs.DeleteGuardKey}, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Resume(t.Context(), jobs.GuardDecision{Operator: "alice"}); err != nil {
		t.Fatal(err)
	}
	if st := b.WaitDone(dy)[dy]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("held delete after the resume: %s (%s)", st.Outcome, st.Error)
	}
	if n := len(b.OpsEvents("guard_tripped")); n != 1 {
		t.Errorf("%d guard trips, want 1 (the deactivations stayed under their limit)", n)
	}
}

// A reactivation of a user this system deleted is refused with a clear error: deleted users are
// not restored.
func TestReactivationOfADeletedUserIsRefused(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{})
	b.Worker(worker.Config{})
	u := inactiveUser(b, "deleted")
	id := enqueueDelete(b, "del-first", jobs.UserRef{ID: u.ID}, nil)
	if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("delete: %s", st.Outcome)
	}
	r := jobs.Job{ID: "react-deleted", Action: jobs.ActionReactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "alice", Force: true}
	if _, err := b.Pub.Enqueue(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	st := b.WaitDone(r.ID)[r.ID]
	if st.Outcome != audit.OutcomeConflict || !strings.Contains(st.Error, "does not restore deleted users") {
		t.Errorf("reactivation of a deleted user: %s (%s)", st.Outcome, st.Error)
	}
	if got, _ := b.Sim.User(u.ID); !got.Deleted {
		t.Error("the user was restored")
	}
}

// A user reactivated during the grace period is not deleted. A reactivation through this system
// cancels the pending delete (canceled, naming the reactivation); a user made active again outside
// it (an admin, an IdP sync) is found active when the delete fires: delete_skipped.
func TestDeleteAfterSkipsAUserReactivatedMeanwhile(t *testing.T) {
	t.Parallel()
	for _, byUs := range []bool{true, false} {
		t.Run(map[bool]string{true: "reactivation job", false: "outside this system"}[byUs], func(t *testing.T) {
			t.Parallel()
			b := testbed.New(t, testbed.Config{})
			b.Worker(worker.Config{DeleteAfter: 2 * time.Second})
			u := b.ActiveUsers(1)[0]
			id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, nil)[0]
			if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeactivated {
				t.Fatalf("deactivation: %s (%s)", st.Outcome, st.Error)
			}
			want := audit.OutcomeDeleteSkipped
			if byUs {
				r := jobs.Job{ID: "back-again", Action: jobs.ActionReactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "alice"}
				if _, err := b.Pub.Enqueue(t.Context(), r); err != nil {
					t.Fatal(err)
				}
				if st := b.WaitDone(r.ID)[r.ID]; st.Outcome != audit.OutcomeReactivated {
					t.Fatalf("reactivation: %s (%s)", st.Outcome, st.Error)
				}
				want = audit.OutcomeCanceled
			} else {
				c := b.Client()
				got, _, err := c.Users.Get(t.Context(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := c.Users.SetActive(t.Context(), u.ID, got.Meta.Version, true); err != nil {
					t.Fatal(err)
				}
			}
			del := jobs.DeleteID(id)
			if st := b.WaitDone(del)[del]; st.Outcome != want {
				t.Fatalf("delete of a reactivated user: %s (%s), want %s", st.Outcome, st.Error, want)
			}
			if byUs && !strings.Contains(b.AuditEvents()[del].CanceledBy, "back-again") {
				t.Errorf("the canceled delete's event names %q, not the reactivation", b.AuditEvents()[del].CanceledBy)
			}
			if got, _ := b.Sim.User(u.ID); got.Deleted || !got.Active || len(deletes(b, u.ID)) != 0 {
				t.Errorf("user after the skipped delete: deleted %t active %t, %d DELETEs", got.Deleted, got.Active, len(deletes(b, u.ID)))
			}
			if _, dead := b.DeadLetters()[del]; dead {
				t.Error("a skipped delete was dead-lettered")
			}
		})
	}
}

// A SCIM DELETE refused for its version reads the user again and tries with the new version.
func TestDeleteRereadsOnAVersionConflict(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 5, RateLimit: 1_000_000, Seed: 3}})
	u := inactiveUser(b, "conflicted")
	if err := b.Sim.SetFaults(genesyssim.Faults{ConflictRate: 0.6}); err != nil {
		t.Fatal(err)
	}
	b.Worker(worker.Config{MaxConflicts: 20})
	id := enqueueDelete(b, "del-conflict", jobs.UserRef{ID: u.ID}, nil)
	if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("outcome %s (%s), want deleted", st.Outcome, st.Error)
	}
	refused := 0
	for _, r := range b.Sim.Requests() {
		if r.Route == deleteRoutes[worker.DeleteSCIM] && r.UserID == u.ID && r.Fault == genesyssim.FaultConflict {
			refused++
		}
	}
	if refused == 0 || !b.Sim.Deleted(u.ID) {
		t.Errorf("%d DELETEs refused for their version, deleted %t; want at least one refused, then deleted", refused, b.Sim.Deleted(u.ID))
	}
}

// An operator's delete for a later time goes through the intake (genesys.jobs.at.delete.<token>)
// and the scheduled stream, and fires onto the delete lane at its time.
func TestScheduledDeleteFiresOnTheDeleteLane(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{})
	b.Worker(worker.Config{})
	u := inactiveUser(b, "later")
	at := time.Now().Add(time.Second)
	id := enqueueDelete(b, "del-later", jobs.UserRef{UserName: u.UserName}, func(j *jobs.Job) { j.NotBefore = at })
	if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("outcome %s (%s), want deleted", st.Outcome, st.Error)
	}
	if ds := deletes(b, u.ID); len(ds) != 1 || ds[0].Before(at) {
		t.Errorf("DELETEs at %v, want one at or after %v", ds, at)
	}
}
