package worker_test

import (
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Review L1: a worker started with guard limits that differ from the stored
// state puts them in force and says so (an ops event naming the worker and
// the previous limits); a hold stays until an operator lifts it.
func TestWorkerAppliesConfiguredGuardLimits(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 5, RateLimit: 1_000_000}})
	ctx := t.Context()
	old := jobs.GuardConfig{Limit: 1, UrgentLimit: 1, Window: time.Hour}
	g, err := jobs.NewGuard(ctx, b.JS, b.Names, old, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Reserve(ctx, "j-1", false, 0); err != nil {
		t.Fatal(err)
	}
	if tripped, _ := g.Reserve(ctx, "j-2", false, 0); !tripped {
		t.Fatal("the guard did not trip at limit 1")
	}

	raised := jobs.GuardConfig{Limit: 100, UrgentLimit: 20, Window: 30 * time.Minute}
	b.Worker(worker.Config{ID: "w-l1", Guard: raised})
	st, _, err := g.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Limit != 100 || st.UrgentLimit != 20 || st.Window != 30*time.Minute {
		t.Errorf("stored limits %d/%d per %s, want the configured 100/20 per 30m", st.Limit, st.UrgentLimit, st.Window)
	}
	if !st.Held {
		t.Error("starting a worker lifted the guard's hold; only an operator may")
	}
	events := b.OpsEvents("guard_limit_set")
	if len(events) != 1 {
		t.Fatalf("%d guard_limit_set events, want 1", len(events))
	}
	if e := events[0].Fields; e["worker"] != "w-l1" || e["previous_limit"] != "1" || e["limit"] != "100" || e["operator"] != "worker configuration" {
		t.Errorf("guard_limit_set fields %v", e)
	}

	b.Worker(worker.Config{ID: "w-l1-again", Guard: raised})
	if n := len(b.OpsEvents("guard_limit_set")); n != 1 {
		t.Errorf("%d guard_limit_set events after a start with the same limits, want still 1", n)
	}
}

// The guard bucket may hold more than one guard, each under its own key,
// with its own state and its own hold on the lanes.
func TestGuardKeysAreSeparate(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 5, RateLimit: 1_000_000}})
	ctx := t.Context()
	a, err := jobs.NewGuard(ctx, b.JS, b.Names, jobs.GuardConfig{Limit: 1}, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := jobs.NewGuard(ctx, b.JS, b.Names, jobs.GuardConfig{Limit: 7, Key: "reactivations"}, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(ctx, "j-1", false, 0); err != nil {
		t.Fatal(err)
	}
	st, _, err := other.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Limit != 7 || len(st.Slots) != 0 {
		t.Errorf("the second guard's state %+v mixes with the first's", st)
	}
	if _, err := jobs.NewGuard(ctx, b.JS, b.Names, jobs.GuardConfig{Limit: 1, Key: "lanes"}, audit.Origin{}); err == nil {
		t.Error("a guard was given the lanes' reserved key")
	}
}
