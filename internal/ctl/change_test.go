package ctl

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

func TestDeadReplayAfterTheCauseIsFixed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Fix every cause: no more 503s or blocking 409s, and a worker that protects nobody.
	_ = f.worker.Stop() // its error, if any, fails the test at cleanup
	if err := f.Sim.SetFaults(genesyssim.Faults{}); err != nil {
		t.Fatal(err)
	}
	f.startWorker(worker.Protection{})

	code, out, errOut := f.ctl("dead", "replay", "--operator", "alice", f.exhausted)
	if code != ExitOK || out != "exhausted-1: replayed as exhausted-1.r1\n" {
		t.Fatalf("replay one: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	f.WaitDone("exhausted-1.r1")

	code, out, errOut = f.ctl("dead", "replay", "--operator", "alice", "--all", "--output", "json")
	if code != ExitFailure || !strings.Contains(errOut, "rejected-1: it was rejected as invalid") {
		t.Errorf("replay --all: exit %d, stderr %q; want 1 for the rejected job", code, errOut)
	}
	got := map[string]replayLine{}
	for _, l := range jsonLines[replayLine](t, out) {
		l.Error = strings.SplitN(l.Error, " ", 2)[0] // the first word says enough here
		got[l.JobID] = l
	}
	want := map[string]replayLine{
		f.exhausted: {JobID: f.exhausted, Result: "skipped", Error: "replayed"},
		f.conflict:  {JobID: f.conflict, Result: "replayed", ReplayJobID: "conflict-1.r1"},
		f.protected: {JobID: f.protected, Result: "replayed", ReplayJobID: "protected-1.r1"},
		f.rejected:  {JobID: f.rejected, Result: "failed", Error: "it"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replay --all (-want +got):\n%s", diff)
	}
	replays := []string{"exhausted-1.r1", "conflict-1.r1", "protected-1.r1"}
	for id, st := range f.WaitDone(replays...) {
		if st.Outcome != audit.OutcomeDeactivated {
			t.Errorf("replay %s ended %s, want deactivated", id, st.Outcome)
		}
	}
	// Naming a job replays it again, under the next id.
	if code, out, _ := f.ctl("dead", "replay", "--operator", "alice", f.exhausted); code != ExitOK || !strings.Contains(out, "exhausted-1.r2") {
		t.Errorf("second replay: exit %d, %q", code, out)
	}
	f.WaitDone("exhausted-1.r2") // the user is inactive by now: already_inactive
	checkReplayEvents(t, f, append(replays, "exhausted-1.r2"))
	if n := f.counts()[f.Names.DeadStream()]; n != 4 {
		t.Errorf("%d dead letters after replays, want the 4 kept", n)
	}
}

// checkReplayEvents checks the audit trail of replays: each replay job's terminal event links
// the old job and names the operator, and each replay has an ops event.
func checkReplayEvents(t *testing.T, f *fixture, replays []string) {
	t.Helper()
	const who = "alice (genesysctl, NATS user anonymous)"
	var ops []string
	users := map[string]audit.Unmapped{}
	for _, ev := range f.auditEvents() {
		if ev.Ops.Kind == "dead_letter_replayed" {
			fl := ev.Ops.Fields
			if fl["operator"] != "alice" || fl["nats_user"] != "anonymous" || !strings.HasPrefix(fl["replay_job_id"], fl["job_id"]+".r") {
				t.Errorf("ops event fields %v", fl)
			}
			ops = append(ops, fl["replay_job_id"])
			continue
		}
		if u := ev.Data.Unmapped; strings.Contains(u.JobID, ".r") {
			users[u.JobID] = u
			if ev.Data.Actor.User == nil || ev.Data.Actor.User.Name != who {
				t.Errorf("event of %s: actor %+v, want %q", u.JobID, ev.Data.Actor.User, who)
			}
		}
	}
	slices.Sort(ops)
	slices.Sort(replays)
	if !slices.Equal(ops, replays) {
		t.Errorf("ops events for %v, want %v", ops, replays)
	}
	for _, id := range replays {
		u, old := users[id], id[:strings.LastIndex(id, ".r")]
		want := audit.OutcomeDeactivated
		if strings.HasSuffix(id, ".r2") {
			want = audit.OutcomeAlreadyInactive
		}
		if u.ReplayOf != old || u.Outcome != want || u.Ticket != "HR-7" || u.Reason != "left the company" || u.Priority != "urgent" {
			t.Errorf("audit event of %s: %+v; want replay_of %s, %s, the original ticket, reason and priority", id, u, old, want)
		}
	}
}

func TestDeadPurge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dead := func() uint64 { return f.counts()[f.Names.DeadStream()] }
	userEvents := len(f.auditEvents())

	if code, out, errOut := f.ctl("dead", "purge", "--operator", "bob", "--yes", f.conflict); code != ExitOK || out != "conflict-1: purged\n" {
		t.Fatalf("purge one: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := dead(); n != 3 {
		t.Errorf("%d dead letters after purging one, want 3", n)
	}
	if code, _, errOut := f.ctl("dead", "purge", "--operator", "bob", "--yes", f.conflict); code != ExitFailure || !strings.Contains(errOut, "conflict-1: no dead letter") {
		t.Errorf("purge again: exit %d, %q", code, errOut)
	}
	if code, _, errOut := f.ctl("dead", "purge", "--operator", "bob", "--yes", "--all", "--outcome", "exhausted"); code != ExitOK || dead() != 2 {
		t.Errorf("purge --all --outcome exhausted: exit %d, %q, %d left", code, errOut, dead())
	}
	code, out, errOut := f.ctl("dead", "purge", "--operator", "bob", "--yes", "--all", "--output", "json")
	lines := jsonLines[purgeLine](t, out)
	if code != ExitOK || len(lines) != 2 || lines[0].Result != "purged" || dead() != 0 {
		t.Errorf("purge --all: exit %d, %+v, stderr %q, %d left", code, lines, errOut, dead())
	}
	if code, out, _ := f.ctl("dead", "list"); code != ExitOK || out != "0 dead letters\n" {
		t.Errorf("dead list after purging all: exit %d, %q", code, out)
	}
	var purged []string
	events := f.auditEvents()
	for _, ev := range events {
		if fl := ev.Ops.Fields; ev.Ops.Kind == "dead_letter_purged" {
			if fl["operator"] != "bob" || fl["nats_user"] != "anonymous" || fl["seq"] == "" {
				t.Errorf("ops event fields %v", fl)
			}
			purged = append(purged, fl["job_id"])
		}
	}
	slices.Sort(purged)
	if want := []string{f.conflict, f.exhausted, f.protected, f.rejected}; !slices.Equal(purged, want) || len(events) != userEvents+4 {
		t.Errorf("purge ops events for %v (%d events, %d before), want %v and nothing else", purged, len(events), userEvents, want)
	}
}
