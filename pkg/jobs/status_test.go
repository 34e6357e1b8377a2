package jobs_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// A worker that read a job's status can write it back only if nobody wrote
// it since: a late write (a worker that lost NATS, a write buffered during
// a disconnect) never overwrites what another worker stored.
func TestStatusSaveIsCompareAndSet(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := jobs.Provision(ctx, js, jobs.TopologyConfig{Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	store, err := jobs.NewStatusStore(ctx, js, jobs.Names{})
	if err != nil {
		t.Fatal(err)
	}
	// Two workers create the same new record: one wins.
	a, b := jobs.Status{JobID: "j1", State: jobs.StateRunning}, jobs.Status{JobID: "j1", State: jobs.StateRunning}
	if err := store.Save(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, &b); !errors.Is(err, jobs.ErrStatusChanged) {
		t.Fatalf("second create = %v, want ErrStatusChanged", err)
	}
	// The winner goes on writing; a stale copy cannot overwrite "done".
	stale, err := store.Get(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	a.State, a.Outcome = jobs.StateDone, "deactivated"
	if err := store.Save(ctx, &a); err != nil {
		t.Fatal(err)
	}
	stale.Attempts = append(stale.Attempts, jobs.Attempt{N: 1, Error: "late"})
	if err := store.Save(ctx, &stale); !errors.Is(err, jobs.ErrStatusChanged) {
		t.Fatalf("stale save = %v, want ErrStatusChanged", err)
	}
	got, err := store.Get(ctx, "j1")
	if err != nil || got.State != jobs.StateDone || len(got.Attempts) != 0 {
		t.Errorf("record %+v %v, want the done one", got, err)
	}
}
