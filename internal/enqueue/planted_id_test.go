package enqueue_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Review D3, probe 69: a producer plants a dry-run job for another user under the deterministic
// id of HR's future request. enqueue --wait for HR's row must not report success, and the user
// must not be reported as done.
func TestWaitRefusesAPlantedJobUnderTheRowsID(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	var grace, omar string
	for _, u := range b.Sim.Users() {
		if !u.Active || u.Deleted || strings.Contains(strings.Join(u.Roles(), ","), "Admin") {
			continue
		}
		if grace == "" {
			grace = u.UserName
		} else if omar == "" {
			omar = u.UserName
		}
	}
	hrID := jobs.DeterministicID("deactivate", "user_name:"+grace, "HR-77", "terminated") // what the row below gets
	planted := jobs.Job{Version: jobs.Version, ID: hrID, Action: jobs.ActionDeactivate,
		User: jobs.UserRef{UserName: omar}, RequestedBy: "hr", DryRun: true}
	pub, err := jobs.NewPublisher(b.JS, b.Names)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Enqueue(t.Context(), planted); err != nil {
		t.Fatal(err)
	}
	r := b.run(t, "", "--user-name", grace, "--ticket", "HR-77", "--reason", "terminated", "--wait", timeout)
	if r.code == 0 {
		t.Errorf("exit 0 for a row whose job id another job holds\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "belongs to a different job") {
		t.Errorf("stdout does not say the id belongs to a different job:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "user_name:"+grace+": dry_run") || strings.Contains(r.stdout, "user_name:"+grace+": deactivated") {
		t.Errorf("the user is reported done:\n%s", r.stdout)
	}
}

// A dry-run row gets another id than the real row, and the rule lives in jobs.Job.
func TestDryRunRowHasItsOwnID(t *testing.T) {
	t.Parallel()
	j := jobs.Job{Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "a@b.example"}, Ticket: "HR-1", Reason: "left"}
	real := j.DeterministicID()
	j.DryRun = true
	if dry := j.DeterministicID(); dry == real {
		t.Errorf("dry run and real job share id %s", real)
	}
	if real != jobs.DeterministicID("deactivate", "user_name:a@b.example", "HR-1", "left") {
		t.Error("the real job's id changed")
	}
}
