package worker

import (
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Observer hears what a worker does, for metrics. Methods are called from
// the worker's goroutines: implementations must be safe for concurrent use
// and must not block.
type Observer interface {
	// JobFinished: a job's outcome, audit event and status are stored.
	// took is the time this delivery spent on it, sincePublish the time
	// since the job was published.
	JobFinished(outcome audit.Outcome, priority jobs.Priority, took, sincePublish time.Duration)
	// Deactivated: Genesys confirmed active:false sincePublish after the job
	// was published.
	Deactivated(priority jobs.Priority, sincePublish time.Duration)
	// AttemptFailed: a job's attempt failed transiently and was recorded.
	AttemptFailed()
	// Paused: this worker paused the fleet (true) or resumed it (false).
	Paused(paused bool)
}

type nopObserver struct{}

func (nopObserver) JobFinished(audit.Outcome, jobs.Priority, time.Duration, time.Duration) {}
func (nopObserver) Deactivated(jobs.Priority, time.Duration)                               {}
func (nopObserver) AttemptFailed()                                                         {}
func (nopObserver) Paused(bool)                                                            {}

// ScheduleObserver is what an [Observer] may also implement to hear about scheduled jobs
// (issue 16). It is a separate interface so that every Observer keeps compiling; the worker
// calls it when its Observer implements it.
type ScheduleObserver interface {
	// Fired: a copy the scheduled stream fired arrived in its lane lag after its not_before
	// (the lane message's stream timestamp minus not_before; both clocks are NATS servers').
	// Called on the copy's first delivery.
	Fired(lag time.Duration)
	// Revoked: the user's tokens were revoked sinceEffective after the job's effective time:
	// its not_before for a fired copy, else the time it was published (a job whose not_before
	// had passed when it was published was due then).
	Revoked(priority jobs.Priority, sinceEffective time.Duration)
}
