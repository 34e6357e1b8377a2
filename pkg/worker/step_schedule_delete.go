package worker

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// stepScheduleDelete ends a deactivation that deactivated the user when the worker runs with
// Config.DeleteAfter: it stores the delete job (jobs.Job.DeleteJob) in the scheduled stream, not
// before now + DeleteAfter, with the worker's Scheduler itself (no intake hop). The scheduled
// stream deduplicates it by id for any horizon, so a delivery after a crash stores nothing new
// and records the job stored first. A user who was inactive already is not scheduled for
// deletion: this system did not deactivate it.
var stepScheduleDelete = Step{
	Name: scheduleDeleteName, Phase: PhaseCut,
	Applies: func(r *Run) bool { return r.w.cfg.DeleteAfter > 0 && !r.job.DryRun && r.st.Steps.Deactivated },
	Do:      scheduleDelete,
}

const scheduleDeleteName = "schedule_delete"

// deleteScheduled is what schedule_delete records in the deactivation's findings and event.
type deleteScheduled struct {
	JobID              string    `json:"job_id"`
	DeleteScheduledFor time.Time `json:"delete_scheduled_for"`
	Duplicate          bool      `json:"duplicate,omitempty"` // stored by an earlier delivery
}

func scheduleDelete(ctx context.Context, r *Run) error {
	now := r.w.now().UTC().Truncate(time.Millisecond)
	job := r.job.DeleteJob(r.st.Steps.UserID, now, now.Add(r.w.cfg.DeleteAfter))
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	res, err := r.w.sched.Schedule(sctx, job)
	if err != nil {
		return wait(fmt.Errorf("%w: schedule the delete job %s: %w", errStore, job.ID, err))
	}
	rec := deleteScheduled{JobID: job.ID, DeleteScheduledFor: job.NotBefore}
	if res.Duplicate {
		rec.Duplicate, rec.DeleteScheduledFor = true, res.Existing.Job.NotBefore
		r.log.Info("the delete job was scheduled before", zap.String("delete_id", job.ID), zap.String("stored", res.Existing.Kind))
	}
	return r.Found(scheduleDeleteName, rec)
}
