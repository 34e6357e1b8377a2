package ctl

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// A legal hold added with genesysctl blocks the user's delete (held, dead-lettered, nothing
// deleted); once removed, replaying the dead letter deletes the user. Both changes are ops
// events naming the operator.
func TestHoldBlocksTheDeleteUntilRemovedAndReplayed(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 4})
	f.Worker(worker.Config{ID: "ctl-test"})
	u, err := f.Sim.AddUser(genesyssim.User{UserName: "leaver@example.com", ExternalID: "emp-9"})
	if err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := f.ctl("hold", "list"); code != ExitOK || !strings.Contains(out, "no legal holds") {
		t.Errorf("hold list with none: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := f.ctl("hold", "add", "user_name:Leaver@Example.com", "--operator", "alice"); code != ExitUsage || !strings.Contains(stderr, "--reason is required") {
		t.Errorf("hold add without a reason: exit %d, %s", code, stderr)
	}
	if code, _, stderr := f.ctl("hold", "add", "id:not-a-uuid", "--reason", "x", "--operator", "alice"); code != ExitUsage || !strings.Contains(stderr, "want a user id") {
		t.Errorf("hold add of a bad user: exit %d, %s", code, stderr)
	}
	if code, out, stderr := f.ctl("hold", "add", "user_name:Leaver@Example.com", "--reason", "matter 42", "--operator", "alice"); code != ExitOK || !strings.Contains(out, "held") {
		t.Fatalf("hold add: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := f.ctl("hold", "list"); code != ExitOK || !strings.Contains(out, "user_name:Leaver@Example.com") || !strings.Contains(out, "matter 42") {
		t.Errorf("hold list: exit %d\n%s", code, out)
	}
	del := jobs.Job{ID: "delete-1", Action: jobs.ActionDelete, User: jobs.UserRef{ID: u.ID}, RequestedBy: "alice", Reason: "retention"}
	if _, err := f.Pub.Enqueue(t.Context(), del); err != nil {
		t.Fatal(err)
	}
	if st := f.WaitDone(del.ID)[del.ID]; st.Outcome != audit.OutcomeHeld {
		t.Fatalf("delete of a held user: %s (%s)", st.Outcome, st.Error)
	}
	if f.Sim.Deleted(u.ID) {
		t.Fatal("a held user was deleted")
	}
	if code, out, stderr := f.ctl("hold", "remove", "user_name:leaver@example.com", "--reason", "matter closed", "--operator", "bob"); code != ExitOK {
		t.Fatalf("hold remove: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := f.ctl("hold", "remove", "user_name:leaver@example.com", "--reason", "again", "--operator", "bob"); code != ExitFailure || !strings.Contains(stderr, "no legal hold") {
		t.Errorf("second hold remove: exit %d, %s", code, stderr)
	}
	if code, out, stderr := f.ctl("dead", "replay", del.ID, "--operator", "bob"); code != ExitOK {
		t.Fatalf("dead replay: exit %d\n%s%s", code, out, stderr)
	}
	replay := del.ID + ".r1"
	if st := f.WaitDone(replay)[replay]; st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("replayed delete: %s (%s)", st.Outcome, st.Error)
	}
	if !f.Sim.Deleted(u.ID) {
		t.Error("the replay did not delete the user")
	}
	kinds := map[string]string{}
	for _, ev := range f.auditEvents() {
		if ev.Ops.Kind == "legal_hold_added" || ev.Ops.Kind == "legal_hold_removed" {
			kinds[ev.Ops.Kind] = ev.Ops.Fields["operator"] + " " + ev.Ops.Fields["user"] + " " + ev.Ops.Fields["reason"]
		}
	}
	if kinds["legal_hold_added"] != "alice user_name:Leaver@Example.com matter 42" || kinds["legal_hold_removed"] != "bob user_name:Leaver@Example.com matter closed" {
		t.Errorf("hold ops events: %q", kinds)
	}
}

// genesysctl guard ... --deletes acts on the delete guard; naming two guards is refused.
func TestGuardDeletesFlag(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 2})
	if code, out, stderr := f.ctl("guard", "status", "--deletes"); code != ExitOK || !strings.Contains(out, "delete guard") {
		t.Errorf("guard status --deletes: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := f.ctl("guard", "resume", "--deletes", "--operator", "alice"); code != ExitOK || !strings.Contains(out, "delete guard") {
		t.Errorf("guard resume --deletes: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := f.ctl("guard", "status", "--deletes", "--reactivations"); code != ExitUsage || !strings.Contains(stderr, "choose one") {
		t.Errorf("guard status with two guards: exit %d, %s", code, stderr)
	}
	var resumed bool
	for _, ev := range f.auditEvents() {
		resumed = resumed || ev.Ops.Kind == "guard_resumed" && ev.Ops.Fields["guard"] == jobs.DeleteGuardKey
	}
	if !resumed {
		t.Error("no guard_resumed ops event naming the delete guard")
	}
}
