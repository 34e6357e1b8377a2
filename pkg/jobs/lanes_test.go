package jobs

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
)

// set writes the holds only when they change: a guard that saves its state while nothing is held,
// or holds the same lanes again, leaves the bucket as it is; the consumers still follow the holds.
func TestLanesSetSkipsUnchangedHolds(t *testing.T) {
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
	l, err := newLanes(ctx, js, names)
	if err != nil {
		t.Fatal(err)
	}
	revision := func() uint64 {
		t.Helper()
		_, rev, err := l.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	paused := func(consumer string) bool {
		t.Helper()
		c, err := js.Consumer(ctx, names.JobsStream(), consumer)
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo().Paused
	}

	if err := l.set(ctx, "guard:test", nil); err != nil {
		t.Fatal(err)
	}
	if rev := revision(); rev != 0 {
		t.Fatalf("lifting a hold nobody set stored the holds (revision %d)", rev)
	}
	hold := &LaneHold{Lanes: []string{LaneNormal}, Reason: "test", By: "guard", Since: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	if err := l.set(ctx, "guard:test", hold); err != nil {
		t.Fatal(err)
	}
	first := revision()
	if first == 0 || !paused(names.NormalConsumer()) || paused(names.UrgentConsumer()) {
		t.Fatalf("after the hold: revision %d, normal paused %v, urgent paused %v; want stored, normal alone paused",
			first, paused(names.NormalConsumer()), paused(names.UrgentConsumer()))
	}
	if err := l.set(ctx, "guard:test", hold); err != nil {
		t.Fatal(err)
	}
	if rev := revision(); rev != first {
		t.Errorf("the same hold again wrote the holds: revision %d, want %d", rev, first)
	}
	if err := l.set(ctx, "guard:test", nil); err != nil {
		t.Fatal(err)
	}
	if rev := revision(); rev == first || paused(names.NormalConsumer()) {
		t.Errorf("lifting the hold: revision %d (was %d), normal paused %v; want a write and the lane resumed", rev, first, paused(names.NormalConsumer()))
	}
}
