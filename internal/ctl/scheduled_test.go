package ctl

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// list, show, cancel and move on a real server with a worker: a job a year ahead is listed and
// shown; a cancel ends the job canceled (one event naming the operator and the reason, an ops
// event scheduled_canceled, Genesys untouched); a move makes the job fire at the new time (ops
// event scheduled_moved); both are refused once the job fired.
func TestScheduledCommands(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 10, RateLimit: 1_000_000})
	f.Worker(worker.Config{})
	users := f.ActiveUsers(3)
	schedule := func(id string, u genesyssim.User, at time.Time) {
		f.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID, j.NotBefore = id, at })
	}
	year := time.Now().AddDate(1, 0, 0).UTC().Truncate(time.Second)
	hour := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	schedule("far-1", users[0], year)
	schedule("soon-1", users[1], hour)
	schedule("move-1", users[2], hour)
	f.WaitUntil("three scheduled jobs", func() bool {
		code, out, _ := f.ctl("scheduled", "list")
		return code == ExitOK && strings.Contains(out, "3 scheduled jobs")
	})
	code, out, errs := f.ctl("scheduled", "list", "--user", users[0].ID, "--output", "json")
	lines := jsonLines[scheduledLine](t, out)
	if code != ExitOK || len(lines) != 1 || lines[0].JobID != "far-1" || lines[0].State != "pending" || lines[0].NotBefore != year.Format(time.RFC3339Nano) {
		t.Errorf("list --user: exit %d, %+v, %s", code, lines, errs)
	}
	code, out, _ = f.ctl("scheduled", "show", "far-1")
	if code != ExitOK || !strings.Contains(out, "state:        pending") || !strings.Contains(out, year.Format(time.RFC3339)) ||
		!strings.Contains(out, "status:       scheduled") {
		t.Errorf("show far-1: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"scheduled", "cancel", "soon-1", "--reason", "r"},                                 // no --operator
		{"scheduled", "cancel", "soon-1", "--operator", "ana"},                             // no --reason
		{"scheduled", "move", "move-1", "--operator", "ana", "--reason", "r", "--at", "x"}, // bad time
		{"scheduled", "move", "move-1", "--operator", "ana", "--reason", "r", "--at", "2027-01-31T17:00:00"},
	} {
		if code, _, _ := f.ctl(bad...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, ExitUsage)
		}
	}

	code, out, errs = f.ctl("scheduled", "cancel", "soon-1", "--reason", "resignation rescinded", "--operator", "ana")
	if code != ExitOK || !strings.Contains(out, "soon-1: canceled") {
		t.Fatalf("cancel: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	ev := f.AuditEvents()["soon-1"]
	if ev.Outcome != audit.OutcomeCanceled || !strings.HasPrefix(ev.CanceledBy, "ana (genesysctl, NATS user ") {
		t.Errorf("event of soon-1: %s, canceled_by %q; want canceled by ana", ev.Outcome, ev.CanceledBy)
	}
	if msg := f.EventMessage("soon-1"); !strings.Contains(msg, "resignation rescinded") {
		t.Errorf("event message %q lacks the reason", msg)
	}
	ops := f.OpsEvents("scheduled_canceled")
	if len(ops) != 1 || ops[0].Fields["operator"] != "ana" || ops[0].Fields["job_id"] != "soon-1" || ops[0].Fields["reason"] != "resignation rescinded" {
		t.Errorf("ops events scheduled_canceled %+v", ops)
	}
	if u, _ := f.Sim.User(users[1].ID); !u.Active || slices.ContainsFunc(f.Sim.Requests(), func(r genesyssim.Request) bool {
		return r.UserID == users[1].ID
	}) {
		t.Error("the canceled job's user was touched in Genesys")
	}
	code, _, errs = f.ctl("scheduled", "cancel", "soon-1", "--reason", "again", "--operator", "ana")
	if code != ExitFailure || !strings.Contains(errs, "already canceled by ana") || !strings.Contains(errs, "its status: done, canceled") {
		t.Errorf("second cancel: exit %d\nstderr:\n%s", code, errs)
	}

	at := time.Now().Add(2 * time.Second)
	code, out, errs = f.ctl("scheduled", "move", "move-1", "--at", at.Format(time.RFC3339Nano), "--reason", "HR moved the date", "--operator", "ana")
	if code != ExitOK || !strings.Contains(out, "move-1: moved from "+hour.Format(time.RFC3339)) {
		t.Fatalf("move: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if ops := f.OpsEvents("scheduled_moved"); len(ops) != 1 || ops[0].Fields["operator"] != "ana" || ops[0].Fields["to"] != at.UTC().Format(time.RFC3339Nano) {
		t.Errorf("ops events scheduled_moved %+v", ops)
	}
	if st := f.WaitDone("move-1")["move-1"]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("move-1: %s (%s), want deactivated", st.Outcome, st.Error)
	}
	for _, r := range f.Sim.Requests() {
		if r.Route == patchRoute && r.UserID == users[2].ID && (r.Time.Before(at) || r.Time.After(at.Add(time.Minute))) {
			t.Errorf("moved job deactivated at %v, want at %v (not the old %v)", r.Time, at, hour)
		}
	}
	if code, _, errs := f.ctl("scheduled", "move", "move-1", "--at", hour.Format(time.RFC3339), "--reason", "r", "--operator", "ana"); code != ExitFailure || !strings.Contains(errs, "already fired") {
		t.Errorf("move after the fire: exit %d\nstderr:\n%s", code, errs)
	}
	code, out, _ = f.ctl("scheduled", "list", "--all")
	if code != ExitOK || !strings.Contains(out, "far-1") || !strings.Contains(out, "move-1") || !strings.Contains(out, "fired") {
		t.Errorf("list --all: exit %d\n%s", code, out)
	}
}

// cancel --user cancels the user's pending deactivations found under the identifier given.
func TestScheduledCancelByUser(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 10, RateLimit: 1_000_000})
	f.Worker(worker.Config{})
	u := f.ActiveUsers(1)[0]
	f.Enqueue([]jobs.UserRef{{UserName: u.UserName}}, func(j *jobs.Job) { j.ID, j.NotBefore = "by-name", time.Now().Add(time.Hour) })
	f.WaitUntil("the job scheduled", func() bool {
		code, out, _ := f.ctl("scheduled", "list")
		return code == ExitOK && strings.Contains(out, "1 scheduled job")
	})
	code, out, errs := f.ctl("scheduled", "cancel", "--user", u.UserName, "--reason", "rescinded", "--operator", "bo")
	if code != ExitOK || !strings.Contains(out, "by-name: canceled") {
		t.Fatalf("cancel --user: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, _ = f.ctl("scheduled", "cancel", "--user", u.UserName, "--reason", "rescinded", "--operator", "bo")
	if code != ExitOK || !strings.Contains(out, "no pending scheduled deactivation") {
		t.Errorf("second cancel --user: exit %d\n%s", code, out)
	}
}
