package worker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// schedRecorder records what a worker tells a ScheduleObserver.
type schedRecorder struct {
	mu      sync.Mutex
	fired   []time.Duration
	revoked map[jobs.Priority][]time.Duration
}

var _ worker.ScheduleObserver = (*schedRecorder)(nil)

func (o *schedRecorder) JobFinished(audit.Outcome, jobs.Priority, time.Duration, time.Duration) {}
func (o *schedRecorder) Deactivated(jobs.Priority, time.Duration)                               {}
func (o *schedRecorder) AttemptFailed()                                                         {}
func (o *schedRecorder) Paused(bool)                                                            {}

func (o *schedRecorder) Fired(lag time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fired = append(o.fired, lag)
}

func (o *schedRecorder) Revoked(p jobs.Priority, since time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.revoked == nil {
		o.revoked = map[jobs.Priority][]time.Duration{}
	}
	o.revoked[p] = append(o.revoked[p], since)
}

func (o *schedRecorder) get() ([]time.Duration, map[jobs.Priority][]time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]time.Duration(nil), o.fired...), o.revoked
}

// A fired copy reports its lag behind not_before once, and its tokens revoked after not_before;
// a job without a date reports its revocation against its publish time and no fire.
func TestScheduledJobMetricsObserved(t *testing.T) {
	t.Parallel()
	b := newSchedBed(t, testbed.Config{})
	rec := &schedRecorder{}
	b.Worker(worker.Config{Observer: rec})
	at := time.Now().Add(2 * time.Second)
	id := b.enqueueAt(at)
	b.checkDeactivatedAt(id, at, 10*time.Second)
	fired, revoked := rec.get()
	if len(fired) != 1 || fired[0] < 0 {
		t.Fatalf("fire lags %v, want one, not negative", fired)
	}
	patch := b.patches()[0]
	if rs := revoked[jobs.PriorityNormal]; len(rs) != 1 || rs[0] < patch.Sub(at) {
		t.Fatalf("effective-to-revoked %v, want one, at least the PATCH's %v after not_before", rs, patch.Sub(at))
	}

	other := b.ActiveUsers(1)[0] // b.user is inactive now
	now := b.Enqueue([]jobs.UserRef{{ID: other.ID}}, func(j *jobs.Job) { j.ID, j.Priority = j.ID+"-now", jobs.PriorityUrgent })[0]
	if st := b.WaitDone(now)[now]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("job without a date: %s (%s)", st.Outcome, st.Error)
	}
	fired, revoked = rec.get()
	if len(fired) != 1 {
		t.Errorf("fire lags %v after a job without a date, want still one", fired)
	}
	if rs := revoked[jobs.PriorityUrgent]; len(rs) != 1 || rs[0] < 0 {
		t.Errorf("urgent effective-to-revoked %v, want one, not negative (all: %v)", rs, revoked)
	}
}
