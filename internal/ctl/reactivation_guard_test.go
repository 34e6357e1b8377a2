package ctl

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// The guard commands with --reactivations show and decide on the
// reactivation guard (review D4): a worker whose reactivation limit is 1
// holds the second of two forced reactivations until an operator resumes it;
// the mass-deactivation guard is not involved.
func TestGuardCommandsOnTheReactivationGuard(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 60, RateLimit: 1_000_000})
	f.Worker(worker.Config{Guard: jobs.GuardConfig{Limit: 5}, ReactivateGuard: jobs.GuardConfig{Limit: 1, Window: time.Hour}})
	ctx := t.Context()

	inactive := slices.DeleteFunc(f.Sim.Users(), func(u genesyssim.User) bool { return u.Active || u.Deleted })
	if len(inactive) < 2 {
		t.Fatalf("the simulator has %d inactive users, the test needs 2", len(inactive))
	}
	var ids []string
	for i, u := range inactive[:2] {
		j := jobs.Job{ID: fmt.Sprintf("undo-%d", i), Action: jobs.ActionReactivate, Force: true, User: jobs.UserRef{ID: u.ID}, RequestedBy: "ops"}
		if _, err := f.Pub.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	testbed.WaitFor(t, "the reactivation guard to hold", f.Watch(f.Names.GuardBucket()), testbed.Until[jetstream.KeyValueEntry](func() bool {
		code, out, _ := f.ctl("guard", "status", "--reactivations")
		return code == ExitOK && strings.Contains(out, "1 reactivations in the window; held: true")
	}))
	if code, out, _ := f.ctl("guard", "status"); code != ExitOK || !strings.Contains(out, "held: nothing") {
		t.Errorf("the mass-deactivation guard: exit %d %q, want nothing held", code, out)
	}
	code, out, errOut := f.ctl("guard", "resume", "--reactivations", "--operator", "erin")
	if code != ExitOK || !strings.Contains(out, "held: false") {
		t.Fatalf("resume: exit %d %q %q", code, out, errOut)
	}
	for id, st := range f.WaitDone(ids...) {
		if st.Outcome != audit.OutcomeReactivated {
			t.Errorf("job %s: %s", id, st.Outcome)
		}
	}
}
