package jobs

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// tripGuard starts a server and a guard with a limit of 1, and trips the guard: the second
// normal deactivation in the window is held.
func tripGuard(t *testing.T) (*Guard, jetstream.JetStream, Names) {
	t.Helper()
	ctx := t.Context()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names := Names{}
	if err := Provision(ctx, js, TopologyConfig{Names: names}); err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(ctx, js, names, GuardConfig{Limit: 1}, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Reserve(ctx, "job-1", false, 1); err != nil {
		t.Fatal(err)
	}
	if tripped, err := g.Reserve(ctx, "job-2", false, 2); !tripped || err == nil {
		t.Fatalf("second deactivation: tripped %v, err %v; want the guard tripped", tripped, err)
	}
	return g, js, names
}

// assertLanesFollowGuard fails unless the guard's lane hold and the normal consumer's pause
// agree with the guard's stored state.
func assertLanesFollowGuard(t *testing.T, g *Guard, js jetstream.JetStream, names Names) {
	t.Helper()
	ctx := t.Context()
	st, _, err := g.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := g.LaneHolds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, holds := h.Holds[g.holdName()]
	c, err := js.Consumer(ctx, names.JobsStream(), names.NormalConsumer())
	if err != nil {
		t.Fatal(err)
	}
	if paused := c.CachedInfo().Paused; holds != st.Held || paused != st.Held {
		t.Errorf("guard held %v, but its lane hold is stored %v and the normal consumer paused %v: the lanes must follow the guard's latest state",
			st.Held, holds, paused)
	}
}

// An operator who resumes the guard while the worker that tripped it is still reporting the trip
// (between its read of the guard state and its hold of the lanes) must not find the lanes paused
// again by that late hold: paused consumers deliver nothing, so no Reserve would ever lift it.
func TestGuardResumeDuringTripLeavesLanesRunning(t *testing.T) {
	t.Parallel()
	g, js, names := tripGuard(t)
	ctx := t.Context()
	g.testHook = func(point string) {
		if point != "tripped:read" {
			return
		}
		g.testHook = nil
		if _, err := g.Resume(ctx, GuardDecision{Operator: "op"}); err != nil {
			t.Error(err)
		}
	}
	if err := g.Tripped(ctx, "job-2", false); err != nil {
		t.Fatal(err)
	}
	assertLanesFollowGuard(t, g, js, names)
}

// The same decision one step later: the trip's SyncLanes has read the held state when the operator
// resumes (and syncs the lanes); the trip's hold, written after, is stale and must not stay.
func TestGuardResumeDuringLaneSyncLeavesLanesRunning(t *testing.T) {
	t.Parallel()
	g, js, names := tripGuard(t)
	ctx := t.Context()
	g.testHook = func(point string) {
		if point != "sync:read" {
			return
		}
		g.testHook = nil
		if _, err := g.Resume(ctx, GuardDecision{Operator: "op"}); err != nil {
			t.Error(err)
		}
	}
	if err := g.Tripped(ctx, "job-2", false); err != nil {
		t.Fatal(err)
	}
	assertLanesFollowGuard(t, g, js, names)
}

// A trip that lands while an operator's Resume is syncing the lanes holds them again.
func TestGuardTripDuringResumeHoldsLanes(t *testing.T) {
	t.Parallel()
	g, js, names := tripGuard(t)
	ctx := t.Context()
	if err := g.Tripped(ctx, "job-2", false); err != nil {
		t.Fatal(err)
	}
	g.testHook = func(point string) {
		if point != "sync:read" {
			return
		}
		g.testHook = nil
		// After the resume, one deactivation fills the window and the next trips the guard again.
		if _, err := g.Reserve(ctx, "job-3", false, 3); err != nil {
			t.Error(err)
		}
		if tripped, _ := g.Reserve(ctx, "job-4", false, 4); !tripped {
			t.Error("job-4 did not trip the guard")
		}
		if err := g.Tripped(ctx, "job-4", false); err != nil {
			t.Error(err)
		}
	}
	if _, err := g.Resume(ctx, GuardDecision{Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := g.State(ctx); !st.Held {
		t.Fatal("the guard is not held after the second trip")
	}
	assertLanesFollowGuard(t, g, js, names)
}

// Writing the holds and pausing the consumers are separate steps: a Set that applies its holds
// after a later Set applied its own must not leave the consumers following the older holds.
func TestLanesLateApplyFollowsLatestHolds(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names := Names{}
	if err := Provision(ctx, js, TopologyConfig{Names: names}); err != nil {
		t.Fatal(err)
	}
	l, err := NewLanes(ctx, js, names)
	if err != nil {
		t.Fatal(err)
	}
	l.testHook = func(point string) {
		if point != "set:apply" {
			return
		}
		l.testHook = nil
		if err := l.Set(ctx, "test", nil); err != nil { // lifted before the hold is applied
			t.Error(err)
		}
	}
	if err := l.Set(ctx, "test", &LaneHold{Lanes: []string{LaneNormal}, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	h, _, err := l.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := js.Consumer(ctx, names.JobsStream(), names.NormalConsumer())
	if err != nil {
		t.Fatal(err)
	}
	if _, held := h.Until(LaneNormal, l.now()); held || c.CachedInfo().Paused {
		t.Errorf("holds name the normal lane %v, normal consumer paused %v; want both false (the lift was the last Set)", held, c.CachedInfo().Paused)
	}
}
