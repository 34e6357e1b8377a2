package worker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// probes counts the probe's PATCHes on the user that does not exist.
func probes(b *testbed.T) int {
	n := 0
	for _, r := range b.Sim.Requests() {
		if r.Route == "PATCH /api/v2/scim/v2/users/{id}" && strings.Contains(r.Path, genesys.ProbeUserID) {
			n++
		}
	}
	return n
}

func consumerPaused(b *testbed.T, name string) bool {
	b.TB.Helper()
	c, err := b.JS.Consumer(b.TB.Context(), b.Names.JobsStream(), name)
	if err != nil {
		b.TB.Fatal(err)
	}
	info, err := c.Info(b.TB.Context())
	if err != nil {
		b.TB.Fatal(err)
	}
	return info.Paused
}

// Review probe 34 (D7): a 403 missing.division.permission for one user ends
// that job "conflict" with a clear error and a dead letter; the fleet does
// not pause and the other jobs run.
func TestDivision403EndsOneJobWithoutPausingTheFleet(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	users := plainActive(b.Sim)[:6]
	if err := b.Sim.SetFaults(genesyssim.Faults{DivisionForbiddenUsers: []string{users[0].ID}}); err != nil {
		t.Fatal(err)
	}
	w := b.Worker(worker.Config{ProbeInterval: 100 * time.Millisecond})
	ids := b.Enqueue(testbed.Refs(users), nil)

	statuses := b.WaitDone(ids...)
	for i, id := range ids {
		st := statuses[id]
		want := audit.OutcomeDeactivated
		if i == 0 {
			want = audit.OutcomeConflict
		}
		if st.Outcome != want || len(st.Attempts) != 0 {
			t.Errorf("job %s: %s, attempts %v; want %s without attempts", id, st.Outcome, st.Attempts, want)
		}
	}
	if e := statuses[ids[0]].Error; !strings.Contains(e, "missing.division.permission") || !strings.Contains(e, "division") {
		t.Errorf("the conflict's error does not say what to do: %q", e)
	}
	if dl, ok := b.DeadLetters()[ids[0]]; !ok || dl.Outcome != audit.OutcomeConflict {
		t.Errorf("dead letter of the refused job: %+v, %v", dl, ok)
	}
	if n := len(b.OpsEvents("fleet_paused")); n != 0 {
		t.Errorf("%d fleet_paused events for a 403 on one user's division", n)
	}
	if p, why := w.Paused(t.Context()); p {
		t.Errorf("the fleet is paused: %s", why)
	}
}

// Review D7, "real permission loss": every PATCH gets 403 (no division).
// The fleet pauses, the probe repeats the PATCH and keeps it paused (no
// flapping), jobs stay queued without attempts or dead letters even past the
// consumer's MaxDeliver, and they run once the permission is back.
func TestRealPermissionLossPausesUntilThePermissionIsBack(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}, Topology: jobs.TopologyConfig{MaxDeliver: 2}})
	if err := b.Sim.SetClientPermissions("sim-client", []string{"oauth:token:delete"}); err != nil {
		t.Fatal(err)
	}
	w1 := b.Worker(worker.Config{ProbeInterval: 100 * time.Millisecond})
	w2 := b.Worker(worker.Config{ProbeInterval: 100 * time.Millisecond})
	ids := b.Enqueue(testbed.Refs(plainActive(b.Sim)[:8]), nil)

	b.WaitPaused("the fleet to pause", func() bool {
		p1, _ := w1.Paused(t.Context())
		p2, _ := w2.Paused(t.Context())
		return p1 && p2
	})
	// Many probe rounds while the permission is missing: long enough for the old read-only probe
	// to resume and re-pause the fleet many times, and to burn MaxDeliver (2). Counted when a
	// refused probe has renewed the pause (its hold lasts two probe intervals), so that the check
	// below does not race the renewal on a loaded machine.
	b.WaitPaused("ten probes of the refused PATCH", func() bool { return probes(b) >= 10 })
	if !consumerPaused(b, b.Names.NormalConsumer()) || !consumerPaused(b, b.Names.UrgentConsumer()) {
		t.Error("the consumers are not paused while the permission is missing")
	}
	if n := len(b.OpsEvents("fleet_resumed")); n != 0 {
		t.Errorf("%d fleet_resumed events while the permission is missing (flapping)", n)
	}
	for _, id := range ids {
		if st, err := b.Status.Get(t.Context(), id); err == nil && (st.State == jobs.StateDone || len(st.Attempts) > 0) {
			t.Errorf("job %s moved while the permission was missing: %+v", id, st)
		}
	}
	if n := len(b.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters while the fleet was paused", n)
	}

	if err := b.Sim.SetClientPermissions("sim-client", nil); err != nil {
		t.Fatal(err)
	}
	for id, st := range b.WaitDone(ids...) {
		if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s after the permission came back: %s, attempts %v", id, st.Outcome, st.Attempts)
		}
	}
	if len(b.DeadLetters()) != 0 {
		t.Error("a job was dead-lettered")
	}
	b.WaitUntil("a fleet_resumed event", func() bool { return len(b.OpsEvents("fleet_resumed")) > 0 })
}

