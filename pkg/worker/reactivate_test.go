package worker_test

import (
	"fmt"
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

// inactiveSeed lists the simulator's users that are inactive from the start:
// users this system never deactivated.
func inactiveSeed(t *testing.T, sim *genesyssim.Server, n int) []genesyssim.User {
	t.Helper()
	out := slices.DeleteFunc(sim.Users(), func(u genesyssim.User) bool { return u.Active || u.Deleted })
	if len(out) < n {
		t.Fatalf("the simulator has %d inactive users, the test needs %d", len(out), n)
	}
	return out[:n]
}

// Review D4 (probe 67): a reactivation of a user this system did not
// deactivate is refused (protected, dead letter, Genesys untouched) unless
// it is forced; a forced one runs and its audit event says it was forced.
func TestReactivationOfAUserWeNeverDeactivatedNeedsForce(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(worker.Config{})
	user := inactiveSeed(t, b.Sim, 1)[0]
	plain := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID, j.Action = "unforced", jobs.ActionReactivate })
	st := b.WaitDone(plain...)[plain[0]]
	if st.Outcome != audit.OutcomeProtected || !strings.Contains(st.Error, "no deactivation of this user by this system is recorded") {
		t.Fatalf("unforced: %s %q, want protected saying why", st.Outcome, st.Error)
	}
	if u, _ := b.Sim.User(user.ID); u.Active {
		t.Fatal("the unforced reactivation re-enabled the user")
	}
	if _, ok := b.DeadLetters()["unforced"]; !ok {
		t.Error("no dead letter for the refused reactivation")
	}
	if ev := b.AuditEvents()["unforced"]; ev.Forced {
		t.Error("the refused reactivation is recorded as forced")
	}

	forced := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) {
		j.ID, j.Action, j.Force = "forced", jobs.ActionReactivate, true
	})
	st = b.WaitDone(forced...)[forced[0]]
	if st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("forced: %s %q, want reactivated", st.Outcome, st.Error)
	}
	if u, _ := b.Sim.User(user.ID); !u.Active {
		t.Error("the forced reactivation did not re-enable the user")
	}
	if ev := b.AuditEvents()["forced"]; !ev.Forced {
		t.Error("the audit event of the forced reactivation does not say forced")
	}
	if msg := b.EventMessage("forced"); !strings.Contains(msg, "by force") {
		t.Errorf("the event message does not say the reactivation was forced: %q", msg)
	}
}

// A dry run tells that the real reactivation would be refused.
func TestDryRunReactivationSaysItWouldBeRefused(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(worker.Config{})
	user := inactiveSeed(t, b.Sim, 1)[0]
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.Action, j.DryRun = jobs.ActionReactivate, true })
	if st := b.WaitDone(ids...)[ids[0]]; st.Outcome != audit.OutcomeDryRun {
		t.Fatalf("dry run: %s", st.Outcome)
	}
	if msg := b.EventMessage(ids[0]); !strings.Contains(msg, "would refuse") {
		t.Errorf("the dry run does not say the reactivation would be refused: %q", msg)
	}
}

// Reactivations count against a guard of their own: past its limit they
// wait for an operator, an ops event says so, and deactivations go on (no
// lane is paused). An operator's resume of that guard lets them through.
func TestReactivationGuardCapsReactivations(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 60, RateLimit: 1_000_000}})
	limits := jobs.GuardConfig{Limit: 2, Window: time.Hour}
	b.Worker(worker.Config{Concurrency: 4, ReactivateGuard: limits, Guard: jobs.GuardConfig{Limit: 50}})
	var ids []string
	for i, u := range inactiveSeed(t, b.Sim, 3) {
		ids = append(ids, b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) {
			j.ID, j.Action, j.Force = fmt.Sprintf("undo-%d", i), jobs.ActionReactivate, true
		})...)
	}
	b.WaitUntil("two reactivations and the trip", func() bool {
		return doneCount(b, ids) == 2 && len(b.OpsEvents("reactivation_guard_tripped")) == 1
	})
	// Deactivations are not held by the reactivation guard.
	off := b.Enqueue([]jobs.UserRef{{ID: plainActive(b.Sim)[0].ID}}, func(j *jobs.Job) { j.ID = "off-meanwhile" })
	if st := b.WaitDone(off...)[off[0]]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("a deactivation while reactivations are held: %s", st.Outcome)
	}
	if n := doneCount(b, ids); n != 2 {
		t.Fatalf("%d reactivations done while the reactivation guard holds, want 2", n)
	}
	limits.Key = jobs.ReactivateGuardKey
	g, err := jobs.NewGuard(t.Context(), b.JS, b.Names, limits, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := g.State(t.Context()); !st.Held {
		t.Fatalf("reactivation guard state %+v, want held", st)
	}
	if _, err := g.Resume(t.Context(), jobs.GuardDecision{Operator: "alice"}); err != nil {
		t.Fatal(err)
	}
	for id, st := range b.WaitDone(ids...) {
		if st.Outcome != audit.OutcomeReactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s: %s after %d attempts, want reactivated without a spent attempt", id, st.Outcome, len(st.Attempts))
		}
	}
	if ev := b.OpsEvents("guard_resumed"); len(ev) != 1 || ev[0].Fields["guard"] != jobs.ReactivateGuardKey {
		t.Errorf("guard_resumed events %v, want one naming the reactivation guard", ev)
	}
}
