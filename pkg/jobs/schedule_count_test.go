package jobs

import (
	"fmt"
	"testing"
	"time"
)

// CountPending counts the schedules that have neither fired nor been canceled: not the fired
// copies, not a duplicate twice.
func TestCountPendingSchedules(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, TopologyConfig{})
	count := func(want int, when string) {
		t.Helper()
		n, err := b.sched.CountPending(t.Context())
		if err != nil || n != want {
			t.Errorf("%s: CountPending = %d, %v; want %d", when, n, err, want)
		}
	}
	count(0, "nothing scheduled")
	later := time.Now().Add(time.Hour)
	for i := range 3 {
		if _, err := b.sched.Schedule(t.Context(), scheduledJob(fmt.Sprintf("count-%d", i), later)); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := b.sched.Schedule(t.Context(), scheduledJob("count-0", later)); err != nil || !res.Duplicate {
		t.Fatalf("the same id again: %+v, %v; want a duplicate", res, err)
	}
	if _, err := b.sched.Schedule(t.Context(), scheduledJob("count-soon", time.Now().Add(200*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	b.takeFired(t, 10*time.Second) // count-soon fired: its fired copy is not pending
	count(3, "three pending, one fired")
}