// Review D7, one owner of the lanes' state: with the guard holding the
// normal lane and a credentials pause on both, the probe's resume lifts only
// the credentials pause; the guard-held lane stays paused until an operator
// resumes it.
func TestProbeResumeNeverLiftsAGuardHold(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	guard := jobs.GuardConfig{Limit: 1, UrgentLimit: 5, Window: time.Hour}
	b.Worker(worker.Config{ProbeInterval: 100 * time.Millisecond, Guard: guard})
	users := plainActive(b.Sim)
	normal := b.Enqueue(testbed.Refs(users[:2]), nil)
	b.WaitUntil("the guard_tripped event", func() bool { return len(b.OpsEvents("guard_tripped")) > 0 })
	b.WaitPaused("the normal lane to be held", func() bool { return consumerPaused(b, b.Names.NormalConsumer()) })

	if err := b.Sim.SetClientPermissions("sim-client", []string{"oauth:token:delete"}); err != nil {
		t.Fatal(err)
	}
	urgent := b.Enqueue(testbed.Refs(users[2:3]), func(j *jobs.Job) { j.ID += "-urgent"; j.Priority = jobs.PriorityUrgent })
	b.WaitUntil("the fleet_paused event", func() bool { return len(b.OpsEvents("fleet_paused")) > 0 })
	if err := b.Sim.SetClientPermissions("sim-client", nil); err != nil {
		t.Fatal(err)
	}
	b.WaitDone(urgent...)
	b.WaitUntil("the fleet_resumed event", func() bool { return len(b.OpsEvents("fleet_resumed")) > 0 })

	if !consumerPaused(b, b.Names.NormalConsumer()) {
		t.Fatal("the probe's resume lifted the guard's hold on the normal lane")
	}
	if consumerPaused(b, b.Names.UrgentConsumer()) {
		t.Error("the urgent lane stayed paused after the probe passed")
	}
	if n := doneCount(b, normal); n != 1 {
		t.Fatalf("%d normal jobs done while the guard holds, want 1", n)
	}

	g, err := jobs.NewGuard(t.Context(), b.JS, b.Names, guard, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	holds, err := g.LaneHolds(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range holds.Holds {
		if name != "guard:state" && (h.Until.IsZero() || h.Until.After(time.Now())) {
			t.Errorf("hold %s %+v is still live after the probe passed", name, h)
		}
	}
	if h, ok := holds.Holds["guard:state"]; !ok || !slices.Equal(h.Lanes, []string{jobs.LaneNormal, jobs.LaneCleanup, jobs.LaneDelete}) {
		t.Errorf("the guard's hold: %+v, %v; want the normal, cleanup and delete lanes", h, ok)
	}
	if _, err := g.Resume(t.Context(), jobs.GuardDecision{Operator: "alice"}); err != nil {
		t.Fatal(err)
	}
	b.WaitDone(normal...)
	if consumerPaused(b, b.Names.NormalConsumer()) {
		t.Error("the normal lane stayed paused after the operator resumed the guard")
	}
}

// A worker that stops while it holds jobs for a fleet pause hands them back
// without an attempt or a dead letter; another worker finishes them once
// Genesys accepts the call again.
func TestHeldJobsAreHandedBackOnShutdown(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	if err := b.Sim.SetClientPermissions("sim-client", []string{"oauth:token:delete"}); err != nil {
		t.Fatal(err)
	}
	w1 := b.Worker(worker.Config{ProbeInterval: 100 * time.Millisecond})
	ids := b.Enqueue(testbed.Refs(plainActive(b.Sim)[:3]), nil)
	b.WaitPaused("the fleet to pause", func() bool { p, _ := w1.Paused(t.Context()); return p })
	_ = w1.Stop() // its error, if any, fails the test at cleanup
	for _, id := range ids {
		if st, err := b.Status.Get(t.Context(), id); err == nil && (st.State == jobs.StateDone || len(st.Attempts) > 0) {
			t.Errorf("job %s moved when its worker stopped during the pause: %+v", id, st)
		}
	}
	if n := len(b.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters after a stop during the pause", n)
	}
	if err := b.Sim.SetClientPermissions("sim-client", nil); err != nil {
		t.Fatal(err)
	}
	b.Worker(worker.Config{ProbeInterval: 100 * time.Millisecond})
	for id, st := range b.WaitDone(ids...) {
		if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s: %s, attempts %v", id, st.Outcome, st.Attempts)
		}
	}
}
